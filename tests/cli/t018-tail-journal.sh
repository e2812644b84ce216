#!/usr/bin/env bash
# t018-tail-journal: `logship tail --journal` on a journal directory built
# from export-format text by systemd-journal-remote: the journal's fields
# (time, host, process, priority, unit) on each event, the security rules
# applied to the messages, entries appended while it runs, --journal-unit,
# -n, a --state cursor that resumes after a restart, a bad --journal-match,
# and exit 0 on SIGTERM. Every wait polls for its condition (never a fixed
# sleep that a slow machine could outrun); the background runs are stopped
# with SIGTERM and are under `timeout` so none outlives the script.
. "$SRC/tests/cli/lib.sh"

REMOTE=
for p in /lib/systemd/systemd-journal-remote /usr/lib/systemd/systemd-journal-remote; do
	[ -x "$p" ] && { REMOTE=$p; break; }
done
if [ -z "$REMOTE" ]; then
	fail "systemd-journal-remote is installed" \
		"/lib/systemd/systemd-journal-remote (package systemd-journal-remote: make deps)" "missing"
	finish
fi

BOOT=0123456789abcdef0123456789abcdef
# entry REALTIME_US MONOTONIC_US MESSAGE FIELD=VALUE...: one entry in the
# journal export format, a blank line after it.
entry() {
	printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n_BOOT_ID=%s\nMESSAGE=%s\n' \
		"$1" "$2" "$BOOT" "$3"
	shift 3
	printf '%s\n' "$@"
	printf '\n'
}
# append FILE: adds the export-format entries in FILE to jdir/x.journal
# (created on the first call; later calls append to the same file).
append() {
	"$REMOTE" --output="$T/jdir/x.journal" - <"$1" 2>>"$T/remote.log"
}

# 2023-11-14T22:13:20.123456Z, then a second apart
{
	entry 1700000000123456 1000000 \
		"Failed password for invalid user admin from 203.0.113.7 port 4242 ssh2" \
		_HOSTNAME=web1 SYSLOG_IDENTIFIER=sshd _COMM=sshd _PID=812 PRIORITY=5 \
		_SYSTEMD_UNIT=ssh.service
	entry 1700000001000000 2000000 \
		"alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh" \
		_HOSTNAME=web1 SYSLOG_IDENTIFIER=sudo _COMM=sudo _PID=2001 PRIORITY=1 \
		_SYSTEMD_UNIT=session-3.scope
	entry 1700000002000000 3000000 \
		"Started cron.service - Regular background program processing daemon." \
		_HOSTNAME=web1 SYSLOG_IDENTIFIER=systemd _COMM=systemd _PID=1 PRIORITY=6 \
		UNIT=cron.service _SYSTEMD_UNIT=init.scope
} >first.export
entry 1700000003000000 4000000 \
	"Accepted publickey for bob from 198.51.100.7 port 40022 ssh2" \
	_HOSTNAME=web1 SYSLOG_IDENTIFIER=sshd _COMM=sshd _PID=813 PRIORITY=6 \
	_SYSTEMD_UNIT=ssh.service >second.export
entry 1700000004000000 5000000 \
	"Connection closed by authenticating user root 192.0.2.44 port 51000 [preauth]" \
	_HOSTNAME=web2 SYSLOG_IDENTIFIER=sshd _COMM=sshd _PID=900 PRIORITY=6 \
	_SYSTEMD_UNIT=ssh.service >third.export

mkdir jdir
check "systemd-journal-remote builds the journal" append first.export

