"""Field encryption through the client: single and batch calls, permissions, the
FieldCipher adapter, and values exchanged with the TypeScript library."""

import json
import unittest

from harness import CONFIG, client

from lockbox import FieldCipher, LockboxError

TABLE, COLUMN = "user_keys", "api_key"


class FieldsTest(unittest.TestCase):
    """The fields_rw token has fields:encrypt and fields:decrypt on user_keys.api_key."""

    def setUp(self) -> None:
        self.lockbox = client("fields_rw")
        self.addCleanup(self.lockbox.close)

    def test_round_trip_bound_to_the_row(self) -> None:
        ciphertext = self.lockbox.encrypt_field(TABLE, COLUMN, {"id": 41}, "sk-py-forty-one")
        self.assertTrue(ciphertext.startswith("lb1:"))
        plaintext = self.lockbox.decrypt_field(TABLE, COLUMN, {"id": 41}, ciphertext)
        self.assertEqual(plaintext, "sk-py-forty-one")
        with self.assertRaises(LockboxError) as caught:
            self.lockbox.decrypt_field(TABLE, COLUMN, {"id": 42}, ciphertext)
        self.assertEqual(caught.exception.code, "SECRET_UNDECRYPTABLE")
        self.assertNotIn("sk-py-forty-one", str(caught.exception))

    def test_batches_answer_item_by_item_and_split_long_inputs(self) -> None:
        items = [({"id": i}, f"value-{i}") for i in range(250)]
        items.insert(3, ({"user_id": 3}, "wrong key column"))
        encrypted = self.lockbox.encrypt_fields(TABLE, COLUMN, items, batch_size=100)
        self.assertEqual(len(encrypted), 251)
        bad = encrypted[3]
        self.assertIsInstance(bad, LockboxError)
        assert isinstance(bad, LockboxError)
        self.assertEqual(bad.code, "FIELD_ROW_KEY_INVALID")
        pairs = [(key, c) for (key, _), c in zip(items, encrypted) if isinstance(c, str)]
        pairs.append(({"id": 1}, "lb1:not-a-real-ciphertext"))
        decrypted = self.lockbox.decrypt_fields(TABLE, COLUMN, pairs)
        self.assertEqual(decrypted[:250], [f"value-{i}" for i in range(250)])
        last = decrypted[250]
        assert isinstance(last, LockboxError)
        self.assertEqual(last.code, "SECRET_UNDECRYPTABLE")
        with self.assertRaises(LockboxError) as caught:
            self.lockbox.encrypt_fields(TABLE, COLUMN, items, batch_size=1001)
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_field_cipher_has_the_encrypt_decrypt_shape(self) -> None:
        row = FieldCipher(self.lockbox, TABLE, COLUMN, {"id": 7})
        token = row.encrypt({"api_key": "sk-seven", "org": "acme"})
        self.assertEqual(row.decrypt(token), {"api_key": "sk-seven", "org": "acme"})
        with self.assertRaises(LockboxError) as caught:
            FieldCipher(self.lockbox, TABLE, COLUMN, {"id": 8}).decrypt(token)
        self.assertEqual(caught.exception.code, "SECRET_UNDECRYPTABLE")
        not_json = self.lockbox.encrypt_field(TABLE, COLUMN, {"id": 7}, "plain text")
        with self.assertRaises(LockboxError) as caught:
            row.decrypt(not_json)
        self.assertEqual(caught.exception.code, "INVALID_ARGUMENT")

    def test_each_permission_stays_on_its_operation_and_field(self) -> None:
        reader = client("fields_decrypt")
        self.addCleanup(reader.close)
        secrets_only = client("app")
        self.addCleanup(secrets_only.close)
        ciphertext = self.lockbox.encrypt_field(TABLE, COLUMN, {"id": 1}, "x")
        self.assertEqual(reader.decrypt_field(TABLE, COLUMN, {"id": 1}, ciphertext), "x")
        refused = [
            lambda: reader.encrypt_field(TABLE, COLUMN, {"id": 1}, "x"),
            lambda: reader.decrypt_field(TABLE, "other", {"id": 1}, ciphertext),
            lambda: reader.get("prod", "db"),
            lambda: reader.list("prod"),
            lambda: secrets_only.decrypt_field(TABLE, COLUMN, {"id": 1}, ciphertext),
        ]
        for call in refused:
            with self.assertRaises(LockboxError) as caught:
                call()
            error = caught.exception
            self.assertEqual((error.code, error.status), ("PERMISSION_DENIED", 403))

    def test_unregistered_field(self) -> None:
        with client("admin") as admin, self.assertRaises(LockboxError) as caught:
            admin.encrypt_field("no_such_table", "col", {"id": 1}, "x")
        error = caught.exception
        self.assertEqual((error.code, error.status), ("FIELD_NOT_REGISTERED", 404))


class InteropTest(unittest.TestCase):
    """Values the TypeScript library wrote, read here; and the reverse (the driver checks)."""

    def test_reads_what_typescript_wrote_and_writes_what_typescript_reads(self) -> None:
        lockbox = client("fields_rw")
        self.addCleanup(lockbox.close)
        from_ts = CONFIG["fromTs"]
        plaintext = lockbox.decrypt_field(TABLE, COLUMN, from_ts["key"], from_ts["ciphertext"])
        self.assertEqual(plaintext, from_ts["plaintext"])
        to_ts = CONFIG["toTs"]
        ciphertext = lockbox.encrypt_field(TABLE, COLUMN, to_ts["key"], to_ts["plaintext"])
        with open(to_ts["file"], "w", encoding="utf-8") as out:
            json.dump({"ciphertext": ciphertext}, out)


if __name__ == "__main__":
    unittest.main()
