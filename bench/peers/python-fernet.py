"""Python peer for bench/crypto.js: Fernet round trips with the `cryptography` package.

Measures encrypt + decrypt of a text secret (str -> token -> str), in timed
windows like bench/lib/measure.js with clock 'cpu' (a window lasts WINDOW_MS of
this process's CPU time, at most WALL_FACTOR times that in wall time), and prints one
JSON object on stdout:
  {"available": true, "version": "...", "samples": {"64": [ops/CPU-s, ...], ...},
   "wall": {"64": [ops/s, ...], ...}}
or, when `cryptography` cannot be imported:
  {"available": false, "reason": "..."}
Usage: python3 python-fernet.py ROUNDS WINDOW_MS WARMUP_MS WALL_FACTOR SIZE [SIZE ...]
"""

import gc
import json
import sys
import time


def window(fernet, text, seconds, wall_factor):
    gc.collect()
    start = time.perf_counter()
    cpu_start = time.process_time()
    wall_end = start + wall_factor * seconds
    cpu_end = cpu_start + seconds
    ops = 0
    now = start
    cpu = cpu_start
    while now < wall_end and cpu < cpu_end:
        for _ in range(32):
            fernet.decrypt(fernet.encrypt(text.encode("utf-8"))).decode("utf-8")
        ops += 32
        now = time.perf_counter()
        cpu = time.process_time()
    return ops / (cpu - cpu_start), ops / (now - start)


def main():
    rounds, window_ms, warmup_ms, wall_factor = (int(v) for v in sys.argv[1:5])
    sizes = [int(v) for v in sys.argv[5:]]
    try:
        import cryptography
        from cryptography.fernet import Fernet
    except ImportError as err:
        print(json.dumps({"available": False, "reason": f"cannot import cryptography: {err}"}))
        return
    fernet = Fernet(Fernet.generate_key())
    samples = {}
    wall = {}
    for size in sizes:
        text = "x" * size
        window(fernet, text, warmup_ms / 1000, wall_factor)
        figures = [window(fernet, text, window_ms / 1000, wall_factor) for _ in range(rounds)]
        samples[str(size)] = [cpu for cpu, _ in figures]
        wall[str(size)] = [w for _, w in figures]
    version = cryptography.__version__
    print(json.dumps({"available": True, "version": version, "samples": samples, "wall": wall}))


main()
