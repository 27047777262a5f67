/*
 * The transport under the XMPP client: non-blocking TCP connect, OpenSSL on the socket, and the
 * plaintext buffers both ways. Reads go until the socket is drained; writes are queued and
 * flushed once per loop turn (gen.c), so many stanzas share TLS records and system calls.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include "core/err.h"
#include "load.h"

#define CONN_READ_ROOM (16 * 1024 + 256)	/* one TLS record and then some */
#define CONN_IN_MAX (8u << 20)			/* no element is this big */
#define CONN_WRITE_MAX (1 << 20)

static int conn_reserve(struct xbuf *b, size_t room)
{
	size_t cap;
	char *p;

	if (b->off > 0 && (b->off == b->len || b->cap - b->len < room)) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->cap - b->len >= room)
		return NT_OK;
	for (cap = b->cap > 0 ? b->cap : 4096; cap - b->len < room; cap *= 2)
		;
	if ((p = realloc(b->p, cap)) == NULL)
		return NT_ENOMEM;
	b->p = p;
	b->cap = cap;
	return NT_OK;
}

static void conn_buf_free(struct xbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* OpenSSL hands over each new session (TLS 1.2 after the handshake, TLS 1.3 with each
 * NewSessionTicket); the account's slot keeps the last one for the next reconnect. */
static int conn_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct xc *c = SSL_get_app_data(ssl);
	struct slot *s;

	if (c == NULL || !(c->flags & XC_RESUME) || (s = gen_slot(c->g, c->acct)) == NULL)
		return 0;
	SSL_SESSION_free(s->sess);
	s->sess = sess;
	return 1;
}

SSL_CTX *conn_ssl_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	/* A loopback benchmark against servers with self-signed certificates: the server's
	 * certificate is deliberately not verified. Never use this client for anything else. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_read_ahead(ctx, 1);	/* whole socket reads, not 5-byte headers */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
				       SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, conn_new_session);
	return ctx;
}

static void conn_events(struct xc *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->ev != ev && epoll_ctl(c->g->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->ev = ev;
}

/* Spreads connections over N source addresses from --source-base (127.0.0.1 .. 127.0.0.N by
 * default; --sources N), each address with its own ephemeral ports and its own per-address
 * limits on the server. */
static int conn_bind_source(struct xc *c, int fd)
{
	struct gen *g = c->g;
	struct sockaddr_in src = { .sin_family = AF_INET };
	int one = 1;

	if (g->sources <= 1)
		return 0;
	src.sin_addr.s_addr = htonl(g->source_base + (uint32_t)(g->nconn % g->sources));
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	return bind(fd, (struct sockaddr *)&src, sizeof(src));
}

int conn_open(struct xc *c)
{
	struct gen *g = c->g;
	struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		xc_fail(c, E_CONNECT, strerror(errno));
		return NT_EIO;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (conn_bind_source(c, fd) != 0 ||
	    (connect(fd, (struct sockaddr *)&g->dst, sizeof(g->dst)) != 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
		int err = errno;

		close(fd);
		xc_fail(c, E_CONNECT, strerror(err));
		return NT_EIO;
	}
	g->nconn++;
	c->fd = fd;
	c->ev = EPOLLOUT;
	c->state = XS_CONNECT;
	return NT_OK;
}

static void conn_tls_error(struct xc *c, int err, const char *what)
{
	char why[160];
	unsigned long e = ERR_get_error();

	if (e != 0)
		snprintf(why, sizeof(why), "%s: %s", what, ERR_reason_error_string(e));
	else
		snprintf(why, sizeof(why), "%s: %s", what, errno != 0 ? strerror(errno) : "eof");
	ERR_clear_error();
	xc_fail(c, err, why);
}

static void conn_handshake(struct xc *c)
{
	int rc = SSL_connect(c->ssl);

	if (rc == 1) {
		c->tls_reused = SSL_session_reused(c->ssl);
		conn_events(c, EPOLLIN);
		xmpp_secured(c);
		return;
	}
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		conn_events(c, EPOLLIN);
		return;
	case SSL_ERROR_WANT_WRITE:
		conn_events(c, EPOLLIN | EPOLLOUT);
		return;
	default:
		conn_tls_error(c, E_TLS, "failed");
	}
}

int conn_tls_begin(struct xc *c)
{
	struct gen *g = c->g;
	struct slot *s = gen_slot(g, c->acct);

	if ((c->ssl = SSL_new(g->ctx)) == NULL) {
		conn_tls_error(c, E_TLS, "SSL_new");
		return NT_ENOMEM;
	}
	SSL_set_app_data(c->ssl, c);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, g->o->domain);
	if (g->o->tls == LD_DIRECT)	/* XEP-0368 */
		SSL_set_alpn_protos(c->ssl, (const unsigned char *)"\x0bxmpp-client", 12);
	if ((c->flags & XC_RESUME) && s != NULL && s->sess != NULL)
		SSL_set_session(c->ssl, s->sess);
	c->state = XS_TLS;
	conn_handshake(c);
	return NT_OK;
}

