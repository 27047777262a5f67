/*
 * The lwIP backend of net/net.h: natterd's own TCP/IP stack (Debian's liblwip) on an Ethernet
 * port that drivers/ethdev.c opens (a TAP device or a raw port). Once net_lwip_start() ran,
 * net_listen() listens on lwIP; the epoll poller (epoll.c) still waits for every descriptor:
 * the port, the signalfd, the wake-up eventfd below, and the loop's timers.
 *
 * Threads. Debian builds lwIP with NO_SYS=0 and LWIP_TCPIP_CORE_LOCKING=1: tcpip_init()
 * starts lwIP's own thread, which here only runs lwIP's timers (retransmissions, ARP,
 * neighbour discovery). The loop's thread holds the core lock for the whole of each turn and
 * gives it up only while the poller sleeps (stack_sleep/stack_wake). Hence:
 *  - frames read from the port go straight into ethernet_input() on the loop's thread, and
 *    the callbacks lwIP makes for them (accept, receive, sent, error) run there too;
 *  - a timer on lwIP's thread can run only while the loop sleeps; the callbacks it causes
 *    (data acknowledged, a connection given up) record the event and write the eventfd so
 *    the poller wakes;
 *  - no lwIP callback calls an owner: each puts its connection on the ready list, which
 *    stack_run() goes through after the turn's fd events, as epoll.c's dispatch would;
 *  - the loop also runs lwIP's due timers at every turn, so a loop that never sleeps cannot
 *    starve them.
 * Every lwIP call and every field below is touched only with the core lock held.
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/random.h>

#include <lwip/etharp.h>
#include <lwip/ethip6.h>
#include <lwip/init.h>
#include <lwip/netif.h>
#include <lwip/pbuf.h>
#include <lwip/tcp.h>
#include <lwip/tcpip.h>
#include <lwip/timeouts.h>
#include <netif/ethernet.h>

#include "core/err.h"
#include "core/log.h"
#include "drivers/ethdev.h"
#include "net/net_int.h"

#define LW_BACKLOG      255
#define LW_FRAMES_TURN  64	/* frames taken from the port per turn */
#define LW_RETRY_MS     1000	/* a lost port is looked for this often */
/* Debian builds lwIP with ARP_TABLE_SIZE 10: an office LAN has more hosts than that, and a
 * full table makes lwIP ask again for a MAC before nearly every frame. natterd keeps its own
 * cache of what ARP traffic on the port said, in front of lwIP's. */
#define LW_ARP_SLOTS    1024	/* a power of two; twice the hosts of a big office */
#define LW_ARP_TTL_MS   60000	/* then lwIP's own ARP asks again (and the answer is learnt) */

enum { LW_ACCEPTED = 1, LW_READ = 2, LW_WRITE = 4, LW_GONE = 8 };

struct lw_listener {
	struct lw_listener *next;
	struct tcp_pcb *pcb;
	net_accept_fn *fn;
	void *arg;
	uint16_t port;
};

struct lw_conn {
	struct net_conn *c;
	struct tcp_pcb *pcb;		/* NULL once lwIP freed it (error callback) */
	struct lw_listener *ls;		/* until the owner was told of the connection */
	struct pbuf *rx;		/* received, not yet read */
	struct lw_conn *prev, *next;	/* on the ready list while queued */
	struct lw_conn *bnext;		/* in the batch stack_run() delivers */
	unsigned ev;			/* LW_* waiting to be delivered */
	unsigned queued : 1;
	unsigned eof : 1;
};

struct lw_arp {
	uint32_t ip;			/* network byte order; 0: free */
	uint8_t mac[6];
	uint64_t seen;			/* loop ms */
};

struct lw_stack {
	struct net_loop *loop;
	struct ethdev *dev;
	struct net_watch devw, wakew;
	struct netif netif;
	struct lw_listener *listeners;
	struct lw_conn *ready, *ready_tail;
	struct net_timer *retry;
	int in_turn;			/* the loop's thread holds the core lock */
	int netif_added;
	uint64_t drop_logged;		/* when a frame lost for want of memory was logged */
	struct lw_arp arp[LW_ARP_SLOTS];
	uint8_t frame[ETHDEV_FRAME_MAX];
	uint8_t txframe[ETHDEV_FRAME_MAX];
};

