#!/usr/bin/env bash
# run-all.sh - runs every test suite (unit, pattern examples, command-line
# scripts, security corpus, integration) and ends with one line
# "N passed, N failed" summing the suites' own counts.
set -u
cd "$(dirname "$0")/.."
export LOGSHIP_SRCDIR=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# No user or system pattern directory may leak into the tests.
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/config TZ=UTC LOGSHIP_NOW=2023-11-15T00:00:00Z
mkdir -p "$HOME"
pass=0 fail=0 broken=""

# suite NAME COMMAND...: runs it, shows its output, adds its last
# "N passed, N failed" line to the totals; a suite that fails without
# such a line counts as one failure.
suite() {
	local name=$1 out="$tmp/$1.out" rc p f
	shift
	echo "=== $name"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	read -r p f < <(grep -oE '[0-9]+ passed, [0-9]+ failed' "$out" | tail -1 | sed -E 's/([0-9]+) passed, ([0-9]+) failed/\1 \2/')
	if [ -z "${p:-}" ]; then
		p=0
		f=$([ "$rc" = 0 ] && echo 0 || echo 1)
	elif [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$f" = 0 ] || broken="$broken $name"
}

suite unit "${UNIT_TESTS:-build/unit-tests}"
suite patterns ./logship patterns test
[ -f tests/cli/run.sh ] && suite cli bash tests/cli/run.sh
[ -f tests/security/score.sh ] && suite security bash tests/security/score.sh
for t in tests/integration/*.sh; do
	[ -f "$t" ] && suite "$(basename "$t" .sh)" bash "$t"
done
# libFuzzer harnesses: committed corpora, regression inputs, a fixed-seed run.
[ -f tests/fuzz/run.sh ] && suite fuzz bash tests/fuzz/run.sh check
# The same unit suites and command-line scripts under ASan and UBSan (memory
# bounds are not asserted there: shadow memory is not logship's).
if [ -n "${SAN_LOGSHIP:-}" ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	suite unit-sanitized "$SAN_UNIT_TESTS"
	suite cli-sanitized env LOGSHIP="$PWD/$SAN_LOGSHIP" LOGSHIP_SANITIZE=address,undefined \
		bash tests/cli/run.sh
fi

echo
[ -z "$broken" ] || echo "failed suites:$broken"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
