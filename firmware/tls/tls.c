/*
 * TLS over net_conn with mbedTLS, never blocking. The records travel through net_read() and
 * net_write() (BIO callbacks below), never mbedtls_net_*, so any net/ backend carries them.
 *
 * Ownership: a tls_ctx holds the process's random generator and session-ticket key and the
 * current tls_cfg (one generation of key + certificate and its mbedTLS configurations). Each
 * tls_conn holds a reference on the tls_cfg it was made with, and each tls_cfg one on the ctx,
 * so a reload or tls_ctx_free() never pulls a configuration from under an open connection:
 * the last tls_conn_free() releases it.
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h>	/* MBEDTLS_ERR_NET_* codes only; I/O is net_conn's */
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_internal.h>	/* MBEDTLS_SSL_{IN,OUT}_BUFFER_LEN, for sleeping */
#include <mbedtls/ssl_ticket.h>

#include "core/err.h"
#include "core/log.h"
#include "net/net.h"
#include "tls/tls.h"
#include "tls/tls_int.h"

#define TLS_ALPN_SLOTS        4		/* none, xmpp-client, xmpp-server, http/1.1 */
#define TLS_ALPN_NAME_MAX     32
#define TLS_TICKET_LIFETIME_S 86400		/* ticket key rotation and ticket lifetime */
#define TLS_DRBG_PERS         "natterd tls"
#define TLS_EXPORTER_LABEL    "EXPORTER-Channel-Binding"	/* RFC 9266 */
#define TLS_EXPORTER_LEN      32
#define TLS_MASTER_LEN        48
#define TLS_RANDOM_LEN        32

/* Server preference order. ChaCha20 first: the boards have no AES instructions, and mbedTLS
 * has no ARM AES acceleration, so ChaCha20-Poly1305 is the cheaper cipher there. */
static const int tls_suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	0
};

static const mbedtls_ecp_group_id tls_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519,
	MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_NONE
};

/* mbedTLS keeps ALPN in the configuration, so there is one configuration per ALPN name. */
struct tls_conf {
	int used;
	char alpn[TLS_ALPN_NAME_MAX + 1];	/* "" when no ALPN is offered */
	const char *alpn_list[2];
	mbedtls_ssl_config conf;
};

/* One generation of key and certificate. */
struct tls_cfg {
	unsigned refs;			/* the ctx's while current, one per tls_conn */
	struct tls_ctx *ctx;
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
	char fingerprint[TLS_FP_LEN];
	struct tls_conf confs[TLS_ALPN_SLOTS];
};

struct tls_ctx {
	unsigned refs;				/* the owner's, one per tls_cfg alive */
	char *datadir, *domain;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;		/* seeded once, shared by every connection */
	mbedtls_ssl_ticket_context ticket;	/* random AES-256-GCM key, this process only */
	struct tls_cfg *cur;
	/* The connection inside mbedtls_ssl_handshake(), for the key export callback, which
	 * mbedTLS 2.28 gives only the configuration's pointer. One thread: at most one. */
	struct tls_conn *in_handshake;
};

enum tls_state { TLS_HANDSHAKE, TLS_OPEN, TLS_FAILED };

/*
 * A sleeping session has no record buffers. mbedTLS 2.28 allocates 2 x 16.7 KiB per context
 * and can serialise only DTLS contexts, so instead the buffers themselves are released:
 * between records, with nothing pending either way, their only live content is the first
 * bytes of the input buffer (the incoming record counter; TLS keeps it there) and the
 * context's pointers into them. Sleeping keeps those bytes and the pointers' offsets and
 * frees the buffers; waking allocates new ones and rebases the pointers. The layout is
 * checked by the unit tests, which run whole sessions through sleep and wake.
 */
#define TLS_KEEP 32		/* buffer bytes kept across sleep: counter, header, IV */
#define TLS_NPTR 5		/* ctr, hdr, len, iv, msg */

struct tls_sleep {
	uint8_t in_keep[TLS_KEEP], out_keep[TLS_KEEP];
	uint16_t in_off[TLS_NPTR], out_off[TLS_NPTR];
};