static struct lw_stack *the_stack;	/* lwIP's state is process-wide: one stack at most */

static ssize_t lw_send(struct net_conn *c, const void *p, size_t n);
static ssize_t lw_recv(struct net_conn *c, void *p, size_t n);
static void    lw_update(struct net_conn *c);
static void    lw_close(struct net_conn *c);

static const struct net_transport lw_tp = { lw_send, lw_recv, lw_update, lw_close };

/* Debian's lwIP is built without LWIP_DEBUG, so its own lwip_strerr() names nothing. */
static const char *lw_strerr(err_t e)
{
	switch (e) {
	case ERR_OK:    return "ok";
	case ERR_MEM:   return "out of memory";
	case ERR_BUF:   return "buffer error";
	case ERR_TIMEOUT: return "timed out";
	case ERR_RTE:   return "no route";
	case ERR_USE:   return "address in use";
	case ERR_CONN:  return "not connected";
	case ERR_ABRT:  return "connection aborted";
	case ERR_RST:   return "connection reset";
	case ERR_CLSD:  return "connection closed";
	case ERR_VAL:   return "illegal value";
	case ERR_ARG:   return "illegal argument";
	case ERR_IF:    return "interface error";
	default:        return "error";
	}
}

/* Ready list ------------------------------------------------------------------------------ */

static void wake_loop(struct lw_stack *st)
{
	uint64_t one = 1;

	if (!st->in_turn && write(st->wakew.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_err("net lwip: eventfd write: %s", strerror(errno));
}

static void ready_add(struct lw_stack *st, struct lw_conn *lc, unsigned ev)
{
	lc->ev |= ev;
	if (!lc->queued) {
		lc->queued = 1;
		lc->next = NULL;
		lc->prev = st->ready_tail;
		if (st->ready_tail != NULL)
			st->ready_tail->next = lc;
		else
			st->ready = lc;
		st->ready_tail = lc;
	}
	wake_loop(st);
}

static void ready_remove(struct lw_stack *st, struct lw_conn *lc)
{
	if (!lc->queued)
		return;
	if (lc->prev != NULL)
		lc->prev->next = lc->next;
	else
		st->ready = lc->next;
	if (lc->next != NULL)
		lc->next->prev = lc->prev;
	else
		st->ready_tail = lc->prev;
	lc->queued = 0;
	lc->prev = lc->next = NULL;
}

static int wants_read(const struct net_conn *c)
{
	return c->on_read != NULL && !c->closing && !c->paused && !c->dead;
}

/* lwIP's callbacks (either thread, core lock held) --------------------------------------- */

static err_t cb_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct net_conn *c = arg;
	struct lw_conn *lc = c->be;

	(void)pcb;
	(void)err;		/* always ERR_OK in lwIP 2.1 */
	if (p == NULL)
		lc->eof = 1;
	else if (lc->rx == NULL)
		lc->rx = p;
	else
		pbuf_cat(lc->rx, p);	/* bounded: the window opens only as the owner reads */
	ready_add(the_stack, lc, LW_READ);
	return ERR_OK;
}

static err_t cb_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct net_conn *c = arg;

	(void)pcb;
	(void)len;
	if (c->out.len > 0)
		ready_add(the_stack, c->be, LW_WRITE);
	return ERR_OK;
}

/* lwIP has freed the pcb already (a reset, or retransmissions given up). */
static void cb_err(void *arg, err_t err)
{
	struct net_conn *c = arg;
	struct lw_conn *lc = c->be;

	log_debug("net %lu %s: %s", c->id, c->peer, lw_strerr(err));
	lc->pcb = NULL;
	ready_add(the_stack, lc, LW_GONE);
}

