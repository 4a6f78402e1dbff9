#!/usr/bin/env python3
"""Writes the small hand-made heap snapshots of fuzz/seeds/ (the fuzzer's starting corpus).

Each is a valid V8 .heapsnapshot that exercises a different part of the parser and of the
analysis: both layouts (a record per line, Node 20/22; each array on one line, Node 24), 5 and
7 node fields, detachedness, locations, WeakMap ephemeron edges, lone surrogates, escapes.
Run from anywhere: python3 fuzz/make-seeds.py
"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
NODE_TYPES = ["hidden", "array", "string", "object", "code", "closure", "regexp", "number",
              "native", "synthetic", "concatenated string", "sliced string", "symbol",
              "bigint", "object shape", "wasm object"]
EDGE_TYPES = ["context", "element", "property", "internal", "hidden", "shortcut", "weak"]


def build(nodes, edges, strings_extra=(), fields7=True):
    """nodes: [(type, name, id, size, detachedness)]; edges: {from: [(type, name|index, to)]}"""
    strings = [""]
    index = {"": 0}

    def s(x):
        if x not in index:
            index[x] = len(strings)
            strings.append(x)
        return index[x]

    for x in strings_extra:
        s(x)
    nf = 7 if fields7 else 5
    node_recs, edge_recs = [], []
    for o, (t, name, nid, size, det) in enumerate(nodes):
        es = edges.get(o, [])
        rec = [NODE_TYPES.index(t), s(name), nid, size, len(es)]
        if fields7:
            rec += [0, det]
        node_recs.append(rec)
        for (et, nm, to) in es:
            key = nm if et in ("element", "hidden") else s(nm)
            edge_recs.append([EDGE_TYPES.index(et), key, to * nf])
    node_fields = ["type", "name", "id", "self_size", "edge_count"]
    if fields7:
        node_fields += ["trace_node_id", "detachedness"]
    meta = {
        "node_fields": node_fields,
        "node_types": [NODE_TYPES] + ["string", "number", "number", "number", "number", "number"][: nf - 1],
        "edge_fields": ["type", "name_or_index", "to_node"],
        "edge_types": [EDGE_TYPES, "string_or_number", "node"],
        "trace_function_info_fields": ["function_id", "name", "script_name", "script_id", "line", "column"],
        "trace_node_fields": ["id", "function_info_index", "count", "size", "children"],
        "sample_fields": ["timestamp_us", "last_assigned_id"],
        "location_fields": ["object_index", "script_id", "line", "column"],
    }
    return meta, node_recs, edge_recs, strings, nf


def per_line(meta, nodes, edges, strings, locations, header_extra=None):
    """Node 20/22 layout: one record per line."""
    head = {"meta": meta, "node_count": len(nodes), "edge_count": len(edges), "trace_function_count": 0}
    head.update(header_extra or {})
    out = ['{"snapshot":' + json.dumps(head, separators=(",", ":")) + ",\n"]
    out.append('"nodes":[' + "\n,".join(",".join(map(str, r)) for r in nodes) + "],\n")
    out.append('"edges":[' + "\n,".join(",".join(map(str, r)) for r in edges) + "],\n")
    out.append('"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n')
    out.append('"locations":[' + "\n,".join(",".join(map(str, r)) for r in locations) + "],\n")
    out.append('"strings":[' + ",\n".join(json.dumps(x) for x in strings) + "]}")
    return "".join(out)


def one_line(meta, nodes, edges, strings, locations, header_extra=None):
    """Node 24 layout: each array on one line."""
    head = {"meta": meta, "node_count": len(nodes), "edge_count": len(edges), "trace_function_count": 0}
    head.update(header_extra or {})
    flat = lambda rs: ",".join(str(v) for r in rs for v in r)
    return ('{"snapshot":' + json.dumps(head, separators=(",", ":")) + ",\n"
            '"nodes":[' + flat(nodes) + "],\n"
            '"edges":[' + flat(edges) + "],\n"
            '"trace_function_infos":[],\n"trace_tree":[],\n"samples":[],\n'
            '"locations":[' + flat(locations) + "],\n"
            '"strings":[' + ",\n".join(json.dumps(x) for x in strings) + "]}\n")


# A small Node-like heap: root, (GC roots), global, a class instance, arrays, a closure,
# a detached native node, a context, a plain object `{a, b}`, and an unreachable node.
NODES = [
    ("synthetic", "", 1, 0, 0),                       # 0 root
    ("synthetic", "(GC roots)", 3, 0, 0),             # 1
    ("object", "global", 5, 24, 0),                   # 2
    ("object", "Foo", 7, 32, 0),                      # 3
    ("array", "(object elements)", 9, 16, 0),         # 4
    ("string", "hello <script>alert(1)</script>", 11, 20, 0),  # 5
    ("closure", "makeFoo", 13, 32, 0),                # 6
    ("code", "makeFoo", 15, 100, 0),                  # 7
    ("native", "HTMLDivElement", 17, 40, 2),          # 8
    ("hidden", "system / Context", 19, 48, 0),        # 9
    ("number", "heap number", 21, 16, 0),             # 10
    ("object", "Object", 23, 28, 0),                  # 11
    ("object", "Leaked", 25, 64, 0),                  # 12 unreachable
    ("native", "HTMLSpanElement", 27, 40, 1),         # 13
]
EDGES = {
    0: [("element", 1, 1), ("shortcut", "global", 2)],
    1: [("element", 1, 2), ("element", 2, 9)],
    2: [("property", "foo", 3), ("property", "make", 6), ("property", "div", 8),
        ("property", "o", 11), ("weak", "w", 5), ("property", "span", 13)],
    3: [("property", "name", 5), ("internal", "elements", 4), ("hidden", 0, 3)],
    4: [("element", 0, 10), ("element", 1, 3)],
    6: [("internal", "code", 7), ("context", "x", 9)],
    8: [("property", "child", 13)],
    9: [("context", "x", 3)],
    11: [("property", "a", 10), ("property", "b", 5)],
    12: [("property", "self", 12)],
}
LOCS = [[3, 7, 10, 4], [6, 7, 2, 0], [11, 8, 0, 0]]


def write(name, text):
    with open(os.path.join(OUT, name), "w", encoding="utf-8", newline="") as f:
        f.write(text)


def main():
    os.makedirs(OUT, exist_ok=True)
    meta, n, e, s, nf = build(NODES, EDGES)
    locs = [[o * nf, sid, line, col] for o, sid, line, col in LOCS]
    write("node20-small.heapsnapshot", per_line(meta, n, e, s, locs))
    write("node24-small.heapsnapshot", one_line(meta, n, e, s, locs, {"extra_native_bytes": 4096}))

    # Five node fields (older V8), a minimal graph.
    meta, n, e, s, nf = build(
        [("synthetic", "", 1, 0, 0), ("object", "A", 3, 10, 0), ("string", "x", 5, 8, 0)],
        {0: [("shortcut", "a", 1)], 1: [("property", "s", 2), ("element", 0, 1)]},
        fields7=False)
    write("five-fields.heapsnapshot", per_line(meta, n, e, s, []))

    # V8 internals the analysis treats specially, plus hostile strings.
    weak = "3 / part of key (Object @23) -> value (Foo @7) pair in WeakMap (table @29)"
    nodes = [
        ("synthetic", "", 1, 0, 0),                           # 0
        ("object", "Window", 3, 16, 1),                       # 1 user root
        ("hidden", "system / NativeContext", 5, 100, 0),      # 2
        ("object", "Object", 7, 20, 0),                       # 3 sloppy_function_map target
        ("array", "(map descriptors)", 9, 40, 0),             # 4
        ("object", "Foo", 11, 20, 0),                         # 5
        ("object", "WeakMap", 29, 16, 0),                     # 6 table id 29
        ("object", "Object", 23, 12, 0),                      # 7 key
        ("native", "system / ExternalStringData", 13, 500, 0),  # 8
        ("string", "a\ud800b\udc00 \u0001\t\"\\/ é 𝄞 \u2028", 15, 30, 0),  # 9
        ("object", "{a, b}", 17, 12, 0),                      # 10
        ("object shape", "system / Map", 19, 40, 0),          # 11
    ]
    edges = {
        0: [("shortcut", "window", 1), ("element", 1, 2)],
        1: [("property", "ctx", 2), ("property", "m", 6), ("property", "k", 7),
            ("property", "s", 9), ("property", "__proto__", 10), ("internal", "map", 11)],
        2: [("internal", "sloppy_function_map", 3), ("internal", "d", 4)],
        4: [("hidden", 0, 5), ("hidden", 1, 5), ("hidden", 4, 5), ("hidden", 7, 3)],
        6: [("internal", weak, 5), ("internal", "table", 8)],
        7: [("internal", weak, 5)],
        9: [("internal", "data", 8)],
        10: [("property", "a", 3), ("property", "b", 9)],
    }
    meta, n, e, s, nf = build(nodes, edges, strings_extra=["<dummy>", "\ud800", "\udfff\ud800"])
    write("internals.heapsnapshot", per_line(meta, n, e, s, [[5 * nf, 3, 1, 1]]))


if __name__ == "__main__":
    main()
