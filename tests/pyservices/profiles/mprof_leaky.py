"""A loop with a leaking line and a bounded one, profiled line by line by memory_profiler
(`python -m memory_profiler mprof_leaky.py`) or sampled over time (`mprof run`).
The list (line of LEAK_LIST.append) keeps 1 MiB per iteration; the deque keeps the last 3."""
import collections
import time

LEAK_LIST = []
RECENT = collections.deque(maxlen=3)


@profile  # noqa: F821  (memory_profiler provides it)
def serve(n):
    for i in range(n):
        LEAK_LIST.append(bytearray(1024 * 1024))
        RECENT.append(bytearray(1024 * 1024))
        time.sleep(0.01)
    return len(LEAK_LIST)


if __name__ == "__main__":
    serve(60)
