#!/usr/bin/env bash
# sink-shapes.sh - the request each sink sends, as the fake sink receives it:
# the path, the headers and the body's shape against the APIs' documented
# formats (Elasticsearch bulk action + document lines, Loki push streams,
# Splunk HEC envelopes, OTLP/HTTP JSON logs, ClickHouse JSONEachRow rows).
# Ends with "N passed, N failed".
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

check() { # NAME STATUS [DETAIL]
	if [ "$2" = 0 ]; then
		pass=$((pass + 1)); echo "ok   $1"
	else
		fail=$((fail + 1)); echo "FAIL $1${3:+: $3}"
	fi
}

cc -O2 -o "$T/fakesink" tests/integration/fakesink.c -lz -lzstd || { echo "0 passed, 1 failed"; exit 1; }

# sink NAME OK-BODY: a fake sink answering 2xx with OK-BODY; PORT, $T/NAME.out, $T/NAME.log
sink() {
	rm -f "$T/port"
	"$T/fakesink" --port-file "$T/port" --out "$T/$1.out" --log "$T/$1.log" --ok-body "$2" &
	SPID=$!
	for _ in $(seq 1 200); do [ -s "$T/port" ] && break; sleep 0.05; done
	PORT=$(cat "$T/port")
}

unsink() {
	kill "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=""
}

# ship NAME URL [OPTIONS...]: ship the sample once to URL
ship() {
	local name=$1 url=$2
	shift 2
	LOGSHIP_NOW=2023-11-15T00:00:00Z TOKEN=s3cr3t-token "$LOGSHIP" ship --once \
		--state "$T/state-$name" --compress none "$@" --to "$url" "$T/auth.log" 2>"$T/$name.err"
}

cat >"$T/auth.log" <<'EOF'
Nov 14 22:13:20 bastion sshd[4711]: Failed password for invalid user admin from 203.0.113.9 port 51234 ssh2
Nov 14 22:13:21 bastion sshd[4711]: Accepted publickey for deploy from 192.0.2.10 port 40212 ssh2
EOF

# Elasticsearch: POST /_bulk, a create action with _index and _id, then the document
sink es '{"took":1,"errors":false,"items":[{"create":{"status":201}},{"create":{"status":201}}]}'
ship es "elasticsearch+http://127.0.0.1:$PORT/logs-%Y.%m.%d"
rc=$?
unsink
check "elasticsearch: exit 0" "$([ "$rc" = 0 ]; echo $?)" "$(cat "$T/es.err")"
check "elasticsearch: POST to /_bulk" "$(grep -q $'path=/_bulk' "$T/es.log"; echo $?)" "$(head -c 300 "$T/es.log")"
check "elasticsearch: x-ndjson content type" "$(grep -q 'h:content-type=application/x-ndjson' "$T/es.log"; echo $?)"
check "elasticsearch: 4 lines (action + document per event)" "$([ "$(wc -l <"$T/es.out")" = 4 ]; echo $?)"
check "elasticsearch: action line with dated index and _id" \
	"$(sed -n 1p "$T/es.out" | grep -qE '^\{"create":\{"_index":"logs-2023\.11\.14","_id":"[0-9a-f]{16}"\}\}$'; echo $?)" \
	"$(sed -n 1p "$T/es.out")"
id=$(sed -n 1p "$T/es.out" | sed -E 's/.*"_id":"([0-9a-f]+)".*/\1/')
check "elasticsearch: the document's event.id is the _id" "$(sed -n 2p "$T/es.out" | grep -q "\"id\":\"$id\""; echo $?)"

