# lib.sh - shared helpers for the tests/cli/tNNN-*.sh scripts.
#
# run.sh sets: T (a fresh temp dir, the working directory), LOGSHIP (the
# binary, absolute), SRC (the repository root), LS_RESULT (where this script's
# counts go). Every check prints nothing when it passes; a failure prints the
# script, the check's name, what was expected and what happened.
#
#   run CMD...                    runs CMD (timeout 30 s): $RC, $OUT, $ERR and
#                                 the files $T/out, $T/err
#   check NAME CMD...             CMD succeeds
#   expect_eq NAME EXPECTED ACTUAL
#   expect_exit NAME CODE CMD...  run CMD, its exit status is CODE
#   expect_contains NAME TEXT NEEDLE / expect_not_contains NAME TEXT NEEDLE
#   expect_match NAME TEXT ERE    some line of TEXT matches the ERE
#   json_get LINE FIELD           raw JSON value of a dotted FIELD ("x" keeps
#                                 its quotes, numbers are bare; tags[0] for
#                                 array items), empty when absent
#   expect_json_field NAME LINE FIELD RAW
#   expect_json_valid NAME FILE   every line of FILE is one valid JSON object,
#                                 valid UTF-8, no NUL byte
#   nth N FILE                    line N of FILE
#   finish                        the last line of every script
set -u

_passed=0
_failed=0
_script=$(basename "$0" .sh)
JSON_AWK=$SRC/tests/cli/json.awk

_finished=0
# Background processes a script starts go in PIDS: they are killed when the
# script ends, before the counts are written.
PIDS=""
_kill_pids() {
	local p
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
}
trap '_kill_pids; printf "%d %d %d\n" "$_passed" "$_failed" "$_finished" >"$LS_RESULT"' EXIT

# wait_for CMD ARGS...: runs CMD every 50 ms until it succeeds, for up to
# WAIT_TRIES tries (default 200: 10 s); its last status. Never a timing
# assertion: a wait ends as soon as its condition holds.
wait_for() {
	local i=0
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -ge "${WAIT_TRIES:-200}" ] && return 1
		sleep 0.05
	done
	return 0
}

# The last line of every script: a script that stops before it (set -u, a
# syntax error) is counted as a failure by run.sh.
finish() { _finished=1; exit 0; }

# Shows a value on one line, control bytes visible, long values cut.
_show() {
	local v
	v=$(printf '%s' "$1" | head -c 400 | cat -v | sed ':a;N;$!ba;s/\n/\\n/g')
	[ "${#1}" -gt 400 ] && v="$v... (${#1} bytes)"
	printf '%s' "$v"
}

pass() { _passed=$((_passed + 1)); }

# fail NAME EXPECTED ACTUAL
fail() {
	_failed=$((_failed + 1))
	printf 'FAIL %s: %s\n  expected: %s\n  actual:   %s\n' "$_script" "$1" \
		"$(_show "$2")" "$(_show "$3")"
	if [ -n "${LAST_CMD:-}" ]; then
		printf '  command:  %s\n' "$(_show "$LAST_CMD")"
		[ -s "$T/err" ] && printf '  stderr:   %s\n' "$(_show "$(cat "$T/err")")"
	fi
	return 0
}

run() {
	LAST_CMD="$*"
	timeout 30 "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
	return 0
}

check() {
	local name=$1 rc
	shift
	"$@"
	rc=$?
	if [ "$rc" = 0 ]; then pass; else fail "$name" "success: $*" "exit status $rc"; fi
}

expect_eq() {
	if [ "$2" = "$3" ]; then pass; else fail "$1" "$2" "$3"; fi
}

expect_exit() {
	local name=$1 code=$2
	shift 2
	run "$@"
	if [ "$RC" = "$code" ]; then pass; else fail "$name" "exit $code" "exit $RC"; fi
}

expect_contains() {
	case "$2" in
	*"$3"*) pass ;;
	*) fail "$1" "text containing '$3'" "$2" ;;
	esac
}

expect_not_contains() {
	case "$2" in
	*"$3"*) fail "$1" "text without '$3'" "$2" ;;
	*) pass ;;
	esac
}

expect_match() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then pass; else fail "$1" "a line matching /$3/" "$2"; fi
}

json_get() {
	printf '%s\n' "$1" | awk -v mode=get -v field="$2" -f "$JSON_AWK"
}

expect_json_field() {
	local got
	got=$(json_get "$2" "$3")
	if [ "$got" = "$4" ]; then pass; else fail "$1" "$3 = $4" "$3 = $got (in $2)"; fi
}

expect_json_valid() {
	local why
	why=$(awk -v mode=validate -f "$JSON_AWK" "$2" 2>&1)
	if [ $? != 0 ]; then
		fail "$1" "valid JSON on every line" "$why"
	elif ! iconv -f UTF-8 -t UTF-8 "$2" >/dev/null 2>&1; then
		fail "$1" "valid UTF-8" "invalid UTF-8 in the output"
	elif [ "$(tr -cd '\000' <"$2" | wc -c)" != 0 ]; then
		fail "$1" "no NUL byte" "a NUL byte in the output"
	else
		pass
	fi
}

nth() { sed -n "${1}p" "$2"; }
