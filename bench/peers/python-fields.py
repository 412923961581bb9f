"""Python side of bench/fields-http.js: what an application pays to move to Lockbox.

In one Python process, in alternating timed windows (wall clock, since one
contender waits on another process):
  lockbox  decrypt_fields through the Lockbox client (clients/python), batches of
           BATCH over one kept-alive loopback HTTP connection;
  fernet   Fernet(key).decrypt of the same plaintexts, in process, with the
           `cryptography` package — what the application did before.
Prints one JSON object on stdout:
  {"available": true, "version": "...", "lockbox": [values/s, ...], "fernet": [...]}
or {"available": false, "reason": "..."} when `cryptography` cannot be imported.

Usage:
  LOCKBOX_URL=... LOCKBOX_TOKEN=... LOCKBOX_BENCH_FIELD=table.column \
    python3 python-fields.py ROUNDS WINDOW_MS WARMUP_MS ITEMS_JSON
ITEMS_JSON: [{"key": {...}, "ciphertext": "lb1:...", "plaintext": "..."}, ...]
"""

import gc
import json
import os
import sys
import time

BATCH = 100
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python"))

from lockbox import Client  # noqa: E402  (after the path setup above)


def window(step, seconds):
    """Runs `step` (which returns how many values it decrypted) for `seconds` of wall time."""
    gc.collect()
    start = time.perf_counter()
    end = start + seconds
    values = 0
    now = start
    while now < end:
        values += step()
        now = time.perf_counter()
    return values / (now - start)


def main():
    rounds, window_ms, warmup_ms = (int(v) for v in sys.argv[1:4])
    with open(sys.argv[4], encoding="utf-8") as source:
        items = json.load(source)
    table, column = os.environ["LOCKBOX_BENCH_FIELD"].split(".")
    try:
        import cryptography
        from cryptography.fernet import Fernet
    except ImportError as err:
        print(json.dumps({"available": False, "reason": f"cannot import cryptography: {err}"}))
        return
    fernet = Fernet(Fernet.generate_key())
    tokens = [fernet.encrypt(item["plaintext"].encode("utf-8")) for item in items]
    plaintexts = [item["plaintext"] for item in items]
    batches = [
        [(item["key"], item["ciphertext"]) for item in items[i:i + BATCH]]
        for i in range(0, len(items), BATCH)
    ]
    lockbox = Client()
    # Both contenders must produce the right plaintexts before anything is timed.
    decrypted = [v for batch in batches for v in lockbox.decrypt_fields(table, column, batch)]
    if decrypted != plaintexts:
        raise SystemExit("the Lockbox client did not return the plaintexts")
    if [fernet.decrypt(t).decode("utf-8") for t in tokens] != plaintexts:
        raise SystemExit("Fernet did not return the plaintexts")

    cursor = {"lockbox": 0, "fernet": 0}

    def lockbox_step():
        batch = batches[cursor["lockbox"] % len(batches)]
        cursor["lockbox"] += 1
        results = lockbox.decrypt_fields(table, column, batch)
        if any(not isinstance(r, str) for r in results):
            raise SystemExit("a Lockbox decryption failed during the benchmark")
        return len(results)

    def fernet_step():
        start = (cursor["fernet"] * BATCH) % len(tokens)
        cursor["fernet"] += 1
        for token in tokens[start:start + BATCH]:
            fernet.decrypt(token).decode("utf-8")
        return len(tokens[start:start + BATCH])

    contenders = [("lockbox", lockbox_step), ("fernet", fernet_step)]
    for _, step in contenders:
        window(step, warmup_ms / 1000)
    figures = {name: [] for name, _ in contenders}
    for round_ in range(rounds):
        # The order alternates so drift in the machine's state lands on both.
        ordered = contenders if round_ % 2 == 0 else list(reversed(contenders))
        for name, step in ordered:
            figures[name].append(window(step, window_ms / 1000))
    lockbox.close()
    print(json.dumps({"available": True, "version": cryptography.__version__, **figures}))


main()