static err_t cb_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct lw_listener *ls = arg;
	struct lw_stack *st = the_stack;
	struct net_conn *c;
	struct lw_conn *lc;

	if (err != ERR_OK || pcb == NULL)
		return ERR_VAL;
	if (!net__conn_admit(st->loop) || (c = net__conn_new(st->loop)) == NULL) {
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	c->w = (struct net_watch){ -1, NULL };
	c->tp = &lw_tp;
	c->lport = ls->port;
	if ((lc = calloc(1, sizeof(*lc))) == NULL) {
		net_abort(c);	/* no handlers yet: reaped without on_close */
		tcp_abort(pcb);
		return ERR_ABRT;
	}
	lc->c = c;
	lc->pcb = pcb;
	lc->ls = ls;
	c->be = lc;
	if (ipaddr_ntoa_r(&pcb->remote_ip, c->peer, sizeof(c->peer)) == NULL)
		snprintf(c->peer, sizeof(c->peer), "?");
	for (char *q = c->peer; *q != '\0'; q++)	/* lower case, as the kernel writes it */
		*q = (char)tolower((unsigned char)*q);
	tcp_arg(pcb, c);
	tcp_recv(pcb, cb_recv);
	tcp_sent(pcb, cb_sent);
	tcp_err(pcb, cb_err);
	tcp_nagle_disable(pcb);		/* stanzas are whole when written: send them now */
	log_debug("net %lu %s: accepted on port %u (lwip)", c->id, c->peer, (unsigned)ls->port);
	ready_add(st, lc, LW_ACCEPTED);
	return ERR_OK;
}

/* The transport (loop thread) ------------------------------------------------------------- */

static ssize_t lw_send(struct net_conn *c, const void *p, size_t n)
{
	struct lw_conn *lc = c->be;
	size_t room;
	err_t e;

	if (lc == NULL || lc->pcb == NULL)
		return NT_EIO;
	room = tcp_sndbuf(lc->pcb);
	if (room == 0 || tcp_sndqueuelen(lc->pcb) >= TCP_SND_QUEUELEN)
		return NT_EAGAIN;
	if (n > room)
		n = room;
	if (n > 0xffff)
		n = 0xffff;
	e = tcp_write(lc->pcb, p, (u16_t)n, TCP_WRITE_FLAG_COPY);
	if (e == ERR_MEM)
		return NT_EAGAIN;	/* cb_sent tells when room comes back */
	if (e != ERR_OK) {
		log_debug("net %lu %s: tcp_write: %s", c->id, c->peer, lw_strerr(e));
		return NT_EIO;
	}
	(void)tcp_output(lc->pcb);	/* a failure here is retried by lwIP's timers */
	return (ssize_t)n;
}

static ssize_t lw_recv(struct net_conn *c, void *p, size_t n)
{
	struct lw_conn *lc = c->be;
	size_t got, left;

	if (lc == NULL)
		return NT_EIO;
	if (lc->rx == NULL) {
		if (lc->eof)
			return NT_ECLOSED;
		return lc->pcb == NULL ? NT_EIO : NT_EAGAIN;
	}
	got = pbuf_copy_partial(lc->rx, p, n > 0xffff ? 0xffff : (u16_t)n, 0);
	lc->rx = pbuf_free_header(lc->rx, (u16_t)got);
	for (left = got; left > 0 && lc->pcb != NULL;) {	/* open the window again */
		u16_t k = left > 0xffff ? 0xffff : (u16_t)left;

		tcp_recved(lc->pcb, k);
		left -= k;
	}
	return (ssize_t)got;
}

/* Level-triggered, like epoll: a connection that still has bytes for an owner who wants
 * them, or room for queued output, is delivered again in the next turn. */
static void lw_update(struct net_conn *c)
{
	struct lw_conn *lc = c->be;

	if (c->dead || lc == NULL || lc->ls != NULL)
		return;
	if (wants_read(c) && (lc->rx != NULL || lc->eof))
		ready_add(the_stack, lc, LW_READ);
	if (c->out.len > 0 && lc->pcb != NULL && tcp_sndbuf(lc->pcb) > 0)
		ready_add(the_stack, lc, LW_WRITE);
}

static void lw_close(struct net_conn *c)
{
	struct lw_conn *lc = c->be;

	if (lc == NULL)
		return;
	ready_remove(the_stack, lc);
	if (lc->pcb != NULL) {
		tcp_arg(lc->pcb, NULL);
		tcp_recv(lc->pcb, NULL);
		tcp_sent(lc->pcb, NULL);
		tcp_err(lc->pcb, NULL);
		if (tcp_close(lc->pcb) != ERR_OK)	/* out of memory for the FIN */
			tcp_abort(lc->pcb);
	}
	if (lc->rx != NULL)
		pbuf_free(lc->rx);
	free(lc);
	c->be = NULL;
}

