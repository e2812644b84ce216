#!/usr/bin/env bash
# t028-config-status: bad input to `ship --config FILE`, `status --state DIR`
# and the journal input: each gives a clear error naming the file (and line
# or byte offset), the documented exit code, and never a secret.
. "$SRC/tests/cli/lib.sh"

printf '203.0.113.9 - - [14/Nov/2023:22:13:20 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"\n' >in.log

# ---- config files
cfg() { printf "$2" >"$1"; }

cfg syn.conf 'to file:///tmp/x\n'
expect_exit "config 'to file': exit 2" 2 "$LOGSHIP" ship --config syn.conf --once
expect_eq "config 'to file': the line named" "logship ship: syn.conf:1: expected 'key: value'" "$ERR"

cfg unk.conf '# a comment\n\ntto: -\n'
expect_exit "config unknown key: exit 2" 2 "$LOGSHIP" ship --config unk.conf --once
expect_eq "config unknown key: line and suggestion" \
	"logship ship: unk.conf:3: unknown key 'tto'; did you mean 'to'?" "$ERR"

printf 'to: file://%s/a\npath: in.log\nstate: st\nto: file://%s/b\n' "$T" "$T" >dup.conf
expect_exit "config key twice: exit 2" 2 "$LOGSHIP" ship --config dup.conf --once
expect_eq "config key twice: both lines named" \
	"logship ship: dup.conf:4: 'to' is already set on line 1" "$ERR"
expect_eq "config key twice: nothing shipped" "no" "$([ -e a ] || [ -e b ] && echo yes || echo no)"

printf 'to: file://%s/rep\npath: in.log\npath: nothing-*.log\nstate: st-rep\nwhere: http.response.status_code=200\nwhere: has:source.ip\n' "$T" >rep.conf
expect_exit "config repeatable keys (path, where): exit 0" 0 "$LOGSHIP" ship --config rep.conf --once -q
expect_eq "config repeatable keys: the event shipped" 1 "$(wc -l <rep)"

cfg novalue.conf 'to:   # to be filled in\n'
expect_exit "config key without a value: exit 2" 2 "$LOGSHIP" ship --config novalue.conf --once
expect_eq "config key without a value: said" "logship ship: novalue.conf:1: 'to' has no value" "$ERR"
printf '%0100d: v\n' 0 >longkey.conf
expect_exit "config long unknown key: exit 2" 2 "$LOGSHIP" ship --config longkey.conf --once
expect_eq "config long unknown key: cut at 64 bytes" \
	"logship ship: longkey.conf:1: unknown key '$(printf '%064d' 0)...'" "$ERR"

cfg type.conf 'to: -\nbatch-size: abc\n'
expect_exit "config number 'abc': exit 2" 2 "$LOGSHIP" ship --config type.conf --once
expect_contains "config number 'abc': the line named" "$ERR" "type.conf:2: in 'batch-size: abc'"
cfg flag.conf 'to: -\nonce: maybe\n'
expect_exit "config flag 'maybe': exit 2" 2 "$LOGSHIP" ship --config flag.conf
expect_eq "config flag 'maybe': the line named" \
	"logship ship: flag.conf:2: once: expected yes or no, not 'maybe'" "$ERR"

printf 'to: file://%s/crlf\r\npath: in.log\r\nstate: st-crlf\r\nonce: yes\r\n' "$T" >crlf.conf
expect_exit "config with CRLF: exit 0" 0 "$LOGSHIP" ship --config crlf.conf -q
expect_eq "config with CRLF: shipped to the path without the CR" 1 "$(wc -l <crlf)"

printf '\357\273\277to: file://%s/bom\npath: in.log\nstate: st-bom\n' "$T" >bom.conf
expect_exit "config with a BOM: exit 0" 0 "$LOGSHIP" ship --config bom.conf --once -q
expect_eq "config with a BOM: shipped" 1 "$(wc -l <bom)"

printf 'to: -\npath: in.log\0junk\n' >nul.conf
expect_exit "config with a NUL: exit 2" 2 "$LOGSHIP" ship --config nul.conf --once
expect_eq "config with a NUL: line and byte offset" \
	"logship ship: nul.conf:2: a NUL byte at byte offset 18 (not a text file?)" "$ERR"

{ printf 'to: -\nheader: X: '; head -c 10485760 /dev/zero | tr '\0' a; printf '\n'; } >big.conf
expect_exit "config with a 10 MB line: exit 2" 2 "$LOGSHIP" ship --config big.conf --once
expect_eq "config with a 10 MB line: the line named" \
	"logship ship: big.conf:2: line too long (over 8191 bytes)" "$ERR"

