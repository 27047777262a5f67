/*
 * SASL (RFC 6120 section 6) on a secure, unauthenticated stream: SCRAM-SHA-256(-PLUS),
 * SCRAM-SHA-1(-PLUS) and PLAIN (only ever offered inside TLS). The -PLUS variants bind the
 * exchange to this TLS connection (RFC 5929 tls-server-end-point always; RFC 9266
 * tls-exporter where the handshake allows it), so a man in the middle is caught even behind a
 * certificate warning someone clicked through; XEP-0440 lists the types in the features.
 *
 * Password guessing. A login counts as failed from the moment it starts (a success takes it
 * back), per address (and for IPv6 per /64 as well), per account and for the whole box, so
 * parallel connections cannot get ahead of the count. Before any work on an exchange:
 *  - an address with CONFIG_NT_LOGIN_FAIL_SOURCE_LIMIT failures is refused, and so is an
 *    IPv6 /64 with CONFIG_NT_LOGIN_FAIL_NET_LIMIT (a guesser may use all its addresses);
 *  - an address with a failure of its own (for IPv6: of its /64) is refused for an account
 *    that has CONFIG_NT_LOGIN_FAIL_ACCOUNT_LIMIT, and for every account while the box has
 *    CONFIG_NT_LOGIN_FAIL_GLOBAL_LIMIT. An address with a clean record is always answered,
 *    so an account's owner gets in while someone guesses from elsewhere.
 * A refused login gets <temporary-auth-failure/> at once (clients report it and try again
 * later) and costs no key derivation. Answers to failures past CONFIG_NT_LOGIN_FAIL_LIMIT are
 * still held back on their connection, doubling up to SASL_DELAY_MAX_MS. Counts go once
 * nothing failed for CONFIG_NT_LOGIN_FAIL_WINDOW_S; refusals do not renew them, so a client
 * that keeps retrying does not lock its owner out for good. Tables keep counts above one
 * failure, so random names cannot flush them; refusals are logged once per address per window.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/platform_util.h>
#include "core/addrkey.h"
#include "core/base64.h"
#include "core/err.h"
#include "core/kconfig.h"
#include "core/keycount.h"
#include "core/log.h"
#include "core/natterd.h"
#include "net/net.h"
#include "store/store.h"
#include "tls/tls.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/credcheck.h"
#include "xmpp/ns.h"

#define NS_SASL_CB "urn:xmpp:sasl-cb:0"	/* XEP-0440 */
#define SASL_DELAY_BASE_MS 500
#define SASL_DELAY_MAX_MS 8000
#define SASL_B64_MAX (SCRAM_MSG_MAX * 4 / 3 + 8)
#define SASL_SRC_MAX 64			/* a numeric address as net_peer_addr() gives it */
#define SASL_BOX_KEY "box"			/* the one key of d->authlimit_all */
#define SASL_LOG_KEY "log "			/* + source: its refusal was logged */
#define SASL_KEEP 2			/* counts the failure tables never evict (keycount.h) */
#define SASL_WINDOW_MS (CONFIG_NT_LOGIN_FAIL_WINDOW_S * 1000ull)

enum sasl_mech { MECH_NONE, MECH_SCRAM, MECH_PLAIN };

static const struct {
	const char *name;
	enum sasl_mech mech;
	enum scram_hash hash;
	int plus;			/* -PLUS: channel binding, offered only inside TLS */
} mechs[] = {
	{ "SCRAM-SHA-256-PLUS", MECH_SCRAM, SCRAM_SHA_256, 1 },
	{ "SCRAM-SHA-1-PLUS",   MECH_SCRAM, SCRAM_SHA_1,   1 },
	{ "SCRAM-SHA-256",      MECH_SCRAM, SCRAM_SHA_256, 0 },
	{ "SCRAM-SHA-1",        MECH_SCRAM, SCRAM_SHA_1,   0 },
	{ "PLAIN",              MECH_PLAIN, SCRAM_SHA_256, 0 },
};
#define SASL_NMECHS (sizeof(mechs) / sizeof(mechs[0]))

