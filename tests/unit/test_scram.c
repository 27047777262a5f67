#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include "core/base64.h"
#include "core/err.h"
#include "xmpp/scram.h"

#define FAST_ITER 64		/* enough to exercise PBKDF2, quick enough for many tests */

static const uint8_t test_salt[16] = "0123456789abcdef";

/* RFC 5802 section 5 and RFC 7677 section 3: user "user", password "pencil". */
struct rfc_example {
	enum scram_hash hash;
	const char *client_first, *server_nonce, *salt_b64, *server_first, *client_final;
	const char *server_final;
};

static const struct rfc_example rfc5802 = {
	SCRAM_SHA_1,
	"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	"3rfcNHYJY1ZVvWVs7j",
	"QSXCR+Q6sek8bf92",
	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

static const struct rfc_example rfc7677 = {
	SCRAM_SHA_256,
	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	"%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
	"W22ZaJ0SNY7soEsUEjb6gQ==",
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

static int start(struct scram_server *s, enum scram_hash h, const char *msg, char *user,
                 size_t cap)
{
	return scram_server_start(s, h, NULL, msg, strlen(msg), user, cap);
}

static int final(struct scram_server *s, const char *msg, char *out, size_t cap)
{
	return scram_server_final(s, msg, strlen(msg), out, cap);
}

/* Runs an RFC example up to server-first; leaves s waiting for client-final. */
static void rfc_first(const struct rfc_example *ex, struct scram_server *s, const char *password)
{
	struct scram_creds c;
	uint8_t salt[SCRAM_SALT_MAX];
	size_t salt_len;
	char user[64], out[SCRAM_MSG_MAX];

	assert_int_equal(start(s, ex->hash, ex->client_first, user, sizeof(user)), NT_OK);
	assert_string_equal(user, "user");
	assert_int_equal(base64_decode(ex->salt_b64, strlen(ex->salt_b64), salt, sizeof(salt),
				       &salt_len), NT_OK);
	assert_int_equal(scram_creds_make(ex->hash, password, strlen(password), salt, salt_len,
					  4096, &c), NT_OK);
	assert_int_equal(scram_server_set_nonce_for_test(s, ex->server_nonce), NT_OK);
	assert_int_equal(scram_server_first(s, &c, out, sizeof(out)), NT_OK);
	assert_string_equal(out, ex->server_first);
}

static void check_rfc_example(const struct rfc_example *ex)
{
	struct scram_server s;
	char out[SCRAM_MSG_MAX];

	rfc_first(ex, &s, "pencil");
	assert_int_equal(final(&s, ex->client_final, out, sizeof(out)), NT_OK);
	assert_string_equal(out, ex->server_final);
	scram_server_clear(&s);
}

static void scram_rfc5802_sha1_example(void **state)
{
	(void)state;
	check_rfc_example(&rfc5802);
}

static void scram_rfc7677_sha256_example(void **state)
{
	(void)state;
	check_rfc_example(&rfc7677);
}

static void scram_wrong_password_is_eauth(void **state)
{
	struct scram_server s;
	char out[SCRAM_MSG_MAX];

	(void)state;
	/* The RFC client's proof is for "pencil"; the account's password is another. */
	rfc_first(&rfc7677, &s, "pencil2");
	assert_int_equal(final(&s, rfc7677.client_final, out, sizeof(out)), NT_EAUTH);
	assert_string_equal(out, "");
}

static void scram_wrong_proof_is_eauth(void **state)
{
	struct scram_server s;
	char out[SCRAM_MSG_MAX], msg[SCRAM_MSG_MAX];
	char *p;

	(void)state;
	rfc_first(&rfc5802, &s, "pencil");
	strcpy(msg, rfc5802.client_final);
	p = strstr(msg, ",p=") + 3;
	*p = *p == 'A' ? 'B' : 'A';		/* still 20 bytes of valid base64 */
	assert_int_equal(final(&s, msg, out, sizeof(out)), NT_EAUTH);
	assert_string_equal(out, "");
	/* One attempt only: the exchange is over. */
	assert_int_equal(final(&s, rfc5802.client_final, out, sizeof(out)), NT_EINVAL);
}

/* Expects client-final msg to be refused with rc after the RFC 5802 server-first. */
static void expect_final(const char *msg, size_t n, int rc)
{
	struct scram_server s;
	char out[SCRAM_MSG_MAX];

	rfc_first(&rfc5802, &s, "pencil");
	assert_int_equal(scram_server_final(&s, msg, n, out, sizeof(out)), rc);
	assert_string_equal(out, "");
}

#define RFC1_NONCE "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j"
#define RFC1_PROOF "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="

static void scram_final_mismatch_is_einval(void **state)
{
	static const char *const bad[] = {
		"c=biws,r=fyko+d2lbbFgONRv9qkxdawL,"RFC1_PROOF,	/* client nonce only */
		"c=biws,r="RFC1_NONCE"x,"RFC1_PROOF,
		"c=biws,r="RFC1_NONCE"\x7f,"RFC1_PROOF,
		"c=biws,r=,"RFC1_PROOF,
		"c=eSws,r="RFC1_NONCE","RFC1_PROOF,	/* "y,," */
		"c=cD10bHMtdW5pcXVlLCw=,r="RFC1_NONCE","RFC1_PROOF,	/* "p=tls-unique,," */
		"c=biwsAA==,r="RFC1_NONCE","RFC1_PROOF,	/* "n,," and a NUL */
		"c=,r="RFC1_NONCE","RFC1_PROOF,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_final(bad[i], strlen(bad[i]), NT_EINVAL);
}

static void scram_final_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		",",
		"c=biws",
		"c=biws,r="RFC1_NONCE,
		"c=biws,r="RFC1_NONCE",",
		"c=biws,r="RFC1_NONCE",p=",
		"c=biws,r="RFC1_NONCE",p=v0X8v3Bz2T0CJGbJQyF0X+HI4T=",	/* bad base64 */
		"c=biws,r="RFC1_NONCE",p=v0X8v3Bz2T0CJGbJQyF0X+HI",	/* truncated */
		"c=biws,r="RFC1_NONCE",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=AAAA",	/* 23 bytes */
		"c=biws,r="RFC1_NONCE",p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=\n",
		"c=biws,r="RFC1_NONCE","RFC1_PROOF",x=1",	/* proof not last */
		"r="RFC1_NONCE",c=biws,"RFC1_PROOF,	/* order */
		"c=biw,r="RFC1_NONCE","RFC1_PROOF,
		"c=biws,r="RFC1_NONCE",x,"RFC1_PROOF,	/* bad extension */
		"c=biws,r="RFC1_NONCE",=x,"RFC1_PROOF,
		"c=biws,r="RFC1_NONCE",,"RFC1_PROOF,
		"c=biws,"RFC1_PROOF,
		RFC1_PROOF,
		"d=biws,r="RFC1_NONCE","RFC1_PROOF,
	};
	static const char with_nul[] = "c=biws,r="RFC1_NONCE"\0,"RFC1_PROOF;
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_final(bad[i], strlen(bad[i]), NT_EINVAL);
	expect_final(with_nul, sizeof(with_nul) - 1, NT_EINVAL);
	/* Past SCRAM_MSG_MAX: a valid message padded with an extension. */
	big = malloc(SCRAM_MSG_MAX + 64);
	assert_non_null(big);
	i = (size_t)sprintf(big, "c=biws,r=%s,x=", RFC1_NONCE);
	memset(big + i, 'a', SCRAM_MSG_MAX);
	strcpy(big + SCRAM_MSG_MAX - 4, ","RFC1_PROOF);
	expect_final(big, strlen(big), NT_EINVAL);
	free(big);
}

static void scram_state_machine(void **state)
{
	struct scram_server s;
	struct scram_creds c;
	char out[SCRAM_MSG_MAX], user[16];

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "pencil", 6, test_salt, sizeof(test_salt),
					  FAST_ITER, &c), NT_OK);
	/* Nothing but start works on a fresh (zeroed) exchange. */
	assert_int_equal(scram_server_first(&s, &c, out, sizeof(out)), NT_EINVAL);
	assert_int_equal(final(&s, rfc5802.client_final, out, sizeof(out)), NT_EINVAL);
	assert_int_equal(scram_server_set_nonce_for_test(&s, "abc"), NT_EINVAL);
	/* Client-final right after start. */
	assert_int_equal(start(&s, SCRAM_SHA_1, rfc5802.client_first, user, sizeof(user)), NT_OK);
	assert_int_equal(final(&s, rfc5802.client_final, out, sizeof(out)), NT_EINVAL);
	/* The test nonce must be printable and free of ','. */
	assert_int_equal(start(&s, SCRAM_SHA_1, rfc5802.client_first, user, sizeof(user)), NT_OK);
	assert_int_equal(scram_server_set_nonce_for_test(&s, "a,b"), NT_EINVAL);
	assert_int_equal(scram_server_set_nonce_for_test(&s, ""), NT_EINVAL);
	assert_int_equal(scram_server_set_nonce_for_test(&s, "a b"), NT_EINVAL);
	/* Creds that cannot be sent. */
	c.salt_len = 0;
	assert_int_equal(scram_server_first(&s, &c, out, sizeof(out)), NT_EINVAL);
	c.salt_len = SCRAM_SALT_MAX + 1;
	assert_int_equal(scram_server_first(&s, &c, out, sizeof(out)), NT_EINVAL);
	c.salt_len = sizeof(test_salt);
	/* Too small an output buffer. */
	assert_int_equal(scram_server_first(&s, &c, out, 40), NT_ELIMIT);
	assert_int_equal(scram_server_first(&s, &c, out, sizeof(out)), NT_OK);
	/* The failed attempt did not leave a nonce part behind: r=<24><32>,s= */
	assert_int_equal(strchr(out, ',') - out, 2 + 24 + BASE64_ENCODED_LEN(SCRAM_NONCE_LEN));
	assert_int_equal(scram_server_first(&s, &c, out, sizeof(out)), NT_EINVAL); /* twice */
	/* Clearing ends the exchange and wipes the keys. */
	scram_server_clear(&s);
	assert_int_equal(s.creds.iterations, 0);
	assert_int_equal(s.creds.stored_key[0] | s.creds.stored_key[1], 0);
	assert_int_equal(final(&s, rfc5802.client_final, out, sizeof(out)), NT_EINVAL);
	/* An unknown hash. */
	assert_int_equal(start(&s, (enum scram_hash)7, rfc5802.client_first, user, sizeof(user)),
			 NT_EINVAL);
}

