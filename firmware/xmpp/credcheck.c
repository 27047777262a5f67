/*
 * Sessions against credential changes (see credcheck.h). The tag is in memory only and
 * never leaves the box, so a truncated SHA-256 of the stored keys is enough: it only has to
 * change when the credentials do.
 */
#include <stdlib.h>
#include <string.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include "core/err.h"
#include "core/natterd.h"
#include "store/store.h"
#include "xmpp/c2s.h"
#include "xmpp/credcheck.h"

static void credcheck_hash_creds(mbedtls_sha256_context *h, const struct scram_creds *c)
{
	uint8_t it[4] = { (uint8_t)(c->iterations >> 24), (uint8_t)(c->iterations >> 16),
			  (uint8_t)(c->iterations >> 8), (uint8_t)c->iterations };

	(void)mbedtls_sha256_update_ret(h, it, sizeof(it));
	(void)mbedtls_sha256_update_ret(h, &c->salt_len, 1);
	(void)mbedtls_sha256_update_ret(h, c->salt, sizeof(c->salt));
	(void)mbedtls_sha256_update_ret(h, c->stored_key, sizeof(c->stored_key));
	(void)mbedtls_sha256_update_ret(h, c->server_key, sizeof(c->server_key));
}

static void credcheck_tag(const struct account *a, uint8_t out[C2S_CRED_TAG_LEN])
{
	mbedtls_sha256_context h;
	uint8_t full[32];

	mbedtls_sha256_init(&h);
	(void)mbedtls_sha256_starts_ret(&h, 0);
	credcheck_hash_creds(&h, &a->sha1);
	credcheck_hash_creds(&h, &a->sha256);
	(void)mbedtls_sha256_finish_ret(&h, full);
	mbedtls_sha256_free(&h);
	memcpy(out, full, C2S_CRED_TAG_LEN);
	mbedtls_platform_zeroize(full, sizeof(full));
}

/* The account of bare as the store has it now, into a. NT_OK, NT_ENOENT or the store's. */
static int credcheck_account(struct natterd *d, const char *bare, struct account *a)
{
	struct store_txn *t = natterd_txn(d);

	memset(a, 0, sizeof(*a));	/* the tag hashes whole arrays: no stale bytes in them */
	return t != NULL ? store_account_get(t, bare, a) : NT_ESTORE;
}

int credcheck_remember(struct c2s *s)
{
	struct account *a = malloc(sizeof(*a));
	int rc = NT_ENOMEM;

	s->cred_tagged = 0;
	if (a != NULL && s->bare != NULL && (rc = credcheck_account(s->d, s->bare, a)) == NT_OK) {
		credcheck_tag(a, s->cred_tag);
		s->cred_tagged = 1;
	}
	if (a != NULL)
		mbedtls_platform_zeroize(a, sizeof(*a));
	free(a);
	return rc;
}

void credcheck_sessions(struct natterd *d)
{
	struct account *a = malloc(sizeof(*a));
	uint8_t tag[C2S_CRED_TAG_LEN];
	int rc;

	if (a == NULL)
		return;			/* the next change of the accounts tries again */
	for (struct c2s *s = d->sessions; s != NULL; s = s->next) {
		if (!s->authed || s->state == C2S_CLOSED)
			continue;
		rc = credcheck_account(d, s->bare, a);
		if (rc == NT_ENOENT) {
			c2s_stream_error(s, "not-authorized", "this account was deleted");
			continue;
		}
		if (rc != NT_OK)
			continue;	/* the store logged why; a bad record logs no one out */
		credcheck_tag(a, tag);
		if (!s->cred_tagged || memcmp(tag, s->cred_tag, sizeof(tag)) != 0)
			c2s_stream_error(s, "not-authorized", "the account's password was changed");
	}
	mbedtls_platform_zeroize(a, sizeof(*a));
	free(a);
}
