"""JSON over HTTP(S) to a Lockbox server, on one kept-alive connection.

TLS certificates and host names are always verified: against the system's CAs,
or against ``ca_file`` when given. There is deliberately no switch to turn
verification off. Every request has a timeout. The token travels only in the
Authorization header and is never part of an exception or its message.
"""

import http.client
import json
import ssl
import threading
from typing import Any, Dict, Optional, Tuple
from urllib.parse import quote, urlsplit

from .errors import LockboxError

__all__ = ["Transport", "quote_segment"]


def quote_segment(text: str) -> str:
    """Percent-encodes one path segment (``user:42`` becomes ``user%3A42``)."""
    return quote(text, safe="")


class Transport:
    """One connection to one server; requests are serialised by a lock."""

    def __init__(self, url: str, token: str, ca_file: Optional[str], timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LockboxError("INVALID_ARGUMENT", "the Lockbox URL must be http(s)://host[:port]")
        if parts.username or parts.password:
            raise LockboxError("INVALID_ARGUMENT", "the Lockbox URL must not carry credentials")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": "lockbox-python/1",
        }
        self._timeout = timeout
        self._context: Optional[ssl.SSLContext] = None
        if self._https:
            self._context = ssl.create_default_context(cafile=ca_file)
        elif ca_file is not None:
            raise LockboxError("INVALID_ARGUMENT", "ca_file only applies to an https URL")
        self._lock = threading.Lock()
        self._connection: Optional[http.client.HTTPConnection] = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            if self._https:
                self._connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout, context=self._context
                )
            else:
                self._connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout
                )
        return self._connection

    def close(self) -> None:
        """Closes the connection (the next request opens a new one)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def request(self, method: str, path: str, body: Optional[Any] = None) -> Any:
        """Sends one request and returns the decoded JSON answer (None for 204).

        Raises LockboxError with the server's code, or SERVER_UNREACHABLE.
        """
        return self.request_with_id(method, path, body)[0]

    def request_with_id(
        self, method: str, path: str, body: Optional[Any] = None
    ) -> Tuple[Any, Optional[str]]:
        """As request, and also returns the answer's X-Request-Id."""
        payload = None if body is None else json.dumps(body).encode("utf-8")
        headers = dict(self._headers)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        with self._lock:
            # A kept-alive connection the server has closed fails before any answer;
            # one retry on a fresh connection covers that (these calls are safe to repeat).
            for attempt in (1, 2):
                connection = self._connect()
                try:
                    connection.request(method, self._base + path, body=payload, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    break
                except (
                    http.client.RemoteDisconnected,
                    BrokenPipeError,
                    ConnectionResetError,
                ) as err:
                    self._drop()
                    if attempt == 2:
                        raise self._unreachable(err) from None
                except (OSError, http.client.HTTPException) as err:
                    self._drop()
                    raise self._unreachable(err) from None
        return self._decode(response, data), response.getheader("X-Request-Id")

    def _drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _unreachable(self, err: BaseException) -> LockboxError:
        reason = type(err).__name__
        if isinstance(err, ssl.SSLCertVerificationError):
            reason = f"certificate verification failed ({err.verify_message})"
        elif isinstance(err, TimeoutError) or "timed out" in str(err):
            reason = f"no answer within {self._timeout} s"
        return LockboxError(
            "SERVER_UNREACHABLE",
            f"cannot reach the Lockbox server at {self._origin}: {reason}",
        )

    def _decode(self, response: http.client.HTTPResponse, data: bytes) -> Any:
        status = response.status
        request_id = response.getheader("X-Request-Id")
        if status == 204:
            return None
        try:
            answer = json.loads(data.decode("utf-8"))
        except ValueError:
            raise LockboxError(
                "SERVER_UNREACHABLE",
                f"{self._origin} did not answer as a Lockbox server (HTTP {status})",
                status=status,
                request_id=request_id,
            ) from None
        if 200 <= status < 300:
            return answer
        error: Dict[str, Any] = answer.get("error", {}) if isinstance(answer, dict) else {}
        raise LockboxError(
            str(error.get("code", "INTERNAL")),
            str(error.get("message", f"HTTP {status}")),
            status=status,
            request_id=request_id,
        )