static void scram_final_output_cap(void **state)
{
	struct scram_server s;
	char out[SCRAM_MSG_MAX];

	(void)state;
	rfc_first(&rfc5802, &s, "pencil");
	/* "v=" plus 28 characters needs 31 bytes. */
	assert_int_equal(final(&s, rfc5802.client_final, out, 30), NT_ELIMIT);
	rfc_first(&rfc5802, &s, "pencil");
	assert_int_equal(final(&s, rfc5802.client_final, out, 31), NT_OK);
	assert_string_equal(out, rfc5802.server_final);
}

/* An independent SCRAM client (from the RFC 5802 formulas) that answers server_first for
 * password with client-final "<final_bare>,p=<proof>" and the server-final it expects. */
static void client_answer(enum scram_hash h, const char *password, const char *first_bare,
                          const char *server_first, const char *final_bare, char *msg,
                          size_t msg_cap, char *expect_v)
{
	const mbedtls_md_info_t *md =
		mbedtls_md_info_from_type(h == SCRAM_SHA_1 ? MBEDTLS_MD_SHA1 : MBEDTLS_MD_SHA256);
	size_t hlen = mbedtls_md_get_size(md), salt_len, i;
	uint8_t salt[SCRAM_SALT_MAX], salted[32], ck[32], sk[32], svk[32], cs[32], sv[32];
	char am[3 * SCRAM_MSG_MAX], b64[BASE64_ENCODED_LEN(32) + 1];
	const char *s = strstr(server_first, ",s="), *it = strstr(server_first, ",i=");
	mbedtls_md_context_t ctx;

	assert_non_null(s);
	assert_non_null(it);
	assert_int_equal(base64_decode(s + 3, (size_t)(it - s - 3), salt, sizeof(salt),
				       &salt_len), NT_OK);
	mbedtls_md_init(&ctx);
	assert_int_equal(mbedtls_md_setup(&ctx, md, 1), 0);
	assert_int_equal(mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)password,
						   strlen(password), salt, salt_len,
						   (unsigned)atoi(it + 3), hlen, salted), 0);
	mbedtls_md_free(&ctx);
	mbedtls_md_hmac(md, salted, hlen, (const unsigned char *)"Client Key", 10, ck);
	mbedtls_md(md, ck, hlen, sk);
	mbedtls_md_hmac(md, salted, hlen, (const unsigned char *)"Server Key", 10, svk);
	snprintf(am, sizeof(am), "%s,%s,%s", first_bare, server_first, final_bare);
	mbedtls_md_hmac(md, sk, hlen, (const unsigned char *)am, strlen(am), cs);
	mbedtls_md_hmac(md, svk, hlen, (const unsigned char *)am, strlen(am), sv);
	for (i = 0; i < hlen; i++)
		ck[i] ^= cs[i];
	assert_int_equal(base64_encode(ck, hlen, b64, sizeof(b64), NULL), NT_OK);
	assert_true((size_t)snprintf(msg, msg_cap, "%s,p=%s", final_bare, b64) < msg_cap);
	assert_int_equal(base64_encode(sv, hlen, b64, sizeof(b64), NULL), NT_OK);
	snprintf(expect_v, 64, "v=%s", b64);
}

