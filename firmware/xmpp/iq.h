#ifndef NATTER_XMPP_IQ_H
#define NATTER_XMPP_IQ_H
/* Server-side iq handlers, one per payload, dispatched from iq.c's table. */
#include <mxml.h>

struct c2s;
struct jid;

/* A handler answers iq (from session s, addressed to 'to', the server or the sender's own
 * account) whose payload is q. It sends a result or an error; it does not free iq. */
typedef void iq_handler_fn(struct c2s *s, mxml_node_t *iq, mxml_node_t *q, const struct jid *to);

/* A result iq for iq (swapped addresses, same id); the caller adds a payload and sends it
 * with iq_send(). NULL when out of memory. */
mxml_node_t *iq_result(struct c2s *s, mxml_node_t *iq);
/* Sends r to s and frees r. */
void iq_send(struct c2s *s, mxml_node_t *r);

iq_handler_fn disco_info;
iq_handler_fn disco_items;
#endif
