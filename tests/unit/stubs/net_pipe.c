/* In-memory net_conn for unit tests; see net_pipe.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/kconfig.h"
#include "net/net.h"
#include "net_pipe.h"

#define NET_PIPE_IN_MAX ((size_t)64 << 20)	/* far end to us: bounded only for sanity */
#define NET_PIPE_ADDR_MAX 64

struct net_conn {
	struct buf in, out;
	char peer[NET_PIPE_ADDR_MAX];
	uint16_t port;
	unsigned long id;
	size_t read_max;
	int hung_up, closing;
	net_conn_fn *on_read, *on_close;
	void *arg;
};

static unsigned long net_pipe_next_id = 1;

struct net_conn *net_pipe_new(const char *peer, uint16_t port)
{
	struct net_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	buf_init(&c->in, NET_PIPE_IN_MAX);
	buf_init(&c->out, CONFIG_NT_OUTBUF_MAX);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->port = port;
	c->id = net_pipe_next_id++;
	return c;
}

void net_pipe_free(struct net_conn *c)
{
	if (c == NULL)
		return;
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

int net_pipe_send(struct net_conn *c, const void *p, size_t n)
{
	return buf_append(&c->in, p, n) == NT_OK ? NT_OK : NT_ENOMEM;
}

void net_pipe_hangup(struct net_conn *c)
{
	c->hung_up = 1;
}

size_t net_pipe_recv(struct net_conn *c, void *p, size_t n)
{
	if (n > c->out.len)
		n = c->out.len;
	if (n == 0)
		return 0;
	memcpy(p, buf_data(&c->out), n);
	buf_consume(&c->out, n);
	return n;
}

void net_pipe_set_read_max(struct net_conn *c, size_t n)
{
	c->read_max = n;
}

void net_pipe_set_outq_max(struct net_conn *c, size_t max)
{
	c->out.max = max;
}

void net_pipe_notify(struct net_conn *c)
{
	if (c->on_read != NULL)
		c->on_read(c, c->arg);
}

void net_conn_set_handlers(struct net_conn *c, net_conn_fn *on_read, net_conn_fn *on_close,
                           void *arg)
{
	c->on_read = on_read;
	c->on_close = on_close;
	c->arg = arg;
}

ssize_t net_read(struct net_conn *c, void *p, size_t n)
{
	if (c->closing)
		return NT_ECLOSED;
	if (c->in.len == 0)
		return c->hung_up ? NT_ECLOSED : NT_EAGAIN;
	if (n > c->in.len)
		n = c->in.len;
	if (c->read_max > 0 && n > c->read_max)
		n = c->read_max;
	memcpy(p, buf_data(&c->in), n);
	buf_consume(&c->in, n);
	return (ssize_t)n;
}

int net_write(struct net_conn *c, const void *p, size_t n)
{
	if (c->closing)
		return NT_ECLOSED;
	if (buf_append(&c->out, p, n) == NT_OK)
		return NT_OK;
	net_abort(c);
	return NT_ELIMIT;
}

void net_close(struct net_conn *c)
{
	c->closing = 1;
}

void net_abort(struct net_conn *c)
{
	c->closing = 1;
	buf_consume(&c->out, c->out.len);
}

int net_is_closing(const struct net_conn *c)
{
	return c->closing || c->hung_up;
}

const char *net_peer_addr(const struct net_conn *c)
{
	return c->peer;
}

uint16_t net_local_port(const struct net_conn *c)
{
	return c->port;
}

size_t net_outq(const struct net_conn *c)
{
	return c->out.len;
}

unsigned long net_conn_id(const struct net_conn *c)
{
	return c->id;
}
