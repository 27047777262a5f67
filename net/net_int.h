#ifndef NATTER_NET_INT_H
#define NATTER_NET_INT_H
/*
 * Private to net/. The loop is split in two halves:
 *
 *  - timers.c, shared by every backend: the clock, timers, signals (signalfd), the
 *    before-sleep hook, the turn itself, and the connection bookkeeping (ids, output queue,
 *    backpressure, closing, reaping, on_close).
 *  - a backend (epoll.c; lwip.c later): listening, accepting, moving bytes, and telling the
 *    poller what a connection wants. It implements the net__be_* functions below and
 *    net_listen().
 *
 * Connection life: live -> closing (net_close(), or the peer sent EOF: no more reading, the
 * queue drains for at most NET_LINGER_MS) -> dead (queue drained, net_abort(), an I/O error,
 * a hang-up) -> reaped after the turn: the backend closes the transport, on_close runs, the
 * struct is freed. Nothing frees a connection inside one of its own callbacks.
 */
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "autoconf.h"
#include "core/buf.h"
#include "net/net.h"

#define NET_LINGER_MS      5000	/* net_close() gives queued output this long */
#define NET_LOG_PERIOD_MS  10000	/* a repeating failure is logged at most this often */
#define NET_ADDR_MAX       64	/* a numeric IPv6 address with a scope id fits */
/* Backpressure: stop reading from a peer past NET_PAUSE_AT queued for it, resume below
 * NET_RESUME_AT (the gap keeps the loop from flapping on every write). */
#define NET_PAUSE_AT       ((size_t)CONFIG_NT_OUTBUF_MAX / 4)
#define NET_RESUME_AT      ((size_t)CONFIG_NT_OUTBUF_MAX / 8)

struct net_watch;
/* events are the backend's readiness bits (EPOLLIN... for epoll). */
typedef void net_watch_fn(struct net_loop *l, struct net_watch *w, uint32_t events);

/* Something the poller watches: a socket, the signalfd, a wake-up fd. */
struct net_watch {
	int fd;			/* -1 when the backend has no fd for it */
	net_watch_fn *ready;
};

/* How a connection's bytes move: kernel sockets (epoll.c) or lwIP (lwip.c). */
struct net_transport {
	/* Sends up to n bytes: the count taken, NT_EAGAIN, or NT_EIO (the peer is gone). */
	ssize_t (*send)(struct net_conn *c, const void *p, size_t n);
	/* Receives up to n > 0 bytes: the count, NT_EAGAIN, NT_ECLOSED (EOF) or NT_EIO. */
	ssize_t (*recv)(struct net_conn *c, void *p, size_t n);
	/* Watches c for what its state wants: reading unless closing, paused or without
	 * on_read; writing while output is queued. No-op once c is dead. */
	void    (*update)(struct net_conn *c);
	/* Releases c's transport (the reaper calls it just before on_close). */
	void    (*close)(struct net_conn *c);
};

/* A TCP/IP stack of natterd's own (lwip.c) that takes over net_listen() from the kernel's
 * sockets. The loop calls sleep/wake around every wait of the poller and run after the fd
 * events of each turn. */
struct net_stack {
	int  (*listen)(struct net_loop *l, const char *addr, uint16_t port, net_accept_fn *fn,
	               void *arg);
	int  (*busy)(struct net_loop *l);	/* 1: events wait; the poller must not sleep */
	void (*sleep)(struct net_loop *l);
	void (*wake)(struct net_loop *l);
	void (*run)(struct net_loop *l);
	void (*fini)(struct net_loop *l);	/* after every connection is reaped */
};

