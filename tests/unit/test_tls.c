/*
 * Unit tests for firmware/tls: the first-start key and certificate, and a server tls_conn
 * talking to an independent mbedTLS client through the in-memory net_pipe fake. Both sides are
 * non-blocking; in "trickle" mode the client's BIO moves a few bytes per call and stalls every
 * other call, so every handshake state has to survive NT_EAGAIN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "core/err.h"
#include "core/log.h"
#include "tls/tls.h"
#include "tls/tls_int.h"
#include "tests/unit/stubs/net_pipe.h"
#include "tests/unit/stubs/tls_link.h"
#include "tests/unit/stubs/certfix.h"

#define DOMAIN   "chat.example.test"
#define BIG      (100 * 1024)
#define FILE_MAX 8192
#define TIMED_N  20

/* Helpers ------------------------------------------------------------------------------ */

static void copy_file(const char *from, const char *to)
{
	char buf[FILE_MAX];

	write_file(to, buf, read_file(from, buf, sizeof(buf)));
}

/* Key and certificate ------------------------------------------------------------------ */

static const unsigned char ecdsa_sha256[] = {
	0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const unsigned char ecdsa_sha256_null[] = {
	0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x05, 0x00 };

static int count_in(const mbedtls_x509_buf *b, const unsigned char *needle, size_t n)
{
	size_t i;
	int count = 0;

	for (i = 0; i + n <= b->len; i++)
		count += memcmp(b->p + i, needle, n) == 0;
	return count;
}

static void check_new_cert(const mbedtls_x509_crt *crt)
{
	char dn[256];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	assert_int_equal(crt->version, 3);
	assert_true(mbedtls_x509_dn_gets(dn, sizeof(dn), &crt->subject) > 0);
	assert_string_equal(dn, "CN=" DOMAIN);
	assert_true(crt->ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME);
	assert_int_equal(crt->subject_alt_names.buf.tag, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
	assert_int_equal(crt->subject_alt_names.buf.len, strlen(DOMAIN));
	assert_memory_equal(crt->subject_alt_names.buf.p, DOMAIN, strlen(DOMAIN));
	assert_null(crt->subject_alt_names.next);
	assert_true(crt->ext_types & MBEDTLS_X509_EXT_BASIC_CONSTRAINTS);
	assert_int_equal(crt->ca_istrue, 0);
	/* keyCertSign too: NSS (Pidgin, finch) refuses a self-signed certificate without it
	 * (SEC_ERROR_INADEQUATE_KEY_USAGE) instead of asking whether to accept it. */
	assert_true(crt->ext_types & MBEDTLS_X509_EXT_KEY_USAGE);
	assert_int_equal(crt->key_usage,
	                 MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_CERT_SIGN);
	assert_int_equal(mbedtls_x509_crt_check_extended_key_usage(crt, MBEDTLS_OID_SERVER_AUTH,
	                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)), 0);
	assert_true(mbedtls_x509_time_is_past(&crt->valid_from));
	assert_int_equal(crt->valid_to.year, tm.tm_year + 1900 + 10);
	assert_int_equal(crt->serial.len, 16);
	assert_int_equal(crt->serial.p[0] & 0x80, 0);
	assert_int_equal(crt->sig_md, MBEDTLS_MD_SHA256);
	/* ecdsa-with-SHA256 without parameters, in the TBS and outside it (RFC 5758 3.2). */
	assert_int_equal(count_in(&crt->raw, ecdsa_sha256, sizeof(ecdsa_sha256)), 2);
	assert_int_equal(count_in(&crt->raw, ecdsa_sha256_null, sizeof(ecdsa_sha256_null)), 0);
	assert_int_equal(crt->sig_pk, MBEDTLS_PK_ECDSA);
	assert_int_equal(mbedtls_pk_get_type(&crt->pk), MBEDTLS_PK_ECKEY);
	assert_int_equal(mbedtls_pk_ec(crt->pk)->grp.id, MBEDTLS_ECP_DP_SECP256R1);
}

static void first_start_makes_key_and_cert_then_reuses_them(void **state)
{
	struct fix *f = *state;
	char key1[FILE_MAX], key2[FILE_MAX], fp[100];
	unsigned char md[32];
	size_t n1, n2, i;
	struct tls_ctx *ctx;
	mbedtls_x509_crt crt;
	struct stat st;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	assert_int_equal(stat(fpath(f, "tls"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(fpath(f, "tls/key.pem"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(fpath(f, "tls/key.pem.new"), &st), -1);
	parse_cert(f, "tls/cert.pem", &crt);
	check_new_cert(&crt);
	/* The fingerprint is the SHA-256 of the DER, computed here independently. */
	assert_int_equal(mbedtls_sha256_ret(crt.raw.p, crt.raw.len, md, 0), 0);
	for (i = 0; i < sizeof(md); i++)
		snprintf(fp + 3 * i, sizeof(fp) - 3 * i, "%02X:", md[i]);
	fp[3 * sizeof(md) - 1] = '\0';
	assert_string_equal(tls_ctx_fingerprint(ctx), fp);
	mbedtls_x509_crt_free(&crt);
	n1 = read_file(fpath(f, "tls/key.pem"), key1, sizeof(key1));
	assert_non_null(strstr(key1, "BEGIN EC PRIVATE KEY"));
	tls_ctx_free(ctx);

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	assert_string_equal(tls_ctx_fingerprint(ctx), fp);
	n2 = read_file(fpath(f, "tls/key.pem"), key2, sizeof(key2));
	assert_int_equal(n1, n2);
	assert_memory_equal(key1, key2, n1);
	tls_ctx_free(ctx);
}

static void bad_key_files_fail_and_are_left_alone(void **state)
{
	struct fix *f = *state;
	static const char junk[] = "-----BEGIN EC PRIVATE KEY-----\nnot a key\n";
	char buf[FILE_MAX], crt1[FILE_MAX], crt2[FILE_MAX];
	struct tls_ctx *ctx;
	struct stat st;
	size_t n;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	tls_ctx_free(ctx);
	n = read_file(fpath(f, "tls/cert.pem"), crt1, sizeof(crt1));

	write_file(fpath(f, "tls/key.pem"), junk, sizeof(junk) - 1);
	ctx = (struct tls_ctx *)1;
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_EIO);
	assert_null(ctx);
	assert_int_equal(read_file(fpath(f, "tls/key.pem"), buf, sizeof(buf)), sizeof(junk) - 1);
	assert_memory_equal(buf, junk, sizeof(junk) - 1);

	/* A key that cannot be read. */
	assert_int_equal(unlink(fpath(f, "tls/key.pem")), 0);
	assert_int_equal(mkdir(fpath(f, "tls/key.pem"), 0700), 0);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_EIO);
	assert_int_equal(rmdir(fpath(f, "tls/key.pem")), 0);

	/* A certificate without its key: no key is made for someone else's certificate. */
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_EIO);
	assert_int_equal(stat(fpath(f, "tls/key.pem"), &st), -1);
	assert_int_equal(read_file(fpath(f, "tls/cert.pem"), crt2, sizeof(crt2)), n);
	assert_memory_equal(crt1, crt2, n);

	/* A malformed certificate. */
	assert_int_equal(unlink(fpath(f, "tls/cert.pem")), 0);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);	/* both made anew */
	tls_ctx_free(ctx);
	write_file(fpath(f, "tls/cert.pem"), "garbage", 7);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_EIO);
	assert_int_equal(read_file(fpath(f, "tls/cert.pem"), buf, sizeof(buf)), 7);
}

