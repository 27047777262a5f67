#ifndef NATTER_TESTS_NET_PIPE_H
#define NATTER_TESTS_NET_PIPE_H
/*
 * Test-only stand-in for a net/ backend: a net_conn whose far end is held by the test, over
 * two in-memory queues. It implements the connection half of net/net.h (net_read, net_write,
 * net_close, net_abort, net_is_closing, net_peer_addr, net_local_port, net_outq,
 * net_conn_id, net_conn_set_handlers); link it instead of net/epoll.c. No event loop: the
 * test moves bytes with the functions below and calls net_pipe_notify() for "readable".
 */
#include <stddef.h>
#include <stdint.h>

struct net_conn;

/* A connection from peer ("192.0.2.1") to local port port. NULL when out of memory. The
 * output queue holds at most CONFIG_NT_OUTBUF_MAX bytes, like the real backends. */
struct net_conn *net_pipe_new(const char *peer, uint16_t port);
/* NULL-safe. */
void net_pipe_free(struct net_conn *c);

/* The far end sends n bytes: net_read() returns them. NT_OK or NT_ENOMEM. */
int  net_pipe_send(struct net_conn *c, const void *p, size_t n);
/* The far end hangs up: net_read() returns NT_ECLOSED once the bytes sent are read. */
void net_pipe_hangup(struct net_conn *c);
/* The far end receives up to n of the bytes queued with net_write(): the count, 0 if none. */
size_t net_pipe_recv(struct net_conn *c, void *p, size_t n);
/* Each net_read() returns at most n bytes (0: no limit), to split records across reads. */
void net_pipe_set_read_max(struct net_conn *c, size_t n);
/* net_write() past max queued bytes fails with NT_ELIMIT and aborts, as in net/net.h. */
void net_pipe_set_outq_max(struct net_conn *c, size_t max);
/* Calls the on_read handler given to net_conn_set_handlers(), if any. */
void net_pipe_notify(struct net_conn *c);
#endif
