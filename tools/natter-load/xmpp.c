/*
 * The client side of an XMPP c2s stream (RFC 6120): stream header, STARTTLS (or TLS from the
 * first byte), SASL (SCRAM-SHA-1, SCRAM-SHA-256, PLAIN), resource binding, the legacy session
 * when a server still requires it, XEP-0198 enable/resume, XEP-0077 registration; then
 * stanzas go to the scenario, with server pings and roster pushes answered here.
 */
#include <stdlib.h>
#include <string.h>
#include "core/base64.h"
#include "core/err.h"
#include "load.h"

#define NS_SASL    "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_TLS     "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_BIND    "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define NS_SM      "urn:xmpp:sm:3"
#define NS_PING    "urn:xmpp:ping"
#define NS_ROSTER  "jabber:iq:roster"
#define SASL_B64_MAX (BASE64_ENCODED_LEN(SCRAM_CLI_MSG_MAX) + 1)

static const char *const state_names[] = {
	"idle", "queued", "connect", "tls handshake", "stream features", "starttls",
	"register", "sasl", "bind", "session", "sm enable", "sm resume", "up", "closing",
};

static void xmpp_up(struct xc *c);

/* Moves to state st, waiting at most --timeout for the server's next step. */
static void xmpp_state(struct xc *c, int st)
{
	c->state = st;
	xc_deadline(c, 1);
}

void xc_bare(const struct gen *g, unsigned acct, char *out, size_t cap)
{
	snprintf(out, cap, "%s%u@%s", g->o->prefix, acct, g->o->domain);
}

void xc_init(struct xc *c, struct gen *g, unsigned acct, const struct xc_ops *ops, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->g = g;
	c->ops = ops;
	c->arg = arg;
	c->acct = acct;
	c->fd = -1;
	c->next_all = g->all;
	g->all = c;
}

int xc_busy(const struct xc *c)
{
	return c->state != XS_IDLE;
}

int xc_start(struct xc *c, unsigned flags)
{
	if (c->state != XS_IDLE)
		return NT_EBUSY;
	c->flags = flags;
	c->secure = c->authed = c->have_header = c->sess_req = c->sm_offered = c->sm_on = 0;
	c->sasl_done = c->was_up = 0;
	c->tls_reused = c->sm_resumed = 0;
	c->state = XS_QUEUED;
	gen_enqueue(c->g, c);
	return NT_OK;
}

int xc_send(struct xc *c, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = conn_vqueue(c, fmt, ap);
	va_end(ap);
	if (rc == NT_ENOMEM)
		xc_fail(c, E_PROTO, "out of memory");
	return rc;
}

void xc_deadline(struct xc *c, int on)
{
	c->deadline = on ? c->g->now + (uint64_t)c->g->o->timeout * 1000000u : 0;
}

/* The connection is over (it was dropped already): tell the scenario. */
static void xmpp_finish(struct xc *c, int err)
{
	struct gen *g = c->g;

	if (c->in_setup) {
		c->in_setup = 0;
		g->setups--;
	}
	free(c->scram);
	c->scram = NULL;
	c->state = XS_IDLE;
	c->deadline = 0;
	c->ops->down(c, err);
}

void xc_fail(struct xc *c, int err, const char *why)
{
	char what[200];

	if (c->state == XS_IDLE)
		return;
	snprintf(what, sizeof(what), "%s: %s", state_names[c->state], why);
	gen_log_fail(c->g, c, err, what);
	conn_drop(c, 0);
	xmpp_finish(c, err);
}

void xc_close(struct xc *c, int how)
{
	struct slot *s = gen_slot(c->g, c->acct);

	if (c->state == XS_IDLE || c->state == XS_CLOSING)
		return;
	if (c->state != XS_UP) {
		xc_fail(c, E_CLOSED, "abandoned before the session was up");
		return;
	}
	if (how == XC_KEEP_SM && c->sm_on) {
		uint32_t epoch = c->epoch;

		/* Leave as a phone losing its network would, after acking what we got, so the
		 * server keeps the session for a <resume/>. */
		(void)xc_send(c, "<a xmlns='" NS_SM "' h='%u'/>", s->h);
		if (c->epoch == epoch)
			conn_flush(c);
		if (c->epoch != epoch)
			return;		/* failed on the way out */
		conn_drop(c, 0);
		xmpp_finish(c, E_OK);
		return;
	}
	if (c->sm_on)
		s->smid[0] = '\0';	/* a clean close ends the XEP-0198 session too */
	if (xc_send(c, "</stream:stream>") == NT_OK)
		xmpp_state(c, XS_CLOSING);
}

