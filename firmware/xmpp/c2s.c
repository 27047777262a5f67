/*
 * Client-to-server streams: the byte path (TLS, framer), stream headers and features,
 * STARTTLS, resource binding, stream errors and timeouts. SASL is in sasl.c; stanzas go to
 * router.c once a resource is bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "core/addrkey.h"
#include "core/kconfig.h"
#include "core/err.h"
#include "core/keycount.h"
#include "core/log.h"
#include "core/natterd.h"
#include "net/net.h"
#include "tls/tls.h"
#include "xml/framer.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define C2S_READ_CHUNK 4096

static void c2s_on_read(struct net_conn *c, void *arg);
static void c2s_on_close(struct net_conn *c, void *arg);
static void c2s_feed(struct c2s *s, const uint8_t *p, size_t n);
static void c2s_end(struct c2s *s);
static void c2s_on_over_budget(struct net_conn *c, void *arg);

/* Logs a refusal of kind what from source once per period (addrkey_log_due). */
static void c2s_refusal_log(struct natterd *d, const char *what, const char *source,
                            const char *fmt, long n, const char *setting)
{
	long before;

	if (!addrkey_log_due(d->refusals, what, source, net_now_ms(d->loop), &before))
		return;
	if (before > 0)
		log_info("c2s: refusing %s: %ld %s (%s); %ld refused in the 10 s before", source, n,
			 fmt, setting, before);
	else
		log_info("c2s: refusing %s: %ld %s (%s)", source, n, fmt, setting);
}

/* NULL when a new client connection from the address key may have a pre-authentication
 * slot: client connections leave the web page its slots, and those not logged in are capped
 * in all and per address. Else the stream error to refuse it with (logged once per period). */
static const char *c2s_admit(struct natterd *d, const char *key)
{
	const struct natterd_limits *lim = &d->lim;

	if ((long)d->nsessions >= lim->max_conns - lim->web_conns) {
		c2s_refusal_log(d, "c2s-full", key, "client connections open, the rest kept for "
				"the web page", (long)d->nsessions,
				"limit.max_conns - limit.web_conns");
		return "<resource-constraint xmlns='" NS_STREAMS "'/><text xmlns='" NS_STREAMS
		       "'>the server is full; try again later</text>";
	}
	if ((long)d->npreauth >= lim->preauth_max) {
		c2s_refusal_log(d, "preauth-max", "new connections", "connections not logged in "
				"from all addresses", (long)d->npreauth, "limit.preauth_max");
		return "<resource-constraint xmlns='" NS_STREAMS "'/><text xmlns='" NS_STREAMS
		       "'>too many connections are logging in; try again later</text>";
	}
	if (keycount_get(d->preauth_per_addr, key, net_now_ms(d->loop)) >= lim->preauth_per_addr) {
		c2s_refusal_log(d, "preauth", key, "connections from it not logged in",
				lim->preauth_per_addr, "limit.preauth_per_addr");
		return "<policy-violation xmlns='" NS_STREAMS "'/><text xmlns='" NS_STREAMS
		       "'>too many connections from your address are logging in</text>";
	}
	return NULL;
}

/* Refuses a connection before any state is made for it. A STARTTLS-port client gets the
 * stream error to show (RFC 6120 4.9.1.1: a header and the error at once); a direct-TLS one
 * only the close, as nothing can be said before a TLS handshake. */
static void c2s_refuse(struct natterd *d, struct net_conn *c, int direct_tls, const char *err)
{
	char b[768];
	int n;

	if (direct_tls) {
		net_abort(c);
		return;
	}
	n = snprintf(b, sizeof(b), "<?xml version='1.0'?><stream:stream xmlns='" NS_CLIENT
		     "' xmlns:stream='" XMLNS_STREAM "' from='%s' version='1.0'><stream:error>%s"
		     "</stream:error></stream:stream>", d->domain, err);
	if (n > 0 && (size_t)n < sizeof(b) && net_write(c, b, (size_t)n) == NT_OK)
		net_close(c);	/* once written; net_write() dropped c otherwise */
	else if (!net_is_closing(c))
		net_abort(c);
}

