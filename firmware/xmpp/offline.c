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

int offline_store(struct natterd *d, const char *bare, mxml_node_t *st)
{
	struct store_txn *t = natterd_txn(d);
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	mxml_node_t *delay;
	size_t count, len;
	char *xml;
	int rc;

	if (t == NULL)
		return NT_ESTORE;
	if ((rc = store_offline_count(t, bare, &count)) != NT_OK)
		return rc;
	if (count >= CONFIG_NT_OFFLINE_MAX) {
		log_info("offline: queue of %s is full (%zu)", bare, count);
		return NT_ELIMIT;
	}
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
	rc = store_offline_push(t, bare, xml, len);
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
