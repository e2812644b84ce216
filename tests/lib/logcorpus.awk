# logcorpus.awk - deterministic log lines for the ClickHouse tests (auth.log,
# nginx access and JSON lines); see the usage line below.
# -v kind=auth|nginx|app -v n=LINES -v seed=S -v known=LINE_INDEX
# Deterministic (Park-Miller PRNG, no srand); times 2023-11-14 00:00:00
# to 22:13:20 UTC, in order.
function rnd(k) { st = (st * 16807) % 2147483647; return int(st / 2147483647 * k) }
function pick(list,    a, c) { c = split(list, a, "|"); return a[rnd(c) + 1] }
function hms(t) { return sprintf("%02d:%02d:%02d", int(t / 3600), int(t % 3600 / 60), t % 60) }
BEGIN {
	st = seed % 2147483646 + 1
	for (i = 0; i < n; i++) {
		t = int(i * 80000 / n)
		if (kind == "auth") {
			host = "web0" (rnd(3) + 1)
			pre = "Nov 14 " hms(t) " " host " "
			r = rnd(100); pid = 20000 + rnd(9000)
			ip = "203.0.113." (rnd(60) + 1); port = 30000 + rnd(30000)
			if (r < 30)
				line = pre "sshd[" pid "]: Failed password for " (rnd(2) ? "invalid user " : "") pick("root|admin|test|oracle|ubuntu|git|postgres") " from " ip " port " port " ssh2"
			else if (r < 40)
				line = pre "sshd[" pid "]: Invalid user " pick("admin|test|oracle|ubuntu|pi|ftp") " from " ip " port " port
			else if (r < 55)
				line = pre "sshd[" pid "]: Connection closed by " ip " port " port " [preauth]"
			else if (r < 70)
				line = pre "sshd[" pid "]: Accepted publickey for " pick("alice|bob|carol") " from 10.0.0." (rnd(20) + 1) " port " port " ssh2: ED25519 SHA256:Xq3Zt0bFvY2uJ8kP1sQwR5nH7mC4aL9eD6gK" rnd(1000)
			else if (r < 85)
				line = pre "CRON[" pid "]: pam_unix(cron:session): session " pick("opened|closed") " for user root"
			else if (r < 92)
				line = pre "sudo:    " pick("alice|bob") " : TTY=pts/" rnd(4) " ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/" pick("apt update|systemctl restart nginx|journalctl -n 50")
			else
				line = pre "systemd[1]: Started Session " rnd(5000) " of user " pick("alice|bob|carol") "."
			# a brute-force burst every 1000 lines: 6 failures from
			# one address in a second (an alert)
			if (i % 1000 >= 500 && i % 1000 < 506)
				line = pre "sshd[" pid "]: Failed password for root from 203.0.113." (200 + int(i / 1000) % 50) " port " port " ssh2"
			if (i == known)
				line = "Nov 14 03:33:33 bastion sshd[31337]: Failed password for invalid user zz_known_user from 192.0.2.201 port 40404 ssh2"
		} else if (kind == "nginx") {
			ip = "198.51.100." (rnd(200) + 1)
			r = rnd(100)
			if (r < 3) {
				path = pick("/.env|/.git/config|/wp-login.php|/../../etc/passwd|/backup.sql")
				status = pick("404|403|404")
			} else {
				path = pick("/|/index.html|/api/v1/items/" rnd(500) "|/static/app.js|/static/app.css|/login|/search?q=shoes&page=" rnd(9) "|/cart")
				status = pick("200|200|200|200|200|200|200|200|200|200|200|200|304|301|302|404|401|403|500|502|503")
			}
			line = ip " - - [14/Nov/2023:" hms(t) " +0000] \"" pick("GET|GET|GET|GET|POST|HEAD") " " path " HTTP/1.1\" " status " " rnd(60000) " \"" pick("-|https://shop.example.com/") "\" \"" pick("Mozilla/5.0 (X11; Linux x86_64) Firefox/119.0|Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/119.0.0.0 Safari/537.36|curl/8.4.0|Go-http-client/1.1") "\""
			if (i == known)
				line = "198.51.100.250 - - [14/Nov/2023:04:44:44 +0000] \"GET /known/zz-path HTTP/1.1\" 418 42 \"-\" \"known-agent/1.0\""
			if (i == known + 1)
				line = "198.51.100.251 - - [14/Nov/2023:04:44:45 +0000] \"GET /.git/config HTTP/1.1\" 404 153 \"-\" \"known-scanner/2.0\""
		} else {
			ms = sprintf("%03d", rnd(1000))
			line = "{\"time\":\"2023-11-14T" hms(t) "." ms "Z\",\"level\":\"" pick("info|info|info|debug|warn|error") "\",\"logger\":\"" pick("http|db|cache|worker") "\",\"msg\":\"" pick("request completed|cache miss|job done|slow query|retrying") "\",\"request_id\":\"" sprintf("%08x-%04x", rnd(2147483647), rnd(65536)) "\",\"duration_ms\":" rnd(5000) / 10 ",\"seq\":" i "}"
			if (i == known)
				line = "{\"time\":\"2023-11-14T05:55:55.321Z\",\"level\":\"error\",\"logger\":\"db\",\"msg\":\"zz known json line\",\"user\":\"carol\",\"password\":\"hunter2\"}"
		}
		print line
	}
}