: >empty.conf
expect_exit "empty config: exit 2" 2 "$LOGSHIP" ship --config empty.conf --once
expect_eq "empty config: said" "logship ship: config empty.conf holds no settings (an empty file?)" "$ERR"
cfg comments.conf '# only\n  # comments\n\n'
expect_exit "config of comments only: exit 2" 2 "$LOGSHIP" ship --config comments.conf --once
expect_contains "config of comments only: said" "$ERR" "comments.conf holds no settings"

mkdir dir.conf
expect_exit "config a directory: exit 2" 2 "$LOGSHIP" ship --config dir.conf --once
expect_eq "config a directory: said" "logship ship: cannot read config dir.conf: Is a directory" "$ERR"
expect_exit "config missing: exit 2" 2 "$LOGSHIP" ship --config nope.conf --once
expect_eq "config missing: said" \
	"logship ship: cannot read config nope.conf: No such file or directory" "$ERR"

if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	cfg unreadable.conf 'to: -\n'
	chmod 600 unreadable.conf
	chmod 755 "$T"
	expect_exit "config unreadable: exit 2" 2 setpriv --reuid=nobody --regid=nogroup \
		--clear-groups "$LOGSHIP" ship --config "$T/unreadable.conf" --once
	expect_eq "config unreadable: said" \
		"logship ship: cannot read config $T/unreadable.conf: Permission denied" "$ERR"
fi

# credentials: never echoed, whatever is wrong
SECRET=s3cr3t-pw-4242
for url in "https://user:$SECRET@[bad/x" "clickhouse+http://u:$SECRET@127.0.0.1:1/nodot" \
	"bogus://u:$SECRET@h/" "http://u:$SECRET@h:99999/"; do
	printf 'to: %s\npath: in.log\nstate: st-cred\nauth: %s\n' "$url" "$SECRET" >cred.conf
	expect_exit "config URL '${url%%:*}' with credentials: exit 2" 2 \
		"$LOGSHIP" ship --config cred.conf --once
	expect_not_contains "config URL '${url%%:*}': no secret in the error" "$ERR" "$SECRET"
	expect_exit "config URL '${url%%:*}' --check: exit 2" 2 "$LOGSHIP" ship --config cred.conf --check
	expect_not_contains "config URL '${url%%:*}' --check: no secret" "$ERR$OUT" "$SECRET"
done
cfg cred2.conf "to: -\nauth: $SECRET\nauth: $SECRET\n"
expect_exit "config auth twice: exit 2" 2 "$LOGSHIP" ship --config cred2.conf --once
expect_eq "config auth twice: no secret" "logship ship: cred2.conf:3: 'auth' is already set on line 2" "$ERR"
cfg cred3.conf "to: -\nauht: $SECRET\n"
expect_exit "config key 'auht': exit 2" 2 "$LOGSHIP" ship --config cred3.conf --once
expect_not_contains "config key 'auht': no secret" "$ERR" "$SECRET"
cfg cred4.conf "to: -\n$SECRET\n"
expect_exit "config line of a bare secret: exit 2" 2 "$LOGSHIP" ship --config cred4.conf --once
expect_eq "config line of a bare secret: not echoed" "logship ship: cred4.conf:2: expected 'key: value'" "$ERR"

# the command line wins over the config; its paths replace the config's
printf 'to: file://%s/from-config\npath: nothing.log\nstate: st-win\n' "$T" >win.conf
expect_exit "config + --to + path: exit 0" 0 "$LOGSHIP" ship --config win.conf \
	--to "file://$T/from-cli" --once -q in.log
expect_eq "config + --to: the command line's sink" "1 no" \
	"$(wc -l <from-cli) $([ -e from-config ] && echo yes || echo no)"

# ---- status
mkdir sempty
expect_exit "status on an empty dir: exit 0" 0 "$LOGSHIP" status --state sempty
expect_eq "status on an empty dir: said" "no pipelines in sempty" "$OUT"
expect_exit "status on a missing dir: exit 2" 2 "$LOGSHIP" status --state nodir
expect_eq "status on a missing dir: said" \
	"logship status: cannot read nodir: No such file or directory" "$ERR"