static void key_without_cert_gets_a_new_cert(void **state)
{
	struct fix *f = *state;
	char key1[FILE_MAX], key2[FILE_MAX], fp1[100];
	struct tls_ctx *ctx;
	size_t n;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	snprintf(fp1, sizeof(fp1), "%s", tls_ctx_fingerprint(ctx));
	tls_ctx_free(ctx);
	n = read_file(fpath(f, "tls/key.pem"), key1, sizeof(key1));
	assert_int_equal(unlink(fpath(f, "tls/cert.pem")), 0);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	assert_string_not_equal(tls_ctx_fingerprint(ctx), fp1);
	tls_ctx_free(ctx);
	assert_int_equal(read_file(fpath(f, "tls/key.pem"), key2, sizeof(key2)), n);
	assert_memory_equal(key1, key2, n);
	/* The new certificate belongs to the kept key: a restart checks the pair. */
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	tls_ctx_free(ctx);
}

static void idn_and_ip_domains_get_matching_names(void **state)
{
	static const unsigned char v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct fix *f = *state;
	struct tls_ctx *ctx;
	mbedtls_x509_crt crt;
	const mbedtls_x509_buf *san;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, "b\xc3\xbc" "cher.example"), NT_OK);
	tls_ctx_free(ctx);
	parse_cert(f, "tls/cert.pem", &crt);
	san = &crt.subject_alt_names.buf;
	assert_int_equal(san->tag, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2);
	assert_int_equal(san->len, strlen("xn--bcher-kva.example"));
	assert_memory_equal(san->p, "xn--bcher-kva.example", san->len);
	mbedtls_x509_crt_free(&crt);

	assert_int_equal(unlink(fpath(f, "tls/cert.pem")), 0);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, "[2001:db8::1]"), NT_OK);
	tls_ctx_free(ctx);
	parse_cert(f, "tls/cert.pem", &crt);
	san = &crt.subject_alt_names.buf;
	assert_int_equal(san->tag, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7);
	assert_int_equal(san->len, 16);
	assert_memory_equal(san->p, v6, 16);
	mbedtls_x509_crt_free(&crt);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, "[2001:db8::1]"), NT_OK);	/* reloads */
	tls_ctx_free(ctx);

	assert_int_equal(tls_ctx_new(&ctx, f->dir, "bad,name=x"), NT_EINVAL);
}