/* A direct-TLS connection gets its TLS state with its first bytes (c2s_on_read): one that
 * only holds a socket costs the loop's and this struct's few hundred bytes. */
static struct c2s *c2s_new(struct natterd *d, struct net_conn *c, int direct_tls)
{
	const char *ip = net_peer_addr(c), *err;
	char key[ADDRKEY_MAX];
	struct c2s *s;

	if (d->stopping) {
		net_abort(c);		/* shutting down: no new streams */
		return NULL;
	}
	addrkey_from(ip, key);
	if ((err = c2s_admit(d, key)) != NULL) {
		c2s_refuse(d, c, direct_tls, err);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->fr = xml_framer_new(&d->xml_lim)) == NULL)
		goto fail;
	s->d = d;
	s->conn = c;
	buf_init(&s->out, CONFIG_NT_OUTBUF_MAX);
	s->id = net_conn_id(c);
	s->state = direct_tls ? C2S_TLS_HANDSHAKE : C2S_WAIT_HEADER;
	s->started_ms = s->last_rx_ms = s->last_io_ms = net_now_ms(d->loop);
	s->next = d->sessions;
	if (d->sessions != NULL)
		d->sessions->prev = s;
	d->sessions = s;
	d->nsessions++;
	d->npreauth++;
	s->preauth = 1;
	keycount_add(d->preauth_per_addr, key, 1, net_now_ms(d->loop));
	net_conn_set_handlers(c, c2s_on_read, c2s_on_close, s);
	net_conn_set_on_over_budget(c, c2s_on_over_budget);
	log_debug(C2S_LOG " connection from %s%s", s->id, ip, direct_tls ? " (direct TLS)" : "");
	return s;
fail:
	log_err("c2s: out of memory accepting %s", ip);
	if (s != NULL)
		xml_framer_free(s->fr);
	free(s);
	net_abort(c);
	return NULL;
}

/* SASL succeeded: the connection leaves the pre-authentication count for the logged-in one,
 * unless its address has too many logged-in connections already. */
static void c2s_authenticated(struct c2s *s)
{
	struct natterd *d = s->d;
	uint64_t now = net_now_ms(d->loop);
	char key[ADDRKEY_MAX];

	addrkey_from(net_peer_addr(s->conn), key);
	keycount_add(d->preauth_per_addr, key, -1, now);
	d->npreauth--;
	s->preauth = 0;
	if (keycount_get(d->authed_per_addr, key, now) >= d->lim.authed_per_addr) {
		c2s_refusal_log(d, "authed", key, "logged-in connections from it",
				d->lim.authed_per_addr, "limit.authed_per_addr");
		s->restart_pending = 0;
		c2s_stream_error(s, "policy-violation",
				 "too many logged-in connections from your address");
		return;
	}
	keycount_add(d->authed_per_addr, key, 1, now);
	s->authed_counted = 1;
}

/* The loop's output budget is passed and this connection has the longest queue. */
static void c2s_on_over_budget(struct net_conn *c, void *arg)
{
	struct c2s *s = arg;

	(void)c;
	c2s_stream_error(s, "resource-constraint", "too slow to read");
}

void c2s_accept_starttls(struct net_conn *c, void *arg)
{
	(void)c2s_new(arg, c, 0);
}

void c2s_accept_direct_tls(struct net_conn *c, void *arg)
{
	(void)c2s_new(arg, c, 1);
}

/* Sends what s has queued: one TLS record (or plain write) for the whole turn's output. */
static int c2s_flush(struct c2s *s)
{
	int rc = NT_OK;

	if (s->out.len == 0)
		return NT_OK;
	if (s->state == C2S_TLS_HANDSHAKE) {	/* a timeout's goodbye: no TLS to carry it yet */
		buf_consume(&s->out, s->out.len);
		return NT_OK;
	}
	if (s->tls != NULL)
		rc = tls_write(s->tls, buf_data(&s->out), s->out.len);
	else
		rc = net_write(s->conn, buf_data(&s->out), s->out.len);
	buf_consume(&s->out, s->out.len);	/* the storage stays for the next turn */
	return rc;
}