printf 'to: file://%s/good\npath: in.log\nstate: sgood\n' "$T" >good.conf
check "a pipeline to look at" "$LOGSHIP" ship --config good.conf --once -q
state=$(cd sgood && ls ./*.state)
state=${state#./}
pipe=${state%.state}
expect_exit "status on a good state: exit 0" 0 "$LOGSHIP" status --state sgood
expect_contains "status on a good state: the pipeline" "$OUT" "pipeline $pipe"

damaged() { # NAME CONTENT-PRINTF REASON
	rm -rf "s-$1"
	cp -r sgood "s-$1"
	printf "$2" >"s-$1/zz-$1.state"
	expect_exit "status, $1 state file: exit 2" 2 "$LOGSHIP" status --state "s-$1"
	expect_eq "status, $1 state file: named, with why" \
		"logship: state file s-$1/zz-$1.state is damaged ($3)" "$ERR"
	expect_contains "status, $1 state file: the good pipeline still shown" "$OUT" "pipeline $pipe"
}
damaged garbage 'garbage\0\377\n' "not a logship state file (bad first line)"
damaged truncated 'logship-state 1\nfile 1 2 ab' "truncated (no final newline)"
damaged empty '' "empty file"
mkdir s-garbage/dir.state
expect_exit "status, a directory named .state: exit 2" 2 "$LOGSHIP" status --state s-garbage
expect_contains "status, a directory named .state: said" "$ERR" \
	"state file s-garbage/dir.state is not a regular file"

mkdir -p sgood/dead-letter
printf 'not json\n{"a":1}\ncut short' >"sgood/dead-letter/$pipe.ndjson"
expect_exit "status, a malformed dead-letter file: exit 0" 0 "$LOGSHIP" status --state sgood
expect_contains "status, a malformed dead-letter file: every line counted" "$OUT" \
	"dead letters: 3 in sgood/dead-letter/$pipe.ndjson"
head -c 50000000 /dev/zero | tr '\0' '\n' >"sgood/dead-letter/$pipe.ndjson"
expect_exit "status, a 50 MB dead-letter file: exit 0" 0 "$LOGSHIP" status --state sgood
expect_contains "status, a 50 MB dead-letter file: counted" "$OUT" "dead letters: 50000000 in"
rm "sgood/dead-letter/$pipe.ndjson"
mkdir "sgood/dead-letter/$pipe.ndjson"
expect_exit "status, a dead-letter path that is a directory: exit 2" 2 "$LOGSHIP" status --state sgood
expect_eq "status, a dead-letter directory: said" \
	"logship status: cannot read sgood/dead-letter/$pipe.ndjson: Is a directory" "$ERR"
rmdir "sgood/dead-letter/$pipe.ndjson"
cp "sgood/$pipe.stats" stats.bak
printf 'events_read \033[31m7\n' >"sgood/$pipe.stats"
expect_exit "status, a stats file with an escape: exit 0" 0 "$LOGSHIP" status --state sgood
expect_contains "status, a stats file with an escape: shown as \\x1b" "$OUT" 'events_read \x1b[31m7'
expect_not_contains "status, a stats file with an escape: no ESC byte" "$OUT" "$(printf '\033')"
cp stats.bak "sgood/$pipe.stats"

# status while a ship holds the lock
# (no `timeout` around it: $! is logship itself; PIDS kills it at the end)
"$LOGSHIP" ship --config good.conf -q --checkpoint-interval 1s 2>ship-bg.err &
bgpid=$!
PIDS="$PIDS $bgpid"
locked() { [ "$(cat "sgood/$pipe.lock" 2>/dev/null)" = "$bgpid" ]; }
check "a following ship holds the lock" wait_for locked
expect_exit "a second ship: exit 5 (the lock is held)" 5 "$LOGSHIP" ship --config good.conf --once
expect_exit "status while ship runs: exit 0" 0 "$LOGSHIP" status --state sgood
expect_contains "status while ship runs: the pipeline" "$OUT" "pipeline $pipe"
kill -TERM "$bgpid"
wait "$bgpid"
expect_eq "the following ship exits 0 on SIGTERM" 0 "$?"

# ---- journal
expect_exit "--journal-directory missing: exit 2" 2 "$LOGSHIP" tail --journal-directory nodir
expect_eq "--journal-directory missing: said" \
	"logship: cannot open journal directory nodir: No such file or directory" "$ERR"
if ! ls /run/log/journal/*/*.journal /var/log/journal/*/*.journal \
	/run/log/journal/*.journal /var/log/journal/*.journal >/dev/null 2>&1; then
	# no journald here (a container): an error, not a silent wait
	expect_exit "tail --journal without a journal: exit 2" 2 "$LOGSHIP" tail --journal
	expect_contains "tail --journal without a journal: said" "$ERR" \
		"no journal to read: no journal files (or none this user may read) in /run/log/journal or /var/log/journal"
	expect_exit "ship --journal --once without a journal: exit 2" 2 "$LOGSHIP" ship --journal \
		--to "file://$T/j" --state sj --once
	expect_contains "ship --journal --once without a journal: said" "$ERR" "no journal to read"
fi

finish