struct tls_conn {
	struct tls_cfg *cfg;
	struct net_conn *c;
	enum tls_state state;
	int peer_closed;			/* close_notify or EOF seen */
	int sent_close;				/* our close_notify is queued */
	struct tls_sleep *sleep;		/* set while the record buffers are released */
	int has_exporter;			/* exporter[] holds tls-exporter (see tls.h) */
	uint8_t exporter[2][TLS_EXPORTER_LEN];
	mbedtls_ssl_context ssl;
};

static void tls_ctx_unref(struct tls_ctx *ctx)
{
	if (--ctx->refs > 0)
		return;
	mbedtls_ssl_ticket_free(&ctx->ticket);
	mbedtls_ctr_drbg_free(&ctx->drbg);
	mbedtls_entropy_free(&ctx->entropy);
	free(ctx->datadir);
	free(ctx->domain);
	free(ctx);
}

static void tls_cfg_unref(struct tls_cfg *cfg)
{
	size_t i;

	if (cfg == NULL || --cfg->refs > 0)
		return;
	for (i = 0; i < TLS_ALPN_SLOTS; i++)
		if (cfg->confs[i].used)
			mbedtls_ssl_config_free(&cfg->confs[i].conf);
	mbedtls_x509_crt_free(&cfg->crt);
	mbedtls_pk_free(&cfg->key);
	tls_ctx_unref(cfg->ctx);
	free(cfg);
}

/* RFC 5705 in TLS 1.2: PRF(master secret, label, client_random + server_random [+ context]). */
static int tls_exporter_make(const unsigned char *ms, const unsigned char *crand,
                             const unsigned char *srand, mbedtls_tls_prf_types prf,
                             int with_context, uint8_t out[TLS_EXPORTER_LEN])
{
	unsigned char seed[2 * TLS_RANDOM_LEN + 2];

	memcpy(seed, crand, TLS_RANDOM_LEN);
	memcpy(seed + TLS_RANDOM_LEN, srand, TLS_RANDOM_LEN);
	seed[2 * TLS_RANDOM_LEN] = 0;		/* an empty context: its 16-bit length, 0 */
	seed[2 * TLS_RANDOM_LEN + 1] = 0;
	return mbedtls_ssl_tls_prf(prf, ms, TLS_MASTER_LEN, TLS_EXPORTER_LABEL, seed,
	                           2 * TLS_RANDOM_LEN + (with_context ? 2 : 0), out,
	                           TLS_EXPORTER_LEN);
}

/* mbedTLS's key export: the only moment the master secret is at hand. tls-exporter is kept
 * (never the master secret) when the exporter is safe for binding: a full handshake with the
 * extended master secret. Returning non-zero would fail the handshake, so this never does. */
static int tls_export_keys(void *arg, const unsigned char *ms, const unsigned char *kb,
                           size_t maclen, size_t keylen, size_t ivlen,
                           const unsigned char crand[32], const unsigned char srand[32],
                           mbedtls_tls_prf_types prf)
{
	struct tls_ctx *ctx = arg;
	struct tls_conn *t = ctx->in_handshake;
	const mbedtls_ssl_handshake_params *hs;

	(void)kb;
	(void)maclen;
	(void)keylen;
	(void)ivlen;
	if (t == NULL || (hs = t->ssl.handshake) == NULL)
		return 0;
	t->has_exporter = 0;
	if (hs->resume || hs->extended_ms != MBEDTLS_SSL_EXTENDED_MS_ENABLED)
		return 0;
	if (tls_exporter_make(ms, crand, srand, prf, 0, t->exporter[0]) == 0 &&
	    tls_exporter_make(ms, crand, srand, prf, 1, t->exporter[1]) == 0)
		t->has_exporter = 1;
	return 0;
}