/* An idle bound session gives back its TLS record buffers and its output queue's storage.
 * 1 when it went to sleep now. */
static int c2s_sleep(struct c2s *s)
{
	if (s->state != C2S_BOUND || s->tls == NULL || tls_is_asleep(s->tls))
		return 0;
	buf_shrink(&s->out);
	return tls_sleep(s->tls) == NT_OK;	/* NT_EAGAIN: a record is half read */
}

void c2s_flush_all(struct natterd *d)
{
	struct c2s *s;

	while ((s = d->flushq) != NULL) {
		d->flushq = s->flush_next;
		s->flush_next = NULL;
		s->flush_queued = 0;
		(void)c2s_flush(s);	/* a failed write has closed the connection */
		if (d->opt.tls_sleep_ms == 0)
			(void)c2s_sleep(s);
	}
}

static void c2s_unqueue(struct c2s *s)
{
	struct c2s **pp;

	if (!s->flush_queued)
		return;
	for (pp = &s->d->flushq; *pp != s; pp = &(*pp)->flush_next)
		;
	*pp = s->flush_next;
	s->flush_next = NULL;
	s->flush_queued = 0;
}

int c2s_send_raw(struct c2s *s, const char *p, size_t n)
{
	int rc;

	if (s->state == C2S_CLOSED)
		return NT_ECLOSED;
	s->last_io_ms = net_now_ms(s->d->loop);
	if ((rc = buf_append(&s->out, p, n)) == NT_ELIMIT) {
		/* A turn's worth of output past the cap: send what is there, then try again. */
		if ((rc = c2s_flush(s)) == NT_OK)
			rc = buf_append(&s->out, p, n);
	}
	if (rc != NT_OK)
		return rc;
	if (!s->flush_queued) {
		s->flush_queued = 1;
		s->flush_next = s->d->flushq;
		s->d->flushq = s;
	}
	return NT_OK;
}

int c2s_send_tree(struct c2s *s, mxml_node_t *t)
{
	size_t len;
	char *x = xml_serialize(t, &len);
	int rc;

	if (x == NULL)
		return NT_ENOMEM;
	rc = c2s_send_raw(s, x, len);
	free(x);
	return rc;
}

static void c2s_send_header(struct c2s *s)
{
	char hdr[512];
	uint32_t rnd[2];
	int n;

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd[0] = rnd[1] = (uint32_t)s->id;
	n = snprintf(hdr, sizeof(hdr), "<?xml version='1.0'?><stream:stream xmlns='" NS_CLIENT
		     "' xmlns:stream='" XMLNS_STREAM "' id='%08x%08x' from='%s' version='1.0'"
		     " xml:lang='en'>", rnd[0], rnd[1], s->d->domain);
	s->header_sent = 1;
	(void)c2s_send_raw(s, hdr, (size_t)n);	/* a failed write closes the connection */
}

static void c2s_send_features(struct c2s *s)
{
	mxml_node_t *f = xml_elem(NULL, "stream:features", NULL), *e;

	if (!s->secure) {
		e = xml_elem(f, "starttls", NS_TLS);
		xml_elem(e, "required", NULL);
	} else if (!s->authed) {
		sasl_add_mechanisms(s, f);
	} else {
		xml_elem(f, "bind", NS_BIND);
		e = xml_elem(f, "session", NS_SESSION);
		xml_elem(e, "optional", NULL);
	}
	(void)c2s_send_tree(s, f);
	mxmlDelete(f);
}

