"""Python peer for bench/rotation.js: what an application that keeps Fernet
tokens in SQLite does to rotate its key today.

Seeds a fresh SQLite file with ROWS Fernet tokens of a 64-byte secret under an
old key (not timed), then times the rotation loop an application writes with
`cryptography`: select a batch in primary-key order, `MultiFernet([new,
old]).rotate` each token, `executemany` the updates, commit; until no row is
left. Checks every row decrypts under the new key alone afterwards (not timed).
Prints one JSON object on stdout:
  {"available": true, "version": "...", "rows": N, "seconds": s, "rate": rows/s,
   "maxRssKiB": k}
or, when `cryptography` cannot be imported:
  {"available": false, "reason": "..."}
Usage: python3 python-multifernet-rekey.py SQLITE_FILE ROWS BATCH
"""

import json
import os
import resource
import sqlite3
import sys
import time


def main():
    path, rows, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:
        import cryptography
        from cryptography.fernet import Fernet, MultiFernet
    except ImportError as err:
        print(json.dumps({"available": False, "reason": f"cannot import cryptography: {err}"}))
        return
    old, new = Fernet(Fernet.generate_key()), Fernet(Fernet.generate_key())
    secret = os.urandom(32).hex().encode("ascii")  # 64 bytes, like the Lockbox store's
    db = sqlite3.connect(path)
    db.execute("pragma journal_mode = wal")
    db.execute("pragma synchronous = normal")
    db.execute("create table credentials (id integer primary key, token text not null)")
    for start in range(0, rows, 1000):
        db.executemany(
            "insert into credentials (id, token) values (?, ?)",
            [(i, old.encrypt(secret).decode("ascii")) for i in range(start, min(rows, start + 1000))],
        )
    db.commit()

    rotator = MultiFernet([new, old])
    started = time.perf_counter()
    last = -1
    done = 0
    while True:
        found = db.execute(
            "select id, token from credentials where id > ? order by id limit ?", (last, batch)
        ).fetchall()
        if not found:
            break
        db.executemany(
            "update credentials set token = ? where id = ?",
            [(rotator.rotate(token.encode("ascii")).decode("ascii"), i) for i, token in found],
        )
        db.commit()
        last = found[-1][0]
        done += len(found)
    seconds = time.perf_counter() - started

    for (token,) in db.execute("select token from credentials"):
        if new.decrypt(token.encode("ascii")) != secret:
            raise SystemExit("a rotated token did not decrypt to the secret")
    db.close()
    print(
        json.dumps(
            {
                "available": True,
                "version": cryptography.__version__,
                "rows": done,
                "seconds": seconds,
                "rate": done / seconds,
                "maxRssKiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )


if __name__ == "__main__":
    main()