/* A whole exchange with a random server nonce: client_first is "<gs2><bare>", the client's
 * final message carries ext (e.g. ",x=1") before its proof. Returns server_final's result. */
static int exchange(enum scram_hash h, const char *gs2, const char *bare, const char *ext,
                    const char *account_pw, const char *client_pw, char *nonce_out)
{
	struct scram_server s;
	struct scram_creds c;
	char first[SCRAM_MSG_MAX], user[64], sf[SCRAM_MSG_MAX], fb[SCRAM_MSG_MAX];
	char msg[SCRAM_MSG_MAX], expect_v[64], out[SCRAM_MSG_MAX], gs2_b64[128];
	int rc;

	snprintf(first, sizeof(first), "%s%s", gs2, bare);
	assert_int_equal(start(&s, h, first, user, sizeof(user)), NT_OK);
	assert_int_equal(scram_creds_make(h, account_pw, strlen(account_pw), test_salt,
					  sizeof(test_salt), FAST_ITER, &c), NT_OK);
	assert_int_equal(scram_server_first(&s, &c, sf, sizeof(sf)), NT_OK);
	/* r=<client nonce><32 characters of base64 from 24 random bytes>,s=..,i=.. */
	assert_int_equal(strchr(sf, ',') - sf, 2 + strcspn(strstr(bare, ",r=") + 3, ",") +
			 BASE64_ENCODED_LEN(SCRAM_NONCE_LEN));
	if (nonce_out != NULL)
		snprintf(nonce_out, 64, "%.*s", (int)(strchr(sf, ',') - sf), sf);
	assert_int_equal(base64_encode((const uint8_t *)gs2, strlen(gs2), gs2_b64,
				       sizeof(gs2_b64), NULL), NT_OK);
	snprintf(fb, sizeof(fb), "c=%s,%.*s%s", gs2_b64, (int)(strchr(sf, ',') - sf), sf, ext);
	client_answer(h, client_pw, bare, sf, fb, msg, sizeof(msg), expect_v);
	rc = final(&s, msg, out, sizeof(out));
	if (rc == NT_OK)
		assert_string_equal(out, expect_v);
	scram_server_clear(&s);
	return rc;
}

