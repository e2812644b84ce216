#!/usr/bin/env bash
# t016-tail: `logship tail` basics. Each follower runs in the background with
# its output in a file; the script waits (polling, generously) for the
# follower to have opened its files or for output lines, appends lines, then
# stops it with a signal and checks the exit code and what it printed. No
# check depends on timing: every wait ends as soon as its condition holds.
. "$SRC/tests/cli/lib.sh"

# ---- helpers -------------------------------------------------------------

# start_tail NAME ARGS...: runs `logship tail ARGS` in the background, stdout
# in $T/NAME.out, stderr in $T/NAME.err; its pid in $TPID
start_tail() {
	local name=$1
	shift
	"$LOGSHIP" tail "$@" >"$T/$name.out" 2>"$T/$name.err" &
	TPID=$!
	PIDS="$PIDS $TPID"
}

# alive PID: running (not gone, not a zombie)
alive() {
	local s
	s=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -n "$s" ] && [ "$s" != Z ]
}

gone() { ! alive "$1"; }

# has_open PATH...: the follower $TPID holds every PATH open (so it has
# found the file, chosen where to start and set up its watches)
has_open() {
	local want fd got
	for want in "$@"; do
		want=$(realpath "$want")
		got=0
		for fd in /proc/"$TPID"/fd/*; do
			[ "$(readlink "$fd" 2>/dev/null)" = "$want" ] && got=1 && break
		done
		[ "$got" = 1 ] || return 1
	done
	return 0
}

# ready NAME PATH...: waits until the follower has every PATH open
ready() {
	local name=$1
	shift
	if wait_for has_open "$@"; then pass; else
		fail "$name: the follower opened $*" "open within 10 s" \
			"not open (alive: $(alive "$TPID" && echo yes || echo no); stderr: $(cat "$T"/*.err 2>/dev/null | tail -3))"
	fi
}

# nlines FILE: its number of lines (0 when missing)
nlines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# has_lines N FILE: FILE has at least N lines
has_lines() { [ "$(nlines "$2")" -ge "$1" ]; }

# wait_lines N FILE: waits until FILE has at least N lines
wait_lines() { wait_for has_lines "$1" "$2"; }

# wait_text FILE TEXT: waits until FILE contains TEXT
wait_text() { wait_for grep -qF -- "$2" "$1"; }

# stop_tail SIGNAL: signals the follower, waits for it; its status in $TRC
# (a follower still running after 10 s is killed: status "hung")
stop_tail() {
	kill -"$1" "$TPID" 2>/dev/null
	if wait_for gone "$TPID"; then
		wait "$TPID"
		TRC=$?
	else
		kill -KILL "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
		TRC=hung
	fi
}

# msgs FILE: the message of each JSON event, one a line
msgs() {
	awk -v mode=flat -f "$JSON_AWK" "$1" | awk -F'\t' '
		$1 == "message" { v = $2; sub(/^"/, "", v); sub(/"$/, "", v); print v }'
}

# pairs FILE: "message path" of each JSON event, one a line
pairs() {
	awk -v mode=flat -f "$JSON_AWK" "$1" | awk -F'\t' '
		$1 == "message" { m = $2; sub(/^"/, "", m); sub(/"$/, "", m) }
		$1 == "log.file.path" { p = $2; sub(/^"/, "", p); sub(/"$/, "", p); print m " " p }'
}

lines() { printf '%s\n' "$@"; }

SSH_FAIL='Nov 14 10:00:00 host sshd[123]: Failed password for root from 203.0.113.5 port 22 ssh2'

# ---- default start: at the end ------------------------------------------

printf 'old one\nold two\nold three\n' >a.log
start_tail end -o json a.log
ready "end" a.log
printf 'new one\nnew two\n' >>a.log
wait_lines 2 end.out
printf '%s\n' "$SSH_FAIL" >>a.log
wait_lines 3 end.out
stop_tail TERM
expect_eq "end: SIGTERM exits 0" 0 "$TRC"
expect_json_valid "end: valid JSON" end.out
expect_eq "end: only the appended lines, in order" \
	"$(lines "new one" "new two" "Failed password for root from 203.0.113.5 port 22 ssh2")" \
	"$(msgs end.out)"
expect_json_field "end: log.file.path as given" "$(nth 1 end.out)" log.file.path '"a.log"'
expect_json_field "end: log.offset of the first new line" "$(nth 1 end.out)" log.offset 26
expect_eq "end: nothing on stderr" "" "$(cat end.err)"

# security tagging in tail
expect_match "tagging: rule.id of sshd Failed password" "$(json_get "$(nth 3 end.out)" rule.id)" '^"ssh\.'
expect_json_field "tagging: source.ip" "$(nth 3 end.out)" source.ip '"203.0.113.5"'
expect_contains "tagging: tagged security" "$(json_get "$(nth 3 end.out)" tags)" '"security"'
expect_json_field "tagging: user.name" "$(nth 3 end.out)" user.name '"root"'
expect_eq "tagging: untagged lines have no rule.id" "" "$(json_get "$(nth 1 end.out)" rule.id)"

# the same with --poll instead of inotify
start_tail poll -o json --poll 50 a.log
ready "poll" a.log
printf 'polled line\n' >>a.log
wait_lines 1 poll.out
stop_tail TERM
expect_eq "--poll: SIGTERM exits 0" 0 "$TRC"
expect_eq "--poll: only the appended line" "polled line" "$(msgs poll.out)"

# ---- -n N and --from-start ----------------------------------------------

printf 'l1\nl2\nl3\nl4\nl5\n' >n.log
start_tail lines -o json -n 2 n.log
wait_lines 2 lines.out
ready "-n 2" n.log
printf 'l6\n' >>n.log
wait_lines 3 lines.out
stop_tail TERM
expect_eq "-n 2: SIGTERM exits 0" 0 "$TRC"
expect_eq "-n 2: the last 2 lines, then the new one" "$(lines l4 l5 l6)" "$(msgs lines.out)"

start_tail lines0 -o json -n 0 n.log
ready "-n 0" n.log
printf 'l7\n' >>n.log
wait_lines 1 lines0.out
stop_tail TERM
expect_eq "-n 0: only the new line" "l7" "$(msgs lines0.out)"

start_tail begin -o json --from-start n.log
wait_lines 7 begin.out
ready "--from-start" n.log
printf 'l8\n' >>n.log
wait_lines 8 begin.out
stop_tail INT
expect_eq "--from-start: SIGINT exits 0" 0 "$TRC"
expect_eq "--from-start: every line, then the new one" \
	"$(lines l1 l2 l3 l4 l5 l6 l7 l8)" "$(msgs begin.out)"
expect_json_field "--from-start: first line at offset 0" "$(nth 1 begin.out)" log.offset 0

# ---- files and directories that appear later ----------------------------

mkdir logs
printf 'a old\n' >logs/a.log
start_tail glob -o json 'logs/*.log'
ready "glob" logs/a.log
printf 'b first\nb second\n' >logs/b.log
printf 'not matched\n' >logs/b.txt
wait_lines 2 glob.out
printf 'a new\n' >>logs/a.log
wait_lines 3 glob.out
stop_tail TERM
expect_eq "glob: SIGTERM exits 0" 0 "$TRC"
expect_eq "glob: a new file is read from its first line, an old one from its end" \
	"$(lines "b first logs/b.log" "b second logs/b.log" "a new logs/a.log")" "$(pairs glob.out)"

mkdir -p deep
printf 'top old\n' >deep/top.log
start_tail deep -o json 'deep/**/*.log'
ready "**" deep/top.log
mkdir -p deep/new/sub
printf 'deep line\n' >deep/new/sub/x.log
wait_lines 1 deep.out
mkdir deep/later
printf 'later line\n' >deep/later/y.log
wait_lines 2 deep.out
printf 'top new\n' >>deep/top.log
wait_lines 3 deep.out
stop_tail TERM
expect_eq "**: SIGTERM exits 0" 0 "$TRC"
expect_contains "**: a file in a new nested directory is read" "$(pairs deep.out)" "deep line deep/new/sub/x.log"
expect_contains "**: a file in a new directory is read" "$(pairs deep.out)" "later line deep/later/y.log"
expect_contains "**: the old file still followed" "$(pairs deep.out)" "top new deep/top.log"
expect_eq "**: three events" 3 "$(nlines deep.out)"

# --exclude: a base-name pattern and a path pattern
mkdir -p ex/skip
printf 'keep one\n' >ex/keep.log
printf 'gz one\n' | gzip >ex/old.log.gz
printf 'skip one\n' >ex/skip/s.log
start_tail ex -o json --from-start --exclude '*.gz' --exclude 'ex/skip/*' 'ex/**/*'
wait_lines 1 ex.out
ready "--exclude" ex/keep.log
printf 'skip two\n' >>ex/skip/s.log
printf 'skip new\n' >ex/skip/t.log
printf 'gz new\n' | gzip >ex/new.log.gz
printf 'late one\n' >ex/late.log
wait_text ex.out "late one"
printf 'keep two\n' >>ex/keep.log
wait_text ex.out "keep two"
stop_tail TERM
expect_eq "--exclude: SIGTERM exits 0" 0 "$TRC"
expect_eq "--exclude: only the files not excluded" \
	"$(lines "keep one ex/keep.log" "late one ex/late.log" "keep two ex/keep.log")" "$(pairs ex.out)"

# ---- --where and tsv ----------------------------------------------------

printf 'keep zero\n' >w.log
start_tail where -o tsv --fields message -w 'message~^keep' w.log
ready "--where" w.log
printf 'drop one\nkeep one\ndrop two\nkeep two\n' >>w.log
wait_lines 3 where.out
printf 'drop three\nkeep three\n' >>w.log
wait_lines 4 where.out
stop_tail TERM
expect_eq "--where + tsv: SIGTERM exits 0" 0 "$TRC"
expect_eq "--where + tsv --fields message: header, then matching lines only" \
	"$(lines message "keep one" "keep two" "keep three")" "$(cat where.out)"

start_tail where2 -o json --where source.ip=203.0.113.5 -w tag:security w.log
ready "--where source.ip" w.log
printf 'noise\n%s\n%s\n' "$SSH_FAIL" \
	"${SSH_FAIL/203.0.113.5/198.51.100.7}" >>w.log
printf '%s\n' "${SSH_FAIL/root/admin}" >>w.log
wait_lines 2 where2.out
stop_tail TERM
expect_eq "--where source.ip + tag: only the tagged events from that address" \
	"$(lines "Failed password for root from 203.0.113.5 port 22 ssh2" \
		"Failed password for admin from 203.0.113.5 port 22 ssh2")" "$(msgs where2.out)"

# ---- pretty output: the file name prefix --------------------------------

printf 'p old\n' >p1.log
printf 'q old\n' >p2.log
start_tail pretty2 -o pretty --color never p1.log p2.log
ready "pretty, two files" p1.log p2.log
printf 'from p1\n' >>p1.log
wait_lines 1 pretty2.out
printf 'from p2\n' >>p2.log
wait_lines 2 pretty2.out
stop_tail TERM
expect_eq "pretty, two files: SIGTERM exits 0" 0 "$TRC"
expect_match "pretty, two files: p1's line prefixed with its name" "$(cat pretty2.out)" '^p1\.log +[0-9]{4}-.*from p1$'
expect_match "pretty, two files: p2's line prefixed with its name" "$(cat pretty2.out)" '^p2\.log +[0-9]{4}-.*from p2$'
expect_not_contains "pretty: no escape codes with --color never" "$(cat pretty2.out)" $'\033'

start_tail prettyg -o pretty --color never 'logs/*.log'
ready "pretty, glob" logs/a.log
printf 'glob pretty\n' >>logs/a.log
wait_lines 1 prettyg.out
stop_tail TERM
expect_match "pretty, a glob: short file name prefix" "$(cat prettyg.out)" '^a\.log +[0-9]{4}-.*glob pretty$'

start_tail pretty1 -o pretty --color never "$T/p1.log"
ready "pretty, one file" p1.log
printf 'single\n' >>p1.log
wait_lines 1 pretty1.out
stop_tail INT
expect_eq "pretty, one file: SIGINT exits 0" 0 "$TRC"
expect_match "pretty, one file: no file name prefix" "$(cat pretty1.out)" '^2023-11-15T00:00:00\.000Z .*single$'
expect_not_contains "pretty, one file: the name not printed" "$(cat pretty1.out)" "p1.log"

# ---- errors -------------------------------------------------------------

expect_exit "no paths: exit 2" 2 "$LOGSHIP" tail
expect_contains "no paths: a logship tail: message" "$ERR" "logship tail:"
expect_eq "no paths: nothing on stdout" "" "$OUT"
expect_exit "--journal with paths: exit 2" 2 "$LOGSHIP" tail --journal a.log
expect_contains "--journal with paths: a logship tail: message" "$ERR" "logship tail:"
expect_exit "--poll x: exit 2" 2 "$LOGSHIP" tail --poll x a.log
expect_contains "--poll x: names the option" "$ERR" "--poll"
expect_contains "--poll x: a logship tail: message" "$ERR" "logship tail:"

# ---- no --state: no state anywhere ---------------------------------------

expect_eq "no --state: no state or lock file anywhere" "" \
	"$(find "$T" \( -name '*.state' -o -name '*.lock' -o -name '*.state.*' \) -print)"
expect_eq "no --state: \$HOME and the XDG dirs stay empty" "" \
	"$(find "$HOME" "$XDG_STATE_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME" "$XDG_CONFIG_HOME" -mindepth 1 -print)"

# ---- --state: resume where it stopped ------------------------------------

TP=$(pwd -P)
printf 's1\ns2\n' >st.log
start_tail st1 -o json --state sd st.log
ready "--state, first run" st.log
printf 's3\ns4\n' >>st.log
wait_lines 2 st1.out
stop_tail TERM
expect_eq "--state, first run: SIGTERM exits 0" 0 "$TRC"
expect_eq "--state, first run: starts at the end" "$(lines s3 s4)" "$(msgs st1.out)"
expect_eq "--state: DIR created 0700" 700 "$(stat -c %a sd 2>&1)"
expect_eq "--state: one state file" 1 "$(find sd -name '*.state' | wc -l)"
STATE=$(find sd -name '*.state' | head -1)
expect_eq "--state: state file 0600" 600 "$(stat -c %a "$STATE" 2>&1)"
expect_match "--state: the state file names the file" "$(cat "$STATE" 2>&1)" '^file [0-9]+ [0-9]+ .* st\.log$'

printf 's5\ns6\n' >>st.log
start_tail st2 -o json --state sd st.log
wait_lines 2 st2.out
ready "--state, second run" st.log

# a second run of the same pipeline while this one runs: the lock
expect_exit "--state held: a second run exits 5" 5 "$LOGSHIP" tail -o json --state sd st.log
expect_contains "--state held: names the state file" "$ERR" "$STATE"
expect_contains "--state held: says in use" "$ERR" "in use"
expect_contains "--state held: names the holder's pid" "$ERR" "(pid $TPID)"
expect_eq "--state held: prints nothing" "" "$OUT"
expect_eq "--state held: the first still runs" yes "$(alive "$TPID" && echo yes || echo no)"

printf 's7\n' >>st.log
wait_lines 3 st2.out
stop_tail TERM
expect_eq "--state, second run: SIGTERM exits 0" 0 "$TRC"
expect_eq "--state, second run: only the lines appended while stopped, then new ones" \
	"$(lines s5 s6 s7)" "$(msgs st2.out)"

# another directory, the absolute path: the same pipeline, the same state
printf 's8\n' >>st.log
mkdir other
cd other || exit 1
start_tail st3 -o json --state "$T/sd" "$TP/st.log"
cd "$T" || exit 1
wait_lines 1 st3.out
ready "--state, absolute path" st.log
printf 's9\n' >>st.log
wait_lines 2 st3.out
stop_tail TERM
expect_eq "--state, absolute path from another cwd: SIGTERM exits 0" 0 "$TRC"
expect_eq "--state, absolute path from another cwd: resumes the same state" \
	"$(lines s8 s9)" "$(msgs st3.out)"
expect_json_field "--state, absolute path: log.file.path as given" "$(nth 1 st3.out)" log.file.path "\"$TP/st.log\""
expect_eq "--state, absolute path: still one state file" 1 "$(find sd -name '*.state' | wc -l)"

# an existing state directory keeps its mode
mkdir -m 755 sd2
start_tail st4 -o json --state sd2 st.log
ready "--state, existing dir" st.log
stop_tail TERM
expect_eq "--state, existing dir: exit 0" 0 "$TRC"
expect_eq "--state, existing dir: keeps its mode" 755 "$(stat -c %a sd2)"
expect_eq "--state, existing dir: state file 0600" 600 "$(stat -c %a sd2/*.state 2>&1)"

# a missing state directory is made with its parents, 0700
start_tail st5 -o json --state nest/ed/sd st.log
ready "--state, nested dir" st.log
stop_tail TERM
expect_eq "--state, nested dir: exit 0" 0 "$TRC"
expect_eq "--state, nested dir: DIR 0700" 700 "$(stat -c %a nest/ed/sd 2>&1)"
expect_eq "--state, nested dir: state file 0600" 600 "$(stat -c %a nest/ed/sd/*.state 2>&1)"

# ---- a corrupt state file -------------------------------------------------

printf 'c1\n' >>st.log
printf 'X' | dd of="$STATE" bs=1 seek=0 count=1 conv=notrunc 2>/dev/null
start_tail corrupt -o json --state sd st.log
ready "corrupt state" st.log
printf 'c2\n' >>st.log
wait_lines 1 corrupt.out
stop_tail TERM
expect_eq "corrupt state: the run goes on, SIGTERM exits 0" 0 "$TRC"
expect_contains "corrupt state: a warning names the state file" "$(cat corrupt.err)" "$STATE"
expect_contains "corrupt state: the warning says damaged" "$(cat corrupt.err)" "damaged"
expect_contains "corrupt state: the warning names the .corrupt- file" "$(cat corrupt.err)" "$STATE.corrupt-"
expect_contains "corrupt state: the warning says it goes on without state" "$(cat corrupt.err)" "without state"
expect_eq "corrupt state: the .corrupt- file exists" 1 "$(find sd -name '*.state.corrupt-*' | wc -l)"
expect_eq "corrupt state: as with no state, starts at the end" "c2" "$(msgs corrupt.out)"
expect_match "corrupt state: a fresh valid state saved" "$(head -1 "$STATE" 2>&1)" '^logship-state 1$'
start_tail after -o json --state sd st.log
ready "after corrupt state" st.log
printf 'c3\n' >>st.log
wait_lines 1 after.out
stop_tail TERM
expect_eq "after corrupt state: no warning" "" "$(cat after.err)"
expect_eq "after corrupt state: resumes" "c3" "$(msgs after.out)"

finish