void c2s_stream_error(struct c2s *s, const char *condition, const char *text)
{
	char buf[512];
	int n;

	if (s->state == C2S_CLOSED)
		return;
	if (!s->header_sent)
		c2s_send_header(s);
	n = snprintf(buf, sizeof(buf), "<stream:error><%s xmlns='" NS_STREAMS "'/>%s%s%s"
		     "</stream:error></stream:stream>", condition,
		     text ? "<text xmlns='" NS_STREAMS "'>" : "", text ? text : "",
		     text ? "</text>" : "");
	(void)c2s_send_raw(s, buf, (size_t)n);
	log_info(C2S_LOG " %s: stream error %s%s%s", s->id, s->full ? s->full : net_peer_addr(s->conn),
		 condition, text ? ": " : "", text ? text : "");
	c2s_end(s);
}

void c2s_close(struct c2s *s)
{
	if (s->state == C2S_CLOSED)
		return;
	if (s->header_sent)
		(void)c2s_send_raw(s, "</stream:stream>", 16);
	c2s_end(s);
}

/* The stream is over: tell others the user left, leave the online table, close. */
static void c2s_end(struct c2s *s)
{
	if (s->state == C2S_BOUND) {
		if (s->available)
			presence_gone(s);
		router_unbind(s->d, s);
	}
	offline_cancel(s);
	c2s_unqueue(s);
	(void)c2s_flush(s);	/* the goodbye (stream error, </stream:stream>) goes out first */
	s->state = C2S_CLOSED;
	if (s->tls != NULL)
		tls_close_notify(s->tls);
	if (s->delay_timer != NULL) {
		net_timer_cancel(s->d->loop, s->delay_timer);
		s->delay_timer = NULL;
	}
	net_close(s->conn);
}

static void c2s_on_close(struct net_conn *c, void *arg)
{
	struct c2s *s = arg;
	struct natterd *d = s->d;

	if (s->state != C2S_CLOSED) {
		log_debug(C2S_LOG " connection lost", s->id);
		c2s_end(s);
	}
	if (s->preauth || s->authed_counted) {
		char key[ADDRKEY_MAX];	/* not kept per session: idle sessions stay small */

		addrkey_from(net_peer_addr(c), key);
		keycount_add(s->preauth ? d->preauth_per_addr : d->authed_per_addr, key, -1,
			     net_now_ms(d->loop));
		d->npreauth -= s->preauth;
	}
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		d->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	d->nsessions--;
	c2s_unqueue(s);
	buf_free(&s->out);
	tls_conn_free(s->tls);
	xml_framer_free(s->fr);
	if (s->scram != NULL) {
		scram_server_clear(s->scram);
		free(s->scram);
	}
	free(s->last_presence);
	presence_free_directed(s);
	free(s->bare);
	free(s->full);
	free(s);
}

static void c2s_on_read(struct net_conn *c, void *arg)
{
	struct c2s *s = arg;
	uint8_t b[C2S_READ_CHUNK];
	ssize_t n;
	int rc;

	while (s->state != C2S_CLOSED) {
		if (s->state == C2S_TLS_HANDSHAKE) {
			if (s->tls == NULL &&
			    (s->tls = tls_conn_new(s->d->tls, c, "xmpp-client")) == NULL) {
				log_err(C2S_LOG " out of memory for TLS", s->id);
				s->state = C2S_CLOSED;
				net_abort(c);
				return;
			}
			if ((rc = tls_handshake(s->tls)) == NT_EAGAIN)
				return;
			if (rc != NT_OK) {
				s->state = C2S_CLOSED;
				net_abort(c);
				return;
			}
			s->secure = 1;
			s->state = C2S_WAIT_HEADER;
			continue;
		}
		n = s->tls != NULL ? tls_read(s->tls, b, sizeof(b)) : net_read(c, b, sizeof(b));
		if (n == NT_EAGAIN)
			break;
		if (n <= 0) {
			log_debug(C2S_LOG " peer closed (%s)", s->id, nt_strerror((int)n));
			c2s_end(s);
			return;
		}
		s->last_rx_ms = s->last_io_ms = net_now_ms(s->d->loop);
		s->ping_sent = 0;
		c2s_feed(s, b, (size_t)n);
	}
	xml_framer_shrink(s->fr);
}

