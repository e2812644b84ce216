#!/usr/bin/env bash
# t020-terminal: the progress line on stderr (only on a terminal: under a
# pseudo-terminal made by script(1), never in a pipe, a file, with CI set,
# TERM=dumb or --no-progress, nor while events go to the terminal or a pipe;
# erased before messages and at the end); the Markdown summary on stdout
# and in --summary-file (sections and counts on samples/auth.log, Markdown
# escaping, bounded tables); ship -q.
. "$SRC/tests/cli/lib.sh"

AUTH=$SRC/samples/auth.log
ERASE=$'\r\033[K'

# pty CMD: runs the shell command CMD with stdin, stdout and stderr on a
# pseudo-terminal (unless CMD redirects them); $OUT is what the terminal got.
# The progress line is drawn at once (LOGSHIP_PROGRESS_DELAY=0) for a
# terminal that can show it (TERM=xterm, CI unset).
pty() {
	run env -u CI TERM=xterm LOGSHIP_PROGRESS_DELAY=0 script -qec "$1" /dev/null
}

if ! command -v script >/dev/null; then
	echo "t020: script (bsdutils) is missing: the terminal checks are skipped" >&2
else
	# ---- shown on a terminal -------------------------------------------------
	pty "$LOGSHIP parse -c $AUTH"
	expect_eq "progress: parse -c exits 0 under a pty" 0 "$RC"
	expect_contains "progress: drawn from the line's start, cleared to its end" "$OUT" "${ERASE}logship: "
	expect_contains "progress: bytes done of the total" "$OUT" "6.0 KiB of 6.0 KiB (100%)"
	expect_contains "progress: events/s" "$OUT" " events/s"
	expect_contains "progress: time left" "$OUT" "ETA "
	expect_contains "progress: erased before the count is printed" "$OUT" "${ERASE}63"
	expect_eq "progress: one line, never a newline inside" 0 \
		"$(printf '%s' "$OUT" | grep -c 'events/s.*\n')"

	# stdout to a file, events not on the terminal: shown
	pty "$LOGSHIP parse -o json $AUTH >$T/events.json"
	expect_contains "progress: with stdout in a file" "$OUT" "events/s"
	expect_eq "progress: the events are untouched" 63 "$(wc -l <events.json | tr -d ' ')"
	# the last thing on the terminal is the erasure: nothing is left behind
	expect_eq "progress: erased at the end" "$ERASE" "${OUT: -4}"

	# stdin: no total
	pty "cat $AUTH | $LOGSHIP parse -c"
	expect_contains "progress: stdin: bytes and events/s" "$OUT" "logship: 6.0 KiB, "
	expect_not_contains "progress: stdin: no total" "$OUT" " of "
	expect_not_contains "progress: stdin: no ETA" "$OUT" "ETA"

	# several files: the total is their sum
	cp "$AUTH" a.log
	cp "$AUTH" b.log
	pty "$LOGSHIP parse -c a.log b.log"
	expect_contains "progress: the total of all inputs" "$OUT" "of 11.9 KiB"

	# erased before a message: the error starts its own line
	pty "$LOGSHIP parse -c a.log missing.log b.log"
	expect_eq "progress: an unreadable file: exit 2" 2 "$RC"
	expect_contains "progress: erased before an error" "$OUT" "${ERASE}logship: missing.log: No such file"

	# ---- never ------------------------------------------------------------------
	pty "$LOGSHIP parse -c $AUTH 2>$T/err.txt"
	expect_not_contains "progress: never into a file" "$(cat err.txt)" "events/s"
	expect_not_contains "progress: stderr in a file: not on the terminal" "$OUT" "events/s"
	pty "$LOGSHIP parse -c $AUTH 2>&1 | cat"
	expect_not_contains "progress: never into a pipe" "$OUT" "events/s"
	expect_contains "progress: the pipe still gets the count" "$OUT" "63"
	run env CI=1 TERM=xterm LOGSHIP_PROGRESS_DELAY=0 script -qec "$LOGSHIP parse -c $AUTH" /dev/null
	expect_not_contains "progress: never with CI=1" "$OUT" "events/s"
	expect_contains "progress: CI=1: the count" "$OUT" "63"
	run env -u CI TERM=dumb LOGSHIP_PROGRESS_DELAY=0 script -qec "$LOGSHIP parse -c $AUTH" /dev/null
	expect_not_contains "progress: never with TERM=dumb" "$OUT" "events/s"
	pty "$LOGSHIP parse -c --no-progress $AUTH"
	expect_not_contains "progress: --no-progress" "$OUT" "events/s"
	pty "$LOGSHIP parse -o json $AUTH"
	expect_not_contains "progress: not between events on the same terminal" "$OUT" "events/s"
	pty "$LOGSHIP parse -o json $AUTH | cat"
	expect_not_contains "progress: not when the events go down a pipe (| jq may print them)" "$OUT" "events/s"
	pty "$LOGSHIP parse -c $AUTH | cat"
	expect_contains "progress: -c into a pipe: the count comes at the end" "$OUT" "events/s"
	pty "$LOGSHIP parse -o json $AUTH >/dev/null"
	expect_contains "progress: events into /dev/null" "$OUT" "events/s"
	pty "LOGSHIP_PROGRESS_DELAY=60000 $LOGSHIP parse -c $AUTH"
	expect_not_contains "progress: not for a run shorter than the delay" "$OUT" "events/s"

	# ---- ship --once ----------------------------------------------------------
	pty "$LOGSHIP ship --once --state $T/st1 --to file://$T/sink1.ndjson $AUTH"
	expect_eq "ship --once: exit 0 under a pty" 0 "$RC"
	expect_contains "ship --once: progress over the unread bytes" "$OUT" "of 6.0 KiB"
	expect_contains "ship --once: the progress is erased before the summary" "$OUT" "${ERASE}logship ship: 1 files, 63 events"
	cat "$AUTH" >>grow.log
	run "$LOGSHIP" ship --once --state "$T/st2" --to "file://$T/sink2.ndjson" grow.log
	head -3 "$AUTH" >>grow.log
	pty "$LOGSHIP ship --once --state $T/st2 --to file://$T/sink2.ndjson grow.log"
	expect_contains "ship --once: the total is what the checkpoints leave" "$OUT" \
		" of $(head -3 "$AUTH" | wc -c | tr -d ' ') B ("
	pty "$LOGSHIP ship --once -q --state $T/st3 --to file://$T/sink3.ndjson $AUTH"
	expect_eq "ship -q: exit 0" 0 "$RC"
	expect_eq "ship -q: nothing on the terminal" "" "$OUT"
	pty "$LOGSHIP ship --once --no-progress --state $T/st4 --to file://$T/sink4.ndjson $AUTH"
	expect_not_contains "ship --no-progress: no progress" "$OUT" "events/s"
	expect_contains "ship --no-progress: the summary line" "$OUT" "logship ship: 1 files"
	pty "$LOGSHIP ship --once --state $T/st5 --to - $AUTH"
	expect_not_contains "ship --to -: no progress between the events" "$OUT" "events/s"
	pty "$LOGSHIP ship --once --state $T/st5b --to - $AUTH | cat"
	expect_not_contains "ship --to - into a pipe: no progress" "$OUT" "events/s"
	pty "$LOGSHIP ship --once --state $T/st5c --to - $AUTH >$T/ship-stdout.ndjson"
	expect_contains "ship --to - into a file: progress" "$OUT" "events/s"
