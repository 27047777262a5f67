/*
 * net/ over real loopback sockets: the loop serves, plain blocking-or-not sockets in this
 * same process are the peers. A few checks peek at net_int.h (the queue's storage, the
 * paused flag, a socket's buffer size) to make the slow paths happen quickly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "core/err.h"
#include "net/net.h"
#include "net/net_int.h"

#define SRV_MAX     8
#define CHUNK       (64 * 1024)
#define SMALL_BUF   16384	/* socket buffers shrunk so queues fill after little data */
#define WAIT_MS     10000	/* deadline for a condition that should hold much sooner */
#define EMFILE_CLIENTS 8

struct srv {
	struct net_loop *l;
	uint16_t port;
	struct net_conn *c[SRV_MAX];
	int closes[SRV_MAX];
	int naccept, nclose;
	int echo;		/* write back what is read */
	int no_handlers;	/* accept and set nothing; 1: abort at once, 2: keep it */
	int misuse;		/* on the first read: close and abort, twice */
	int sndbuf;		/* SO_SNDBUF for accepted sockets when > 0 */
	size_t nread;
	ssize_t last_rc;
	int bad_close;		/* on_close saw a connection that was not closing */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint8_t pat(size_t i)
{
	return (uint8_t)(i % 251);	/* 251 does not divide CHUNK: misordered chunks show */
}

static void fill(uint8_t *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(off + i);
}

static int check(const uint8_t *p, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(off + i))
			return 0;
	return 1;
}

/* Runs turns until cond holds or ms pass. */
#define SPIN(l, cond, ms) do { \
	uint64_t spin_end_ = mono_ms() + (ms); \
	while (!(cond) && mono_ms() < spin_end_) \
		assert_int_equal(net_loop_once((l), 5), NT_OK); \
} while (0)

static int loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	a6->sin6_family = AF_INET6;
	a6->sin6_port = htons(port);
	a6->sin6_addr = in6addr_loopback;
	return sizeof(*a6);
}

/* A port nobody listens on now: bind a probe to port 0 and read what the kernel chose. */
static uint16_t free_port(int family)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)loopback(family, 0, &ss);
	int fd = socket(family, SOCK_STREAM, 0);
	uint16_t port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
	                               : ((struct sockaddr_in6 *)&ss)->sin6_port);
	close(fd);
	return port;
}

static int have_ipv6(void)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)loopback(AF_INET6, 0, &ss);
	int fd = socket(AF_INET6, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	ok = bind(fd, (struct sockaddr *)&ss, sl) == 0;
	close(fd);
	return ok;
}

/* A connected, non-blocking client; rcvbuf > 0 shrinks its receive buffer first. */
static int cli_connect(int family, uint16_t port, int rcvbuf)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)loopback(family, port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	if (rcvbuf > 0)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	return fd;
}

static int srv_index(struct srv *s, struct net_conn *c)
{
	for (int i = s->naccept - 1; i >= 0; i--)
		if (s->c[i] == c)
			return i;
	fail_msg("unknown connection");
	return -1;
}

static void srv_on_read(struct net_conn *c, void *arg)
{
	struct srv *s = arg;
	uint8_t b[16384];
	ssize_t r;

	while ((r = net_read(c, b, sizeof(b))) > 0) {
		s->nread += (size_t)r;
		if (s->echo)
			assert_int_equal(net_write(c, b, (size_t)r), NT_OK);
	}
	s->last_rc = r;
	if (s->misuse) {
		net_close(c);
		net_abort(c);
		net_close(c);
		net_abort(c);
	}
}

static void srv_on_close(struct net_conn *c, void *arg)
{
	struct srv *s = arg;

	s->closes[srv_index(s, c)]++;
	s->nclose++;
	if (!net_is_closing(c) || net_write(c, "x", 1) != NT_ECLOSED)
		s->bad_close = 1;
}

static void srv_on_accept(struct net_conn *c, void *arg)
{
	struct srv *s = arg;

	assert_true(s->naccept < SRV_MAX);
	s->c[s->naccept++] = c;
	if (s->no_handlers) {
		if (s->no_handlers == 1)
			net_abort(c);
		return;
	}
	if (s->sndbuf > 0)
		assert_int_equal(setsockopt(c->w.fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf,
		                            sizeof(s->sndbuf)), 0);
	net_conn_set_handlers(c, srv_on_read, srv_on_close, s);
}