static int c2s_check_header(struct c2s *s, const struct xml_event *ev)
{
	const char *dflt = mxmlElementGetAttr(ev->node, "xmlns");
	const char *to = mxmlElementGetAttr(ev->node, "to");
	const char *ver = mxmlElementGetAttr(ev->node, "version");
	struct jid j;

	if (strcmp(ev->ns, XMLNS_STREAM) != 0 || strcmp(ev->name, "stream") != 0) {
		c2s_stream_error(s, "invalid-namespace", NULL);
		return NT_EINVAL;
	}
	if (dflt == NULL || strcmp(dflt, NS_CLIENT) != 0) {
		c2s_stream_error(s, "invalid-namespace", "this port serves jabber:client");
		return NT_EINVAL;
	}
	if (to != NULL && (jid_parse(&j, to, strlen(to)) != NT_OK || j.local[0] != '\0' ||
			   j.resource[0] != '\0' || strcmp(j.domain, s->d->domain) != 0)) {
		c2s_stream_error(s, "host-unknown", NULL);
		return NT_EINVAL;
	}
	if (ver == NULL || atoi(ver) < 1) {
		c2s_stream_error(s, "unsupported-version", "XMPP 1.0 is required");
		return NT_EINVAL;
	}
	return NT_OK;
}

static void c2s_on_header(struct c2s *s, const struct xml_event *ev)
{
	if (s->state != C2S_WAIT_HEADER) {
		c2s_stream_error(s, "not-well-formed", NULL);
		return;
	}
	if (c2s_check_header(s, ev) != NT_OK)
		return;
	c2s_send_header(s);
	c2s_send_features(s);
	s->state = C2S_NEGOTIATE;
}

static void c2s_starttls(struct c2s *s)
{
	static const char proceed[] = "<proceed xmlns='" NS_TLS "'/>";

	(void)c2s_send_raw(s, proceed, sizeof(proceed) - 1);
	c2s_unqueue(s);
	(void)c2s_flush(s);	/* in clear text, before TLS takes over the connection */
	if ((s->tls = tls_conn_new(s->d->tls, s->conn, NULL)) == NULL) {
		log_err(C2S_LOG " out of memory for TLS", s->id);
		s->state = C2S_CLOSED;
		net_abort(s->conn);
		return;
	}
	xml_framer_reset(s->fr);
	s->header_sent = 0;
	s->state = C2S_TLS_HANDSHAKE;
}

/* Before TLS only STARTTLS is possible; no credentials may cross in clear text. */
static void c2s_plain_element(struct c2s *s, const char *ns, const char *name)
{
	static const char enc_req[] = "<failure xmlns='" NS_SASL "'><encryption-required/>"
				      "</failure>";

	if (strcmp(ns, NS_TLS) == 0 && strcmp(name, "starttls") == 0)
		c2s_starttls(s);
	else if (strcmp(ns, NS_SASL) == 0 && strcmp(name, "auth") == 0)
		(void)c2s_send_raw(s, enc_req, sizeof(enc_req) - 1);
	else
		c2s_stream_error(s, "policy-violation", "STARTTLS is required first");
}

static void c2s_iq_reply_error(struct c2s *s, mxml_node_t *iq, const char *type,
			       const char *cond, const char *text)
{
	const char *id = mxmlElementGetAttr(iq, "id");
	mxml_node_t *r = xml_elem(NULL, "iq", NULL), *e;

	mxmlElementSetAttr(r, "type", "error");
	if (id != NULL)
		mxmlElementSetAttr(r, "id", id);
	e = xml_elem(r, "error", NULL);
	mxmlElementSetAttr(e, "type", type);
	xml_elem(e, cond, NS_STANZAS);
	if (text != NULL)
		xml_add_text(xml_elem(e, "text", NS_STANZAS), text);
	(void)c2s_send_tree(s, r);
	mxmlDelete(r);
}

