"""FieldCipher: the ``encrypt(data) -> str`` / ``decrypt(token) -> dict`` shape.

Many Python applications keep a row's credentials as a dict encrypted with one
application key (``Fernet(KEY).encrypt(json.dumps(creds).encode())``). A
FieldCipher has the same two methods, bound to one field and one row, so moving
such an application to Lockbox changes the object it calls and nothing else:
the dict is stored as JSON, encrypted by the server under the field's data key
and bound to its table, column and row.
"""

import json
from typing import Any, Dict, Mapping

from .client import Client, RowKey
from .errors import LockboxError

__all__ = ["FieldCipher"]


class FieldCipher:
    """Encrypts and decrypts JSON-serialisable dicts for one row of one field."""

    def __init__(self, client: Client, table: str, column: str, key: RowKey) -> None:
        self._client = client
        self._table = table
        self._column = column
        self._key: Dict[str, Any] = dict(key)

    def encrypt(self, data: Mapping[str, Any]) -> str:
        """The Lockbox ciphertext of ``data`` (a dict) for this row."""
        return self._client.encrypt_field(
            self._table, self._column, self._key, json.dumps(dict(data), separators=(",", ":"))
        )

    def decrypt(self, token: str) -> Dict[str, Any]:
        """The dict encrypted in ``token`` for this row.

        Raises LockboxError: the server's code when it cannot be decrypted for
        this row (for example a ciphertext copied from another row), or
        ``INVALID_ARGUMENT`` when the plaintext is not a JSON object.
        """
        text = self._client.decrypt_field(self._table, self._column, self._key, token)
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise LockboxError(
                "INVALID_ARGUMENT",
                f"{self._table}.{self._column} of this row is not a JSON object",
            )
        return data
