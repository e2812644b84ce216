#!/usr/bin/env bash
# t024-write-errors: output that cannot be written (a full disk, a closed
# stdout) is an error, as in grep: "logship: write error: <reason>" on
# stderr and exit 2; a reader that goes away (| head -1) is not one.
. "$SRC/tests/cli/lib.sh"

printf '10.0.0.1 GET 200\n10.0.0.2 POST 404\n' >web.log
RE='^%{IP:source.ip} %{WORD:http.request.method} %{INT:http.response.status_code:int}$'

# write_to TARGET CMD...: runs CMD with stdout on TARGET (full: /dev/full,
# closed: no stdout at all); $RC and $ERR
write_to() {
	local target=$1
	shift
	LAST_CMD="$* >$target"
	case $target in
	full) timeout 30 "$@" >/dev/full 2>"$T/err" ;;
	closed) timeout 30 "$@" >&- 2>"$T/err" ;;
	esac
	RC=$?
	ERR=$(cat "$T/err")
}

FULL='logship: write error: No space left on device'
CLOSED='logship: write error: Bad file descriptor'

# ---- parse ---------------------------------------------------------------
for o in json logfmt tsv pretty; do
	write_to full "$LOGSHIP" parse -e "$RE" -o $o web.log
	expect_eq "parse -o $o >/dev/full: exit 2" 2 "$RC"
	expect_eq "parse -o $o >/dev/full: the reason on stderr" "$FULL" "$ERR"
done
write_to closed "$LOGSHIP" parse -e "$RE" web.log
expect_eq "parse, stdout closed: exit 2" 2 "$RC"
expect_eq "parse, stdout closed: the reason on stderr" "$CLOSED" "$ERR"
write_to full "$LOGSHIP" parse -e "$RE" -c web.log
expect_eq "parse -c >/dev/full: exit 2" 2 "$RC"
expect_eq "parse -c >/dev/full: the reason on stderr" "$FULL" "$ERR"
write_to closed "$LOGSHIP" parse -e "$RE" -c web.log
expect_eq "parse -c, stdout closed: exit 2" 2 "$RC"
expect_eq "parse -c, stdout closed: the reason" "$CLOSED" "$ERR"
write_to full "$LOGSHIP" parse -e "$RE" --summary md web.log
expect_eq "parse --summary md >/dev/full: exit 2" 2 "$RC"
expect_eq "parse --summary md >/dev/full: the reason" "$FULL" "$ERR"
write_to full "$LOGSHIP" parse -e "$RE" --fail-on low web.log
expect_eq "parse --fail-on >/dev/full: exit 2, not 0" 2 "$RC"
# more than one buffer's worth: the error comes from a write in the middle
# of the run, which stops it
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "10.0.%d.%d GET 200\n", i % 250, i % 200 }' >big.log
write_to full "$LOGSHIP" parse -e "$RE" big.log
expect_eq "parse of a large file >/dev/full: exit 2" 2 "$RC"
expect_eq "parse of a large file >/dev/full: one message" "$FULL" "$ERR"

# a file opened while stdout is closed must not take its place: the events
# would go into it
write_to closed "$LOGSHIP" parse -e "$RE" --summary-file sum.md web.log
expect_eq "--summary-file, stdout closed: exit 2" 2 "$RC"
expect_eq "--summary-file, stdout closed: the reason" "$CLOSED" "$ERR"
expect_not_contains "--summary-file, stdout closed: no event in the summary file" \
	"$(cat sum.md)" '"source"'
expect_contains "--summary-file, stdout closed: the summary is written" "$(cat sum.md)" "events"

# a reader that goes away is not an error: quiet, and the exit says events
# were printed
"$LOGSHIP" parse -e "$RE" big.log 2>epipe.err | head -1 >/dev/null
rc=${PIPESTATUS[0]}
expect_eq "parse | head -1: exit 0" 0 "$rc"
expect_eq "parse | head -1: nothing on stderr" "" "$(cat epipe.err)"
"$LOGSHIP" parse -e "$RE" -o pretty big.log 2>epipe.err | head -1 >/dev/null
rc=${PIPESTATUS[0]}
expect_eq "parse -o pretty | head -1: exit 0" 0 "$rc"
expect_eq "parse -o pretty | head -1: nothing on stderr" "" "$(cat epipe.err)"

# ---- tail ----------------------------------------------------------------
write_to full "$LOGSHIP" tail --from-start -e "$RE" web.log
expect_eq "tail >/dev/full: exit 2 (it stops)" 2 "$RC"
expect_eq "tail >/dev/full: the reason on stderr" "$FULL" "$ERR"
write_to closed "$LOGSHIP" tail --from-start -e "$RE" web.log
expect_eq "tail, stdout closed: exit 2" 2 "$RC"
expect_eq "tail, stdout closed: the reason on stderr" "$CLOSED" "$ERR"

# ---- what goes through stdio: help, lists, status, completions -----------
mkdir st
for cmd in "--help" "--version" "help parse" "parse --help" "tail --help" \
	"patterns list" "patterns show nginx" "patterns test" "status --state st" \
	"completion bash"; do
	# shellcheck disable=SC2086
	write_to full "$LOGSHIP" $cmd
	expect_eq "$cmd >/dev/full: exit 2" 2 "$RC"
	expect_eq "$cmd >/dev/full: the reason on stderr" "$FULL" "$ERR"
done
write_to closed "$LOGSHIP" patterns list
expect_eq "patterns list, stdout closed: exit 2" 2 "$RC"
expect_eq "patterns list, stdout closed: the reason" "$CLOSED" "$ERR"
"$LOGSHIP" patterns list 2>epipe.err | head -1 >/dev/null
rc=${PIPESTATUS[0]}
expect_eq "patterns list | head -1: exit 0" 0 "$rc"
expect_eq "patterns list | head -1: nothing on stderr" "" "$(cat epipe.err)"

finish
