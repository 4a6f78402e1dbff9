"""Two leaking lines and a bounded one, for the Scalene and memray tests of memsleuth.

LEAK_LIST (line 18) and LEAK_CACHE (line 22) grow by a large allocation every iteration and
are never freed; RECENT (line 26) is a deque capped at 5 entries, so what it allocates is
freed again. The allocations are large (1 MiB) so that Scalene's sampler sees each one.
Usage: python py_leaky.py SECONDS
"""
import collections
import sys
import time

LEAK_LIST = []
LEAK_CACHE = {}
RECENT = collections.deque(maxlen=5)


def leak_list(i):
    LEAK_LIST.append(bytearray(1024 * 1024))


def leak_cache(i):
    LEAK_CACHE[i] = bytearray(512 * 1024)


def bounded(i):
    RECENT.append(bytearray(1024 * 1024))


def main(seconds):
    start = time.time()
    i = 0
    while time.time() - start < seconds:
        leak_list(i)
        leak_cache(i)
        bounded(i)
        i += 1
        time.sleep(0.01)
    print(f"iterations={i} list={len(LEAK_LIST)} cache={len(LEAK_CACHE)} recent={len(RECENT)}")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0)
