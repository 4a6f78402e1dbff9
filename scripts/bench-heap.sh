#!/usr/bin/env bash
# Heap benchmark (a script that prints figures, not a test).
#
#   scripts/bench-heap.sh [all|summary|leaks|gen]      (default: all)
#
#   summary  `memsleuth summary FILE --format json` on a ~155 MB and a ~1 GB snapshot, and the
#            DevTools oracle on the ~155 MB one (`run.sh summary SNAP`: load + analysis +
#            Summary; and `run.sh summary SNAP PREFIX`, which also dumps every node), side by
#            side, with the speedup and the memory ratio
#   leaks    `memsleuth leaks S1 S2 S3` on three ~155 MB snapshots of one growing process
#   all      both
#   gen      only generate the snapshots
#
# Wall time and peak RSS come from `/usr/bin/time -v` (installed with apt-get if missing).
# The snapshots are written by scripts/gen-big-snapshot.js (real Node) into $BENCH_DIR and
# reused on later runs; delete them to regenerate. Generating the 1 GB one needs about 6 GB of
# RAM and two minutes.
#
# Environment:
#   BENCH_DIR     cache of generated snapshots (default target/bench)
#   ORACLE        the oracle's run.sh (default /work/shared/tools/devtools-oracle/run.sh);
#                 ORACLE_HOME is passed through (default ~/.cache/memsleuth/devtools-oracle)
#   SKIP_ORACLE=1 do not run the oracle;  SKIP_1GB=1 no 1 GB snapshot
#   BIG_SCALE     scale of the large snapshot for gen-big-snapshot.js (default 6.5, about 1 GB)
#   NO_BUILD=1    do not run cargo build --release
#   MEMSLEUTH     memsleuth binary to measure (default target/release/memsleuth)
#   NODE          node binary (default node)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mode=${1:-all}
case "$mode" in all|summary|leaks|gen) ;; *) echo "usage: $0 [all|summary|leaks|gen]" >&2; exit 2 ;; esac

BENCH_DIR=${BENCH_DIR:-target/bench}
ORACLE=${ORACLE:-/work/shared/tools/devtools-oracle/run.sh}
export ORACLE_HOME=${ORACLE_HOME:-$HOME/.cache/memsleuth/devtools-oracle}
BIG_SCALE=${BIG_SCALE:-6.5}
NODE=${NODE:-node}
BIN=${MEMSLEUTH:-$repo/target/release/memsleuth}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
S155="$BENCH_DIR/heap-155mb.heapsnapshot"
S1G="$BENCH_DIR/heap-1gb.heapsnapshot"
LEAK="$BENCH_DIR/leak-155mb"   # -1/-2/-3.heapsnapshot

log() { echo "bench-heap: $*" >&2; }

if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (apt-get)"
  SUDO=""; if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi

# ---- generation (reused when present; written under a temporary name, then renamed) ----------
gen_one() { # out scale max_old_space_mb
  local out=$1 scale=$2 mem=$3
  if [ -s "$out" ]; then return 0; fi
  log "generating $out (scale $scale)"
  "$NODE" --expose-gc --max-old-space-size="$mem" scripts/gen-big-snapshot.js "$out.tmp" --scale "$scale" >/dev/null
  mv "$out.tmp" "$out"
}
gen_seq() {
  if [ -s "$LEAK-1.heapsnapshot" ] && [ -s "$LEAK-2.heapsnapshot" ] && [ -s "$LEAK-3.heapsnapshot" ]; then return 0; fi
  log "generating $LEAK-{1,2,3}.heapsnapshot (one growing process)"
  "$NODE" --expose-gc --max-old-space-size=4096 scripts/gen-big-snapshot.js "$LEAK.tmp" --seq >/dev/null
  for n in 1 2 3; do mv "$LEAK.tmp-$n.heapsnapshot" "$LEAK-$n.heapsnapshot"; done
}
need_summary() { [ "$mode" = all ] || [ "$mode" = summary ] || [ "$mode" = gen ]; }
need_leaks() { [ "$mode" = all ] || [ "$mode" = leaks ] || [ "$mode" = gen ]; }
if need_summary; then
  gen_one "$S155" 1 4096
  if [ "${SKIP_1GB:-0}" != 1 ]; then gen_one "$S1G" "$BIG_SCALE" 16000; fi
fi
if need_leaks; then gen_seq; fi

describe() { # file -> "size MB, N nodes, M edges"
  local hdr; hdr=$(head -c 4096 "$1")
  local n e
  n=$(printf '%s' "$hdr" | grep -o '"node_count":[0-9]*' | cut -d: -f2)
  e=$(printf '%s' "$hdr" | grep -o '"edge_count":[0-9]*' | cut -d: -f2)
  printf '%s: %s MB, %s nodes, %s edges\n' "$(basename "$1")" "$(awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.1f", b / 1e6}')" "$n" "$e"
}
echo "== snapshots ($BENCH_DIR)"
for f in "$S155" "$S1G" "$LEAK-1.heapsnapshot" "$LEAK-2.heapsnapshot" "$LEAK-3.heapsnapshot"; do
  if [ -s "$f" ]; then describe "$f"; fi
done
if [ "$mode" = gen ]; then exit 0; fi

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "cargo build --release"
  cargo build --release --quiet
fi

