#ifndef NATTER_TESTS_TLS_LINK_H
#define NATTER_TESTS_TLS_LINK_H
/*
 * Test-only: a server tls_conn (firmware/tls) and an independent mbedTLS client joined by a
 * net_pipe, both non-blocking, driven in turn by the test. In trickle mode the client's BIO
 * moves TLS_LINK_CHUNK bytes per call and stalls every other call, so each handshake step
 * must survive NT_EAGAIN. Failures are cmocka assertions. Link with net_pipe.c.
 */
#include <stddef.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct net_conn;
struct tls_conn;
struct tls_ctx;

#define TLS_LINK_CHUNK    7
#define TLS_LINK_HEAD_MAX 8192

struct tls_link_opts {
	const char *ca;				/* the certificate file the client trusts */
	const char *hostname;			/* the name the certificate must carry */
	const char *alpn;			/* offered, or NULL */
	int tls11;				/* offer TLS 1.1 only */
	int trickle;
	const int *suites;			/* NULL: mbedTLS's defaults */
	const mbedtls_ecp_group_id *curves;	/* NULL: what OpenSSL clients offer */
	const mbedtls_ssl_session *resume;	/* a session to resume, or NULL */
};

struct tls_link {
	struct net_conn *c;
	struct tls_conn *t;			/* the server side */
	mbedtls_ssl_config conf;		/* the client side */
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt ca;
	const char *alpn[2];
	int trickle, stall_tx, stall_rx;
	size_t rx;				/* bytes the client received */
	unsigned char head[TLS_LINK_HEAD_MAX];	/* the first of them */
	double srv_ms;				/* time spent in tls_handshake() */
};

/* Seed and free the clients' random generator: use as cmocka group setup and teardown. */
int  tls_link_global_setup(void **state);
int  tls_link_global_teardown(void **state);

/* A fresh link on ctx: the server offers srv_alpn (or none), the client as o says. l must
 * stay where it is until tls_link_close(). */
void tls_link_open(struct tls_link *l, struct tls_ctx *ctx, const char *srv_alpn,
                   const struct tls_link_opts *o);
void tls_link_close(struct tls_link *l);
/* 1 for MBEDTLS_ERR_SSL_WANT_READ and MBEDTLS_ERR_SSL_WANT_WRITE. */
int  tls_link_pending(int rc);
/* Runs both handshakes in turn until the server's ends (and the client's too when the
 * server's succeeded). Returns the server's result; *cli_rc gets the client's. */
int  tls_link_handshake(struct tls_link *l, int *cli_rc);
/* Asserts that both handshakes succeed and the client verified the certificate. */
void tls_link_handshake_ok(struct tls_link *l);
/* The client writes n bytes while the server reads them into out: the count it got. */
size_t tls_link_to_server(struct tls_link *l, const unsigned char *p, size_t n,
                          unsigned char *out);
/* The server writes n bytes and the client reads them into out: the count it got. */
size_t tls_link_to_client(struct tls_link *l, const unsigned char *p, size_t n,
                          unsigned char *out);
/* Sends n patterned bytes each way and checks they arrive intact. */
void tls_link_exchange(struct tls_link *l, size_t n);
/* The named group in the ServerKeyExchange the client received (RFC 8422 5.4), or -1. */
int  tls_link_server_curve(const struct tls_link *l);
#endif
