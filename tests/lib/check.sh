# check.sh - the pass/fail bookkeeping the integration scripts share
# (sourced). Each check prints "ok   NAME" or "FAIL NAME" with details;
# finish prints the summary line the test runner reads,
# "N passed, N failed", and exits 0 only when nothing failed.

passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}

# bad NAME [details...]
bad() {
	failed=$((failed + 1))
	echo "FAIL $1"
	shift
	[ $# -gt 0 ] && printf '     %s\n' "$@"
	return 0
}

# expect NAME EXPECTED ACTUAL [details...]
expect() {
	local name=$1 want=$2 got=$3
	shift 3
	if [ "$want" = "$got" ]; then ok "$name"; else bad "$name" "expected: $want" "actual:   $got" "$@"; fi
}

# within NAME LOW HIGH ACTUAL [details...]: LOW <= ACTUAL <= HIGH
within() {
	local name=$1 lo=$2 hi=$3 got=$4
	shift 4
	if [ -n "$got" ] && [ "$got" -ge "$lo" ] && [ "$got" -le "$hi" ]; then
		ok "$name ($got)"
	else
		bad "$name" "expected: $lo..$hi" "actual:   ${got:-<none>}" "$@"
	fi
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
	exit
}

# die NAME [details...]: one failure, then the summary and exit
die() {
	bad "$@"
	finish
}

# scratch_setup NAME: a temp dir $T (kept with KEEP=1) holding HOME and the
# XDG directories; TZ=UTC and a fixed LOGSHIP_NOW; a copy of $LOGSHIP in it
# (so a rebuild during the run does not pull the binary away). The pids a
# script adds to bg_pids are killed when it ends.
scratch_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/logship-$1.XXXXXX") || die "$1: a temp dir" "mktemp failed"
	export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/xstate XDG_CACHE_HOME=$T/cache
	export TZ=UTC LOGSHIP_NOW=2023-11-15T00:00:00Z
	mkdir -p "$HOME"
	bg_pids=()
	trap scratch_cleanup EXIT
	trap 'exit 130' INT TERM HUP
	cp "$LOGSHIP" "$T/logship" && LOGSHIP=$T/logship
}

scratch_cleanup() {
	local p
	for p in "${bg_pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
