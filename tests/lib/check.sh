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