/* One read: the byte count, 0 when drained, NT_ECLOSED at the end of the stream, NT_EIO. */
static ssize_t conn_read_some(struct xc *c, char *p, size_t room)
{
	ssize_t n;
	int rc;

	if (c->ssl == NULL) {
		if ((n = recv(c->fd, p, room, 0)) > 0)
			return n;
		if (n == 0)
			return NT_ECLOSED;
		return errno == EAGAIN || errno == EINTR ? 0 : NT_EIO;
	}
	if ((rc = SSL_read(c->ssl, p, room > INT_MAX ? INT_MAX : (int)room)) > 0)
		return rc;
	switch (SSL_get_error(c->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return 0;
	case SSL_ERROR_WANT_WRITE:
		conn_events(c, EPOLLIN | EPOLLOUT);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return NT_ECLOSED;
	default:
		return NT_EIO;
	}
}

static void conn_read(struct xc *c)
{
	uint32_t epoch = c->epoch;
	ssize_t n;

	for (;;) {
		if (conn_reserve(&c->in, CONN_READ_ROOM) != NT_OK) {
			xc_fail(c, E_PROTO, "out of memory");
			return;
		}
		n = conn_read_some(c, c->in.p + c->in.len, c->in.cap - c->in.len);
		if (n == 0)
			break;
		if (n < 0) {
			if (n == NT_ECLOSED || c->state == XS_CLOSING)
				xmpp_eof(c);
			else
				conn_tls_error(c, E_CLOSED, "read");
			return;
		}
		c->in.len += (size_t)n;
		xmpp_input(c);
		if (c->epoch != epoch || c->state == XS_TLS)
			return;		/* dropped, or STARTTLS took over the socket */
		if (c->in.len - c->in.off > CONN_IN_MAX) {
			xc_fail(c, E_PROTO, "element too large");
			return;
		}
	}
	if (c->in.off == c->in.len)
		conn_buf_free(&c->in);	/* thousands of idle sessions keep no buffers */
}

void conn_io(struct xc *c, uint32_t events)
{
	uint32_t epoch = c->epoch;
	socklen_t len = sizeof(int);
	int err = 0;

	switch (c->state) {
	case XS_IDLE:
	case XS_QUEUED:
		return;		/* a stale event for a connection dropped this turn */
	case XS_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
			err = errno;
		if (err != 0) {
			xc_fail(c, E_CONNECT, strerror(err));
			return;
		}
		conn_events(c, EPOLLIN);
		xmpp_connected(c);
		return;
	case XS_TLS:
		conn_handshake(c);
		return;
	default:
		break;
	}
	if ((events & EPOLLOUT) && c->out.off < c->out.len)
		conn_flush(c);
	if (c->epoch == epoch)
		conn_read(c);
}

void conn_flush(struct xc *c)
{
	while (c->out.off < c->out.len) {
		size_t left = c->out.len - c->out.off;
		ssize_t n;
		int rc;

		if (c->ssl != NULL) {
			rc = SSL_write(c->ssl, c->out.p + c->out.off,
				       left > CONN_WRITE_MAX ? CONN_WRITE_MAX : (int)left);
			if (rc <= 0) {
				switch (SSL_get_error(c->ssl, rc)) {
				case SSL_ERROR_WANT_WRITE:
					conn_events(c, EPOLLIN | EPOLLOUT);
					return;
				case SSL_ERROR_WANT_READ:
					return;
				default:
					conn_tls_error(c, E_CLOSED, "write");
					return;
				}
			}
			n = rc;
		} else if ((n = send(c->fd, c->out.p + c->out.off, left, MSG_NOSIGNAL)) < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				conn_events(c, EPOLLIN | EPOLLOUT);
				return;
			}
			xc_fail(c, E_CLOSED, strerror(errno));
			return;
		}
		c->out.off += (size_t)n;
	}
	conn_buf_free(&c->out);
	if (c->ev & EPOLLOUT)
		conn_events(c, EPOLLIN);
}

void conn_drop(struct xc *c, int graceful)
{
	if (c->ssl != NULL) {
		if (graceful)
			(void)SSL_shutdown(c->ssl);	/* close_notify if it fits; no wait */
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
	if (c->fd >= 0) {
		close(c->fd);		/* also leaves the epoll set */
		c->fd = -1;
	}
	conn_buf_free(&c->in);
	conn_buf_free(&c->out);
	c->ev = 0;
	c->epoch++;
}

int conn_vqueue(struct xc *c, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (c->fd < 0)
		return NT_ECLOSED;
	va_copy(ap2, ap);
	if (conn_reserve(&c->out, 256) != NT_OK) {
		va_end(ap2);
		return NT_ENOMEM;
	}
	n = vsnprintf(c->out.p + c->out.len, c->out.cap - c->out.len, fmt, ap);
	if (n >= 0 && (size_t)n >= c->out.cap - c->out.len) {
		if (conn_reserve(&c->out, (size_t)n + 1) != NT_OK) {
			va_end(ap2);
			return NT_ENOMEM;
		}
		n = vsnprintf(c->out.p + c->out.len, c->out.cap - c->out.len, fmt, ap2);
	}
	va_end(ap2);
	if (n < 0)
		return NT_EINVAL;
	c->out.len += (size_t)n;
	gen_mark_dirty(c->g, c);
	return NT_OK;
}