static int c2s_make_resource(struct c2s *s, mxml_node_t *bind, char *res, size_t cap)
{
	mxml_node_t *r = xml_child(bind, "resource", NULL);
	char text[JID_PART_MAX * 2];
	size_t n;
	uint32_t rnd;

	if (r != NULL && (n = xml_text(r, text, sizeof(text))) > 0) {
		if (n >= sizeof(text))
			return NT_ELIMIT;
		return jid_prep_resource(res, cap, text, n);
	}
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)s->id * 2654435761u;
	snprintf(res, cap, "natter-%08x", rnd);
	return NT_OK;
}

/* 1 when binding s->full would pass the account's session limit (a resource bound again
 * replaces its old session, so it adds none). Logged once per account and period. */
static int c2s_account_full(struct c2s *s)
{
	struct natterd *d = s->d;
	struct user *u = users_get(d->users, s->bare);
	long n = 0;

	if (u == NULL || router_find(d, s->full) != NULL)
		return 0;
	for (struct c2s *x = u->sessions; x != NULL; x = x->unext)
		n++;
	if (n < d->lim.sessions_per_account)
		return 0;
	c2s_refusal_log(d, "sessions", s->bare, "sessions open", n,
			"limit.sessions_per_account");
	return 1;
}

static void c2s_bind(struct c2s *s, mxml_node_t *iq, mxml_node_t *bind)
{
	char res[JID_PART_MAX + 1], text[128];
	const char *type = mxmlElementGetAttr(iq, "type"), *id = mxmlElementGetAttr(iq, "id");
	size_t blen = strlen(s->bare);
	mxml_node_t *r, *b;

	if (type == NULL || strcmp(type, "set") != 0 || id == NULL) {
		c2s_iq_reply_error(s, iq, "modify", "bad-request", NULL);
		return;
	}
	if (c2s_make_resource(s, bind, res, sizeof(res)) != NT_OK) {
		c2s_iq_reply_error(s, iq, "modify", "bad-request", NULL);
		return;
	}
	if ((s->full = malloc(blen + strlen(res) + 2)) == NULL) {
		c2s_iq_reply_error(s, iq, "wait", "resource-constraint", NULL);
		return;
	}
	sprintf(s->full, "%s/%s", s->bare, res);
	if (c2s_account_full(s)) {
		free(s->full);
		s->full = NULL;
		snprintf(text, sizeof(text), "this account already has %ld sessions open; close "
			 "one to sign in here", s->d->lim.sessions_per_account);
		/* The bind error of RFC 6120 7.6.2.1 for clients that show it, then a stream
		 * error for those that only show why the stream ended (slixmpp, for one). */
		c2s_iq_reply_error(s, iq, "wait", "resource-constraint", text);
		c2s_stream_error(s, "policy-violation", text);
		return;
	}
	if (router_bind(s->d, s) != NT_OK) {
		free(s->full);
		s->full = NULL;
		c2s_iq_reply_error(s, iq, "wait", "resource-constraint", NULL);
		return;
	}
	s->state = C2S_BOUND;
	r = xml_elem(NULL, "iq", NULL);
	mxmlElementSetAttr(r, "type", "result");
	mxmlElementSetAttr(r, "id", id);
	b = xml_elem(r, "bind", NS_BIND);
	xml_add_text(xml_elem(b, "jid", NULL), s->full);
	(void)c2s_send_tree(s, r);
	mxmlDelete(r);
	log_info(C2S_LOG " %s bound from %s", s->id, s->full, net_peer_addr(s->conn));
}

/* Authenticated, not bound yet: only resource binding (and the legacy session). */
static void c2s_unbound_element(struct c2s *s, mxml_node_t *el, const char *ns,
				const char *name)
{
	mxml_node_t *child;

	if (strcmp(ns, NS_CLIENT) != 0 || strcmp(name, "iq") != 0) {
		c2s_stream_error(s, "not-authorized", "bind a resource first");
		return;
	}
	if ((child = xml_child(el, "bind", NS_BIND)) != NULL)
		c2s_bind(s, el, child);
	else
		c2s_iq_reply_error(s, el, "cancel", "not-allowed", NULL);
}

