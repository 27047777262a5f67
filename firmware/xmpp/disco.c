/* Service discovery (XEP-0030): what the server and an account are and offer. */
#include <string.h>
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/iq.h"
#include "xmpp/jid.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

static const char *const server_features[] = {
	NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_OFFLINE,
};

static void disco_identity(mxml_node_t *q, const char *category, const char *type,
			   const char *name)
{
	mxml_node_t *id = xml_elem(q, "identity", NULL);

	mxmlElementSetAttr(id, "category", category);
	mxmlElementSetAttr(id, "type", type);
	if (name != NULL)
		mxmlElementSetAttr(id, "name", name);
}

static void disco_feature(mxml_node_t *q, const char *var)
{
	mxmlElementSetAttr(xml_elem(q, "feature", NULL), "var", var);
}

void disco_info(struct c2s *s, mxml_node_t *iq, mxml_node_t *q, const struct jid *to)
{
	mxml_node_t *r, *rq;

	if (mxmlElementGetAttr(q, "node") != NULL) {
		stanza_bounce(s->d, iq, "cancel", "item-not-found");
		return;
	}
	if ((r = iq_result(s, iq)) == NULL)
		return;
	rq = xml_elem(r, "query", NS_DISCO_INFO);
	if (to->local[0] == '\0') {
		disco_identity(rq, "server", "im", "natter");
		for (size_t i = 0; i < sizeof(server_features) / sizeof(server_features[0]); i++)
			disco_feature(rq, server_features[i]);
	} else {
		disco_identity(rq, "account", "registered", NULL);
		disco_feature(rq, NS_DISCO_INFO);
	}
	iq_send(s, r);
}

void disco_items(struct c2s *s, mxml_node_t *iq, mxml_node_t *q, const struct jid *to)
{
	mxml_node_t *r;

	(void)to;
	if (mxmlElementGetAttr(q, "node") != NULL) {
		stanza_bounce(s->d, iq, "cancel", "item-not-found");
		return;
	}
	if ((r = iq_result(s, iq)) == NULL)
		return;
	xml_elem(r, "query", NS_DISCO_ITEMS);
	iq_send(s, r);
}
