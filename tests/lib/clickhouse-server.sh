# shellcheck shell=bash disable=SC2034 # sets CH_* for the script that sources it
# clickhouse-server.sh - sourced by the ClickHouse tests and bench/run.sh:
# a private clickhouse-server
# (the clickhouse-server package, 18.16 on Debian 12) on free loopback ports
# with its config and data in a directory of the caller's. Bash; defines:
#
#   ch_server_start DIR   starts the server (config, data, logs in DIR, which is
#                  wiped); sets CH_PID, CH_PORT (HTTP) and CH_VERSION; on
#                  failure returns 1 with the reason in CH_ERR
#   ch_server_stop   stops it by its PID (SIGTERM, then SIGKILL after 10 s)
#   chq SQL        runs a query over HTTP, prints the TSV result (or the error)
#
# A port taken between the check and the server's bind is retried with
# other ports (5 tries).

CH_PID="" CH_PORT="" CH_ERR="" CH_VERSION=""

_ch_now_ms() { date +%s%3N; }

# _ch_port_free PORT: nothing listens on 127.0.0.1:PORT.
_ch_port_free() { ! timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

chq() { curl -sS --max-time 120 "http://127.0.0.1:$CH_PORT/" --data-binary "$1" 2>&1; }

ch_server_start() {
	local d=$1 http tcp limit
	CH_PID="" CH_PORT="" CH_ERR="" CH_VERSION=""
	if ! command -v clickhouse-server >/dev/null 2>&1; then
		CH_ERR="clickhouse-server is not installed (apt-get install clickhouse-server)"
		return 1
	fi
	if ! command -v curl >/dev/null 2>&1; then
		CH_ERR="curl is not installed"
		return 1
	fi
	for _ in 1 2 3 4 5; do
		rm -rf "$d"
		mkdir -p "$d"
		http=$((20000 + $(od -An -N4 -tu4 /dev/urandom) % 40000))
		tcp=$((http + 1))
		_ch_port_free "$http" && _ch_port_free "$tcp" || continue
		cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/server.log</log><errorlog>$d/server.err.log</errorlog><console>0</console></logger>
  <http_port>$http</http_port><tcp_port>$tcp</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>$d/data/</path><tmp_path>$d/tmp/</tmp_path><user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config>
  <default_profile>default</default_profile><default_database>default</default_database>
  <mark_cache_size>5368709</mark_cache_size><max_concurrent_queries>50</max_concurrent_queries>
</yandex>
EOF
		clickhouse-server --config-file="$d/config.xml" >"$d/stdout" 2>&1 &
		CH_PID=$!
		limit=$(($(_ch_now_ms) + 60000))
		while kill -0 "$CH_PID" 2>/dev/null && [ "$(_ch_now_ms)" -lt "$limit" ]; do
			if [ "$(curl -s --max-time 2 "http://127.0.0.1:$http/ping")" = "Ok." ]; then
				CH_PORT=$http
				CH_VERSION=$(chq 'SELECT version()')
				return 0
			fi
			sleep 0.05
		done
		kill -9 "$CH_PID" 2>/dev/null
		wait "$CH_PID" 2>/dev/null
		CH_PID=""
		grep -qi 'address already in use' "$d/server.err.log" "$d/stdout" 2>/dev/null && continue
		break
	done
	CH_ERR="clickhouse-server (uid $(id -u)) did not start: $(tail -n 3 "$d/stdout" "$d/server.err.log" 2>/dev/null | grep -v '^==>' | grep . | tail -n 2 | tr '\n' ' ' | cut -c1-300)"
	return 1
}

ch_server_stop() {
	[ -n "$CH_PID" ] || return 0
	if kill -0 "$CH_PID" 2>/dev/null; then
		kill "$CH_PID" 2>/dev/null
		for _ in $(seq 100); do
			kill -0 "$CH_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$CH_PID" 2>/dev/null
	fi
	wait "$CH_PID" 2>/dev/null
	CH_PID=""
	return 0
}