/* Connections -------------------------------------------------------------------------- */

static void trickled_handshake_then_data_both_ways(void **state)
{
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN, .trickle = 1 };
	unsigned char buf[4096];
	struct tls_ctx *ctx;
	struct tls_link l;
	int rc;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	o.ca = fpath(f, "tls/cert.pem");
	tls_link_open(&l, ctx, NULL, &o);
	net_pipe_set_read_max(l.c, 5);		/* the server's reads split records too */
	assert_int_equal(tls_read(l.t, buf, sizeof(buf)), NT_EAGAIN);	/* nothing sent yet */
	tls_link_handshake_ok(&l);
	assert_string_equal(mbedtls_ssl_get_version(&l.ssl), "TLSv1.2");
	assert_string_equal(mbedtls_ssl_get_ciphersuite(&l.ssl),
	                    "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256");
	assert_int_equal(tls_link_server_curve(&l), 0x001d);	/* x25519 */
	assert_null(mbedtls_ssl_get_alpn_protocol(&l.ssl));
	tls_link_exchange(&l, 5);
	tls_link_exchange(&l, BIG);

	/* One tls_read() takes every record already in the pipe. */
	net_pipe_set_read_max(l.c, 0);
	l.trickle = 0;
	assert_int_equal(mbedtls_ssl_write(&l.ssl, (const unsigned char *)"one", 3), 3);
	assert_int_equal(mbedtls_ssl_write(&l.ssl, (const unsigned char *)"two", 3), 3);
	assert_int_equal(mbedtls_ssl_write(&l.ssl, (const unsigned char *)"three", 5), 5);
	assert_int_equal(tls_read(l.t, buf, sizeof(buf)), 11);
	assert_memory_equal(buf, "onetwothree", 11);
	assert_int_equal(tls_read(l.t, buf, sizeof(buf)), NT_EAGAIN);
	/* A short buffer leaves the rest in mbedTLS; calling again until NT_EAGAIN gets it. */
	memset(buf, 'z', 3000);
	assert_int_equal(mbedtls_ssl_write(&l.ssl, buf, 3000), 3000);
	assert_int_equal(tls_read(l.t, buf, 1000), 1000);
	assert_int_equal(tls_read(l.t, buf, 1000), 1000);
	assert_int_equal(tls_read(l.t, buf, 1500), 1000);
	assert_int_equal(tls_read(l.t, buf, 1000), NT_EAGAIN);

	/* The client's close_notify ends the server's reading, for good. */
	l.trickle = 1;
	while ((rc = mbedtls_ssl_close_notify(&l.ssl)) != 0)
		assert_true(tls_link_pending(rc));
	while ((rc = (int)tls_read(l.t, buf, sizeof(buf))) == NT_EAGAIN)
		;
	assert_int_equal(rc, NT_ECLOSED);
	assert_int_equal(tls_read(l.t, buf, sizeof(buf)), NT_ECLOSED);

	/* The server's close_notify reaches the client; nothing is written after it. */
	tls_close_notify(l.t);
	while (tls_link_pending(rc = mbedtls_ssl_read(&l.ssl, buf, sizeof(buf))))
		;
	assert_int_equal(rc, MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY);
	assert_int_equal(tls_write(l.t, "late", 4), NT_EIO);
	tls_link_close(&l);
	tls_ctx_free(ctx);
}

