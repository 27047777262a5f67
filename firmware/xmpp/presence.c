/*
 * Presence (RFC 6121 section 4) without rosters yet: availability and priority, broadcast to
 * the user's own resources, directed presence, and unavailable presence to everyone who saw
 * the session available. Subscriptions arrive with the roster.
 */
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/log.h"
#include "core/natterd.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/router.h"

#define DIRECTED_MAX 64		/* directed-presence recipients remembered per session */

struct jidlist {
	struct jidlist *next;
	char jid[];
};

static void directed_add(struct c2s *s, const char *jid)
{
	struct jidlist *e;
	unsigned n = 0;
	size_t len = strlen(jid);

	for (e = s->directed; e != NULL; e = e->next, n++)
		if (strcmp(e->jid, jid) == 0)
			return;
	if (n >= DIRECTED_MAX || (e = malloc(sizeof(*e) + len + 1)) == NULL)
		return;
	memcpy(e->jid, jid, len + 1);
	e->next = s->directed;
	s->directed = e;
}

static void directed_del(struct c2s *s, const char *jid)
{
	for (struct jidlist **pp = &s->directed; *pp != NULL; pp = &(*pp)->next) {
		if (strcmp((*pp)->jid, jid) == 0) {
			struct jidlist *e = *pp;

			*pp = e->next;
			free(e);
			return;
		}
	}
}

void presence_free_directed(struct c2s *s)
{
	struct jidlist *e, *nx;

	for (e = s->directed; e != NULL; e = nx) {
		nx = e->next;
		free(e);
	}
	s->directed = NULL;
}

/* Sends st to every available resource of u (skip may be NULL). */
static void presence_to_user(struct user *u, mxml_node_t *st, const struct c2s *skip)
{
	for (struct c2s *s = u != NULL ? u->sessions : NULL; s != NULL; s = s->unext)
		if (s->available && s != skip)
			(void)router_send(s, st);
}

/* Presence to a full JID goes to that resource; to a bare JID, to all available ones. */
static void presence_directed(struct c2s *s, mxml_node_t *st, const struct jid *to)
{
	struct natterd *d = s->d;
	const char *type = mxmlElementGetAttr(st, "type");
	char bare[JID_MAX + 1], full[JID_MAX + 1];
	struct c2s *peer;

	if (type != NULL && strcmp(type, "unavailable") != 0 && strcmp(type, "error") != 0) {
		log_debug(C2S_LOG " presence type %s ignored (no rosters yet)", s->id, type);
		return;
	}
	if (strcmp(to->domain, d->domain) != 0 || to->local[0] == '\0')
		return;				/* no federation yet; nothing listens at the server */
	if (jid_bare(to, bare, sizeof(bare)) != NT_OK || jid_full(to, full, sizeof(full)) != NT_OK)
		return;
	if (to->resource[0] != '\0') {
		if ((peer = router_find(d, full)) != NULL)
			(void)router_send(peer, st);
	} else {
		presence_to_user(users_get(d->users, bare), st, NULL);
	}
	if (type == NULL)
		directed_add(s, full);
	else if (strcmp(type, "unavailable") == 0)
		directed_del(s, full);
}

static int presence_priority(mxml_node_t *st)
{
	mxml_node_t *p = xml_child(st, "priority", NULL);
	char text[16];
	long v;

	if (p == NULL || xml_text(p, text, sizeof(text)) >= sizeof(text))
		return 0;
	v = strtol(text, NULL, 10);
	return v < -128 ? -128 : v > 127 ? 127 : (int)v;
}

/* Shows the new resource what its siblings already announced. */
static void presence_siblings_to(struct c2s *s)
{
	for (struct c2s *o = s->user->sessions; o != NULL; o = o->unext)
		if (o != s && o->available && o->last_presence != NULL)
			(void)c2s_send_raw(s, o->last_presence, o->last_presence_len);
}

static void presence_available(struct c2s *s, mxml_node_t *st)
{
	s->priority = presence_priority(st);
	s->available = 1;
	free(s->last_presence);
	s->last_presence = xml_serialize(st, &s->last_presence_len);
	presence_to_user(s->user, st, NULL);
	if (!s->initial_presence) {
		s->initial_presence = 1;
		presence_siblings_to(s);
		offline_deliver(s);		/* XEP-0160: on initial presence */
	}
}

/* Those who got directed presence and are not the user's own resources. */
static void presence_to_directed(struct c2s *s, mxml_node_t *st)
{
	struct c2s *peer;

	for (struct jidlist *e = s->directed; e != NULL; e = e->next)
		if ((peer = router_find(s->d, e->jid)) != NULL && strcmp(peer->bare, s->bare) != 0)
			(void)router_send(peer, st);
}

static void presence_unavailable(struct c2s *s, mxml_node_t *st)
{
	if (!s->available)
		return;
	presence_to_user(s->user, st, NULL);
	presence_to_directed(s, st);
	presence_free_directed(s);
	s->available = 0;
	free(s->last_presence);
	s->last_presence = NULL;
}

void presence_from_client(struct c2s *s, mxml_node_t *st, const struct jid *to, int has_to)
{
	const char *type = mxmlElementGetAttr(st, "type");

	if (has_to) {
		presence_directed(s, st, to);
		return;
	}
	if (type == NULL)
		presence_available(s, st);
	else if (strcmp(type, "unavailable") == 0)
		presence_unavailable(s, st);
	/* subscription types without 'to', probes and errors: nothing to do */
}

void presence_gone(struct c2s *s)
{
	mxml_node_t *p = xml_elem(NULL, "presence", NULL);

	if (p != NULL) {
		mxmlElementSetAttr(p, "type", "unavailable");
		mxmlElementSetAttr(p, "from", s->full);
		router_unbind(s->d, s);		/* our own stream is ending: not to ourselves */
		presence_to_user(users_get(s->d->users, s->bare), p, NULL);
		presence_to_directed(s, p);
		mxmlDelete(p);
	}
	presence_free_directed(s);
	s->available = 0;
	free(s->last_presence);
	s->last_presence = NULL;
}
