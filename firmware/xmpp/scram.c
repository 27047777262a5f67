/* SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, and SASL PLAIN parsing.
 *
 * Usernames and passwords go through SASLprep (RFC 4013) with unassigned code points allowed,
 * as for a query: clients that skip SASLprep send such passwords unchanged, and those pass
 * SASLprep unchanged too.
 *
 * Authorization identity: SCRAM here only knows usernames, so an "a=" authzid is accepted when
 * it equals the (unescaped) username or starts with the username followed by '@' (the client's
 * bare JID). Anything else is NT_EAUTH. The part after '@' is not checked: the session always
 * authenticates as username@<our domain>, whatever the authzid says.
 */
#include <stdio.h>
#include <string.h>
#include <stringprep.h>
#include <mbedtls/constant_time.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include "core/base64.h"
#include "core/err.h"
#include "core/log.h"
#include "xmpp/scram.h"

enum scram_state {
	SCRAM_ST_IDLE,		/* zeroed or cleared */
	SCRAM_ST_STARTED,	/* client-first parsed; s->nonce holds the client's part */
	SCRAM_ST_NONCE_SET,	/* tests only: server nonce part already appended */
	SCRAM_ST_FIRST_SENT,	/* server-first made; waiting for client-final */
	SCRAM_ST_DONE,		/* client-final seen (whatever the outcome) */
};

#define SCRAM_NONCE_B64 BASE64_ENCODED_LEN(SCRAM_NONCE_LEN)
#define SCRAM_FAKE_SALT_LEN 16

/* A ','-separated attribute cursor over msg[0..n). p is NULL once the last field is taken. */
struct scram_cur {
	const char *p, *end;
};

static int scram_field(struct scram_cur *c, const char **f, size_t *len)
{
	const char *comma;

	if (c->p == NULL)
		return 0;
	comma = memchr(c->p, ',', (size_t)(c->end - c->p));
	*f = c->p;
	*len = (size_t)((comma != NULL ? comma : c->end) - c->p);
	c->p = comma != NULL ? comma + 1 : NULL;
	return 1;
}

/* True when field f is "<name>=<at least one char>"; the value then starts at f + 2. */
static int scram_attr(const char *f, size_t len, char name)
{
	return len > 2 && f[0] == name && f[1] == '=';
}

/* Optional extensions at the end of a message: attr-val *("," attr-val), ignored. */
static int scram_extensions(struct scram_cur *c)
{
	const char *f;
	size_t len;

	while (scram_field(c, &f, &len)) {
		if (len < 3 || f[1] != '=' || !((f[0] >= 'a' && f[0] <= 'z') ||
						(f[0] >= 'A' && f[0] <= 'Z')))
			return NT_EINVAL;
	}
	return NT_OK;
}

/* RFC 5802 "printable": %x21-2B / %x2D-7E (',' is excluded by the cursor already). */
static int scram_printable(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e || p[i] == ',')
			return 0;
	}
	return len > 0;
}

/* saslname: "=2C" is ',', "=3D" is '=', any other '=' is malformed. Writes a NUL-terminated
 * result of *outlen bytes. */
static int scram_unescape(const char *p, size_t len, char *out, size_t cap, size_t *outlen)
{
	size_t i, o = 0;

	if (len == 0)
		return NT_EINVAL;
	for (i = 0; i < len; i++) {
		char ch = p[i];

		if (ch == '=') {
			if (len - i < 3)
				return NT_EINVAL;
			if (p[i + 1] == '2' && p[i + 2] == 'C')
				ch = ',';
			else if (p[i + 1] == '3' && p[i + 2] == 'D')
				ch = '=';
			else
				return NT_EINVAL;
			i += 2;
		}
		if (o + 1 >= cap)
			return NT_ELIMIT;
		out[o++] = ch;
	}
	out[o] = '\0';
	*outlen = o;
	return NT_OK;
}

/* SASLprep of s[0..n) into out (cap bytes). NT_EINVAL when it fails or leaves nothing,
 * NT_ELIMIT when it does not fit. */
static int scram_saslprep(const char *s, size_t n, char *out, size_t cap)
{
	int rc;

	if (n == 0 || memchr(s, '\0', n) != NULL)
		return NT_EINVAL;
	if (n >= cap)
		return NT_ELIMIT;
	memcpy(out, s, n);
	out[n] = '\0';
	rc = stringprep(out, cap, 0, stringprep_saslprep);
	if (rc == STRINGPREP_OK && out[0] != '\0')
		return NT_OK;
	mbedtls_platform_zeroize(out, cap);
	return rc == STRINGPREP_TOO_SMALL_BUFFER ? NT_ELIMIT : NT_EINVAL;
}

