/*
 * The kernel-sockets backend of net/net.h: one level-triggered epoll set holding the
 * listening sockets, the connections and the loop's signalfd. Everything that does not touch
 * a socket lives in timers.c (see net_int.h).
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "core/err.h"
#include "core/log.h"
#include "net/net_int.h"

#define EPOLL_EVENTS      256	/* events taken per epoll_wait */
#define LISTEN_BACKLOG    511
#define ACCEPT_BATCH      64	/* accepts per listener per turn: a flood cannot starve I/O */
#define ACCEPT_PAUSE_MS   250	/* a listener rests this long when out of descriptors */

struct net_listener {
	struct net_watch w;		/* first: the epoll data points here */
	struct net_loop *loop;
	struct net_listener *next;
	struct net_timer *pause;	/* while resting after EMFILE */
	net_accept_fn *fn;
	void *arg;
	uint16_t port;
};

struct epoll_be {
	int epfd;
	struct net_listener *listeners;
	uint64_t accept_logged;		/* when an accept failure was last logged */
	struct epoll_event ev[EPOLL_EVENTS];
};

static int  poll_ctl(struct net_loop *l, int op, struct net_watch *w, uint32_t events);
static int  listen_socket(const char *addr, uint16_t port, int *out);
static int  listener_add(struct net_loop *l, int fd, uint16_t port, net_accept_fn *fn,
                         void *arg);
static void listener_ready(struct net_loop *l, struct net_watch *w, uint32_t events);
static void listener_pause(struct net_listener *ls, int err);
static void listener_resume(struct net_loop *l, void *arg);
static void listener_take(struct net_listener *ls, int fd, const struct sockaddr *sa,
                          socklen_t salen);
static void conn_ready(struct net_loop *l, struct net_watch *w, uint32_t events);
static void sock_update(struct net_conn *c);
static ssize_t sock_send(struct net_conn *c, const void *p, size_t n);
static ssize_t sock_recv(struct net_conn *c, void *p, size_t n);
static void sock_close(struct net_conn *c);

static const struct net_transport sock_tp = { sock_send, sock_recv, sock_update, sock_close };

static int poll_ctl(struct net_loop *l, int op, struct net_watch *w, uint32_t events)
{
	struct epoll_be *be = l->be;
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(be->epfd, op, w->fd, &ev) == 0 ? NT_OK : NT_EIO;
}