struct net_conn {
	struct net_watch w;		/* first, so a backend can cast a watch back */
	struct net_loop *loop;
	struct net_conn *prev, *next;	/* every connection not yet reaped */
	struct net_conn *reap_next;	/* on loop->reap once dead */
	unsigned long id;
	struct buf out;			/* queued for the peer; max CONFIG_NT_OUTBUF_MAX */
	size_t counted;			/* out.len as last added to loop->outq */
	net_conn_fn *on_read, *on_close;
	net_conn_fn *on_over_budget;	/* told it is the slowest reader; NULL: aborted */
	void *arg;
	struct net_timer *linger;	/* the closing deadline, while one runs */
	const struct net_transport *tp;
	void *be;			/* the transport's own per-connection state */
	uint32_t be_mask;		/* what the backend watches for it now */
	uint16_t lport;
	unsigned closing : 1;		/* no more reads or writes from the owner */
	unsigned dead : 1;		/* on the reap list */
	unsigned paused : 1;		/* backpressure: not reading */
	char peer[NET_ADDR_MAX];
};

/* A device fd watched for its owner (net_watch_fd). */
struct net_fd_watch {
	struct net_watch w;		/* first, so the poller's watch casts back */
	net_fd_fn *fn;
	void *arg;
	struct net_fd_watch *next;	/* on loop->fdw_dead once unwatched */
	unsigned dead : 1;
};

struct net_sig {
	int signo;
	net_signal_fn *fn;
	void *arg;
};

struct net_loop {
	void *be;			/* the poller's state (epoll.c) */
	const struct net_stack *stack;	/* NULL: net_listen() uses the kernel's sockets */
	void *stack_state;
	unsigned max_conns, nconns;
	unsigned long last_id;
	struct net_conn *conns;		/* live and closing connections */
	struct net_conn *reap;		/* dead ones, freed after the turn */
	uint64_t now;			/* monotonic ms, read once per turn */
	struct net_timer **heap;	/* timers, a binary min-heap on (when, seq) */
	size_t nheap, heap_cap;
	uint64_t timer_seq;
	net_loop_fn *before_sleep;
	void *before_sleep_arg;
	struct net_watch sigw;		/* the signalfd */
	sigset_t sigmask;
	struct net_sig *sigs;
	size_t nsigs;
	struct net_fd_watch *fdw_dead;	/* unwatched, freed after the turn */
	uint64_t full_logged;		/* when "max_conns reached" was last logged */
	size_t outq;			/* bytes queued for every connection together */
	size_t out_budget;		/* past this the slowest reader goes; 0: no budget */
	int stop;
	int hurry;			/* the next turn must not sleep */
};

/* Shared half (timers.c) ------------------------------------------------------------------ */

/* A new connection on l, counted and with a fresh id; the backend then fills w, peer, lport
 * and be. The caller must have checked net__conn_admit(). NULL when out of memory. To drop
 * one before its owner saw it, close the transport and net_abort() it. */
struct net_conn *net__conn_new(struct net_loop *l);
/* 1 when another connection fits under max_conns; 0 (logged now and then) when not. */
int  net__conn_admit(struct net_loop *l);
/* The transport can take bytes: sends what is queued. */
void net__conn_flush(struct net_conn *c);
/* The peer went away (hang-up, I/O error): drops the queue; reaped with on_close. */
void net__conn_gone(struct net_conn *c);
/* 1 when a failure last logged at *last may be logged again (and records now). */
int  net__log_due(struct net_loop *l, uint64_t *last);

/* Backend half (epoll.c or lwip.c) ----------------------------------------------------------- */

/* Sets up l->be; NT_OK or NT_EIO/NT_ENOMEM (logged). */
int  net__be_init(struct net_loop *l);
/* Closes listeners and the poller, frees l->be. Connections are already gone. */
void net__be_fini(struct net_loop *l);
/* Watches w->fd for readability until the loop is freed. NT_OK or NT_EIO. */
int  net__be_watch(struct net_loop *l, struct net_watch *w);
/* Stops watching w->fd (before the caller closes it). */
void net__be_unwatch(struct net_loop *l, struct net_watch *w);
/* Waits at most timeout_ms (-1: forever): the number of ready events, or NT_EIO. */
int  net__be_wait(struct net_loop *l, int timeout_ms);
/* Runs the n events the last net__be_wait() returned. */
void net__be_dispatch(struct net_loop *l, int n);
/* Listens with the kernel's sockets (net_listen() without a stack of natterd's own). */
int  net__sock_listen(struct net_loop *l, const char *addr, uint16_t port, net_accept_fn *fn,
                      void *arg);
#endif