static const mbedtls_md_info_t *scram_md(enum scram_hash h)
{
	switch (h) {
	case SCRAM_SHA_1:   return mbedtls_md_info_from_type(MBEDTLS_MD_SHA1);
	case SCRAM_SHA_256: return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	}
	return NULL;
}

size_t scram_hash_len(enum scram_hash h)
{
	const mbedtls_md_info_t *md = scram_md(h);

	return md != NULL ? mbedtls_md_get_size(md) : 0;
}

static void scram_hmac(const mbedtls_md_info_t *md, const uint8_t *key, size_t klen,
                       const char *text, uint8_t *out)
{
	/* Cannot fail with a valid md_info and non-NULL buffers. */
	(void)mbedtls_md_hmac(md, key, klen, (const unsigned char *)text, strlen(text), out);
}

int scram_creds_make(enum scram_hash h, const char *password, size_t pwlen,
                     const uint8_t *salt, size_t salt_len, uint32_t iterations,
                     struct scram_creds *out)
{
	const mbedtls_md_info_t *md = scram_md(h);
	char pw[SCRAM_MSG_MAX];
	uint8_t salted[SCRAM_KEY_MAX], client_key[SCRAM_KEY_MAX];
	mbedtls_md_context_t ctx;
	int rc;

	if (md == NULL || salt_len == 0 || salt_len > SCRAM_SALT_MAX || iterations == 0)
		return NT_EINVAL;
	if (scram_saslprep(password, pwlen, pw, sizeof(pw)) != NT_OK)
		return NT_EINVAL;
	mbedtls_md_init(&ctx);
	rc = mbedtls_md_setup(&ctx, md, 1);
	if (rc == 0)
		rc = mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)pw, strlen(pw), salt,
					       salt_len, iterations, mbedtls_md_get_size(md),
					       salted);
	if (rc != 0) {
		log_err("scram: pbkdf2: -0x%04x", (unsigned)-rc);
		rc = rc == MBEDTLS_ERR_MD_ALLOC_FAILED ? NT_ENOMEM : NT_EINVAL;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->iterations = iterations;
	out->salt_len = (uint8_t)salt_len;
	memcpy(out->salt, salt, salt_len);
	scram_hmac(md, salted, mbedtls_md_get_size(md), "Client Key", client_key);
	(void)mbedtls_md(md, client_key, mbedtls_md_get_size(md), out->stored_key);
	scram_hmac(md, salted, mbedtls_md_get_size(md), "Server Key", out->server_key);
	rc = NT_OK;
out:
	mbedtls_md_free(&ctx);
	mbedtls_platform_zeroize(pw, sizeof(pw));
	mbedtls_platform_zeroize(salted, sizeof(salted));
	mbedtls_platform_zeroize(client_key, sizeof(client_key));
	return rc;
}

int scram_check_password(enum scram_hash h, const struct scram_creds *c, const char *password,
                         size_t pwlen)
{
	struct scram_creds try;
	size_t hlen = scram_hash_len(h);
	int rc;

	rc = scram_creds_make(h, password, pwlen, c->salt, c->salt_len, c->iterations, &try);
	if (rc == NT_OK && (mbedtls_ct_memcmp(try.stored_key, c->stored_key, hlen) |
			    mbedtls_ct_memcmp(try.server_key, c->server_key, hlen)) != 0)
		rc = NT_EAUTH;
	mbedtls_platform_zeroize(&try, sizeof(try));
	return rc;
}

/* HMAC-SHA-256(secret, label '\0' user) truncated to len bytes. */
static void scram_fake_part(const uint8_t *secret, size_t secret_len, const char *label,
                            const char *user, uint8_t *out, size_t len)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	uint8_t mac[32];
	mbedtls_md_context_t ctx;

	mbedtls_md_init(&ctx);
	memset(mac, 0, sizeof(mac));
	if (mbedtls_md_setup(&ctx, md, 1) == 0 &&
	    mbedtls_md_hmac_starts(&ctx, secret, secret_len) == 0 &&
	    mbedtls_md_hmac_update(&ctx, (const unsigned char *)label, strlen(label) + 1) == 0 &&
	    mbedtls_md_hmac_update(&ctx, (const unsigned char *)user, strlen(user)) == 0)
		(void)mbedtls_md_hmac_finish(&ctx, mac);	/* zeros stay on failure */
	mbedtls_md_free(&ctx);
	memcpy(out, mac, len);
	mbedtls_platform_zeroize(mac, sizeof(mac));
}