static void alpn_is_negotiated_when_offered(void **state)
{
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN, .alpn = "xmpp-client" };
	struct tls_ctx *ctx;
	struct tls_link l;
	int crc;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	o.ca = fpath(f, "tls/cert.pem");
	tls_link_open(&l, ctx, "xmpp-client", &o);
	tls_link_handshake_ok(&l);
	assert_string_equal(mbedtls_ssl_get_alpn_protocol(&l.ssl), "xmpp-client");
	tls_link_exchange(&l, 100);
	tls_link_close(&l);

	o.alpn = NULL;				/* a client without ALPN is still welcome */
	tls_link_open(&l, ctx, "xmpp-client", &o);
	tls_link_handshake_ok(&l);
	assert_null(mbedtls_ssl_get_alpn_protocol(&l.ssl));
	tls_link_close(&l);

	o.alpn = "xmpp-client";			/* a server port without ALPN ignores it */
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	assert_null(mbedtls_ssl_get_alpn_protocol(&l.ssl));
	tls_link_close(&l);

	o.alpn = "h2";				/* ALPN without xmpp-client fails */
	tls_link_open(&l, ctx, "xmpp-client", &o);
	assert_int_equal(tls_link_handshake(&l, &crc), NT_EIO);
	assert_int_not_equal(crc, 0);
	tls_link_close(&l);
	tls_ctx_free(ctx);
}

/* The server's preferences win; AEAD ECDHE-ECDSA suites and the two curves only. */
static void suites_and_curves_are_the_servers_choice(void **state)
{
	static const int gcm[] = { MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 0 };
	static const int cbc[] = { MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 0 };
	static const int rsa[] = { MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 0 };
	static const mbedtls_ecp_group_id p256_first[] = {
		MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_NONE };
	static const mbedtls_ecp_group_id p256[] = {
		MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE };
	static const mbedtls_ecp_group_id p384[] = {
		MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_NONE };
	static const mbedtls_ecp_group_id p384_only[] = {
		MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE };
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN, .curves = p256_first };
	struct tls_ctx *ctx;
	struct tls_link l;
	int crc;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	o.ca = fpath(f, "tls/cert.pem");
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	assert_int_equal(tls_link_server_curve(&l), 0x001d);	/* x25519 all the same */
	tls_link_close(&l);
	o.curves = p256;
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	assert_int_equal(tls_link_server_curve(&l), 0x0017);		/* secp256r1 */
	tls_link_close(&l);
	o.curves = p384;					/* not ours: P-256 is picked */
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	assert_int_equal(tls_link_server_curve(&l), 0x0017);
	tls_link_close(&l);
	o.curves = p384_only;
	tls_link_open(&l, ctx, NULL, &o);
	assert_int_equal(tls_link_handshake(&l, &crc), NT_EIO);
	tls_link_close(&l);

	o.curves = NULL;
	o.suites = gcm;
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	assert_string_equal(mbedtls_ssl_get_ciphersuite(&l.ssl),
	                    "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384");
	tls_link_exchange(&l, 1000);
	tls_link_close(&l);
	o.suites = cbc;
	tls_link_open(&l, ctx, NULL, &o);
	assert_int_equal(tls_link_handshake(&l, &crc), NT_EIO);
	tls_link_close(&l);
	o.suites = rsa;
	tls_link_open(&l, ctx, NULL, &o);
	assert_int_equal(tls_link_handshake(&l, &crc), NT_EIO);
	tls_link_close(&l);
	tls_ctx_free(ctx);
}

