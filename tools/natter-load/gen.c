/*
 * The generator's event loop: one epoll set for every client connection of this process,
 * a queue of connections waiting for a setup slot (--ramp), the output flushed once per turn,
 * and --timeout deadlines checked ten times a second. Connections are only ever opened between
 * event batches, so an event that is still pending for a connection dropped (and perhaps
 * restarted) earlier in the same batch finds it idle or queued and is ignored.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "core/err.h"
#include "core/log.h"
#include "load.h"

#define GEN_EVENTS 512
#define GEN_TICK_MS 10
#define GEN_SCAN_US 100000
#define GEN_LOG_FAILS 10

static int gen_resolve(struct gen *g)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int rc = getaddrinfo(g->o->host, NULL, &hints, &res);

	if (rc != 0 || res == NULL) {
		log_err("natter-load: %s: %s", g->o->host, gai_strerror(rc));
		return NT_EINVAL;
	}
	memcpy(&g->dst, res->ai_addr, sizeof(g->dst));
	g->dst.sin_port = htons(g->o->port);
	/* --sources 0 (the default): on loopback spread over 16 source addresses, so that a
	 * server's per-address limits (natterd: CONFIG_NT_CONNS_PER_IP) and the ephemeral
	 * ports of one address do not cap a run at a few thousand connections. */
	g->sources = g->o->sources;
	if (g->sources == 0)
		g->sources = (ntohl(g->dst.sin_addr.s_addr) >> 24) == 127 ? 16 : 1;
	g->source_base = INADDR_LOOPBACK;
	if (g->o->source_base != NULL) {
		struct in_addr a;

		if (inet_pton(AF_INET, g->o->source_base, &a) != 1) {
			log_err("natter-load: --source-base %s is not an IPv4 address",
				g->o->source_base);
			freeaddrinfo(res);
			return NT_EINVAL;
		}
		g->source_base = ntohl(a.s_addr);
	}
	freeaddrinfo(res);
	return NT_OK;
}

int gen_init(struct gen *g, const struct ld_opts *o, struct stats *st, int res_fd, int ctl_fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = NULL };

	memset(g, 0, sizeof(*g));
	g->o = o;
	g->st = st;
	g->res_fd = res_fd;
	g->ctl_fd = ctl_fd;
	g->ramp = o->ramp;
	g->now = mono_us();
	if ((g->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_err("natter-load: epoll: %s", strerror(errno));
		return NT_EIO;
	}
	if (gen_resolve(g) != NT_OK)
		return NT_EINVAL;
	if ((g->ctx = conn_ssl_ctx()) == NULL ||
	    (g->slots = calloc(o->users + 1u, sizeof(*g->slots))) == NULL ||
	    (g->keys = key_cache_new()) == NULL) {
		log_err("natter-load: out of memory");
		return NT_ENOMEM;
	}
	if (ctl_fd >= 0 && epoll_ctl(g->epfd, EPOLL_CTL_ADD, ctl_fd, &e) != 0) {
		log_err("natter-load: epoll: %s", strerror(errno));
		return NT_EIO;
	}
	return NT_OK;
}

void gen_free(struct gen *g)
{
	if (g->slots != NULL)
		for (unsigned i = 0; i <= g->o->users; i++)
			SSL_SESSION_free(g->slots[i].sess);
	free(g->slots);
	key_cache_free(g->keys);
	SSL_CTX_free(g->ctx);
	if (g->epfd >= 0)
		close(g->epfd);
	memset(g, 0, sizeof(*g));
	g->epfd = -1;
}

struct slot *gen_slot(struct gen *g, unsigned acct)
{
	/* Accounts outside this process's slice (never used by the scenarios) share a spare. */
	if (acct < g->o->first || acct - g->o->first >= g->o->users)
		return &g->slots[g->o->users];
	return &g->slots[acct - g->o->first];
}

void gen_enqueue(struct gen *g, struct xc *c)
{
	if (c->queued)
		return;		/* still in the queue from before; it keeps its place */
	c->queued = 1;
	c->next_q = NULL;
	if (g->q_tail != NULL)
		g->q_tail->next_q = c;
	else
		g->q_head = c;
	g->q_tail = c;
	g->qlen++;
}

void gen_mark_dirty(struct gen *g, struct xc *c)
{
	if (c->dirty)
		return;
	c->dirty = 1;
	c->next_dirty = g->dirty;
	g->dirty = c;
}

