#!/usr/bin/env bash
# t026-ship-resume.sh - ship --once across runs: event ids that a file's
# growth, rotation and compression do not change, checkpoints matched to a
# file that grew (or to its .gz) after them, a .gz still being written, the
# last line of a file rotated away, and inputs that name nothing to read.
. "$SRC/tests/cli/lib.sh"

nlines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
# field F of every event in FILE, one a line
fields() { awk -v mode=get -v field="$1" -f "$JSON_AWK" "$2"; }
msgs() { fields message "$1" | sed 's/^"//; s/"$//'; }
# the id of the event whose message is MSG in FILE
id_of() { grep -F "\"message\":\"$1\"" "$2" | head -1 | awk -v mode=get -v field=event.id -f "$JSON_AWK"; }
ship() { run "$LOGSHIP" ship --once -q "$@"; }

# ---- 1. event ids and checkpoints of files that grow --------------------
# A file under 1 KiB that grows between two runs (two states: each sends it
# all) gives its lines the same ids: the fingerprint in event.id is the
# hash of the first line, which growth does not change (the audit's case:
# "first" got two ids). parse gives the same ids.
mkdir g1 && cd g1
printf 'first\n' >a.log
ship --state s1 --to "file://$T/g1/o1.ndjson" "$T/g1/a.log"
printf 'second\n' >>a.log
ship --state s2 --to "file://$T/g1/o2.ndjson" "$T/g1/a.log"
id1=$(id_of first o1.ndjson)
expect_match "growth: an id for 'first'" "$id1" '^"[0-9a-f]{16}"$'
expect_eq "growth: 'first' keeps its id as the file grows" "$id1" "$(id_of first o2.ndjson)"
run "$LOGSHIP" parse -o json "$T/g1/a.log"
expect_eq "growth: parse gives the id ship gave" "$id1" "$(id_of first "$T/out")"
# past 1 KiB too
for i in $(seq 200); do echo "more line $i"; done >>a.log
ship --state s3 --to "file://$T/g1/o3.ndjson" "$T/g1/a.log"
expect_eq "growth past 1 KiB: 'first' keeps its id" "$id1" "$(id_of first o3.ndjson)"
expect_eq "growth past 1 KiB: 'second' keeps its id" "$(id_of second o2.ndjson)" \
	"$(id_of second o3.ndjson)"
# equal lines at two places, or in two files, stay distinct
printf 'first\nsame\nsame\n' >b.log
printf 'other\nsame\nsame\n' >c.log
run "$LOGSHIP" parse -o json b.log c.log
expect_eq "distinct: six events, six ids" 6 "$(fields event.id "$T/out" | sort -u | wc -l)"
cd "$T"

# Rotation between runs: 100 lines (under 1 KiB) shipped, 50 appended, then
# rotated and compressed and a new file made; the next run must send the 50
# new lines and the new file, not app.log.1.gz again (its checkpoint's
# fingerprint covers the 792 bytes the file had then: the .gz's first 792
# bytes are compared with it). The ids of the lines sent again by a run
# without state are those of the first runs.
mkdir g2 && cd g2
for i in $(seq 100); do echo "line $i"; done >app.log
expect_eq "rotation: the file is under 1 KiB" yes "$([ "$(wc -c <app.log)" -lt 1024 ] && echo yes)"
ship --state st --to "file://$T/g2/out.ndjson" "$T/g2/app.log*"
expect_eq "rotation: run 1 exits 0" 0 "$RC"
expect_eq "rotation: run 1 sends 100" 100 "$(nlines out.ndjson)"
for i in $(seq 101 150); do echo "line $i"; done >>app.log
mv app.log app.log.1 && gzip app.log.1
echo x >app.log
ship --state st --to "file://$T/g2/out.ndjson" "$T/g2/app.log*"
expect_eq "rotation: run 2 exits 0" 0 "$RC"
expect_eq "rotation: run 2 sends the 50 new lines and x" \
	"$(seq 101 150 | sed 's/^/line /'; echo x)" "$(msgs out.ndjson | sed 1,100d | sort -V)"
ship --state st --to "file://$T/g2/out.ndjson" "$T/g2/app.log*"
expect_eq "rotation: run 3 sends nothing" 151 "$(nlines out.ndjson)"
expect_eq "rotation: every line once" 151 "$(msgs out.ndjson | sort -u | wc -l)"
ship --state st-fresh --to "file://$T/g2/again.ndjson" "$T/g2/app.log*"
expect_eq "rotation: without state, all sent again" 151 "$(nlines again.ndjson)"
expect_eq "rotation: ... with the same ids" "$(fields event.id out.ndjson | sort)" \
	"$(fields event.id again.ndjson | sort)"
cd "$T"

