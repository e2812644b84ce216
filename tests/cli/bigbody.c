/* bigbody.c - a hostile HTTP sink for tests/cli/t022-hostile.sh: it answers
 * every request "200 OK" with a body of 10 GiB (Content-Length: 10737418240)
 * of '{' bytes, written until the client stops reading or closes. After each
 * answer it appends one line to the --log file: "sent=BYTES" (body bytes the
 * kernel took), so a test can check that the client cut the transfer short.
 * Loopback only, one connection at a time, libc only.
 *
 * Build: cc -O2 -o bigbody tests/cli/bigbody.c
 * usage: bigbody --port-file FILE --log FILE
 *   the chosen port is written to FILE (atomically) once listening.
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

static void die(const char *what)
{
	fprintf(stderr, "bigbody: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Reads the request head and its Content-Length body; 0, or -1 when the
 * client went away first. */
static int read_request(int fd)
{
	static char buf[1 << 16];
	size_t have = 0;
	unsigned long long want = 0, got;
	char *end, *cl;
	ssize_t n;

	for (;;) {
		if (have == sizeof(buf) - 1)
			return -1;
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
	}
	for (cl = buf; (cl = strcasestr(cl, "\r\ncontent-length:")) != NULL && cl < end; cl++) {
		want = strtoull(cl + 17, NULL, 10);
		break;
	}
	got = have - (size_t)(end + 4 - buf);
	while (got < want) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		got += (unsigned long long)n;
	}
	return 0;
}

static unsigned long long answer(int fd)
{
	static char chunk[1 << 16];
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				   "Content-Length: 10737418240\r\n\r\n";
	unsigned long long sent = 0;
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	memset(chunk, '{', sizeof(chunk));
	if (write(fd, head, sizeof(head) - 1) < 0)
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

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--port-file") == 0)
			port_file = argv[i + 1];
		else if (strcmp(argv[i], "--log") == 0)
			log_path = argv[i + 1];
	}
	if (!port_file || !log_path) {
		fputs("usage: bigbody --port-file FILE --log FILE\n", stderr);
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
