/*
 * The router: the table of online users and the first decision for every stanza a client
 * sends (RFC 6120 section 10, RFC 6121 section 8): stamp 'from', then hand it to the
 * message, presence or iq rules.
 */
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/natterd.h"
#include "store/store.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/router.h"

#define USERS_BUCKETS 4096	/* power of two */

struct users {
	struct user *bucket[USERS_BUCKETS];
};

static unsigned users_slot(const char *bare)
{
	return hash_str(bare) & (USERS_BUCKETS - 1);
}

struct users *users_new(void)
{
	return calloc(1, sizeof(struct users));
}

void users_free(struct users *u)
{
	if (u == NULL)
		return;
	for (unsigned i = 0; i < USERS_BUCKETS; i++) {
		struct user *x, *nx;

		for (x = u->bucket[i]; x != NULL; x = nx) {
			nx = x->hnext;
			free(x->bare);
			free(x);
		}
	}
	free(u);
}

struct user *users_get(struct users *u, const char *bare)
{
	struct user *x;

	for (x = u->bucket[users_slot(bare)]; x != NULL; x = x->hnext)
		if (strcmp(x->bare, bare) == 0)
			return x;
	return NULL;
}

static struct user *users_add(struct users *u, const char *bare)
{
	struct user *x = calloc(1, sizeof(*x));
	unsigned h = users_slot(bare);

	if (x == NULL || (x->bare = strdup(bare)) == NULL) {
		free(x);
		return NULL;
	}
	x->hnext = u->bucket[h];
	u->bucket[h] = x;
	return x;
}

static void users_remove(struct users *u, struct user *x)
{
	struct user **pp = &u->bucket[users_slot(x->bare)];

	while (*pp != x)
		pp = &(*pp)->hnext;
	*pp = x->hnext;
	free(x->bare);
	free(x);
}

struct c2s *router_find(struct natterd *d, const char *full)
{
	const char *slash = strchr(full, '/');
	char bare[STORE_BARE_MAX];
	struct user *u;
	struct c2s *s;

	if (slash == NULL || (size_t)(slash - full) >= sizeof(bare))
		return NULL;
	memcpy(bare, full, (size_t)(slash - full));
	bare[slash - full] = '\0';
	if ((u = users_get(d->users, bare)) == NULL)
		return NULL;
	for (s = u->sessions; s != NULL; s = s->unext)
		if (strcmp(s->full, full) == 0)
			return s;
	return NULL;
}

int router_bind(struct natterd *d, struct c2s *s)
{
	struct c2s *old;
	struct user *u;

	/* Kick first: the old session leaving may free its user entry. */
	if ((old = router_find(d, s->full)) != NULL)
		c2s_stream_error(old, "conflict", "replaced by a new login with this resource");
	if ((u = users_get(d->users, s->bare)) == NULL && (u = users_add(d->users, s->bare)) == NULL)
		return NT_ENOMEM;
	s->user = u;
	s->unext = u->sessions;
	u->sessions = s;
	return NT_OK;
}

void router_unbind(struct natterd *d, struct c2s *s)
{
	struct user *u = s->user;
	struct c2s **pp;

	if (u == NULL)
		return;
	for (pp = &u->sessions; *pp != NULL; pp = &(*pp)->unext) {
		if (*pp == s) {
			*pp = s->unext;
			break;
		}
	}
	s->user = NULL;
	s->unext = NULL;
	if (u->sessions == NULL)
		users_remove(d->users, u);
}

int router_send(struct c2s *s, mxml_node_t *st)
{
	return c2s_send_tree(s, st);
}

int router_account_exists(struct natterd *d, const char *bare)
{
	struct store_txn *t;
	struct account *a;
	int rc;

	if (users_get(d->users, bare) != NULL)
		return 1;
	if ((t = natterd_txn(d)) == NULL || (a = malloc(sizeof(*a))) == NULL)
		return 0;
	rc = store_account_get(t, bare, a);
	free(a);
	return rc == NT_OK;
}

void router_from_client(struct c2s *s, mxml_node_t *st, const char *name)
{
	struct jid to;
	int has_to = stanza_jid(st, "to", &to);

	/* The server, not the client, says who a stanza is from (RFC 6120 8.1.2.1). */
	mxmlElementSetAttr(st, "from", s->full);
	if (has_to < 0) {
		stanza_bounce(s->d, st, "modify", "jid-malformed");
		return;
	}
	if (name[0] == 'p') {
		presence_from_client(s, st, &to, has_to);
		return;
	}
	if (has_to == 0) {
		/* No 'to': addressed to the sender's own account (RFC 6120 10.3). */
		memset(&to, 0, sizeof(to));
		if (jid_parse(&to, s->bare, strlen(s->bare)) != NT_OK)
			return;
	}
	if (name[0] == 'm')
		message_route(s->d, st, &to);
	else
		iq_route(s->d, s, st, &to);
}