void scram_creds_fake(enum scram_hash h, const char *user, const uint8_t *secret,
                      size_t secret_len, uint32_t iterations, struct scram_creds *out)
{
	size_t hlen = scram_hash_len(h);

	memset(out, 0, sizeof(*out));
	out->iterations = iterations;
	/* Like natterctl's real accounts: a 16-byte salt of its own for each hash. */
	out->salt_len = SCRAM_FAKE_SALT_LEN;
	scram_fake_part(secret, secret_len, h == SCRAM_SHA_1 ? "salt-1" : "salt-256", user,
			out->salt, SCRAM_FAKE_SALT_LEN);
	scram_fake_part(secret, secret_len, h == SCRAM_SHA_1 ? "stored-1" : "stored-256", user,
			out->stored_key, hlen);
	scram_fake_part(secret, secret_len, h == SCRAM_SHA_1 ? "server-1" : "server-256", user,
			out->server_key, hlen);
}

static const char *const scram_cb_names[SCRAM_CB_TYPES] = {
	[SCRAM_CB_SERVER_END_POINT] = "tls-server-end-point",
	[SCRAM_CB_EXPORTER] = "tls-exporter",
};

const char *scram_cb_name(enum scram_cb_type t)
{
	return (unsigned)t < SCRAM_CB_TYPES ? scram_cb_names[t] : "";
}

/* The gs2 cbind flag against what the server offers (RFC 5802 section 6). "p=<type>" needs a
 * -PLUS mechanism and a type this connection has; "y" (the client could bind but thinks we
 * cannot) is a downgrade when we offered -PLUS; "n" is fine unless the mechanism is -PLUS.
 * On "p=" the binding data c= must carry is copied into s->cb. */
static int scram_cbind_flag(struct scram_server *s, const struct scram_cb *cb, const char *f,
                            size_t len)
{
	int plus = cb != NULL && cb->plus;

	if (len == 1 && (f[0] == 'n' || f[0] == 'y')) {
		if (plus)
			return NT_EINVAL;
		return f[0] == 'y' && cb != NULL && cb->offered ? NT_EAUTH : NT_OK;
	}
	if (len < 3 || f[0] != 'p' || f[1] != '=' || !plus)
		return NT_EINVAL;
	for (unsigned t = 0; t < SCRAM_CB_TYPES; t++) {
		if (strlen(scram_cb_names[t]) != len - 2 ||
		    memcmp(scram_cb_names[t], f + 2, len - 2) != 0)
			continue;
		if (cb->data[t][0].len == 0)
			return NT_EINVAL;	/* not on this connection: we did not offer it */
		memcpy(s->cb, cb->data[t], sizeof(s->cb));
		return NT_OK;
	}
	return NT_EINVAL;			/* tls-unique, or anything else we do not know */
}

/* gs2-header: cbind flag "," [ "a=" authzid ] ",". Leaves c after the header. */
static int scram_gs2(struct scram_server *s, const struct scram_cb *cb, struct scram_cur *c,
                     const char **authz, size_t *authz_len)
{
	const char *f;
	size_t len, hlen;
	int rc;

	if (!scram_field(c, &f, &len) || c->p == NULL)
		return NT_EINVAL;
	if ((rc = scram_cbind_flag(s, cb, f, len)) != NT_OK)
		return rc;
	if (!scram_field(c, authz, authz_len) || c->p == NULL)
		return NT_EINVAL;
	if (*authz_len > 0 && !scram_attr(*authz, *authz_len, 'a'))
		return NT_EINVAL;
	hlen = (size_t)(c->p - f);
	if (hlen >= sizeof(s->gs2_header))
		return NT_EINVAL;
	memcpy(s->gs2_header, f, hlen);
	s->gs2_header[hlen] = '\0';
	return NT_OK;
}

/* The authzid, when present, must be the username or "username@...". */
static int scram_authz_ok(const char *authz, size_t authz_len, const char *user, size_t ulen)
{
	char a[SCRAM_MSG_MAX];
	size_t alen;

	if (authz_len == 0)
		return NT_OK;
	if (scram_unescape(authz + 2, authz_len - 2, a, sizeof(a), &alen) != NT_OK)
		return NT_EINVAL;
	if (alen >= ulen && memcmp(a, user, ulen) == 0 && (alen == ulen || a[ulen] == '@'))
		return NT_OK;
	return NT_EAUTH;
}

