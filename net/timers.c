/*
 * The backend-independent half of the event loop (see net_int.h): the per-turn clock, timers
 * (a binary min-heap), signals through a signalfd, the before-sleep hook, the turn itself,
 * and connection bookkeeping (ids, output queue, backpressure, closing, reaping).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include "core/err.h"
#include "core/log.h"
#include "net/net_int.h"

#define TIMER_OFF       ((size_t)-1)	/* not in the heap: firing now */
#define HEAP_MIN_CAP    16

struct net_timer {
	uint64_t when;		/* due at this net_now_ms() */
	uint64_t seq;		/* arming order: equal deadlines fire first armed first */
	uint32_t every;		/* 0 for a one-shot */
	size_t idx;		/* place in l->heap, or TIMER_OFF */
	net_loop_fn *fn;
	void *arg;
};

static uint64_t clock_ms(void);
static int  timer_before(const struct net_timer *a, const struct net_timer *b);
static void heap_set(struct net_loop *l, size_t i, struct net_timer *t);
static void heap_up(struct net_loop *l, size_t i);
static void heap_down(struct net_loop *l, size_t i);
static int  heap_push(struct net_loop *l, struct net_timer *t);
static void heap_remove(struct net_loop *l, size_t i);
static struct net_timer *timer_arm(struct net_loop *l, uint32_t ms, uint32_t every,
                                   net_loop_fn *fn, void *arg);
static void timers_run(struct net_loop *l);
static int  turn_wait_ms(struct net_loop *l, int timeout_ms);
static void signals_ready(struct net_loop *l, struct net_watch *w, uint32_t events);
static void fd_watch_ready(struct net_loop *l, struct net_watch *w, uint32_t events);
static void fd_watches_free(struct net_loop *l);
static void conn_kill(struct net_conn *c);
static void conn_output_changed(struct net_conn *c);
static void conn_linger_expired(struct net_loop *l, void *arg);
static unsigned conns_reap(struct net_loop *l);
static void conn_account(struct net_conn *c);
static void budget_enforce(struct net_loop *l);

/* The clock ------------------------------------------------------------------------------- */

static uint64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t net_now_ms(const struct net_loop *l)
{
	return l->now;
}

int net__log_due(struct net_loop *l, uint64_t *last)
{
	if (*last != 0 && l->now - *last < NET_LOG_PERIOD_MS)
		return 0;
	*last = l->now ? l->now : 1;
	return 1;
}

/* Timers ---------------------------------------------------------------------------------- */

