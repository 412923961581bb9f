"""Connection settings: environment defaults, TLS verification, timeouts, bad URLs."""

import os
import socket
import threading
import unittest
from unittest import mock

from harness import CA_FILE, TOKENS, URL, client

from lockbox import Client, LockboxError


class ConnectionTest(unittest.TestCase):
    def test_url_token_and_ca_file_from_the_environment(self) -> None:
        env = {"LOCKBOX_URL": URL, "LOCKBOX_TOKEN": TOKENS["app"], "LOCKBOX_CA_FILE": CA_FILE}
        with mock.patch.dict(os.environ, env):
            with Client() as lockbox:
                self.assertIsInstance(lockbox.list("app:env"), list)
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaises(LockboxError) as caught:
                Client()
            self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_verifies_tls_by_default(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=True):
            lockbox = Client(URL, TOKENS["app"])
        with self.assertRaises(LockboxError) as caught:
            lockbox.list("app:x")
        self.assertEqual(caught.exception.code, "SERVER_UNREACHABLE")
        self.assertIn("certificate verification failed", caught.exception.message)
        self.assertIsNone(caught.exception.status)

    def test_unreachable_and_silent_servers(self) -> None:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        with self.assertRaises(LockboxError) as caught:
            Client(f"http://127.0.0.1:{port}", "t").list("x")
        self.assertEqual(caught.exception.code, "SERVER_UNREACHABLE")

        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        self.addCleanup(silent.close)
        accepted = []
        threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()
        lockbox = Client(f"http://127.0.0.1:{silent.getsockname()[1]}", "t", timeout=0.3)
        with self.assertRaises(LockboxError) as caught:
            lockbox.list("x")
        self.assertEqual(caught.exception.code, "SERVER_UNREACHABLE")
        self.assertIn("no answer", caught.exception.message)
        for connection, _ in accepted:
            connection.close()

    def test_refuses_bad_urls(self) -> None:
        for url in ["ftp://x", "not a url", "https://user:pw@host"]:
            with self.subTest(url=url):
                with self.assertRaises(LockboxError) as caught:
                    Client(url, "t")
                self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")
                self.assertNotIn("pw", caught.exception.message)

    def test_reuses_one_connection(self) -> None:
        lockbox = client("app")
        self.addCleanup(lockbox.close)
        for _ in range(3):
            lockbox.list("app:x")
        lockbox.close()
        lockbox.list("app:x")


if __name__ == "__main__":
    unittest.main()
