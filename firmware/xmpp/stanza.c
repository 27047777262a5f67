/* Stanza helpers shared by the handlers: JID attributes and error answers (RFC 6120 8.3). */
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/natterd.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

int stanza_jid(mxml_node_t *st, const char *attr, struct jid *out)
{
	const char *v = mxmlElementGetAttr(st, attr);

	if (v == NULL)
		return 0;
	return jid_parse(out, v, strlen(v)) == NT_OK ? 1 : -1;
}

mxml_node_t *stanza_first_child(mxml_node_t *el)
{
	mxml_node_t *c;

	for (c = mxmlGetFirstChild(el); c != NULL; c = mxmlGetNextSibling(c))
		if (mxmlGetType(c) == MXML_ELEMENT)
			return c;
	return NULL;
}

/* Delivers an error the server generated to a local full JID, if it is online. */
static void stanza_send_to(struct natterd *d, const char *to, mxml_node_t *st)
{
	struct c2s *s = router_find(d, to);

	if (s != NULL)
		(void)router_send(s, st);
}

void stanza_bounce(struct natterd *d, mxml_node_t *st, const char *type, const char *cond)
{
	const char *stype = mxmlElementGetAttr(st, "type");
	const char *from = mxmlElementGetAttr(st, "from"), *to = mxmlElementGetAttr(st, "to");
	const char *id = mxmlElementGetAttr(st, "id");
	mxml_node_t *r, *e;

	if (from == NULL || (stype != NULL && strcmp(stype, "error") == 0))
		return;
	if (strcmp(xml_local_name(st), "iq") == 0 && stype != NULL &&
	    strcmp(stype, "result") == 0)
		return;
	r = xml_elem(NULL, xml_local_name(st), NULL);
	mxmlElementSetAttr(r, "type", "error");
	mxmlElementSetAttr(r, "from", to != NULL ? to : d->domain);
	mxmlElementSetAttr(r, "to", from);
	if (id != NULL)
		mxmlElementSetAttr(r, "id", id);
	e = xml_elem(r, "error", NULL);
	mxmlElementSetAttr(e, "type", type);
	xml_elem(e, cond, NS_STANZAS);
	stanza_send_to(d, from, r);
	mxmlDelete(r);
}