# A state file written by logship before this change (the format is the
# same): its entry for app.log, 100 lines, fingerprint over those bytes.
# The file grew, was rotated and compressed since: only the new lines go.
cat >xxh64.c <<'EOF'
#include <stdio.h>
#include <xxhash.h>
int main(void)
{
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), stdin);
	printf("%016llx\n", (unsigned long long)XXH64(buf, n, 0));
	return 0;
}
EOF
if ! cc -o xxh64 xxh64.c $(pkg-config --cflags --libs libxxhash 2>/dev/null || echo -lxxhash) 2>cc.err; then
	fail "old state: the XXH64 helper builds" "cc succeeds" "$(cat cc.err)"
fi
mkdir g3 g3/st && cd g3
for i in $(seq 100); do echo "old $i"; done >app.log
expect_eq "old state: the file is under 1 KiB" yes "$([ "$(wc -c <app.log)" -lt 1024 ] && echo yes)"
read -r dev ino size < <(stat -c '%d %i %s' app.log)
body=$(printf 'logship-state 1\nfile %s %s %s %s %s %s 1700000000000 0 app.log' \
	"$dev" "$ino" "$("$T/xxh64" <app.log)" "$size" "$size" "$size")
printf '%s\nchecksum %s\n' "$body" "$(printf '%s\n' "$body" | "$T/xxh64")" >st/old.state
for i in $(seq 101 150); do echo "old $i"; done >>app.log
mv app.log app.log.1 && gzip app.log.1
ship --name old --state st --to "file://$T/g3/out.ndjson" 'app.log*'
expect_eq "old state: exit 0" 0 "$RC"
expect_eq "old state: no warning" "" "$ERR"
expect_eq "old state: only the lines after its checkpoint" \
	"$(seq 101 150 | sed 's/^/old /')" "$(msgs out.ndjson)"
cd "$T"

# ---- 2. a .gz still being written ---------------------------------------
# logrotate's compress is still writing app.log.1.gz: the file ends in the
# middle of a line. The lines before the cut go, the piece of the cut line
# neither goes nor is checkpointed; once the .gz is whole, the next run
# sends the rest from that line's start: every line once, none cut.
mkdir z1 && cd z1
for i in $(seq 5000); do echo "line number $i with some text to make gz larger $((i * 7919 % 10007))"; done >all.txt
gzip -c all.txt >full.gz
head -c 20000 full.gz >app.log.1.gz
ship --state st --to "file://$T/z1/out.ndjson" "$T/z1/app.log*"
expect_eq "gz being written: exit 0" 0 "$RC"
expect_contains "gz being written: warned" "$ERR" "app.log.1.gz: truncated gzip input at byte 20000"
n1=$(nlines out.ndjson)
expect_eq "gz being written: some lines sent" yes "$([ "$n1" -gt 100 ] && [ "$n1" -lt 5000 ] && echo yes)"
expect_eq "gz being written: every message a whole line" "" \
	"$(msgs out.ndjson | grep -vxFf all.txt | head -3)"
cat full.gz >app.log.1.gz
ship --state st --to "file://$T/z1/out.ndjson" "$T/z1/app.log*"
expect_eq "gz finished: exit 0" 0 "$RC"
expect_eq "gz finished: every line once, none cut" "$(cat all.txt)" "$(msgs out.ndjson)"
# parse still shows what it can, then says the input is damaged
head -c 20000 full.gz >cut.gz
run "$LOGSHIP" parse -o json cut.gz
expect_eq "parse of a cut .gz: exit 2" 2 "$RC"
expect_eq "parse of a cut .gz: the cut line too" "$((n1 + 1))" "$(nlines "$T/out")"
cd "$T"

# ---- 3. the last line of a file rotated away -----------------------------
# A last line without a newline waits for its newline while its file is the
# live one; once the file is rotated away it will not be finished, and the
# next run sends it (as follow mode does when it lets the file go), once.
mkdir p1 && cd p1
printf 'x1\nlast-no-newline' >app.log
ship --state st --to "file://$T/p1/out.ndjson" 'app.log*'
expect_eq "partial, live: only the finished line" "x1" "$(msgs out.ndjson)"
ship --state st --to "file://$T/p1/out.ndjson" 'app.log*'
expect_eq "partial, live, run again: still held" "x1" "$(msgs out.ndjson)"
mv app.log app.log.1
echo y1 >app.log
ship --state st --to "file://$T/p1/out.ndjson" 'app.log*'
expect_eq "partial, rotated away: exit 0" 0 "$RC"
expect_eq "partial, rotated away: sent" "$(printf 'last-no-newline\nx1\ny1')" "$(msgs out.ndjson | sort)"
ship --state st --to "file://$T/p1/out.ndjson" 'app.log*'
ship --state st --to "file://$T/p1/out.ndjson" 'app.log*'
expect_eq "partial, rotated away: sent once" 3 "$(nlines out.ndjson)"
# a live file that grows: its last line goes once whole
printf 'a1\npart' >live.log
ship --state st2 --to "file://$T/p1/live.ndjson" live.log
printf 'ial\n' >>live.log
ship --state st2 --to "file://$T/p1/live.ndjson" live.log
expect_eq "partial, live, finished later: sent whole" "$(printf 'a1\npartial')" "$(msgs live.ndjson)"
# found already rotated (no checkpoint under its old name): its last line
# goes once a later run, --partial-timeout after, finds it unchanged
printf 'r1\nr-partial' >old.log.1
ship --state st3 --to "file://$T/p1/old.ndjson" 'old.log*'
expect_eq "partial, found rotated: held at first" "r1" "$(msgs old.ndjson)"
sleep 0.2
ship --state st3 --partial-timeout 100ms --to "file://$T/p1/old.ndjson" 'old.log*'
expect_eq "partial, unchanged since a run --partial-timeout ago: sent" \
	"$(printf 'r1\nr-partial')" "$(msgs old.ndjson)"
