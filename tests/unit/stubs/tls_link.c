/* A server tls_conn and an mbedTLS client over net_pipe, for unit tests; see tls_link.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "core/err.h"
#include "tls/tls.h"
#include "net_pipe.h"
#include "tls_link.h"

#define TLS_LINK_PEER     "192.0.2.10"
#define TLS_LINK_PORT     5223
#define TLS_LINK_PUMP_MAX 1000000	/* a stuck exchange fails instead of hanging */

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;

/* What OpenSSL clients offer. mbedTLS's own default list puts x25519 13th, past the 11
 * groups an mbedTLS 2.28 server keeps (MBEDTLS_ECP_DP_MAX), so it would never be chosen. */
static const mbedtls_ecp_group_id openssl_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_CURVE448,
	MBEDTLS_ECP_DP_SECP521R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE
};

int tls_link_global_setup(void **state)
{
	(void)state;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	return mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	                             (const unsigned char *)"tls_link", 8);
}

int tls_link_global_teardown(void **state)
{
	(void)state;
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return 0;
}

int tls_link_pending(int rc)
{
	return rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cli_send(void *arg, const unsigned char *p, size_t n)
{
	struct tls_link *l = arg;

	if (l->trickle) {
		if ((l->stall_tx ^= 1))
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		n = n > TLS_LINK_CHUNK ? TLS_LINK_CHUNK : n;
	}
	assert_int_equal(net_pipe_send(l->c, p, n), NT_OK);
	return (int)n;
}

static int cli_recv(void *arg, unsigned char *p, size_t n)
{
	struct tls_link *l = arg;
	size_t got;

	if (l->trickle) {
		if ((l->stall_rx ^= 1))
			return MBEDTLS_ERR_SSL_WANT_READ;
		n = n > TLS_LINK_CHUNK ? TLS_LINK_CHUNK : n;
	}
	got = net_pipe_recv(l->c, p, n);
	if (l->rx < sizeof(l->head))
		memcpy(l->head + l->rx, p, got < sizeof(l->head) - l->rx ?
		       got : sizeof(l->head) - l->rx);
	l->rx += got;
	return got > 0 ? (int)got : MBEDTLS_ERR_SSL_WANT_READ;
}

static void client_init(struct tls_link *l, const struct tls_link_opts *o)
{
	mbedtls_ssl_config_init(&l->conf);
	mbedtls_ssl_init(&l->ssl);
	mbedtls_x509_crt_init(&l->ca);
	assert_int_equal(mbedtls_x509_crt_parse_file(&l->ca, o->ca), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&l->conf, MBEDTLS_SSL_IS_CLIENT,
	                                             MBEDTLS_SSL_TRANSPORT_STREAM,
	                                             MBEDTLS_SSL_PRESET_DEFAULT), 0);
	mbedtls_ssl_conf_authmode(&l->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&l->conf, &l->ca, NULL);
	mbedtls_ssl_conf_rng(&l->conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_session_tickets(&l->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	mbedtls_ssl_conf_curves(&l->conf, o->curves != NULL ? o->curves : openssl_curves);
	if (o->suites != NULL)
		mbedtls_ssl_conf_ciphersuites(&l->conf, o->suites);
	if (o->alpn != NULL) {
		l->alpn[0] = o->alpn;
		assert_int_equal(mbedtls_ssl_conf_alpn_protocols(&l->conf, l->alpn), 0);
	}
	if (o->tls11) {
		mbedtls_ssl_conf_min_version(&l->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
		                             MBEDTLS_SSL_MINOR_VERSION_2);
		mbedtls_ssl_conf_max_version(&l->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
		                             MBEDTLS_SSL_MINOR_VERSION_2);
	}
	assert_int_equal(mbedtls_ssl_setup(&l->ssl, &l->conf), 0);
	assert_non_null(o->hostname);
	assert_int_equal(mbedtls_ssl_set_hostname(&l->ssl, o->hostname), 0);
	if (o->resume != NULL)
		assert_int_equal(mbedtls_ssl_set_session(&l->ssl, o->resume), 0);
	mbedtls_ssl_set_bio(&l->ssl, l, cli_send, cli_recv, NULL);
}

void tls_link_open(struct tls_link *l, struct tls_ctx *ctx, const char *srv_alpn,
                   const struct tls_link_opts *o)
{
	memset(l, 0, sizeof(*l));
	l->trickle = o->trickle;
	l->c = net_pipe_new(TLS_LINK_PEER, TLS_LINK_PORT);
	assert_non_null(l->c);
	l->t = tls_conn_new(ctx, l->c, srv_alpn);
	assert_non_null(l->t);
	client_init(l, o);
}

void tls_link_close(struct tls_link *l)
{
	tls_conn_free(l->t);
	mbedtls_ssl_free(&l->ssl);
	mbedtls_ssl_config_free(&l->conf);
	mbedtls_x509_crt_free(&l->ca);
	net_pipe_free(l->c);
}

int tls_link_handshake(struct tls_link *l, int *cli_rc)
{
	int crc = MBEDTLS_ERR_SSL_WANT_READ, src = NT_EAGAIN;
	long i;

	for (i = 0; i < TLS_LINK_PUMP_MAX; i++) {
		if (tls_link_pending(crc))
			crc = mbedtls_ssl_handshake(&l->ssl);
		if (src == NT_EAGAIN) {
			double t0 = now_ms();

			src = tls_handshake(l->t);
			l->srv_ms += now_ms() - t0;
		}
		if (src == NT_EIO || (src == NT_OK && !tls_link_pending(crc)))
			break;
	}
	*cli_rc = crc;
	return src;
}

void tls_link_handshake_ok(struct tls_link *l)
{
	int crc;

	assert_int_equal(tls_link_handshake(l, &crc), NT_OK);
	assert_int_equal(crc, 0);
	assert_int_equal(mbedtls_ssl_get_verify_result(&l->ssl), 0);
}

size_t tls_link_to_server(struct tls_link *l, const unsigned char *p, size_t n,
                          unsigned char *out)
{
	size_t sent = 0, got = 0;
	long i;

	for (i = 0; i < TLS_LINK_PUMP_MAX && got < n; i++) {
		ssize_t r;

		if (sent < n) {
			int rc = mbedtls_ssl_write(&l->ssl, p + sent, n - sent);

			if (rc > 0)
				sent += (size_t)rc;
			else
				assert_true(tls_link_pending(rc));
		}
		r = tls_read(l->t, out + got, n - got);
		if (r > 0)
			got += (size_t)r;
		else
			assert_int_equal(r, NT_EAGAIN);
	}
	return got;
}

size_t tls_link_to_client(struct tls_link *l, const unsigned char *p, size_t n,
                          unsigned char *out)
{
	size_t got = 0;
	long i;

	assert_int_equal(tls_write(l->t, p, n), NT_OK);
	for (i = 0; i < TLS_LINK_PUMP_MAX && got < n; i++) {
		int rc = mbedtls_ssl_read(&l->ssl, out + got, n - got);

		if (rc > 0)
			got += (size_t)rc;
		else
			assert_true(tls_link_pending(rc));
	}
	return got;
}

void tls_link_exchange(struct tls_link *l, size_t n)
{
	unsigned char *msg = malloc(n), *back = malloc(n);
	size_t i;

	assert_non_null(msg);
	assert_non_null(back);
	for (i = 0; i < n; i++)
		msg[i] = (unsigned char)(i * 31 + n);
	assert_int_equal(tls_link_to_server(l, msg, n, back), n);
	assert_memory_equal(back, msg, n);
	memset(back, 0, n);
	assert_int_equal(tls_link_to_client(l, msg, n, back), n);
	assert_memory_equal(back, msg, n);
	free(msg);
	free(back);
}

/* Walks the plaintext handshake records at the start of what the client received. */
int tls_link_server_curve(const struct tls_link *l)
{
	const unsigned char *p = l->head;
	const unsigned char *end = l->head + (l->rx < sizeof(l->head) ? l->rx : sizeof(l->head));

	while (end - p >= 5 && p[0] == MBEDTLS_SSL_MSG_HANDSHAKE) {
		const unsigned char *m = p + 5, *rend = m + (p[3] << 8 | p[4]);

		if (rend > end)
			break;
		for (; rend - m >= 4; m += 4 + (m[1] << 16 | m[2] << 8 | m[3])) {
			int ske = m[0] == MBEDTLS_SSL_HS_SERVER_KEY_EXCHANGE;

			if (ske && rend - m >= 7 && m[4] == 3)	/* named_curve */
				return m[5] << 8 | m[6];
		}
		p = rend;
	}
	return -1;
}