static void old_protocols_and_garbage_are_refused(void **state)
{
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN, .tls11 = 1 };
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	unsigned char buf[64];
	struct tls_ctx *ctx;
	struct tls_link l;
	int crc;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	o.ca = fpath(f, "tls/cert.pem");
	tls_link_open(&l, ctx, NULL, &o);
	assert_int_equal(tls_link_handshake(&l, &crc), NT_EIO);
	assert_int_not_equal(crc, 0);
	tls_link_close(&l);

	o.tls11 = 0;
	tls_link_open(&l, ctx, NULL, &o);
	assert_int_equal(net_pipe_send(l.c, http, sizeof(http) - 1), NT_OK);
	assert_int_equal(tls_handshake(l.t), NT_EIO);
	assert_int_equal(tls_handshake(l.t), NT_EIO);
	assert_int_equal(tls_read(l.t, buf, sizeof(buf)), NT_EIO);
	assert_int_equal(tls_write(l.t, "x", 1), NT_EIO);
	tls_link_close(&l);
	tls_ctx_free(ctx);
}

static void eof_and_full_queue_end_the_session(void **state)
{
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN };
	static unsigned char big[BIG];
	unsigned char buf[64];
	struct tls_ctx *ctx;
	struct tls_link l;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	o.ca = fpath(f, "tls/cert.pem");
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	net_pipe_hangup(l.c);			/* EOF without close_notify */
	assert_int_equal(tls_read(l.t, buf, sizeof(buf)), NT_ECLOSED);
	tls_link_close(&l);

	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	net_pipe_set_outq_max(l.c, 4096);	/* the peer stopped reading */
	assert_int_equal(tls_write(l.t, big, sizeof(big)), NT_EIO);
	assert_int_equal(tls_write(l.t, "x", 1), NT_EIO);
	tls_link_close(&l);
	tls_ctx_free(ctx);
}

static void reload_serves_new_cert_while_old_conns_live_on(void **state)
{
	struct fix *f = *state;
	struct tls_link_opts o1 = { .hostname = DOMAIN }, o2 = { .hostname = DOMAIN };
	char old_ca[300], new_ca[300], fp_old[100], other[300];
	struct tls_ctx *ctx, *ctx2;
	struct tls_link a, b, c;
	int crc;

	/* The "admin's" replacement, made by a second context in another directory. */
	snprintf(other, sizeof(other), "%s", fpath(f, "other"));
	assert_int_equal(mkdir(other, 0700), 0);
	assert_int_equal(tls_ctx_new(&ctx2, other, DOMAIN), NT_OK);
	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	snprintf(fp_old, sizeof(fp_old), "%s", tls_ctx_fingerprint(ctx));
	snprintf(old_ca, sizeof(old_ca), "%s", fpath(f, "old.pem"));
	snprintf(new_ca, sizeof(new_ca), "%s", fpath(f, "other/tls/cert.pem"));
	copy_file(fpath(f, "tls/cert.pem"), old_ca);
	o1.ca = old_ca;
	o2.ca = new_ca;

	tls_link_open(&a, ctx, "xmpp-client", &o1);
	tls_link_handshake_ok(&a);
	snprintf(other, sizeof(other), "%s", fpath(f, "other/tls/key.pem"));
	copy_file(other, fpath(f, "tls/key.pem"));
	copy_file(new_ca, fpath(f, "tls/cert.pem"));
	assert_int_equal(tls_ctx_reload(ctx), NT_OK);
	assert_string_equal(tls_ctx_fingerprint(ctx), tls_ctx_fingerprint(ctx2));
	assert_string_not_equal(tls_ctx_fingerprint(ctx), fp_old);

	tls_link_open(&b, ctx, "xmpp-client", &o2);	/* new connections: new certificate */
	tls_link_handshake_ok(&b);
	tls_link_open(&c, ctx, "xmpp-client", &o1);		/* which the old trust refuses */
	assert_int_equal(tls_link_handshake(&c, &crc), NT_EIO);
	assert_int_equal(crc, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED);
	tls_link_close(&c);

	tls_link_exchange(&a, 1000);			/* the old connection still works */
	tls_ctx_free(ctx);
	tls_link_exchange(&a, 1000);				/* even with the context gone */
	tls_link_exchange(&b, 1000);
	tls_link_close(&a);
	tls_link_close(&b);
	tls_ctx_free(ctx2);
}

