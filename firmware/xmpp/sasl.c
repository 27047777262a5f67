/*
 * SASL (RFC 6120 section 6) on a secure, unauthenticated stream: SCRAM-SHA-256, SCRAM-SHA-1,
 * and PLAIN (only ever offered inside TLS). Failed logins are counted per IP address and per
 * account; past CONFIG_NT_LOGIN_FAIL_LIMIT each failure answer is held back, doubling up to
 * SASL_DELAY_MAX_MS, so guessing passwords gets slow without locking anyone out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/base64.h"
#include "core/err.h"
#include "core/kconfig.h"
#include "core/keycount.h"
#include "core/log.h"
#include "core/natterd.h"
#include "net/net.h"
#include "store/store.h"
#include "xml/xml.h"
#include "xmpp/c2s.h"
#include "xmpp/credcheck.h"
#include "xmpp/ns.h"

#define SASL_DELAY_BASE_MS 500
#define SASL_DELAY_MAX_MS 8000
#define SASL_B64_MAX (SCRAM_MSG_MAX * 4 / 3 + 8)

enum sasl_mech { MECH_NONE, MECH_SCRAM_SHA_256, MECH_SCRAM_SHA_1, MECH_PLAIN };

static const struct {
	const char *name;
	enum sasl_mech mech;
} mechs[] = {
	{ "SCRAM-SHA-256", MECH_SCRAM_SHA_256 },
	{ "SCRAM-SHA-1",   MECH_SCRAM_SHA_1 },
	{ "PLAIN",         MECH_PLAIN },
};

void sasl_add_mechanisms(struct c2s *s, mxml_node_t *features)
{
	mxml_node_t *m = xml_elem(features, "mechanisms", NS_SASL);

	(void)s;
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		xml_add_text(xml_elem(m, "mechanism", NULL), mechs[i].name);
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

static void sasl_send_failure(struct c2s *s, const char *cond)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "<failure xmlns='" NS_SASL "'><%s/></failure>", cond);

	(void)c2s_send_raw(s, buf, (size_t)n);
	if (s->state != C2S_CLOSED)
		s->state = C2S_NEGOTIATE;
}

static void sasl_delay_done(struct net_loop *l, void *arg)
{
	struct c2s *s = arg;

	(void)l;
	s->delay_timer = NULL;
	sasl_send_failure(s, "not-authorized");
}

/* A wrong password or unknown user: count it, then answer now or after a delay. */
static void sasl_failed(struct c2s *s, const char *bare)
{
	struct natterd *d = s->d;
	uint64_t now = net_now_ms(d->loop);
	long by_ip = keycount_add(d->authlimit, net_peer_addr(s->conn), 1, now);
	long by_user = bare != NULL ? keycount_add(d->authlimit, bare, 1, now) : 0;
	long worst = by_ip > by_user ? by_ip : by_user;
	uint32_t delay;

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

	keycount_del(d->authlimit, bare);
	keycount_del(d->authlimit, net_peer_addr(s->conn));
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

/* Looks up bare; NT_ENOENT when there is no such account. */
static int sasl_account(struct c2s *s, const char *bare, struct account *a)
{
	struct store_txn *t = natterd_txn(s->d);

	if (t == NULL)
		return NT_ESTORE;
	return store_account_get(t, bare, a);
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

static void sasl_plain(struct c2s *s, const char *msg, size_t n)
{
	const char *authz, *authc, *pass;
	size_t authz_len, authc_len, pass_len;
	char bare[STORE_BARE_MAX], zbare[STORE_BARE_MAX];
	struct account *a;
	int rc;

	if (sasl_plain_parse(msg, n, &authz, &authz_len, &authc, &authc_len, &pass,
			     &pass_len) != NT_OK) {
		sasl_send_failure(s, "malformed-request");
		return;
	}
	if (sasl_bare(s, authc, authc_len, bare, sizeof(bare)) != NT_OK) {
		sasl_failed(s, NULL);
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
	if ((a = malloc(sizeof(*a))) == NULL) {
		sasl_send_failure(s, "temporary-auth-failure");
		return;
	}
	rc = sasl_account(s, bare, a);
	if (rc == NT_OK)
		rc = scram_check_password(SCRAM_SHA_256, &a->sha256, pass, pass_len);
	free(a);
	if (rc == NT_OK)
		sasl_succeeded(s, bare, NULL);
	else if (rc == NT_ESTORE)
		sasl_send_failure(s, "temporary-auth-failure");
	else
		sasl_failed(s, bare);
}

static void sasl_scram_first(struct c2s *s, enum scram_hash h, const char *msg, size_t n)
{
	char user[JID_PART_MAX + 1], bare[STORE_BARE_MAX], out[SCRAM_MSG_MAX];
	struct account *a = NULL;
	struct scram_creds *c;
	int rc;

	if ((s->scram = calloc(1, sizeof(*s->scram))) == NULL ||
	    (a = malloc(sizeof(*a))) == NULL) {
		free(a);
		sasl_send_failure(s, "temporary-auth-failure");
		return;
	}
	rc = scram_server_start(s->scram, h, NULL, msg, n, user, sizeof(user));
	if (rc == NT_OK && sasl_bare(s, user, strlen(user), bare, sizeof(bare)) != NT_OK)
		rc = NT_EAUTH;
	if (rc != NT_OK) {
		free(a);
		sasl_scram_drop(s);
		sasl_send_failure(s, rc == NT_EAUTH ? "not-authorized" : "malformed-request");
		return;
	}
	rc = sasl_account(s, bare, a);
	c = h == SCRAM_SHA_256 ? &a->sha256 : &a->sha1;
	if (rc == NT_ENOENT)
		scram_creds_fake(h, bare, s->d->secret, sizeof(s->d->secret),
				 CONFIG_NT_SCRAM_ITERATIONS, c);
	if ((rc != NT_OK && rc != NT_ENOENT) ||
	    scram_server_first(s->scram, c, out, sizeof(out)) != NT_OK) {
		free(a);
		sasl_send_failure(s, "temporary-auth-failure");
		return;
	}
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
		sasl_failed(s, bare);
	else
		sasl_send_failure(s, "malformed-request");
	free(bare);
	sasl_scram_drop(s);
}

static enum sasl_mech sasl_mech_by_name(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strcmp(mechs[i].name, name) == 0)
			return mechs[i].mech;
	return MECH_NONE;
}

static void sasl_auth(struct c2s *s, mxml_node_t *el)
{
	enum sasl_mech m = sasl_mech_by_name(mxmlElementGetAttr(el, "mechanism"));
	char msg[SCRAM_MSG_MAX + 1];
	size_t n;

	if (m == MECH_NONE) {
		sasl_send_failure(s, "invalid-mechanism");
		return;
	}
	if (sasl_payload(el, msg, sizeof(msg), &n) != NT_OK) {
		sasl_send_failure(s, "incorrect-encoding");
		return;
	}
	if (n == 0) {
		/* No initial response: ask for it with an empty challenge. */
		s->state = C2S_SASL_SCRAM;
		s->sasl_mech = (int)m;
		sasl_send(s, "challenge", NULL);
		return;
	}
	if (m == MECH_PLAIN)
		sasl_plain(s, msg, n);
	else
		sasl_scram_first(s, m == MECH_SCRAM_SHA_1 ? SCRAM_SHA_1 : SCRAM_SHA_256, msg, n);
}

static void sasl_response(struct c2s *s, mxml_node_t *el)
{
	char msg[SCRAM_MSG_MAX + 1];
	size_t n;
	enum sasl_mech m = (enum sasl_mech)s->sasl_mech;

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
	if (n == 0)
		sasl_send_failure(s, "malformed-request");
	else if (m == MECH_PLAIN)
		sasl_plain(s, msg, n);
	else
		sasl_scram_first(s, m == MECH_SCRAM_SHA_1 ? SCRAM_SHA_1 : SCRAM_SHA_256, msg, n);
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