# ---- measuring ----------------------------------------------------------------------------------
# measure LABEL CMD...: runs CMD with stdout to /dev/null; sets WALL (s), RSS (MB), STATUS
measure() {
  local label=$1; shift
  local tv; tv=$(mktemp)
  local errf; errf=$(mktemp)
  log "$label: $*"
  set +e
  /usr/bin/time -v -o "$tv" "$@" >/dev/null 2>"$errf"
  STATUS=$?
  set -e
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s}' "$tv")
  RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$tv")
  if [ "$STATUS" != 0 ]; then
    log "$label exited with $STATUS: $(grep -v '^Command exited' "$errf" | head -3 | tr '\n' ' ')"
  fi
  rm -f "$tv" "$errf"
}
rows=()
row() { # label file-size wall rss status
  local st=ok; [ "$5" = 0 ] || st="FAILED (exit $5)"
  rows+=("$(printf '%-38s %10s %10s %12s   %s' "$1" "$2" "$3" "$4" "$st")")
}
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.0f MB", b / 1e6}'; }
ratio() { # a b -> a/b with 1 decimal, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN {if (a != "" && b + 0 > 0) printf "%.1fx", a / b; else printf "n/a"}'
}

MS155_WALL="" MS155_RSS="" MS155_ST=1 OR_WALL="" OR_RSS="" OR_ST=1 OR2_WALL="" OR2_RSS=""
if need_summary; then
  measure "memsleuth summary 155 MB" "$BIN" summary "$S155" --format json
  MS155_WALL=$WALL MS155_RSS=$RSS MS155_ST=$STATUS
  row "memsleuth summary" "$(mb "$S155")" "${WALL}s" "${RSS} MB" "$STATUS"
  if [ "${SKIP_1GB:-0}" != 1 ]; then
    measure "memsleuth summary 1 GB" "$BIN" summary "$S1G" --format json
    row "memsleuth summary" "$(mb "$S1G")" "${WALL}s" "${RSS} MB" "$STATUS"
    MS1G_WALL=$WALL MS1G_RSS=$RSS MS1G_ST=$STATUS
  fi
  if [ "${SKIP_ORACLE:-0}" != 1 ]; then
    "$ORACLE" >/dev/null 2>&1 || true   # first use installs and bundles the oracle: not timed
    measure "DevTools oracle summary 155 MB" "$ORACLE" summary "$S155"
    OR_WALL=$WALL OR_RSS=$RSS OR_ST=$STATUS
    row "DevTools worker (oracle) summary" "$(mb "$S155")" "${WALL}s" "${RSS} MB" "$STATUS"
    # the same plus the per-node dump (run.sh summary SNAP PREFIX), as when making goldens
    odir=$(mktemp -d)
    measure "DevTools oracle summary + nodes.tsv 155 MB" "$ORACLE" summary "$S155" "$odir/o"
    rm -rf "$odir"
    OR2_WALL=$WALL OR2_RSS=$RSS OR2_ST=$STATUS
    row "DevTools worker + per-node dump" "$(mb "$S155")" "${WALL}s" "${RSS} MB" "$STATUS"
  fi
fi
if need_leaks; then
  measure "memsleuth leaks 3 x 155 MB" "$BIN" leaks "$LEAK-1.heapsnapshot" "$LEAK-2.heapsnapshot" "$LEAK-3.heapsnapshot" --format json
  LK_WALL=$WALL LK_RSS=$RSS LK_ST=$STATUS
  row "memsleuth leaks S1 S2 S3" "3 x $(mb "$LEAK-2.heapsnapshot")" "${WALL}s" "${RSS} MB" "$STATUS"
fi

echo
echo "== results ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
printf '%-38s %10s %10s %12s   %s\n' "command" "input" "wall" "peak RSS" "status"
for r in "${rows[@]}"; do echo "$r"; done
echo
if need_summary && [ "${SKIP_ORACLE:-0}" != 1 ]; then
  if [ "$MS155_ST" = 0 ] && [ "$OR_ST" = 0 ]; then
    echo "155 MB summary: $(ratio "$OR_WALL" "$MS155_WALL") faster than DevTools (target >= 10x), $(ratio "$OR_RSS" "$MS155_RSS") less peak memory (target >= 3x)"
    echo "   vs DevTools + per-node dump: $(ratio "$OR2_WALL" "$MS155_WALL") faster, $(ratio "$OR2_RSS" "$MS155_RSS") less peak memory"
  else
    echo "155 MB summary: no ratio (memsleuth exit $MS155_ST, oracle exit $OR_ST); DevTools: ${OR_WALL}s, ${OR_RSS} MB"
  fi
fi
if need_summary && [ "${SKIP_1GB:-0}" != 1 ]; then
  if [ "$MS1G_ST" = 0 ]; then echo "1 GB summary: ${MS1G_WALL}s, ${MS1G_RSS} MB (targets <= 10 s, <= 2048 MB)"
  else echo "1 GB summary: memsleuth failed (exit $MS1G_ST)"; fi
fi
if need_leaks; then
  if [ "$LK_ST" = 0 ]; then echo "leaks on 3 x 155 MB: ${LK_WALL}s, ${LK_RSS} MB (target <= 10 s)"
  else echo "leaks on 3 x 155 MB: memsleuth failed (exit $LK_ST)"; fi
fi
