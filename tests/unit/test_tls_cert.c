/*
 * Unit tests for firmware/tls/cert.c and certificates it did not just make: one of the shape
 * natterd made before its keyUsage had keyCertSign (issue 10: NSS clients such as Pidgin and
 * finch refuse it outright) is made anew for the same key; an admin's upload never is. The
 * certificates are written here with mbedTLS's x509write, independently of cert.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "core/err.h"
#include "core/log.h"
#include "tls/tls.h"
#include "tls/tls_int.h"
#include "tests/unit/stubs/certfix.h"

#define DOMAIN   "chat.example.test"
#define FILE_MAX 8192

/* Today's shape (test_tls.c's check_new_cert() checks every field of a first start's). */
static void check_new_shape(const mbedtls_x509_crt *crt)
{
	char dn[256];

	assert_true(mbedtls_x509_dn_gets(dn, sizeof(dn), &crt->subject) > 0);
	assert_string_equal(dn, "CN=" DOMAIN);
	assert_int_equal(crt->subject_alt_names.buf.len, strlen(DOMAIN));
	assert_memory_equal(crt->subject_alt_names.buf.p, DOMAIN, strlen(DOMAIN));
	assert_int_equal(crt->ca_istrue, 0);
	assert_int_equal(crt->key_usage,
	                 MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_CERT_SIGN);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(crt, MBEDTLS_OID_SERVER_AUTH,
	                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
}

struct rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static void rng_init(struct rng *r)
{
	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	assert_int_equal(mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
	                                       NULL, 0), 0);
}

static void rng_free(struct rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
}

static void fill_cert(mbedtls_x509write_cert *w, unsigned ku, size_t serial_len, struct rng *r)
{
	/* subjectAltName dNSName DOMAIN, extKeyUsage serverAuth, in DER. */
	static const unsigned char san[] = { 0x30, 2 + sizeof(DOMAIN) - 1, 0x82,
		sizeof(DOMAIN) - 1, 'c', 'h', 'a', 't', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
		'.', 't', 'e', 's', 't' };
	static const unsigned char eku[] = { 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05,
		0x05, 0x07, 0x03, 0x01 };
	unsigned char raw[32];
	char from[16], to[16];
	time_t now = time(NULL), start = now - 3600;
	mbedtls_mpi serial;
	struct tm tm;

	mbedtls_mpi_init(&serial);
	assert_int_equal(mbedtls_ctr_drbg_random(&r->drbg, raw, serial_len), 0);
	raw[0] = (raw[0] & 0x7f) | 0x40;
	assert_int_equal(mbedtls_mpi_read_binary(&serial, raw, serial_len), 0);
	assert_int_equal(mbedtls_x509write_crt_set_serial(w, &serial), 0);
	mbedtls_mpi_free(&serial);
	gmtime_r(&now, &tm);
	tm.tm_year += 10;
	now = timegm(&tm);
	gmtime_r(&start, &tm);
	strftime(from, sizeof(from), "%Y%m%d%H%M%S", &tm);
	gmtime_r(&now, &tm);
	strftime(to, sizeof(to), "%Y%m%d%H%M%S", &tm);
	assert_int_equal(mbedtls_x509write_crt_set_validity(w, from, to), 0);
	mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(w, "CN=" DOMAIN), 0);
	assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(w, 0, -1), 0);
	assert_int_equal(mbedtls_x509write_crt_set_key_usage(w, ku), 0);
	assert_int_equal(mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_SUBJECT_ALT_NAME,
	                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san, sizeof(san)), 0);
	assert_int_equal(mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	                 MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, eku, sizeof(eku)), 0);
}

/* Writes DATADIR/tls/cert.pem for the box's key.pem, with keyUsage ku and a serial of
 * serial_len bytes; self-signed when ca is NULL, else issued by "CN=Office CA" with ca.
 * With ca NULL, digitalSignature and 16 bytes this is the certificate natterd made before
 * keyCertSign. Its SHA-256 fingerprint goes to fp. */
static void write_box_cert(struct fix *f, unsigned ku, size_t serial_len,
                           mbedtls_pk_context *ca, char fp[TLS_FP_LEN])
{
	unsigned char pem[FILE_MAX];
	mbedtls_x509write_cert w;
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	struct rng r;

	rng_init(&r);
	mbedtls_pk_init(&key);
	assert_int_equal(mbedtls_pk_parse_keyfile(&key, fpath(f, "tls/key.pem"), NULL), 0);
	mbedtls_x509write_crt_init(&w);
	fill_cert(&w, ku, serial_len, &r);
	mbedtls_x509write_crt_set_subject_key(&w, &key);
	mbedtls_x509write_crt_set_issuer_key(&w, ca != NULL ? ca : &key);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, ca != NULL ? "CN=Office CA" :
	                                                        "CN=" DOMAIN), 0);
	assert_int_equal(mbedtls_x509write_crt_pem(&w, pem, sizeof(pem), mbedtls_ctr_drbg_random,
	                                           &r.drbg), 0);
	write_file(fpath(f, "tls/cert.pem"), (const char *)pem, strlen((const char *)pem));
	mbedtls_x509write_crt_free(&w);
	mbedtls_pk_free(&key);
	rng_free(&r);
	parse_cert(f, "tls/cert.pem", &crt);
	assert_int_equal(crt.key_usage, ku);
	tls_cert_fingerprint(&crt, fp);
	mbedtls_x509_crt_free(&crt);
}

