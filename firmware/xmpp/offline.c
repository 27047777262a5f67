/*
 * Offline messages (XEP-0160): a chat or normal message for a user with no available
 * resource is stored with a delay stamp (XEP-0203) and sent, in order and once, when the
 * user next sends initial presence. Storing happens in the turn's write transaction, which
 * is committed before the loop sleeps.
 */
#include <stdlib.h>
#include <time.h>
#include "core/err.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/natterd.h"
#include "store/store.h"
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

static int offline_send_one(const char *xml, size_t n, void *arg)
{
	struct c2s *s = arg;

	return c2s_send_raw(s, xml, n) == NT_OK ? 0 : 1;
}

void offline_deliver(struct c2s *s)
{
	struct store_txn *t = natterd_txn(s->d);

	if (t == NULL)
		return;
	if (store_offline_take(t, s->bare, offline_send_one, s) != NT_OK) {
		log_err(C2S_LOG " offline messages for %s could not be read", s->id, s->bare);
		return;
	}
	/* Forget them now: a message must not come back at the next login. */
	(void)natterd_commit(s->d);
}