fi

# ---- ship -q -------------------------------------------------------------------
expect_exit "ship -q --once: exit 0" 0 "$LOGSHIP" ship -q --once --state st6 --to "file://$T/sink6.ndjson" "$AUTH"
expect_eq "ship -q: no summary line" "" "$ERR"
expect_eq "ship -q: delivered" 63 "$(wc -l <sink6.ndjson | tr -d ' ')"
expect_exit "ship --quiet: the long name" 0 "$LOGSHIP" ship --quiet --once --state st7 --to "file://$T/sink7.ndjson" "$AUTH"
expect_eq "ship --quiet: no summary line" "" "$ERR"
expect_exit "ship --once without -q: exit 0" 0 "$LOGSHIP" ship --once --state st8 --to "file://$T/sink8.ndjson" "$AUTH"
expect_match "ship --once without -q: the summary line" "$ERR" '^logship ship: 1 files, 63 events, '
expect_exit "ship -q: an error is still shown (exit 2)" 2 "$LOGSHIP" ship -q --once --state st9 --to "file://$T/no/such/dir/x.ndjson" "$AUTH"
expect_contains "ship -q: the error" "$ERR" "cannot open $T/no/such/dir/x.ndjson"
expect_exit "ship -q: a sink that fails: exit 3" 3 "$LOGSHIP" ship -q --once --state st10 \
	--to http://127.0.0.1:1/ --max-retry-time 1s --backoff-base 10ms "$AUTH"
