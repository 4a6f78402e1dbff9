#!/usr/bin/env bash
# The whole test suite: installs what is missing (scripts/setup.sh), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export MEMSLEUTH_PYVENV="$PWD/target/pyvenv"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test "$@"
fi