int sasl_limits_new(struct natterd *d)
{
	unsigned keys = d->opt.login_fail_keys ? d->opt.login_fail_keys : CONFIG_NT_LOGIN_FAIL_KEYS;

	d->authlimit = keycount_new(keys, SASL_WINDOW_MS);
	d->authlimit_src = keycount_new(keys, SASL_WINDOW_MS);
	d->authlimit_all = keycount_new(1, SASL_WINDOW_MS);
	if (d->authlimit == NULL || d->authlimit_src == NULL || d->authlimit_all == NULL)
		return NT_ENOMEM;
	keycount_keep(d->authlimit, SASL_KEEP);
	keycount_keep(d->authlimit_src, SASL_KEEP);
	return NT_OK;
}

void sasl_limits_free(struct natterd *d)
{
	keycount_free(d->authlimit);
	keycount_free(d->authlimit_src);
	keycount_free(d->authlimit_all);
	d->authlimit = d->authlimit_src = d->authlimit_all = NULL;
}

/* What this connection can bind to: NULL outside TLS (never offered -PLUS there). */
static const struct scram_cb *sasl_cb(struct c2s *s, int plus, struct scram_cb *cb)
{
	struct scram_cb_data *sep = &cb->data[SCRAM_CB_SERVER_END_POINT][0];
	size_t len;

	if (s->tls == NULL)
		return NULL;
	memset(cb, 0, sizeof(*cb));
	cb->offered = 1;
	cb->plus = plus;
	if (tls_cb_server_end_point(s->tls, sep->data, sizeof(sep->data), &len) == NT_OK)
		sep->len = (uint8_t)len;
	for (int v = 0; v < SCRAM_CB_ALTS; v++) {
		struct scram_cb_data *ex = &cb->data[SCRAM_CB_EXPORTER][v];

		if (tls_cb_exporter(s->tls, v, ex->data) == NT_OK)
			ex->len = 32;
	}
	return cb;
}

void sasl_add_mechanisms(struct c2s *s, mxml_node_t *features)
{
	mxml_node_t *m = xml_elem(features, "mechanisms", NS_SASL), *cbe;
	struct scram_cb cb;
	const struct scram_cb *have = sasl_cb(s, 0, &cb);

	for (size_t i = 0; i < SASL_NMECHS; i++)
		if (!mechs[i].plus || have != NULL)
			xml_add_text(xml_elem(m, "mechanism", NULL), mechs[i].name);
	if (have == NULL)
		return;
	cbe = xml_elem(features, "sasl-channel-binding", NS_SASL_CB);
	for (int t = 0; t < SCRAM_CB_TYPES; t++)
		if (have->data[t][0].len > 0)
			mxmlElementSetAttr(xml_elem(cbe, "channel-binding", NULL), "type",
					   scram_cb_name((enum scram_cb_type)t));
}

/* Forgets a SCRAM exchange, wiping its keys. */
static void sasl_scram_drop(struct c2s *s)
{
	if (s->scram == NULL)
		return;
	scram_server_clear(s->scram);
	free(s->scram);
	s->scram = NULL;
}

static void sasl_send(struct c2s *s, const char *name, const char *b64)
{
	char buf[SASL_B64_MAX + 128];
	int n;

	if (b64 == NULL || b64[0] == '\0')
		n = snprintf(buf, sizeof(buf), "<%s xmlns='" NS_SASL "'/>", name);
	else
		n = snprintf(buf, sizeof(buf), "<%s xmlns='" NS_SASL "'>%s</%s>", name, b64, name);
	(void)c2s_send_raw(s, buf, (size_t)n);
}

static void sasl_send_data(struct c2s *s, const char *name, const char *data)
{
	char b64[SASL_B64_MAX];
	size_t len;

	if (base64_encode((const uint8_t *)data, strlen(data), b64, sizeof(b64), &len) != NT_OK) {
		c2s_stream_error(s, "internal-server-error", NULL);
		return;
	}
	sasl_send(s, name, b64);
}

static void sasl_send_failure_text(struct c2s *s, const char *cond, const char *text)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "<failure xmlns='" NS_SASL "'><%s/>%s%s%s</failure>",
			 cond, text ? "<text xml:lang='en'>" : "", text ? text : "",
			 text ? "</text>" : "");

	(void)c2s_send_raw(s, buf, (size_t)n);
	if (s->state != C2S_CLOSED)
		s->state = C2S_NEGOTIATE;
}

static void sasl_send_failure(struct c2s *s, const char *cond)
{
	sasl_send_failure_text(s, cond, NULL);
}

