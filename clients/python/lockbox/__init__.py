"""Lockbox for Python: secrets and field encryption over Lockbox's HTTP API.

Standard library only (Python 3.9+). See clients/python/README.md::

    from lockbox import Client
    lockbox = Client()                     # LOCKBOX_URL, LOCKBOX_TOKEN
    api_key = lockbox.decrypt_field("user_keys", "api_key", {"id": 7}, row.api_key)
"""

from .cipher import FieldCipher
from .client import MAX_FIELD_BATCH, Client, RowKey, SecretInfo
from .errors import LockboxError

__all__ = ["Client", "FieldCipher", "LockboxError", "SecretInfo", "RowKey", "MAX_FIELD_BATCH"]
