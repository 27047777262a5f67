#ifndef NATTER_XMPP_C2S_H
#define NATTER_XMPP_C2S_H
/*
 * Client-to-server streams (RFC 6120): negotiation (STARTTLS, SASL, bind), then stanzas go to
 * the router. The struct is shared by the xmpp/ modules; nothing outside xmpp/ and core/
 * looks inside.
 */
#include <stddef.h>
#include <stdint.h>
#include <mxml.h>
#include "core/buf.h"
#include "xmpp/scram.h"

struct natterd;
struct net_conn;
struct tls_conn;
struct xml_framer;
struct user;
struct jidlist;

#define C2S_CRED_TAG_LEN 8	/* bytes of credcheck.h's tag: enough to notice a change */

enum c2s_state {
	C2S_TLS_HANDSHAKE,	/* direct TLS or after <proceed/>: handshake running */
	C2S_WAIT_HEADER,	/* waiting for the client's stream header */
	C2S_NEGOTIATE,		/* header done: STARTTLS / SASL / bind per the flags below */
	C2S_SASL_SCRAM,		/* sent a SCRAM challenge, waiting for the response */
	C2S_SASL_DELAY,		/* a failed login's answer is being held back */
	C2S_BOUND,		/* a resource is bound: stanzas flow */
	C2S_CLOSED,		/* stream ended; waiting for the loop to reap the connection */
};

struct c2s {
	struct natterd *d;
	struct net_conn *conn;
	struct tls_conn *tls;
	struct xml_framer *fr;
	enum c2s_state state;
	unsigned secure : 1;		/* TLS is up */
	unsigned authed : 1;		/* SASL succeeded */
	unsigned header_sent : 1;	/* our stream header went out */
	unsigned available : 1;		/* sent available presence */
	unsigned initial_presence : 1;	/* offline messages were offered */
	unsigned restart_pending : 1;	/* reset the framer after the current element */
	unsigned preauth : 1;		/* counted as not logged in (natterd's npreauth) */
	unsigned authed_counted : 1;	/* counted as logged in from its address */
	unsigned flush_queued : 1;	/* on natterd's flush list */
	unsigned offline_queued : 1;	/* stored messages wait for room in the output */
	unsigned cred_tagged : 1;	/* cred_tag is set */
	int priority;
	unsigned long id;
	uint64_t started_ms, last_rx_ms;
	uint64_t last_io_ms;		/* last byte either way, for releasing TLS buffers */
	uint32_t ping_sent;		/* id of our outstanding keepalive ping, or 0 */
	char *bare;			/* "user@domain" after SASL */
	char *full;			/* "user@domain/resource" after bind */
	struct scram_server *scram;
	char *last_presence;		/* the last available presence broadcast, as XML */
	size_t last_presence_len;
	struct jidlist *directed;	/* who got directed presence from us */
	struct user *user;
	struct buf out;			/* plaintext queued this turn, sent before sleeping */
	struct c2s *flush_next;		/* natterd's list of sessions with output queued */
	struct c2s *offline_next;	/* natterd's list of such sessions */
	struct c2s *next, *prev;	/* natterd's list */
	struct c2s *unext;		/* the user's resources */
	struct net_timer *delay_timer;
	int sasl_mech;			/* mechanism waiting for its initial response */
	uint8_t cred_tag[C2S_CRED_TAG_LEN];	/* credcheck.h: the credentials it logged in with */
};

/* Accept callbacks for the listeners (arg is the struct natterd). */
void c2s_accept_starttls(struct net_conn *c, void *arg);
void c2s_accept_direct_tls(struct net_conn *c, void *arg);

/* Serialises t and sends it; does not free t. NT_OK or the write error. */
int  c2s_send_tree(struct c2s *s, mxml_node_t *t);
/* Queues bytes as they are. Everything queued for a session in one loop turn leaves as one
 * TLS record and one write, after the turn's store commit (c2s_flush_all). */
int  c2s_send_raw(struct c2s *s, const char *p, size_t n);
/* Sends what every session queued this turn (the loop's before-sleep hook calls it). */
void c2s_flush_all(struct natterd *d);
/* Ends the stream with a stream error (condition from RFC 6120 4.9.3, text optional). */
void c2s_stream_error(struct c2s *s, const char *condition, const char *text);
/* Ends the stream cleanly with </stream:stream>. */
void c2s_close(struct c2s *s);
/* Every tick: handshake/idle timeouts, keepalive pings, and releasing idle sessions' TLS
 * buffers. Returns how many sessions released them. */
unsigned c2s_sweep(struct natterd *d);
/* The log prefix, e.g. "c2s#12". */
#define C2S_LOG "c2s#%lu"

/* sasl.c: handles <auth>, <response>, <abort> (SASL namespace) before authentication. */
void sasl_handle(struct c2s *s, mxml_node_t *el, const char *name);
/* The <mechanisms/> feature for s, and XEP-0440's channel binding types. */
void sasl_add_mechanisms(struct c2s *s, mxml_node_t *features);
/* The failed-login tables in d (d->opt.login_fail_keys entries each, 0: Kconfig).
 * NT_OK or NT_ENOMEM; sasl_limits_free() is NULL-safe and undoes a half-made set. */
int  sasl_limits_new(struct natterd *d);
void sasl_limits_free(struct natterd *d);
#endif