static void scram_full_exchanges(void **state)
{
	char n1[64], n2[64];

	(void)state;
	assert_int_equal(exchange(SCRAM_SHA_256, "n,,", "n=juliet,r=abc", "", "pw1", "pw1", n1),
			 NT_OK);
	assert_int_equal(exchange(SCRAM_SHA_256, "n,,", "n=juliet,r=abc", "", "pw1", "pw1", n2),
			 NT_OK);
	assert_string_not_equal(n1, n2);		/* fresh server nonces */
	assert_int_equal(exchange(SCRAM_SHA_1, "n,,", "n=juliet,r=abc", "", "pw1", "pw1", NULL),
			 NT_OK);
	assert_int_equal(exchange(SCRAM_SHA_256, "n,,", "n=juliet,r=abc", "", "pw1", "pw2", NULL),
			 NT_EAUTH);
	/* "y,," (client could bind, thinks we cannot) is bound into c= as it is. */
	assert_int_equal(exchange(SCRAM_SHA_256, "y,,", "n=juliet,r=abc", "", "pw", "pw", NULL),
			 NT_OK);
	/* An authzid of the user's bare JID is kept in the gs2 header. */
	assert_int_equal(exchange(SCRAM_SHA_1, "n,a=juliet@capulet.lit,", "n=juliet,r=x", "",
				  "pw", "pw", NULL), NT_OK);
	/* Extensions in both client messages are ignored but covered by the proof. */
	assert_int_equal(exchange(SCRAM_SHA_256, "n,,", "n=juliet,r=abc,x=1,y=2", ",z=3", "pw",
				  "pw", NULL), NT_OK);
	/* SASLprep on both sides: U+00AD vanishes, U+00A0 becomes a space. */
	assert_int_equal(exchange(SCRAM_SHA_256, "n,,", "n=juliet,r=abc", "", "I\xc2\xadX\xc2\xa0y",
				  "IX y", NULL), NT_OK);
}

/* Starts with msg, expecting rc, and on NT_OK the username want. */
static void expect_start(const char *msg, int rc, const char *want)
{
	struct scram_server s;
	char user[64];

	assert_int_equal(start(&s, SCRAM_SHA_256, msg, user, sizeof(user)), rc);
	assert_string_equal(user, rc == NT_OK ? want : "");
	scram_server_clear(&s);
}

static void scram_start_usernames(void **state)
{
	(void)state;
	expect_start("n,,n=user,r=abc", NT_OK, "user");
	expect_start("n,,n=a=3Db=2Cc,r=abc", NT_OK, "a=b,c");
	expect_start("n,,n=I\xc2\xadX,r=abc", NT_OK, "IX");		/* SASLprep */
	expect_start("n,,n=User,r=abc", NT_OK, "User");			/* no case folding */
	expect_start("n,,n=user,r=abc,x=1", NT_OK, "user");
	expect_start("n,,n=us=er,r=abc", NT_EINVAL, NULL);
	expect_start("n,,n=us=2c,r=abc", NT_EINVAL, NULL);
	expect_start("n,,n=us=3,r=abc", NT_EINVAL, NULL);
	expect_start("n,,n=us=,r=abc", NT_EINVAL, NULL);
	expect_start("n,,n=,r=abc", NT_EINVAL, NULL);
	expect_start("n,,n=\x07,r=abc", NT_EINVAL, NULL);
	expect_start("n,,n=\xff,r=abc", NT_EINVAL, NULL);
	expect_start("n,,n=\xc2\xad,r=abc", NT_EINVAL, NULL);	/* empty after SASLprep */
}