static int tls_conf_setup(struct tls_cfg *cfg, struct tls_conf *s, const char *alpn)
{
	mbedtls_ssl_config *conf = &s->conf;
	size_t n = strlen(alpn);
	int rc;

	if (n > TLS_ALPN_NAME_MAX) {
		log_err("tls: ALPN name too long: %s", alpn);
		return NT_EINVAL;
	}
	mbedtls_ssl_config_init(conf);
	s->used = 1;
	memcpy(s->alpn, alpn, n + 1);
	s->alpn_list[0] = s->alpn;
	s->alpn_list[1] = NULL;
	if ((rc = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER,
	                                      MBEDTLS_SSL_TRANSPORT_STREAM,
	                                      MBEDTLS_SSL_PRESET_DEFAULT)) != 0 ||
	    (rc = mbedtls_ssl_conf_own_cert(conf, &cfg->crt, &cfg->key)) != 0 ||
	    (n > 0 && (rc = mbedtls_ssl_conf_alpn_protocols(conf, s->alpn_list)) != 0)) {
		log_err("tls: configuration failed: -0x%04x", (unsigned)-rc);
		return NT_EIO;
	}
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(conf, tls_suites);
	mbedtls_ssl_conf_curves(conf, tls_curves);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &cfg->ctx->drbg);
	mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	/* The extended master secret makes tls-exporter safe for channel binding (RFC 9266). */
	mbedtls_ssl_conf_extended_master_secret(conf, MBEDTLS_SSL_EXTENDED_MS_ENABLED);
	mbedtls_ssl_conf_export_keys_ext_cb(conf, tls_export_keys, cfg->ctx);
	/* Tickets let a client that reconnects skip the ECDHE and ECDSA work. */
	mbedtls_ssl_conf_session_tickets_cb(conf, mbedtls_ssl_ticket_write,
	                                    mbedtls_ssl_ticket_parse, &cfg->ctx->ticket);
	return NT_OK;
}

/* The configuration for alpn ("" for none), made on first use. NULL when none fits. */
static struct tls_conf *tls_conf_get(struct tls_cfg *cfg, const char *alpn)
{
	size_t i;

	for (i = 0; i < TLS_ALPN_SLOTS; i++) {
		struct tls_conf *s = &cfg->confs[i];

		if (s->used && strcmp(s->alpn, alpn) == 0)
			return s;
		if (!s->used)
			return tls_conf_setup(cfg, s, alpn) == NT_OK ? s : NULL;
	}
	log_err("tls: more than %d ALPN names in use; not offering %s", TLS_ALPN_SLOTS - 1, alpn);
	return NULL;
}

/* Loads (or on first start makes) the key and certificate into a new configuration. */
static int tls_cfg_new(struct tls_ctx *ctx, struct tls_cfg **out)
{
	struct tls_cfg *cfg = calloc(1, sizeof(*cfg));
	int rc;

	if (cfg == NULL)
		return NT_ENOMEM;
	cfg->refs = 1;
	cfg->ctx = ctx;
	ctx->refs++;
	mbedtls_x509_crt_init(&cfg->crt);
	mbedtls_pk_init(&cfg->key);
	rc = tls_cert_load(ctx->datadir, ctx->domain, &ctx->drbg, &cfg->key, &cfg->crt);
	if (rc != NT_OK || tls_conf_get(cfg, "") == NULL) {
		tls_cfg_unref(cfg);
		return rc != NT_OK ? rc : NT_EIO;
	}
	tls_cert_fingerprint(&cfg->crt, cfg->fingerprint);
	log_info("tls: certificate for %s, sha256 fingerprint %s", ctx->domain, cfg->fingerprint);
	*out = cfg;
	return NT_OK;
}

int tls_ctx_new(struct tls_ctx **out, const char *datadir, const char *domain)
{
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	*out = NULL;
	if (ctx == NULL)
		return NT_ENOMEM;
	ctx->refs = 1;
	mbedtls_entropy_init(&ctx->entropy);
	mbedtls_ctr_drbg_init(&ctx->drbg);
	mbedtls_ssl_ticket_init(&ctx->ticket);
	ctx->datadir = strdup(datadir);
	ctx->domain = strdup(domain);
	if (ctx->datadir == NULL || ctx->domain == NULL) {
		rc = NT_ENOMEM;
		goto fail;
	}
	if ((rc = mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy,
	                                (const unsigned char *)TLS_DRBG_PERS,
	                                sizeof(TLS_DRBG_PERS) - 1)) != 0 ||
	    (rc = mbedtls_ssl_ticket_setup(&ctx->ticket, mbedtls_ctr_drbg_random, &ctx->drbg,
	                                   MBEDTLS_CIPHER_AES_256_GCM,
	                                   TLS_TICKET_LIFETIME_S)) != 0) {
		log_err("tls: random generator setup failed: -0x%04x", (unsigned)-rc);
		rc = NT_EIO;
		goto fail;
	}
	if ((rc = tls_cfg_new(ctx, &ctx->cur)) != NT_OK)
		goto fail;
	*out = ctx;
	return NT_OK;