# wait_for DESC CMD...: polls CMD (every 50 ms, up to 10 s) until it succeeds;
# fails the check DESC when it never does.
wait_for() {
	local desc=$1 i
	shift
	for ((i = 0; i < 200; i++)); do
		"$@" && { pass; return 0; }
		sleep 0.05
	done
	fail "$desc" "the condition within 10 s: $*" "not met"
	return 1
}
has_lines() { [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# start OUTFILE ARGS...: logship tail --journal in the background; $BG is its pid.
start() {
	local out=$1
	shift
	: >"$T/$out"
	LAST_CMD="logship tail --journal --journal-directory jdir $*"
	timeout 30 "$LOGSHIP" tail --journal --journal-directory "$T/jdir" "$@" \
		>"$T/$out" 2>"$T/err" &
	BG=$!
}
# stop NAME: SIGTERM to the background run; it exits 0.
stop() {
	kill -TERM "$BG" 2>/dev/null
	wait "$BG"
	local rc=$?
	expect_eq "$1: SIGTERM exits 0" 0 "$rc"
}
field() { json_get "$(nth "$1" "$2")" "$3"; }

# ---- from the start: the journal's fields and the rules
start follow.json --from-start -o json
wait_for "--from-start: the 3 entries are printed" has_lines follow.json 3
expect_json_valid "--from-start: valid JSON" follow.json
expect_eq "--from-start: 3 events" 3 "$(wc -l <follow.json)"

l1=$(nth 1 follow.json)
expect_json_field "sshd: @timestamp from __REALTIME_TIMESTAMP (UTC, ms)" "$l1" @timestamp '"2023-11-14T22:13:20.123Z"'
expect_json_field "sshd: message" "$l1" message \
	'"Failed password for invalid user admin from 203.0.113.7 port 4242 ssh2"'
expect_json_field "sshd: host.hostname from _HOSTNAME" "$l1" host.hostname '"web1"'
expect_json_field "sshd: process.name from SYSLOG_IDENTIFIER" "$l1" process.name '"sshd"'
expect_json_field "sshd: process.pid from _PID" "$l1" process.pid 812
expect_json_field "sshd: log.level from PRIORITY=5" "$l1" log.level '"notice"'
expect_json_field "sshd: systemd.unit from _SYSTEMD_UNIT" "$l1" systemd.unit '"ssh.service"'
expect_json_field "sshd: event.dataset" "$l1" event.dataset '"journald"'
expect_match "sshd: tagged with a rule" "$(json_get "$l1" rule.id)" '^"ssh\.'
expect_json_field "sshd: source.ip from the message" "$l1" source.ip '"203.0.113.7"'
expect_json_field "sshd: user.name from the message" "$l1" user.name '"admin"'
expect_json_field "sshd: event.outcome" "$l1" event.outcome '"failure"'

l2=$(nth 2 follow.json)
expect_json_field "sudo: @timestamp" "$l2" @timestamp '"2023-11-14T22:13:21.000Z"'
expect_json_field "sudo: process.name" "$l2" process.name '"sudo"'
expect_json_field "sudo: process.pid" "$l2" process.pid 2001
expect_json_field "sudo: log.level from PRIORITY=1" "$l2" log.level '"alert"'
expect_json_field "sudo: systemd.unit" "$l2" systemd.unit '"session-3.scope"'
expect_match "sudo: tagged with a rule" "$(json_get "$l2" rule.id)" '^"sudo\.'
expect_json_field "sudo: user.name" "$l2" user.name '"alice"'
expect_json_field "sudo: the target user" "$l2" user.effective.name '"root"'
expect_contains "sudo: tags" "$(json_get "$l2" tags)" '"sudo"'

l3=$(nth 3 follow.json)
expect_json_field "systemd: @timestamp" "$l3" @timestamp '"2023-11-14T22:13:22.000Z"'
expect_json_field "systemd: process.name" "$l3" process.name '"systemd"'
expect_json_field "systemd: process.pid" "$l3" process.pid 1
expect_json_field "systemd: log.level from PRIORITY=6" "$l3" log.level '"info"'
expect_json_field "systemd: systemd.unit is its own (_SYSTEMD_UNIT)" "$l3" systemd.unit '"init.scope"'
expect_json_field "systemd: no rule" "$l3" rule.id ""

# ---- an entry appended while it runs
check "systemd-journal-remote appends to the journal" append second.export
wait_for "the appended entry is printed" has_lines follow.json 4
l4=$(nth 4 follow.json)
expect_json_field "appended: message" "$l4" message \
	'"Accepted publickey for bob from 198.51.100.7 port 40022 ssh2"'
expect_json_field "appended: @timestamp" "$l4" @timestamp '"2023-11-14T22:13:23.000Z"'
expect_json_field "appended: process.pid" "$l4" process.pid 813
expect_json_field "appended: user.name" "$l4" user.name '"bob"'
stop "following"
expect_eq "following: 4 events in all" 4 "$(wc -l <follow.json)"
expect_eq "following: nothing on stderr" "" "$(cat err)"

# ---- --journal-unit: only ssh.service's entries
start unit.json --journal-unit ssh --from-start -o json
wait_for "--journal-unit ssh: the sshd entries are printed" has_lines unit.json 2
stop "--journal-unit ssh"
expect_eq "--journal-unit ssh: 2 events" 2 "$(wc -l <unit.json)"
expect_eq "--journal-unit ssh: only sshd" "sshd sshd" \
	"$(field 1 unit.json process.name | tr -d '"') $(field 2 unit.json process.name | tr -d '"')"
expect_eq "--journal-unit ssh: pids 812 and 813" "812 813" \
	"$(field 1 unit.json process.pid) $(field 2 unit.json process.pid)"

# ---- -n 1: only the last entry, then new ones
start last.json -n 1 -o json
wait_for "-n 1: an entry is printed" has_lines last.json 1
stop "-n 1"
expect_eq "-n 1: one event" 1 "$(wc -l <last.json)"
expect_json_field "-n 1: the last entry" "$(nth 1 last.json)" process.pid 813

# ---- --state: a restart resumes after the last entry printed
start state1.json --from-start --state "$T/sdir" -o json
wait_for "--state: first run prints the 4 entries" has_lines state1.json 4
stop "--state, first run"
expect_eq "--state: first run, 4 events" 4 "$(wc -l <state1.json)"
expect_match "--state: a journal cursor is saved" "$(cat "$T"/sdir/*.state 2>/dev/null)" '^cursor s='
check "systemd-journal-remote appends a third time" append third.export
start state2.json --from-start --state "$T/sdir" -o json
wait_for "--state: second run prints the new entry" has_lines state2.json 1
stop "--state, second run"
expect_eq "--state: second run, only the new entry" 1 "$(wc -l <state2.json)"
expect_json_field "--state: the new entry" "$(nth 1 state2.json)" message \
	'"Connection closed by authenticating user root 192.0.2.44 port 51000 [preauth]"'
expect_json_field "--state: the new entry's host" "$(nth 1 state2.json)" host.hostname '"web2"'

# ---- a bad --journal-match
expect_exit "--journal-match BAD: exit 2" 2 "$LOGSHIP" tail --journal \
	--journal-directory "$T/jdir" --journal-match BAD
expect_contains "--journal-match BAD: the message names it" "$ERR" "--journal-match 'BAD'"
expect_contains "--journal-match BAD: says what is expected" "$ERR" "FIELD=value"
expect_eq "--journal-match BAD: nothing on stdout" "" "$OUT"

finish