void gen_forget_clients(struct gen *g)
{
	g->all = NULL;
	g->q_head = g->q_tail = NULL;
	g->qlen = 0;
	g->dirty = NULL;
}

void gen_log_fail(struct gen *g, const struct xc *c, int err, const char *why)
{
	if (err > E_OK && err < E_MAX)
		g->st->err[err]++;
	if (g->logged < GEN_LOG_FAILS)
		log_err("natter-load: %s%u: %s: %s", g->o->prefix, c->acct, ld_err_name(err), why);
	else if (g->logged == GEN_LOG_FAILS)
		log_err("natter-load: further failures are only counted");
	g->logged++;
}

/* Opens the queued connections that fit under --ramp. Only those queued when the turn began:
 * one that fails at once and is queued again waits for the next turn. */
static void gen_start_queued(struct gen *g)
{
	unsigned k = g->qlen;
	struct xc *c;

	while (k-- > 0 && g->q_head != NULL && g->setups < g->ramp) {
		c = g->q_head;
		if ((g->q_head = c->next_q) == NULL)
			g->q_tail = NULL;
		g->qlen--;
		c->queued = 0;
		if (c->state != XS_QUEUED)
			continue;	/* abandoned while it waited */
		c->in_setup = 1;
		g->setups++;
		c->t_start = g->now;
		xc_deadline(c, 1);
		(void)conn_open(c);	/* a failure has been reported to the scenario */
	}
}

static void gen_flush(struct gen *g)
{
	struct xc *c;

	while ((c = g->dirty) != NULL) {
		g->dirty = c->next_dirty;
		c->dirty = 0;
		if (c->fd >= 0 && c->state != XS_CONNECT && c->state != XS_TLS)
			conn_flush(c);
	}
}

static void gen_scan_deadlines(struct gen *g)
{
	for (struct xc *c = g->all; c != NULL; c = c->next_all)
		if (c->deadline != 0 && g->now > c->deadline)
			xc_fail(c, E_TIMEOUT, "no answer within --timeout");
}

/* The parent process's control pipe: 'G' means go; its end means the parent is gone. */
static void gen_control(struct gen *g)
{
	char b;
	ssize_t n = read(g->ctl_fd, &b, 1);

	if (n == 1 && b == 'G')
		g->go = 1;
	else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		g->go = 1;
		(void)epoll_ctl(g->epfd, EPOLL_CTL_DEL, g->ctl_fd, NULL);
	}
}

static void gen_turn(struct gen *g)
{
	struct epoll_event ev[GEN_EVENTS];
	int n, timeout = GEN_TICK_MS;

	g->now = mono_us();
	gen_start_queued(g);
	gen_flush(g);
	if (g->q_head != NULL && g->setups < g->ramp)
		timeout = 0;
	n = epoll_wait(g->epfd, ev, GEN_EVENTS, timeout);
	g->now = mono_us();
	for (int i = 0; i < n; i++) {
		if (ev[i].data.ptr == NULL)
			gen_control(g);
		else
			conn_io(ev[i].data.ptr, ev[i].events);
	}
	gen_flush(g);
	if (g->now >= g->next_scan) {
		gen_scan_deadlines(g);
		g->next_scan = g->now + GEN_SCAN_US;
	}
}

void gen_run(struct gen *g, gen_done_fn *done, void *arg)
{
	g->now = mono_us();
	while (!done(g, arg))
		gen_turn(g);
}

static int gen_went(struct gen *g, void *arg)
{
	(void)arg;
	return g->go;
}

static int gen_write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return NT_EIO;
		b += w;
		n -= (size_t)w;
	}
	return NT_OK;
}

void gen_ready(struct gen *g, unsigned n)
{
	char msg[5] = { 'R' };

	if (g->res_fd < 0) {
		fprintf(stderr, "READY %u\n", n);
		fflush(stderr);
		return;
	}
	memcpy(msg + 1, &n, sizeof(n));
	if (gen_write_all(g->res_fd, msg, sizeof(msg)) != NT_OK)
		return;
	gen_run(g, gen_went, NULL);
}

int gen_report(struct gen *g)
{
	char type = 'S';

	if (g->res_fd < 0)
		return NT_OK;
	if (gen_write_all(g->res_fd, &type, 1) != NT_OK)
		return NT_EIO;
	return gen_write_all(g->res_fd, g->st, sizeof(*g->st));
}