/* Where a login comes from: its address, and for IPv6 its /64 too (addrkey_from), whose
 * addresses a guesser can take in turn. Each address has CONFIG_NT_LOGIN_FAIL_SOURCE_LIMIT
 * failures; a /64 together has CONFIG_NT_LOGIN_FAIL_NET_LIMIT, so that one misconfigured
 * client that keeps retrying an old password does not shut out a whole office on IPv6. */
struct sasl_src {
	char addr[SASL_SRC_MAX];
	char net[ADDRKEY_MAX];
	int v6;				/* net is a /64, not addr again */
};

static void sasl_source(struct c2s *s, struct sasl_src *src)
{
	addrkey_from(net_peer_addr(s->conn), src->net);
	src->v6 = strchr(src->net, '/') != NULL;
	/* IPv4, also when mapped into IPv6, counts by its key: one address either way. */
	snprintf(src->addr, sizeof(src->addr), "%s", src->v6 ? net_peer_addr(s->conn) : src->net);
}

/* Whether a login from src (for bare, when known) must be refused before any work: see the
 * top of the file. Answers the refusal itself, logging it once per source per window. */
static int sasl_refused(struct c2s *s, const struct sasl_src *src, const char *bare)
{
	struct natterd *d = s->d;
	uint64_t now = net_now_ms(d->loop);
	long by_addr = keycount_get(d->authlimit_src, src->addr, now);
	long by_src = src->v6 ? keycount_get(d->authlimit_src, src->net, now) : by_addr;
	const char *why = NULL;
	char logkey[sizeof(SASL_LOG_KEY) + SASL_SRC_MAX];

	if (by_addr >= CONFIG_NT_LOGIN_FAIL_SOURCE_LIMIT)
		why = "from this address";
	else if (src->v6 && by_src >= CONFIG_NT_LOGIN_FAIL_NET_LIMIT)
		why = "from this /64";
	else if (by_src > 0 && keycount_get(d->authlimit_all, SASL_BOX_KEY, now) >=
		 CONFIG_NT_LOGIN_FAIL_GLOBAL_LIMIT)
		why = "on the box";
	else if (by_src > 0 && bare != NULL &&
		 keycount_get(d->authlimit, bare, now) >= CONFIG_NT_LOGIN_FAIL_ACCOUNT_LIMIT)
		why = "for this account";
	if (why == NULL)
		return 0;
	snprintf(logkey, sizeof(logkey), SASL_LOG_KEY "%s", src->net);
	if (keycount_get(d->authlimit_src, logkey, now) == 0) {
		/* Counted once, never renewed: the next line comes a window later. */
		keycount_add(d->authlimit_src, logkey, 1, now);
		log_info(C2S_LOG " refusing logins from %s%s%s: too many failed logins %s",
			 s->id, src->net, bare ? " for " : "", bare ? bare : "", why);
	}
	sasl_scram_drop(s);
	sasl_send_failure_text(s, "temporary-auth-failure",
			       "too many failed logins; try again later");
	return 1;
}

/* Counts a login as failed as it starts (delta 1); see sasl_limits_succeeded. */
static void sasl_charge(struct c2s *s, const struct sasl_src *src, const char *bare)
{
	struct natterd *d = s->d;
	uint64_t now = net_now_ms(d->loop);

	keycount_add(d->authlimit_src, src->addr, 1, now);
	if (src->v6)
		keycount_add(d->authlimit_src, src->net, 1, now);
	keycount_add(d->authlimit_all, SASL_BOX_KEY, 1, now);
	if (bare != NULL)
		keycount_add(d->authlimit, bare, 1, now);
}

/* A success takes back its own charge (without renewing the address's window) and clears
 * the account's count. */
static void sasl_limits_succeeded(struct natterd *d, struct c2s *s, const char *bare)
{
	uint64_t now = net_now_ms(d->loop);
	struct sasl_src src;

	sasl_source(s, &src);
	keycount_add_untouched(d->authlimit_src, src.addr, -1, now);
	if (src.v6)
		keycount_add_untouched(d->authlimit_src, src.net, -1, now);
	keycount_add_untouched(d->authlimit_all, SASL_BOX_KEY, -1, now);
	keycount_del(d->authlimit, bare);
}

static void sasl_delay_done(struct net_loop *l, void *arg)
{
	struct c2s *s = arg;

	(void)l;
	s->delay_timer = NULL;
	sasl_send_failure(s, "not-authorized");
}

