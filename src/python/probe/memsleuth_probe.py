"""memsleuth's in-process probe for Python services.

memsleuth writes this file and a `sitecustomize.py` that imports it into a temporary folder,
puts that folder first on PYTHONPATH and starts the service. The probe then:

- starts tracemalloc (MEMSLEUTH_PROBE_FRAMES frames per traceback, 25 by default) when
  memsleuth asks (`{"cmd": "trace"}`, sent once the service answers) or at the first
  checkpoint, unless it is already tracing; MEMSLEUTH_PROBE_TRACE=start starts it with the
  interpreter instead. Tracing 25 frames deep while a framework imports costs seconds
  (importing Flask: 0.3 s untraced, 7 s traced), and what is allocated before the service is
  up is not what grows per request;
- listens on a loopback TCP port (127.0.0.1, port chosen by the system) in a daemon thread and
  writes `{"pid": ..., "port": ...}` to MEMSLEUTH_PROBE_DIR/probe-<pid>.port;
- on a request line `{"token": ..., "cmd": "checkpoint", "out": PATH, "label": ...}` runs
  gc.collect() and writes one checkpoint as JSON to PATH (through a temporary file renamed
  into place), then answers one line `{"ok": true, ...}`. The token is MEMSLEUTH_PROBE_TOKEN:
  only the memsleuth that started the service knows it.

How a checkpoint is taken, and why. Every allocation made while tracemalloc traces costs a
traceback capture (measured: 30 times slower than untraced on a loaded machine), so walking
the heap in the service itself takes seconds to minutes. The service's thread therefore only
collects garbage, notes the process facts and the live threads, lists the gc-tracked objects
and forks. The forked child has a frozen copy of the heap: it reads tracemalloc's traces,
stops tracing (in the child only) and does the heavy work untraced: the census, the
comparison with the previous checkpoint, the referrer search. For the few objects it samples
it asks the service, over a pipe, for their allocation tracebacks (the child no longer has
them); the service finds each object again through the list it kept and checks its identity.
The service keeps serving requests meanwhile. MEMSLEUTH_PROBE_FORK=0 (or a platform without
fork) does the same work in the service's thread, slowly.

A checkpoint ("memsleuth.python-probe.v1") holds: process facts (RSS, open file descriptors
by kind, threads by kind, traced memory), tracemalloc statistics per allocation site (the leaf
line and the innermost line of the program's own code) with the largest tracebacks, object
counts and sizes per type (gc-tracked objects and the untracked objects they refer to, such
as str and bytes; str keys of dicts are not counted), and what grew since the previous
checkpoint: the containers (dict, list, set, deque, and their subclasses) whose length grew,
with a few of their newest entries, and instances of the program's own or resource types whose
count grew; each sample with its allocation traceback and the referrer path from a root: a
module variable, a class attribute, a thread's frame. Nothing is printed and nothing of the
program is changed; the probe's own allocations are filtered out of the statistics. What the
probe must remember between checkpoints (sizes per site and type, container lengths) is kept
in MEMSLEUTH_PROBE_DIR/probe-<pid>.state, not in the service's heap.

Python 3.8 or newer; standard library only.
"""

import gc
import json
import os
import socket
import sys
import threading
import time

SCHEMA = "memsleuth.python-probe.v1"

# Limits that keep a checkpoint bounded in size and time on large heaps.
MAX_SITES = 400
MAX_GROWTH_SITES = 200
MAX_TYPES = 150
TB_PER_SITE = 3
# Containers shorter than this are not remembered between checkpoints.
MIN_REMEMBERED_LEN = 4
MAX_CONTAINERS = 10
MIN_CONTAINER_GROWTH = 2
SAMPLES_PER_CONTAINER = 3
MAX_GROWING_TYPES = 4
MIN_TYPE_GROWTH = 4
SAMPLES_PER_TYPE = 3
MAX_THREAD_ROOTS = 200
MAX_FRAMES_PER_THREAD = 40
MAX_PATH_SECONDS = 20.0
# Objects walked for one sample's deep size, and for ranking a container by one entry's.
MAX_DEEP_OBJECTS = 200000
MAX_RANK_OBJECTS = 5000
MAX_LABEL = 60
CHILD_SECONDS = 300


def _env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class _State:
    """What the probe keeps in the service between checkpoints (little: the rest is in the
    state file, so that it is not part of the heap it measures)."""

    def __init__(self):
        self.seq = 0
        self.lock = threading.Lock()
        self.server = None
        self.port = None
        self.thread = None
        # The thread that is forking a checkpoint child (the at-fork hook must not restart
        # the probe in that child).
        self.forking_tid = None
        # State between checkpoints when there is no probe folder (the probe used in-process).
        self.memory = None


_state = _State()
_PROBE_FILE = os.path.abspath(__file__)
_PROBE_DIR = os.path.dirname(_PROBE_FILE)


_PATHS = None


def _paths():
    """Folders of the standard library and of installed packages, for telling user code
    from library code (computed once: sysconfig's import must not count as growth)."""
    global _PATHS
    if _PATHS is None:
        _PATHS = _compute_paths()
    return _PATHS


def _compute_paths():
    import sysconfig

    stdlib, site_pkgs = set(), set()
    try:
        p = sysconfig.get_paths()
        for k in ("stdlib", "platstdlib"):
            if p.get(k):
                stdlib.add(os.path.realpath(p[k]))
        for k in ("purelib", "platlib"):
            if p.get(k):
                site_pkgs.add(os.path.realpath(p[k]))
    except Exception:
        pass
    try:
        import site

        for d in site.getsitepackages() + [site.getusersitepackages()]:
            site_pkgs.add(os.path.realpath(d))
    except Exception:
        pass
    for d in sys.path:
        if d and (d.endswith("site-packages") or d.endswith("dist-packages")):
            site_pkgs.add(os.path.realpath(d))
    return sorted(stdlib), sorted(site_pkgs)


def _is_user_file(fn, stdlib, site_pkgs):
    if not fn or fn.startswith("<") or fn == _PROBE_FILE:
        return False
    for d in site_pkgs:
        if fn.startswith(d + os.sep):
            return False
    for d in stdlib:
        if fn.startswith(d + os.sep):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# State between checkpoints


def _state_path(pid):
    d = os.environ.get("MEMSLEUTH_PROBE_DIR")
    return os.path.join(d, "probe-%d.state" % pid) if d else None


def _load_state(path):
    empty = {"sites": {}, "listed": set(), "types": {}, "containers": {}}
    if path is None:
        return _state.memory or empty
    import marshal

    try:
        with open(path, "rb") as f:
            st = marshal.load(f)
        st["listed"] = set(st["listed"])
        return st
    except Exception:
        return empty


def _save_state(path, st):
    if path is None:
        _state.memory = st
        return
    import marshal

    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        marshal.dump(dict(st, listed=list(st["listed"])), f)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# In the service: what must be taken before forking