static int timer_before(const struct net_timer *a, const struct net_timer *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(struct net_loop *l, size_t i, struct net_timer *t)
{
	l->heap[i] = t;
	t->idx = i;
}

static void heap_up(struct net_loop *l, size_t i)
{
	struct net_timer *t = l->heap[i];

	while (i > 0 && timer_before(t, l->heap[(i - 1) / 2])) {
		heap_set(l, i, l->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(l, i, t);
}

static void heap_down(struct net_loop *l, size_t i)
{
	struct net_timer *t = l->heap[i];

	for (;;) {
		size_t k = 2 * i + 1;

		if (k >= l->nheap)
			break;
		if (k + 1 < l->nheap && timer_before(l->heap[k + 1], l->heap[k]))
			k++;
		if (!timer_before(l->heap[k], t))
			break;
		heap_set(l, i, l->heap[k]);
		i = k;
	}
	heap_set(l, i, t);
}

static int heap_push(struct net_loop *l, struct net_timer *t)
{
	if (l->nheap == l->heap_cap) {
		size_t cap = l->heap_cap ? l->heap_cap * 2 : HEAP_MIN_CAP;
		struct net_timer **h = realloc(l->heap, cap * sizeof(*h));

		if (h == NULL)
			return NT_ENOMEM;
		l->heap = h;
		l->heap_cap = cap;
	}
	l->heap[l->nheap++] = t;
	heap_up(l, l->nheap - 1);
	return NT_OK;
}

static void heap_remove(struct net_loop *l, size_t i)
{
	struct net_timer *t = l->heap[i], *last;

	t->idx = TIMER_OFF;
	if (i == --l->nheap)
		return;
	last = l->heap[l->nheap];	/* fill the hole with the last leaf and let it settle */
	heap_set(l, i, last);
	heap_down(l, i);
	heap_up(l, last->idx);
}

/* Deadlines count from the clock now rather than from the turn's start, so that a timer
 * never fires before ms have really passed since it was armed. */
static struct net_timer *timer_arm(struct net_loop *l, uint32_t ms, uint32_t every,
                                   net_loop_fn *fn, void *arg)
{
	struct net_timer *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->when = clock_ms() + ms;
	t->seq = l->timer_seq++;
	t->every = every;
	t->fn = fn;
	t->arg = arg;
	if (heap_push(l, t) != NT_OK) {
		free(t);
		return NULL;
	}
	return t;
}

struct net_timer *net_timer_add(struct net_loop *l, uint32_t ms, net_loop_fn *fn, void *arg)
{
	return timer_arm(l, ms, 0, fn, arg);
}

/* t must not have fired: a one-shot timer is freed as soon as its callback returns, so its
 * owner forgets the pointer in that callback (see conn_linger_expired). Cancelling from
 * inside the callback itself is harmless. */
void net_timer_cancel(struct net_loop *l, struct net_timer *t)
{
	if (t == NULL || t->idx == TIMER_OFF)	/* firing now: freed after its callback */
		return;
	heap_remove(l, t->idx);
	free(t);
}

int net_every(struct net_loop *l, uint32_t ms, net_loop_fn *fn, void *arg)
{
	if (ms == 0 || fn == NULL)
		return NT_EINVAL;
	return timer_arm(l, ms, ms, fn, arg) ? NT_OK : NT_ENOMEM;
}

/* Fires what is due, in deadline order. Timers armed by these callbacks (seq >= first)
 * wait for the next turn, so a callback that re-arms itself for 0 ms cannot starve the loop. */
static void timers_run(struct net_loop *l)
{
	uint64_t first = l->timer_seq;

	while (l->nheap > 0 && l->heap[0]->when <= l->now && l->heap[0]->seq < first) {
		struct net_timer *t = l->heap[0];

		heap_remove(l, 0);
		if (t->every != 0) {
			/* Keep the phase; skip missed beats rather than firing a burst. */
			t->when += t->every;
			if (t->when <= l->now)
				t->when = l->now + t->every;
			t->seq = l->timer_seq++;
			(void)heap_push(l, t);	/* cannot fail: the heap just shrank by one */
			t->fn(l, t->arg);
			continue;
		}
		t->fn(l, t->arg);
		free(t);
	}
}

/* Signals --------------------------------------------------------------------------------- */

static void signals_ready(struct net_loop *l, struct net_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;
	ssize_t r;

	(void)events;		/* only readable is watched */
	while ((r = read(w->fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		for (size_t i = 0; i < l->nsigs; i++)
			if (l->sigs[i].signo == (int)si.ssi_signo)
				l->sigs[i].fn(l, (int)si.ssi_signo, l->sigs[i].arg);
	}
	if (r < 0 && errno != EAGAIN && errno != EINTR)
		log_err("net: signalfd read: %s", strerror(errno));
}

/* The signal stays blocked for the life of the process: unblocking a pending SIGTERM after
 * the loop is gone would kill it. */
int net_on_signal(struct net_loop *l, int signo, net_signal_fn *fn, void *arg)
{
	struct net_sig *s;
	sigset_t one;
	int fd;

	if (fn == NULL || signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP)
		return NT_EINVAL;
	if ((s = realloc(l->sigs, (l->nsigs + 1) * sizeof(*s))) == NULL)
		return NT_ENOMEM;
	l->sigs = s;
	sigemptyset(&one);
	sigaddset(&one, signo);
	sigaddset(&l->sigmask, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) != 0 ||
	    (fd = signalfd(l->sigw.fd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		log_err("net: signal %d: %s", signo, strerror(errno));
		return NT_EIO;
	}
	if (l->sigw.fd < 0) {
		l->sigw.fd = fd;
		if (net__be_watch(l, &l->sigw) != NT_OK)
			return NT_EIO;	/* the fd stays in sigw and is closed with the loop */
	}
	l->sigs[l->nsigs++] = (struct net_sig){ signo, fn, arg };
	return NT_OK;
}

int net_listen(struct net_loop *l, const char *addr, uint16_t port, net_accept_fn *fn,
               void *arg)
{
	if (fn == NULL)
		return NT_EINVAL;
	return l->stack != NULL ? l->stack->listen(l, addr, port, fn, arg)
	                        : net__sock_listen(l, addr, port, fn, arg);
}

#if !defined(CONFIG_NET_LWIP) && !defined(CONFIG_NET_BOTH)
int net_lwip_start(struct net_loop *l, const struct net_lwip_cfg *cfg)
{
	(void)l;
	(void)cfg;
	log_err("net: this natterd was built without lwIP (CONFIG_NET_LWIP or CONFIG_NET_BOTH)");
	return NT_EINVAL;
}
#endif

/* Device descriptors ---------------------------------------------------------------------- */

static void fd_watch_ready(struct net_loop *l, struct net_watch *w, uint32_t events)
{
	struct net_fd_watch *fw = (struct net_fd_watch *)w;

	(void)events;		/* readable or hung up: the owner's read tells which */
	if (!fw->dead)
		fw->fn(l, w->fd, fw->arg);
}

struct net_fd_watch *net_watch_fd(struct net_loop *l, int fd, net_fd_fn *fn, void *arg)
{
	struct net_fd_watch *fw = calloc(1, sizeof(*fw));

	if (fw == NULL)
		return NULL;
	*fw = (struct net_fd_watch){ .w = { fd, fd_watch_ready }, .fn = fn, .arg = arg };
	if (net__be_watch(l, &fw->w) != NT_OK) {
		free(fw);
		return NULL;
	}
	return fw;
}

/* Freed after the turn: an event for it may still wait in this turn's batch. */
void net_unwatch_fd(struct net_loop *l, struct net_fd_watch *w)
{
	if (w == NULL || w->dead)
		return;
	net__be_unwatch(l, &w->w);
	w->dead = 1;
	w->next = l->fdw_dead;
	l->fdw_dead = w;
}

static void fd_watches_free(struct net_loop *l)
{
	struct net_fd_watch *w;

	while ((w = l->fdw_dead) != NULL) {
		l->fdw_dead = w->next;
		free(w);
	}
}

/* The loop -------------------------------------------------------------------------------- */

struct net_loop *net_loop_new(unsigned max_conns)
{
	struct net_loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	/* Writes use MSG_NOSIGNAL; this also covers any other write to a dead socket. */
	(void)signal(SIGPIPE, SIG_IGN);	/* cannot fail for a valid signal */
	l->max_conns = max_conns;
	l->now = clock_ms();
	l->sigw.fd = -1;
	l->sigw.ready = signals_ready;
	sigemptyset(&l->sigmask);
	if (net__be_init(l) != NT_OK) {
		free(l);
		return NULL;
	}
	return l;
}

void net_loop_free(struct net_loop *l)
{
	if (l == NULL)
		return;
	for (struct net_conn *c = l->conns; c != NULL; c = c->next)
		conn_kill(c);
	(void)conns_reap(l);	/* on_close lets owners free their state */
	fd_watches_free(l);
	if (l->stack != NULL)
		l->stack->fini(l);
	net__be_fini(l);
	for (size_t i = 0; i < l->nheap; i++)
		free(l->heap[i]);
	free(l->heap);
	if (l->sigw.fd >= 0)
		close(l->sigw.fd);
	free(l->sigs);
	free(l);
}

void net_set_before_sleep(struct net_loop *l, net_loop_fn *fn, void *arg)
{
	l->before_sleep = fn;
	l->before_sleep_arg = arg;
}

void net_loop_stop(struct net_loop *l)
{
	l->stop = 1;
}

void net_loop_again(struct net_loop *l)
{
	l->hurry = 1;
}

unsigned net_conn_count(const struct net_loop *l)
{
	return l->nconns;
}

void net_set_output_budget(struct net_loop *l, size_t bytes)
{
	l->out_budget = bytes;
}

size_t net_outq_total(const struct net_loop *l)
{
	return l->outq;
}

/* Ends the slowest readers while the live connections' queues pass the budget. Closing ones
 * are not counted: they are gone within NET_LINGER_MS, and ending others would not free
 * their bytes sooner. Their queues cannot be cut short either: TLS records are numbered. */
static void budget_enforce(struct net_loop *l)
{
	if (l->out_budget == 0 || l->outq <= l->out_budget)
		return;
	for (;;) {
		struct net_conn *worst = NULL;
		size_t live = 0;

		for (struct net_conn *c = l->conns; c != NULL; c = c->next) {
			if (c->closing)
				continue;
			live += c->out.len;
			if (worst == NULL || c->out.len > worst->out.len)
				worst = c;
		}
		if (live <= l->out_budget || worst == NULL || worst->out.len == 0)
			return;
		log_info("net %lu %s: %zu bytes queued for it, %zu for all, past the output budget "
			 "of %zu: ending the slowest reader", worst->id, worst->peer,
			 worst->out.len, live, l->out_budget);
		if (worst->on_over_budget != NULL)
			worst->on_over_budget(worst, worst->arg);
		if (!worst->closing)
			net_abort(worst);
		l->hurry = 1;	/* its owner may have queued work for others (presence) */
	}
}

/* How long the poller may sleep: until the next timer, at most timeout_ms (-1: no limit),
 * not at all while dead connections wait to be reaped. */
static int turn_wait_ms(struct net_loop *l, int timeout_ms)
{
	uint64_t now, d;

	if (l->reap != NULL || l->hurry || (l->stack != NULL && l->stack->busy(l)))
		return 0;
	if (l->nheap == 0)
		return timeout_ms;
	now = clock_ms();
	d = l->heap[0]->when > now ? l->heap[0]->when - now : 0;
	if (timeout_ms >= 0 && d > (uint64_t)timeout_ms)
		return timeout_ms;
	return d > INT32_MAX ? INT32_MAX : (int)d;
}

/* A turn: wait, I/O callbacks, due timers, reap, before-sleep, reap what it closed. */
int net_loop_once(struct net_loop *l, int timeout_ms)
{
	int wait = turn_wait_ms(l, timeout_ms), n;

	if (l->stack != NULL)
		l->stack->sleep(l);
	n = net__be_wait(l, wait);
	if (l->stack != NULL)
		l->stack->wake(l);
	if (n < 0)
		return NT_EIO;
	l->now = clock_ms();
	net__be_dispatch(l, n);
	if (l->stack != NULL)
		l->stack->run(l);
	fd_watches_free(l);
	timers_run(l);
	(void)conns_reap(l);
	l->hurry = 0;
	if (l->before_sleep != NULL)
		l->before_sleep(l, l->before_sleep_arg);
	budget_enforce(l);		/* after before_sleep: it flushes the turn's output */
	/* on_close may have left work for before_sleep (a commit): run it again soon. */
	if (conns_reap(l) > 0)
		l->hurry = 1;
	return NT_OK;
}

int net_loop_run(struct net_loop *l)
{
	int rc = NT_OK;

	l->stop = 0;
	while (!l->stop && (rc = net_loop_once(l, -1)) == NT_OK)
		;
	return rc;
}

/* Connections ----------------------------------------------------------------------------- */

int net__conn_admit(struct net_loop *l)
{
	if (l->nconns < l->max_conns)
		return 1;
	if (net__log_due(l, &l->full_logged))
		log_info("net: %u connections open, refusing more", l->nconns);
	return 0;
}

struct net_conn *net__conn_new(struct net_loop *l)
{
	struct net_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->loop = l;
	c->id = ++l->last_id;
	c->w.fd = -1;
	buf_init(&c->out, CONFIG_NT_OUTBUF_MAX);
	c->next = l->conns;
	if (l->conns != NULL)
		l->conns->prev = c;
	l->conns = c;
	l->nconns++;
	return c;
}

/* Puts c on the reap list (once). */
static void conn_kill(struct net_conn *c)
{
	if (c->dead)
		return;
	c->closing = 1;
	c->dead = 1;
	c->reap_next = c->loop->reap;
	c->loop->reap = c;
}

/* Reaps until the list stays empty (an on_close may kill others); the count reaped. */
static unsigned conns_reap(struct net_loop *l)
{
	unsigned n = 0;
	struct net_conn *c;

	while ((c = l->reap) != NULL) {
		l->reap = c->reap_next;
		net_timer_cancel(l, c->linger);
		c->linger = NULL;
		c->tp->close(c);
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			l->conns = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		l->nconns--;
		if (c->on_close != NULL)
			c->on_close(c, c->arg);
		buf_free(&c->out);
		conn_account(c);
		free(c);
		n++;
	}
	return n;
}

void net__conn_gone(struct net_conn *c)
{
	if (c->dead)
		return;
	buf_free(&c->out);
	conn_account(c);
	conn_kill(c);
}

/* Keeps loop->outq the sum of every queue (modular arithmetic: the difference may be
 * "negative"). */
static void conn_account(struct net_conn *c)
{
	c->loop->outq += c->out.len - c->counted;
	c->counted = c->out.len;
}

/* After the queue grew or shrank: shrink an empty buffer, finish a close, apply
 * backpressure, and tell the backend what to watch. */
static void conn_output_changed(struct net_conn *c)
{
	conn_account(c);
	if (c->out.len == 0) {
		buf_shrink(&c->out);
		if (c->closing)
			conn_kill(c);
	}
	if (c->paused && c->out.len < NET_RESUME_AT)
		c->paused = 0;
	else if (!c->paused && c->out.len > NET_PAUSE_AT)
		c->paused = 1;
	c->tp->update(c);
}

void net__conn_flush(struct net_conn *c)
{
	while (!c->dead && c->out.len > 0) {
		ssize_t r = c->tp->send(c, buf_data(&c->out), c->out.len);

		if (r == NT_EAGAIN)
			break;
		if (r < 0) {
			net__conn_gone(c);
			return;
		}
		buf_consume(&c->out, (size_t)r);
	}
	conn_output_changed(c);
}

void net_conn_set_handlers(struct net_conn *c, net_conn_fn *on_read, net_conn_fn *on_close,
                           void *arg)
{
	c->on_read = on_read;
	c->on_close = on_close;
	c->arg = arg;
	c->tp->update(c);
}

void net_conn_set_on_over_budget(struct net_conn *c, net_conn_fn *fn)
{
	c->on_over_budget = fn;
}

ssize_t net_read(struct net_conn *c, void *p, size_t n)
{
	ssize_t r;

	if (c->closing)
		return NT_ECLOSED;
	if (c->paused)		/* backpressure: on_read comes again once the queue drains */
		return NT_EAGAIN;
	if (n == 0)
		return 0;
	r = c->tp->recv(c, p, n);
	if (r == NT_ECLOSED)
		net_close(c);	/* the peer is done sending: flush what it is owed, close */
	else if (r == NT_EIO)
		net__conn_gone(c);
	return r;
}

/* Tries the transport at once when nothing waits ahead of these bytes; queues the rest. */
int net_write(struct net_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	int rc;

	if (c->closing)
		return NT_ECLOSED;
	if (n == 0)
		return NT_OK;
	if (c->out.len == 0) {
		ssize_t r = c->tp->send(c, b, n);

		if (r < 0 && r != NT_EAGAIN) {
			net__conn_gone(c);
			return NT_ECLOSED;
		}
		if (r > 0) {
			b += r;
			n -= (size_t)r;
		}
		if (n == 0)
			return NT_OK;
	}
	if ((rc = buf_append(&c->out, b, n)) != NT_OK) {
		log_info("net %lu %s: output queue of %zu + %zu bytes: %s; dropping", c->id,
		         c->peer, c->out.len, n, nt_strerror(rc));
		net_abort(c);
		return rc;
	}
	conn_output_changed(c);
	return NT_OK;
}

static void conn_linger_expired(struct net_loop *l, void *arg)
{
	struct net_conn *c = arg;

	(void)l;
	c->linger = NULL;	/* the loop frees a one-shot timer after this returns */
	log_debug("net %lu %s: %zu bytes unsent after %u ms; closing", c->id, c->peer,
	          c->out.len, NET_LINGER_MS);
	net__conn_gone(c);
}

void net_close(struct net_conn *c)
{
	if (c->closing)
		return;
	c->closing = 1;
	if (c->out.len == 0) {
		conn_kill(c);
		return;
	}
	c->linger = net_timer_add(c->loop, NET_LINGER_MS, conn_linger_expired, c);
	if (c->linger == NULL) {
		net__conn_gone(c);
		return;
	}
	c->tp->update(c);	/* stop reading, keep writing */
}

void net_abort(struct net_conn *c)
{
	net__conn_gone(c);
}

int net_is_closing(const struct net_conn *c)
{
	return c->closing;
}

const char *net_peer_addr(const struct net_conn *c)
{
	return c->peer;
}

uint16_t net_local_port(const struct net_conn *c)
{
	return c->lport;
}

size_t net_outq(const struct net_conn *c)
{
	return c->out.len;
}

unsigned long net_conn_id(const struct net_conn *c)
{
	return c->id;
}