/* The port ------------------------------------------------------------------------------- */

static void port_lost(struct lw_stack *st);

static err_t port_output(struct netif *nif, struct pbuf *p)
{
	struct lw_stack *st = nif->state;
	const void *frame = p->payload;
	int rc;

	if (p->next != NULL) {
		if (p->tot_len > sizeof(st->txframe))
			return ERR_BUF;
		frame = st->txframe;
		pbuf_copy_partial(p, st->txframe, p->tot_len, 0);
	}
	rc = ethdev_send(st->dev, frame, p->tot_len);
	return rc == NT_OK || rc == NT_EAGAIN ? ERR_OK : ERR_IF;	/* TCP resends a drop */
}

/* The ARP cache: open addressing on the address, replacing the oldest of a short probe. */
static struct lw_arp *arp_slot(struct lw_stack *st, uint32_t ip, int make)
{
	uint32_t h = (ip * 2654435761u) >> 22;	/* 10 bits: LW_ARP_SLOTS */
	struct lw_arp *victim = NULL;

	for (uint32_t i = 0; i < 8; i++) {
		struct lw_arp *e = &st->arp[(h + i) & (LW_ARP_SLOTS - 1)];

		if (e->ip == ip)
			return e;
		/* A free slot first, else the one least recently confirmed. */
		if (victim == NULL || (victim->ip != 0 && (e->ip == 0 || e->seen < victim->seen)))
			victim = e;
	}
	if (!make)
		return NULL;
	victim->ip = ip;
	return victim;
}

/* Learns sender addresses from ARP requests and replies on the port (a client asking for the
 * box's MAC tells its own first). */
static void arp_learn(struct lw_stack *st, const uint8_t *f, size_t n)
{
	static const uint8_t eth_ip4[6] = { 0, 1, 8, 0, 6, 4 };	/* htype, ptype, hlen, plen */
	struct lw_arp *e;
	uint32_t ip;

	if (n < 42 || f[12] != 0x08 || f[13] != 0x06 || memcmp(f + 14, eth_ip4, 6) != 0)
		return;
	memcpy(&ip, f + 28, 4);
	if (ip == 0 || (f[22] & 1) || !ip4_addr_netcmp((ip4_addr_t *)&ip,
	                                              netif_ip4_addr(&st->netif),
	                                              netif_ip4_netmask(&st->netif)))
		return;			/* a probe, a multicast MAC, or not on this link */
	e = arp_slot(st, ip, 1);
	memcpy(e->mac, f + 22, 6);
	e->seen = net_now_ms(st->loop);
}

/* IPv4 output: the MAC from natterd's cache when it is fresh, else lwIP's ARP. */
static err_t port_output4(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
	struct lw_stack *st = nif->state;
	const ip4_addr_t *hop = dst;
	struct lw_arp *e;

	if (ip4_addr_ismulticast(dst) || ip4_addr_isbroadcast(dst, nif))
		return etharp_output(nif, p, dst);
	if (!ip4_addr_netcmp(dst, netif_ip4_addr(nif), netif_ip4_netmask(nif))) {
		if (ip4_addr_isany_val(*netif_ip4_gw(nif)))
			return etharp_output(nif, p, dst);	/* it knows what to do */
		hop = netif_ip4_gw(nif);
	}
	e = arp_slot(st, ip4_addr_get_u32(hop), 0);
	if (e == NULL || net_now_ms(st->loop) - e->seen > LW_ARP_TTL_MS)
		return etharp_output(nif, p, dst);
	return ethernet_output(nif, p, (const struct eth_addr *)nif->hwaddr,
	                       (const struct eth_addr *)e->mac, ETHTYPE_IP);
}

static err_t port_netif_init(struct netif *nif)
{
	struct lw_stack *st = nif->state;

	nif->name[0] = 'n';
	nif->name[1] = 't';
	nif->output = port_output4;
	nif->output_ip6 = ethip6_output;
	nif->linkoutput = port_output;
	nif->mtu = 1500;
	nif->hwaddr_len = ETH_HWADDR_LEN;
	ethdev_mac(st->dev, nif->hwaddr);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET |
	             NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
	return ERR_OK;
}

