#!/usr/bin/env bash
# Overhead of memsleuth's Python probe on the test services (tests/pyservices/stdlib and
# tests/pyservices/flask, leaky build, so that checkpoints have growing containers to sample
# and paths to search): requests per second without the probe, with the probe loaded but
# tracemalloc off (as the service runs until memsleuth asks it to trace), and with tracemalloc
# at 25 frames; the start-up time of each; then three checkpoints with load between them: the
# wall time of each request, the time the probe spent, and how long the service itself was
# held (garbage collection, the thread snapshot and the fork; the rest runs in the child).
# Prints figures; asserts nothing.
# Usage: scripts/bench-python-probe.sh [REQUESTS] [SERVICES]   (defaults: 3000 "stdlib flask")
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=${1:-3000}
SERVICES=${2:-stdlib flask}
PY=${MEMSLEUTH_PYVENV:-target/pyvenv}/bin/python
[ -x "$PY" ] || { echo "no venv: run scripts/setup.sh" >&2; exit 2; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/probe"
# The probe files as memsleuth writes them (the binary ships these bytes).
cp src/python/probe/memsleuth_probe.py src/python/probe/sitecustomize.py "$WORK/probe/"

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for svc in $SERVICES; do
  case $svc in
    stdlib) route=quote ;;
    flask) route=session ;;
    *) echo "unknown service $svc" >&2; exit 2 ;;
  esac
  "$PY" - "$svc" "$route" "$REQ" "$WORK" <<'PY'
import glob, http.client, json, os, socket, subprocess, sys, threading, time

svc, route, n, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
root = os.getcwd()
app_dir = os.path.join(root, "tests/pyservices", svc)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(mode):
    port = free_port()
    env = dict(os.environ, PORT=str(port), BUILD="leaky", DATA_DIR=work, MAX_SECONDS="600")
    if mode != "none":
        for f in glob.glob(os.path.join(work, "probe", "probe-*")):
            os.remove(f)
        env.update(
            PYTHONPATH=os.path.join(work, "probe"),
            MEMSLEUTH_PROBE_DIR=os.path.join(work, "probe"),
            MEMSLEUTH_PROBE_TOKEN="bench",
        )
    t = time.monotonic()
    p = subprocess.Popen([sys.executable, "app.py"], cwd=app_dir, env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            c.getresponse().read()
            c.close()
            break
        except OSError:
            if p.poll() is not None:
                sys.exit("the service exited")
            time.sleep(0.02)
    up = time.monotonic() - t
    pport = None
    if mode != "none":
        while not glob.glob(os.path.join(work, "probe", "probe-*.port")):
            time.sleep(0.02)
        pport = json.load(open(glob.glob(os.path.join(work, "probe", "probe-*.port"))[0]))["port"]
        if mode == "tracing":
            ask(pport, {"cmd": "trace"})
    return p, port, pport, up


def ask(pport, req):
    req["token"] = "bench"
    s = socket.create_connection(("127.0.0.1", pport))
    s.sendall((json.dumps(req) + "\n").encode())
    r = json.loads(s.makefile().readline())
    s.close()
    return r


counter = [0]
lock = threading.Lock()


def load(port, k):
    """k GETs of /route/{i} from 4 clients, a connection per request (http.server answers a
    kept-alive connection in two segments and the client's delayed ACK adds 40 ms to each);
    requests per second."""
    def worker(m):
        for _ in range(m):
            with lock:
                i = counter[0]
                counter[0] += 1
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(("GET /%s/%d HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                       % (route, i)).encode())
            while s.recv(65536):
                pass
            s.close()
    t = time.monotonic()
    ts = [threading.Thread(target=worker, args=(k // 4,)) for _ in range(4)]
    [x.start() for x in ts]
    [x.join() for x in ts]
    return (k // 4 * 4) / (time.monotonic() - t)


frames = os.environ.get("MEMSLEUTH_PROBE_FRAMES", "25")
for mode in ("none", "idle", "tracing"):
    counter[0] = 0
    p, port, pport, up = start(mode)
    try:
        rps = load(port, n)
        label = {"none": "without the probe", "idle": "probe, tracemalloc off",
                 "tracing": "probe, tracemalloc %s frames" % frames}[mode]
        print("%s %-30s start-up %5.2f s, %6.0f requests/s (%d GETs to /%s/{i}, 4 clients)"
              % (svc, label + ":", up, rps, n, route))
        if mode == "tracing":
            for k in range(3):
                out = os.path.join(work, "cp%d.json" % k)
                t = time.monotonic()
                r = ask(pport, {"cmd": "checkpoint", "out": out})
                wall = time.monotonic() - t
                doc = json.load(open(out))
                tm = doc.get("timings", {})
                print("%s checkpoint %d: %.2f s wall, %.2f s in the probe, service held %.3f s, "
                      "%d KiB written, %d growing container(s) sampled (%s)"
                      % (svc, r["seq"], wall, r["probe_seconds"], tm.get("service_pause", -1),
                         os.path.getsize(out) // 1024,
                         sum(1 for g in doc["growing"] if g.get("container")),
                         ", ".join("%s %.2f" % kv for kv in sorted(tm.items()) if kv[0] != "service_pause")))
                load(port, n // 3)
    finally:
        p.terminate()
        p.wait()
PY
done