/* client-first-message-bare: "n=" saslname "," "r=" c-nonce ["," extensions]. */
static int scram_first_bare(struct scram_server *s, struct scram_cur *c, const char *authz,
                            size_t authz_len, char *user, size_t user_cap)
{
	char raw[SCRAM_MSG_MAX];
	const char *f;
	size_t len, rlen;
	int rc;

	if (!scram_field(c, &f, &len) || !scram_attr(f, len, 'n'))
		return NT_EINVAL;	/* also "m=": no mandatory extension is supported */
	if ((rc = scram_unescape(f + 2, len - 2, raw, sizeof(raw), &rlen)) != NT_OK)
		return NT_EINVAL;
	if ((rc = scram_saslprep(raw, rlen, user, user_cap)) != NT_OK)
		return rc;
	if (!scram_field(c, &f, &len) || !scram_attr(f, len, 'r') ||
	    !scram_printable(f + 2, len - 2))
		return NT_EINVAL;
	if (len - 2 + SCRAM_NONCE_B64 >= sizeof(s->nonce))
		return NT_EINVAL;
	memcpy(s->nonce, f + 2, len - 2);
	s->nonce[len - 2] = '\0';
	if ((rc = scram_extensions(c)) != NT_OK)
		return rc;
	return scram_authz_ok(authz, authz_len, raw, rlen);
}

int scram_server_start(struct scram_server *s, enum scram_hash h, const struct scram_cb *cb,
                       const char *msg, size_t n, char *user, size_t user_cap)
{
	struct scram_cur c = { msg, msg + n };
	const char *authz;
	size_t authz_len;
	int rc;

	scram_server_clear(s);
	if (user_cap > 0)
		user[0] = '\0';
	if (scram_md(h) == NULL || n > SCRAM_MSG_MAX || memchr(msg, '\0', n) != NULL)
		return NT_EINVAL;
	s->hash = h;
	if ((rc = scram_gs2(s, cb, &c, &authz, &authz_len)) != NT_OK)
		goto fail;
	/* The rest is client-first-message-bare, kept for AuthMessage. */
	memcpy(s->client_first_bare, c.p, (size_t)(c.end - c.p));
	s->client_first_bare[c.end - c.p] = '\0';
	if ((rc = scram_first_bare(s, &c, authz, authz_len, user, user_cap)) != NT_OK)
		goto fail;
	s->state = SCRAM_ST_STARTED;
	return NT_OK;
fail:
	scram_server_clear(s);
	if (user_cap > 0)
		user[0] = '\0';
	return rc;
}

/* One DRBG for every exchange, seeded on first use. Single-threaded, like the rest. */
static int scram_random(uint8_t *out, size_t n)
{
	static mbedtls_entropy_context entropy;
	static mbedtls_ctr_drbg_context drbg;
	static int ready;
	static const char pers[] = "natter scram nonce";
	int rc;

	if (!ready) {
		mbedtls_entropy_init(&entropy);
		mbedtls_ctr_drbg_init(&drbg);
		rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
					   (const unsigned char *)pers, sizeof(pers) - 1);
		if (rc != 0) {
			log_err("scram: drbg seed: -0x%04x", (unsigned)-rc);
			mbedtls_ctr_drbg_free(&drbg);
			mbedtls_entropy_free(&entropy);
			return NT_EIO;
		}
		ready = 1;
	}
	if ((rc = mbedtls_ctr_drbg_random(&drbg, out, n)) != 0) {
		log_err("scram: drbg: -0x%04x", (unsigned)-rc);
		return NT_EIO;
	}
	return NT_OK;
}

int scram_server_set_nonce_for_test(struct scram_server *s, const char *nonce)
{
	size_t have = strlen(s->nonce), len = strlen(nonce);

	if (s->state != SCRAM_ST_STARTED || !scram_printable(nonce, len) ||
	    have + len >= sizeof(s->nonce))
		return NT_EINVAL;
	memcpy(s->nonce + have, nonce, len + 1);
	s->state = SCRAM_ST_NONCE_SET;
	return NT_OK;
}

