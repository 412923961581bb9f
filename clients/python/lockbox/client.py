"""Client: secrets and field encryption on a Lockbox server (docs/api.md).

The server holds the keys; this client holds only a token, whose permissions
decide what it may do (``secrets:read:<scope-glob>``, ``fields:decrypt:<table.column>``,
…). Every failure is a LockboxError with Lockbox's stable code.
"""

import base64
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import LockboxError
from .transport import Transport, quote_segment

__all__ = ["Client", "SecretInfo", "RowKey", "MAX_FIELD_BATCH"]

#: The server's largest field batch; longer inputs are sent in several requests.
MAX_FIELD_BATCH = 1000

#: A row key: each row-key column of the field with its value.
RowKey = Mapping[str, Union[str, int]]


@dataclass(frozen=True)
class SecretInfo:
    """A listed secret: its name and version, never its value."""

    name: str
    version: int
    type: str
    metadata: Optional[Dict[str, Any]]
    created_at: str
    updated_at: str
    status: str


def _result(
    item: Mapping[str, Any], field: str, request_id: Optional[str]
) -> Union[str, LockboxError]:
    """One item of a batch answer: its value, or its error (status 200: the batch succeeded)."""
    if field in item:
        return str(item[field])
    error = item.get("error", {})
    return LockboxError(
        str(error.get("code", "INTERNAL")),
        str(error.get("message", "")),
        status=200,
        request_id=request_id,
    )