def _fd_facts():
    """Open file descriptors by kind (socket, file, pipe, other) and the files open more than
    once (a file opened per request and never closed)."""
    kinds = {"socket": 0, "file": 0, "pipe": 0, "other": 0}
    files = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None, None, []
    for n in names:
        try:
            t = os.readlink("/proc/self/fd/" + n)
        except OSError:
            continue
        if t.startswith("socket:"):
            kinds["socket"] += 1
        elif t.startswith("pipe:"):
            kinds["pipe"] += 1
        elif t.startswith("/") and not t.startswith("/dev/"):
            kinds["file"] += 1
            files[t] = files.get(t, 0) + 1
        else:
            kinds["other"] += 1
    top = sorted(((c, p) for p, c in files.items() if c >= 2), key=lambda x: (-x[0], x[1]))[:5]
    return len(names), kinds, [{"path": p, "count": c} for (c, p) in top]


def _thread_kind(t):
    if isinstance(t, threading.Timer):
        return "timer"
    return "daemon" if t.daemon else "thread"


def _thread_group(t):
    """What a thread runs: its target's name, else its class's."""
    target = getattr(t, "_target", None) or getattr(t, "function", None)
    if target is not None:
        n = getattr(target, "__qualname__", None) or type(target).__name__
        mod = getattr(target, "__module__", None)
        return "%s.%s" % (mod, n) if mod else n
    return "%s.%s" % (type(t).__module__, type(t).__qualname__)


