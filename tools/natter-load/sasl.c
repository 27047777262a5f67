/*
 * The client side of SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel
 * binding, on OpenSSL's primitives; and a cache of PBKDF2 results so that a benchmark measures
 * the server's work, not the generator's key derivation: each (hash, password, salt,
 * iterations) is derived once per process.
 *
 * Passwords are not SASLprep'd: the benchmark's passwords are ASCII, which SASLprep leaves as
 * they are.
 */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include "core/base64.h"
#include "core/err.h"
#include "load.h"

#define SCRAM_SALT_CAP 128

struct kc_entry {
	struct kc_entry *next;
	uint64_t hash;
	int sha256;
	uint32_t iter;
	size_t salt_len, pw_len;
	uint8_t client_key[32], stored_key[32], server_key[32];
	uint8_t data[];		/* salt, then password */
};

struct key_cache {
	struct kc_entry **tab;
	size_t nbuckets, n;
	uint64_t misses;
};

struct key_cache *key_cache_new(void)
{
	struct key_cache *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return NULL;
	kc->nbuckets = 256;
	if ((kc->tab = calloc(kc->nbuckets, sizeof(*kc->tab))) == NULL) {
		free(kc);
		return NULL;
	}
	return kc;
}

void key_cache_free(struct key_cache *kc)
{
	if (kc == NULL)
		return;
	for (size_t i = 0; i < kc->nbuckets; i++) {
		struct kc_entry *e = kc->tab[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			OPENSSL_cleanse(e, sizeof(*e) + e->salt_len + e->pw_len);
			free(e);
		}
	}
	free(kc->tab);
	free(kc);
}

uint64_t key_cache_misses(const struct key_cache *kc)
{
	return kc->misses;
}

static uint64_t kc_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Doubles the table when it gets crowded; on ENOMEM it just stays as it is. */
static void kc_grow(struct key_cache *kc)
{
	size_t nb = kc->nbuckets * 2;
	struct kc_entry **tab = calloc(nb, sizeof(*tab));

	if (tab == NULL)
		return;
	for (size_t i = 0; i < kc->nbuckets; i++) {
		struct kc_entry *e = kc->tab[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			e->next = tab[e->hash & (nb - 1)];
			tab[e->hash & (nb - 1)] = e;
		}
	}
	free(kc->tab);
	kc->tab = tab;
	kc->nbuckets = nb;
}

/* The keys for (hash, password, salt, iterations): from the cache, or derived and kept. */
static const struct kc_entry *kc_get(struct key_cache *kc, int sha256, const char *pw,
                                     const uint8_t *salt, size_t salt_len, uint32_t iter)
{
	const EVP_MD *md = sha256 ? EVP_sha256() : EVP_sha1();
	size_t pw_len = strlen(pw), hlen = sha256 ? 32 : 20;
	uint64_t h = 0xcbf29ce484222325ull;
	uint8_t salted[32];
	unsigned int mdlen;
	struct kc_entry *e;

	h = kc_fnv(h, &sha256, sizeof(sha256));
	h = kc_fnv(h, &iter, sizeof(iter));
	h = kc_fnv(h, salt, salt_len);
	h = kc_fnv(h, pw, pw_len);
	for (e = kc->tab[h & (kc->nbuckets - 1)]; e != NULL; e = e->next)
		if (e->hash == h && e->sha256 == sha256 && e->iter == iter &&
		    e->salt_len == salt_len && e->pw_len == pw_len &&
		    memcmp(e->data, salt, salt_len) == 0 &&
		    memcmp(e->data + salt_len, pw, pw_len) == 0)
			return e;
	if ((e = calloc(1, sizeof(*e) + salt_len + pw_len)) == NULL)
		return NULL;
	kc->misses++;
	if (PKCS5_PBKDF2_HMAC(pw, (int)pw_len, salt, (int)salt_len, (int)iter, md, (int)hlen,
			      salted) != 1 ||
	    HMAC(md, salted, (int)hlen, (const uint8_t *)"Client Key", 10, e->client_key,
		 &mdlen) == NULL ||
	    HMAC(md, salted, (int)hlen, (const uint8_t *)"Server Key", 10, e->server_key,
		 &mdlen) == NULL ||
	    EVP_Digest(e->client_key, hlen, e->stored_key, &mdlen, md, NULL) != 1) {
		OPENSSL_cleanse(salted, sizeof(salted));
		free(e);
		return NULL;
	}
	OPENSSL_cleanse(salted, sizeof(salted));
	e->hash = h;
	e->sha256 = sha256;
	e->iter = iter;
	e->salt_len = salt_len;
	e->pw_len = pw_len;
	memcpy(e->data, salt, salt_len);
	memcpy(e->data + salt_len, pw, pw_len);
	e->next = kc->tab[h & (kc->nbuckets - 1)];
	kc->tab[h & (kc->nbuckets - 1)] = e;
	if (++kc->n > kc->nbuckets)
		kc_grow(kc);
	return e;
}

/* RFC 5802 saslname: ',' and '=' escaped. -1 when it does not fit. */
static int scram_saslname(const char *user, char *out, size_t cap)
{
	size_t o = 0;

	for (; *user != '\0'; user++) {
		const char *r = *user == ',' ? "=2C" : *user == '=' ? "=3D" : NULL;
		size_t n = r != NULL ? 3 : 1;

		if (o + n >= cap)
			return -1;
		memcpy(out + o, r != NULL ? r : user, n);
		o += n;
	}
	out[o] = '\0';
	return (int)o;
}

