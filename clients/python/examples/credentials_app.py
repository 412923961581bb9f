"""A small application that keeps users' API keys in its own table, on Lockbox.

It is the example of docs/clients.md, and the tests run it. Before Lockbox it
held one ``ENCRYPTION_KEY`` and called ``Fernet(key).decrypt(row.api_key)``;
after ``lockbox rotate adopt`` converted its ``user_keys.api_key`` column, it
holds only a Lockbox token and calls ``lockbox.decrypt_field(...)`` instead.

Standard library only. Configuration (environment):
    APP_DATABASE   the SQLite file holding its ``user_keys`` table
    APP_PORT       port to listen on (default 8080; 0 picks a free one)
    LOCKBOX_URL, LOCKBOX_TOKEN, LOCKBOX_CA_FILE   the Lockbox server and token

Routes:
    GET /keys/<id>   the user's provider and a preview of the key (never the key)
    PUT /keys/<id>   body {"provider": "...", "api_key": "..."}: store it encrypted
"""

import json
import os
import sqlite3
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Optional, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from lockbox import Client, LockboxError  # noqa: E402  (after the path setup above)

TABLE, COLUMN = "user_keys", "api_key"

lockbox = Client()  # LOCKBOX_URL, LOCKBOX_TOKEN, LOCKBOX_CA_FILE


def database() -> sqlite3.Connection:
    """A connection to the application's own database."""
    return sqlite3.connect(os.environ["APP_DATABASE"], timeout=10)


def preview(api_key: str) -> str:
    """Enough of a key to recognise it in a settings page, not to use it."""
    return f"{api_key[:3]}…{api_key[-4:]}"


def read_key(user_id: int) -> Optional[Tuple[str, str]]:
    """The user's provider and decrypted API key, or None."""
    with database() as db:
        row = db.execute(
            f"SELECT provider, {COLUMN} FROM {TABLE} WHERE id = ?", (user_id,)
        ).fetchone()
    if row is None:
        return None
    provider, ciphertext = row
    # Before: Fernet(ENCRYPTION_KEY).decrypt(ciphertext.encode()).decode()
    return provider, lockbox.decrypt_field(TABLE, COLUMN, {"id": user_id}, ciphertext)


def write_key(user_id: int, provider: str, api_key: str) -> None:
    """Stores the key encrypted for this row (the ciphertext opens for no other row)."""
    # Before: Fernet(ENCRYPTION_KEY).encrypt(api_key.encode()).decode()
    ciphertext = lockbox.encrypt_field(TABLE, COLUMN, {"id": user_id}, api_key)
    with database() as db:
        db.execute(
            f"INSERT INTO {TABLE} (id, provider, {COLUMN}) VALUES (?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET "
            f"provider = excluded.provider, {COLUMN} = excluded.{COLUMN}",
            (user_id, provider, ciphertext),
        )


class Handler(BaseHTTPRequestHandler):
    """GET and PUT /keys/<id>; Lockbox errors become JSON with their code."""

    def _user_id(self) -> Optional[int]:
        parts = self.path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "keys" and parts[1].isdigit():
            return int(parts[1])
        return None

    def _send(self, status: int, body: Dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _lockbox_failed(self, err: LockboxError) -> None:
        # The code says what went wrong; the message never holds a key.
        status = 502 if err.status is None else 500
        self._send(status, {"error": err.code, "lockbox_request_id": err.request_id})

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        user_id = self._user_id()
        if user_id is None:
            self._send(404, {"error": "not found"})
            return
        try:
            found = read_key(user_id)
        except LockboxError as err:
            self._lockbox_failed(err)
            return
        if found is None:
            self._send(404, {"error": "no key for this user"})
            return
        provider, api_key = found
        self._send(200, {"id": user_id, "provider": provider, "api_key_preview": preview(api_key)})

    def do_PUT(self) -> None:  # noqa: N802
        user_id = self._user_id()
        if user_id is None:
            self._send(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        try:
            write_key(user_id, str(body["provider"]), str(body["api_key"]))
        except LockboxError as err:
            self._lockbox_failed(err)
            return
        self._send(200, {"id": user_id, "stored": True})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: request lines go nowhere (an app must never log keys)."""


def main() -> None:
    """Serves until interrupted; prints the URL first."""
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("APP_PORT", "8080"))), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        lockbox.close()


if __name__ == "__main__":
    main()