class Client:
    """A Lockbox server, reached with one token.

    ``url`` and ``token`` default to the ``LOCKBOX_URL`` and ``LOCKBOX_TOKEN``
    environment variables, ``ca_file`` to ``LOCKBOX_CA_FILE``. https certificates
    are verified (system CAs, or ``ca_file``); ``timeout`` is per request, in
    seconds. A Client keeps one connection open and may be shared between threads
    (requests take turns); close it with ``close()`` or a ``with`` block.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        *,
        ca_file: Optional[str] = None,
        timeout: float = 10.0,
    ) -> None:
        url = url if url is not None else os.environ.get("LOCKBOX_URL")
        token = token if token is not None else os.environ.get("LOCKBOX_TOKEN")
        ca_file = ca_file if ca_file is not None else (os.environ.get("LOCKBOX_CA_FILE") or None)
        if not url:
            raise LockboxError("INVALID_ARGUMENT", "no Lockbox URL: pass url= or set LOCKBOX_URL")
        if not token:
            raise LockboxError("INVALID_ARGUMENT", "no token: pass token= or set LOCKBOX_TOKEN")
        self._transport = Transport(url, token.strip(), ca_file, timeout)

    def close(self) -> None:
        """Closes the connection."""
        self._transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # Never the token.
        return "Client(<lockbox>)"

    # Secrets ---------------------------------------------------------------

    @staticmethod
    def _secret_path(scope: str, name: Optional[str] = None) -> str:
        path = f"/v1/secrets/{quote_segment(scope)}"
        return path if name is None else f"{path}/{quote_segment(name)}"

    def get(self, scope: str, name: str) -> str:
        """The value of a secret, as text (``secrets:read`` on the scope). Audited.

        Raises LockboxError ``SECRET_NOT_FOUND`` when there is none.
        """
        return self.get_bytes(scope, name).decode("utf-8", errors="replace")

    def get_bytes(self, scope: str, name: str) -> bytes:
        """The value of a secret, as bytes (for values stored as bytes)."""
        answer = self._transport.request("GET", self._secret_path(scope, name))
        value = str(answer["value"])
        if answer.get("encoding") == "base64":
            return base64.b64decode(value)
        return value.encode("utf-8")

    def set(
        self,
        scope: str,
        name: str,
        value: Union[str, bytes],
        *,
        metadata: Optional[Mapping[str, Any]] = None,
        if_version: Optional[int] = None,
    ) -> int:
        """Creates or replaces a secret (``secrets:write``); returns its new version.

        ``if_version`` writes only if the stored version is that (0: only if absent),
        else ``VERSION_CONFLICT``. ``metadata`` is non-secret JSON kept beside it.
        """
        body: Dict[str, Any] = {}
        if isinstance(value, bytes):
            body["value"] = base64.b64encode(value).decode("ascii")
            body["encoding"] = "base64"
        else:
            body["value"] = value
        if metadata is not None:
            body["metadata"] = dict(metadata)
        if if_version is not None:
            body["ifVersion"] = if_version
        answer = self._transport.request("PUT", self._secret_path(scope, name), body)
        return int(answer["version"])

    def delete(self, scope: str, name: str) -> None:
        """Deletes a secret (``secrets:write``); ``SECRET_NOT_FOUND`` if there was none."""
        self._transport.request("DELETE", self._secret_path(scope, name))

    def list(self, scope: str) -> List[SecretInfo]:
        """The secrets of a scope, names and versions only (``secrets:read``)."""
        answer = self._transport.request("GET", self._secret_path(scope))
        return [
            SecretInfo(
                name=s["name"],
                version=s["version"],
                type=s["type"],
                metadata=s.get("metadata"),
                created_at=s["createdAt"],
                updated_at=s["updatedAt"],
                status=s["status"],
            )
            for s in answer["secrets"]
        ]

    # Fields ----------------------------------------------------------------

    def encrypt_field(self, table: str, column: str, key: RowKey, plaintext: str) -> str:
        """Encrypts ``plaintext`` for one row of a registered field (``fields:encrypt``).

        ``key`` gives the field's row-key column(s), e.g. ``{"id": 7}``. The
        ciphertext opens only for that table, column and row.
        """
        return self._one(self.encrypt_fields(table, column, [(key, plaintext)]))

    def decrypt_field(self, table: str, column: str, key: RowKey, ciphertext: str) -> str:
        """Decrypts one row's value of a registered field (``fields:decrypt``)."""
        return self._one(self.decrypt_fields(table, column, [(key, ciphertext)]))

    def encrypt_fields(
        self,
        table: str,
        column: str,
        items: Iterable[Tuple[RowKey, str]],
        *,
        batch_size: int = MAX_FIELD_BATCH,
    ) -> List[Union[str, LockboxError]]:
        """Encrypts many ``(key, plaintext)`` pairs; one result per item, in order.

        A result is the ciphertext, or a LockboxError for that item alone (not
        raised: one bad item does not fail the others). Whole-request failures
        (permission, unregistered field) are raised.
        """
        return self._batch("encrypt", table, column, "plaintext", "ciphertext", items, batch_size)

    def decrypt_fields(
        self,
        table: str,
        column: str,
        items: Iterable[Tuple[RowKey, str]],
        *,
        batch_size: int = MAX_FIELD_BATCH,
    ) -> List[Union[str, LockboxError]]:
        """Decrypts many ``(key, ciphertext)`` pairs; results as for encrypt_fields."""
        return self._batch("decrypt", table, column, "ciphertext", "plaintext", items, batch_size)

    def _batch(
        self,
        operation: str,
        table: str,
        column: str,
        send: str,
        receive: str,
        items: Iterable[Tuple[RowKey, str]],
        batch_size: int,
    ) -> List[Union[str, LockboxError]]:
        if not 1 <= batch_size <= MAX_FIELD_BATCH:
            raise LockboxError("INVALID_ARGUMENT", f"batch_size must be 1 to {MAX_FIELD_BATCH}")
        path = f"/v1/fields/{quote_segment(table)}/{quote_segment(column)}/{operation}"
        pending: Sequence[Tuple[RowKey, str]] = list(items)
        results: List[Union[str, LockboxError]] = []
        for start in range(0, len(pending), batch_size):
            chunk = pending[start:start + batch_size]
            body = {"items": [{"key": dict(key), send: value} for key, value in chunk]}
            answer, request_id = self._transport.request_with_id("POST", path, body)
            results.extend(_result(item, receive, request_id) for item in answer["results"])
        return results

    @staticmethod
    def _one(results: List[Union[str, LockboxError]]) -> str:
        result = results[0]
        if isinstance(result, LockboxError):
            raise result
        return result