expect_contains "ship -q: a failed run still says why" "$ERR" "gave up: "

# ---- the summary on stdout -----------------------------------------------------
expect_exit "--summary md: exit 0" 0 "$LOGSHIP" parse --summary md "$AUTH"
sum=$OUT
# section SUM TITLE: the lines of the section "## TITLE" of the summary SUM
section() {
	printf '%s\n' "$1" | awk -v t="## $2" '$0 == t { on = 1; next } on && /^## / { exit } on'
}
expect_eq "summary: the sections, in order" \
	"# logship summary|## Formats|## Levels|## Top sources|## Security findings|## First events by rule" \
	"$(printf '%s\n' "$sum" | grep '^#' | paste -sd '|' -)"
expect_contains "summary: totals" "$sum" "| 59 | 63 | 0 | 4 |"
expect_contains "summary: the format" "$(section "$sum" Formats)" "| syslog | 59 |"
levels=$(section "$sum" Levels)
expect_eq "summary: counts by level, highest first" \
	"| high | 1 |;| medium | 9 |;| low | 28 |;| informational | 6 |" \
	"$(printf '%s\n' "$levels" | grep -E '^\| (critical|high|medium|low|informational) ' | paste -sd ';' -)"
sources=$(section "$sum" "Top sources")
expect_eq "summary: the brute-forcing address leads the sources" "| 203.0.113.45 | 22 | 22 |" \
	"$(printf '%s\n' "$sources" | grep -E '^\| [0-9a-f]' | head -1)"
expect_contains "summary: an IPv6 source" "$sources" "| 2001:db8:bad::17 | 2 | 2 |"
expect_contains "summary: a source with no finding" "$sources" "| 198.51.100.20 | 1 | 0 |"
rules=$(section "$sum" "Security findings")
expect_contains "summary: brute force by rule" "$rules" "| auth.brute_force | medium | 3 |"
expect_contains "summary: password spraying" "$rules" "| auth.password_spraying | high | 1 |"
expect_contains "summary: failed passwords" "$rules" "| ssh.failed_password | low | 9 |"
expect_eq "summary: rules by level, highest first" "auth.password_spraying" \
	"$(printf '%s\n' "$rules" | grep -E '^\| [a-z]' | grep -v '^| rule ' | head -1 | cut -d' ' -f2)"
first=$(section "$sum" "First events by rule")
expect_eq "summary: at most 3 first events of a rule" 3 \
	"$(printf '%s\n' "$first" | grep -c '^| ssh.failed_password |')"
expect_eq "summary: every first event of a rule" 1 \
	"$(printf '%s\n' "$first" | grep -c '^| auth.password_spraying |')"
expect_contains "summary: a first event: time, source, message" "$first" \
	"| ssh.failed_password | 2023-11-14T22:05:45.000Z | 203.0.113.45 | Failed password for invalid user admin from 203.0.113.45 port 40112 ssh2 |"
expect_contains "summary: Markdown is escaped" "$first" 'pam\_unix(sshd:auth)'
expect_not_contains "summary: no event on stdout" "$sum" '"@timestamp"'

