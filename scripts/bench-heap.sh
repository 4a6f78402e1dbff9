#!/usr/bin/env bash
# Heap benchmark (a script that prints figures, not a test).
#
#   scripts/bench-heap.sh [all|summary|leaks|gen] [5g]      (default: all)
#
#   summary  on a ~155 MB snapshot, side by side: `memsleuth summary FILE --format json`, the
#            DevTools heap-snapshot worker (`run.sh summary SNAP` of the DevTools oracle),
#            memlab (`memlab analyze object-size --snapshot SNAP`: parse, dominators, top
#            objects) and the Rust crate v8-heap-parser (parse, dominators, class groups with
#            retained sizes; bench/v8-heap-parser); then memsleuth on a ~1 GB snapshot
#   leaks    `memsleuth leaks S1 S2 S3` on three ~1 GB snapshots of one growing process, and
#            on three ~155 MB ones
#   all      both
#   gen      only generate the snapshots
#   5g       also `memsleuth summary` on a ~5 GB snapshot: five copies of the 1 GB one under
#            one root (bench/phases `tile-snapshot`; Node would need about 20 GB to write one)
#
# Every command runs REPEAT times (default 3), the tools in turn (one round runs each once),
# and the table shows the median wall time, CPU time (user + system) and peak RSS, from
# `/usr/bin/time -v` (installed with apt-get if missing). The machine may be shared: the load
# average is printed before and after; compare the tools within one run.
#
# The snapshots are written by scripts/gen-big-snapshot.js (real Node) into $BENCH_DIR and
# reused on later runs; delete them to regenerate. The 1 GB ones need about 6 GB of memory and
# a few minutes each. A peer that cannot be set up (no oracle at $ORACLE, no npm registry for
# memlab, no crates.io for v8-heap-parser) is reported as "not available".
#
# Environment:
#   BENCH_DIR     cache of generated snapshots (default target/bench)
#   REPEAT        runs per command (default 3)
#   ORACLE        the oracle's run.sh (default /work/shared/tools/devtools-oracle/run.sh);
#                 ORACLE_HOME is passed through (default ~/.cache/memsleuth/devtools-oracle)
#   SKIP_ORACLE=1, SKIP_MEMLAB=1, SKIP_V8HP=1   leave a peer out;  SKIP_1GB=1  no 1 GB summary
#   BIG_SCALE     scale of the 1 GB snapshot for gen-big-snapshot.js (default 6.5)
#   LEAK_SCALE    scale of the three `leaks` snapshots (default 6.5, about 1 GB each)
#   NO_BUILD=1    do not run cargo build --release
#   MEMSLEUTH     memsleuth binary to measure (default target/release/memsleuth)
#   NODE          node binary (default node)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mode=all
five=0
for a in "$@"; do
  case "$a" in
    all|summary|leaks|gen) mode=$a ;;
    5g) five=1 ;;
    *) echo "usage: $0 [all|summary|leaks|gen] [5g]" >&2; exit 2 ;;
  esac
done

BENCH_DIR=${BENCH_DIR:-target/bench}
REPEAT=${REPEAT:-3}
ORACLE=${ORACLE:-/work/shared/tools/devtools-oracle/run.sh}
export ORACLE_HOME=${ORACLE_HOME:-$HOME/.cache/memsleuth/devtools-oracle}
BIG_SCALE=${BIG_SCALE:-6.5}
LEAK_SCALE=${LEAK_SCALE:-6.5}
NODE=${NODE:-node}
BIN=${MEMSLEUTH:-$repo/target/release/memsleuth}
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
S155="$BENCH_DIR/heap-155mb.heapsnapshot"
S1G="$BENCH_DIR/heap-1gb.heapsnapshot"
S5G="$BENCH_DIR/heap-5gb.heapsnapshot"
LEAK="$BENCH_DIR/leak-$LEAK_SCALE"   # -1/-2/-3.heapsnapshot
LEAK155="$BENCH_DIR/leak-155mb"      # the same at scale 1