fail:
	tls_ctx_free(ctx);
	return rc;
}

int tls_ctx_reload(struct tls_ctx *ctx)
{
	struct tls_cfg *cfg;
	int rc = tls_cfg_new(ctx, &cfg);

	if (rc != NT_OK) {
		log_err("tls: reload failed (%s); still using certificate %s", nt_strerror(rc),
		        ctx->cur->fingerprint);
		return rc;
	}
	tls_cfg_unref(ctx->cur);		/* open connections keep their own reference */
	ctx->cur = cfg;
	return NT_OK;
}

const char *tls_ctx_fingerprint(const struct tls_ctx *ctx)
{
	return ctx->cur->fingerprint;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	tls_cfg_unref(ctx->cur);
	ctx->cur = NULL;
	tls_ctx_unref(ctx);
}

/* net_write() queues everything or fails, so there is never a short write or WANT_WRITE. */
static int tls_bio_send(void *arg, const unsigned char *p, size_t n)
{
	struct tls_conn *t = arg;

	return net_write(t->c, p, n) == NT_OK ? (int)n : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int tls_bio_recv(void *arg, unsigned char *p, size_t n)
{
	struct tls_conn *t = arg;
	ssize_t r = net_read(t->c, p, n);

	if (r >= 0)
		return (int)r;
	switch (r) {
	case NT_EAGAIN:
		return MBEDTLS_ERR_SSL_WANT_READ;
	case NT_ECLOSED:
		return 0;			/* EOF: mbedTLS reports MBEDTLS_ERR_SSL_CONN_EOF */
	default:
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, struct net_conn *c, const char *alpn)
{
	struct tls_cfg *cfg = ctx->cur;
	struct tls_conf *s = tls_conf_get(cfg, alpn != NULL ? alpn : "");
	struct tls_conn *t;

	if (s == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &s->conf) != 0) {	/* allocates the record buffers */
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return NULL;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, tls_bio_send, tls_bio_recv, NULL);
	t->cfg = cfg;
	cfg->refs++;
	t->c = c;
	t->state = TLS_HANDSHAKE;
	return t;
}

static void tls_in_ptrs(mbedtls_ssl_context *ssl, unsigned char **p[TLS_NPTR])
{
	p[0] = &ssl->in_ctr;
	p[1] = &ssl->in_hdr;
	p[2] = &ssl->in_len;
	p[3] = &ssl->in_iv;
	p[4] = &ssl->in_msg;
}

static void tls_out_ptrs(mbedtls_ssl_context *ssl, unsigned char **p[TLS_NPTR])
{
	p[0] = &ssl->out_ctr;
	p[1] = &ssl->out_hdr;
	p[2] = &ssl->out_len;
	p[3] = &ssl->out_iv;
	p[4] = &ssl->out_msg;
}

/* Keeps a buffer's prefix and the offsets of the pointers into it, then frees it. */
static void tls_buf_release(unsigned char **buf, size_t len, unsigned char **ptr[TLS_NPTR],
                            uint8_t keep[TLS_KEEP], uint16_t off[TLS_NPTR])
{
	memcpy(keep, *buf, TLS_KEEP);
	for (int i = 0; i < TLS_NPTR; i++) {
		off[i] = (uint16_t)(*ptr[i] - *buf);
		*ptr[i] = NULL;
	}
	mbedtls_platform_zeroize(*buf, len);	/* it held plaintext */
	free(*buf);
	*buf = NULL;
}

static int tls_buf_restore(unsigned char **buf, size_t len, unsigned char **ptr[TLS_NPTR],
                           const uint8_t keep[TLS_KEEP], const uint16_t off[TLS_NPTR])
{
	if ((*buf = malloc(len)) == NULL)
		return NT_ENOMEM;
	memcpy(*buf, keep, TLS_KEEP);
	for (int i = 0; i < TLS_NPTR; i++)
		*ptr[i] = *buf + off[i];
	return NT_OK;
}

int tls_sleep(struct tls_conn *t)
{
	mbedtls_ssl_context *ssl = &t->ssl;
	unsigned char **ptr[TLS_NPTR];
	size_t in_len, out_len;

	if (t->sleep != NULL)
		return NT_OK;
	if (t->state != TLS_OPEN || t->sent_close || t->peer_closed || ssl->handshake != NULL ||
	    ssl->in_left != 0 || ssl->out_left != 0 || ssl->in_offt != NULL ||
	    mbedtls_ssl_check_pending(ssl) != 0 || ssl->in_buf == NULL || ssl->out_buf == NULL)
		return NT_EAGAIN;
	if ((t->sleep = malloc(sizeof(*t->sleep))) == NULL)
		return NT_ENOMEM;
	in_len = MBEDTLS_SSL_IN_BUFFER_LEN;
	out_len = MBEDTLS_SSL_OUT_BUFFER_LEN;
	tls_in_ptrs(ssl, ptr);
	tls_buf_release(&ssl->in_buf, in_len, ptr, t->sleep->in_keep, t->sleep->in_off);
	tls_out_ptrs(ssl, ptr);
	tls_buf_release(&ssl->out_buf, out_len, ptr, t->sleep->out_keep, t->sleep->out_off);
	return NT_OK;
}

/* Gives a sleeping session its record buffers back. */
static int tls_wake(struct tls_conn *t)
{
	mbedtls_ssl_context *ssl = &t->ssl;
	unsigned char **ptr[TLS_NPTR];

	if (t->sleep == NULL)
		return NT_OK;
	tls_in_ptrs(ssl, ptr);
	if (tls_buf_restore(&ssl->in_buf, MBEDTLS_SSL_IN_BUFFER_LEN, ptr, t->sleep->in_keep,
	                    t->sleep->in_off) != NT_OK)
		return NT_ENOMEM;
	tls_out_ptrs(ssl, ptr);
	if (tls_buf_restore(&ssl->out_buf, MBEDTLS_SSL_OUT_BUFFER_LEN, ptr, t->sleep->out_keep,
	                    t->sleep->out_off) != NT_OK) {
		tls_in_ptrs(ssl, ptr);
		tls_buf_release(&ssl->in_buf, MBEDTLS_SSL_IN_BUFFER_LEN, ptr, t->sleep->in_keep,
		                t->sleep->in_off);
		return NT_ENOMEM;
	}
	free(t->sleep);
	t->sleep = NULL;
	return NT_OK;
}

int tls_is_asleep(const struct tls_conn *t)
{
	return t->sleep != NULL;
}

int tls_handshake(struct tls_conn *t)
{
	const char *alpn;
	int rc;

	if (t->state != TLS_HANDSHAKE)
		return t->state == TLS_OPEN ? NT_OK : NT_EIO;
	t->cfg->ctx->in_handshake = t;
	rc = mbedtls_ssl_handshake(&t->ssl);
	t->cfg->ctx->in_handshake = NULL;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return NT_EAGAIN;
	if (rc != 0) {
		log_info("tls %s: handshake failed: -0x%04x", net_peer_addr(t->c), (unsigned)-rc);
		t->state = TLS_FAILED;
		return NT_EIO;
	}
	t->state = TLS_OPEN;
	alpn = mbedtls_ssl_get_alpn_protocol(&t->ssl);
	log_debug("tls %s: conn %lu: %s %s, alpn %s", net_peer_addr(t->c), net_conn_id(t->c),
	          mbedtls_ssl_get_version(&t->ssl), mbedtls_ssl_get_ciphersuite(&t->ssl),
	          alpn != NULL ? alpn : "none");
	return NT_OK;
}

/* Records why mbedtls_ssl_read() stopped with rc (not a WANT_*). */
static void tls_read_end(struct tls_conn *t, int rc)
{
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rc == MBEDTLS_ERR_SSL_CONN_EOF) {
		t->peer_closed = 1;
		return;
	}
	log_info("tls %s: read failed: -0x%04x", net_peer_addr(t->c), (unsigned)-rc);
	t->state = TLS_FAILED;
}