int net__be_init(struct net_loop *l)
{
	struct epoll_be *be = calloc(1, sizeof(*be));

	if (be == NULL)
		return NT_ENOMEM;
	if ((be->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		log_err("net: epoll_create1: %s", strerror(errno));
		free(be);
		return NT_EIO;
	}
	l->be = be;
	return NT_OK;
}

void net__be_fini(struct net_loop *l)
{
	struct epoll_be *be = l->be;
	struct net_listener *ls;

	while ((ls = be->listeners) != NULL) {
		be->listeners = ls->next;
		net_timer_cancel(l, ls->pause);
		close(ls->w.fd);
		free(ls);
	}
	close(be->epfd);
	free(be);
	l->be = NULL;
}

int net__be_watch(struct net_loop *l, struct net_watch *w)
{
	if (poll_ctl(l, EPOLL_CTL_ADD, w, EPOLLIN) != NT_OK) {
		log_err("net: epoll add fd %d: %s", w->fd, strerror(errno));
		return NT_EIO;
	}
	return NT_OK;
}

void net__be_unwatch(struct net_loop *l, struct net_watch *w)
{
	if (w->fd >= 0)
		(void)poll_ctl(l, EPOLL_CTL_DEL, w, 0);	/* only fails for an fd already gone */
}

int net__be_wait(struct net_loop *l, int timeout_ms)
{
	struct epoll_be *be = l->be;
	int n = epoll_wait(be->epfd, be->ev, EPOLL_EVENTS, timeout_ms);

	if (n >= 0)
		return n;
	if (errno == EINTR)	/* a stop/continue or a debugger; just take another turn */
		return 0;
	log_err("net: epoll_wait: %s", strerror(errno));
	return NT_EIO;
}

/* Connections touched here are reaped only after the turn, so no event points at freed
 * memory. */
void net__be_dispatch(struct net_loop *l, int n)
{
	struct epoll_be *be = l->be;

	for (int i = 0; i < n; i++) {
		struct net_watch *w = be->ev[i].data.ptr;

		w->ready(l, w, be->ev[i].events);
	}
}

/* Listening ------------------------------------------------------------------------------- */

/* A bound, listening, non-blocking socket for a numeric address. NT_ENOENT (not logged) when
 * the kernel has no such address family, so "every address" can do without IPv6. */
static int listen_socket(const char *addr, uint16_t port, int *out)
{
	struct addrinfo hints = {
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		.ai_socktype = SOCK_STREAM,
	};
	struct addrinfo *ai = NULL;
	char service[8];
	int fd = -1, one = 1, rc = NT_EIO;

	snprintf(service, sizeof(service), "%u", (unsigned)port);
	if (getaddrinfo(addr, service, &hints, &ai) != 0) {
		log_err("net: listen: %s is not a numeric address", addr);
		return NT_EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = errno == EAFNOSUPPORT ? NT_ENOENT : NT_EIO;
		goto fail;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	freeaddrinfo(ai);
	*out = fd;
	return NT_OK;
fail:
	if (rc != NT_ENOENT)
		log_err("net: listen [%s]:%u: %s", addr, (unsigned)port, strerror(errno));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

static int listener_add(struct net_loop *l, int fd, uint16_t port, net_accept_fn *fn,
                        void *arg)
{
	struct epoll_be *be = l->be;
	struct net_listener *ls = calloc(1, sizeof(*ls));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (ls == NULL) {
		close(fd);
		return NT_ENOMEM;
	}
	/* Port 0: record the one the kernel chose. */
	if (port == 0 && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
		                                     : ((struct sockaddr_in6 *)&ss)->sin6_port);
	*ls = (struct net_listener){ .w = { fd, listener_ready }, .loop = l, .fn = fn,
	                             .arg = arg, .port = port, .next = be->listeners };
	if (net__be_watch(l, &ls->w) != NT_OK) {
		close(fd);
		free(ls);
		return NT_EIO;
	}
	be->listeners = ls;
	return NT_OK;
}

int net__sock_listen(struct net_loop *l, const char *addr, uint16_t port, net_accept_fn *fn,
                     void *arg)
{
	int fd4 = -1, fd6 = -1, rc;

	if (addr != NULL) {
		if ((rc = listen_socket(addr, port, &fd4)) == NT_ENOENT) {
			log_err("net: listen [%s]:%u: address family not supported", addr,
			        (unsigned)port);
			rc = NT_EIO;
		}
		return rc == NT_OK ? listener_add(l, fd4, port, fn, arg) : rc;
	}
	/* Every address: one socket per family (IPV6_V6ONLY), both or neither. */
	if ((rc = listen_socket("0.0.0.0", port, &fd4)) != NT_OK)
		return rc == NT_ENOENT ? NT_EIO : rc;
	if ((rc = listen_socket("::", port, &fd6)) == NT_ENOENT) {
		log_info("net: no IPv6; port %u listens on IPv4 only", (unsigned)port);
	} else if (rc != NT_OK) {
		close(fd4);
		return rc;
	}
	if ((rc = listener_add(l, fd4, port, fn, arg)) != NT_OK) {
		if (fd6 >= 0)
			close(fd6);
		return rc;
	}
	return fd6 >= 0 ? listener_add(l, fd6, port, fn, arg) : NT_OK;
}

static void listener_resume(struct net_loop *l, void *arg)
{
	struct net_listener *ls = arg;

	ls->pause = NULL;	/* the loop frees a one-shot timer after this returns */
	if (poll_ctl(l, EPOLL_CTL_MOD, &ls->w, EPOLLIN) != NT_OK)
		log_err("net: resume listener on port %u: %s", (unsigned)ls->port, strerror(errno));
}

/* Out of descriptors or memory: the pending connection stays in the backlog and the
 * listener stays readable, so stop watching it for a while rather than spin. */
static void listener_pause(struct net_listener *ls, int err)
{
	struct epoll_be *be = ls->loop->be;

	if (net__log_due(ls->loop, &be->accept_logged))
		log_err("net: accept on port %u: %s; pausing %u ms", (unsigned)ls->port,
		        strerror(err), ACCEPT_PAUSE_MS);
	if (ls->pause != NULL)
		return;
	ls->pause = net_timer_add(ls->loop, ACCEPT_PAUSE_MS, listener_resume, ls);
	if (ls->pause != NULL)
		(void)poll_ctl(ls->loop, EPOLL_CTL_MOD, &ls->w, 0);	/* the timer resumes */
}

static void listener_ready(struct net_loop *l, struct net_watch *w, uint32_t events)
{
	struct net_listener *ls = (struct net_listener *)w;

	(void)events;		/* only readable is watched */
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(w->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			listener_take(ls, fd, (struct sockaddr *)&ss, sl);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:	/* the peer gave up while queued; try the next one */
		case EPROTO:
			continue;
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			listener_pause(ls, errno);
			return;
		default:
			if (net__log_due(l, &((struct epoll_be *)l->be)->accept_logged))
				log_err("net: accept on port %u: %s", (unsigned)ls->port,
				        strerror(errno));
			return;
		}
	}
}

static void listener_take(struct net_listener *ls, int fd, const struct sockaddr *sa,
                          socklen_t salen)
{
	struct net_loop *l = ls->loop;
	struct net_conn *c;
	int one = 1;

	if (!net__conn_admit(l) || (c = net__conn_new(l)) == NULL) {
		close(fd);
		return;
	}
	c->w = (struct net_watch){ fd, conn_ready };
	c->tp = &sock_tp;
	c->lport = ls->port;
	if (getnameinfo(sa, salen, c->peer, sizeof(c->peer), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(c->peer, sizeof(c->peer), "?");
	/* Stanzas are small and already whole when written: send them now. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));	/* only latency */
	if (poll_ctl(l, EPOLL_CTL_ADD, &c->w, 0) != NT_OK) {
		log_err("net %lu %s: epoll add: %s", c->id, c->peer, strerror(errno));
		net_abort(c);	/* no handlers yet: reaped without on_close */
		return;
	}
	log_debug("net %lu %s: accepted on port %u", c->id, c->peer, (unsigned)ls->port);
	ls->fn(c, ls->arg);
}

/* Connections ----------------------------------------------------------------------------- */

static void conn_ready(struct net_loop *l, struct net_watch *w, uint32_t events)
{
	struct net_conn *c = (struct net_conn *)w;

	(void)l;
	if (c->dead)
		return;
	if (events & EPOLLOUT)
		net__conn_flush(c);
	if ((events & EPOLLIN) && c->on_read != NULL && !c->closing && !c->paused)
		c->on_read(c, c->arg);
	if (events & (EPOLLHUP | EPOLLERR))
		net__conn_gone(c);
}

static void sock_update(struct net_conn *c)
{
	uint32_t want = 0;

	if (c->dead || c->w.fd < 0)
		return;
	if (c->on_read != NULL && !c->closing && !c->paused)
		want |= EPOLLIN;
	if (c->out.len > 0)
		want |= EPOLLOUT;
	if (want == c->be_mask)
		return;
	if (poll_ctl(c->loop, EPOLL_CTL_MOD, &c->w, want) != NT_OK) {
		log_err("net %lu %s: epoll mod: %s", c->id, c->peer, strerror(errno));
		net__conn_gone(c);
		return;
	}
	c->be_mask = want;
}

static ssize_t sock_send(struct net_conn *c, const void *p, size_t n)
{
	for (;;) {
		ssize_t r = send(c->w.fd, p, n, MSG_NOSIGNAL);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return NT_EAGAIN;
		log_debug("net %lu %s: send: %s", c->id, c->peer, strerror(errno));
		return NT_EIO;
	}
}

static ssize_t sock_recv(struct net_conn *c, void *p, size_t n)
{
	for (;;) {
		ssize_t r = read(c->w.fd, p, n);

		if (r > 0)
			return r;
		if (r == 0)
			return NT_ECLOSED;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return NT_EAGAIN;
		log_debug("net %lu %s: read: %s", c->id, c->peer, strerror(errno));
		return NT_EIO;
	}
}

static void sock_close(struct net_conn *c)
{
	if (c->w.fd < 0)
		return;
	close(c->w.fd);	/* also leaves the epoll set */
	c->w.fd = -1;
}