static void port_ready(struct net_loop *l, struct net_watch *w, uint32_t events)
{
	struct lw_stack *st = l->stack_state;

	(void)w;
	(void)events;
	for (int i = 0; i < LW_FRAMES_TURN; i++) {
		ssize_t n = ethdev_recv(st->dev, st->frame, sizeof(st->frame));
		struct pbuf *p;

		if (n == NT_EAGAIN)
			return;
		if (n < 0) {
			port_lost(st);
			return;
		}
		arp_learn(st, st->frame, (size_t)n);
		if ((p = pbuf_alloc(PBUF_RAW, (u16_t)n, PBUF_RAM)) == NULL) {
			if (net__log_due(l, &st->drop_logged))
				log_warn("net lwip: out of memory; dropping frames from %s",
				         ethdev_name(st->dev));
			continue;
		}
		(void)pbuf_take(p, st->frame, (u16_t)n);	/* p holds n bytes */
		if (st->netif.input(p, &st->netif) != ERR_OK)
			pbuf_free(p);
	}
	/* More frames may wait: the level-triggered poller calls again next turn. */
}

static void port_retry(struct net_loop *l, void *arg)
{
	struct lw_stack *st = arg;

	st->retry = NULL;
	if (ethdev_reopen(st->dev) != NT_OK) {
		st->retry = net_timer_add(l, LW_RETRY_MS, port_retry, st);
		return;
	}
	st->devw.fd = ethdev_fd(st->dev);
	if (net__be_watch(l, &st->devw) != NT_OK) {
		ethdev_lose(st->dev);
		st->devw.fd = -1;
		st->retry = net_timer_add(l, LW_RETRY_MS, port_retry, st);
		return;
	}
	netif_set_link_up(&st->netif);
	log_info("net lwip: %s is back", ethdev_name(st->dev));
}

/* The port went away (unplugged, deleted): connections live on in lwIP (they time out as
 * TCP would) while the port is looked for again every LW_RETRY_MS. */
static void port_lost(struct lw_stack *st)
{
	log_warn("net lwip: lost %s; waiting for it to come back", ethdev_name(st->dev));
	net__be_unwatch(st->loop, &st->devw);
	ethdev_lose(st->dev);
	st->devw.fd = -1;
	netif_set_link_down(&st->netif);
	if (st->retry == NULL)
		st->retry = net_timer_add(st->loop, LW_RETRY_MS, port_retry, st);
}

static void wake_ready(struct net_loop *l, struct net_watch *w, uint32_t events)
{
	uint64_t n;

	(void)l;
	(void)events;
	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_err("net lwip: eventfd read: %s", strerror(errno));
}

/* The stack's hooks in the loop ----------------------------------------------------------- */

static int stack_busy(struct net_loop *l)
{
	struct lw_stack *st = l->stack_state;

	return st->ready != NULL;
}

static void stack_sleep(struct net_loop *l)
{
	struct lw_stack *st = l->stack_state;

	st->in_turn = 0;
	UNLOCK_TCPIP_CORE();
}

static void stack_wake(struct net_loop *l)
{
	struct lw_stack *st = l->stack_state;

	LOCK_TCPIP_CORE();
	st->in_turn = 1;
}

/* Delivers what lwIP's callbacks queued. Connections queued again meanwhile (an owner's
 * write, level-triggered leftovers) wait for the next turn, which then does not sleep. */
static void stack_run(struct net_loop *l)
{
	struct lw_stack *st = l->stack_state;
	struct lw_conn *lc, *batch = st->ready;

	sys_check_timeouts();
	for (lc = batch; lc != NULL; lc = lc->next) {
		lc->bnext = lc->next;
		lc->queued = 0;		/* detached: a callback below may queue it afresh */
	}
	st->ready = st->ready_tail = NULL;
	while ((lc = batch) != NULL) {
		struct net_conn *c = lc->c;
		unsigned ev = lc->ev;

		batch = lc->bnext;
		if (lc->queued)		/* queued again by an earlier owner; it runs then */
			continue;
		lc->ev = 0;
		lc->next = lc->prev = NULL;
		if (c->dead)
			continue;
		if (ev & LW_ACCEPTED) {
			struct lw_listener *ls = lc->ls;

			lc->ls = NULL;
			ls->fn(c, ls->arg);
			if (c->dead || c->be != lc)
				continue;
		}
		if (ev & LW_GONE) {
			net__conn_gone(c);
			continue;
		}
		if (c->out.len > 0)
			net__conn_flush(c);
		if (!c->dead && wants_read(c) && (lc->rx != NULL || lc->eof || lc->pcb == NULL))
			c->on_read(c, c->arg);
		if (!c->dead && wants_read(c) && lc->rx != NULL)
			ready_add(st, lc, LW_READ);
	}
}

