#!/usr/bin/env bash
# run-all.sh - runs every test suite (unit, pattern examples, command-line
# scripts, integration) and ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
export LOGSHIP_SRCDIR=$PWD
pass=0 fail=0
count() { # name, command...
	local name=$1; shift
	if "$@"; then pass=$((pass + 1)); echo "ok: $name"; else fail=$((fail + 1)); echo "FAILED: $name"; fi
}
count unit build/unit-tests
count "patterns test" env HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent ./logship patterns test
count cli bash tests/cli/run.sh
echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
