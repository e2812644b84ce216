/* bigbody.c - a hostile HTTP sink for the tests/cli scripts (t022-hostile,
 * t023-security). By default it answers every request "200 OK" with a body
 * of 10 GiB (Content-Length: 10737418240) of '{' bytes, written until the
 * client stops reading or closes; after each answer it appends one line
 * "sent=BYTES" (body bytes the kernel took) to the --log file, so a test can
 * check that the client cut the transfer short. Loopback only, one
 * connection at a time, libc only.
 *
 * Build: cc -O2 -o bigbody tests/cli/bigbody.c
 * usage: bigbody --port-file FILE --log FILE [--status N] [--echo]
 *   --port-file FILE  the chosen port is written there (atomically) once
 *                     listening
 *   --status N        answer with status N instead of 200
 *   --echo            the body is the request's head (its headers, secrets
 *                     included) rather than 10 GiB: a sink that reflects
 *                     what it was sent into its error messages
 * A client that stops reading without closing is given up on after 5 s
 * (no write progress), so the sink itself never hangs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BODY_BYTES 10737418240ULL
#define HEAD_MAX (1 << 16)

static int status = 200, echo;
static char head[HEAD_MAX];
static size_t head_len;

static void die(const char *what)
{
	fprintf(stderr, "bigbody: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Reads the request head (kept in head[]) and its Content-Length body; 0,
 * or -1 when the client went away first. */
static int read_request(int fd)
{
	static char body[1 << 16];
	unsigned long long want = 0, got;
	char *end, *cl;
	ssize_t n;

	head_len = 0;
	for (;;) {
		if (head_len == sizeof(head) - 1)
			return -1;
		n = read(fd, head + head_len, sizeof(head) - 1 - head_len);
		if (n <= 0)
			return -1;
		head_len += (size_t)n;
		head[head_len] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL)
			break;
	}
	cl = strcasestr(head, "\r\ncontent-length:");
	if (cl && cl < end)
		want = strtoull(cl + 17, NULL, 10);
	got = head_len - (size_t)(end + 4 - head);
	head_len = (size_t)(end + 4 - head);
	while (got < want) {
		n = read(fd, body, sizeof(body));
		if (n <= 0)
			return -1;
		got += (unsigned long long)n;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static unsigned long long answer(int fd)
{
	static char chunk[1 << 16];
	char status_line[160];
	unsigned long long sent = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (echo) {
		snprintf(status_line, sizeof(status_line), "HTTP/1.1 %d Hostile\r\n"
			 "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, head_len);
		if (write_all(fd, status_line, strlen(status_line)) < 0 ||
		    write_all(fd, head, head_len) < 0)
			return 0;
		return head_len;
	}
	snprintf(status_line, sizeof(status_line), "HTTP/1.1 %d Hostile\r\n"
		 "Content-Type: application/json\r\nContent-Length: %llu\r\n\r\n",
		 status, BODY_BYTES);
	memset(chunk, '{', sizeof(chunk));
	if (write_all(fd, status_line, strlen(status_line)) < 0)
		return 0;
	while (sent < BODY_BYTES) {
		ssize_t n;
		if (poll(&p, 1, 5000) <= 0)
			break; /* the client stopped reading: give up on it */
		n = write(fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		sent += (unsigned long long)n;
	}
	return sent;
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *log_path = NULL;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int ls, one = 1;
	FILE *f, *log;
	char tmp[4096];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc)
			log_path = argv[++i];
		else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
			status = atoi(argv[++i]);
		else if (strcmp(argv[i], "--echo") == 0)
			echo = 1;
		else
			port_file = NULL, i = argc;
	}
	if (!port_file || !log_path) {
		fputs("usage: bigbody --port-file FILE --log FILE [--status N] [--echo]\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!(log = fopen(log_path, "a")))
		die(log_path);
	setvbuf(log, NULL, _IOLBF, 0);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0)
		die("socket");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0)
		die("bind/listen");
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	if (!(f = fopen(tmp, "w")))
		die(tmp);
	fprintf(f, "%d\n", ntohs(sa.sin_port));
	if (fclose(f) != 0 || rename(tmp, port_file) != 0)
		die(port_file);
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		if (read_request(fd) == 0)
			fprintf(log, "sent=%llu\n", answer(fd));
		close(fd);
	}
}