ssize_t tls_read(struct tls_conn *t, void *p, size_t n)
{
	unsigned char *out = p;
	size_t got = 0;
	int rc = tls_handshake(t);

	if (rc != NT_OK)
		return rc;
	if (t->peer_closed)
		return NT_ECLOSED;
	if (tls_wake(t) != NT_OK)
		return NT_EIO;
	/* Everything mbedTLS holds is taken now (up to n): net_read() already emptied the socket,
	 * so the loop would not call on_read again for what stayed buffered here. */
	while (got < n) {
		rc = mbedtls_ssl_read(&t->ssl, out + got, n - got);
		if (rc > 0) {
			got += (size_t)rc;
			continue;
		}
		if (rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE)
			tls_read_end(t, rc);
		break;
	}
	if (got > 0)
		return (ssize_t)got;	/* an end seen above is reported by the next call */
	if (t->state == TLS_FAILED)
		return NT_EIO;
	if (t->peer_closed)
		return NT_ECLOSED;
	return NT_EAGAIN;		/* the owner may now tls_sleep() an idle session */
}

int tls_write(struct tls_conn *t, const void *p, size_t n)
{
	const unsigned char *in = p;
	int rc;

	if (t->state != TLS_OPEN || t->sent_close || tls_wake(t) != NT_OK)
		return NT_EIO;
	while (n > 0) {
		/* One record (up to 16 KiB) per call; WANT_* cannot happen, see tls_bio_send(). */
		rc = mbedtls_ssl_write(&t->ssl, in, n);
		if (rc <= 0) {
			log_info("tls %s: write failed: -0x%04x", net_peer_addr(t->c),
			         (unsigned)-rc);
			t->state = TLS_FAILED;
			return NT_EIO;
		}
		in += rc;
		n -= (size_t)rc;
	}
	return NT_OK;
}