/* A box upgraded from a natterd that made certificates without keyCertSign gets a new one of
 * today's shape for the key it has, once. */
static void old_shape_cert_is_remade_for_the_same_key(void **state)
{
	struct fix *f = *state;
	char key1[FILE_MAX], key2[FILE_MAX], fp_old[TLS_FP_LEN], fp_new[TLS_FP_LEN];
	mbedtls_pk_context key;
	struct tls_ctx *ctx;
	mbedtls_x509_crt crt;
	size_t n;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	tls_ctx_free(ctx);
	n = read_file(fpath(f, "tls/key.pem"), key1, sizeof(key1));
	write_box_cert(f, MBEDTLS_X509_KU_DIGITAL_SIGNATURE, 16, NULL, fp_old);

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	snprintf(fp_new, sizeof(fp_new), "%s", tls_ctx_fingerprint(ctx));
	tls_ctx_free(ctx);
	assert_string_not_equal(fp_new, fp_old);
	parse_cert(f, "tls/cert.pem", &crt);
	check_new_shape(&crt);
	mbedtls_pk_init(&key);
	assert_int_equal(mbedtls_pk_parse_keyfile(&key, fpath(f, "tls/key.pem"), NULL), 0);
	assert_int_equal(mbedtls_pk_check_pair(&crt.pk, &key), 0);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	assert_int_equal(read_file(fpath(f, "tls/key.pem"), key2, sizeof(key2)), n);
	assert_memory_equal(key1, key2, n);

	/* The new one is kept from then on. */
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	assert_string_equal(tls_ctx_fingerprint(ctx), fp_new);
	tls_ctx_free(ctx);
}

/* A new certificate that cannot be saved (here cert.pem.new is in the way) leaves the old
 * one in use and on disk: the box still starts, for the clients that accept it. */
static void old_shape_cert_stays_when_the_new_cannot_be_saved(void **state)
{
	struct fix *f = *state;
	char before[FILE_MAX], after[FILE_MAX], fp_old[TLS_FP_LEN];
	struct tls_ctx *ctx;
	size_t n;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	tls_ctx_free(ctx);
	write_box_cert(f, MBEDTLS_X509_KU_DIGITAL_SIGNATURE, 16, NULL, fp_old);
	n = read_file(fpath(f, "tls/cert.pem"), before, sizeof(before));
	assert_int_equal(mkdir(fpath(f, "tls/cert.pem.new"), 0700), 0);
	assert_int_equal(mkdir(fpath(f, "tls/cert.pem.new/x"), 0700), 0);

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	assert_string_equal(tls_ctx_fingerprint(ctx), fp_old);
	tls_ctx_free(ctx);
	assert_int_equal(read_file(fpath(f, "tls/cert.pem"), after, sizeof(after)), n);
	assert_memory_equal(before, after, n);

	/* Once out of the way, the next start makes it. */
	assert_int_equal(rmdir(fpath(f, "tls/cert.pem.new/x")), 0);
	assert_int_equal(rmdir(fpath(f, "tls/cert.pem.new")), 0);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	assert_string_not_equal(tls_ctx_fingerprint(ctx), fp_old);
	tls_ctx_free(ctx);
}

/* What an admin put there is served as it is, whatever its keyUsage: a certificate from the
 * office's CA, and a self-signed one that another tool made (its serial is not natterd's). */
static void uploaded_certs_are_never_remade(void **state)
{
	struct fix *f = *state;
	char before[FILE_MAX], after[FILE_MAX], fp[TLS_FP_LEN];
	mbedtls_pk_context ca;
	struct tls_ctx *ctx;
	struct rng r;
	size_t n;
	int i;

	rng_init(&r);
	mbedtls_pk_init(&ca);
	assert_int_equal(mbedtls_pk_setup(&ca, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(ca),
	                                     mbedtls_ctr_drbg_random, &r.drbg), 0);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	tls_ctx_free(ctx);
	for (i = 0; i < 2; i++) {
		if (i == 0)
			write_box_cert(f, MBEDTLS_X509_KU_DIGITAL_SIGNATURE, 16, &ca, fp);
		else
			write_box_cert(f, MBEDTLS_X509_KU_DIGITAL_SIGNATURE, 20, NULL, fp);
		n = read_file(fpath(f, "tls/cert.pem"), before, sizeof(before));
		assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
		assert_string_equal(tls_ctx_fingerprint(ctx), fp);
		tls_ctx_free(ctx);
		assert_int_equal(read_file(fpath(f, "tls/cert.pem"), after, sizeof(after)), n);
		assert_memory_equal(before, after, n);
	}
	mbedtls_pk_free(&ca);
	rng_free(&r);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, certfix_setup, certfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(old_shape_cert_is_remade_for_the_same_key),
		TEST(old_shape_cert_stays_when_the_new_cannot_be_saved),
		TEST(uploaded_certs_are_never_remade),
	};

	log_set_level(LOG_INFO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