static void scram_start_malformed(void **state)
{
	static const char *const bad[] = {
		"", "n", "n,", "n,,", "x,,n=user,r=abc", "nn,,n=user,r=abc", ",,n=user,r=abc",
		"n,,m=ext,n=user,r=abc", "n,,n=user", "n,,n=user,r=", "n,,n=user,r=ab c",
		"n,,n=user,r=ab\x80", "n,,n=user,r=abc,", "n,,n=user,r=abc,x",
		"n,,n=user,r=abc,1=a",
		"n,,n=user,r=abc,x=", "n,,r=abc,n=user", "n,,user,r=abc", "n,a,n=user,r=abc",
		"n,a=,n=user,r=abc", "n,b=user,n=user,r=abc", "n,a=us=er,n=user,r=abc",
		"n,,,n=user,r=abc", "y", "n=user,r=abc",
	};
	static const char with_nul[] = "n,,n=user,r=abc\0";
	struct scram_server s;
	char user[64], *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_start(bad[i], NT_EINVAL, NULL);
	assert_int_equal(scram_server_start(&s, SCRAM_SHA_1, NULL, with_nul, sizeof(with_nul) - 1, user,
					    sizeof(user)), NT_EINVAL);
	/* A client nonce that leaves no room for ours; and a message past SCRAM_MSG_MAX. */
	big = malloc(SCRAM_MSG_MAX + 16);
	assert_non_null(big);
	strcpy(big, "n,,n=user,r=");
	memset(big + 12, 'a', 2 * SCRAM_MSG_MAX / 4 - BASE64_ENCODED_LEN(SCRAM_NONCE_LEN));
	big[12 + 2 * SCRAM_MSG_MAX / 4 - BASE64_ENCODED_LEN(SCRAM_NONCE_LEN)] = '\0';
	expect_start(big, NT_EINVAL, NULL);
	big[strlen(big) - 1] = '\0';		/* one less: fits exactly */
	expect_start(big, NT_OK, "user");
	memset(big + 12, 'a', SCRAM_MSG_MAX);
	big[12 + SCRAM_MSG_MAX] = '\0';
	expect_start(big, NT_EINVAL, NULL);
	free(big);
	/* The caller's buffer is too small for the username. */
	assert_int_equal(start(&s, SCRAM_SHA_1, "n,,n=juliet,r=abc", user, 6), NT_ELIMIT);
	assert_int_equal(start(&s, SCRAM_SHA_1, "n,,n=juliet,r=abc", user, 7), NT_OK);
}

static void scram_start_channel_binding_and_authzid(void **state)
{
	(void)state;
	/* No binding offered (NULL): "p=" is malformed, "y" is honest. */
	expect_start("p=tls-unique,,n=user,r=abc", NT_EINVAL, NULL);
	expect_start("p=tls-server-end-point,,n=user,r=abc", NT_EINVAL, NULL);
	expect_start("p=tls-exporter,a=user,n=user,r=abc", NT_EINVAL, NULL);
	expect_start("y,,n=user,r=abc", NT_OK, "user");
	expect_start("n,a=user,n=user,r=abc", NT_OK, "user");
	expect_start("n,a=user@example.com,n=user,r=abc", NT_OK, "user");
	expect_start("n,a=us=2Cer@x,n=us=2Cer,r=abc", NT_OK, "us,er");
	expect_start("n,a=other@example.com,n=user,r=abc", NT_EAUTH, NULL);
	expect_start("n,a=username,n=user,r=abc", NT_EAUTH, NULL);
	expect_start("n,a=use,n=user,r=abc", NT_EAUTH, NULL);
	expect_start("n,a=User,n=user,r=abc", NT_EAUTH, NULL);
	/* A long authzid still fits; a gs2 header past what the state keeps is refused. */
	expect_start("n,a=user@a-very-long-domain-name-for-a-small-office.example.com,"
		     "n=user,r=abc", NT_OK, "user");
	{
		char hdr[JID_MAX_GS2 + 64];

		memcpy(hdr, "n,a=user@", 9);
		memset(hdr + 9, 'd', JID_MAX_GS2);
		strcpy(hdr + 9 + JID_MAX_GS2, ",n=user,r=abc");
		expect_start(hdr, NT_EINVAL, NULL);
	}
}

/* A binding offer: tls-server-end-point is 32 bytes of 0xe1, tls-exporter (when exporter)
 * 32 bytes of 0xe2 without a context and 0xe3 with an empty one. */
static void cb_offer(struct scram_cb *cb, int offered, int plus, int exporter)
{
	memset(cb, 0, sizeof(*cb));
	cb->offered = offered;
	cb->plus = plus;
	cb->data[SCRAM_CB_SERVER_END_POINT][0].len = 32;
	memset(cb->data[SCRAM_CB_SERVER_END_POINT][0].data, 0xe1, 32);
	if (!exporter)
		return;
	cb->data[SCRAM_CB_EXPORTER][0].len = 32;
	memset(cb->data[SCRAM_CB_EXPORTER][0].data, 0xe2, 32);
	cb->data[SCRAM_CB_EXPORTER][1].len = 32;
	memset(cb->data[SCRAM_CB_EXPORTER][1].data, 0xe3, 32);
}