# Loki: POST /loki/api/v1/push, {"streams":[{"stream":{labels},"values":[["ns","line"]]}]}
sink loki '{}'
ship loki "loki+http://127.0.0.1:$PORT" --label host=host.hostname
rc=$?
unsink
body=$(cat "$T/loki.out")
check "loki: exit 0" "$([ "$rc" = 0 ]; echo $?)" "$(cat "$T/loki.err")"
check "loki: POST to /loki/api/v1/push" "$(grep -q 'path=/loki/api/v1/push' "$T/loki.log"; echo $?)"
check "loki: a streams object" "$(grep -q '^{"streams":\[{"stream":{' <<<"$body"; echo $?)" "${body:0:200}"
check "loki: labels job and host" "$(grep -q '"job":"logship"' <<<"$body" && grep -q '"host":"bastion"' <<<"$body"; echo $?)"
check "loki: values hold a nanosecond time and the event as a string" \
	"$(grep -qE '"values":\[\["17000000[0-9]{11}","\{\\"@timestamp\\"' <<<"$body"; echo $?)" "${body:0:300}"

# Splunk HEC: /services/collector/event, Authorization: Splunk TOKEN, envelopes
sink hec '{"text":"Success","code":0}'
ship hec "splunk+http://127.0.0.1:$PORT" --auth-env TOKEN
rc=$?
unsink
check "splunk: exit 0" "$([ "$rc" = 0 ]; echo $?)" "$(cat "$T/hec.err")"
check "splunk: POST to /services/collector/event" "$(grep -q 'path=/services/collector/event' "$T/hec.log"; echo $?)"
check "splunk: Authorization: Splunk <token>" "$(grep -q $'h:authorization=Splunk s3cr3t-token' "$T/hec.log"; echo $?)"
check "splunk: envelopes with time, host, source, sourcetype and event" \
	"$(grep -cE '^\{"time":170000000[01](\.[0-9]+)?,"host":"bastion","source":"[^"]*auth\.log","sourcetype":"[^"]+","event":\{' "$T/hec.out" | grep -qx 2; echo $?)" \
	"$(head -c 300 "$T/hec.out")"
check "splunk: the token is not in logship's messages" "$(! grep -q s3cr3t "$T/hec.err"; echo $?)"

# OTLP/HTTP: /v1/logs, resourceLogs > scopeLogs > logRecords
sink otlp '{}'
ship otlp "otlp+http://127.0.0.1:$PORT"
rc=$?
unsink
body=$(cat "$T/otlp.out")
check "otlp: exit 0" "$([ "$rc" = 0 ]; echo $?)" "$(cat "$T/otlp.err")"
check "otlp: POST to /v1/logs as JSON" \
	"$(grep -q 'path=/v1/logs' "$T/otlp.log" && grep -q 'h:content-type=application/json' "$T/otlp.log"; echo $?)"
check "otlp: resourceLogs with host.name, scope logship, logRecords" \
	"$(grep -q '^{"resourceLogs":\[{"resource":{"attributes":\[{"key":"host.name"' <<<"$body" &&
	   grep -q '"scopeLogs":\[{"scope":{"name":"logship"},"logRecords":\[' <<<"$body"; echo $?)" "${body:0:300}"
check "otlp: two records with timeUnixNano and a string body" \
	"$([ "$(grep -o '"timeUnixNano":"170000000[0-9]*"' <<<"$body" | wc -l)" = 2 ] &&
	   grep -q '"body":{"stringValue":"Failed password' <<<"$body"; echo $?)"

# ClickHouse over HTTP: INSERT ... FORMAT JSONEachRow in the query, one flat row per event
sink ch ''
ship ch "clickhouse+http://127.0.0.1:$PORT/db.logs"
rc=$?
unsink
check "clickhouse: exit 0" "$([ "$rc" = 0 ]; echo $?)" "$(cat "$T/ch.err")"
check "clickhouse: INSERT INTO db.logs FORMAT JSONEachRow in the query" \
	"$(grep -q 'path=/?query=INSERT%20INTO%20db.logs%20FORMAT%20JSONEachRow' "$T/ch.log"; echo $?)" \
	"$(grep -o 'path=[^	]*' "$T/ch.log" | head -1)"
check "clickhouse: flat rows with timestamp, source_ip and the event as a string" \
	"$(grep -c '^{"timestamp":"2023-11-14 22:13:2[01]",.*"source_ip":"[0-9.]*".*"event":"{' "$T/ch.out" | grep -qx 2; echo $?)" \
	"$(head -c 300 "$T/ch.out")"

echo
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
