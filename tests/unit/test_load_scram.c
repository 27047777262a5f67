/* natter-load's SCRAM client (tools/natter-load/sasl.c): the RFC 5802 and RFC 7677 examples,
 * the PBKDF2 cache, malformed server messages, and whole exchanges with natterd's own SCRAM
 * server (firmware/xmpp/scram.c, an independent implementation on mbedTLS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/err.h"
#include "xmpp/scram.h"
#include "tools/natter-load/load.h"

struct vector {
	int sha256;
	const char *cnonce, *client_first, *server_first, *client_final, *server_final;
};

/* RFC 5802 section 5 and RFC 7677 section 3: user "user", password "pencil". */
static const struct vector rfc5802 = {
	0, "fyko+d2lbbFgONRv9qkxdawL",
	"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

static const struct vector rfc7677 = {
	1, "rOprNGfwEbeRWgbNEkqO",
	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

static void run_vector(const struct vector *v)
{
	struct key_cache *kc = key_cache_new();
	struct scram_client sc;
	char out[SCRAM_CLI_MSG_MAX];
	char bad[64];
	int n;

	assert_non_null(kc);
	n = scram_client_first(&sc, v->sha256, "user", v->cnonce, out, sizeof(out));
	assert_int_equal(n, (int)strlen(v->client_first));
	assert_string_equal(out, v->client_first);
	n = scram_client_final(&sc, kc, "pencil", v->server_first, strlen(v->server_first), out,
			       sizeof(out));
	assert_int_equal(n, (int)strlen(v->client_final));
	assert_string_equal(out, v->client_final);
	assert_int_equal(scram_client_check(&sc, v->server_final, strlen(v->server_final)),
			 NT_OK);
	/* One flipped character of the server's signature is not the server's proof. */
	strcpy(bad, v->server_final);
	bad[3] = bad[3] == 'A' ? 'B' : 'A';
	assert_int_equal(scram_client_check(&sc, bad, strlen(bad)), NT_EAUTH);
	assert_int_equal(scram_client_check(&sc, "e=invalid-proof", 15), NT_EAUTH);
	key_cache_free(kc);
}

static void rfc5802_example(void **state)
{
	(void)state;
	run_vector(&rfc5802);
}

static void rfc7677_example(void **state)
{
	(void)state;
	run_vector(&rfc7677);
}

/* PBKDF2 runs once per (hash, password, salt, iterations), not once per login. */
static void cache_derives_once(void **state)
{
	struct key_cache *kc = key_cache_new();
	struct scram_client sc;
	char out[SCRAM_CLI_MSG_MAX];
	const char *sf = rfc5802.server_first;
	const char *other = "r=fyko+d2lbbFgONRv9qkxdawLxyz,s=QSXCR+Q6sek8bf93,i=4096";

	(void)state;
	assert_non_null(kc);
	for (int i = 0; i < 3; i++) {
		assert_true(scram_client_first(&sc, 0, "user", rfc5802.cnonce, out,
					       sizeof(out)) > 0);
		assert_true(scram_client_final(&sc, kc, "pencil", sf, strlen(sf), out,
					       sizeof(out)) > 0);
		assert_string_equal(out, rfc5802.client_final);	/* cached keys are right */
	}
	assert_int_equal(key_cache_misses(kc), 1);
	assert_true(scram_client_final(&sc, kc, "pencil", other, strlen(other), out,
				       sizeof(out)) > 0);		/* another salt */
	assert_int_equal(key_cache_misses(kc), 2);
	assert_true(scram_client_final(&sc, kc, "pencil2", sf, strlen(sf), out, sizeof(out)) > 0);
	assert_int_equal(key_cache_misses(kc), 3);		/* another password */
	assert_true(scram_client_first(&sc, 1, "user", rfc5802.cnonce, out, sizeof(out)) > 0);
	assert_true(scram_client_final(&sc, kc, "pencil", sf, strlen(sf), out, sizeof(out)) > 0);
	assert_int_equal(key_cache_misses(kc), 4);		/* another hash */
	key_cache_free(kc);
}

static void malformed_server_first(void **state)
{
	static const char *const bad[] = {
		"r=someoneelse123,s=QSXCR+Q6sek8bf92,i=4096",		/* not our nonce */
		"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",	/* nothing added */
		"m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=4096",
		"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf9,i=4096",	/* bad base64 */
		"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=0",
		"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=12x",
		"r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92",
		"",
	};
	struct key_cache *kc = key_cache_new();
	struct scram_client sc;
	char out[SCRAM_CLI_MSG_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(scram_client_first(&sc, 0, "user", rfc5802.cnonce, out,
					       sizeof(out)) > 0);
		assert_int_equal(scram_client_final(&sc, kc, "pencil", bad[i], strlen(bad[i]),
						    out, sizeof(out)), NT_EINVAL);
	}
	assert_int_equal(key_cache_misses(kc), 0);
	key_cache_free(kc);
}

static void username_is_escaped_and_nonce_random(void **state)
{
	struct scram_client a, b;
	char out[SCRAM_CLI_MSG_MAX], out2[SCRAM_CLI_MSG_MAX];

	(void)state;
	assert_true(scram_client_first(&a, 0, "a,b=c", "nonce", out, sizeof(out)) > 0);
	assert_string_equal(out, "n,,n=a=2Cb=3Dc,r=nonce");
	assert_true(scram_client_first(&a, 0, "u", NULL, out, sizeof(out)) > 0);
	assert_true(scram_client_first(&b, 0, "u", NULL, out2, sizeof(out2)) > 0);
	assert_string_not_equal(out, out2);
	assert_int_equal(strlen(a.cnonce), 24);
	assert_int_equal(scram_client_first(&a, 0, "u", "n", out, 8), NT_ELIMIT);
}

/* A whole exchange against natterd's server side; pw is what the client uses. */
static int with_natterd_server(enum scram_hash h, const char *pw)
{
	static const uint8_t salt[16] = "natter-load-salt";
	struct key_cache *kc = key_cache_new();
	struct scram_server *srv = calloc(1, sizeof(*srv));
	struct scram_creds creds;
	struct scram_client sc;
	char cf[SCRAM_CLI_MSG_MAX], sf[SCRAM_MSG_MAX], fin[SCRAM_CLI_MSG_MAX], sfin[SCRAM_MSG_MAX];
	char user[64];
	int n, rc;

	assert_non_null(kc);
	assert_non_null(srv);
	assert_int_equal(scram_creds_make(h, "s3cret pw", 9, salt, sizeof(salt), 4096, &creds),
			 NT_OK);
	n = scram_client_first(&sc, h == SCRAM_SHA_256, "user7", NULL, cf, sizeof(cf));
	assert_true(n > 0);
	assert_int_equal(scram_server_start(srv, h, NULL, cf, (size_t)n, user, sizeof(user)), NT_OK);
	assert_string_equal(user, "user7");
	assert_int_equal(scram_server_first(srv, &creds, sf, sizeof(sf)), NT_OK);
	n = scram_client_final(&sc, kc, pw, sf, strlen(sf), fin, sizeof(fin));
	assert_true(n > 0);
	rc = scram_server_final(srv, fin, (size_t)n, sfin, sizeof(sfin));
	if (rc == NT_OK)
		assert_int_equal(scram_client_check(&sc, sfin, strlen(sfin)), NT_OK);
	scram_server_clear(srv);
	free(srv);
	key_cache_free(kc);
	return rc;
}

static void interop_with_natterd(void **state)
{
	(void)state;
	assert_int_equal(with_natterd_server(SCRAM_SHA_1, "s3cret pw"), NT_OK);
	assert_int_equal(with_natterd_server(SCRAM_SHA_256, "s3cret pw"), NT_OK);
	assert_int_equal(with_natterd_server(SCRAM_SHA_1, "wrong"), NT_EAUTH);
	assert_int_equal(with_natterd_server(SCRAM_SHA_256, "wrong"), NT_EAUTH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc5802_example),
		cmocka_unit_test(rfc7677_example),
		cmocka_unit_test(cache_derives_once),
		cmocka_unit_test(malformed_server_first),
		cmocka_unit_test(username_is_escaped_and_nonce_random),
		cmocka_unit_test(interop_with_natterd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
