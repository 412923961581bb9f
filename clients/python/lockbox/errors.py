"""The one exception the client raises, carrying Lockbox's stable error code."""

from typing import Any, Dict, Optional


class LockboxError(Exception):
    """A failure reported by Lockbox, or in reaching it.

    ``code`` is a stable code from Lockbox's error catalogue (docs/errors.md):
    match on it, never on the message. ``status`` is the HTTP status (None when
    no answer arrived: ``SERVER_UNREACHABLE``), ``request_id`` the server's
    X-Request-Id (quote it when asking an operator to look at the server log).
    Messages never hold a secret value, a key or a token.
    """

    def __init__(
        self,
        code: str,
        message: str,
        status: Optional[int] = None,
        request_id: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.request_id = request_id
        self.details: Dict[str, Any] = details or {}

    def __repr__(self) -> str:
        return (
            f"LockboxError(code={self.code!r}, status={self.status!r}, "
            f"request_id={self.request_id!r})"
        )