def _process_facts(threads):
    facts = {}
    try:
        with open("/proc/self/statm") as f:
            facts["rss_bytes"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except Exception:
        facts["rss_bytes"] = None
    n, kinds, files = _fd_facts()
    facts["open_fds"] = n
    facts["fds_by_kind"] = kinds
    facts["files_open_repeatedly"] = files
    facts["threads"] = len(threads)
    by_kind, groups = {"thread": 0, "daemon": 0, "timer": 0}, {}
    for t in threads:
        by_kind[_thread_kind(t)] += 1
        g = _thread_group(t)
        groups[g] = groups.get(g, 0) + 1
    facts["threads_by_kind"] = by_kind
    facts["thread_groups"] = [
        {"runs": g, "count": c} for (g, c) in sorted(groups.items(), key=lambda x: (-x[1], x[0]))[:5]
    ]
    return facts


class _Pre:
    """What the service's thread takes before the child is forked."""

    __slots__ = ("objs", "threads", "alive", "active", "frames", "facts", "own", "monotonic", "pid")


def _prepare(probe_tid):
    gc.collect()
    pre = _Pre()
    pre.monotonic = time.monotonic()
    pre.pid = os.getpid()
    threads = threading.enumerate()
    pre.threads = threads
    pre.alive = {id(t) for t in threads if t.is_alive()}
    pre.facts = _process_facts(threads)
    # The child's copy of the threading module forgets the other threads (its at-fork hook):
    # it puts this copy back, so that paths through threading._active still exist there.
    active = getattr(threading, "_active", None)
    pre.active = dict(active) if isinstance(active, dict) else None
    # Other threads' frames do not survive the fork either: their locals are copied now.
    names = {t.ident: t.name for t in threads}
    frames = []
    for tid, f in sorted(sys._current_frames().items())[: MAX_THREAD_ROOTS + 1]:
        if tid == probe_tid:
            continue
        chain = []
        while f is not None and len(chain) < MAX_FRAMES_PER_THREAD:
            code = f.f_code
            if code.co_name != "<module>" and code.co_filename != _PROBE_FILE:
                try:
                    loc = dict(f.f_locals)
                except Exception:
                    loc = {}
                chain.append((code.co_name, code.co_filename, f.f_lineno, loc))
            f = f.f_back
        del f
        frames.append((names.get(tid, str(tid)), chain))
    pre.frames = frames
    own = {id(pre), id(threads), id(pre.alive), id(frames)}
    _ids_of(pre.facts, own)
    if pre.active is not None:
        own.add(id(pre.active))
    # The probe's own module is no root, and no path may go through it (sys.modules has it).
    for name in (__name__, "memsleuth_probe", "sitecustomize"):
        m = sys.modules.get(name)
        if m is not None and (name != "sitecustomize" or getattr(m, "memsleuth_probe", None)):
            own.add(id(m))
            own.add(id(m.__dict__))
    for name, chain in frames:
        own.add(id(chain))
        for c in chain:
            own.add(id(c))
            own.add(id(c[3]))
    pre.own = own
    # Last, so that nothing the probe builds is in it.
    pre.objs = gc.get_objects()
    own.add(id(pre.objs))
    return pre


def _ids_of(x, out):
    """Adds the ids of x and of the containers inside it (the probe's own small records)."""
    stack = [x]
    while stack:
        o = stack.pop()
        out.add(id(o))
        if isinstance(o, dict):
            stack.extend(v for v in o.values() if isinstance(v, (dict, list, tuple)))
        elif isinstance(o, (list, tuple)):
            stack.extend(v for v in o if isinstance(v, (dict, list, tuple)))


def _resolve(objs, loc):
    """The object a child's locator names: [index in objs, [[kind, j], ...], id]; None when
    the service changed it since the fork (the id no longer matches)."""
    try:
        o = objs[loc[0]]
        for kind, j in loc[1]:
            if kind == "r":
                o = gc.get_referents(o)[j]
            elif kind == "a":
                o = object.__getattribute__(o, "__dict__")[j]
            else:
                it = iter(o)
                for _ in range(j):
                    next(it)
                o = next(it)
        return o if id(o) == loc[2] else None
    except Exception:
        return None


def _lookup_tracebacks(objs, locs):
    """Allocation tracebacks (oldest frame first) of the objects the locators name."""
    import tracemalloc

    if not tracemalloc.is_tracing():
        return [None] * len(locs)
    get = getattr(tracemalloc, "_get_object_traceback", None)
    out = []
    for loc in locs:
        o = _resolve(objs, loc)
        tb = None
        if o is not None:
            if get is not None:
                raw = get(o)
                tb = [[f[0], f[1]] for f in reversed(raw)] if raw else None
            else:
                t = tracemalloc.get_object_traceback(o)
                tb = [[f.filename, f.lineno] for f in t] if t else None
        del o
        out.append(tb)
    return out


# ---------------------------------------------------------------------------------------------
# The analysis (in the child, untraced; or in-process)

_TYPE_NAMES = {}


def _type_name(t):
    n = _TYPE_NAMES.get(t)
    if n is None:
        mod = getattr(t, "__module__", None)
        qn = getattr(t, "__qualname__", None) or getattr(t, "__name__", "?")
        n = qn if mod in (None, "builtins") else "%s.%s" % (mod, qn)
        _TYPE_NAMES[t] = n
    return n


def _frames(tb):
    return [{"file": f[0], "line": f[1]} for f in tb]


def _sites(traces, stdlib, site_pkgs):
    """tracemalloc statistics per allocation site: (innermost user frame, leaf frame)."""
    import tracemalloc

    per_tb = {}
    for tr in traces:
        tb = tr[2]
        a = per_tb.get(id(tb))
        if a is None:
            per_tb[id(tb)] = [tr[1], 1, tb]
        else:
            a[0] += tr[1]
            a[1] += 1
    skip = {_PROBE_FILE, tracemalloc.__file__}
    user_of = {}
    sites = {}
    for size, count, tb in per_tb.values():
        if not tb:
            continue
        # C order is most recent frame first.
        if any(f[0] in skip for f in tb):
            continue
        leaf = tb[0]
        user = ("", 0)
        for fn, line in tb:
            u = user_of.get(fn)
            if u is None:
                u = user_of[fn] = _is_user_file(fn, stdlib, site_pkgs)
            if u:
                user = (fn, line)
                break
        key = (user[0], user[1], leaf[0], leaf[1])
        s = sites.get(key)
        if s is None:
            s = sites[key] = [0, 0, []]
        s[0] += size
        s[1] += count
        lst = s[2]
        if len(lst) < TB_PER_SITE:
            lst.append((size, count, tb))
        else:
            smallest = min(range(len(lst)), key=lambda i: lst[i][0])
            if lst[smallest][0] < size:
                lst[smallest] = (size, count, tb)
    return sites


def _site_json(key, s, prev):
    user_file, user_line, leaf_file, leaf_line = key
    tbs = sorted(s[2], key=lambda x: -x[0])
    p = prev.get(key, (0, 0))
    return {
        "user": {"file": user_file, "line": user_line} if user_file else None,
        "leaf": {"file": leaf_file, "line": leaf_line},
        "size": s[0],
        "count": s[1],
        "size_diff": s[0] - p[0],
        "count_diff": s[1] - p[1],
        "tracebacks": [
            {"size": a, "count": b, "frames": _frames(reversed(tb))} for (a, b, tb) in tbs
        ],
    }


def _sites_json(sites, st):
    prev = st["sites"]
    by_size = sorted(sites, key=lambda k: -sites[k][0])[:MAX_SITES]
    by_growth = sorted(
        (k for k in sites if sites[k][0] - prev.get(k, (0, 0))[0] > 0),
        key=lambda k: -(sites[k][0] - prev.get(k, (0, 0))[0]),
    )[:MAX_GROWTH_SITES]
    listed = set(by_size) | set(by_growth) | (st["listed"] & set(sites))
    min_listed = sites[by_size[-1]][0] if len(by_size) == MAX_SITES else 0
    rows = [_site_json(k, sites[k], prev) for k in sorted(listed, key=lambda k: (-sites[k][0], k))]
    return rows, listed, min_listed


def _container_types():
    import collections

    return (dict, list, set, collections.deque)


def _census(objs, own):
    """Counts and sizes per type of every gc-tracked object and of the untracked objects
    reached from them; every container (dict, list, set, deque) with its length; and, for
    untracked containers, the object they were found in (to find them again in the
    service). Returns (per-type [count, size], containers {id: obj}, holder {id: id of the
    object it was found in}, tracked index {id: i}, untracked containers {id: obj}). Holders
    are kept by id: a reference held here would make an object look shared to _deep_size."""
    counts = {}
    containers = {}
    holder = {}
    index = {}
    ucont = {}
    ctypes = _container_types()
    fast = set(ctypes)
    is_tracked = gc.is_tracked
    get_referents = gc.get_referents
    getsizeof = sys.getsizeof
    seen = set()
    for i, o in enumerate(objs):
        oid = id(o)
        if oid in own:
            continue
        index[oid] = i
        stack = [o]
        while stack:
            x = stack.pop()
            t = type(x)
            c = counts.get(t)
            if c is None:
                c = counts[t] = [0, 0]
            c[0] += 1
            try:
                c[1] += getsizeof(x)
            except Exception:
                pass
            if t in fast or isinstance(x, ctypes):
                containers[id(x)] = x
            for r in get_referents(x):
                if not is_tracked(r):
                    rid = id(r)
                    if rid in seen or rid in own:
                        continue
                    seen.add(rid)
                    tr = type(r)
                    if tr is dict or tr is list or tr is tuple or tr is set or tr is frozenset:
                        holder[rid] = id(x)
                        ucont[rid] = r
                        stack.append(r)
                    else:
                        c = counts.get(tr)
                        if c is None:
                            c = counts[tr] = [0, 0]
                        c[0] += 1
                        try:
                            c[1] += getsizeof(r)
                        except Exception:
                            pass
    return counts, containers, holder, index, ucont


_ATOMIC = (str, bytes, int, float, complex, bool, type(None))


def _label(v):
    """A short readable form of a key or value (reprs of long strings are cut first). Never
    calls the program's own __repr__."""
    try:
        if isinstance(v, (str, bytes)):
            r = repr(v[:MAX_LABEL])
        elif isinstance(v, (int, float, bool, type(None))):
            r = repr(v)
        elif isinstance(v, tuple) and len(v) <= 4:
            r = "(" + ", ".join(_label(x) for x in v) + ("," if len(v) == 1 else "") + ")"
        else:
            r = "<%s>" % _type_name(type(v))
    except Exception:
        r = "<%s>" % _type_name(type(v))
    if len(r) > MAX_LABEL:
        r = r[: MAX_LABEL - 3] + "..."
    return r


def _newest(c, n):
    """Up to n of the newest entries of a container: (edge kind, label, unit, key, position
    of the key in the dict's order)."""
    import collections
    import itertools

    out = []
    try:
        if isinstance(c, dict):
            last = len(c) - 1
            for r, k in enumerate(itertools.islice(reversed(c), n)):
                out.append(("key", k, dict.__getitem__(c, k), k, last - r))
        elif isinstance(c, list):
            for i in range(len(c) - 1, max(-1, len(c) - 1 - n), -1):
                out.append(("index", i, list.__getitem__(c, i), None, None))
        elif isinstance(c, collections.deque):
            for i in range(len(c) - 1, max(-1, len(c) - 1 - n), -1):
                out.append(("index", i, c[i], None, None))
        elif isinstance(c, set):
            for v in itertools.islice(iter(c), n):
                out.append(("member", "", v, None, None))
    except Exception:
        pass
    return out


def _one_owner_refcount():
    """sys.getrefcount of an object that one holder refers to, seen in a loop over that
    holder's referents (the loop's own references included): measured, not assumed, since
    it differs between Python versions. Must keep the shape of the loop in _deep_size."""
    holder = [object()]
    for r in gc.get_referents(holder):
        return sys.getrefcount(r)
    return 4


_RC_ONE_OWNER = None


def _deep_size(o, stop, cen, limit=MAX_DEEP_OBJECTS):
    """The bytes an object keeps to itself: sys.getsizeof of it and of what only it refers to
    (objects with one referrer, found from it), not what it shares with the rest of the
    program (an event loop, a module's globals, a class). Bounded; returns (bytes,
    complete)."""
    global _RC_ONE_OWNER
    if _RC_ONE_OWNER is None:
        _RC_ONE_OWNER = _one_owner_refcount()
    one = _RC_ONE_OWNER
    getsizeof = sys.getsizeof
    getrefcount = sys.getrefcount
    seen = {id(o)}
    stack = [o]
    total = 0
    while stack:
        if len(seen) > limit:
            return total, False
        x = stack.pop()
        try:
            total += getsizeof(x)
        except Exception:
            pass
        for r in gc.get_referents(x):
            if getrefcount(r) > one + cen.extra_refs(r):
                continue
            i = id(r)
            if i in seen or i in stop:
                continue
            seen.add(i)
            stack.append(r)
    return total, True


def _holds(o, stop, limit=2000):
    """Open sockets and files among the first `limit` objects reachable from o (a client
    session holds its pool's sockets), not through modules, classes or functions."""
    import io
    import types

    shared = (type, types.ModuleType, types.FunctionType, types.CodeType, types.FrameType)
    holds = {}
    seen = {id(o)}
    stack = [o]
    while stack and len(seen) <= limit:
        x = stack.pop()
        if x is not o:
            try:
                if isinstance(x, socket.socket):
                    if x.fileno() >= 0:
                        holds["socket"] = holds.get("socket", 0) + 1
                elif isinstance(x, io.IOBase) and not x.closed:
                    holds["file"] = holds.get("file", 0) + 1
            except Exception:
                pass
        for r in gc.get_referents(x):
            i = id(r)
            if i in seen or i in stop or isinstance(r, shared):
                continue
            seen.add(i)
            stack.append(r)
    return holds


def _container_info(o):
    """What the path shows about a holder: its length and its bound, if any."""
    info = {}
    import collections

    try:
        if isinstance(o, _container_types()) or type(o) in (tuple, frozenset):
            info["len"] = len(o)
    except Exception:
        pass
    if isinstance(o, collections.deque):
        info["maxlen"] = o.maxlen
    if _type_name(type(o)).startswith("functools._lru_cache_wrapper"):
        try:
            c = o.cache_info()
            info["cache_maxsize"] = c.maxsize
            info["cache_currsize"] = c.currsize
        except Exception:
            pass
        wrapped = getattr(o, "__wrapped__", None)
        code = getattr(wrapped, "__code__", None)
        if code is not None:
            info["function"] = getattr(wrapped, "__qualname__", None)
            info["defined_at"] = {"file": code.co_filename, "line": code.co_firstlineno}
    return info


def _resource_info(o, alive):
    """Facts about a sampled object: an open file or socket, a live thread, a callable."""
    import io
    import types

    info = {}
    try:
        if isinstance(o, (io.IOBase, socket.socket)):
            if isinstance(o, socket.socket):
                closed = o.fileno() < 0
            else:
                closed = bool(o.closed)
            info["resource"] = "file" if isinstance(o, io.IOBase) else "socket"
            info["closed"] = closed
            if not closed:
                try:
                    info["fd"] = o.fileno()
                except Exception:
                    pass
            name = getattr(o, "name", None)
            if isinstance(name, (str, int)):
                info["name"] = _label(name)
        elif isinstance(o, threading.Thread):
            info["resource"] = "timer" if isinstance(o, threading.Timer) else "thread"
            info["alive"] = id(o) in alive
            info["daemon"] = bool(o.daemon)
            info["name"] = _label(o.name)
            target = getattr(o, "_target", None) or getattr(o, "function", None)
            if target is not None:
                info["target"] = getattr(target, "__qualname__", None) or _type_name(type(target))
        elif callable(getattr(type(o), "close", None)) and not isinstance(
            o, (types.GeneratorType, types.CoroutineType, types.AsyncGeneratorType)
        ):
            info["resource"] = "closable"
    except Exception:
        pass
    fn = None
    if isinstance(o, types.FunctionType):
        fn = o
    elif isinstance(o, types.MethodType) and isinstance(o.__func__, types.FunctionType):
        fn = o.__func__
    else:
        try:
            import functools

            if isinstance(o, functools.partial) and isinstance(o.func, types.FunctionType):
                fn = o.func
        except Exception:
            pass
    if fn is not None or (callable(o) and not isinstance(o, type)):
        info["callable"] = True
    if fn is not None:
        code = fn.__code__
        info["function"] = fn.__qualname__
        info["defined_at"] = {"file": code.co_filename, "line": code.co_firstlineno}
    return info


def _roots(pre, stdlib, site_pkgs):
    """Roots in the order a developer would name them: modules of the program, other
    modules, then the locals of running threads' frames: [(object, root step)]."""
    mods = []
    for name, m in list(sys.modules.items()):
        if m is None or name in ("memsleuth_probe", "sitecustomize"):
            continue
        fn = getattr(m, "__file__", None)
        fn = fn if isinstance(fn, str) else ""
        if fn == _PROBE_FILE or fn.startswith(_PROBE_DIR + os.sep):
            continue
        user = _is_user_file(os.path.realpath(fn) if fn else "", stdlib, site_pkgs)
        mods.append((0 if user else 1, name, m, fn))
    mods.sort(key=lambda x: (x[0], x[1]))
    roots = []
    for _, name, m, fn in mods:
        step = {"root": "module", "name": name}
        if fn:
            step["file"] = fn
        roots.append((m, step))
    for tname, chain in pre.frames:
        for co_name, file, line, loc in chain:
            roots.append(
                (
                    loc,
                    {
                        "root": "thread",
                        "name": tname,
                        "function": co_name,
                        "defined_at": {"file": file, "line": line},
                    },
                )
            )
    return roots


def _bfs(roots, targets, own, deadline):
    """Shortest referrer chains from the roots to the targets (ids): one breadth-first walk
    over gc.get_referents from all roots at once, stopped when every target is reached or
    at the deadline. Returns ({id: holder object}, {id(root object): root step}, complete)."""
    import collections

    parent = {}
    root_of = {}
    queue = collections.deque()
    for obj, step in roots:
        i = id(obj)
        if i in parent:
            continue
        parent[i] = None
        root_of[i] = step
        queue.append(obj)
    remaining = set(t for t in targets if t not in parent)
    is_tracked = gc.is_tracked
    get_referents = gc.get_referents
    n = 0
    while queue and remaining:
        o = queue.popleft()
        n += 1
        if n & 1023 == 0 and time.monotonic() > deadline:
            return parent, root_of, False
        for c in get_referents(o):
            i = id(c)
            if i in parent or i in own:
                continue
            parent[i] = o
            remaining.discard(i)
            if is_tracked(c) or type(c) in (dict, list, tuple):
                queue.append(c)
    return parent, root_of, not remaining


def _chain(target, parent):
    """Objects from the root to the target, or None."""
    out = [target]
    o = target
    for _ in range(10000):
        p = parent.get(id(o), 0)
        if p == 0 and id(o) not in parent:
            return None
        if p is None:
            out.reverse()
            return out
        out.append(p)
        o = p
    return None


def _edge(h, c):
    """(edge kind, label) of the reference from holder h to c, for one step."""
    import collections
    import types

    try:
        if isinstance(h, dict):
            for k, v in dict.items(h):
                if v is c:
                    return "key", k
            for k in dict.keys(h):
                if k is c:
                    return "dict-key", k
        elif isinstance(h, (list, tuple, collections.deque)):
            for i, v in enumerate(h):
                if v is c:
                    return "index", i
        elif isinstance(h, (set, frozenset)):
            return "member", ""
        elif isinstance(h, types.MethodType):
            return ("bound-self", "__self__") if h.__self__ is c else ("function", "__func__")
        elif isinstance(h, types.FunctionType):
            if h.__defaults__ is c:
                return "default", "__defaults__"
            if h.__kwdefaults__ is c:
                return "default", "__kwdefaults__"
        elif type(h).__name__ == "cell":
            return "cell", "cell_contents"
        if _type_name(type(h)).startswith("functools._lru_cache_wrapper"):
            return "internal", "cache"
        # Attributes (an instance dict that is not materialized is visited value by value).
        d = getattr(h, "__dict__", None) if not isinstance(h, type) else None
        if isinstance(d, dict):
            for k, v in dict.items(d):
                if v is c:
                    return "attribute", k
        for k in getattr(type(h), "__slots__", ()) or ():
            if isinstance(k, str) and getattr(h, k, None) is c:
                return "attribute", k
    except Exception:
        pass
    return "internal", _type_name(type(c))


def _edge_label(kind, label):
    if kind in ("key", "dict-key"):
        return "[%s]" % _label(label)
    if kind == "index":
        return "[%d]" % label
    if kind == "member":
        return "{}"
    return str(label)


def _step(holder, kind, label):
    s = {
        "holder_type": _type_name(type(holder)),
        "holder_id": id(holder),
        "edge": _edge_label(kind, label),
        "edge_kind": kind,
    }
    s.update(_container_info(holder))
    return s


def _path_json(chain, root_of):
    """The labelled referrer path of a chain of objects: the root step, then one step per
    holder. A module's or class's or instance's dict, a function's closure cells and a
    thread frame's locals are folded into the holder they belong to."""
    import types

    root_step = dict(root_of[id(chain[0])])
    steps = [root_step]
    i = 0
    n = len(chain)
    if root_step["root"] == "thread" and n > 1:
        k, lab = _edge(chain[0], chain[1])
        steps.append(
            {
                "holder_type": "frame",
                "holder_id": id(chain[0]),
                "edge": str(lab),
                "edge_kind": "local-variable" if k == "key" else k,
                "function": root_step.get("function"),
                "defined_at": root_step.get("defined_at"),
            }
        )
        i = 1
    while i < n - 1:
        h, c = chain[i], chain[i + 1]
        nxt = chain[i + 2] if i + 2 < n else None
        # module -> its dict -> value; class -> its dict -> value; instance -> __dict__ -> value
        if nxt is not None and isinstance(c, dict) and getattr(h, "__dict__", None) is c:
            k, lab = _edge(c, nxt)
            kind = (
                "module-variable"
                if isinstance(h, types.ModuleType)
                else "class-attribute"
                if isinstance(h, type)
                else "attribute"
            )
            steps.append(_step(h, kind if k == "key" else k, lab))
            i += 2
            continue
        if isinstance(h, type) and isinstance(c, dict) and nxt is not None:
            # A class's own dict, behind the mappingproxy that h.__dict__ gives.
            try:
                real = gc.get_referents(h.__dict__)[0]
            except Exception:
                real = None
            if real is c:
                k, lab = _edge(c, nxt)
                steps.append(_step(h, "class-attribute" if k == "key" else k, lab))
                i += 2
                continue
        # function -> closure tuple -> cell -> value
        if isinstance(h, types.FunctionType) and h.__closure__ is c and nxt is not None:
            name = "?"
            try:
                name = h.__code__.co_freevars[[x is nxt for x in c].index(True)]
            except Exception:
                pass
            steps.append(_step(h, "closure-variable", name))
            i += 3
            continue
        k, lab = _edge(h, c)
        steps.append(_step(h, k, lab))
        i += 1
    return steps


def _step_to(h, x):
    """The locator step from holder h to x: the index among h's referents, or the name of
    an attribute when x is in h's __dict__ (a dict this process may have made for h, that the
    service's h may not have)."""
    for j, r in enumerate(gc.get_referents(h)):
        if r is x:
            return ["r", j]
    try:
        d = object.__getattribute__(h, "__dict__")
    except Exception:
        return None
    if isinstance(d, dict):
        for k, v in dict.items(d):
            if v is x and isinstance(k, str):
                return ["a", k]
    return None


class _Census:
    """What the census found, to find objects again: tracked ones by their index in the
    service's list, untracked containers through the object they were found in."""

    def __init__(self, objs, index, holder, ucont):
        self.objs = objs
        self.index = index
        self.holder = holder
        self.ucont = ucont

    def obj(self, i):
        j = self.index.get(i)
        return self.objs[j] if j is not None else self.ucont.get(i)

    def extra_refs(self, r):
        """References the probe itself holds to r (the list of tracked objects, the map of
        untracked containers)."""
        return (1 if gc.is_tracked(r) and id(r) in self.index else 0) + (
            1 if id(r) in self.ucont else 0
        )


def _locator(o, cen, via=None):
    """How the service finds o again: [index of a tracked object, [[kind, j], ...], id];
    `via` is an object that refers to o, for objects the census found no holder for."""
    steps = []
    x = o
    for _ in range(50):
        i = cen.index.get(id(x))
        if i is not None:
            steps.reverse()
            return [i, steps, id(o)]
        hid = cen.holder.get(id(x))
        h = cen.obj(hid) if hid is not None else None
        if h is None:
            if via is None:
                return None
            h, via = via, None
        step = _step_to(h, x)
        if step is None:
            return None
        steps.append(step)
        x = h
    return None


def _analyse(pre, label, seq, traces, traced, lookup):
    """One checkpoint document from what was taken before the fork. `traces` are
    tracemalloc's raw traces (None when not tracing); `lookup(locators)` returns the
    allocation tracebacks of the objects they name."""
    t0 = time.monotonic()
    timings = {}
    stdlib, site_pkgs = _paths()
    st_path = _state_path(pre.pid)
    st = _load_state(st_path)
    doc = {
        "schema": SCHEMA,
        "seq": seq,
        "label": label,
        "pid": pre.pid,
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "argv": list(sys.argv),
        "monotonic_s": pre.monotonic,
        "paths": {"stdlib": stdlib, "site_packages": site_pkgs},
        "process": pre.facts,
        "tracemalloc": None,
        "sites": [],
        "types": [],
        "growing": [],
    }
    new_st = {"sites": {}, "listed": set(), "types": {}, "containers": {}}
    if traces is not None:
        limit, cur, peak = traced
        sites = _sites(traces, stdlib, site_pkgs)
        rows, listed, min_listed = _sites_json(sites, st)
        doc["tracemalloc"] = {
            "traceback_limit": limit,
            "traced_bytes": cur,
            "peak_bytes": peak,
            "min_listed_size": min_listed,
        }
        doc["sites"] = rows
        new_st["listed"] = st["listed"] | listed
        new_st["sites"] = {k: (v[0], v[1]) for k, v in sites.items()}
        del sites, rows
    timings["tracemalloc"] = round(time.monotonic() - t0, 3)

    t1 = time.monotonic()
    counts, containers, holder, index, ucont = _census(pre.objs, pre.own)
    cen = _Census(pre.objs, index, holder, ucont)
    timings["census"] = round(time.monotonic() - t1, 3)
    t1 = time.monotonic()
    names = {t: _type_name(t) for t in counts}
    by_name = {}
    for t, c in counts.items():
        a = by_name.setdefault(names[t], [0, 0])
        a[0] += c[0]
        a[1] += c[1]
    prev_types = st["types"]
    first = not prev_types

    def diff(n, i):
        return by_name[n][i] - prev_types.get(n, (0, 0))[i]

    top = sorted(by_name, key=lambda n: (-by_name[n][1], n))[:MAX_TYPES]
    grew = [] if first else sorted((n for n in by_name if diff(n, 0) > 0), key=lambda n: (-diff(n, 1), n))
    doc["types"] = [
        {
            "type": n,
            "count": by_name[n][0],
            "size": by_name[n][1],
            "count_diff": diff(n, 0),
            "size_diff": diff(n, 1),
        }
        for n in sorted(set(top) | set(grew[:MAX_TYPES]), key=lambda n: (-by_name[n][1], n))
    ]
    new_st["types"] = {n: (v[0], v[1]) for n, v in by_name.items()}

    # Containers whose length grew since the previous checkpoint (same object, same type).
    # Kept by id from here on: a reference held by the probe makes an object look shared.
    prev_c = st["containers"]
    remembered = {}
    grown = []
    for cid, c in containers.items():
        try:
            ln = len(c)
        except Exception:
            continue
        tn = names.get(type(c)) or _type_name(type(c))
        if ln >= MIN_REMEMBERED_LEN:
            remembered[cid] = (tn, ln)
        p = prev_c.get(cid)
        if p is not None and p[0] == tn and ln - p[1] >= MIN_CONTAINER_GROWTH:
            grown.append((ln - p[1], p[1], ln, cid))
    new_st["containers"] = remembered
    c = None
    del containers
    # Rank by the bytes the growth likely holds: entries added times one new entry's size.
    # Deep sizes stop at modules and their globals (a function's __globals__), shared by all.
    stop = set(pre.own)
    for m in list(sys.modules.values()):
        stop.add(id(m))
        stop.add(id(getattr(m, "__dict__", None)))
    ranked = []
    grown.sort(key=lambda x: -x[0])
    for d, before, ln, cid in grown[: MAX_CONTAINERS * 5]:
        c = cen.obj(cid)
        if c is None:
            continue
        entries = _newest(c, SAMPLES_PER_CONTAINER)
        # Bookkeeping of other objects' lifetimes (weak references, weakref.finalize
        # entries) grows because those objects live, not on its own.
        units = [e for e in entries if not _is_weak(e[2]) and not _is_weak(e[3])]
        entries = None
        if not units:
            continue
        stop.add(cid)
        unit_size, _ = _deep_size(units[0][2], stop, cen, MAX_RANK_OBJECTS)
        stop.discard(cid)
        ranked.append((d * max(unit_size, 1), d, before, ln, cid, units))
    c = None
    ranked.sort(key=lambda x: -x[0])
    ranked = ranked[:MAX_CONTAINERS]
    # What each sampled unit keeps to itself and the open resources it holds, measured
    # before anything else of the probe refers to it.
    measured = {}
    for _, _, _, _, cid, units in ranked:
        stop.add(cid)
        for e in units:
            if id(e[2]) not in measured:
                measured[id(e[2])] = _deep_size(e[2], stop, cen) + (_holds(e[2], stop),)
        stop.discard(cid)

    # Instances of the program's own types, and of resources, whose count grew.
    sample_types = [
        n
        for n in grew
        if diff(n, 0) >= MIN_TYPE_GROWTH and _worth_sampling(n)
    ][:MAX_GROWING_TYPES]
    wanted = set(sample_types)
    pool = {n: [] for n in sample_types}
    if wanted:
        for o in reversed(pre.objs):
            n = names.get(type(o))
            if n in wanted and id(o) not in pre.own:
                lst = pool[n]
                if len(lst) < SAMPLES_PER_TYPE:
                    lst.append(o)
                    if id(o) not in measured:
                        measured[id(o)] = _deep_size(o, stop, cen) + (_holds(o, stop),)
        o = None
    timings["types"] = round(time.monotonic() - t1, 3)

    # Referrer paths: to each growing container, and to each sampled instance.
    t1 = time.monotonic()
    targets = [r[4] for r in ranked] + [id(o) for lst in pool.values() for o in lst]
    parent, root_of, complete = {}, {}, True
    if targets:
        limit_s = float(os.environ.get("MEMSLEUTH_PROBE_PATH_SECONDS", MAX_PATH_SECONDS))
        # weakref.finalize's registry holds what finalizers will clean up (a connection
        # pool's queue): a path through it would name the cleanup, not the owner.
        skip = set(pre.own)
        wr = sys.modules.get("weakref")
        reg = getattr(getattr(wr, "finalize", None), "_registry", None)
        if isinstance(reg, dict):
            skip.add(id(reg))
        parent, root_of, complete = _bfs(
            _roots(pre, stdlib, site_pkgs), targets, skip, time.monotonic() + limit_s
        )
    timings["paths"] = round(time.monotonic() - t1, 3)

    # Samples, and the locators of the objects whose allocation tracebacks are wanted.
    t1 = time.monotonic()
    locs = []

    def want(o, via=None, key_pos=None):
        """Index of o's locator in `locs` (None: the service could not find it again). A unit
        that is not a container is found through the container it was sampled from."""
        if key_pos is not None:
            base = _locator(via, cen)
            loc = None if base is None else [base[0], base[1] + [["k", key_pos]], id(o)]
        else:
            loc = _locator(o, cen, via)
        if loc is None:
            return None
        locs.append(loc)
        return len(locs) - 1

    objects_of = []

    def sample(o, path, via=None, key=None, key_pos=None):
        s = {
            "id": id(o),
            "type": names.get(type(o)) or _type_name(type(o)),
            "size": _safe_size(o),
            "repr": _label(o),
            "traceback": want(o, via),
            "path": path,
        }
        ds, complete_ds, holds = measured.get(id(o)) or (
            _deep_size(o, stop, cen) + (_holds(o, stop),)
        )
        s["deep_size"] = ds
        if not complete_ds:
            s["deep_size_partial"] = True
        if holds:
            s["holds"] = holds
        s.update(_resource_info(o, pre.alive))
        objects_of.append((s, o))
        if key is not None and not isinstance(key, (int, float, bool, type(None))):
            s["key"] = {
                "type": _type_name(type(key)),
                "repr": _label(key),
                "traceback": want(key, via, key_pos),
            }
        return s

    growing = []
    for est, d, before, ln, cid, units in ranked:
        c = cen.obj(cid)
        ch = _chain(c, parent)
        cpath = _path_json(ch, root_of) if ch else None
        samples = []
        for kind, lab, u, key, pos in units:
            path = None
            if cpath is not None:
                path = cpath + [_step(c, kind, lab)]
            samples.append(sample(u, path, c, key, pos))
        unit_type = samples[0]["type"]
        growing.append(
            {
                "type": unit_type,
                "container": {
                    "type": names.get(type(c)) or _type_name(type(c)),
                    "id": id(c),
                    "len": ln,
                    "len_before": before,
                },
                "count": ln,
                "count_diff": d,
                "size_diff": est,
                "samples": samples,
            }
        )
    for n in sample_types:
        samples = []
        for o in pool[n]:
            ch = _chain(o, parent)
            samples.append(sample(o, _path_json(ch, root_of) if ch else None))
        growing.append(
            {
                "type": n,
                "count": by_name[n][0],
                "count_diff": diff(n, 0),
                "size_diff": diff(n, 1),
                "samples": samples,
            }
        )
    timings["samples"] = round(time.monotonic() - t1, 3)
    t1 = time.monotonic()
    tbs = lookup(locs) if locs else []

    def fill(s):
        i = s.get("traceback")
        s["traceback"] = _frames(tbs[i]) if i is not None and i < len(tbs) and tbs[i] else None

    for g in growing:
        for s in g["samples"]:
            fill(s)
            if "key" in s:
                fill(s["key"])
    # Instances whose own traceback tracemalloc cannot give (Python 3.11 misses objects with
    # a managed __dict__): the stack at their constructor's call, from what the constructor
    # allocated for them.
    locs = []
    asked = []
    for s, o in objects_of:
        if s["traceback"] is None and type(o).__flags__ & (1 << 9):
            parts = [r for r in _parts(o) if r is not None]
            idx = [want(r, o) for r in parts]
            asked.append((s, o, [i for i in idx if i is not None]))
    if locs:
        tbs = lookup(locs)
        for s, o, idx in asked:
            ranges = _constructor_lines(type(o))
            stacks = [tbs[i] for i in idx if i < len(tbs) and tbs[i]]
            tb = _call_site(stacks, ranges)
            if tb is not None:
                s["traceback"] = _frames(tb)
                s["traceback_source"] = "constructor"
    timings["lookups"] = round(time.monotonic() - t1, 3)
    doc["growing"] = growing
    doc["paths_complete"] = complete
    doc["timings"] = timings
    _save_state(st_path, new_st)
    return doc


def _parts(o):
    """Up to 8 objects an instance holds that its constructor may have made (not classes,
    functions, modules, or numbers and strings the interpreter shares)."""
    import types

    try:
        d = object.__getattribute__(o, "__dict__")
        vals = list(dict.values(d)) if isinstance(d, dict) else gc.get_referents(o)
    except Exception:
        vals = gc.get_referents(o)
    out = []
    for r in vals:
        if isinstance(r, (type, types.ModuleType, types.FunctionType, types.MethodType, bool)):
            continue
        if r is None or r == () or (type(r) is int and -5 <= r <= 256):
            continue
        if type(r) is str and len(r) <= 1:
            continue
        out.append(r)
        if len(out) == 8:
            break
    return out


def _constructor_lines(t):
    """(file, set of lines) of the constructors (__init__, __new__, __post_init__) along a
    class's MRO."""
    out = []
    for k in getattr(t, "__mro__", ()):
        if k is object:
            continue
        for name in ("__init__", "__new__", "__post_init__"):
            f = k.__dict__.get(name)
            f = getattr(f, "__func__", f)
            code = getattr(f, "__code__", None)
            if code is None:
                continue
            try:
                lines = {ln for (_, _, ln) in code.co_lines() if ln}
            except AttributeError:
                import dis

                lines = {ln for (_, ln) in dis.findlinestarts(code)}
            lines.add(code.co_firstlineno)
            out.append((code.co_filename, lines))
    return out


def _call_site(stacks, ranges):
    """The stack at a constructor's call: each stack (oldest first) cut before its first
    frame inside a constructor; the cut stack most of them agree on."""
    votes = {}
    for tb in stacks:
        for i, f in enumerate(tb):
            if any(f[0] == fn and f[1] in lines for (fn, lines) in ranges):
                if i > 0:
                    key = tuple(tuple(x) for x in tb[:i])
                    votes[key] = votes.get(key, 0) + 1
                break
    if not votes:
        return None
    best = max(votes.items(), key=lambda kv: (kv[1], len(kv[0])))[0]
    return [list(f) for f in best]


def _safe_size(o):
    try:
        return sys.getsizeof(o)
    except Exception:
        return 0


def _is_weak(o):
    import weakref

    return isinstance(
        o, (weakref.ref, weakref.ProxyType, weakref.CallableProxyType, weakref.finalize)
    )


# Built-in types whose instances are parts of something else; a growing count of them is
# sampled through the containers that grow, not on its own.
_NOT_SAMPLED = {
    "str", "bytes", "int", "float", "complex", "bool", "tuple", "list", "dict", "set",
    "frozenset", "bytearray", "function", "cell", "frame", "code", "method", "builtin_function_or_method",
    "weakref.ReferenceType", "weakref", "type", "module", "getset_descriptor", "member_descriptor",
    "method_descriptor", "wrapper_descriptor", "property", "staticmethod", "classmethod",
    "collections.deque", "collections.OrderedDict", "collections.defaultdict", "NoneType",
    "traceback", "memoryview", "slice", "range", "coroutine", "generator", "async_generator",
}


def _worth_sampling(n):
    # Weak references and finalizers are bookkeeping of other objects' lifetimes: they grow
    # because those objects live, and those are sampled themselves.
    return n not in _NOT_SAMPLED and not n.startswith(
        ("typing.", "abc.", "_abc", "weakref.", "_weakref")
    )


# ---------------------------------------------------------------------------------------------
# Checkpoints


def _tracemalloc_state():
    import tracemalloc

    if not tracemalloc.is_tracing():
        return None, None
    get = getattr(tracemalloc, "_get_traces", None)
    cur, peak = tracemalloc.get_traced_memory()
    traced = (tracemalloc.get_traceback_limit(), cur, peak)
    if get is not None:
        return get(), traced
    snap = tracemalloc.take_snapshot()
    # Most recent frame first, as the C accessor gives them.
    return [
        (0, t.size, tuple((f.filename, f.lineno) for f in reversed(t.traceback)))
        for t in snap.traces
    ], traced


def _in_process(pre, label, seq):
    traces, traced = _tracemalloc_state()
    return _analyse(pre, label, seq, traces, traced, lambda locs: _lookup_tracebacks(pre.objs, locs))


def _write_json(path, doc):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    os.replace(tmp, path)


def _child(pre, label, seq, out, to_parent, from_parent):
    """The forked child: never returns."""
    code = 1
    try:
        import signal

        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        # The heap is a frozen copy: nothing to collect, and a collection would only move
        # objects between generations under the census.
        gc.disable()
        signal.alarm(_env_int("MEMSLEUTH_PROBE_CHILD_SECONDS", CHILD_SECONDS))
        # How long the service was held: the checkpoint's start to the fork.
        pause = round(time.monotonic() - pre.monotonic, 3)
        if pre.active is not None:
            threading._active.update(pre.active)
        import tracemalloc

        traces, traced = _tracemalloc_state()
        if traces is not None:
            # From here on nothing is traced in this process: the heavy work is untraced.
            tracemalloc.stop()
        w = os.fdopen(to_parent, "w")
        r = os.fdopen(from_parent, "r")

        def lookup(locs):
            w.write(json.dumps({"lookup": locs}) + "\n")
            w.flush()
            line = r.readline()
            return json.loads(line).get("tb", []) if line else []

        doc = _analyse(pre, label, seq, traces, traced, lookup)
        doc["timings"]["service_pause"] = pause
        doc["probe_seconds"] = round(time.monotonic() - pre.monotonic, 3)
        doc["forked"] = True
        _write_json(out, doc)
        w.write(json.dumps({"done": doc["probe_seconds"]}) + "\n")
        w.flush()
        code = 0
    except BaseException as e:
        try:
            os.write(to_parent, (json.dumps({"error": "%s: %s" % (type(e).__name__, e)}) + "\n").encode())
        except Exception:
            pass
    finally:
        os._exit(code)


def _forked(pre, label, seq, out):
    """Runs the analysis in a forked child; returns the seconds it reported. Raises when the
    child fails or does not finish within MEMSLEUTH_PROBE_CHILD_SECONDS."""
    import select
    import warnings

    c2p_r, c2p_w = os.pipe()
    p2c_r, p2c_w = os.pipe()
    _state.forking_tid = threading.get_ident()
    try:
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a process with threads: the child here only
            # runs the probe's own code and exits with os._exit.
            warnings.simplefilter("ignore")
            pid = os.fork()
    except BaseException:
        for fd in (c2p_r, c2p_w, p2c_r, p2c_w):
            os.close(fd)
        raise
    finally:
        _state.forking_tid = None
    if pid == 0:
        os.close(c2p_r)
        os.close(p2c_w)
        _child(pre, label, seq, out, c2p_w, p2c_r)
    os.close(c2p_w)
    os.close(p2c_r)
    deadline = time.monotonic() + _env_int("MEMSLEUTH_PROBE_CHILD_SECONDS", CHILD_SECONDS) + 5
    buf = b""
    result = None
    error = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                error = "the checkpoint's child process did not finish in time"
                break
            ready, _, _ = select.select([c2p_r], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(c2p_r, 1 << 16)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line.decode("utf-8"))
                if "lookup" in msg:
                    tbs = _lookup_tracebacks(pre.objs, msg["lookup"])
                    data = (json.dumps({"tb": tbs}) + "\n").encode()
                    while data:
                        data = data[os.write(p2c_w, data):]
                elif "done" in msg:
                    result = msg["done"]
                elif "error" in msg:
                    error = msg["error"]
    finally:
        os.close(c2p_r)
        os.close(p2c_w)
        if result is None:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        os.waitpid(pid, 0)
    if result is None:
        raise RuntimeError(error or "the checkpoint's child process ended without a checkpoint")
    return result


def checkpoint(label=""):
    """Collects garbage and returns one checkpoint as a JSON-ready dict, in-process (slow
    under tracemalloc; used when the probe cannot fork)."""
    with _state.lock:
        _state.seq += 1
        pre = _prepare(threading.get_ident())
        try:
            doc = _in_process(pre, label, _state.seq)
            doc["probe_seconds"] = round(time.monotonic() - pre.monotonic, 3)
            doc["forked"] = False
            return doc
        finally:
            del pre


def write_checkpoint(path, label=""):
    """Writes one checkpoint to `path` (a temporary file renamed into place); returns its
    sequence number and the seconds it took."""
    use_fork = hasattr(os, "fork") and os.environ.get("MEMSLEUTH_PROBE_FORK", "1") != "0"
    _start_tracing()
    with _state.lock:
        _state.seq += 1
        seq = _state.seq
        pre = _prepare(threading.get_ident())
        try:
            if use_fork:
                try:
                    return seq, _forked(pre, label, seq, path)
                except OSError:
                    pass  # fork failed (no memory, a limit on processes): do it here
            doc = _in_process(pre, label, seq)
            doc["probe_seconds"] = round(time.monotonic() - pre.monotonic, 3)
            doc["forked"] = False
            _write_json(path, doc)
            return seq, doc["probe_seconds"]
        finally:
            del pre


def _serve(sock, token):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        try:
            conn.settimeout(600)
            buf = b""
            while not buf.endswith(b"\n") and len(buf) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                buf += chunk
            try:
                req = json.loads(buf.decode("utf-8"))
            except Exception:
                req = {}
            if not isinstance(req, dict) or req.get("token") != token:
                reply = {"ok": False, "error": "bad request or token"}
            elif req.get("cmd") == "ping":
                import tracemalloc

                reply = {
                    "ok": True,
                    "pid": os.getpid(),
                    "python": sys.version.split()[0],
                    "tracing": tracemalloc.is_tracing(),
                }
            elif req.get("cmd") == "trace":
                reply = {"ok": True, "pid": os.getpid(), "tracing": _start_tracing()}
            elif req.get("cmd") == "untrace":
                # memsleuth attached to a running service and started tracing: it stops it
                # when done, so the service does not keep paying for it.
                import tracemalloc

                tracemalloc.stop()
                reply = {"ok": True, "pid": os.getpid(), "tracing": False}
            elif req.get("cmd") == "checkpoint" and isinstance(req.get("out"), str):
                try:
                    seq, secs = write_checkpoint(req["out"], str(req.get("label", "")))
                    reply = {
                        "ok": True,
                        "pid": os.getpid(),
                        "out": req["out"],
                        "seq": seq,
                        "probe_seconds": secs,
                    }
                except Exception as e:
                    reply = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            else:
                reply = {"ok": False, "error": "unknown command"}
            conn.sendall((json.dumps(reply) + "\n").encode("utf-8"))
            del req, reply
        except Exception:
            pass
        finally:
            try:
                conn.close()
            except Exception:
                pass


def _start_tracing():
    """Starts tracemalloc unless it traces already or MEMSLEUTH_PROBE_TRACEMALLOC=0; returns
    whether it traces."""
    import tracemalloc

    if not tracemalloc.is_tracing() and os.environ.get("MEMSLEUTH_PROBE_TRACEMALLOC", "1") != "0":
        tracemalloc.start(max(1, min(_env_int("MEMSLEUTH_PROBE_FRAMES", 25), 100)))
    return tracemalloc.is_tracing()


def start():
    """Starts the loopback listener (once per process)."""
    d = os.environ.get("MEMSLEUTH_PROBE_DIR")
    token = os.environ.get("MEMSLEUTH_PROBE_TOKEN", "")
    if not d or not token or _state.server is not None:
        return
    if os.environ.get("MEMSLEUTH_PROBE_TRACE") == "start":
        _start_tracing()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    _state.server = s
    _state.port = s.getsockname()[1]
    _paths()
    t = threading.Thread(target=_serve, args=(s, token), name="memsleuth-probe", daemon=True)
    t.start()
    _state.thread = t
    info = {"pid": os.getpid(), "ppid": os.getppid(), "port": _state.port, "argv": list(sys.argv)}
    path = os.path.join(d, "probe-%d.port" % os.getpid())
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, path)


def _after_fork():
    # A checkpoint's own child does nothing here: it runs the analysis and exits.
    if _state.forking_tid is not None and _state.forking_tid == threading.get_ident():
        return
    # The listener thread does not survive fork(): a forked worker gets its own.
    _state.server = None
    _state.thread = None
    _state.seq = 0
    _state.memory = None
    _state.lock = threading.Lock()
    try:
        start()
    except Exception:
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