static void stack_fini(struct net_loop *l)
{
	struct lw_stack *st = l->stack_state;
	struct lw_listener *ls;

	while ((ls = st->listeners) != NULL) {
		st->listeners = ls->next;
		tcp_arg(ls->pcb, NULL);
		tcp_accept(ls->pcb, NULL);
		(void)tcp_close(ls->pcb);	/* a listening pcb closes without memory */
		free(ls);
	}
	net_timer_cancel(l, st->retry);
	if (st->netif_added)
		netif_remove(&st->netif);
	if (st->devw.fd >= 0)
		net__be_unwatch(l, &st->devw);
	ethdev_free(st->dev);
	if (st->wakew.fd >= 0)
		close(st->wakew.fd);
	st->in_turn = 0;
	UNLOCK_TCPIP_CORE();	/* lwIP's thread lives on, idle, until the process ends */
	free(st);
	l->stack = NULL;
	l->stack_state = NULL;
	the_stack = NULL;
}

static int stack_listen(struct net_loop *l, const char *addr, uint16_t port, net_accept_fn *fn,
                        void *arg)
{
	struct lw_stack *st = l->stack_state;
	struct lw_listener *ls;
	struct tcp_pcb *pcb, *lpcb;
	ip_addr_t ip;
	err_t e;

	if (addr != NULL && !ipaddr_aton(addr, &ip)) {
		log_err("net lwip: listen: '%s' is not an IP address", addr);
		return NT_EINVAL;
	}
	if ((ls = calloc(1, sizeof(*ls))) == NULL)
		return NT_ENOMEM;
	pcb = tcp_new_ip_type(addr != NULL ? IP_GET_TYPE(&ip) : IPADDR_TYPE_ANY);
	if (pcb == NULL) {
		free(ls);
		return NT_ENOMEM;
	}
	if ((e = tcp_bind(pcb, addr != NULL ? &ip : IP_ANY_TYPE, port)) != ERR_OK ||
	    (lpcb = tcp_listen_with_backlog_and_err(pcb, LW_BACKLOG, &e)) == NULL) {
		log_err("net lwip: listen [%s]:%u: %s", addr ? addr : "*", (unsigned)port,
		        lw_strerr(e));
		(void)tcp_close(pcb);	/* never connected: freed at once */
		free(ls);
		return NT_EIO;
	}
	*ls = (struct lw_listener){ st->listeners, lpcb, fn, arg, port };
	st->listeners = ls;
	tcp_arg(lpcb, ls);
	tcp_accept(lpcb, cb_accept);
	return NT_OK;
}

static const struct net_stack lw_stack_ops = {
	stack_listen, stack_busy, stack_sleep, stack_wake, stack_run, stack_fini,
};

/* Start-up --------------------------------------------------------------------------------- */

/* "192.0.2.7/24" into address and netmask. */
static int parse_ip4(const char *s, ip4_addr_t *ip, ip4_addr_t *mask)
{
	char a[24], *slash, *end;	/* "255.255.255.255/32" fits */
	long bits = 24;

	if (strlen(s) >= sizeof(a))
		return NT_EINVAL;
	strcpy(a, s);
	if ((slash = strchr(a, '/')) != NULL) {
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 1 || bits > 32)
			return NT_EINVAL;
	}
	if (!ip4addr_aton(a, ip))
		return NT_EINVAL;
	ip4_addr_set_u32(mask, lwip_htonl(bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits)));
	return NT_OK;
}