static int start_cb(const struct scram_cb *cb, const char *msg)
{
	struct scram_server s;
	char user[64];
	int rc = scram_server_start(&s, SCRAM_SHA_256, cb, msg, strlen(msg), user, sizeof(user));

	assert_string_equal(user, rc == NT_OK ? "user" : "");
	scram_server_clear(&s);
	return rc;
}

static void scram_gs2_flag_against_offer(void **state)
{
	struct scram_cb cb;

	(void)state;
	/* Plain SCRAM on a stream that offered -PLUS: "n" is fine, "y" is the downgrade. */
	cb_offer(&cb, 1, 0, 1);
	assert_int_equal(start_cb(&cb, "n,,n=user,r=abc"), NT_OK);
	assert_int_equal(start_cb(&cb, "y,,n=user,r=abc"), NT_EAUTH);
	assert_int_equal(start_cb(&cb, "y,a=user,n=user,r=abc"), NT_EAUTH);
	assert_int_equal(start_cb(&cb, "p=tls-server-end-point,,n=user,r=abc"), NT_EINVAL);
	/* Nothing offered: "y" is true, so it is accepted. */
	cb_offer(&cb, 0, 0, 0);
	assert_int_equal(start_cb(&cb, "y,,n=user,r=abc"), NT_OK);
	/* A -PLUS mechanism must name a type the connection has. */
	cb_offer(&cb, 1, 1, 0);
	assert_int_equal(start_cb(&cb, "p=tls-server-end-point,,n=user,r=abc"), NT_OK);
	assert_int_equal(start_cb(&cb, "p=tls-server-end-point,a=user,n=user,r=abc"), NT_OK);
	assert_int_equal(start_cb(&cb, "p=tls-exporter,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "n,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "y,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "p=tls-unique,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "p=tls-server-end-pointx,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "p=tls-server-end-poin,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "p=,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "p,,n=user,r=abc"), NT_EINVAL);
	assert_int_equal(start_cb(&cb, "P=tls-server-end-point,,n=user,r=abc"), NT_EINVAL);
	cb_offer(&cb, 1, 1, 1);
	assert_int_equal(start_cb(&cb, "p=tls-exporter,,n=user,r=abc"), NT_OK);
	assert_string_equal(scram_cb_name(SCRAM_CB_SERVER_END_POINT), "tls-server-end-point");
	assert_string_equal(scram_cb_name(SCRAM_CB_EXPORTER), "tls-exporter");
}

/* A -PLUS exchange whose client-final carries c=base64(gs2 + bind[0..bind_len)). */
static int exchange_cb(const struct scram_cb *cb, const char *gs2, const uint8_t *bind,
                       size_t bind_len)
{
	struct scram_server s;
	struct scram_creds c;
	char first[SCRAM_MSG_MAX], user[64], sf[SCRAM_MSG_MAX], fb[SCRAM_MSG_MAX];
	char msg[SCRAM_MSG_MAX], expect_v[64], out[SCRAM_MSG_MAX], c_b64[256];
	uint8_t cbind[160];
	size_t glen = strlen(gs2);
	int rc;

	snprintf(first, sizeof(first), "%sn=user,r=abc", gs2);
	assert_int_equal(scram_server_start(&s, SCRAM_SHA_256, cb, first, strlen(first), user,
					    sizeof(user)), NT_OK);
	assert_int_equal(scram_creds_make(SCRAM_SHA_256, "pw", 2, test_salt, sizeof(test_salt),
					  FAST_ITER, &c), NT_OK);
	assert_int_equal(scram_server_first(&s, &c, sf, sizeof(sf)), NT_OK);
	assert_true(glen + bind_len <= sizeof(cbind));
	memcpy(cbind, gs2, glen);
	memcpy(cbind + glen, bind, bind_len);
	assert_int_equal(base64_encode(cbind, glen + bind_len, c_b64, sizeof(c_b64), NULL), NT_OK);
	snprintf(fb, sizeof(fb), "c=%s,%.*s", c_b64, (int)(strchr(sf, ',') - sf), sf);
	client_answer(SCRAM_SHA_256, "pw", "n=user,r=abc", sf, fb, msg, sizeof(msg), expect_v);
	rc = final(&s, msg, out, sizeof(out));
	if (rc == NT_OK)
		assert_string_equal(out, expect_v);
	scram_server_clear(&s);
	return rc;
}

static void scram_plus_checks_binding_data(void **state)
{
	struct scram_cb cb;
	uint8_t v[33];
	const char *sep = "p=tls-server-end-point,,", *exp = "p=tls-exporter,a=user,";

	(void)state;
	cb_offer(&cb, 1, 1, 1);
	memset(v, 0xe1, sizeof(v));
	assert_int_equal(exchange_cb(&cb, sep, v, 32), NT_OK);
	assert_int_equal(exchange_cb(&cb, sep, v, 31), NT_EAUTH);	/* short */
	assert_int_equal(exchange_cb(&cb, sep, v, 33), NT_EAUTH);	/* long */
	assert_int_equal(exchange_cb(&cb, sep, v, 0), NT_EAUTH);	/* header only */
	v[31] = 0xe0;
	assert_int_equal(exchange_cb(&cb, sep, v, 32), NT_EAUTH);	/* one bit off */
	/* Either tls-exporter value, never the other type's. */
	memset(v, 0xe2, sizeof(v));
	assert_int_equal(exchange_cb(&cb, exp, v, 32), NT_OK);
	memset(v, 0xe3, sizeof(v));
	assert_int_equal(exchange_cb(&cb, exp, v, 32), NT_OK);
	memset(v, 0xe1, sizeof(v));
	assert_int_equal(exchange_cb(&cb, exp, v, 32), NT_EAUTH);
	/* Plain SCRAM ("n") binds nothing: the header alone, extra bytes are malformed. */
	cb_offer(&cb, 1, 0, 1);
	assert_int_equal(exchange_cb(&cb, "n,,", v, 0), NT_OK);
	assert_int_equal(exchange_cb(&cb, "n,,", v, 32), NT_EINVAL);
}

static void scram_creds_and_plain_password(void **state)
{
	struct scram_creds c, c2;

	(void)state;
	assert_int_equal(scram_hash_len(SCRAM_SHA_1), 20);
	assert_int_equal(scram_hash_len(SCRAM_SHA_256), 32);
	assert_int_equal(scram_creds_make(SCRAM_SHA_256, "pencil", 6, test_salt,
					  sizeof(test_salt), FAST_ITER, &c), NT_OK);
	assert_int_equal(c.iterations, FAST_ITER);
	assert_int_equal(c.salt_len, sizeof(test_salt));
	assert_memory_equal(c.salt, test_salt, sizeof(test_salt));
	assert_memory_not_equal(c.stored_key, c.server_key, 32);
	assert_int_equal(scram_check_password(SCRAM_SHA_256, &c, "pencil", 6), NT_OK);
	assert_int_equal(scram_check_password(SCRAM_SHA_256, &c, "Pencil", 6), NT_EAUTH);
	assert_int_equal(scram_check_password(SCRAM_SHA_256, &c, "pencil ", 7), NT_EAUTH);
	assert_int_equal(scram_check_password(SCRAM_SHA_256, &c, "", 0), NT_EINVAL);
	assert_int_equal(scram_check_password(SCRAM_SHA_256, &c, "pen\0cil", 7), NT_EINVAL);
	assert_int_equal(scram_check_password(SCRAM_SHA_256, &c, "pen\x07", 4), NT_EINVAL);
	/* Only the first pwlen bytes count. */
	assert_int_equal(scram_check_password(SCRAM_SHA_256, &c, "pencilXYZ", 6), NT_OK);
	/* RFC 4013 examples: U+00AD is mapped to nothing, U+00AA ("a") by NFKC. */
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "I\xc2\xadX", 4, test_salt,
					  sizeof(test_salt), FAST_ITER, &c), NT_OK);
	assert_int_equal(scram_check_password(SCRAM_SHA_1, &c, "IX", 2), NT_OK);
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "\xc2\xaa", 2, test_salt,
					  sizeof(test_salt), FAST_ITER, &c), NT_OK);
	assert_int_equal(scram_check_password(SCRAM_SHA_1, &c, "a", 1), NT_OK);
	/* Bidi: RandALCat at the start but not at the end. */
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "\xd8\xa7" "1", 3, test_salt,
					  sizeof(test_salt), FAST_ITER, &c2), NT_EINVAL);
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "\xc2\xad", 2, test_salt,
					  sizeof(test_salt), FAST_ITER, &c2), NT_EINVAL);
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "pw", 2, test_salt, 0, FAST_ITER, &c2),
			 NT_EINVAL);
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "pw", 2, test_salt, SCRAM_SALT_MAX + 1,
					  FAST_ITER, &c2), NT_EINVAL);
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "pw", 2, test_salt, sizeof(test_salt), 0,
					  &c2), NT_EINVAL);
	/* Same inputs, same keys; another salt, other keys. */
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "pw", 2, test_salt, 16, FAST_ITER, &c),
			 NT_OK);
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "pw", 2, test_salt, 16, FAST_ITER, &c2),
			 NT_OK);
	assert_memory_equal(&c, &c2, sizeof(c));
	assert_int_equal(scram_creds_make(SCRAM_SHA_1, "pw", 2, test_salt, 15, FAST_ITER, &c2),
			 NT_OK);
	assert_memory_not_equal(c.stored_key, c2.stored_key, 20);
}