int scram_client_first(struct scram_client *sc, int sha256, const char *user, const char *nonce,
                       char *out, size_t cap)
{
	uint8_t rnd[18];
	char name[256];
	int n;

	memset(sc, 0, sizeof(*sc));
	sc->sha256 = sha256;
	sc->hlen = sha256 ? 32 : 20;
	if (nonce == NULL) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return NT_EIO;
		(void)base64_encode(rnd, sizeof(rnd), sc->cnonce, sizeof(sc->cnonce), NULL);
	} else if (strlen(nonce) >= sizeof(sc->cnonce)) {
		return NT_ELIMIT;
	} else {
		strcpy(sc->cnonce, nonce);
	}
	if (scram_saslname(user, name, sizeof(name)) < 0)
		return NT_ELIMIT;
	n = snprintf(sc->first_bare, sizeof(sc->first_bare), "n=%s,r=%s", name, sc->cnonce);
	if (n < 0 || (size_t)n >= sizeof(sc->first_bare))
		return NT_ELIMIT;
	sc->first_bare_len = (size_t)n;
	n = snprintf(out, cap, "n,,%s", sc->first_bare);
	return n < 0 || (size_t)n >= cap ? NT_ELIMIT : n;
}

/* Splits server-first-message "r=..,s=..,i=..[,ext]" (NUL-terminated, modified in place). */
static int scram_parse_first(char *msg, char **nonce, char **salt, unsigned long *iter)
{
	char *f[3], *save = NULL, *end;

	for (int i = 0; i < 3; i++)
		if ((f[i] = strtok_r(i == 0 ? msg : NULL, ",", &save)) == NULL)
			return NT_EINVAL;
	if (strncmp(f[0], "r=", 2) != 0 || strncmp(f[1], "s=", 2) != 0 ||
	    strncmp(f[2], "i=", 2) != 0)
		return NT_EINVAL;	/* also a mandatory extension "m=" we cannot know */
	*nonce = f[0] + 2;
	*salt = f[1] + 2;
	*iter = strtoul(f[2] + 2, &end, 10);
	return *end == '\0' && *iter > 0 && *iter < 100000000ul ? NT_OK : NT_EINVAL;
}

int scram_client_final(struct scram_client *sc, struct key_cache *kc, const char *password,
                       const char *sfirst, size_t n, char *out, size_t cap)
{
	const EVP_MD *md = sc->sha256 ? EVP_sha256() : EVP_sha1();
	char copy[SCRAM_CLI_MSG_MAX], auth[3 * SCRAM_CLI_MSG_MAX], *nonce, *salt_b64;
	uint8_t salt[SCRAM_SALT_CAP], sig[32], proof[32];
	char proof_b64[BASE64_ENCODED_LEN(32) + 1];
	size_t salt_len, cn = strlen(sc->cnonce);
	const struct kc_entry *e;
	unsigned long iter;
	unsigned int mdlen;
	int alen, len;

	if (n >= sizeof(copy))
		return NT_EINVAL;
	memcpy(copy, sfirst, n);
	copy[n] = '\0';
	if (scram_parse_first(copy, &nonce, &salt_b64, &iter) != NT_OK ||
	    strncmp(nonce, sc->cnonce, cn) != 0 || nonce[cn] == '\0' ||
	    base64_decode(salt_b64, strlen(salt_b64), salt, sizeof(salt), &salt_len) != NT_OK ||
	    salt_len == 0)
		return NT_EINVAL;
	if ((e = kc_get(kc, sc->sha256, password, salt, salt_len, (uint32_t)iter)) == NULL)
		return NT_ENOMEM;
	/* AuthMessage = client-first-bare "," server-first "," client-final-without-proof */
	alen = snprintf(auth, sizeof(auth), "%s,%.*s,c=biws,r=%s", sc->first_bare, (int)n, sfirst,
			nonce);
	if (alen < 0 || (size_t)alen >= sizeof(auth))
		return NT_EINVAL;
	if (HMAC(md, e->stored_key, (int)sc->hlen, (uint8_t *)auth, (size_t)alen, sig,
		 &mdlen) == NULL ||
	    HMAC(md, e->server_key, (int)sc->hlen, (uint8_t *)auth, (size_t)alen, sc->server_sig,
		 &mdlen) == NULL)
		return NT_EIO;
	for (size_t i = 0; i < sc->hlen; i++)
		proof[i] = e->client_key[i] ^ sig[i];
	(void)base64_encode(proof, sc->hlen, proof_b64, sizeof(proof_b64), NULL);
	len = snprintf(out, cap, "c=biws,r=%s,p=%s", nonce, proof_b64);
	return len < 0 || (size_t)len >= cap ? NT_ELIMIT : len;
}

int scram_client_check(const struct scram_client *sc, const char *sfinal, size_t n)
{
	uint8_t v[64];
	size_t vlen, end = 2;

	if (n < 2 || sfinal[0] != 'v' || sfinal[1] != '=')
		return NT_EAUTH;	/* "e=<error>" or garbage */
	while (end < n && sfinal[end] != ',')
		end++;
	if (base64_decode(sfinal + 2, end - 2, v, sizeof(v), &vlen) != NT_OK ||
	    vlen != sc->hlen || CRYPTO_memcmp(v, sc->server_sig, vlen) != 0)
		return NT_EAUTH;
	return NT_OK;
}