/* A wrong password or unknown user (already counted as it started): answer now, or after a
 * delay once the address or the account has failed often. */
static void sasl_failed(struct c2s *s, const char *bare)
{
	struct natterd *d = s->d;
	uint64_t now = net_now_ms(d->loop);
	struct sasl_src src;
	long by_src, by_user, worst;
	uint32_t delay;

	sasl_source(s, &src);
	by_src = keycount_get(d->authlimit_src, src.addr, now);
	by_user = bare != NULL ? keycount_get(d->authlimit, bare, now) : 0;
	worst = by_src > by_user ? by_src : by_user;
	log_info(C2S_LOG " login failed for %s from %s", s->id, bare ? bare : "?",
		 net_peer_addr(s->conn));
	sasl_scram_drop(s);
	if (worst <= CONFIG_NT_LOGIN_FAIL_LIMIT) {
		sasl_send_failure(s, "not-authorized");
		return;
	}
	delay = SASL_DELAY_BASE_MS;
	for (long i = CONFIG_NT_LOGIN_FAIL_LIMIT; i < worst && delay < SASL_DELAY_MAX_MS; i++)
		delay *= 2;
	if (delay > SASL_DELAY_MAX_MS)
		delay = SASL_DELAY_MAX_MS;
	s->state = C2S_SASL_DELAY;
	if ((s->delay_timer = net_timer_add(d->loop, delay, sasl_delay_done, s)) == NULL)
		sasl_send_failure(s, "not-authorized");
}

static void sasl_succeeded(struct c2s *s, const char *bare, const char *final_msg)
{
	struct natterd *d = s->d;

	sasl_limits_succeeded(d, s, bare);
	if ((s->bare = strdup(bare)) == NULL) {
		c2s_stream_error(s, "internal-server-error", NULL);
		return;
	}
	if (final_msg != NULL)
		sasl_send_data(s, "success", final_msg);
	else
		sasl_send(s, "success", NULL);
	sasl_scram_drop(s);
	s->authed = 1;
	s->restart_pending = 1;
	(void)credcheck_remember(s);	/* untagged, it ends at the next account change */
	log_info(C2S_LOG " %s authenticated from %s", s->id, bare, net_peer_addr(s->conn));
}

/* Decodes the element's base64 text ("=" is an empty payload). NT_EINVAL when malformed. */
static int sasl_payload(mxml_node_t *el, char *out, size_t cap, size_t *len)
{
	char b64[SASL_B64_MAX];
	size_t n = xml_text(el, b64, sizeof(b64));

	*len = 0;
	if (n >= sizeof(b64))
		return NT_ELIMIT;
	if (n == 0 || (n == 1 && b64[0] == '='))
		return NT_OK;
	if (base64_decode(b64, n, (uint8_t *)out, cap - 1, len) != NT_OK)
		return NT_EINVAL;
	out[*len] = '\0';
	return NT_OK;
}

/* The credentials to check a login for bare against: the account's, or for a name with no
 * account the fake ones made from d->secret, so that both cost the same and answer alike.
 * *known says which. NT_OK, or NT_ESTORE when the store fails. */
static int sasl_creds(struct c2s *s, const char *bare, enum scram_hash h, struct account *a,
                      struct scram_creds **c, int *known)
{
	struct store_txn *t = natterd_txn(s->d);
	int rc = t != NULL ? store_account_get(t, bare, a) : NT_ESTORE;

	*c = h == SCRAM_SHA_256 ? &a->sha256 : &a->sha1;
	*known = rc == NT_OK;
	if (rc == NT_ENOENT)
		scram_creds_fake(h, bare, s->d->secret, sizeof(s->d->secret),
				 CONFIG_NT_SCRAM_ITERATIONS, *c);
	return rc == NT_OK || rc == NT_ENOENT ? NT_OK : NT_ESTORE;
}

/* The account a SASL username names. The username is a localpart (RFC 6120 6.3.8); some
 * clients send their bare JID instead, which is accepted for this domain. */
static int sasl_bare(struct c2s *s, const char *user, size_t n, char *bare, size_t cap)
{
	char local[JID_PART_MAX + 1];
	const char *at = memchr(user, '@', n);

	if (at != NULL) {
		struct jid *j = malloc(sizeof(*j));
		int ok = j != NULL && jid_parse(j, user, n) == NT_OK && j->resource[0] == '\0' &&
			 strcmp(j->domain, s->d->domain) == 0;

		free(j);
		if (!ok)
			return NT_EINVAL;
		n = (size_t)(at - user);
	}
	if (jid_prep_local(local, sizeof(local), user, n) != NT_OK || local[0] == '\0')
		return NT_EINVAL;
	if ((size_t)snprintf(bare, cap, "%s@%s", local, s->d->domain) >= cap)
		return NT_ELIMIT;
	return NT_OK;
}