static void xmpp_header(struct xc *c)
{
	char from[XC_JID_MAX + 16] = "";

	if (c->secure && !(c->flags & XC_REGISTER)) {
		strcpy(from, " from='");
		xc_bare(c->g, c->acct, from + 7, sizeof(from) - 8);
		strcat(from, "'");
	}
	c->have_header = 0;
	if (xc_send(c, "<?xml version='1.0'?><stream:stream to='%s'%s version='1.0' "
		    "xml:lang='en' xmlns='jabber:client' "
		    "xmlns:stream='http://etherx.jabber.org/streams'>", c->g->o->domain,
		    from) == NT_OK)
		xmpp_state(c, XS_FEATURES);
}

void xmpp_connected(struct xc *c)
{
	if (c->g->o->tls == LD_DIRECT)
		(void)conn_tls_begin(c);
	else
		xmpp_header(c);
}

void xmpp_secured(struct xc *c)
{
	c->secure = 1;
	xmpp_header(c);
}

/* The name of the first child element of el (or of el's child element within), skipping
 * <text/>: a stream, SASL or stanza error condition, for logs. */
static void xmpp_condition(const struct xel *el, const char *within, char *out, size_t cap)
{
	struct xel t = *el;
	const char *p, *end = el->p + el->n, *s;

	snprintf(out, cap, "?");
	if (within != NULL && xel_tag(el, NULL, within, &t) == NULL)
		return;
	for (p = t.p + 1; (p = memchr(p, '<', (size_t)(end - p))) != NULL;) {
		if (p[1] == '/')
			return;
		for (s = ++p; p < end && *p != ' ' && *p != '/' && *p != '>'; p++)
			;
		if (p - s != 4 || memcmp(s, "text", 4) != 0) {
			snprintf(out, cap, "%.*s", (int)(p - s), s);
			return;
		}
	}
}

/* SASL ------------------------------------------------------------------------------------- */

/* Sends a SASL element with msg base64-encoded; NT_OK, or the connection failed. */
static int xmpp_sasl_send(struct xc *c, const char *elem, const char *extra, const char *msg,
                          size_t n)
{
	char b64[SASL_B64_MAX];

	if (base64_encode((const uint8_t *)msg, n, b64, sizeof(b64), NULL) != NT_OK) {
		xc_fail(c, E_AUTH, "SASL message too long");
		return NT_ELIMIT;
	}
	return xc_send(c, "<%s xmlns='" NS_SASL "'%s>%s</%s>", elem, extra, b64, elem);
}

static void xmpp_auth(struct xc *c, const struct xel *features)
{
	const struct ld_opts *o = c->g->o;
	char user[256], msg[SCRAM_CLI_MSG_MAX], extra[64], offer[32];
	int n;

	snprintf(offer, sizeof(offer), ">%s<", ld_mech_name(o->mech));
	if (!xel_has(features, offer)) {
		xc_fail(c, E_AUTH, "mechanism not offered");
		return;
	}
	snprintf(user, sizeof(user), "%s%u", o->prefix, c->acct);
	snprintf(extra, sizeof(extra), " mechanism='%s'", ld_mech_name(o->mech));
	if (o->mech == LD_PLAIN) {
		n = snprintf(msg, sizeof(msg), "%c%s%c%s", 0, user, 0, o->password);
	} else if ((c->scram = malloc(sizeof(*c->scram))) == NULL) {
		xc_fail(c, E_AUTH, "out of memory");
		return;
	} else {
		n = scram_client_first(c->scram, o->mech == LD_SCRAM_SHA_256, user, NULL, msg,
				       sizeof(msg));
	}
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		xc_fail(c, E_AUTH, "cannot make the SASL message");
		return;
	}
	if (xmpp_sasl_send(c, "auth", extra, msg, (size_t)n) == NT_OK)
		xmpp_state(c, XS_AUTH);
}

/* The decoded payload of a challenge or success; -1 when it is not valid base64. */
static int xmpp_sasl_payload(const struct xel *el, char *out, size_t cap)
{
	char b64[SASL_B64_MAX];
	size_t n;
	int len = xel_text(el, NULL, b64, sizeof(b64));

	if (len < 0 || base64_decode(b64, (size_t)len, (uint8_t *)out, cap - 1, &n) != NT_OK)
		return -1;
	out[n] = '\0';
	return (int)n;
}