log() { echo "bench-heap: $*" >&2; }
need_summary() { [ "$mode" = all ] || [ "$mode" = summary ] || [ "$mode" = gen ]; }
need_leaks() { [ "$mode" = all ] || [ "$mode" = leaks ] || [ "$mode" = gen ]; }

if [ ! -x /usr/bin/time ]; then
  log "installing GNU time (apt-get)"
  SUDO=""; if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time >/dev/null
fi

# ---- snapshots (reused when present; written under a temporary name, then renamed) ---------
gen_one() { # out scale max_old_space_mb
  local out=$1 scale=$2 mem=$3
  if [ -s "$out" ]; then return 0; fi
  log "generating $out (scale $scale)"
  "$NODE" --expose-gc --max-old-space-size="$mem" scripts/gen-big-snapshot.js "$out.tmp" --scale "$scale" >/dev/null
  mv "$out.tmp" "$out"
}
gen_seq() { # prefix scale
  local pre=$1 scale=$2
  if [ -s "$pre-1.heapsnapshot" ] && [ -s "$pre-2.heapsnapshot" ] && [ -s "$pre-3.heapsnapshot" ]; then return 0; fi
  log "generating $pre-{1,2,3}.heapsnapshot (one growing process, scale $scale)"
  "$NODE" --expose-gc --max-old-space-size=16000 scripts/gen-big-snapshot.js "$pre.tmp" --seq --scale "$scale" >/dev/null
  for n in 1 2 3; do mv "$pre.tmp-$n.heapsnapshot" "$pre-$n.heapsnapshot"; done
}
TOOLS_TARGET="$repo/target/bench-tools"
tile_5g() {
  if [ -s "$S5G" ]; then return 0; fi
  log "building bench/phases (tile-snapshot)"
  cargo build --release --quiet --manifest-path bench/phases/Cargo.toml --target-dir "$TOOLS_TARGET"
  log "writing $S5G (five copies of $(basename "$S1G"))"
  "$TOOLS_TARGET/release/tile-snapshot" "$S1G" "$S5G.tmp" 5
  mv "$S5G.tmp" "$S5G"
}
if need_summary; then
  gen_one "$S155" 1 4096
  if [ "${SKIP_1GB:-0}" != 1 ] || [ "$five" = 1 ]; then gen_one "$S1G" "$BIG_SCALE" 16000; fi
  if [ "$five" = 1 ]; then tile_5g; fi
fi
if need_leaks; then
  gen_seq "$LEAK155" 1
  gen_seq "$LEAK" "$LEAK_SCALE"
fi

describe() { # file -> "name: size MB, N nodes, M edges"
  local hdr n e
  hdr=$(head -c 4096 "$1")
  n=$(printf '%s' "$hdr" | grep -o '"node_count":[0-9]*' | cut -d: -f2)
  e=$(printf '%s' "$hdr" | grep -o '"edge_count":[0-9]*' | cut -d: -f2)
  printf '%s: %s MB, %s nodes, %s edges\n' "$(basename "$1")" "$(awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.1f", b / 1e6}')" "$n" "$e"
}
echo "== snapshots ($BENCH_DIR)"
for f in "$S155" "$S1G" "$S5G" "$LEAK155"-{1,2,3}.heapsnapshot "$LEAK"-{1,2,3}.heapsnapshot; do
  if [ -s "$f" ]; then describe "$f"; fi
done
if [ "$mode" = gen ]; then exit 0; fi

if [ "${NO_BUILD:-0}" != 1 ]; then
  log "cargo build --release"
  cargo build --release --quiet
fi