static void failed_reload_keeps_the_old_cert(void **state)
{
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN };
	char fp[100];
	struct tls_ctx *ctx;
	struct tls_link l;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	snprintf(fp, sizeof(fp), "%s", tls_ctx_fingerprint(ctx));
	write_file(fpath(f, "tls/key.pem"), "nonsense", 8);
	assert_int_equal(tls_ctx_reload(ctx), NT_EIO);
	assert_string_equal(tls_ctx_fingerprint(ctx), fp);
	o.ca = fpath(f, "tls/cert.pem");
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	tls_link_close(&l);
	tls_ctx_free(ctx);
}

/* Resumption with a session ticket, and the cost of a handshake on this machine. */
static void tickets_resume_and_handshakes_are_timed(void **state)
{
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN };
	mbedtls_ssl_session sess;
	struct tls_ctx *ctx;
	struct tls_link l;
	size_t full_rx = 0, resumed_rx = 0;
	double full_ms = 0, resumed_ms = 0;
	int i;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	o.ca = fpath(f, "tls/cert.pem");
	mbedtls_ssl_session_init(&sess);
	for (i = 0; i < TIMED_N; i++) {
		tls_link_open(&l, ctx, "xmpp-client", &o);
		tls_link_handshake_ok(&l);
		assert_int_equal(tls_link_server_curve(&l), 0x001d);	/* x25519 */
		full_ms += l.srv_ms;
		full_rx = l.rx;
		if (i == 0)
			assert_int_equal(mbedtls_ssl_get_session(&l.ssl, &sess), 0);
		tls_link_close(&l);
	}

	o.resume = &sess;
	for (i = 0; i < TIMED_N; i++) {
		tls_link_open(&l, ctx, "xmpp-client", &o);
		tls_link_handshake_ok(&l);
		resumed_ms += l.srv_ms;
		resumed_rx = l.rx;
		/* No Certificate, no ServerKeyExchange: a small fraction of the full flight. */
		assert_true(resumed_rx * 2 < full_rx);
		assert_int_equal(tls_link_server_curve(&l), -1);
		tls_link_exchange(&l, 100);
		tls_link_close(&l);
	}
	mbedtls_ssl_session_free(&sess);
	full_ms /= TIMED_N;
	resumed_ms /= TIMED_N;
	print_message("tls: server time per handshake: full (X25519 + ECDSA P-256) %.2f ms, "
	              "resumed with a ticket %.3f ms; server flight %zu vs %zu bytes\n",
	              full_ms, resumed_ms, full_rx, resumed_rx);
	assert_true(resumed_ms < full_ms);
	tls_ctx_free(ctx);
}

/* A session sleeps between records and wakes for either direction, many times over, with
 * both AEAD ciphers (GCM's explicit nonce comes from the record counter, ChaCha20's implicit
 * one too): any counter lost in sleep breaks decryption at once. */
