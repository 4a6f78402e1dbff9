# Grows a cache of 1 MiB blocks under an address-space limit until Python raises MemoryError,
# and lets the traceback go to stderr as an unhandled exception does in a real service.
# Usage: python3 py_memory_error.py [LIMIT_MIB]
import resource
import sys

limit = int(sys.argv[1] if len(sys.argv) > 1 else 256) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

cache = []


def handle_request(i):
    cache.append(bytearray(1024 * 1024))


def main():
    i = 0
    while True:
        handle_request(i)
        i += 1


main()