/* The password check for PLAIN: one PBKDF2 whether or not the account exists. */
static int sasl_plain_check(struct c2s *s, const char *bare, const char *pass, size_t pass_len)
{
	struct account *a = malloc(sizeof(*a));
	struct scram_creds *c;
	int known, rc;

	if (a == NULL)
		return NT_ENOMEM;
	rc = sasl_creds(s, bare, SCRAM_SHA_256, a, &c, &known);
	if (rc == NT_OK) {
		rc = scram_check_password(SCRAM_SHA_256, c, pass, pass_len);
		log_debug(C2S_LOG " plain: password checked (%lu iterations)", s->id,
			  (unsigned long)c->iterations);
		if (rc == NT_OK && !known)
			rc = NT_EAUTH;		/* a fake account never lets anyone in */
	}
	mbedtls_platform_zeroize(a, sizeof(*a));
	free(a);
	return rc;
}

static void sasl_plain(struct c2s *s, const char *msg, size_t n)
{
	const char *authz, *authc, *pass;
	size_t authz_len, authc_len, pass_len;
	char bare[STORE_BARE_MAX], zbare[STORE_BARE_MAX];
	struct sasl_src src;
	int rc;

	if (sasl_plain_parse(msg, n, &authz, &authz_len, &authc, &authc_len, &pass,
			     &pass_len) != NT_OK) {
		sasl_send_failure(s, "malformed-request");
		return;
	}
	sasl_source(s, &src);
	if (sasl_bare(s, authc, authc_len, bare, sizeof(bare)) != NT_OK) {
		if (!sasl_refused(s, &src, NULL)) {
			sasl_charge(s, &src, NULL);
			sasl_failed(s, NULL);
		}
		return;
	}
	if (authz_len > 0) {
		struct jid j;

		if (jid_parse(&j, authz, authz_len) != NT_OK ||
		    jid_bare(&j, zbare, sizeof(zbare)) != NT_OK || strcmp(zbare, bare) != 0) {
			sasl_send_failure(s, "invalid-authzid");
			return;
		}
	}
	if (sasl_refused(s, &src, bare))
		return;
	sasl_charge(s, &src, bare);
	rc = sasl_plain_check(s, bare, pass, pass_len);
	if (rc == NT_OK)
		sasl_succeeded(s, bare, NULL);
	else if (rc == NT_ESTORE || rc == NT_ENOMEM)
		sasl_send_failure(s, "temporary-auth-failure");
	else
		sasl_failed(s, bare);
}

static void sasl_scram_first(struct c2s *s, size_t mech, const char *msg, size_t n)
{
	char user[JID_PART_MAX + 1], bare[STORE_BARE_MAX], out[SCRAM_MSG_MAX];
	struct sasl_src src;
	enum scram_hash h = mechs[mech].hash;
	struct account *a = NULL;
	struct scram_creds *c;
	struct scram_cb cb;
	int rc, known;

	if ((s->scram = calloc(1, sizeof(*s->scram))) == NULL) {
		sasl_send_failure(s, "temporary-auth-failure");
		return;
	}
	rc = scram_server_start(s->scram, h, sasl_cb(s, mechs[mech].plus, &cb), msg, n, user,
				sizeof(user));
	if (rc == NT_OK && sasl_bare(s, user, strlen(user), bare, sizeof(bare)) != NT_OK)
		rc = NT_EAUTH;
	if (rc != NT_OK) {
		sasl_scram_drop(s);
		sasl_send_failure(s, rc == NT_EAUTH ? "not-authorized" : "malformed-request");
		return;
	}
	sasl_source(s, &src);
	if (sasl_refused(s, &src, bare))
		return;
	sasl_charge(s, &src, bare);
	if ((a = malloc(sizeof(*a))) == NULL ||
	    sasl_creds(s, bare, h, a, &c, &known) != NT_OK ||
	    scram_server_first(s->scram, c, out, sizeof(out)) != NT_OK) {
		free(a);
		sasl_scram_drop(s);
		sasl_send_failure(s, "temporary-auth-failure");
		return;
	}
	mbedtls_platform_zeroize(a, sizeof(*a));
	free(a);
	free(s->bare);
	s->bare = strdup(bare);		/* remembered for the final step only */
	s->state = C2S_SASL_SCRAM;
	sasl_send_data(s, "challenge", out);
}