static void srv_start(struct srv *s, unsigned max_conns, const char *addr, int family)
{
	memset(s, 0, sizeof(*s));
	assert_non_null(s->l = net_loop_new(max_conns));
	s->port = free_port(family);
	assert_int_equal(net_listen(s->l, addr, s->port, srv_on_accept, s), NT_OK);
}

/* A client the server has accepted. */
static int srv_client(struct srv *s, int family, int rcvbuf)
{
	int want = s->naccept + 1, fd = cli_connect(family, s->port, rcvbuf);

	SPIN(s->l, s->naccept == want, WAIT_MS);
	assert_int_equal(s->naccept, want);
	return fd;
}

/* Reads what the client has; 0 on EOF, -1 when nothing now or on an error. */
static ssize_t cli_read(int fd, uint8_t *p, size_t n)
{
	return recv(fd, p, n, MSG_DONTWAIT);
}

static void echo_on(int family, const char *addr, const char *peer)
{
	struct srv s;
	uint8_t got[16];
	size_t n = 0;
	ssize_t r;
	int fd, fd2;

	srv_start(&s, 16, addr, family);
	s.echo = 1;
	fd = srv_client(&s, family, 0);
	fd2 = srv_client(&s, family, 0);
	assert_string_equal(net_peer_addr(s.c[0]), peer);
	assert_int_equal(net_local_port(s.c[0]), s.port);
	assert_int_equal(net_conn_count(s.l), 2);
	assert_true(net_conn_id(s.c[0]) != net_conn_id(s.c[1]));
	assert_int_equal(send(fd, "hello", 5, 0), 5);
	SPIN(s.l, n == 5 || ((r = cli_read(fd, got + n, sizeof(got) - n)) > 0 && (n += r) == 5),
	     WAIT_MS);
	assert_int_equal(n, 5);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(s.last_rc, NT_EAGAIN);
	assert_int_equal(net_outq(s.c[0]), 0);
	close(fd);
	SPIN(s.l, s.nclose == 1, WAIT_MS);
	assert_int_equal(s.closes[0], 1);
	assert_int_equal(s.last_rc, NT_ECLOSED);
	assert_int_equal(net_conn_count(s.l), 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(net_loop_once(s.l, 1), NT_OK);
	assert_int_equal(s.nclose, 1);
	assert_int_equal(s.bad_close, 0);
	net_loop_free(s.l);	/* the open one gets its on_close too */
	assert_int_equal(s.closes[1], 1);
	close(fd2);
}

static void echo_ipv4(void **state)
{
	(void)state;
	echo_on(AF_INET, "127.0.0.1", "127.0.0.1");
}

static void echo_ipv6(void **state)
{
	(void)state;
	if (!have_ipv6())
		skip();
	echo_on(AF_INET6, "::1", "::1");
}

static void listen_any_and_errors(void **state)
{
	struct srv s;
	int fd4, fd6 = -1;

	(void)state;
	srv_start(&s, 16, NULL, AF_INET);
	fd4 = srv_client(&s, AF_INET, 0);
	assert_string_equal(net_peer_addr(s.c[0]), "127.0.0.1");	/* not ::ffff:127.0.0.1 */
	if (have_ipv6()) {
		fd6 = srv_client(&s, AF_INET6, 0);
		assert_string_equal(net_peer_addr(s.c[1]), "::1");
	}
	assert_int_equal(net_listen(s.l, "localhost", s.port, srv_on_accept, &s), NT_EINVAL);
	assert_int_equal(net_listen(s.l, "127.0.0.1", s.port, srv_on_accept, &s), NT_EIO);
	assert_int_equal(net_listen(s.l, NULL, s.port, srv_on_accept, &s), NT_EIO);
	net_loop_free(s.l);
	assert_int_equal(s.nclose, s.naccept);
	close(fd4);
	if (fd6 >= 0)
		close(fd6);
}

struct producer {
	struct net_conn *c;
	size_t sent, total, max_q;
	int rc;
};

/* Tops the queue up at the end of each turn, as a session with a lot to say would. */
static void produce(struct net_loop *l, void *arg)
{
	struct producer *p = arg;
	static uint8_t chunk[CHUNK];
	size_t n;

	(void)l;
	while (p->rc == NT_OK && p->sent < p->total &&
	       net_outq(p->c) <= CONFIG_NT_OUTBUF_MAX / 2) {
		n = p->total - p->sent < CHUNK ? p->total - p->sent : CHUNK;
		fill(chunk, p->sent, n);
		if ((p->rc = net_write(p->c, chunk, n)) == NT_OK)
			p->sent += n;
		if (net_outq(p->c) > p->max_q)
			p->max_q = net_outq(p->c);
	}
}

static void big_write_slow_reader(void **state)
{
	struct producer p = { .total = 5u << 20 };
	struct srv s;
	static uint8_t b[32768];
	size_t got = 0;
	uint64_t end;
	ssize_t r;
	int fd;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.sndbuf = SMALL_BUF;
	fd = srv_client(&s, AF_INET, SMALL_BUF);
	p.c = s.c[0];
	net_set_before_sleep(s.l, produce, &p);
	end = mono_ms() + 60000;
	while (got < p.total && mono_ms() < end) {
		assert_int_equal(net_loop_once(s.l, 1), NT_OK);
		if ((r = cli_read(fd, b, sizeof(b))) > 0) {	/* one small read per turn */
			assert_true(check(b, got, (size_t)r));
			got += (size_t)r;
		}
	}
	assert_int_equal(p.rc, NT_OK);
	assert_int_equal(got, p.total);
	assert_true(p.max_q >= CONFIG_NT_OUTBUF_MAX / 4);	/* it really queued */
	SPIN(s.l, net_outq(p.c) == 0, WAIT_MS);
	assert_int_equal(net_outq(p.c), 0);
	assert_null(p.c->out.p);	/* an idle connection holds no buffer */
	assert_int_equal(s.nclose, 0);
	net_loop_free(s.l);
	close(fd);
}

/* The client sends without reading; the server echoes. */
static void backpressure(void **state)
{
	static uint8_t b[CHUNK];
	struct srv s;
	struct net_conn *c;
	size_t sent = 0, got = 0, nread0, q0;
	uint64_t end;
	ssize_t r;
	int fd;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.echo = 1;
	s.sndbuf = SMALL_BUF;
	fd = srv_client(&s, AF_INET, SMALL_BUF);
	c = s.c[0];
	end = mono_ms() + WAIT_MS;
	while (!c->paused && mono_ms() < end) {
		fill(b, sent, CHUNK);
		if ((r = send(fd, b, CHUNK, MSG_DONTWAIT)) > 0)
			sent += (size_t)r;
		assert_int_equal(net_loop_once(s.l, 1), NT_OK);
	}
	assert_true(c->paused);
	assert_true(net_outq(c) > NET_PAUSE_AT);
	/* Paused: whatever else the client sends stays unread. */
	nread0 = s.nread;
	q0 = net_outq(c);
	for (int i = 0; i < 40; i++) {
		fill(b, sent, CHUNK);
		if ((r = send(fd, b, CHUNK, MSG_DONTWAIT)) > 0)
			sent += (size_t)r;
		assert_int_equal(net_loop_once(s.l, 5), NT_OK);
	}
	assert_int_equal(s.nread, nread0);
	assert_true(sent > nread0);
	assert_true(net_outq(c) <= q0 && net_outq(c) > NET_RESUME_AT);
	assert_int_equal(s.nclose, 0);
	/* The client reads: the queue drains, reading resumes, everything comes back. */
	end = mono_ms() + 60000;
	while (got < sent && mono_ms() < end) {
		while ((r = cli_read(fd, b, sizeof(b))) > 0) {
			assert_true(check(b, got, (size_t)r));
			got += (size_t)r;
		}
		assert_int_equal(net_loop_once(s.l, 1), NT_OK);
	}
	assert_int_equal(got, sent);
	assert_int_equal(s.nread, sent);
	assert_false(c->paused);
	assert_int_equal(s.nclose, 0);
	net_loop_free(s.l);
	close(fd);
}

/* Fills the server's queue of connection i with pattern bytes while its peer reads nothing;
 * the last net_write() code. */
static int stuff(struct srv *s, int i, size_t total, size_t *written)
{
	static uint8_t b[CHUNK];
	int rc = NT_OK;

	*written = 0;
	while (*written < total && rc == NT_OK) {
		fill(b, *written, CHUNK);
		if ((rc = net_write(s->c[i], b, CHUNK)) == NT_OK)
			*written += CHUNK;
		assert_true(net_outq(s->c[i]) <= CONFIG_NT_OUTBUF_MAX);
	}
	return rc;
}

static void drop_past_cap(void **state)
{
	struct srv s;
	size_t written;
	int fd;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.sndbuf = SMALL_BUF;
	fd = srv_client(&s, AF_INET, SMALL_BUF);
	assert_int_equal(stuff(&s, 0, 64u * CONFIG_NT_OUTBUF_MAX, &written), NT_ELIMIT);
	assert_true(written >= CONFIG_NT_OUTBUF_MAX - CHUNK);
	assert_true(net_is_closing(s.c[0]));
	assert_int_equal(net_write(s.c[0], "x", 1), NT_ECLOSED);
	assert_int_equal(net_loop_once(s.l, 0), NT_OK);
	assert_int_equal(s.closes[0], 1);
	assert_int_equal(net_conn_count(s.l), 0);
	net_loop_free(s.l);
	close(fd);
}

static struct net_conn *over_budget_seen;
static int over_budget_calls;

static void over_budget_close(struct net_conn *c, void *arg)
{
	(void)arg;
	over_budget_seen = c;
	over_budget_calls++;
	net_close(c);
}

/* Past the output budget the longest queue goes (its owner is told), and only as many as it
 * takes; a connection whose owner set no callback is aborted. The loop's total follows every
 * queue. */
static void output_budget(void **state)
{
	struct srv s;
	size_t w0, w1, q0, q1;
	int fd0, fd1;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.sndbuf = SMALL_BUF;
	fd0 = srv_client(&s, AF_INET, SMALL_BUF);
	fd1 = srv_client(&s, AF_INET, SMALL_BUF);
	net_conn_set_on_over_budget(s.c[0], over_budget_close);
	assert_int_equal(stuff(&s, 0, 6 * CHUNK, &w0), NT_OK);
	assert_int_equal(stuff(&s, 1, 3 * CHUNK, &w1), NT_OK);
	q0 = net_outq(s.c[0]);
	q1 = net_outq(s.c[1]);
	assert_true(q0 > q1 && q1 > 0);
	assert_int_equal(net_outq_total(s.l), q0 + q1);
	net_set_output_budget(s.l, q0 + q1);	/* at the budget: nobody goes */
	assert_int_equal(net_loop_once(s.l, 0), NT_OK);
	assert_int_equal(over_budget_calls, 0);
	assert_false(net_is_closing(s.c[0]) || net_is_closing(s.c[1]));
	net_set_output_budget(s.l, net_outq_total(s.l) - 1);	/* one byte past: the slowest */
	assert_int_equal(net_loop_once(s.l, 0), NT_OK);
	assert_int_equal(over_budget_calls, 1);
	assert_ptr_equal(over_budget_seen, s.c[0]);
	assert_true(net_is_closing(s.c[0]));
	assert_false(net_is_closing(s.c[1]));
	net_set_output_budget(s.l, 1);		/* c1 has no callback: aborted */
	assert_int_equal(net_loop_once(s.l, 0), NT_OK);
	assert_int_equal(s.closes[1], 1);
	assert_int_equal(over_budget_calls, 1);
	net_abort(s.c[0]);
	assert_int_equal(net_loop_once(s.l, 0), NT_OK);
	assert_int_equal(net_conn_count(s.l), 0);
	assert_int_equal(net_outq_total(s.l), 0);
	net_loop_free(s.l);
	close(fd0);
	close(fd1);
}

static void close_flushes(void **state)
{
	static uint8_t b[CHUNK];
	const size_t total = 12 * CHUNK;
	struct srv s;
	size_t written, got = 0;
	uint64_t end;
	ssize_t r = -1;
	int fd;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.sndbuf = SMALL_BUF;
	fd = srv_client(&s, AF_INET, SMALL_BUF);
	assert_int_equal(stuff(&s, 0, total, &written), NT_OK);
	assert_true(net_outq(s.c[0]) > 0);
	net_close(s.c[0]);
	assert_true(net_is_closing(s.c[0]));
	assert_int_equal(net_write(s.c[0], "x", 1), NT_ECLOSED);
	for (int i = 0; i < 10; i++)
		assert_int_equal(net_loop_once(s.l, 2), NT_OK);
	assert_int_equal(s.nclose, 0);	/* still flushing */
	assert_true(net_outq(s.c[0]) > 0);
	end = mono_ms() + WAIT_MS;
	while (r != 0 && mono_ms() < end) {
		while ((r = cli_read(fd, b, sizeof(b))) > 0) {
			assert_true(check(b, got, (size_t)r));
			got += (size_t)r;
		}
		assert_int_equal(net_loop_once(s.l, 1), NT_OK);
	}
	assert_int_equal(r, 0);	/* an orderly end, not a reset */
	assert_int_equal(got, total);
	assert_int_equal(s.closes[0], 1);
	assert_int_equal(s.bad_close, 0);
	net_loop_free(s.l);
	close(fd);
}

static void close_gives_up_after_linger(void **state)
{
	struct srv s;
	size_t written;
	uint64_t t0, dt;
	int fd;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.sndbuf = SMALL_BUF;
	fd = srv_client(&s, AF_INET, SMALL_BUF);
	assert_int_equal(stuff(&s, 0, 4 * CHUNK, &written), NT_OK);
	assert_true(net_outq(s.c[0]) > 0);
	t0 = mono_ms();
	net_close(s.c[0]);
	SPIN(s.l, s.nclose == 1, NET_LINGER_MS + 3000);
	dt = mono_ms() - t0;
	assert_int_equal(s.closes[0], 1);
	assert_true(dt >= NET_LINGER_MS - 2);
	net_loop_free(s.l);
	close(fd);
}

static void on_close_exactly_once(void **state)
{
	struct srv s;
	int fd;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.misuse = 1;
	fd = srv_client(&s, AF_INET, 0);
	assert_int_equal(send(fd, "x", 1, 0), 1);
	close(fd);	/* and the peer leaves too */
	SPIN(s.l, s.nclose > 0, WAIT_MS);
	for (int i = 0; i < 10; i++)
		assert_int_equal(net_loop_once(s.l, 1), NT_OK);
	assert_int_equal(s.closes[0], 1);
	assert_int_equal(s.nclose, 1);
	assert_int_equal(s.bad_close, 0);
	net_loop_free(s.l);
	assert_int_equal(s.nclose, 1);
}

static void peer_eof_and_reset(void **state)
{
	struct linger lg = { 1, 0 };
	struct srv s;
	size_t written;
	int fd, fd2;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.sndbuf = SMALL_BUF;
	/* An orderly end: what was sent is read, then NT_ECLOSED, then on_close. */
	fd = srv_client(&s, AF_INET, 0);
	assert_int_equal(send(fd, "bye", 3, 0), 3);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	SPIN(s.l, s.nclose == 1, WAIT_MS);
	assert_int_equal(s.nread, 3);
	assert_int_equal(s.last_rc, NT_ECLOSED);
	/* A reset while output is queued for the peer. */
	fd2 = srv_client(&s, AF_INET, SMALL_BUF);
	assert_int_equal(stuff(&s, 1, 4 * CHUNK, &written), NT_OK);
	assert_true(net_outq(s.c[1]) > 0);
	assert_int_equal(setsockopt(fd2, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd2);
	SPIN(s.l, s.nclose == 2, WAIT_MS);
	assert_int_equal(s.closes[1], 1);
	assert_int_equal(net_conn_count(s.l), 0);
	assert_int_equal(s.bad_close, 0);
	net_loop_free(s.l);
	close(fd);
}

static void unhandled_conn_is_freed(void **state)
{
	struct linger lg = { 1, 0 };
	struct srv s;
	uint8_t b[4];
	ssize_t r = -1;
	int fd, fd2;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	s.no_handlers = 1;
	fd = srv_client(&s, AF_INET, 0);
	SPIN(s.l, (r = cli_read(fd, b, sizeof(b))) >= 0, WAIT_MS);
	assert_int_equal(r, 0);
	assert_int_equal(net_conn_count(s.l), 0);
	/* Kept without handlers, nothing is watched but a hang-up: a reset still frees it. */
	s.no_handlers = 2;
	fd2 = srv_client(&s, AF_INET, 0);
	assert_int_equal(net_conn_count(s.l), 1);
	assert_int_equal(setsockopt(fd2, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd2);
	SPIN(s.l, net_conn_count(s.l) == 0, WAIT_MS);
	assert_int_equal(net_conn_count(s.l), 0);
	assert_int_equal(s.nclose, 0);
	net_loop_free(s.l);
	close(fd);
}

static void max_conns_enforced(void **state)
{
	struct srv s;
	uint8_t b[4];
	ssize_t r = -1;
	int fd[4];

	(void)state;
	srv_start(&s, 2, "127.0.0.1", AF_INET);
	fd[0] = srv_client(&s, AF_INET, 0);
	fd[1] = srv_client(&s, AF_INET, 0);
	fd[2] = cli_connect(AF_INET, s.port, 0);
	SPIN(s.l, (r = cli_read(fd[2], b, sizeof(b))) >= 0 || errno != EAGAIN, WAIT_MS);
	assert_true(r == 0 || errno == ECONNRESET);	/* turned away */
	assert_int_equal(s.naccept, 2);
	assert_int_equal(net_conn_count(s.l), 2);
	close(fd[0]);
	SPIN(s.l, net_conn_count(s.l) == 1, WAIT_MS);
	fd[3] = srv_client(&s, AF_INET, 0);	/* room again */
	assert_int_equal(net_conn_count(s.l), 2);
	net_loop_free(s.l);
	for (int i = 1; i < 4; i++)
		close(fd[i]);
}

static void count_turn(struct net_loop *l, void *arg)
{
	(void)l;
	(*(int *)arg)++;
}

/* Out of descriptors, a pending connection must not make the loop spin. Under valgrind the
 * kernel accepts and valgrind closes the socket past its own limit, so each attempt costs a
 * client: several wait, and at least one must get through once descriptors are back. */
static void emfile_does_not_spin(void **state)
{
	struct rlimit old, low;
	struct srv s;
	int fd[EMFILE_CLIENTS], probe, turns = 0;
	uint64_t end;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	for (int i = 0; i < EMFILE_CLIENTS; i++)
		fd[i] = cli_connect(AF_INET, s.port, 0);	/* wait in the backlog */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	assert_true((probe = dup(fd[0])) >= 0);	/* the lowest free descriptor */
	close(probe);
	low = old;
	low.rlim_cur = (rlim_t)probe;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int_equal(dup(fd[0]), -1);
	net_set_before_sleep(s.l, count_turn, &turns);
	end = mono_ms() + 600;
	while (mono_ms() < end)
		assert_int_equal(net_loop_once(s.l, 50), NT_OK);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(s.naccept, 0);
	assert_true(turns < 60);	/* a spinning loop takes thousands */
	SPIN(s.l, s.naccept > 0, WAIT_MS);	/* accepting again */
	assert_true(s.naccept > 0);
	net_loop_free(s.l);
	for (int i = 0; i < EMFILE_CLIENTS; i++)
		close(fd[i]);
}

static void before_sleep_each_turn(void **state)
{
	struct srv s;
	int turns = 0, fd;
	uint64_t t0;

	(void)state;
	srv_start(&s, 16, "127.0.0.1", AF_INET);
	fd = srv_client(&s, AF_INET, 0);
	net_set_before_sleep(s.l, count_turn, &turns);
	for (int i = 0; i < 5; i++)
		assert_int_equal(net_loop_once(s.l, 0), NT_OK);
	assert_int_equal(turns, 5);
	/* A connection closed outside any turn is reaped by the next one without sleeping. */
	t0 = mono_ms();
	net_abort(s.c[0]);
	assert_int_equal(net_loop_once(s.l, 5000), NT_OK);
	assert_true(mono_ms() - t0 < 2500);
	assert_int_equal(s.nclose, 1);
	assert_int_equal(turns, 6);
	net_set_before_sleep(s.l, NULL, NULL);
	assert_int_equal(net_loop_once(s.l, 0), NT_OK);
	assert_int_equal(turns, 6);
	net_loop_free(s.l);
	close(fd);
}

static void stop_after(struct net_loop *l, void *arg)
{
	(void)arg;
	net_loop_stop(l);
}

static void run_until_stop(void **state)
{
	struct net_loop *l = net_loop_new(4);
	int turns = 0;

	(void)state;
	assert_non_null(l);
	net_set_before_sleep(l, count_turn, &turns);
	assert_non_null(net_timer_add(l, 10, stop_after, NULL));
	assert_int_equal(net_loop_run(l), NT_OK);
	assert_true(turns >= 1 && turns <= 3);
	net_loop_free(l);
	net_loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(echo_ipv4),
		cmocka_unit_test(echo_ipv6),
		cmocka_unit_test(listen_any_and_errors),
		cmocka_unit_test(big_write_slow_reader),
		cmocka_unit_test(backpressure),
		cmocka_unit_test(drop_past_cap),
		cmocka_unit_test(output_budget),
		cmocka_unit_test(close_flushes),
		cmocka_unit_test(close_gives_up_after_linger),
		cmocka_unit_test(on_close_exactly_once),
		cmocka_unit_test(peer_eof_and_reset),
		cmocka_unit_test(unhandled_conn_is_freed),
		cmocka_unit_test(max_conns_enforced),
		cmocka_unit_test(emfile_does_not_spin),
		cmocka_unit_test(before_sleep_each_turn),
		cmocka_unit_test(run_until_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
