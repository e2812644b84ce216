#!/usr/bin/env bash
# clickhouse.sh - `logship ship` into a real ClickHouse server (the
# clickhouse-server package: 18.16 on Debian 12), started here on loopback
# ports with its data in a temp dir, and stopped (by its PID) on exit.
#
# A deterministic corpus (awk, fixed-seed PRNG): auth.log (syslog: sshd
# failures with source addresses, brute-force bursts that raise alerts,
# accepted keys, cron, sudo), access.log (nginx combined, varied statuses,
# some attack paths), app.log (JSON lines, one holding a password), 8000
# lines each, with known lines in the middle. Shipped with
#   logship ship --once --create-table --to clickhouse+http://127.0.0.1:P/default.logs 'DIR/*.log*'
# Checks:
#  a) exit 0; the table has the documented columns and types
#  b) rows == `logship parse -c` of the same files (events and alerts);
#     uniqExact(event_id) == count(); the set of event_id values equals the
#     one `logship parse` computes (same ids, none lost, none invented);
#     per log_file counts match parse -c per file; each row's event column
#     holds its own event_id
#  c) field values: a known sshd line (source_ip, user_name, rule_id,
#     host_name, dataset, timestamp, log_offset, tags has 'security'); a
#     known nginx line (status 418, source_ip, timestamp, not tagged
#     security); a known nginx scan (rule web.sensitive_file, 'security');
#     nginx rows per status == the statuses in the file; rows tagged
#     'security' == parse -c -w tag:security; alerts == parse's alerts;
#     a JSON line's timestamp and timestamp_ms, level; its password is
#     redacted (the secret is in no row)
#  d) a second --once run: exit 0, reads nothing, inserts nothing
#  e) a gzip copy of a shipped file appearing (app.log.1.gz next to
#     app.log): nothing inserted; another --once run: still nothing (a .gz
#     read before is not read again)
#  f) a rotation while logship is not running (access.log -> access.log.1
#     -> gzip -> access.log.1.gz, a new access.log of 300 lines, which may
#     get the old inode): exactly the new file's events are inserted
#  g) a copytruncate rotation while logship is not running (auth.log copied
#     to auth.log.1, gzipped to auth.log.1.gz, auth.log truncated and 200 new
#     lines written: the same inode, new content): exactly the new lines'
#     events are inserted
#  finally the distinct event_id values are exactly those parse computes
#  for every file shipped (nothing lost, nothing invented); the duplicate
#  count is printed
#
# The server must start: when it cannot (not installed, refuses to run as
# this user, ...) the test FAILS and shows the server's error log; it never
# skips. KEEP=1 keeps the temp dir. LOGSHIP=path picks the binary.
# Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
LOGSHIP=${LOGSHIP:-$PWD/logship}
case $LOGSHIP in /*) ;; *) LOGSHIP=$PWD/$LOGSHIP ;; esac
export LC_ALL=C

# shellcheck source=tests/lib/check.sh
. tests/lib/check.sh

for tool in clickhouse-server curl gzip awk; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "clickhouse: '$tool' is installed" "not found: apt-get install clickhouse-server clickhouse-client curl gzip"
done
[ -x "$LOGSHIP" ] || die "clickhouse: $LOGSHIP is built" "run make"

T=$(mktemp -d "${TMPDIR:-/tmp}/logship-clickhouse.XXXXXX")
export HOME=$T/home XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/xstate XDG_CACHE_HOME=$T/cache
export TZ=UTC LOGSHIP_NOW=2023-11-15T00:00:00Z
mkdir -p "$HOME"
CH_PID=
cleanup() {
	if [ -n "$CH_PID" ] && kill -0 "$CH_PID" 2>/dev/null; then
		kill "$CH_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$CH_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$CH_PID" 2>/dev/null
	fi
	wait 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# A private copy: a rebuild of ./logship during the run cannot change it.
cp "$LOGSHIP" "$T/logship" || die "clickhouse: copy $LOGSHIP"
LOGSHIP=$T/logship

now_ms() { date +%s%3N; }

# The server comes from tests/lib/clickhouse-server.sh (make bench uses it
# too): free loopback ports, config and data in $T/ch; chq SQL queries it.
# shellcheck source=tests/lib/clickhouse-server.sh
. tests/lib/clickhouse-server.sh
ch_start() {
	ch_server_start "$T/ch" && return 0
	echo "$CH_ERR; its output and error log:"
	tail -n 30 "$T/ch/stdout" "$T/ch/server.err.log" 2>/dev/null | sed 's/^/     | /'
	return 1
}

# ship NAME ARGS...: logship ship --once (timeout 120 s), stderr in
# $T/NAME.err; sets RC.
ship() {
	local name=$1
	shift
	timeout 120 "$LOGSHIP" ship --once --state "$T/state" --create-table \
		--to "clickhouse+http://127.0.0.1:$CH_PORT/default.logs" "$@" \
		>"$T/$name.out" 2>"$T/$name.err"
	RC=$?
}
show_err() { echo "stderr: $(tail -n 5 "$T/$1.err" | tr '\n' '|' | cut -c1-800)"; }

# parse ARGS...: logship parse with the pipeline's defaults.
parse() { "$LOGSHIP" parse "$@"; }

# ------------------------------------------------------------- the corpus

cp tests/lib/logcorpus.awk "$T/gen.awk"

L=$T/logs
mkdir -p "$L"
N=8000
awk -v kind=auth -v n=$N -v seed=11 -v known=4000 -f "$T/gen.awk" >"$L/auth.log"
awk -v kind=nginx -v n=$N -v seed=22 -v known=4000 -f "$T/gen.awk" >"$L/access.log"
awk -v kind=app -v n=$N -v seed=33 -v known=4000 -f "$T/gen.awk" >"$L/app.log"
FILES=("$L/access.log" "$L/app.log" "$L/auth.log")
GLOB="$L/*.log*"

# The expectations, from `logship parse` over the same files (the same
# pipeline: formats, rules, alerts, redaction, event ids).
EXPECT_N=$(parse -c "${FILES[@]}")
EXPECT_ALERTS=$(parse -c -w event.kind=alert "${FILES[@]}")
EXPECT_SECURITY=$(parse -c -w tag:security "${FILES[@]}")
parse -o tsv --fields event.id "${FILES[@]}" | tail -n +2 | sort >"$T/expect.ids"
echo "     (corpus: $((3 * N)) lines, $EXPECT_N events of which $EXPECT_ALERTS alerts, $EXPECT_SECURITY tagged security)"
[ "${EXPECT_ALERTS:-0}" -gt 0 ] || bad "the corpus raises alerts" "parse -c -w event.kind=alert: ${EXPECT_ALERTS:-none}"

# ------------------------------------------------------------- the server

t0=$(now_ms)
ch_start || die "clickhouse-server starts (on 127.0.0.1)"
ok "clickhouse-server $(chq 'SELECT version()') up on 127.0.0.1:$CH_PORT in $(($(now_ms) - t0)) ms"

# ------------------------------------------------------------- a) ship

ship a "$GLOB"
expect "a: ship --once exit status" 0 "$RC" "$(show_err a)"
cols=$(chq "SELECT name, type FROM system.columns WHERE database = 'default' AND table = 'logs' FORMAT TabSeparatedRaw" |
	tr '\t\n' ': ')
expect "a: --create-table made the documented columns" \
	"timestamp:DateTime('UTC') timestamp_ms:UInt16 event_id:String dataset:String message:String source_ip:String user_name:String host_name:String log_file:String log_offset:UInt64 status:UInt16 level:String severity:UInt8 rule_id:String tags:Array(String) event:String " \
	"$cols"

# ------------------------------------------------------------- b) counts and ids

count=$(chq "SELECT count() FROM logs")
expect "b: rows == events parse counts (incl. alerts)" "$EXPECT_N" "$count"
expect "b: uniqExact(event_id) == count() (no duplicates)" "$count" "$(chq "SELECT uniqExact(event_id) FROM logs")"
chq "SELECT event_id FROM logs ORDER BY event_id FORMAT TSV" >"$T/got.ids"
if cmp -s "$T/expect.ids" "$T/got.ids"; then
	ok "b: the event_id values are exactly parse's event ids"
else
	bad "b: the event_id values are exactly parse's event ids" \
		"missing from ClickHouse: $(comm -23 "$T/expect.ids" "$T/got.ids" | wc -l) (first: $(comm -23 "$T/expect.ids" "$T/got.ids" | head -3 | tr '\n' ' '))" \
		"not from parse: $(comm -13 "$T/expect.ids" "$T/got.ids" | wc -l) (first: $(comm -13 "$T/expect.ids" "$T/got.ids" | head -3 | tr '\n' ' '))"
fi
want_files=""
for f in "${FILES[@]}"; do
	want_files+="$f:$(parse -c "$f") "
done
expect "b: rows per log_file == parse -c per file" "$want_files" \
	"$(chq "SELECT log_file, count() FROM logs GROUP BY log_file ORDER BY log_file FORMAT TSV" | tr '\t\n' ': ')"
expect "b: every row's event column holds its event_id" "$count" \
	"$(chq "SELECT count() FROM logs WHERE event_id != '' AND position(event, concat('\"id\":\"', event_id, '\"')) > 0")"

# ------------------------------------------------------------- c) fields

off=$(grep -b -F 'zz_known_user' "$L/auth.log" | cut -d: -f1)
expect "c: the known sshd line's fields" \
	"2023-11-14 03:33:33|0|syslog|192.0.2.201|zz_known_user|bastion|ssh.failed_password|$L/auth.log|$off|1|Failed password for invalid user zz_known_user from 192.0.2.201 port 40404 ssh2" \
	"$(chq "SELECT toString(timestamp), timestamp_ms, dataset, source_ip, user_name, host_name, rule_id, log_file, log_offset, has(tags, 'security'), message FROM logs WHERE message LIKE '%zz_known_user%' AND NOT has(tags, 'alert') FORMAT TSV" | tr '\t' '|')"
expect "c: the known nginx line's fields" \
	"2023-11-14 04:44:44|nginx.access|198.51.100.250|418|0|" \
	"$(chq "SELECT toString(timestamp), dataset, source_ip, status, has(tags, 'security'), rule_id FROM logs WHERE message LIKE '%/known/zz-path%' FORMAT TSV" | tr '\t' '|')"
expect "c: the known nginx scan is tagged security" \
	"404|web.sensitive_file|1" \
	"$(chq "SELECT status, rule_id, has(tags, 'security') FROM logs WHERE message LIKE '%known-scanner/2.0%' FORMAT TSV" | tr '\t' '|')"
expect "c: nginx rows per status == statuses in access.log" \
	"$(awk '{ print $9 }' "$L/access.log" | sort -n | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" \
	"$(chq "SELECT status, count() FROM logs WHERE dataset = 'nginx.access' AND NOT has(tags, 'alert') GROUP BY status ORDER BY status FORMAT TSV" | tr '\t\n' ': ')"
expect "c: rows tagged security == parse -c -w tag:security" "$EXPECT_SECURITY" \
	"$(chq "SELECT countIf(has(tags, 'security')) FROM logs")"
expect "c: alert rows == parse's alerts (auth.brute_force, from auth.log)" \
	"$EXPECT_ALERTS|$EXPECT_ALERTS|$EXPECT_ALERTS" \
	"$(chq "SELECT count(), countIf(rule_id = 'auth.brute_force'), countIf(log_file = '$L/auth.log') FROM logs WHERE has(tags, 'alert') FORMAT TSV" | tr '\t' '|')"
expect "c: the known JSON line's time (with milliseconds), level and dataset" \
	"2023-11-14 05:55:55|321|error|json|zz known json line" \
	"$(chq "SELECT toString(timestamp), timestamp_ms, level, dataset, message FROM logs WHERE message = 'zz known json line' FORMAT TSV" | tr '\t' '|')"
expect "c: its password is redacted in the event column" "1|1" \
	"$(chq "SELECT position(event, '[REDACTED:password]') > 0, has(tags, 'redacted') FROM logs WHERE message = 'zz known json line' FORMAT TSV" | tr '\t' '|')"
expect "c: the secret is in no row" 0 \
	"$(chq "SELECT count() FROM logs WHERE position(event, 'hunter2') > 0 OR position(message, 'hunter2') > 0")"
expect "c: no row has a zero timestamp" 0 "$(chq "SELECT count() FROM logs WHERE toUnixTimestamp(timestamp) = 0")"

# ------------------------------------------------------------- d) again

ship d "$GLOB"
expect "d: second --once exit status" 0 "$RC" "$(show_err d)"
expect "d: second --once inserts nothing" "$count" "$(chq "SELECT count() FROM logs")"
if grep -q ' 0 events,' "$T/d.err"; then
	ok "d: second --once reads no events"
else
	bad "d: second --once reads no events" "$(show_err d)"
fi

# ------------------------------------------------------------- e) gzip copy

# rows COUNT_BEFORE: "+N" rows since then.
delta() { echo "+$(($(chq "SELECT count() FROM logs") - $1))"; }

gzip -c "$L/app.log" >"$L/app.log.1.gz"
ship e1 "$GLOB"
expect "e: --once with app.log.1.gz (a gzip copy of shipped app.log) exit status" 0 "$RC" "$(show_err e1)"
expect "e: the gzip copy of a shipped file inserts nothing" "+0" "$(delta "$count")" \
	"(readdir order here: $(ls -U "$L" | tr '\n' ' '))"
before=$(chq "SELECT count() FROM logs")
ship e2 "$GLOB"
expect "e: another --once exit status" 0 "$RC" "$(show_err e2)"
expect "e: a .gz file read before is not read again" "+0" "$(delta "$before")"
rm -f "$L/app.log.1.gz"

# ------------------------------------------------------------- f) rotation

# logrotate's create + compress while logship is not running: the new
# access.log may well get the inode gzip freed.
before=$(chq "SELECT count() FROM logs")
ino=$(stat -c %i "$L/access.log")
mv "$L/access.log" "$L/access.log.1"
gzip "$L/access.log.1"
awk -v kind=nginx -v n=300 -v seed=44 -v known=-1 -f "$T/gen.awk" | sed 's/^198\.51\.100\./198.51.101./' >"$L/access.log"
new=$(parse -c "$L/access.log")
parse -o tsv --fields event.id "$L/access.log" | tail -n +2 >>"$T/expect.ids"
sort -o "$T/expect.ids" "$T/expect.ids"
ship f "$GLOB"
expect "f: --once after a rotation (access.log.1.gz + a new access.log) exit status" 0 "$RC" "$(show_err f)"
expect "f: only the new access.log's $new events are inserted" "+$new" "$(delta "$before")"
echo "     (f: the old access.log's inode: $ino, the new one's: $(stat -c %i "$L/access.log"))"
# ------------------------------------------------------------- g) copytruncate

# logrotate's copytruncate + compress while logship is not running (every
# line was shipped, so none is lost): auth.log keeps its inode, with new
# content. (access.log.1.gz leaves: each check sees one rotated file.)
rm -f "$L/access.log.1.gz"
before=$(chq "SELECT count() FROM logs")
cp "$L/auth.log" "$L/auth.log.1"
gzip "$L/auth.log.1"
: >"$L/auth.log"
awk -v kind=auth -v n=200 -v seed=55 -v known=-1 -f "$T/gen.awk" | sed 's/ web0/ db0/' >>"$L/auth.log"
new=$(parse -c "$L/auth.log")
parse -o tsv --fields event.id "$L/auth.log" | tail -n +2 >>"$T/expect.ids"
sort -o "$T/expect.ids" "$T/expect.ids"
ship g "$GLOB"
expect "g: --once after a copytruncate (auth.log.1.gz + auth.log truncated and rewritten) exit status" 0 "$RC" "$(show_err g)"
expect "g: only the rewritten auth.log's $new events are inserted" "+$new" "$(delta "$before")"

chq "SELECT DISTINCT event_id FROM logs ORDER BY event_id FORMAT TSV" >"$T/got.ids"
if cmp -s "$T/expect.ids" "$T/got.ids"; then
	ok "the distinct event_id values are exactly parse's, old and new files"
else
	bad "the distinct event_id values are exactly parse's, old and new files" \
		"missing: $(comm -23 "$T/expect.ids" "$T/got.ids" | wc -l), not from parse: $(comm -13 "$T/expect.ids" "$T/got.ids" | wc -l)"
fi
echo "     (rows: $(chq "SELECT count() FROM logs"), duplicates: $(chq "SELECT count() - uniqExact(event_id) FROM logs"))"

finish