cd "$T"

# ---- 4. inputs that name nothing to read ---------------------------------
# ship --once: a path without wildcards that is missing, a directory, a
# FIFO or unreadable is named with the reason, the other inputs still go,
# and the run exits 2; a glob that matches nothing is a warning.
mkdir i1 && cd i1
echo good >good.log
mkdir adir && mkfifo afifo
n=0
for bad in missing.log adir afifo; do
	n=$((n + 1))
	ship --state "st$n" --to "file://$T/i1/o$n.ndjson" good.log "$bad"
	expect_eq "named $bad: exit 2" 2 "$RC"
	expect_eq "named $bad: the other input still sent" good "$(msgs "o$n.ndjson")"
	expect_contains "named $bad: named in a message" "$ERR" "$bad"
done
expect_contains "missing: why" "$(ship --state sx --to "file://$T/i1/x.ndjson" missing.log; echo "$ERR")" \
	"cannot ship missing.log: No such file or directory"
expect_contains "directory: why" "$(ship --state sx --to "file://$T/i1/x.ndjson" adir; echo "$ERR")" \
	"cannot read adir: it is a directory"
expect_contains "FIFO: why" "$(ship --state sx --to "file://$T/i1/x.ndjson" afifo; echo "$ERR")" \
	"cannot read afifo: it is a FIFO"
ship --state st-glob --to "file://$T/i1/g.ndjson" good.log 'nothing-*.log'
expect_eq "glob matching nothing: exit 0" 0 "$RC"
expect_contains "glob matching nothing: warned" "$ERR" "no file matches 'nothing-*.log'"
expect_eq "glob matching nothing: the rest sent" good "$(msgs g.ndjson)"
ship --state st-ok --to "file://$T/i1/ok.ndjson" good.log 'good*'
expect_eq "all inputs there: exit 0, nothing said" "0 " "$RC $ERR"
# unreadable: as nobody (needs root and setpriv)
# (a directory of its own: nobody cannot enter $T)
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && U=$(mktemp -d /tmp/logship-t026.XXXXXX); then
	chmod 777 "$U" && echo secret >"$U/secret.log" && chmod 000 "$U/secret.log"
	echo open >"$U/open.log" && chmod 644 "$U/open.log"
	run setpriv --reuid=nobody --regid=nogroup --clear-groups "$LOGSHIP" ship --once -q \
		--state "$U/st" --to "file://$U/o.ndjson" "$U/open.log" "$U/secret.log"
	expect_eq "unreadable: exit 2" 2 "$RC"
	expect_contains "unreadable: named, with why" "$ERR" "cannot read $U/secret.log: Permission denied"
	expect_eq "unreadable: the other input still sent" open "$(msgs "$U/o.ndjson")"
	rm -rf "$U"
else
	echo "NOTE $(basename "$0" .sh): unreadable file case skipped (needs root and setpriv)"
fi
# following, a missing file is normal (it may appear): said once, read
# when it appears, exit 0 at SIGTERM
"$LOGSHIP" ship --state st-follow --flush-interval 100ms --to "file://$T/i1/f.ndjson" \
	good.log later.log 2>follow.err &
pid=$!
PIDS="$PIDS $pid"
wait_for test -s f.ndjson
echo "it came" >later.log
wait_for grep -q 'it came' f.ndjson
kill -TERM "$pid"
wait "$pid"
expect_eq "follow, missing file: exit 0 at SIGTERM" 0 "$?"
expect_eq "follow, missing file: read when it appeared" "$(printf 'good\nit came')" "$(msgs f.ndjson)"
expect_eq "follow, missing file: said once" 1 "$(grep -c 'later.log' follow.err)"
expect_contains "follow, missing file: said it is read once it appears" "$(cat follow.err)" \
	"cannot read later.log yet: No such file or directory; it is read once it appears"
cd "$T"

finish
