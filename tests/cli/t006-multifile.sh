#!/usr/bin/env bash
# t006-multifile: several files (log.file.path on each event), and a missing
# file, a directory or an unreadable file among them: a message naming it on
# stderr, the others still parsed, exit 2.
. "$SRC/tests/cli/lib.sh"

printf 'alpha one\nalpha two\n' >a.log
printf 'bravo one\n' >b.log
printf 'charlie one\ncharlie two\ncharlie three\n' >c.log
mkdir adir

# paths: the last word of each event's message and its log.file.path
paths() {
	awk -v mode=flat -f "$JSON_AWK" "$T/out" | awk -F'\t' '
		$1 == "message" { m = $2; sub(/"$/, "", m); n = split(m, w, " "); last = w[n] }
		$1 == "log.file.path" { print last " " $2 }'
}

expect_exit "three files: exit 0" 0 "$LOGSHIP" parse "$T/a.log" "$T/b.log" "$T/c.log"
expect_json_valid "three files: valid JSON" out
expect_eq "three files: every event, in order, with its log.file.path" \
	"$(printf '%s\n' "one \"$T/a.log\"" "two \"$T/a.log\"" "one \"$T/b.log\"" \
		"one \"$T/c.log\"" "two \"$T/c.log\"" "three \"$T/c.log\"")" "$(paths)"
expect_exit "relative paths: exit 0" 0 "$LOGSHIP" parse a.log b.log
expect_json_field "relative paths: log.file.path as given" "$(nth 3 out)" log.file.path '"b.log"'
expect_json_field "log.offset restarts in each file" "$(nth 3 out)" log.offset 0
expect_exit "-c over three files: exit 0" 0 "$LOGSHIP" parse -c a.log b.log c.log
expect_eq "-c over three files counts all" 6 "$OUT"
expect_exit "a file and stdin: exit 0" 0 "$LOGSHIP" parse -c a.log - <b.log
expect_eq "a file and stdin: both read" 3 "$OUT"
expect_exit "-m across files: exit 0" 0 "$LOGSHIP" parse -m 3 -c a.log b.log c.log
expect_eq "-m across files stops at 3" 3 "$OUT"

# a missing file among them
expect_exit "a missing file among others: exit 2" 2 "$LOGSHIP" parse "$T/a.log" "$T/missing.log" "$T/b.log"
expect_contains "a missing file: named on stderr" "$ERR" "$T/missing.log"
expect_contains "a missing file: the reason" "$ERR" "No such file or directory"
expect_eq "a missing file: the others' events" 3 "$(wc -l <out)"
expect_json_valid "a missing file: stdout stays JSON" out
expect_eq "a missing file: one line on stderr" 1 "$(wc -l <err)"
expect_exit "two missing files: exit 2" 2 "$LOGSHIP" parse nope1.log a.log nope2.log
expect_contains "two missing files: the first named" "$ERR" "nope1.log"
expect_contains "two missing files: the second named" "$ERR" "nope2.log"
expect_eq "two missing files: a's events" 2 "$(wc -l <out)"
expect_exit "only a missing file: exit 2" 2 "$LOGSHIP" parse missing.log
expect_eq "only a missing file: no output" "" "$OUT"

# a directory given as a file
expect_exit "a directory among files: exit 2" 2 "$LOGSHIP" parse a.log adir b.log
expect_contains "a directory: named on stderr" "$ERR" "adir"
expect_contains "a directory: the reason" "$ERR" "directory"
expect_eq "a directory: the others' events" 3 "$(wc -l <out)"

# an unreadable file: logship runs as nobody (root reads everything)
chmod 755 "$T"
mkdir -m 755 nb
cp "$LOGSHIP" nb/logship
cp a.log b.log nb/
printf 'secret one\n' >nb/secret.log
chmod 644 nb/a.log nb/b.log
chmod 000 nb/secret.log
if [ "$(id -u)" = 0 ]; then
	AS_NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
else
	AS_NOBODY=""
fi
expect_exit "an unreadable file among others: exit 2" 2 $AS_NOBODY "$T/nb/logship" parse "$T/nb/a.log" "$T/nb/secret.log" "$T/nb/b.log"
expect_contains "an unreadable file: named on stderr" "$ERR" "$T/nb/secret.log"
expect_contains "an unreadable file: Permission denied" "$ERR" "Permission denied"
expect_eq "an unreadable file: the others' events" 3 "$(wc -l <out)"
expect_not_contains "an unreadable file: nothing of it printed" "$OUT" "secret one"

finish