static int netif_setup(struct lw_stack *st, const struct net_lwip_cfg *cfg)
{
	ip4_addr_t ip = { 0 }, mask = { 0 }, gw = { 0 };
	ip6_addr_t ip6;
	s8_t idx;

	if (cfg->ip4 != NULL && cfg->ip4[0] != '\0' && parse_ip4(cfg->ip4, &ip, &mask) != NT_OK) {
		log_err("net lwip: '%s' is not an IPv4 address/prefix", cfg->ip4);
		return NT_EINVAL;
	}
	if (cfg->gw4 != NULL && cfg->gw4[0] != '\0' && !ip4addr_aton(cfg->gw4, &gw)) {
		log_err("net lwip: '%s' is not an IPv4 gateway", cfg->gw4);
		return NT_EINVAL;
	}
	if (netif_add(&st->netif, &ip, &mask, &gw, st, port_netif_init, ethernet_input) == NULL) {
		log_err("net lwip: could not add the interface");
		return NT_EIO;
	}
	st->netif_added = 1;
	netif_create_ip6_linklocal_address(&st->netif, 1);
	netif_set_ip6_autoconfig_enabled(&st->netif, 1);	/* SLAAC from router adverts */
	if (cfg->ip6 != NULL && cfg->ip6[0] != '\0') {
		char a[48], *slash;

		snprintf(a, sizeof(a), "%s", cfg->ip6);
		if ((slash = strchr(a, '/')) != NULL)
			*slash = '\0';		/* lwIP takes on-link prefixes from adverts */
		if (!ip6addr_aton(a, &ip6) ||
		    netif_add_ip6_address(&st->netif, &ip6, &idx) != ERR_OK) {
			log_err("net lwip: '%s' is not a usable IPv6 address", cfg->ip6);
			return NT_EINVAL;
		}
		netif_ip6_addr_set_state(&st->netif, idx, IP6_ADDR_TENTATIVE);	/* DAD first */
	}
	netif_set_default(&st->netif);
	netif_set_up(&st->netif);
	netif_set_link_up(&st->netif);
	return NT_OK;
}

int net_lwip_start(struct net_loop *l, const struct net_lwip_cfg *cfg)
{
	static int lwip_running;
	sigset_t all, old;
	struct lw_stack *st;
	unsigned seed;
	int rc;

	if (the_stack != NULL || l->stack != NULL) {
		log_err("net lwip: one stack per process");
		return NT_EINVAL;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NT_ENOMEM;
	st->loop = l;
	st->devw = (struct net_watch){ -1, port_ready };
	st->wakew = (struct net_watch){ -1, wake_ready };
	if ((rc = ethdev_open(&st->dev, cfg->driver, cfg->ifname)) != NT_OK) {
		free(st);
		return rc;
	}
	if ((st->wakew.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		log_err("net lwip: eventfd: %s", strerror(errno));
		ethdev_free(st->dev);
		free(st);
		return NT_EIO;
	}
	if (!lwip_running) {
		/* Debian's lwIP draws ports and ISNs from rand(): seed it unpredictably. */
		if (getrandom(&seed, sizeof(seed), 0) == (ssize_t)sizeof(seed))
			srand(seed);
		/* lwIP's thread must take no signals: they belong to the loop's signalfd,
		 * and a thread created with them unblocked would die of a SIGTERM. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		tcpip_init(NULL, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		lwip_running = 1;
	}
	LOCK_TCPIP_CORE();	/* held by the loop from now on, but while it sleeps */
	st->in_turn = 1;
	the_stack = st;
	l->stack = &lw_stack_ops;
	l->stack_state = st;
	st->devw.fd = ethdev_fd(st->dev);
	if ((rc = netif_setup(st, cfg)) != NT_OK ||
	    (rc = net__be_watch(l, &st->devw)) != NT_OK ||
	    (rc = net__be_watch(l, &st->wakew)) != NT_OK) {
		stack_fini(l);
		return rc;
	}
	log_info("net lwip: %s %s, %s%s%s, MAC %02x:%02x:%02x:%02x:%02x:%02x", cfg->driver,
	         cfg->ifname, cfg->ip4 ? cfg->ip4 : "no IPv4",
	         cfg->ip6 && cfg->ip6[0] ? ", " : "", cfg->ip6 ? cfg->ip6 : "",
	         st->netif.hwaddr[0], st->netif.hwaddr[1], st->netif.hwaddr[2],
	         st->netif.hwaddr[3], st->netif.hwaddr[4], st->netif.hwaddr[5]);
	return NT_OK;
}
