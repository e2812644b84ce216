#!/usr/bin/env bash
# tls.sh - ship over HTTPS: a certificate that does not verify is refused
# before anything is sent (exit 3 with --once), --cacert makes it verify,
# --insecure sends with a warning. The server is `openssl s_server` on
# 127.0.0.1 with a throw-away self-signed certificate; it answers one
# request and records what it received. Ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
SRC=$PWD
T=$(mktemp -d)
LOGSHIP=$T/logship
cp "$SRC/logship" "$LOGSHIP"
pass=0 fail=0
SPID=""
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap "echo kept $T" EXIT

check() { # NAME CONDITION-STATUS [DETAIL]
	if [ "$2" = 0 ]; then
		pass=$((pass + 1)); echo "ok   $1"
	else
		fail=$((fail + 1)); echo "FAIL $1${3:+: $3}"
	fi
}

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

# serve NAME: one TLS connection on a free port (PORT), answering 200 after
# the request; what arrived goes to $T/NAME.got
serve() {
	PORT=$(free_port)
	{ sleep 2; printf 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'; } |
		timeout 20 openssl s_server -accept "127.0.0.1:$PORT" -cert "$T/c.pem" -key "$T/k.pem" \
			-quiet >"$T/$1.got" 2>"$T/$1.srv" &
	SPID=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
		sleep 0.05
	done
}

unserve() {
	kill "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=""
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/k.pem" -out "$T/c.pem" -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
check "a test certificate was made" "$([ -s "$T/c.pem" ]; echo $?)"
printf 'line one\nline two\nline three\n' >"$T/a.log"

# 1. self-signed, not trusted: refused, nothing sent
serve untrusted
"$LOGSHIP" ship --once --state "$T/s1" --name tls --max-retry-time 2s --backoff-cap 200ms \
	--to "https://127.0.0.1:$PORT/in" "$T/a.log" 2>"$T/err1"
rc=$?
unserve
check "untrusted certificate: exit 3" "$([ "$rc" = 3 ]; echo $?)" "exit $rc"
check "untrusted certificate: the error says why" \
	"$(grep -q 'certificate' "$T/err1"; echo $?)" "$(head -c 300 "$T/err1")"
check "untrusted certificate: no request reached the server" \
	"$(! grep -q 'POST' "$T/untrusted.got"; echo $?)"
"$LOGSHIP" status --state "$T/s1" >"$T/status1"
check "untrusted certificate: the checkpoint did not move" \
	"$(grep -qE 'a\.log +0 ' "$T/status1"; echo $?)" "$(cat "$T/status1")"

# 2. --cacert: verified, delivered, checkpointed
serve trusted
"$LOGSHIP" ship --once --state "$T/s1" --name tls --cacert "$T/c.pem" --compress none \
	--to "https://127.0.0.1:$PORT/in" "$T/a.log" 2>"$T/err2"
rc=$?
unserve
check "--cacert: exit 0" "$([ "$rc" = 0 ]; echo $?)" "exit $rc: $(head -c 300 "$T/err2")"
check "--cacert: the request arrived over TLS" "$(grep -q '^POST /in HTTP/1.1' "$T/trusted.got"; echo $?)"
check "--cacert: all three events in the body" \
	"$([ "$(grep -c '"message":"line ' "$T/trusted.got")" = 3 ]; echo $?)"

# 3. --insecure: sends, and says so on every start
printf 'line four\n' >>"$T/a.log"
serve insecure
"$LOGSHIP" ship --once --state "$T/s1" --name tls --insecure --compress none \
	--to "https://127.0.0.1:$PORT/in" "$T/a.log" 2>"$T/err3"
rc=$?
unserve
check "--insecure: exit 0" "$([ "$rc" = 0 ]; echo $?)" "exit $rc"
check "--insecure: a warning on stderr" "$(grep -q 'insecure' "$T/err3"; echo $?)"
check "--insecure: only the new event was sent" \
	"$([ "$(grep -c '"message":"line ' "$T/insecure.got")" = 1 ]; echo $?)"

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
