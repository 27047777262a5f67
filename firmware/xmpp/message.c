/* Message routing for local users (RFC 6121 section 8.5). */
#include <string.h>
#include "core/err.h"
#include "core/log.h"
#include "core/natterd.h"
#include "store/store.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/router.h"

/* The available resources with the highest non-negative priority all get it (RFC 6121
 * 8.5.2.1.1). Returns how many did. */
static int message_to_bare(struct user *u, mxml_node_t *st)
{
	struct c2s *s;
	int best = -1, n = 0;

	for (s = u != NULL ? u->sessions : NULL; s != NULL; s = s->unext)
		if (s->available && s->priority > best)
			best = s->priority;
	if (best < 0)
		return 0;
	for (s = u->sessions; s != NULL; s = s->unext) {
		if (s->available && s->priority == best) {
			(void)router_send(s, st);
			n++;
		}
	}
	return n;
}

/* Nobody available: keep it for later, if it carries something a person would read. */
static void message_offline(struct natterd *d, mxml_node_t *st, const char *bare,
			    const char *type)
{
	if (strcmp(type, "groupchat") == 0) {
		stanza_bounce(d, st, "cancel", "service-unavailable");
		return;
	}
	if (strcmp(type, "headline") == 0 || strcmp(type, "error") == 0)
		return;
	if (!router_account_exists(d, bare)) {
		stanza_bounce(d, st, "cancel", "service-unavailable");
		return;
	}
	if (xml_child(st, "body", NULL) == NULL && xml_child(st, "subject", NULL) == NULL)
		return;				/* chat states and receipts are not stored */
	switch (offline_store(d, bare, st)) {
	case NT_OK:
		break;
	case NT_ELIMIT:		/* the user's queue is full */
	case NT_EFULL:		/* the store keeps its reserve */
		stanza_bounce(d, st, "wait", "resource-constraint");
		break;
	default:
		stanza_bounce(d, st, "wait", "internal-server-error");
		break;
	}
}

void message_route(struct natterd *d, mxml_node_t *st, const struct jid *to)
{
	const char *type = mxmlElementGetAttr(st, "type");
	char bare[STORE_BARE_MAX];
	struct c2s *s;

	if (type == NULL)
		type = "normal";
	if (strcmp(to->domain, d->domain) != 0) {
		stanza_bounce(d, st, "cancel", "remote-server-not-found");
		return;
	}
	if (to->local[0] == '\0') {
		stanza_bounce(d, st, "cancel", "service-unavailable");
		return;
	}
	if (jid_bare(to, bare, sizeof(bare)) != NT_OK)
		return;
	if (to->resource[0] != '\0') {
		char full[JID_MAX + 1];

		if (jid_full(to, full, sizeof(full)) == NT_OK &&
		    (s = router_find(d, full)) != NULL) {
			(void)router_send(s, st);
			return;
		}
		/* That resource is gone: chat and normal messages fall back to the bare JID. */
		if (strcmp(type, "chat") != 0 && strcmp(type, "normal") != 0) {
			if (strcmp(type, "groupchat") == 0)
				stanza_bounce(d, st, "cancel", "service-unavailable");
			return;
		}
	}
	if (strcmp(type, "error") == 0)
		return;
	if (message_to_bare(users_get(d->users, bare), st) == 0)
		message_offline(d, st, bare, type);
}
