"""memsleuth's in-process probe for Python services.

memsleuth writes this file and a `sitecustomize.py` that imports it into a temporary folder,
puts that folder first on PYTHONPATH and starts the service. The probe then:

- starts tracemalloc (MEMSLEUTH_PROBE_FRAMES frames per traceback, 25 by default) unless it
  is already tracing;
- listens on a loopback TCP port (127.0.0.1, port chosen by the system) in a daemon thread and
  writes `{"pid": ..., "port": ...}` to MEMSLEUTH_PROBE_DIR/probe-<pid>.port;
- on a request line `{"token": ..., "cmd": "checkpoint", "out": PATH, "label": ...}` runs
  gc.collect() and writes one checkpoint as JSON to PATH (through a temporary file renamed
  into place), then answers one line `{"ok": true, ...}`. The token is MEMSLEUTH_PROBE_TOKEN:
  only the memsleuth that started the service knows it.

A checkpoint ("memsleuth.python-probe.v1") holds: process facts (RSS, open file descriptors,
threads, traced memory), tracemalloc statistics per allocation site (the leaf line and the
innermost line of the program's own code) with the largest tracebacks, object counts and
sizes per type (gc-tracked objects and the untracked objects they refer to, such as str and
bytes), and for the types whose count grew since the previous checkpoint a few sampled
instances with their allocation traceback and the referrer path from a root: a module
variable, a class attribute, a thread's frame. Nothing is printed and nothing of the program
is changed; the probe's own allocations are filtered out of the statistics.

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
MAX_GROWING_TYPES = 6
MAX_GROWING_SITES = 8
MIN_SITE_GROWTH = 4096
SAMPLES_PER_SITE = 3
MAX_TRACEBACK_LOOKUPS = 50000
SAMPLES_PER_TYPE = 3
MAX_BFS_VISITS = 3000000
MAX_BFS_SECONDS = 8.0
MAX_LABEL = 60
TB_PER_SITE = 3


def _env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class _State:
    """What the probe remembers between checkpoints."""

    def __init__(self):
        self.seq = 0
        self.prev_sites = {}
        self.listed_sites = set()
        self.prev_types = {}
        self.lock = threading.Lock()
        self.server = None
        self.port = None
        self.thread = None


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


def _frames(tb):
    """Frames oldest first, from a tracemalloc Traceback or a tuple of (file, line)."""
    out = []
    for f in tb:
        if isinstance(f, tuple):
            out.append({"file": f[0], "line": f[1]})
        else:
            out.append({"file": f.filename, "line": f.lineno})
    return out


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


def _raw_traces():
    """[(size, traceback)] with the traceback oldest frame first as ((file, line), ...).
    Uses tracemalloc's C accessor, whose traceback tuples are shared between traces with the
    same stack, so the grouping below works per distinct stack, not per allocation."""
    import tracemalloc

    get = getattr(tracemalloc, "_get_traces", None)
    if get is None:
        snap = tracemalloc.take_snapshot()
        return [(t.size, tuple((f.filename, f.lineno) for f in t.traceback)) for t in snap.traces], True
    return get(), False


def _sites(stdlib, site_pkgs):
    """tracemalloc statistics per allocation site: (innermost user frame, leaf frame)."""
    import tracemalloc

    traces, oldest_first = _raw_traces()
    per_tb = {}
    tbs = {}
    for tr in traces:
        tb = tr[2] if not oldest_first else tr[1]
        size = tr[1] if not oldest_first else tr[0]
        k = id(tb)
        a = per_tb.get(k)
        if a is None:
            per_tb[k] = [size, 1]
            tbs[k] = tb
        else:
            a[0] += size
            a[1] += 1
    del traces
    skip = {_PROBE_FILE, tracemalloc.__file__}
    user_of = {}
    sites = {}
    for k, (size, count) in per_tb.items():
        tb = tbs[k]
        if not tb:
            continue
        # C order is most recent frame first.
        frames = tb[::-1] if not oldest_first else tb
        if any(f[0] in skip for f in frames):
            continue
        leaf = frames[-1]
        user = ("", 0)
        for fn, line in reversed(frames):
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
            lst.append((size, count, frames))
        else:
            smallest = min(range(len(lst)), key=lambda i: lst[i][0])
            if lst[smallest][0] < size:
                lst[smallest] = (size, count, frames)
    return sites


def _site_json(key, s, prev):
    user_file, user_line, leaf_file, leaf_line = key
    tbs = sorted(s[2], key=lambda x: -x[0])
    return {
        "user": {"file": user_file, "line": user_line} if user_file else None,
        "leaf": {"file": leaf_file, "line": leaf_line},
        "size": s[0],
        "count": s[1],
        "size_diff": s[0] - prev.get(key, (0, 0))[0],
        "count_diff": s[1] - prev.get(key, (0, 0))[1],
        "tracebacks": [
            {"size": a, "count": b, "frames": _frames(tb)} for (a, b, tb) in tbs
        ],
    }


_TYPE_NAMES = {}


def _type_name(t):
    n = _TYPE_NAMES.get(t)
    if n is None:
        mod = getattr(t, "__module__", None)
        qn = getattr(t, "__qualname__", None) or getattr(t, "__name__", "?")
        n = qn if mod in (None, "builtins") else "%s.%s" % (mod, qn)
        _TYPE_NAMES[t] = n
    return n


_EXPAND_UNTRACKED = (dict, tuple, list, set, frozenset)


def _probe_owned():
    """Ids of the containers the probe itself keeps between checkpoints."""
    owned = set()
    stack = [_state.__dict__, _TYPE_NAMES]
    while stack:
        o = stack.pop()
        if id(o) in owned:
            continue
        owned.add(id(o))
        if isinstance(o, _EXPAND_UNTRACKED):
            stack.extend(r for r in gc.get_referents(o) if isinstance(r, _EXPAND_UNTRACKED))
    return owned


def _census(exclude):
    """Counts and sizes per type of every gc-tracked object and of the untracked objects
    reached from them (str, bytes, numbers, and dicts or tuples that hold only such
    values, which the collector does not track). Returns (per-type [count, size], the
    objects in the order found: tracked ones first, oldest generation last)."""
    tracked = gc.get_objects()
    exclude.add(id(tracked))
    counts = {}
    found = []
    exclude.add(id(found))
    seen_untracked = set()
    exclude.add(id(seen_untracked))
    is_tracked = gc.is_tracked
    get_referents = gc.get_referents
    expand = _EXPAND_UNTRACKED
    for o in tracked:
        if id(o) in exclude:
            continue
        found.append(o)
        stack = [o]
        while stack:
            for r in get_referents(stack.pop()):
                if not is_tracked(r):
                    i = id(r)
                    if i not in seen_untracked:
                        seen_untracked.add(i)
                        found.append(r)
                        if type(r) in expand:
                            stack.append(r)
    del tracked
    getsizeof = sys.getsizeof
    for o in found:
        t = type(o)
        c = counts.get(t)
        if c is None:
            c = counts[t] = [0, 0]
        c[0] += 1
        try:
            c[1] += getsizeof(o)
        except Exception:
            pass
    return counts, found


def _label(v):
    """A short readable form of a key or value (reprs of long strings are cut first)."""
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


def _container_info(o):
    """What the path shows about a container: its length and its bound, if any."""
    info = {}
    try:
        if type(o).__module__ in ("builtins", "collections") and hasattr(type(o), "__len__"):
            info["len"] = len(o)
    except Exception:
        pass
    import collections

    if isinstance(o, collections.deque):
        info["maxlen"] = o.maxlen
    ci = getattr(o, "cache_info", None)
    if ci is not None and _type_name(type(o)).startswith("functools."):
        try:
            c = ci()
            info["cache_maxsize"] = c.maxsize
            info["cache_currsize"] = c.currsize
        except Exception:
            pass
    wrapped = getattr(o, "__wrapped__", None)
    code = getattr(wrapped, "__code__", None) or getattr(o, "__code__", None)
    if code is not None:
        info["function"] = getattr(wrapped or o, "__qualname__", None)
        info["defined_at"] = {"file": code.co_filename, "line": code.co_firstlineno}
    return info


_ATOMIC = (str, bytes, int, float, complex, bool, type(None))


def _children(o, modules_ids, types, deque_type):
    """(edge kind, label, child) of one object: readable edges first (module variables,
    class attributes, dict keys, indices, attributes, closure variables, frame locals), then
    the rest of its referents as `internal` edges (C objects such as an lru_cache's dict).

    Every allocation here is traced by tracemalloc (a few microseconds each), so this stays
    lean: labels are the raw keys, turned into text only for the paths that are printed."""
    out = []
    append = out.append
    if isinstance(o, types.ModuleType):
        d = getattr(o, "__dict__", None) or {}
        for k, v in list(d.items()):
            if k != "__builtins__" and id(v) not in modules_ids:
                append(("module-variable", k, v))
        return out
    if isinstance(o, type):
        try:
            for k, v in list(o.__dict__.items()):
                if k not in ("__dict__", "__weakref__", "__doc__", "__module__"):
                    append(("class-attribute", k, v))
        except Exception:
            pass
        return out
    t = type(o)
    if t is dict or isinstance(o, dict):
        try:
            for k, v in list(o.items()):
                append(("key", k, v))
                if not isinstance(k, _ATOMIC):
                    append(("dict-key", k, k))
        except Exception:
            pass
        if t is dict:
            return out
    elif t is list or t is tuple or isinstance(o, (list, tuple)):
        for i, v in enumerate(list(o)):
            append(("index", i, v))
        if t is list or t is tuple:
            return out
    elif isinstance(o, (set, frozenset)):
        for v in list(o):
            append(("member", "", v))
        if t is set or t is frozenset:
            return out
    elif isinstance(o, types.FunctionType):
        cells = o.__closure__ or ()
        for name, cell in zip(o.__code__.co_freevars, cells):
            try:
                append(("closure-variable", name, cell.cell_contents))
            except ValueError:
                pass
        if o.__defaults__:
            append(("default", "__defaults__", o.__defaults__))
        if o.__closure__:
            append(("internal", "__closure__", o.__closure__))
        return out
    elif isinstance(o, types.MethodType):
        append(("bound-self", "__self__", o.__self__))
        append(("function", "__func__", o.__func__))
        return out
    elif isinstance(o, types.FrameType):
        try:
            for k, v in list(o.f_locals.items()):
                append(("local-variable", k, v))
        except Exception:
            pass
        if o.f_back is not None:
            append(("caller", o.f_back.f_code.co_name, o.f_back))
        return out
    elif isinstance(o, deque_type):
        for i, v in enumerate(list(o)):
            append(("index", i, v))
    named = {id(c) for (_, _, c) in out}
    try:
        d = object.__getattribute__(o, "__dict__")
    except Exception:
        d = None
    if isinstance(d, dict):
        named.add(id(d))
        for k, v in list(d.items()):
            append(("attribute", k, v))
            named.add(id(v))
        append(("internal", "__dict__", d))
    try:
        for r in gc.get_referents(o):
            if id(r) not in named and not isinstance(r, type) and id(r) not in modules_ids:
                append(("internal", "", r))
    except Exception:
        pass
    return out


def _roots(stdlib, site_pkgs, probe_tid):
    """Roots in the order a developer would name them: modules of the program, other
    modules, then the frames of running threads."""
    mods = []
    for name, m in list(sys.modules.items()):
        if m is None:
            continue
        fn = getattr(m, "__file__", None) or ""
        user = _is_user_file(os.path.realpath(fn) if fn else "", stdlib, site_pkgs)
        if name == "memsleuth_probe" or fn == _PROBE_FILE:
            continue
        mods.append((0 if user else 1, name, m))
    mods.sort(key=lambda x: (x[0], x[1]))
    roots = [("module", name, m) for (_, name, m) in mods]
    names = {t.ident: t.name for t in threading.enumerate()}
    for tid, frame in sorted(sys._current_frames().items()):
        if tid == probe_tid:
            continue
        roots.append(("thread", names.get(tid, str(tid)), frame))
    return roots


def _bfs_paths(targets, priority, exclude, stdlib, site_pkgs, probe_tid):
    """Shortest referrer path from a root to each target id: one breadth-first walk from all
    roots at once, stopped when every target is reached or the budget is spent. Once the
    `priority` targets are reached, the walk goes on for at most a fifth more visits (a
    sampled object that nothing named refers to must not cost a walk of the whole heap)."""
    import collections

    roots = _roots(stdlib, site_pkgs, probe_tid)
    modules_ids = {id(m) for (k, _, m) in roots if k == "module"}
    parent = {}
    objs = {}
    queue = collections.deque()
    for kind, name, obj in roots:
        i = id(obj)
        if i in parent:
            continue
        parent[i] = None
        objs[i] = obj
        queue.append(obj)
        parent[i] = (None, kind, name)
    remaining = set(t for t in targets if t not in parent)
    pending = set(t for t in priority if t not in parent)
    stop_at = None
    visits = 0
    start = time.monotonic()
    complete = True
    import types

    deque_type = collections.deque
    limit_s = float(os.environ.get("MEMSLEUTH_PROBE_PATH_SECONDS", MAX_BFS_SECONDS))
    while queue and remaining:
        o = queue.popleft()
        visits += 1
        if stop_at is None and not pending:
            stop_at = visits + visits // 5 + 1000
        if stop_at is not None and visits > stop_at:
            complete = not pending
            break
        if visits > MAX_BFS_VISITS or (visits % 1024 == 0 and time.monotonic() - start > limit_s):
            complete = False
            break
        for kind, label, child in _children(o, modules_ids, types, deque_type):
            i = id(child)
            if i in parent or i in exclude:
                continue
            parent[i] = (id(o), kind, label)
            objs[i] = child
            remaining.discard(i)
            pending.discard(i)
            if gc.is_tracked(child) or isinstance(child, _EXPAND_UNTRACKED):
                queue.append(child)
    return parent, objs, complete, visits


def _edge_label(kind, label):
    if kind in ("key", "dict-key"):
        return "[%s]" % _label(label)
    if kind == "index":
        return "[%d]" % label
    if kind == "member":
        return "{}"
    return str(label)


def _path_json(target_id, parent, objs):
    steps = []
    i = target_id
    guard = 0
    while i is not None and guard < 200:
        guard += 1
        p = parent.get(i)
        if p is None:
            return None
        pid, kind, label = p
        if pid is None:
            root = {"root": kind, "name": label}
            fn = getattr(objs.get(i), "__file__", None) if kind == "module" else None
            if isinstance(fn, str):
                root["file"] = fn
            steps.append(root)
            break
        holder = objs[pid]
        step = {
            "holder_type": _type_name(type(holder)),
            "holder_id": pid,
            "edge": _edge_label(kind, label),
            "edge_kind": kind,
        }
        step.update(_container_info(holder))
        steps.append(step)
        i = pid
    steps.reverse()
    return steps


def _resource_info(o):
    import io

    info = {}
    try:
        if isinstance(o, (io.IOBase, socket.socket)):
            closed = getattr(o, "closed", None)
            if isinstance(o, socket.socket):
                closed = o.fileno() < 0
            info["resource"] = "file" if isinstance(o, io.IOBase) else "socket"
            info["closed"] = bool(closed)
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
            info["alive"] = o.is_alive()
            info["daemon"] = o.daemon
            target = getattr(o, "_target", None) or getattr(o, "function", None)
            if target is not None:
                info["target"] = getattr(target, "__qualname__", None) or _type_name(type(target))
        elif callable(getattr(type(o), "close", None)) and not _type_name(type(o)).startswith(
            ("generator", "coroutine", "async_generator")
        ):
            info["resource"] = "closable"
    except Exception:
        pass
    if callable(o) and not isinstance(o, type):
        info["callable"] = True
        fn = getattr(o, "__func__", o)
        code = getattr(fn, "__code__", None)
        if code is not None:
            info["function"] = getattr(fn, "__qualname__", None)
            info["defined_at"] = {"file": code.co_filename, "line": code.co_firstlineno}
    return info


def _process_facts():
    facts = {}
    try:
        with open("/proc/self/statm") as f:
            facts["rss_bytes"] = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except Exception:
        facts["rss_bytes"] = None
    try:
        facts["open_fds"] = len(os.listdir("/proc/self/fd"))
    except Exception:
        facts["open_fds"] = None
    facts["threads"] = threading.active_count()
    return facts


def _growing_sites_json(sites, prev, growing_out):
    by_size = sorted(sites, key=lambda k: -sites[k][0])[:MAX_SITES]
    by_growth = sorted(
        (k for k in sites if sites[k][0] - prev.get(k, (0, 0))[0] > 0),
        key=lambda k: -(sites[k][0] - prev.get(k, (0, 0))[0]),
    )[:MAX_GROWTH_SITES]
    for k in by_growth:
        d = sites[k][0] - prev.get(k, (0, 0))[0]
        growing_out[k] = d
    listed = set(by_size) | set(by_growth) | (_state.listed_sites & set(sites))
    min_listed = sites[by_size[-1]][0] if len(by_size) == MAX_SITES else 0
    rows = [_site_json(k, sites[k], prev) for k in sorted(listed, key=lambda k: (-sites[k][0], k))]
    return rows, listed, min_listed


def _sample_sites(found, growing_sites, exclude_ids, grew_types):
    """Objects allocated at the sites that grew most since the previous checkpoint (up to
    SAMPLES_PER_SITE each, newest first): the leak's own units, whatever their type."""
    import tracemalloc

    get = getattr(tracemalloc, "_get_object_traceback", None)
    top = sorted(growing_sites.items(), key=lambda kv: -kv[1])[:MAX_GROWING_SITES]
    top = [(k, d) for (k, d) in top if d >= MIN_SITE_GROWTH]
    if get is None or not top:
        return []
    # A site is matched by its user frame (or its leaf when it has none), both stored most
    # recent first in the raw traceback.
    wanted = {}
    for k, _ in top:
        wanted.setdefault((k[0], k[1]) if k[0] else (k[2], k[3]), []).append(k)
    picked = {k: [] for k, _ in top}
    left = len(top)
    budget = MAX_TRACEBACK_LOOKUPS
    for o in reversed(found):
        if left == 0 or budget == 0:
            break
        # A unit allocated since the previous checkpoint is of a type whose count grew.
        if type(o) not in grew_types or id(o) in exclude_ids:
            continue
        budget -= 1
        tb = get(o)
        if not tb:
            continue
        leaf = tb[0]
        user = None
        for f in tb:
            if f in wanted:
                user = f
                break
        keys = wanted.get(user) if user is not None else None
        if not keys:
            continue
        for k in keys:
            if k[2:] != leaf and k[0]:
                continue
            lst = picked[k]
            if len(lst) < SAMPLES_PER_SITE:
                lst.append((o, tuple(reversed(tb))))
                if len(lst) == SAMPLES_PER_SITE:
                    left -= 1
            break
    out = []
    for k, d in top:
        if picked[k]:
            out.append((k, d, picked[k]))
    return out


def _sample(names, found, sample_types):
    """Up to SAMPLES_PER_TYPE instances of each type, newest first."""
    import tracemalloc

    tracing = tracemalloc.is_tracing()
    wanted = set(sample_types)
    pool = {n: [] for n in sample_types}
    for o in reversed(found):
        n = names.get(type(o))
        if n in wanted:
            lst = pool[n]
            if len(lst) < SAMPLES_PER_TYPE:
                lst.append(o)
    samples = {}
    for n in sample_types:
        samples[n] = [
            (o, tracemalloc.get_object_traceback(o) if tracing else None) for o in pool[n]
        ]
    return samples


def checkpoint(label=""):
    """Collects garbage and returns one checkpoint as a JSON-ready dict."""
    import tracemalloc

    t0 = time.monotonic()
    with _state.lock:
        _state.seq += 1
        gc.collect()
        timings = {"collect": round(time.monotonic() - t0, 3)}
        t1 = time.monotonic()
        exclude = _probe_owned()
        # The census comes first, so that nothing the checkpoint builds is counted in it.
        counts, found = _census(exclude)
        timings["census"] = round(time.monotonic() - t1, 3)
        t1 = time.monotonic()
        stdlib, site_pkgs = _paths()
        doc = {
            "schema": SCHEMA,
            "seq": _state.seq,
            "label": label,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "implementation": sys.implementation.name,
            "argv": list(sys.argv),
            "monotonic_s": time.monotonic(),
            "paths": {"stdlib": stdlib, "site_packages": site_pkgs},
            "process": _process_facts(),
            "tracemalloc": None,
            "sites": [],
            "types": [],
            "growing": [],
        }
        growing_sites = {}
        if tracemalloc.is_tracing():
            cur, peak = tracemalloc.get_traced_memory()
            sites = _sites(stdlib, site_pkgs)
            rows, listed, min_listed = _growing_sites_json(sites, _state.prev_sites, growing_sites)
            doc["tracemalloc"] = {
                "traceback_limit": tracemalloc.get_traceback_limit(),
                "traced_bytes": cur,
                "peak_bytes": peak,
                "min_listed_size": min_listed,
            }
            doc["sites"] = rows
            _state.listed_sites |= listed
            _state.prev_sites = {k: (v[0], v[1]) for k, v in sites.items()}
            del sites, rows
        timings["tracemalloc"] = round(time.monotonic() - t1, 3)
        t1 = time.monotonic()
        prev_types = _state.prev_types
        names = {t: _type_name(t) for t in counts}
        by_name = {}
        for t, c in counts.items():
            a = by_name.setdefault(names[t], [0, 0])
            a[0] += c[0]
            a[1] += c[1]
        del counts

        def diff(n, i):
            return by_name[n][i] - prev_types.get(n, (0, 0))[i]

        top = sorted(by_name, key=lambda n: (-by_name[n][1], n))[:MAX_TYPES]
        first = not prev_types
        grew = [] if first else sorted((n for n in by_name if diff(n, 0) > 0), key=lambda n: (-diff(n, 1), n))
        grew_set = set(grew)
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
        # Samples: objects allocated at the sites that grew most (the leak's own units), then
        # instances of the types whose count grew (for what tracemalloc cannot see).
        # Numbers are never a leak's unit on their own (they sit in a container that is sampled
        # too), and looking up the traceback of each costs a traced allocation per frame.
        grew_types = {
            t
            for t, n in names.items()
            if n in grew_set and t not in (int, float, bool, complex, type(None))
        }
        site_samples = (
            _sample_sites(found, growing_sites, exclude, grew_types) if not first else []
        )
        sample_types = [n for n in grew if n not in ("frame", "code", "cell")][:MAX_GROWING_TYPES]
        samples = _sample(names, found, sample_types)
        del found
        timings["types"] = round(time.monotonic() - t1, 3)
        t1 = time.monotonic()
        exclude.add(id(samples))
        exclude.add(id(site_samples))
        priority = {id(o) for (_, _, lst) in site_samples for (o, _) in lst}
        targets = priority | {id(o) for lst in samples.values() for (o, _) in lst}
        paths_complete, visits = True, 0
        parent, objs = {}, {}
        if targets:
            exclude.add(id(parent))
            exclude.add(id(objs))
            parent, objs, paths_complete, visits = _bfs_paths(
                targets, priority, exclude, stdlib, site_pkgs, threading.get_ident()
            )
        timings["paths"] = round(time.monotonic() - t1, 3)

        def sample_json(o, tb):
            try:
                size = sys.getsizeof(o)
            except Exception:
                size = 0
            s = {
                "id": id(o),
                "type": _type_name(type(o)),
                "size": size,
                "repr": _label(o),
                "traceback": _frames(tb) if tb is not None else None,
                "path": _path_json(id(o), parent, objs),
            }
            s.update(_resource_info(o))
            return s

        growing = []
        for k, d, lst in site_samples:
            n = _type_name(type(lst[0][0]))
            growing.append(
                {
                    "type": n,
                    "site": {
                        "user": {"file": k[0], "line": k[1]} if k[0] else None,
                        "leaf": {"file": k[2], "line": k[3]},
                    },
                    "count": by_name.get(n, (0, 0))[0],
                    "count_diff": diff(n, 0) if n in by_name else 0,
                    "size_diff": d,
                    "samples": [sample_json(o, tb) for (o, tb) in lst],
                }
            )
        for n in sample_types:
            growing.append(
                {
                    "type": n,
                    "count": by_name[n][0],
                    "count_diff": diff(n, 0),
                    "size_diff": diff(n, 1),
                    "samples": [sample_json(o, tb) for (o, tb) in samples.get(n, [])],
                }
            )
        del site_samples
        doc["growing"] = growing
        doc["paths_complete"] = paths_complete
        doc["bfs_visits"] = visits
        doc["timings"] = timings
        _state.prev_types = {n: (v[0], v[1]) for n, v in by_name.items()}
        del parent, objs, samples
        doc["probe_seconds"] = round(time.monotonic() - t0, 3)
    return doc


def write_checkpoint(path, label=""):
    """Writes one checkpoint to `path` (a temporary file renamed into place); returns its
    sequence number and the seconds it took. The document itself is not kept, so that the
    next checkpoint does not count it."""
    doc = checkpoint(label)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    os.replace(tmp, path)
    return doc["seq"], doc["probe_seconds"]


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
                reply = {"ok": True, "pid": os.getpid(), "python": sys.version.split()[0]}
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


def start():
    """Starts tracemalloc and the loopback listener (once per process)."""
    import tracemalloc

    d = os.environ.get("MEMSLEUTH_PROBE_DIR")
    token = os.environ.get("MEMSLEUTH_PROBE_TOKEN", "")
    if not d or not token or _state.server is not None:
        return
    frames = max(1, min(_env_int("MEMSLEUTH_PROBE_FRAMES", 25), 100))
    if not tracemalloc.is_tracing() and os.environ.get("MEMSLEUTH_PROBE_TRACEMALLOC", "1") != "0":
        tracemalloc.start(frames)
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
    # The listener thread does not survive fork(): a forked worker gets its own.
    _state.server = None
    _state.thread = None
    _state.prev_sites = {}
    _state.listed_sites = set()
    _state.prev_types = {}
    _state.seq = 0
    _state.lock = threading.Lock()
    try:
        start()
    except Exception:
        pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
