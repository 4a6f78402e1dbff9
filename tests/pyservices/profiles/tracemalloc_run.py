"""Runs tests/programs/series/py_leaky.py's work under tracemalloc and writes, at three points
in time, what people save: the text of Snapshot.statistics('lineno'), the text of
compare_to(first, 'lineno') at the end, and Snapshot.dump() files.
Usage: python tracemalloc_run.py OUT_DIR"""
import os
import sys
import tracemalloc

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "programs", "series"))
import py_leaky  # noqa: E402

out = sys.argv[1]
tracemalloc.start(10)
snaps = []
i = 0
for k in range(3):
    for _ in range(12):
        py_leaky.leak_list(i)
        py_leaky.leak_cache(i)
        py_leaky.bounded(i)
        i += 1
    snap = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)]
    )
    snaps.append(snap)
    with open(os.path.join(out, "stats-%d.txt" % (k + 1)), "w") as f:
        for st in snap.statistics("lineno")[:20]:
            f.write(str(st) + "\n")
    snap.dump(os.path.join(out, "snap-%d.pickle" % (k + 1)))
with open(os.path.join(out, "compare.txt"), "w") as f:
    for st in snaps[-1].compare_to(snaps[0], "lineno")[:20]:
        f.write(str(st) + "\n")
