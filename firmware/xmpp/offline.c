/*
 * Offline messages (XEP-0160): a chat or normal message for a user with no available
 * resource is stored with a delay stamp (XEP-0203) and sent, in order and once, when the
 * user next sends initial presence. Storing happens in the turn's write transaction, which
 * is committed before the loop sleeps.
 *
 * A backlog goes out in batches, one per turn while the session's output has drained, each
 * deleted in the turn that hands it to the connection: a backlog of any size arrives whole,
 * and a connection lost halfway leaves what it was not handed in the store.
 */
#include <stdlib.h>
#include <time.h>
#include "core/err.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/natterd.h"
#include "store/store.h"
#include "net/net.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/ns.h"
#include "xmpp/router.h"

#define OFFLINE_LOG_PERIOD_MS 10000	/* refusals in a flood are logged this often */

/* Logs a refused message: a new reason at once, the same one at most once per period (a
 * flood must not flood the log). why is a fixed string. */
static void offline_refused(struct natterd *d, const char *bare, const char *why)
{
	uint64_t now = net_now_ms(d->loop);

	if (why == d->offline_refused_why &&
	    now - d->offline_refused_ms < OFFLINE_LOG_PERIOD_MS)
		return;
	d->offline_refused_ms = now;
	d->offline_refused_why = why;
	log_info("offline: not storing a message for %s: %s", bare, why);
}

/* Whether bare's queue and the store take len more bytes: NT_OK, NT_ELIMIT (the user's
 * share is used up) or NT_EFULL (the store keeps its reserve for accounts and settings).
 * When the map must grow first, the turn's writes are committed and *t is a new
 * transaction. */
static int offline_admit(struct natterd *d, struct store_txn **t, const char *bare, size_t len)
{
	size_t count;
	uint64_t bytes;
	int rc;

	if ((rc = store_offline_usage(*t, bare, &count, &bytes)) != NT_OK)
		return rc;
	if (count >= CONFIG_NT_OFFLINE_MAX) {
		offline_refused(d, bare, "the queue holds CONFIG_NT_OFFLINE_MAX messages");
		return NT_ELIMIT;
	}
	if (bytes + len > (uint64_t)CONFIG_NT_OFFLINE_USER_MAX_KB * 1024) {
		offline_refused(d, bare, "the queue holds CONFIG_NT_OFFLINE_USER_MAX_KB");
		return NT_ELIMIT;
	}
	if ((rc = store_room(*t, len)) == NT_EAGAIN) {
		if (natterd_commit(d) != NT_OK)
			return NT_ESTORE;
		(void)store_grow(d->store);	/* logs; when it cannot, the push will tell */
		if ((*t = natterd_txn(d)) == NULL)
			return NT_ESTORE;
		if ((rc = store_room(*t, len)) == NT_EAGAIN)
			rc = NT_OK;
	}
	if (rc == NT_EFULL)
		offline_refused(d, bare, "the store is full (it keeps its reserve)");
	return rc;
}

/* The map filled up: the turn's other writes are committed, the map grows, and the push is
 * tried once more in a new transaction. */
static int offline_push_grown(struct natterd *d, const char *bare, const char *xml, size_t len)
{
	struct store_txn *t;
	int rc;

	if (natterd_commit(d) != NT_OK || (rc = store_grow(d->store)) != NT_OK ||
	    (t = natterd_txn(d)) == NULL) {
		offline_refused(d, bare, "the store is full and cannot grow");
		return NT_EFULL;
	}
	return store_offline_push(t, bare, xml, len);
}

int offline_store(struct natterd *d, const char *bare, mxml_node_t *st)
{
	struct store_txn *t = natterd_txn(d);
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	mxml_node_t *delay;
	size_t len;
	char *xml;
	int rc;

	if (t == NULL)
		return NT_ESTORE;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((delay = xml_elem(st, "delay", NS_DELAY)) == NULL)
		return NT_ENOMEM;
	mxmlElementSetAttr(delay, "from", d->domain);
	mxmlElementSetAttr(delay, "stamp", stamp);
	xml = xml_serialize(st, &len);
	mxmlDelete(delay);
	if (xml == NULL)
		return NT_ENOMEM;
	if ((rc = offline_admit(d, &t, bare, len)) == NT_OK &&
	    (rc = store_offline_push(t, bare, xml, len)) == NT_EFULL)
		rc = offline_push_grown(d, bare, xml, len);
	free(xml);
	return rc;
}

/* A batch: about this many bytes of stored messages per session and turn, sent only while
 * less than the low water mark is queued for it. Both are an eighth of what a connection may
 * queue, so a backlog never comes near CONFIG_NT_OUTBUF_MAX (past which the connection is
 * dropped) however large it is. */
#define OFFLINE_BATCH_BYTES ((size_t)CONFIG_NT_OUTBUF_MAX / 8)
#define OFFLINE_LOW_WATER   ((size_t)CONFIG_NT_OUTBUF_MAX / 8)

struct offline_batch {
	struct c2s *s;
	size_t bytes;
};

static int offline_send_one(const char *xml, size_t n, void *arg)
{
	struct offline_batch *b = arg;

	if (b->bytes > 0 && b->bytes + n > OFFLINE_BATCH_BYTES)
		return 1;			/* the next batch; it stays stored until then */
	if (c2s_send_raw(b->s, xml, n) != NT_OK)
		return 1;			/* not handed over: it stays stored */
	b->bytes += n;
	return 0;
}

static size_t offline_queued(const struct c2s *s)
{
	return s->out.len + net_outq(s->conn);
}

void offline_deliver(struct c2s *s)
{
	if (s->offline_queued)
		return;
	s->offline_queued = 1;
	s->offline_next = s->d->offlineq;
	s->d->offlineq = s;
}

void offline_cancel(struct c2s *s)
{
	struct c2s **pp;

	if (!s->offline_queued)
		return;
	for (pp = &s->d->offlineq; *pp != s; pp = &(*pp)->offline_next)
		;
	*pp = s->offline_next;
	s->offline_next = NULL;
	s->offline_queued = 0;
}

/* One batch for s: 0 when its queue is empty now, 1 when more waits. */
static int offline_batch(struct c2s *s, struct store_txn *t)
{
	struct offline_batch b = { s, 0 };
	int rc = store_offline_take(t, s->bare, offline_send_one, &b);

	if (rc == 0)
		return 0;
	if (rc < 0) {
		/* Those sent this turn stay stored too: they come again at the next login. */
		log_err(C2S_LOG " offline messages for %s could not be read", s->id, s->bare);
		return 0;
	}
	return 1;
}

void offline_pump(struct natterd *d)
{
	struct c2s **pp = &d->offlineq, *s;
	struct store_txn *t;

	while ((s = *pp) != NULL) {
		if (offline_queued(s) >= OFFLINE_LOW_WATER) {
			pp = &s->offline_next;		/* again when its output drains */
			continue;
		}
		if ((t = natterd_txn(d)) != NULL && offline_batch(s, t) != 0) {
			pp = &s->offline_next;
			continue;
		}
		*pp = s->offline_next;
		s->offline_next = NULL;
		s->offline_queued = 0;
	}
}

int offline_stalled(struct natterd *d)
{
	for (struct c2s *s = d->offlineq; s != NULL; s = s->offline_next)
		if (net_outq(s->conn) == 0)
			return 1;
	return 0;
}