static void scram_fake_creds(void **state)
{
	static const uint8_t secret[32] = "server-wide secret key 12345678";
	static const uint8_t other[32] = "another secret key 123456789012";
	struct scram_creds a, b, c;
	struct scram_server s;
	char user[64], out[SCRAM_MSG_MAX];

	(void)state;
	scram_creds_fake(SCRAM_SHA_256, "romeo", secret, sizeof(secret), 4096, &a);
	scram_creds_fake(SCRAM_SHA_256, "romeo", secret, sizeof(secret), 4096, &b);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(a.iterations, 4096);
	assert_int_equal(a.salt_len, 16);	/* natterctl's salt length */
	scram_creds_fake(SCRAM_SHA_256, "juliet", secret, sizeof(secret), 4096, &c);
	assert_memory_not_equal(a.salt, c.salt, a.salt_len);
	assert_memory_not_equal(a.stored_key, c.stored_key, 32);
	scram_creds_fake(SCRAM_SHA_256, "romeo", other, sizeof(other), 4096, &c);
	assert_memory_not_equal(a.salt, c.salt, a.salt_len);
	/* Each hash has a salt of its own, as natterctl makes real accounts. */
	scram_creds_fake(SCRAM_SHA_1, "romeo", secret, sizeof(secret), 4096, &c);
	assert_int_equal(c.salt_len, a.salt_len);
	assert_memory_not_equal(a.salt, c.salt, a.salt_len);
	assert_memory_not_equal(a.stored_key, c.stored_key, 20);
	assert_memory_not_equal(a.stored_key, a.server_key, 32);
	/* An exchange against fake creds goes all the way and fails like a wrong password. */
	assert_int_equal(start(&s, SCRAM_SHA_1, rfc5802.client_first, user, sizeof(user)), NT_OK);
	assert_int_equal(scram_server_set_nonce_for_test(&s, rfc5802.server_nonce), NT_OK);
	scram_creds_fake(SCRAM_SHA_1, "user", secret, sizeof(secret), 4096, &c);
	assert_int_equal(scram_server_first(&s, &c, out, sizeof(out)), NT_OK);
	assert_non_null(strstr(out, ",i=4096"));
	assert_int_equal(final(&s, rfc5802.client_final, out, sizeof(out)), NT_EAUTH);
}