static void sasl_scram_final(struct c2s *s, const char *msg, size_t n)
{
	char out[SCRAM_MSG_MAX], *bare = s->bare;
	int rc = scram_server_final(s->scram, msg, n, out, sizeof(out));

	s->bare = NULL;
	if (rc == NT_OK && bare != NULL)
		sasl_succeeded(s, bare, out);
	else if (rc == NT_EAUTH)
		sasl_failed(s, bare);		/* a wrong proof, or a binding that differs */
	else
		sasl_send_failure(s, "malformed-request");
	free(bare);
	sasl_scram_drop(s);
}

/* Index into mechs, or SASL_NMECHS. -PLUS only where it was offered (inside TLS). */
static size_t sasl_mech_by_name(struct c2s *s, const char *name)
{
	for (size_t i = 0; name != NULL && i < SASL_NMECHS; i++)
		if (strcmp(mechs[i].name, name) == 0 && (!mechs[i].plus || s->tls != NULL))
			return i;
	return SASL_NMECHS;
}

/* The initial response for mechs[mech]. */
static void sasl_start(struct c2s *s, size_t mech, const char *msg, size_t n)
{
	if (mechs[mech].mech == MECH_PLAIN)
		sasl_plain(s, msg, n);
	else
		sasl_scram_first(s, mech, msg, n);
}

static void sasl_auth(struct c2s *s, mxml_node_t *el)
{
	size_t m = sasl_mech_by_name(s, mxmlElementGetAttr(el, "mechanism"));
	char msg[SCRAM_MSG_MAX + 1];
	struct sasl_src src;
	size_t n;

	if (m == SASL_NMECHS) {
		sasl_send_failure(s, "invalid-mechanism");
		return;
	}
	log_debug(C2S_LOG " sasl %s", s->id, mechs[m].name);
	/* An address already over its limits is refused before anything is parsed. */
	sasl_source(s, &src);
	if (sasl_refused(s, &src, NULL))
		return;
	if (sasl_payload(el, msg, sizeof(msg), &n) != NT_OK) {
		sasl_send_failure(s, "incorrect-encoding");
		return;
	}
	if (n == 0) {
		/* No initial response: ask for it with an empty challenge. */
		s->state = C2S_SASL_SCRAM;
		s->sasl_mech = (int)m + 1;
		sasl_send(s, "challenge", NULL);
		return;
	}
	sasl_start(s, m, msg, n);
}

static void sasl_response(struct c2s *s, mxml_node_t *el)
{
	char msg[SCRAM_MSG_MAX + 1];
	size_t n;
	int m = s->sasl_mech;

	if (sasl_payload(el, msg, sizeof(msg), &n) != NT_OK) {
		sasl_send_failure(s, "incorrect-encoding");
		return;
	}
	if (s->scram != NULL) {
		sasl_scram_final(s, msg, n);
		return;
	}
	/* The answer to our empty challenge: the initial response. */
	s->sasl_mech = 0;
	if (n == 0 || m < 1 || (size_t)m > SASL_NMECHS)
		sasl_send_failure(s, "malformed-request");
	else
		sasl_start(s, (size_t)m - 1, msg, n);
}

void sasl_handle(struct c2s *s, mxml_node_t *el, const char *name)
{
	if (s->state == C2S_SASL_DELAY) {
		c2s_stream_error(s, "policy-violation", "wait for the answer to your login");
		return;
	}
	if (strcmp(name, "auth") == 0 && s->state == C2S_NEGOTIATE)
		sasl_auth(s, el);
	else if (strcmp(name, "response") == 0 && s->state == C2S_SASL_SCRAM)
		sasl_response(s, el);
	else if (strcmp(name, "abort") == 0 && s->state == C2S_SASL_SCRAM) {
		sasl_scram_drop(s);
		free(s->bare);
		s->bare = NULL;
		s->sasl_mech = 0;
		sasl_send_failure(s, "aborted");
	} else
		c2s_stream_error(s, "policy-violation", "unexpected SASL element");
}
