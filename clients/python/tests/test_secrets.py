"""Secrets through the client: every call against the real server, and its errors."""

import unittest

from harness import client

from lockbox import LockboxError


class SecretsTest(unittest.TestCase):
    """get / set / delete / list, with the app token (secrets:read+write on app:*)."""

    def setUp(self) -> None:
        self.lockbox = client("app")
        self.addCleanup(self.lockbox.close)
        self.bogus = client("bogus")
        self.addCleanup(self.bogus.close)

    def test_set_get_list_delete(self) -> None:
        version = self.lockbox.set(
            "app:py", "openai-api-key", "sk-py-1", metadata={"owner": "billing"}
        )
        self.assertEqual(version, 1)
        self.assertEqual(self.lockbox.set("app:py", "openai-api-key", "sk-py-2", if_version=1), 2)
        self.assertEqual(self.lockbox.get("app:py", "openai-api-key"), "sk-py-2")
        self.lockbox.set("app:py", "blob", b"\x00\xffbytes")
        self.assertEqual(self.lockbox.get_bytes("app:py", "blob"), b"\x00\xffbytes")
        listed = {s.name: s for s in self.lockbox.list("app:py")}
        self.assertEqual(listed["openai-api-key"].version, 2)
        self.assertEqual(listed["openai-api-key"].metadata, {"owner": "billing"})
        self.assertEqual(listed["blob"].type, "bytes")
        self.lockbox.delete("app:py", "openai-api-key")
        self.lockbox.delete("app:py", "blob")
        with self.assertRaises(LockboxError) as caught:
            self.lockbox.get("app:py", "openai-api-key")
        self.assertEqual(caught.exception.code, "SECRET_NOT_FOUND")
        self.assertEqual(caught.exception.status, 404)
        self.assertTrue(caught.exception.request_id)

    def test_scope_and_name_are_sent_literally_encoded(self) -> None:
        self.lockbox.set("app:a/b c", "name with/slash", "v")
        self.assertEqual(self.lockbox.get("app:a/b c", "name with/slash"), "v")
        self.lockbox.delete("app:a/b c", "name with/slash")

    def test_error_codes_are_surfaced(self) -> None:
        cases = [
            (lambda: self.lockbox.set("app:py", "x", "v", if_version=7), "VERSION_CONFLICT", 409),
            (lambda: self.lockbox.get("prod", "db"), "PERMISSION_DENIED", 403),
            (lambda: self.lockbox.delete("app:py", "never-was"), "SECRET_NOT_FOUND", 404),
            (lambda: self.lockbox.set("app:py", "bad\x01name", "v"), "NAME_INVALID", 400),
            (lambda: self.bogus.get("app:py", "x"), "AUTH_INVALID", 401),
        ]
        for call, code, status in cases:
            with self.subTest(code=code):
                with self.assertRaises(LockboxError) as caught:
                    call()
                self.assertEqual((caught.exception.code, caught.exception.status), (code, status))

    def test_token_never_in_errors_or_repr(self) -> None:
        from harness import TOKENS

        try:
            self.lockbox.get("prod", "db")
        except LockboxError as err:
            self.assertNotIn(TOKENS["app"], str(err) + repr(err))
        self.assertNotIn(TOKENS["app"], repr(self.lockbox))


if __name__ == "__main__":
    unittest.main()