static void expect_plain(const char *msg, size_t n, int rc, const char *authz, const char *authc,
                         const char *pass)
{
	const char *z = NULL, *c = NULL, *p = NULL;
	size_t zl = 0, cl = 0, pl = 0;

	assert_int_equal(sasl_plain_parse(msg, n, &z, &zl, &c, &cl, &p, &pl), rc);
	if (rc != NT_OK)
		return;
	assert_int_equal(zl, strlen(authz));
	assert_memory_equal(z, authz, zl);
	assert_int_equal(cl, strlen(authc));
	assert_memory_equal(c, authc, cl);
	assert_int_equal(pl, strlen(pass));
	assert_memory_equal(p, pass, pl);
}

#define PLAIN(lit) lit, sizeof(lit) - 1

static void sasl_plain(void **state)
{
	(void)state;
	expect_plain(PLAIN("\0user\0pencil"), NT_OK, "", "user", "pencil");
	expect_plain(PLAIN("user@example.com\0user\0pen cil"), NT_OK, "user@example.com", "user",
		     "pen cil");
	expect_plain(PLAIN(""), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("userpencil"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("\0userpencil"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("\0"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("\0\0"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("\0\0pencil"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("\0user\0"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("\0user\0pen\0cil"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("\0user\0pencil\0"), NT_EINVAL, NULL, NULL, NULL);
	expect_plain(PLAIN("a\0user\0pencil"), NT_OK, "a", "user", "pencil");
	/* Only n bytes are read. */
	expect_plain("\0user\0pencil", 8, NT_OK, "", "user", "pe");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scram_rfc5802_sha1_example),
		cmocka_unit_test(scram_rfc7677_sha256_example),
		cmocka_unit_test(scram_wrong_password_is_eauth),
		cmocka_unit_test(scram_wrong_proof_is_eauth),
		cmocka_unit_test(scram_final_mismatch_is_einval),
		cmocka_unit_test(scram_final_malformed),
		cmocka_unit_test(scram_state_machine),
		cmocka_unit_test(scram_final_output_cap),
		cmocka_unit_test(scram_full_exchanges),
		cmocka_unit_test(scram_start_usernames),
		cmocka_unit_test(scram_start_malformed),
		cmocka_unit_test(scram_start_channel_binding_and_authzid),
		cmocka_unit_test(scram_gs2_flag_against_offer),
		cmocka_unit_test(scram_plus_checks_binding_data),
		cmocka_unit_test(scram_creds_and_plain_password),
		cmocka_unit_test(scram_fake_creds),
		cmocka_unit_test(sasl_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