static void xmpp_on_sasl(struct xc *c, const struct xel *el)
{
	char in[SCRAM_CLI_MSG_MAX], out[SCRAM_CLI_MSG_MAX], cond[64];
	int n, m;

	if (xel_is(el, "failure")) {
		xmpp_condition(el, NULL, cond, sizeof(cond));
		xc_fail(c, E_AUTH, cond);
		return;
	}
	if (!xel_is(el, "challenge") && !xel_is(el, "success")) {
		xc_fail(c, E_PROTO, "unexpected element during SASL");
		return;
	}
	if ((n = xmpp_sasl_payload(el, in, sizeof(in))) < 0) {
		xc_fail(c, E_AUTH, "bad base64 from the server");
		return;
	}
	if (c->scram != NULL && !c->sasl_done) {	/* server-first */
		m = xel_is(el, "challenge") ? scram_client_final(c->scram, c->g->keys,
					c->g->o->password, in, (size_t)n, out, sizeof(out)) : -1;
		if (m < 0) {
			xc_fail(c, E_AUTH, "bad server-first-message");
			return;
		}
		c->sasl_done = 1;
		if (xmpp_sasl_send(c, "response", "", out, (size_t)m) == NT_OK)
			xmpp_state(c, XS_AUTH);
		return;
	}
	if (c->scram != NULL && n > 0) {		/* server-final: the server's proof */
		if (scram_client_check(c->scram, in, (size_t)n) != NT_OK) {
			xc_fail(c, E_AUTH, "the server's SCRAM signature is wrong");
			return;
		}
		free(c->scram);
		c->scram = NULL;
	}
	if (xel_is(el, "challenge")) {			/* server-final as a challenge */
		if (c->scram != NULL) {
			xc_fail(c, E_AUTH, "empty SCRAM challenge");
			return;
		}
		(void)xc_send(c, "<response xmlns='" NS_SASL "'/>");
		return;
	}
	if (c->scram != NULL) {
		xc_fail(c, E_AUTH, "success without the server's SCRAM signature");
		return;
	}
	c->authed = 1;
	xmpp_header(c);
}

/* After SASL --------------------------------------------------------------------------------- */

/* RFC 3921 session: required when announced without <optional/> (RFC 6121 dropped it). */
static int xmpp_session_required(const struct xel *features)
{
	struct xel t, opt;
	const char *after = xel_tag(features, NULL, "session", &t), *end;

	if (after == NULL || !xel_has(&t, NS_SESSION))
		return 0;
	if (t.p[t.n - 2] == '/')
		return 1;
	end = memmem(after, (size_t)(features->p + features->n - after), "session>", 8);
	return xel_tag(features, after, "optional", &opt) == NULL || (end != NULL && opt.p > end);
}

static void xmpp_bind(struct xc *c)
{
	if (xc_send(c, "<iq type='set' id='nl-bind'><bind xmlns='" NS_BIND "'/></iq>") == NT_OK)
		xmpp_state(c, XS_BIND);
}

static void xmpp_register(struct xc *c)
{
	const struct ld_opts *o = c->g->o;
	char pw[512];

	if (xml_escape(o->password, pw, sizeof(pw)) < 0) {
		xc_fail(c, E_REGISTER, "password too long");
		return;
	}
	if (xc_send(c, "<iq type='set' id='nl-reg' to='%s'><query xmlns='jabber:iq:register'>"
		    "<username>%s%u</username><password>%s</password></query></iq>", o->domain,
		    o->prefix, c->acct, pw) == NT_OK)
		xmpp_state(c, XS_REGISTER);
}

