"""Python peer for bench/crypto.js: Fernet round trips with the `cryptography` package.

Measures encrypt + decrypt of a text secret (str -> token -> str), in timed
windows like bench/lib/measure.js, and prints one JSON object on stdout:
  {"available": true, "version": "...", "samples": {"64": [ops/s, ...], ...}}
or, when `cryptography` cannot be imported:
  {"available": false, "reason": "..."}
Usage: python3 python-fernet.py ROUNDS WINDOW_MS WARMUP_MS SIZE [SIZE ...]
"""

import gc
import json
import sys
import time


def window(fernet, text, seconds):
    gc.collect()
    start = time.perf_counter()
    end = start + seconds
    ops = 0
    now = start
    while now < end:
        for _ in range(32):
            fernet.decrypt(fernet.encrypt(text.encode("utf-8"))).decode("utf-8")
        ops += 32
        now = time.perf_counter()
    return ops / (now - start)


def main():
    rounds, window_ms, warmup_ms = (int(v) for v in sys.argv[1:4])
    sizes = [int(v) for v in sys.argv[4:]]
    try:
        import cryptography
        from cryptography.fernet import Fernet
    except ImportError as err:
        print(json.dumps({"available": False, "reason": f"cannot import cryptography: {err}"}))
        return
    fernet = Fernet(Fernet.generate_key())
    samples = {}
    for size in sizes:
        text = "x" * size
        window(fernet, text, warmup_ms / 1000)
        samples[str(size)] = [window(fernet, text, window_ms / 1000) for _ in range(rounds)]
    print(json.dumps({"available": True, "version": cryptography.__version__, "samples": samples}))


main()
