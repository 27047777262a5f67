/* iq routing (RFC 6120 8.2.3, RFC 6121 8.5) and the table of server-side handlers. */
#include <string.h>
#include "core/err.h"
#include "core/natterd.h"
#include "store/store.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/iq.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

static iq_handler_fn iq_ping, iq_session;

static const struct {
	const char *ns, *name, *type;	/* type: "get", "set" */
	iq_handler_fn *fn;
} handlers[] = {
	{ NS_PING,        "ping",    "get", iq_ping },
	{ NS_DISCO_INFO,  "query",   "get", disco_info },
	{ NS_DISCO_ITEMS, "query",   "get", disco_items },
	{ NS_SESSION,     "session", "set", iq_session },
};

mxml_node_t *iq_result(struct c2s *s, mxml_node_t *iq)
{
	const char *id = mxmlElementGetAttr(iq, "id"), *to = mxmlElementGetAttr(iq, "to");
	mxml_node_t *r = xml_elem(NULL, "iq", NULL);

	if (r == NULL)
		return NULL;
	mxmlElementSetAttr(r, "type", "result");
	if (id != NULL)
		mxmlElementSetAttr(r, "id", id);
	mxmlElementSetAttr(r, "from", to != NULL ? to : s->bare);
	mxmlElementSetAttr(r, "to", s->full);
	return r;
}

void iq_send(struct c2s *s, mxml_node_t *r)
{
	if (r == NULL)
		return;
	(void)router_send(s, r);
	mxmlDelete(r);
}

static void iq_ping(struct c2s *s, mxml_node_t *iq, mxml_node_t *q, const struct jid *to)
{
	(void)q;
	(void)to;
	iq_send(s, iq_result(s, iq));
}

/* RFC 3921's session establishment: a no-op that old clients still wait for. */
static void iq_session(struct c2s *s, mxml_node_t *iq, mxml_node_t *q, const struct jid *to)
{
	(void)q;
	(void)to;
	iq_send(s, iq_result(s, iq));
}

void iq_to_server(struct c2s *s, mxml_node_t *st, const struct jid *to)
{
	const char *type = mxmlElementGetAttr(st, "type");
	mxml_node_t *q = stanza_first_child(st);
	const char *ns, *name;

	if (strcmp(type, "result") == 0 || strcmp(type, "error") == 0)
		return;			/* answers to our keepalive pings */
	if (q == NULL) {
		stanza_bounce(s->d, st, "modify", "bad-request");
		return;
	}
	ns = xml_ns(q, "");
	name = xml_local_name(q);
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (strcmp(handlers[i].ns, ns) != 0 || strcmp(handlers[i].name, name) != 0)
			continue;
		if (strcmp(handlers[i].type, type) != 0) {
			stanza_bounce(s->d, st, "cancel", "feature-not-implemented");
			return;
		}
		handlers[i].fn(s, st, q, to);
		return;
	}
	stanza_bounce(s->d, st, "cancel", "service-unavailable");
}

void iq_route(struct natterd *d, struct c2s *from, mxml_node_t *st, const struct jid *to)
{
	const char *type = mxmlElementGetAttr(st, "type");
	int request;
	char buf[JID_MAX + 1];
	struct c2s *s;

	if (type == NULL || mxmlElementGetAttr(st, "id") == NULL ||
	    (strcmp(type, "get") && strcmp(type, "set") && strcmp(type, "result") &&
	     strcmp(type, "error"))) {
		stanza_bounce(d, st, "modify", "bad-request");
		return;
	}
	request = type[0] == 'g' || type[0] == 's';
	if (strcmp(to->domain, d->domain) != 0) {
		if (request)
			stanza_bounce(d, st, "cancel", "remote-server-not-found");
		return;
	}
	if (to->resource[0] == '\0') {
		if (to->local[0] == '\0' ||
		    (jid_bare(to, buf, sizeof(buf)) == NT_OK && strcmp(buf, from->bare) == 0))
			iq_to_server(from, st, to);
		else if (request)
			stanza_bounce(d, st, "cancel", "service-unavailable");
		return;
	}
	if (jid_full(to, buf, sizeof(buf)) == NT_OK && (s = router_find(d, buf)) != NULL)
		(void)router_send(s, st);
	else if (request)
		stanza_bounce(d, st, "cancel", "service-unavailable");
}