int tls_cb_server_end_point(const struct tls_conn *t, uint8_t *out, size_t cap, size_t *len)
{
	const mbedtls_x509_crt *crt = &t->cfg->crt;	/* the leaf this connection presented */
	mbedtls_md_type_t type = crt->sig_md;
	const mbedtls_md_info_t *md;

	*len = 0;
	/* RFC 5929 section 4.1: MD5 and SHA-1 signatures are hashed with SHA-256 here. */
	if (type == MBEDTLS_MD_MD5 || type == MBEDTLS_MD_SHA1 || type == MBEDTLS_MD_NONE)
		type = MBEDTLS_MD_SHA256;
	if ((md = mbedtls_md_info_from_type(type)) == NULL)
		return NT_EINVAL;
	if (mbedtls_md_get_size(md) > cap)
		return NT_ELIMIT;
	if (mbedtls_md(md, crt->raw.p, crt->raw.len, out) != 0)
		return NT_EIO;
	*len = mbedtls_md_get_size(md);
	return NT_OK;
}

int tls_cb_exporter(const struct tls_conn *t, int variant, uint8_t out[32])
{
	if (t->state != TLS_OPEN || !t->has_exporter || variant < 0 || variant > 1)
		return NT_ENOENT;
	memcpy(out, t->exporter[variant], TLS_EXPORTER_LEN);
	return NT_OK;
}

void tls_close_notify(struct tls_conn *t)
{
	if (t->state != TLS_OPEN || t->sent_close || tls_wake(t) != NT_OK)
		return;
	t->sent_close = 1;
	/* (void): the connection is closing either way; a failure here changes nothing. */
	(void)mbedtls_ssl_close_notify(&t->ssl);
}

void tls_conn_free(struct tls_conn *t)
{
	if (t == NULL)
		return;
	mbedtls_ssl_free(&t->ssl);		/* skips the buffers a sleeping session lacks */
	mbedtls_platform_zeroize(t->exporter, sizeof(t->exporter));
	free(t->sleep);
	tls_cfg_unref(t->cfg);
	free(t);
}