# escaping: pipes, backticks and HTML stay inside their cell; control
# characters go; long messages are cut
{
	printf 'Nov 14 22:05:45 web01 sshd[1]: Failed password for invalid user a|b`c\001d<b>e\033[31m from 192.0.2.1 port 22 ssh2\n'
	printf 'Nov 14 22:05:46 web01 sshd[1]: Failed password for invalid user %s from 192.0.2.1 port 22 ssh2\n' \
		"$(printf 'x%.0s' $(seq 200))"
} >esc.log
expect_exit "summary: odd messages: exit 0" 0 "$LOGSHIP" parse --summary md esc.log
esc=$(section "$OUT" "First events by rule")
row=$(printf '%s\n' "$esc" | grep '^| ssh.failed_password |' | head -1)
expect_contains "summary: pipe, backtick, < and [ escaped" "$row" 'user a\|b\`cd\<b\>e\[31m from'
expect_eq "summary: a row keeps its 4 cells" 5 "$(printf '%s' "$row" | sed 's/\\|//g' | tr -cd '|' | wc -c)"
expect_eq "summary: no control character" "" "$(printf '%s' "$OUT" | tr -d '\n' | tr -d '[:print:]' | LC_ALL=C tr -d '\200-\377')"
row=$(printf '%s\n' "$esc" | grep '^| ssh.failed_password |' | sed -n 2p)
msg=$(printf '%s' "$row" | awk -F' \\| ' '{ print $4 }')
msg=${msg% |}
expect_eq "summary: a long message is cut to 120 characters" 120 "$(printf '%s' "${msg%…}" | wc -c | tr -d ' ')"
expect_contains "summary: … marks the cut" "$row" "xxx… |"

# bounded: 6000 distinct sources; the frequent one still leads
awk 'BEGIN { for (i = 0; i < 30000; i++) {
	if (i % 5 == 0) ip = "192.0.2.250"; else ip = sprintf("10.%d.%d.%d", (i / 65536) % 256, (i / 256) % 256, i % 256)
	printf "login from %s\n", ip } }' >many.log
expect_exit "summary: many sources: exit 0" 0 "$LOGSHIP" parse --summary md -e 'login from %{IP:source.ip}' many.log
many=$(section "$OUT" "Top sources")
expect_eq "summary: the frequent source leads" "| 192.0.2.250 | 6000 | 0 |" \
	"$(printf '%s\n' "$many" | grep -E '^\| [0-9]' | head -1)"
expect_eq "summary: 10 sources listed" 10 "$(printf '%s\n' "$many" | grep -cE '^\| [0-9]')"
expect_contains "summary: past the table's size the ranking says it is approximate" "$many" "More than 4096 distinct sources"

# ---- --summary-file --------------------------------------------------------------
expect_exit "--summary-file: exit 0" 0 "$LOGSHIP" parse -o json --summary-file step.md "$AUTH"
expect_eq "--summary-file: the events still on stdout" 63 "$(wc -l <out | tr -d ' ')"
expect_not_contains "--summary-file: no summary on stdout" "$OUT" "# logship summary"
expect_eq "--summary-file: the same summary as --summary md" "$sum" "$(cat step.md)"
printf '# Earlier step\n' >gh.md
expect_exit "--summary-file: appends" 0 "$LOGSHIP" parse -c --summary-file gh.md "$AUTH"
expect_eq "--summary-file: with -c, the count on stdout" 63 "$OUT"
expect_eq "--summary-file: the earlier text is kept" "# Earlier step" "$(head -1 gh.md)"
expect_eq "--summary-file: then the summary" "# logship summary" "$(sed -n 2p gh.md)"
expect_exit "--summary-file with --fail-on: exit 1" 1 "$LOGSHIP" parse --fail-on medium -o json --summary-file gh.md "$AUTH"
expect_eq "--summary-file: each run appends its summary" 2 "$(grep -c '^# logship summary' gh.md)"
expect_exit "--summary-file: with --where" 0 "$LOGSHIP" parse -o json -w 'source.ip=203.0.113.45' --summary-file where.md "$AUTH"
expect_contains "--summary-file: counts what --where kept" "$(cat where.md)" "| 59 | 22 | 0 | 4 |"
expect_exit "--summary-file in a missing directory: exit 2" 2 "$LOGSHIP" parse --summary-file no/such/dir.md "$AUTH"
expect_contains "--summary-file: says why" "$ERR" "--summary-file no/such/dir.md: No such file or directory"
expect_eq "--summary-file: nothing parsed after the error" "" "$OUT"

finish