int scram_server_first(struct scram_server *s, const struct scram_creds *c, char *out,
                       size_t cap)
{
	uint8_t rnd[SCRAM_NONCE_LEN];
	char salt[BASE64_ENCODED_LEN(SCRAM_SALT_MAX) + 1];
	size_t have = strlen(s->nonce);
	int rc, len;

	if (cap > 0)
		out[0] = '\0';
	if ((s->state != SCRAM_ST_STARTED && s->state != SCRAM_ST_NONCE_SET) ||
	    c->salt_len == 0 || c->salt_len > SCRAM_SALT_MAX || c->iterations == 0)
		return NT_EINVAL;
	if (s->state == SCRAM_ST_STARTED) {
		if ((rc = scram_random(rnd, sizeof(rnd))) != NT_OK)
			return rc;
		/* scram_first_bare left room for exactly this. */
		base64_encode(rnd, sizeof(rnd), s->nonce + have, sizeof(s->nonce) - have, NULL);
	}
	base64_encode(c->salt, c->salt_len, salt, sizeof(salt), NULL);
	len = snprintf(s->server_first, sizeof(s->server_first), "r=%s,s=%s,i=%lu", s->nonce,
		       salt, (unsigned long)c->iterations);
	if (len < 0 || (size_t)len >= sizeof(s->server_first) || (size_t)len >= cap) {
		if (s->state == SCRAM_ST_STARTED)
			s->nonce[have] = '\0';		/* a retry makes a fresh nonce */
		s->server_first[0] = '\0';
		return NT_ELIMIT;
	}
	memcpy(out, s->server_first, (size_t)len + 1);
	s->creds = *c;
	s->state = SCRAM_ST_FIRST_SENT;
	return NT_OK;
}

/* c= decoded: our gs2 header, then (after "p=") the connection's binding data, matched
 * exactly against each accepted value. A header mismatch is malformed; the right header with
 * other binding data is a man in the middle: NT_EAUTH. */
static int scram_cbind_check(const struct scram_server *s, const uint8_t *cb, size_t cblen)
{
	size_t hlen = strlen(s->gs2_header);

	if (cblen < hlen || memcmp(cb, s->gs2_header, hlen) != 0)
		return NT_EINVAL;
	if (s->cb[0].len == 0)
		return cblen == hlen ? NT_OK : NT_EINVAL;
	for (size_t i = 0; i < SCRAM_CB_ALTS; i++)
		if (s->cb[i].len > 0 && cblen - hlen == s->cb[i].len &&
		    memcmp(cb + hlen, s->cb[i].data, s->cb[i].len) == 0)
			return NT_OK;
	return NT_EAUTH;
}

/* client-final-message-without-proof: "c=" base64(gs2-header [cbind-data]) "," "r=" nonce
 * ["," extensions]. The nonce must be the combined one. */
static int scram_final_fields(const struct scram_server *s, const char *msg, size_t n)
{
	struct scram_cur c = { msg, msg + n };
	uint8_t cb[SCRAM_MSG_MAX];
	const char *f;
	size_t len, cblen;
	int rc;

	if (!scram_field(&c, &f, &len) || !scram_attr(f, len, 'c') ||
	    base64_decode(f + 2, len - 2, cb, sizeof(cb), &cblen) != NT_OK)
		return NT_EINVAL;
	if (!scram_field(&c, &f, &len) || !scram_attr(f, len, 'r') ||
	    len - 2 != strlen(s->nonce) || memcmp(f + 2, s->nonce, len - 2) != 0)
		return NT_EINVAL;
	if ((rc = scram_extensions(&c)) != NT_OK)
		return rc;
	return scram_cbind_check(s, cb, cblen);
}

/* HMAC(key, AuthMessage), AuthMessage = client-first-bare "," server-first "," final-bare. */
static int scram_auth_hmac(const struct scram_server *s, const uint8_t *key,
                           const char *final_bare, size_t fb_len, uint8_t *out)
{
	const mbedtls_md_info_t *md = scram_md(s->hash);
	mbedtls_md_context_t ctx;
	int rc;

	mbedtls_md_init(&ctx);
	if ((rc = mbedtls_md_setup(&ctx, md, 1)) == 0 &&
	    (rc = mbedtls_md_hmac_starts(&ctx, key, mbedtls_md_get_size(md))) == 0 &&
	    (rc = mbedtls_md_hmac_update(&ctx, (const unsigned char *)s->client_first_bare,
					 strlen(s->client_first_bare))) == 0 &&
	    (rc = mbedtls_md_hmac_update(&ctx, (const unsigned char *)",", 1)) == 0 &&
	    (rc = mbedtls_md_hmac_update(&ctx, (const unsigned char *)s->server_first,
					 strlen(s->server_first))) == 0 &&
	    (rc = mbedtls_md_hmac_update(&ctx, (const unsigned char *)",", 1)) == 0 &&
	    (rc = mbedtls_md_hmac_update(&ctx, (const unsigned char *)final_bare, fb_len)) == 0)
		rc = mbedtls_md_hmac_finish(&ctx, out);
	mbedtls_md_free(&ctx);
	if (rc != 0) {
		log_err("scram: hmac: -0x%04x", (unsigned)-rc);
		return rc == MBEDTLS_ERR_MD_ALLOC_FAILED ? NT_ENOMEM : NT_EIO;
	}
	return NT_OK;
}

