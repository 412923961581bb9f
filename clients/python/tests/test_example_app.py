"""The example application of docs/clients.md, run as its own process.

Its ``user_keys`` table was adopted by ``lockbox rotate adopt`` from Fernet (the
driver did that); it reads and writes keys through Lockbox with its token.
"""

import json
import os
import sqlite3
import subprocess
import sys
import unittest
import urllib.error
import urllib.request
from typing import Any, Dict, Tuple

from harness import CA_FILE, CONFIG, TOKENS, URL

HERE = os.path.dirname(os.path.abspath(__file__))
APP = os.path.join(HERE, "..", "examples", "credentials_app.py")


def start_app(token: str) -> Tuple["subprocess.Popen[str]", str]:
    """Starts the example app with this token; returns the process and its URL."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_DATABASE": CONFIG["app"]["database"],
        "APP_PORT": "0",
        "LOCKBOX_URL": URL,
        "LOCKBOX_TOKEN": token,
        "LOCKBOX_CA_FILE": CA_FILE,
    }
    process = subprocess.Popen([sys.executable, APP], env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the example app did not start: {line!r}")
    return process, line.split()[-1]


def call(base: str, method: str, path: str, body: Any = None) -> Tuple[int, Dict[str, Any]]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(base + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class ExampleAppTest(unittest.TestCase):
    def run_app(self, token_name: str) -> str:
        process, base = start_app(TOKENS[token_name])

        def stop() -> None:
            process.terminate()
            process.wait(10)
            if process.stdout:
                process.stdout.close()

        self.addCleanup(stop)
        return base

    def test_reads_adopted_rows_and_writes_new_ones(self) -> None:
        base = self.run_app("app_service")
        for user_id, row in CONFIG["app"]["rows"].items():
            status, body = call(base, "GET", f"/keys/{user_id}")
            self.assertEqual(status, 200)
            key = row["api_key"]
            expected = {
                "id": int(user_id),
                "provider": row["provider"],
                "api_key_preview": f"{key[:3]}…{key[-4:]}",
            }
            self.assertEqual(body, expected)
        new = {"provider": "github", "api_key": "ghp_new_key_0099"}
        self.assertEqual(call(base, "PUT", "/keys/99", new)[0], 200)
        self.assertEqual(call(base, "GET", "/keys/99")[1]["api_key_preview"], "ghp…0099")
        with sqlite3.connect(CONFIG["app"]["database"]) as db:
            stored = db.execute("SELECT api_key FROM user_keys WHERE id = 99").fetchone()[0]
        self.assertTrue(stored.startswith("lb1:"))
        self.assertNotIn("ghp_new_key_0099", stored)

    def test_a_decrypt_only_token_reads_but_cannot_write(self) -> None:
        base = self.run_app("fields_decrypt")
        self.assertEqual(call(base, "GET", "/keys/1")[0], 200)
        status, body = call(base, "PUT", "/keys/1", {"provider": "x", "api_key": "y"})
        self.assertEqual((status, body["error"]), (500, "PERMISSION_DENIED"))


if __name__ == "__main__":
    unittest.main()