static void c2s_on_element(struct c2s *s, const struct xml_event *ev)
{
	if (s->state == C2S_WAIT_HEADER) {
		c2s_stream_error(s, "not-well-formed", NULL);
		return;
	}
	if (!s->secure) {
		c2s_plain_element(s, ev->ns, ev->name);
		return;
	}
	if (!s->authed) {
		if (strcmp(ev->ns, NS_SASL) == 0) {
			sasl_handle(s, ev->node, ev->name);
			if (s->authed)
				c2s_authenticated(s);
		} else
			c2s_stream_error(s, "not-authorized", NULL);
		return;
	}
	if (s->state != C2S_BOUND) {
		c2s_unbound_element(s, ev->node, ev->ns, ev->name);
		return;
	}
	if (strcmp(ev->ns, NS_CLIENT) == 0 && (strcmp(ev->name, "message") == 0 ||
	    strcmp(ev->name, "presence") == 0 || strcmp(ev->name, "iq") == 0))
		router_from_client(s, ev->node, ev->name);
	else
		c2s_stream_error(s, "unsupported-stanza-type", NULL);
}

static void c2s_feed(struct c2s *s, const uint8_t *p, size_t n)
{
	struct xml_event ev;
	size_t used;

	while (n > 0 && s->state != C2S_CLOSED && s->state != C2S_TLS_HANDSHAKE) {
		used = xml_framer_feed(s->fr, p, n, &ev);
		p += used;
		n -= used;
		switch (ev.type) {
		case XML_EV_NONE:
			break;
		case XML_EV_OPEN:
			c2s_on_header(s, &ev);
			break;
		case XML_EV_ELEMENT:
			c2s_on_element(s, &ev);
			break;
		case XML_EV_CLOSE:
			log_debug(C2S_LOG " client ended the stream", s->id);
			c2s_close(s);
			break;
		case XML_EV_ERROR:
			c2s_stream_error(s, xml_err_condition(ev.error), NULL);
			break;
		}
		mxmlDelete(ev.node);
		if (s->restart_pending && s->state != C2S_CLOSED) {	/* SASL success: restart */
			s->restart_pending = 0;
			xml_framer_reset(s->fr);
			s->header_sent = 0;
			s->state = C2S_WAIT_HEADER;
		}
	}
	if (n > 0 && s->state == C2S_TLS_HANDSHAKE)
		log_info(C2S_LOG " dropped %zu bytes sent before the TLS handshake", s->id, n);
}

static void c2s_send_ping(struct c2s *s)
{
	char buf[256 + 2 * JID_MAX];
	int n;

	s->ping_sent = (uint32_t)s->d->nsessions ^ (uint32_t)s->id ^ 0x5eed;
	if (s->ping_sent == 0)
		s->ping_sent = 1;
	n = snprintf(buf, sizeof(buf), "<iq type='get' id='natter-ping-%x' from='%s' to='%s'>"
		     "<ping xmlns='" NS_PING "'/></iq>", s->ping_sent, s->d->domain, s->full);
	(void)c2s_send_raw(s, buf, (size_t)n);
}

unsigned c2s_sweep(struct natterd *d)
{
	uint64_t now = net_now_ms(d->loop);
	struct c2s *s, *next;
	unsigned slept = 0;

	for (s = d->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->state == C2S_CLOSED)
			continue;
		if (s->state != C2S_BOUND) {
			if (now - s->started_ms > d->opt.handshake_ms)
				c2s_stream_error(s, "connection-timeout", NULL);
			continue;
		}
		if (now - s->last_rx_ms > d->opt.idle_ms)
			c2s_stream_error(s, "connection-timeout", NULL);
		else if (now - s->last_rx_ms > d->opt.idle_ms / 2 && s->ping_sent == 0)
			c2s_send_ping(s);
		else if (now - s->last_io_ms >= d->opt.tls_sleep_ms && c2s_sleep(s))
			slept++;
	}
	return slept;
}