# ---- peers (set up once; untimed) -------------------------------------------------------------
ORACLE_OK=0 MEMLAB_OK=0 V8HP_OK=0
MEMLAB="$repo/bench/memlab/node_modules/.bin/memlab"
V8HP="$TOOLS_TARGET/release/bench-v8-heap-parser"
if need_summary; then
  if [ "${SKIP_ORACLE:-0}" != 1 ] && [ -x "$ORACLE" ]; then
    # The first use installs and bundles the worker.
    if "$ORACLE" summary "$S155" >/dev/null 2>&1; then ORACLE_OK=1; else log "DevTools oracle failed to run"; fi
  fi
  if [ "${SKIP_MEMLAB:-0}" != 1 ]; then
    if [ ! -x "$MEMLAB" ]; then
      log "npm ci in bench/memlab (browser download skipped)"
      (cd bench/memlab && PUPPETEER_SKIP_DOWNLOAD=true npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || log "memlab could not be installed"
    fi
    if [ -x "$MEMLAB" ]; then MEMLAB_OK=1; fi
  fi
  if [ "${SKIP_V8HP:-0}" != 1 ]; then
    if [ ! -x "$V8HP" ] || [ "${NO_BUILD:-0}" != 1 ]; then
      log "building bench/v8-heap-parser"
      cargo build --release --quiet --manifest-path bench/v8-heap-parser/Cargo.toml --target-dir "$TOOLS_TARGET" 2>/dev/null || log "v8-heap-parser could not be built"
    fi
    if [ -x "$V8HP" ]; then V8HP_OK=1; fi
  fi
fi

# ---- measuring ----------------------------------------------------------------------------------
# run_once KEY CMD...: one timed run; appends "wall cpu rss status" to $RES/KEY
RES=$(mktemp -d)
trap 'rm -rf "$RES"' EXIT
run_once() {
  local key=$1; shift
  local tv="$RES/time" errf="$RES/err" st
  set +e
  /usr/bin/time -v -o "$tv" "$@" >/dev/null 2>"$errf"
  st=$?
  set -e
  if [ "$st" != 0 ]; then
    log "$key exited with $st: $(grep -v '^Command exited' "$errf" | head -3 | tr '\n' ' ')"
  fi
  awk -F': ' -v st="$st" '
    /Elapsed \(wall clock\)/ {n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i]}
    /User time \(seconds\)/ {u = $2}
    /System time \(seconds\)/ {s = $2}
    /Maximum resident set size/ {r = $2}
    END {printf "%.3f %.3f %d %d\n", w, u + s, r, st}' "$tv" >>"$RES/$key"
}
# median KEY FIELD(1 wall, 2 cpu, 3 rss KB) -> the median over the runs
median() {
  [ -s "$RES/$1" ] || { echo ""; return; }
  awk -v f="$2" '{print $f}' "$RES/$1" | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
failed() { [ -s "$RES/$1" ] && awk '$4 != 0 {bad = 1} END {exit !bad}' "$RES/$1"; }

LOAD_START=$(uptime | sed 's/.*load average/load average/')
log "$LOAD_START; $REPEAT rounds"
MLD=$(mktemp -d)
for r in $(seq 1 "$REPEAT"); do
  log "round $r of $REPEAT"
  if need_summary; then
    run_once ms155 "$BIN" summary "$S155" --format json
    if [ "$ORACLE_OK" = 1 ]; then run_once or155 "$ORACLE" summary "$S155"; fi
    if [ "$MEMLAB_OK" = 1 ]; then run_once ml155 "$MEMLAB" analyze object-size --snapshot "$S155" --work-dir "$MLD"; fi
    if [ "$V8HP_OK" = 1 ]; then run_once v8155 "$V8HP" "$S155"; fi
    if [ "${SKIP_1GB:-0}" != 1 ]; then run_once ms1g "$BIN" summary "$S1G" --format json; fi
    if [ "$five" = 1 ]; then run_once ms5g "$BIN" summary "$S5G" --format json; fi
  fi
  if need_leaks; then
    run_once leaks155 "$BIN" leaks "$LEAK155-1.heapsnapshot" "$LEAK155-2.heapsnapshot" "$LEAK155-3.heapsnapshot" --format json
    run_once leaks "$BIN" leaks "$LEAK-1.heapsnapshot" "$LEAK-2.heapsnapshot" "$LEAK-3.heapsnapshot" --format json
  fi
done
rm -rf "$MLD"
LOAD_END=$(uptime | sed 's/.*load average/load average/')

mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.0f MB", b / 1e6}'; }
row() { # KEY LABEL INPUT
  local key=$1 label=$2 input=$3
  if [ ! -s "$RES/$key" ]; then
    printf '%-34s %-12s %s\n' "$label" "$input" "not available"
    return
  fi
  local w c r st=ok
  w=$(median "$key" 1) c=$(median "$key" 2) r=$(median "$key" 3)
  if failed "$key"; then st="FAILED in some runs"; fi
  printf '%-34s %-12s %8.2f s %8.2f s %6.2f %9.0f MiB   %s\n' "$label" "$input" "$w" "$c" "$(awk -v c="$c" -v w="$w" 'BEGIN {print (w > 0) ? c / w : 0}')" "$(awk -v r="$r" 'BEGIN {print r / 1024}')" "$st"
}
ratio() { # KEY_A KEY_B FIELD -> A/B
  local a b
  a=$(median "$1" "$3") b=$(median "$2" "$3")
  if [ -z "$a" ] || [ -z "$b" ]; then echo "n/a"; return; fi
  awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.1fx", a / b; else printf "n/a"}'
}

echo
echo "== results: median of $REPEAT runs ($(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ))"
echo "   $LOAD_START at the start, $LOAD_END at the end"
printf '%-34s %-12s %10s %10s %6s %13s\n' "command" "input" "wall" "cpu" "cores" "peak RSS"
if need_summary; then
  row ms155 "memsleuth summary" "$(mb "$S155")"
  if [ "${SKIP_ORACLE:-0}" != 1 ]; then row or155 "DevTools worker (oracle) summary" "$(mb "$S155")"; fi
  if [ "${SKIP_MEMLAB:-0}" != 1 ]; then row ml155 "memlab analyze object-size" "$(mb "$S155")"; fi
  if [ "${SKIP_V8HP:-0}" != 1 ]; then row v8155 "v8-heap-parser class groups" "$(mb "$S155")"; fi
  if [ "${SKIP_1GB:-0}" != 1 ]; then row ms1g "memsleuth summary" "$(mb "$S1G")"; fi
  if [ "$five" = 1 ]; then row ms5g "memsleuth summary" "$(mb "$S5G")"; fi
fi
if need_leaks; then
  row leaks155 "memsleuth leaks S1 S2 S3" "3 x $(mb "$LEAK155-2.heapsnapshot")"
  row leaks "memsleuth leaks S1 S2 S3" "3 x $(mb "$LEAK-2.heapsnapshot")"
fi
echo
if need_summary; then
  echo "155 MB, memsleuth against each peer (wall time; peak memory):"
  for p in "or155:DevTools worker:>= 10x:>= 3x" "ml155:memlab:>= 10x:" "v8155:v8-heap-parser:>= 4x:"; do
    IFS=: read -r key name tw tm <<<"$p"
    if [ -s "$RES/$key" ]; then
      echo "  vs $name: $(ratio "$key" ms155 1) faster${tw:+ (target $tw)}, $(ratio "$key" ms155 3) less memory${tm:+ (target $tm)}"
    else
      echo "  vs $name: not available"
    fi
  done
  if [ "${SKIP_1GB:-0}" != 1 ]; then
    echo "1 GB: $(median ms1g 1) s, $(awk -v r="$(median ms1g 3)" 'BEGIN {printf "%.0f", r / 1024}') MiB (target <= 2.5 s)"
  fi
  if [ "$five" = 1 ]; then
    echo "5 GB: $(median ms5g 1) s, $(awk -v r="$(median ms5g 3)" 'BEGIN {printf "%.2f", r / 1048576}') GiB (targets <= 12 s, <= 5 GiB)"
  fi
fi
if need_leaks; then
  echo "leaks on 3 x $(mb "$LEAK155-2.heapsnapshot"): $(median leaks155 1) s, $(awk -v r="$(median leaks155 3)" 'BEGIN {printf "%.0f", r / 1024}') MiB (target < 10 s)"
  echo "leaks on 3 x $(mb "$LEAK-2.heapsnapshot"): $(median leaks 1) s, $(awk -v r="$(median leaks 3)" 'BEGIN {printf "%.2f", r / 1048576}') GiB (targets <= 8 s, <= 2.5 GiB)"
fi