/* The proof is the last attribute: "p=" base64 of hash-length bytes. */
static int scram_split_proof(const struct scram_server *s, const char *msg, size_t n,
                             size_t *bare_len, uint8_t *proof)
{
	const char *comma = memrchr(msg, ',', n);
	size_t plen, off;

	if (comma == NULL)
		return NT_EINVAL;
	off = (size_t)(comma - msg) + 1;
	if (!scram_attr(msg + off, n - off, 'p') ||
	    base64_decode(msg + off + 2, n - off - 2, proof, SCRAM_KEY_MAX, &plen) != NT_OK ||
	    plen != scram_hash_len(s->hash))
		return NT_EINVAL;
	*bare_len = off - 1;
	return NT_OK;
}

int scram_server_final(struct scram_server *s, const char *msg, size_t n, char *out,
                       size_t cap)
{
	const mbedtls_md_info_t *md = scram_md(s->hash);
	uint8_t proof[SCRAM_KEY_MAX], sig[SCRAM_KEY_MAX], key[SCRAM_KEY_MAX];
	size_t i, bare_len, hlen = scram_hash_len(s->hash);
	int rc, expected = s->state == SCRAM_ST_FIRST_SENT;

	if (cap > 0)
		out[0] = '\0';
	s->state = SCRAM_ST_DONE;		/* one attempt per exchange */
	if (!expected || md == NULL || n > SCRAM_MSG_MAX || memchr(msg, '\0', n) != NULL)
		return NT_EINVAL;
	if ((rc = scram_split_proof(s, msg, n, &bare_len, proof)) != NT_OK ||
	    (rc = scram_final_fields(s, msg, bare_len)) != NT_OK)
		return rc;
	if ((rc = scram_auth_hmac(s, s->creds.stored_key, msg, bare_len, sig)) != NT_OK)
		goto out;
	for (i = 0; i < hlen; i++)
		key[i] = proof[i] ^ sig[i];		/* ClientKey */
	(void)mbedtls_md(md, key, hlen, key);	/* H(ClientKey); cannot fail with a valid md */
	if (mbedtls_ct_memcmp(key, s->creds.stored_key, hlen) != 0) {
		rc = NT_EAUTH;
		goto out;
	}
	if ((rc = scram_auth_hmac(s, s->creds.server_key, msg, bare_len, sig)) != NT_OK)
		goto out;
	if (cap < 3) {
		rc = NT_ELIMIT;
		goto out;
	}
	memcpy(out, "v=", 2);
	rc = base64_encode(sig, hlen, out + 2, cap - 2, NULL);
	if (rc != NT_OK)
		out[0] = '\0';
out:
	mbedtls_platform_zeroize(key, sizeof(key));
	mbedtls_platform_zeroize(sig, sizeof(sig));
	return rc;
}

void scram_server_clear(struct scram_server *s)
{
	mbedtls_platform_zeroize(s, sizeof(*s));
}

int sasl_plain_parse(const char *msg, size_t n, const char **authzid, size_t *authzid_len,
                     const char **authcid, size_t *authcid_len, const char **pass,
                     size_t *pass_len)
{
	const char *nul1 = memchr(msg, '\0', n), *nul2;

	if (nul1 == NULL)
		return NT_EINVAL;
	nul2 = memchr(nul1 + 1, '\0', (size_t)(msg + n - nul1 - 1));
	if (nul2 == NULL || nul2 == nul1 + 1 || nul2 + 1 == msg + n ||
	    memchr(nul2 + 1, '\0', (size_t)(msg + n - nul2 - 1)) != NULL)
		return NT_EINVAL;
	*authzid = msg;
	*authzid_len = (size_t)(nul1 - msg);
	*authcid = nul1 + 1;
	*authcid_len = (size_t)(nul2 - nul1 - 1);
	*pass = nul2 + 1;
	*pass_len = (size_t)(msg + n - nul2 - 1);
	return NT_OK;
}
