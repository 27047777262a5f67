#ifndef NATTER_NET_H
#define NATTER_NET_H
/*
 * The event loop and the network behind it. One thread runs everything. A backend (epoll.c
 * today, lwip.c later) implements this header; nothing above net/ knows which one runs.
 *
 * Connections are byte pipes. The owner is told "bytes may be readable" (on_read) and reads
 * with net_read() until NT_EAGAIN; it writes with net_write(), which queues everything and
 * never blocks. While more than a quarter of CONFIG_NT_OUTBUF_MAX is queued for a peer, the
 * loop stops reading from it (backpressure); past the whole of it the peer is dropped.
 * Callbacks never free a connection: net_close() marks it, the loop reaps it after the turn
 * and then calls on_close, after which the connection is gone.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct net_loop;
struct net_conn;
struct net_listener;
struct net_timer;

typedef void net_accept_fn(struct net_conn *c, void *arg);
typedef void net_conn_fn(struct net_conn *c, void *arg);
typedef void net_loop_fn(struct net_loop *l, void *arg);
typedef void net_signal_fn(struct net_loop *l, int signo, void *arg);

/* A loop that holds at most max_conns connections; NULL when out of memory. */
struct net_loop *net_loop_new(unsigned max_conns);
/* Closes every connection without flushing and frees the loop. NULL-safe. */
void net_loop_free(struct net_loop *l);
/* Runs until net_loop_stop(); NT_OK, or NT_EIO when the poller fails. */
int  net_loop_run(struct net_loop *l);
/* Makes net_loop_run() return after the current turn. */
void net_loop_stop(struct net_loop *l);
/* Runs one turn, waiting at most timeout_ms for events (tests and shutdown use it). */
int  net_loop_once(struct net_loop *l, int timeout_ms);
/* Monotonic milliseconds, read once per turn. */
uint64_t net_now_ms(const struct net_loop *l);
/* fn runs at the end of every turn, before the loop sleeps (group commit goes here). */
void net_set_before_sleep(struct net_loop *l, net_loop_fn *fn, void *arg);
/* The next turn does not wait for events: work is left that no event would bring back
 * (before_sleep may call it; the turn after runs it again). */
void net_loop_again(struct net_loop *l);
/* Connections open now. */
unsigned net_conn_count(const struct net_loop *l);
/* A budget for the output queued for every connection together (0: none, the default).
 * Checked at the end of each turn, after before_sleep: while the connections that are not
 * closing hold more than bytes, the one with the longest queue (the slowest reader) is told
 * through its on_over_budget callback, which must close it (else the loop aborts it). */
void net_set_output_budget(struct net_loop *l, size_t bytes);
/* Bytes queued for every connection together. */
size_t net_outq_total(const struct net_loop *l);

/* Listens on addr ("127.0.0.1", "::1", ...; NULL for every IPv4 and IPv6 address) and port.
 * fn is called for each accepted connection, which then belongs to its caller. */
int  net_listen(struct net_loop *l, const char *addr, uint16_t port, net_accept_fn *fn,
                void *arg);

/* Sets the owner's callbacks; on_read may be called as soon as the callback that accepted
 * the connection returns. */
void net_conn_set_handlers(struct net_conn *c, net_conn_fn *on_read, net_conn_fn *on_close,
                           void *arg);
/* fn (called with the handlers' arg) ends c when the output budget is passed and c has the
 * longest queue; see net_set_output_budget(). Without one, such a connection is aborted. */
void net_conn_set_on_over_budget(struct net_conn *c, net_conn_fn *fn);
/* Reads up to n bytes: the count, NT_EAGAIN (nothing now), NT_ECLOSED (peer closed) or
 * NT_EIO. */
ssize_t net_read(struct net_conn *c, void *p, size_t n);
/* Queues n bytes for the peer. NT_ELIMIT when the queue would pass CONFIG_NT_OUTBUF_MAX
 * (the connection is then aborted), NT_ECLOSED after net_close(). */
int  net_write(struct net_conn *c, const void *p, size_t n);
/* Stops reading, sends what is queued (for at most a few seconds), then closes. */
void net_close(struct net_conn *c);
/* Closes at once, dropping what is queued. */
void net_abort(struct net_conn *c);
/* 1 once net_close() or net_abort() was called or the peer went away. */
int  net_is_closing(const struct net_conn *c);
/* The peer's address as text ("192.0.2.1", "2001:db8::1"); valid while c lives. */
const char *net_peer_addr(const struct net_conn *c);
/* The local port the connection arrived on. */
uint16_t net_local_port(const struct net_conn *c);
/* Bytes queued for the peer and not yet sent. */
size_t net_outq(const struct net_conn *c);
/* A number unique to this connection for the life of the process (for logs). */
unsigned long net_conn_id(const struct net_conn *c);

/* Calls fn once after ms milliseconds; NULL when out of memory. */
struct net_timer *net_timer_add(struct net_loop *l, uint32_t ms, net_loop_fn *fn, void *arg);
/* Cancels a timer that has not fired yet. NULL-safe. A timer that fired is freed: its
 * pointer must not be used again (clear it in the callback). */
void net_timer_cancel(struct net_loop *l, struct net_timer *t);
/* Calls fn every ms milliseconds for the life of the loop. */
int  net_every(struct net_loop *l, uint32_t ms, net_loop_fn *fn, void *arg);
/* Delivers signo to fn from the loop (not from a signal handler). */
int  net_on_signal(struct net_loop *l, int signo, net_signal_fn *fn, void *arg);

/* natterd's own TCP/IP stack (lwIP) on an Ethernet port: listeners made after this call
 * listen there instead of on the kernel's sockets. One stack per process. NT_OK; NT_EINVAL
 * for a bad setting or a build without lwIP; NT_EIO when the port cannot be opened (all
 * logged). The stack goes with the loop. */
struct net_lwip_cfg {
	const char *driver;	/* "tap" or "packet" (drivers/ethdev.h) */
	const char *ifname;	/* the TAP device or Ethernet port */
	const char *ip4;	/* "192.0.2.7/24"; NULL or "": no IPv4 */
	const char *gw4;	/* NULL or "": no gateway */
	const char *ip6;	/* NULL or "": link-local and SLAAC only */
};
int  net_lwip_start(struct net_loop *l, const struct net_lwip_cfg *cfg);

/* Device descriptors (a TAP device, a watchdog, an input device): fn runs from the loop
 * whenever fd is readable (or has hung up) until net_unwatch_fd(). The caller keeps owning fd
 * and closes it after unwatching. NULL when out of memory or the poller refuses fd. */
struct net_fd_watch;
typedef void net_fd_fn(struct net_loop *l, int fd, void *arg);
struct net_fd_watch *net_watch_fd(struct net_loop *l, int fd, net_fd_fn *fn, void *arg);
/* Stops watching and frees w; safe from any callback, w's own too. Every watch must be
 * unwatched before net_loop_free(). NULL-safe. */
void net_unwatch_fd(struct net_loop *l, struct net_fd_watch *w);
#endif