static void xmpp_features(struct xc *c, const struct xel *el)
{
	struct slot *s = gen_slot(c->g, c->acct);

	if (!c->secure) {
		if (!xel_has(el, NS_TLS)) {
			xc_fail(c, E_TLS, "no STARTTLS offered");
			return;
		}
		if (xc_send(c, "<starttls xmlns='" NS_TLS "'/>") == NT_OK)
			xmpp_state(c, XS_STARTTLS);
		return;
	}
	if (c->flags & XC_REGISTER) {
		xmpp_register(c);
		return;
	}
	if (!c->authed) {
		xmpp_auth(c, el);
		return;
	}
	c->sm_offered = xel_has(el, NS_SM);
	c->sess_req = xmpp_session_required(el);
	if ((c->flags & XC_RESUME) && c->sm_offered && s->smid[0] != '\0') {
		char id[2 * sizeof(s->smid)];

		if (xml_escape(s->smid, id, sizeof(id)) >= 0 &&
		    xc_send(c, "<resume xmlns='" NS_SM "' h='%u' previd='%s'/>", s->h, id) == NT_OK)
			xmpp_state(c, XS_RESUME);
		return;
	}
	if (!xel_has(el, NS_BIND)) {
		xc_fail(c, E_BIND, "no resource binding offered");
		return;
	}
	xmpp_bind(c);
}

/* Bound (and session made): XEP-0198 if wanted and offered, then up. */
static void xmpp_bound(struct xc *c)
{
	if ((c->flags & XC_RESUME) && c->sm_offered) {
		if (xc_send(c, "<enable xmlns='" NS_SM "' resume='true'/>") == NT_OK)
			xmpp_state(c, XS_ENABLE);
		return;
	}
	xmpp_up(c);
}

static void xmpp_up(struct xc *c)
{
	struct gen *g = c->g;

	if ((c->flags & XC_PRESENCE) && !c->sm_resumed && xc_send(c, "<presence/>") != NT_OK)
		return;
	c->state = XS_UP;
	c->was_up = 1;
	c->deadline = 0;
	if (c->in_setup) {
		c->in_setup = 0;
		g->setups--;
	}
	c->ops->up(c);
}

/* The answer to one of our own iqs (bind, session, register); 0 when el is not one. */
static int xmpp_own_iq(struct xc *c, const struct xel *el)
{
	char id[32], type[16], cond[64];

	if (!xel_is(el, "iq") || xel_attr(el, "id", id, sizeof(id)) != 1 ||
	    strncmp(id, "nl-", 3) != 0)
		return 0;
	(void)xel_attr(el, "type", type, sizeof(type));
	if (strcmp(type, "result") != 0)
		xmpp_condition(el, "error", cond, sizeof(cond));
	if (c->state == XS_BIND && strcmp(id, "nl-bind") == 0) {
		if (strcmp(type, "result") != 0 || xel_text(el, "jid", c->jid, sizeof(c->jid)) <= 0)
			xc_fail(c, E_BIND, strcmp(type, "result") ? cond : "no JID in the answer");
		else if (c->sess_req && xc_send(c, "<iq type='set' id='nl-sess'><session xmlns='"
						NS_SESSION "'/></iq>") == NT_OK)
			xmpp_state(c, XS_SESSION);
		else if (!c->sess_req)
			xmpp_bound(c);
	} else if (c->state == XS_SESSION && strcmp(id, "nl-sess") == 0) {
		if (strcmp(type, "result") != 0)
			xc_fail(c, E_BIND, cond);
		else
			xmpp_bound(c);
	} else if (c->state == XS_REGISTER && strcmp(id, "nl-reg") == 0) {
		/* An account that exists already is what registration wanted, too. */
		if (strcmp(type, "result") != 0 && strcmp(cond, "conflict") != 0)
			xc_fail(c, E_REGISTER, cond);
		else if (xc_send(c, "</stream:stream>") == NT_OK)
			xmpp_state(c, XS_CLOSING);
	}
	return 1;
}

/* XEP-0198 nonzas; 0 when el is not one. */
static int xmpp_sm(struct xc *c, const struct xel *el)
{
	struct slot *s = gen_slot(c->g, c->acct);

	if (!xel_is(el, "r") && !xel_is(el, "a") && !xel_is(el, "enabled") &&
	    !xel_is(el, "resumed") && !xel_is(el, "failed"))
		return 0;
	if (xel_is(el, "r")) {
		(void)xc_send(c, "<a xmlns='" NS_SM "' h='%u'/>", s->h);
	} else if (xel_is(el, "enabled") && c->state == XS_ENABLE) {
		if (xel_attr(el, "id", s->smid, sizeof(s->smid)) != 1)
			s->smid[0] = '\0';
		s->h = 0;
		c->sm_on = 1;
		xmpp_up(c);
	} else if (xel_is(el, "resumed") && c->state == XS_RESUME) {
		c->sm_on = 1;
		c->sm_resumed = 1;
		xmpp_up(c);
	} else if (xel_is(el, "failed") && c->state == XS_ENABLE) {
		s->smid[0] = '\0';
		xmpp_up(c);
	} else if (xel_is(el, "failed") && c->state == XS_RESUME) {
		s->smid[0] = '\0';	/* gone on the server: log in afresh */
		xmpp_bind(c);
	}
	return 1;			/* <a/> and the rest: nothing to do */
}

