#ifndef NATTER_TLS_TLS_H
#define NATTER_TLS_TLS_H
/*
 * TLS on top of net_conn with mbedTLS, never blocking: every call returns NT_EAGAIN when it
 * needs more bytes from the peer, and the owner calls again from its on_read callback.
 * One shared server configuration (tls_ctx) with the box's key and certificate.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct net_conn;
struct tls_ctx;
struct tls_conn;

/* Loads DATADIR/tls/key.pem and cert.pem, or on first start makes an ECDSA P-256 key (mode
 * 0600) and a self-signed certificate for domain and saves them. Logs the certificate's
 * SHA-256 fingerprint. TLS 1.2 minimum, AEAD ECDHE suites only. */
int  tls_ctx_new(struct tls_ctx **out, const char *datadir, const char *domain);
/* Re-reads key and certificate (SIGHUP). New connections use them; open ones keep theirs.
 * On failure the old ones stay and the reason is logged. */
int  tls_ctx_reload(struct tls_ctx *ctx);
/* "AB:CD:..." SHA-256 of the certificate in use. */
const char *tls_ctx_fingerprint(const struct tls_ctx *ctx);
/* NULL-safe. Connections still open keep what they need until freed. */
void tls_ctx_free(struct tls_ctx *ctx);

/* A server-side TLS session over c. alpn is the protocol to offer ("xmpp-client") or NULL.
 * NULL when out of memory. Reads and writes go through net_read()/net_write() on c. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, struct net_conn *c, const char *alpn);
/* NT_OK when the handshake is done, NT_EAGAIN when it needs more input, NT_EIO on failure
 * (logged at info level with the peer's address). */
int  tls_handshake(struct tls_conn *t);
/* Decrypted bytes: the count, NT_EAGAIN, NT_ECLOSED (close_notify or EOF), NT_EIO. */
ssize_t tls_read(struct tls_conn *t, void *p, size_t n);
/* Encrypts and queues all n bytes. NT_OK or NT_EIO. */
int  tls_write(struct tls_conn *t, const void *p, size_t n);
/* Releases the session's record buffers (2 x 16.7 KiB) while it is idle; the next tls_read,
 * tls_write or tls_close_notify takes them back. NT_OK (also when already asleep),
 * NT_EAGAIN when it cannot sleep now (handshake running, data pending either way),
 * NT_ENOMEM. */
int  tls_sleep(struct tls_conn *t);
/* 1 while asleep. */
int  tls_is_asleep(const struct tls_conn *t);
/* Channel binding data of t's handshake (done). tls-server-end-point (RFC 5929): the hash of
 * the certificate t presented, with its signature's hash (SHA-256 for MD5 and SHA-1); NT_OK
 * with *len bytes, NT_ELIMIT when cap is too small. */
int  tls_cb_server_end_point(const struct tls_conn *t, uint8_t *out, size_t cap, size_t *len);
/* tls-exporter (RFC 9266): 32 bytes of the TLS 1.2 exporter (RFC 5705) labelled
 * "EXPORTER-Channel-Binding"; variant 0 without a context, 1 with an empty one (TLS 1.2
 * tells the two apart and clients differ). NT_ENOENT when the handshake cannot give it
 * safely: no extended master secret (RFC 7627), or a resumed session (mbedTLS 2.28 does not
 * record whether the original handshake used it). */
int  tls_cb_exporter(const struct tls_conn *t, int variant, uint8_t out[32]);
/* Queues a close_notify alert. */
void tls_close_notify(struct tls_conn *t);
/* NULL-safe. */
void tls_conn_free(struct tls_conn *t);
#endif