static void sleeping_sessions_keep_working(void **state)
{
	static const int gcm[] = { MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0 };
	struct fix *f = *state;
	struct tls_link_opts o = { .hostname = DOMAIN };
	unsigned char buf[4096], msg[300];
	struct tls_ctx *ctx;
	struct tls_link l;

	assert_int_equal(tls_ctx_new(&ctx, f->dir, DOMAIN), NT_OK);
	o.ca = fpath(f, "tls/cert.pem");
	for (int cipher = 0; cipher < 2; cipher++) {
		o.suites = cipher ? gcm : NULL;
		tls_link_open(&l, ctx, NULL, &o);
		assert_int_equal(tls_sleep(l.t), NT_EAGAIN);	/* no sleeping in a handshake */
		tls_link_handshake_ok(&l);
		for (int i = 0; i < 50; i++) {
			memset(msg, 'a' + i % 26, sizeof(msg));
			assert_int_equal(tls_sleep(l.t), NT_OK);
			assert_true(tls_is_asleep(l.t));
			assert_int_equal(tls_sleep(l.t), NT_OK);	/* idempotent */
			if (i % 2) {
				assert_int_equal(tls_link_to_server(&l, msg, sizeof(msg), buf),
				                 sizeof(msg));
			} else {
				assert_int_equal(tls_link_to_client(&l, msg, sizeof(msg), buf),
				                 sizeof(msg));
			}
			assert_memory_equal(buf, msg, sizeof(msg));
			assert_false(tls_is_asleep(l.t));
		}
		/* Half a record waiting: the session must stay awake until it is whole. */
		l.trickle = 1;
		for (int k = 0; k < 4; k++)	/* a stalled call, then 7 bytes per call */
			assert_true(tls_link_pending(mbedtls_ssl_write(&l.ssl, msg, sizeof(msg))));
		assert_int_equal(tls_read(l.t, buf, sizeof(buf)), NT_EAGAIN);
		assert_int_equal(tls_sleep(l.t), NT_EAGAIN);
		l.trickle = 0;
		assert_int_equal(mbedtls_ssl_write(&l.ssl, msg, sizeof(msg)), sizeof(msg));
		assert_int_equal(tls_read(l.t, buf, sizeof(buf)), sizeof(msg));
		assert_memory_equal(buf, msg, sizeof(msg));
		tls_link_exchange(&l, BIG);
		assert_int_equal(tls_sleep(l.t), NT_OK);
		tls_close_notify(l.t);				/* wakes to send the alert */
		assert_false(tls_is_asleep(l.t));
		tls_link_close(&l);
	}
	/* Freed while asleep: nothing leaks (valgrind and ASan runs check). */
	o.suites = NULL;
	tls_link_open(&l, ctx, NULL, &o);
	tls_link_handshake_ok(&l);
	assert_int_equal(tls_sleep(l.t), NT_OK);
	tls_link_close(&l);
	tls_ctx_free(ctx);
}

/* The loaded key is of mbedTLS's ECDSA type, so the curve table built for its first signature
 * stays with the key instead of being rebuilt for every handshake; both the made and the
 * re-read key sign what the certificate verifies. */
static void signing_key_keeps_its_curve_tables(void **state)
{
	struct fix *f = *state;
	unsigned char hash[32] = { 1, 2, 3 }, sig[MBEDTLS_ECDSA_MAX_LEN];
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context key;
	mbedtls_x509_crt crt;
	size_t len;
	int round;

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0), 0);
	for (round = 0; round < 2; round++) {	/* made, then read back */
		mbedtls_pk_init(&key);
		mbedtls_x509_crt_init(&crt);
		assert_int_equal(tls_cert_load(f->dir, DOMAIN, &drbg, &key, &crt), NT_OK);
		assert_int_equal(mbedtls_pk_get_type(&key), MBEDTLS_PK_ECDSA);
		assert_null(mbedtls_pk_ec(key)->grp.T);
		assert_int_equal(mbedtls_pk_sign(&key, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig,
		                                 &len, mbedtls_ctr_drbg_random, &drbg), 0);
		assert_non_null(mbedtls_pk_ec(key)->grp.T);
		assert_int_equal(mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
		                                   sig, len), 0);
		sig[len / 2] ^= 1;
		assert_int_not_equal(mbedtls_pk_verify(&crt.pk, MBEDTLS_MD_SHA256, hash,
		                                       sizeof(hash), sig, len), 0);
		mbedtls_x509_crt_free(&crt);
		mbedtls_pk_free(&key);
	}
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
}

#define TEST(fn) cmocka_unit_test_setup_teardown(fn, certfix_setup, certfix_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(first_start_makes_key_and_cert_then_reuses_them),
		TEST(bad_key_files_fail_and_are_left_alone),
		TEST(key_without_cert_gets_a_new_cert),
		TEST(idn_and_ip_domains_get_matching_names),
		TEST(trickled_handshake_then_data_both_ways),
		TEST(alpn_is_negotiated_when_offered),
		TEST(suites_and_curves_are_the_servers_choice),
		TEST(old_protocols_and_garbage_are_refused),
		TEST(eof_and_full_queue_end_the_session),
		TEST(reload_serves_new_cert_while_old_conns_live_on),
		TEST(failed_reload_keeps_the_old_cert),
		TEST(tickets_resume_and_handshakes_are_timed),
		TEST(sleeping_sessions_keep_working),
		TEST(signing_key_keeps_its_curve_tables),
	};

	log_set_level(LOG_INFO);
	return cmocka_run_group_tests(tests, tls_link_global_setup, tls_link_global_teardown);
}