/* Answers what a server may ask of any client: ping, roster push; others get an error. */
static void xmpp_answer_iq(struct xc *c, const struct xel *el)
{
	char id[256], from[XC_JID_MAX], type[8], eid[512], efrom[XC_JID_MAX * 2] = "";

	if (xel_attr(el, "type", type, sizeof(type)) != 1 ||
	    (strcmp(type, "get") != 0 && strcmp(type, "set") != 0) ||
	    xel_attr(el, "id", id, sizeof(id)) != 1 || xml_escape(id, eid, sizeof(eid)) < 0)
		return;
	if (xel_attr(el, "from", from, sizeof(from)) == 1 && from[0] != '\0') {
		strcpy(efrom, " to='");
		if (xml_escape(from, efrom + 5, sizeof(efrom) - 6) < 0)
			return;
		strcat(efrom, "'");
	}
	if (xel_has(el, NS_PING) || (type[0] == 's' && xel_has(el, NS_ROSTER)))
		(void)xc_send(c, "<iq type='result' id='%s'%s/>", eid, efrom);
	else
		(void)xc_send(c, "<iq type='error' id='%s'%s><error type='cancel'>"
			      "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
			      "</error></iq>", eid, efrom);
}

static void xmpp_stanza(struct xc *c, const struct xel *el)
{
	uint32_t epoch = c->epoch;

	if (!xel_is(el, "message") && !xel_is(el, "presence") && !xel_is(el, "iq")) {
		xc_fail(c, E_PROTO, "unexpected element");
		return;
	}
	if (c->sm_on)
		gen_slot(c->g, c->acct)->h++;
	if (xel_is(el, "iq"))
		xmpp_answer_iq(c, el);
	if (c->epoch == epoch && c->ops->stanza != NULL)
		c->ops->stanza(c, el);
}

static void xmpp_element(struct xc *c, const struct xel *el)
{
	char cond[64];

	if (xel_is(el, "error")) {		/* top level: only <stream:error> */
		xmpp_condition(el, NULL, cond, sizeof(cond));
		xc_fail(c, E_STREAM, cond);
		return;
	}
	switch (c->state) {
	case XS_FEATURES:
		if (xel_is(el, "features"))
			xmpp_features(c, el);
		else
			xc_fail(c, E_PROTO, "expected stream features");
		return;
	case XS_STARTTLS:
		if (xel_is(el, "proceed"))
			(void)conn_tls_begin(c);
		else
			xc_fail(c, E_TLS, "STARTTLS refused");
		return;
	case XS_AUTH:
		xmpp_on_sasl(c, el);
		return;
	default:
		break;
	}
	if (xmpp_sm(c, el) || xmpp_own_iq(c, el))
		return;
	if (c->state == XS_REGISTER) {
		xc_fail(c, E_PROTO, "unexpected element before registration");
		return;
	}
	xmpp_stanza(c, el);
}

void xmpp_input(struct xc *c)
{
	uint32_t epoch = c->epoch;
	struct xel el;
	size_t used;

	while (c->in.off < c->in.len) {
		enum xtok t = xml_next(c->in.p + c->in.off, c->in.len - c->in.off, c->have_header,
				       &el, &used);

		c->in.off += used;
		switch (t) {
		case XT_MORE:
			return;
		case XT_BAD:
			xc_fail(c, E_PROTO, "XML the generator cannot read");
			return;
		case XT_HEADER:
			c->have_header = 1;
			continue;
		case XT_END:
			xmpp_eof(c);
			return;
		case XT_ELEM:
			xmpp_element(c, &el);
			if (c->epoch != epoch || c->state == XS_TLS)
				return;
		}
	}
}

void xmpp_eof(struct xc *c)
{
	if (c->state != XS_CLOSING) {
		xc_fail(c, E_CLOSED, "the server closed the stream");
		return;
	}
	conn_drop(c, 1);
	xmpp_finish(c, E_OK);
}
