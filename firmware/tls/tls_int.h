#ifndef NATTER_TLS_TLS_INT_H
#define NATTER_TLS_TLS_INT_H
/* Private to firmware/tls/: the key and certificate files behind tls.c. */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* "AB:CD:...": 32 bytes as two hex digits each, 31 colons and the NUL. */
#define TLS_FP_LEN (32 * 3)

/* Loads DATADIR/tls/key.pem and DATADIR/tls/cert.pem into key and crt (both initialised by
 * the caller, who frees them on any result). A missing key (with no certificate) is made: an
 * ECDSA P-256 key saved with mode 0600; a missing certificate is made self-signed for domain
 * with the key. Files that exist are never overwritten, but for a certificate of the shape
 * natterd made before its keyUsage had keyCertSign: it is made anew for the same key, and
 * kept (with a warning) should that fail. drbg must be seeded.
 * NT_OK; NT_EIO when a file is unreadable, malformed, or the key does not fit the certificate;
 * NT_EINVAL for a domain that cannot name a certificate. Every failure is logged. */
int  tls_cert_load(const char *datadir, const char *domain, mbedtls_ctr_drbg_context *drbg,
                   mbedtls_pk_context *key, mbedtls_x509_crt *crt);
/* The SHA-256 of crt's DER as "AB:CD:...". */
void tls_cert_fingerprint(const mbedtls_x509_crt *crt, char out[TLS_FP_LEN]);
#endif
