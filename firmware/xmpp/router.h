#ifndef NATTER_XMPP_ROUTER_H
#define NATTER_XMPP_ROUTER_H
/*
 * The router: who is online (bare JID -> bound resources) and where a stanza goes.
 * Stanzas reaching it have 'from' stamped with the sender's full JID.
 */
#include <mxml.h>
#include "xmpp/jid.h"

struct natterd;
struct c2s;
struct users;

struct user {
	char *bare;
	struct c2s *sessions;		/* bound resources, newest first */
	struct user *hnext;
};

struct users *users_new(void);
void users_free(struct users *u);			/* NULL-safe; sessions are not freed */
struct user *users_get(struct users *u, const char *bare);	/* NULL when nobody is online */

/* Registers s (s->full set) as a bound resource. A session already bound to the same full
 * JID is ended with a conflict stream error. NT_OK or NT_ENOMEM. */
int  router_bind(struct natterd *d, struct c2s *s);
/* Removes s from the online table (idempotent). */
void router_unbind(struct natterd *d, struct c2s *s);
/* The bound session with this full JID, or NULL. */
struct c2s *router_find(struct natterd *d, const char *full);

/* A stanza from a bound client session: stamps 'from', then delivers, stores or answers it.
 * Does not free st. name is the stanza's local name (message, presence, iq). */
void router_from_client(struct c2s *s, mxml_node_t *st, const char *name);
/* Sends st to session s (used for every delivery). Does not free st. */
int  router_send(struct c2s *s, mxml_node_t *st);
/* 1 when bare is an account on this server. */
int  router_account_exists(struct natterd *d, const char *bare);

/* message.c */
void message_route(struct natterd *d, mxml_node_t *st, const struct jid *to);
/* presence.c */
void presence_from_client(struct c2s *s, mxml_node_t *st, const struct jid *to, int has_to);
/* Broadcasts unavailable for a session going away that was available. */
void presence_gone(struct c2s *s);
/* Frees the session's directed-presence list. */
void presence_free_directed(struct c2s *s);
/* iq.c: an iq addressed to the server or to the sender's own account. */
void iq_to_server(struct c2s *s, mxml_node_t *st, const struct jid *to);
void iq_route(struct natterd *d, struct c2s *from, mxml_node_t *st, const struct jid *to);
/* offline.c */
/* Stores a message for bare; NT_ELIMIT when the user's queue is full (count or bytes),
 * NT_EFULL when the store is (it keeps a reserve, and grows when its map fills). May commit
 * the turn's transaction early: callers hold no transaction across it. */
int  offline_store(struct natterd *d, const char *bare, mxml_node_t *st);
/* Sends s everything stored for its user, in order and once: batch by batch, each when the
 * session's output has drained (offline_pump), so that no backlog overflows the output queue.
 * A message leaves the store in the turn it is handed to the connection. */
void offline_deliver(struct c2s *s);
/* Once per turn, before the commit: the next batch for each waiting session whose output
 * has drained below OFFLINE_LOW_WATER. */
void offline_pump(struct natterd *d);
/* After the turn's flush: 1 when a session still waits with nothing queued, so that no
 * output event will bring the loop back for it (the loop must not sleep). */
int  offline_stalled(struct natterd *d);
/* s is ending: it receives no more stored messages (what was not sent stays stored). */
void offline_cancel(struct c2s *s);

/* stanza.c */
/* Answers st to its sender with an error (type: cancel, modify, auth, wait). Never answers an
 * error with an error. */
void stanza_bounce(struct natterd *d, mxml_node_t *st, const char *type, const char *cond);
/* Parses attribute attr of st as a JID; 0 when absent, 1 when parsed, -1 when malformed. */
int  stanza_jid(mxml_node_t *st, const char *attr, struct jid *out);
/* The first child element of el (skipping text), or NULL. */
mxml_node_t *stanza_first_child(mxml_node_t *el);
#endif
