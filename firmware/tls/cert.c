/*
 * The box's key and certificate: DATADIR/tls/key.pem and DATADIR/tls/cert.pem. On first start
 * an ECDSA P-256 key and a self-signed certificate for the domain are made and saved; files
 * that exist (an admin's upload, or ours from an earlier start) are only ever read, so a bad
 * file stops the start with a clear log line instead of being replaced. One exception: a
 * certificate of the shape natterd made before its keyUsage had keyCertSign, which NSS clients
 * refuse outright, is made anew for the same key (cert_is_old_natter()).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <idna.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "core/err.h"
#include "core/log.h"
#include "tls/tls_int.h"

#define CERT_DIR         "tls"
#define CERT_KEY_FILE    "key.pem"
#define CERT_CRT_FILE    "cert.pem"
#define CERT_TMP_SUFFIX  ".new"
#define CERT_VALID_YEARS 10
#define CERT_BACKDATE_S  3600		/* accepts clients whose clocks run a little behind */
#define CERT_SERIAL_LEN  16
#define CERT_PEM_MAX     4096		/* a P-256 certificate in PEM is about 800 bytes */
#define CERT_DER_MAX     2048
#define CERT_PEM_BEGIN   "-----BEGIN CERTIFICATE-----\n"
#define CERT_PEM_END     "-----END CERTIFICATE-----\n"
#define CERT_ASN1_SEQ    (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define CERT_EXT_MAX     512
#define CERT_NAME_MAX    253		/* the longest DNS name */
#define CERT_NAME_CHARS  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._:"
#define CERT_TAG_DNS     (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)	/* GeneralName dNSName */
#define CERT_TAG_IP      (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)	/* GeneralName iPAddress */
#define CERT_KEY_USAGE   (MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_CERT_SIGN)
#define CERT_OLD_USAGE   MBEDTLS_X509_KU_DIGITAL_SIGNATURE	/* natterd's until issue 10 */
#define CERT_EXT_TYPES   (MBEDTLS_X509_EXT_BASIC_CONSTRAINTS | MBEDTLS_X509_EXT_KEY_USAGE | \
                          MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE | MBEDTLS_X509_EXT_SUBJECT_ALT_NAME)
#define CERT_EXT_COUNT   4		/* the four above, and no other */

struct cert_paths {
	char dir[PATH_MAX], key[PATH_MAX], crt[PATH_MAX];
};

static void cert_log_mbed(const char *what, const char *path, int rc)
{
	char msg[128];

	mbedtls_strerror(rc, msg, sizeof(msg));
	log_err("tls: %s %s: %s (-0x%04x)", what, path, msg, (unsigned)-rc);
}

static int cert_paths(struct cert_paths *p, const char *datadir)
{
	int n1 = snprintf(p->dir, sizeof(p->dir), "%s/" CERT_DIR, datadir);
	int n2 = snprintf(p->key, sizeof(p->key), "%s/" CERT_KEY_FILE, p->dir);
	int n3 = snprintf(p->crt, sizeof(p->crt), "%s/" CERT_CRT_FILE, p->dir);

	/* Room for CERT_TMP_SUFFIX too, so the temporary names cannot be cut short. */
	if (n1 < 0 || n2 < 0 || n3 < 0 ||
	    (size_t)n2 + sizeof(CERT_TMP_SUFFIX) > sizeof(p->key) ||
	    (size_t)n3 + sizeof(CERT_TMP_SUFFIX) > sizeof(p->crt)) {
		log_err("tls: data directory path too long: %s", datadir);
		return NT_EINVAL;
	}
	return NT_OK;
}

/* The domain as a certificate names it: A-labels for an IDN, an IP literal without its
 * brackets. Only letters, digits and "-._:" pass, so the name is also a safe "CN=" string. */
static int cert_name(char out[CERT_NAME_MAX + 1], const char *domain)
{
	char *ascii = NULL;
	const char *s;
	size_t n;
	int rc = NT_EINVAL;

	if (idna_to_ascii_8z(domain, &ascii, 0) != IDNA_SUCCESS)
		goto out;
	s = ascii;
	n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n > CERT_NAME_MAX || strspn(s, CERT_NAME_CHARS) < n)
		goto out;
	memcpy(out, s, n);
	out[n] = '\0';
	rc = NT_OK;
out:
	if (rc != NT_OK)
		log_err("tls: cannot name a certificate for domain \"%s\"", domain);
	free(ascii);
	return rc;
}

/* The binary address when name is an IPv4 or IPv6 literal: its length, else 0. */
static size_t cert_ip(const char *name, unsigned char ip[16])
{
	if (inet_pton(AF_INET, name, ip) == 1)
		return 4;
	if (inet_pton(AF_INET6, name, ip) == 1)
		return 16;
	return 0;
}

static int cert_exists(const char *path, int *exists)
{
	struct stat st;

	*exists = stat(path, &st) == 0;
	if (*exists || errno == ENOENT)
		return NT_OK;
	log_err("tls: stat %s: %s", path, strerror(errno));
	return NT_EIO;
}

static int cert_write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Saves a new file through path.new: created exclusively with mode (so a key is never readable
 * by others, not even for a moment), synced, then renamed into place and the directory synced,
 * so a crash leaves either no file or a whole one. */
static int cert_write_new(const char *dir, const char *path, const unsigned char *p, size_t n,
                          mode_t mode)
{
	char tmp[PATH_MAX];
	const char *step;
	int fd = -1, dfd;

	snprintf(tmp, sizeof(tmp), "%s" CERT_TMP_SUFFIX, path);	/* fits: see cert_paths() */
	step = "remove";
	if (unlink(tmp) != 0 && errno != ENOENT)
		goto fail;
	step = "create";
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) < 0)
		goto fail;
	step = "write";
	if (cert_write_all(fd, p, n) != 0 || fdatasync(fd) != 0)
		goto fail;
	step = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "rename";
	if (rename(tmp, path) != 0)
		goto fail;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(dfd) != 0)
			log_warn("tls: fsync %s: %s", dir, strerror(errno));
		close(dfd);
	}
	return NT_OK;
fail:
	log_err("tls: %s %s: %s", step, tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return NT_EIO;
}

static int cert_make_key(const struct cert_paths *p, mbedtls_ctr_drbg_context *drbg,
                         mbedtls_pk_context *key)
{
	unsigned char pem[CERT_PEM_MAX];
	int rc;

	if (mkdir(p->dir, 0700) != 0 && errno != EEXIST) {
		log_err("tls: mkdir %s: %s", p->dir, strerror(errno));
		return NT_EIO;
	}
	if ((rc = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
	                              mbedtls_ctr_drbg_random, drbg)) != 0 ||
	    (rc = mbedtls_pk_write_key_pem(key, pem, sizeof(pem))) != 0) {
		cert_log_mbed("make key", p->key, rc);
		rc = NT_EIO;
		goto out;
	}
	rc = cert_write_new(p->dir, p->key, pem, strlen((char *)pem), 0600);
	if (rc == NT_OK)
		log_info("tls: made a new ECDSA P-256 key %s", p->key);
out:
	mbedtls_platform_zeroize(pem, sizeof(pem));
	return rc;
}

/* Wraps the len bytes just written before *p in a SEQUENCE. */
static int cert_wrap_seq(unsigned char **p, unsigned char *start, size_t len)
{
	size_t total = len;
	int ret;

	MBEDTLS_ASN1_CHK_ADD(total, mbedtls_asn1_write_len(p, start, len));
	MBEDTLS_ASN1_CHK_ADD(total, mbedtls_asn1_write_tag(p, start, CERT_ASN1_SEQ));
	return (int)total;
}

/* AlgorithmIdentifier ecdsa-with-SHA256, parameters absent (RFC 5758 3.2). */
static int cert_write_sigalg(unsigned char **p, unsigned char *start)
{
	int ret = mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_ECDSA_SHA256,
	                                 MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256));

	return ret < 0 ? ret : cert_wrap_seq(p, start, (size_t)ret);
}

/* Writes before *p the TBSCertificate of the certificate der with its signature field
 * replaced by cert_write_sigalg(); returns its length or a negative mbedTLS error.
 * TBSCertificate ::= SEQUENCE { [0] version, serialNumber, signature, issuer, ... } */
static int cert_tbs_fix(const unsigned char *der, size_t der_len, unsigned char **p,
                        unsigned char *start)
{
	unsigned char *c = (unsigned char *)der, *end = c + der_len, *body, *tbs_end, *alg;
	size_t n, len = 0;
	int ret;

	if ((ret = mbedtls_asn1_get_tag(&c, end, &n, CERT_ASN1_SEQ)) != 0 ||
	    (ret = mbedtls_asn1_get_tag(&c, end, &n, CERT_ASN1_SEQ)) != 0)
		return ret;
	body = c;
	tbs_end = c + n;
	if ((ret = mbedtls_asn1_get_tag(&c, tbs_end, &n, MBEDTLS_ASN1_CONTEXT_SPECIFIC |
	                                MBEDTLS_ASN1_CONSTRUCTED | 0)) != 0)
		return ret;
	c += n;
	if ((ret = mbedtls_asn1_get_tag(&c, tbs_end, &n, MBEDTLS_ASN1_INTEGER)) != 0)
		return ret;
	alg = c + n;
	c = alg;
	if ((ret = mbedtls_asn1_get_tag(&c, tbs_end, &n, CERT_ASN1_SEQ)) != 0)
		return ret;
	c += n;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, c,
	                                                        (size_t)(tbs_end - c)));
	MBEDTLS_ASN1_CHK_ADD(len, cert_write_sigalg(p, start));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, body,
	                                                        (size_t)(alg - body)));
	return cert_wrap_seq(p, start, len);
}

/*
 * The certificate w describes, in DER, into out[CERT_DER_MAX]. mbedTLS 2.28 writes
 * ecdsa-with-SHA256 with a NULL parameter, which RFC 5758 forbids and Chrome and BoringSSL
 * refuse (Mbed-TLS/mbedtls#2924), so its TBSCertificate is re-encoded without it and signed
 * again here. Returns the length or a negative mbedTLS error.
 */
static int cert_der(mbedtls_x509write_cert *w, mbedtls_pk_context *key,
                    mbedtls_ctr_drbg_context *drbg, unsigned char *out)
{
	unsigned char raw[CERT_DER_MAX], tbs[CERT_DER_MAX], *t = tbs + sizeof(tbs);
	unsigned char *p = out + CERT_DER_MAX, md[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len, tbs_len, len = 0;
	int ret = mbedtls_x509write_crt_der(w, raw, sizeof(raw), mbedtls_ctr_drbg_random, drbg);

	if (ret < 0 || (ret = cert_tbs_fix(raw + sizeof(raw) - ret, (size_t)ret, &t, tbs)) < 0)
		return ret;
	tbs_len = (size_t)ret;
	if ((ret = mbedtls_sha256_ret(t, tbs_len, md, 0)) != 0 ||
	    (ret = mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, md, sizeof(md), sig, &sig_len,
	                           mbedtls_ctr_drbg_random, drbg)) != 0)
		return ret;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bitstring(&p, out, sig, sig_len * 8));
	MBEDTLS_ASN1_CHK_ADD(len, cert_write_sigalg(&p, out));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&p, out, t, tbs_len));
	if ((ret = cert_wrap_seq(&p, out, len)) < 0)
		return ret;
	memmove(out, p, (size_t)ret);
	return ret;
}

/* subjectAltName (RFC 5280 4.2.1.6): one dNSName, or one iPAddress for an IP literal. */
static int cert_add_san(mbedtls_x509write_cert *w, const char *name)
{
	unsigned char buf[CERT_EXT_MAX], *p = buf + sizeof(buf), ip[16];
	const unsigned char *val = (const unsigned char *)name;
	size_t n = strlen(name), len = 0, iplen = cert_ip(name, ip);
	int ret, tag = CERT_TAG_DNS;

	if (iplen > 0) {
		val = ip;
		n = iplen;
		tag = CERT_TAG_IP;
	}
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&p, buf, val, n));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, n));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, (unsigned char)tag));
	if ((ret = cert_wrap_seq(&p, buf, len)) < 0)
		return ret;
	return mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_SUBJECT_ALT_NAME,
	                                           MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
	                                           0, p, (size_t)ret);
}

/* extKeyUsage serverAuth: some clients (Apple's) want it on every TLS server certificate. */
static int cert_add_eku(mbedtls_x509write_cert *w)
{
	unsigned char buf[CERT_EXT_MAX], *p = buf + sizeof(buf);
	int ret = mbedtls_asn1_write_oid(&p, buf, MBEDTLS_OID_SERVER_AUTH,
	                                 MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH));

	if (ret < 0 || (ret = cert_wrap_seq(&p, buf, (size_t)ret)) < 0)
		return ret;
	return mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	                                           MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE),
	                                           0, p, (size_t)ret);
}

static int cert_set_serial(mbedtls_x509write_cert *w, mbedtls_ctr_drbg_context *drbg)
{
	unsigned char raw[CERT_SERIAL_LEN];
	mbedtls_mpi serial;
	int rc;

	mbedtls_mpi_init(&serial);
	if ((rc = mbedtls_ctr_drbg_random(drbg, raw, sizeof(raw))) == 0) {
		/* Positive (top bit clear) and always CERT_SERIAL_LEN bytes (next bit set). */
		raw[0] = (raw[0] & 0x7f) | 0x40;
		if ((rc = mbedtls_mpi_read_binary(&serial, raw, sizeof(raw))) == 0)
			rc = mbedtls_x509write_crt_set_serial(w, &serial);
	}
	mbedtls_mpi_free(&serial);
	return rc;
}

/* When a certificate made at t runs out. */
static time_t cert_valid_until(time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_year += CERT_VALID_YEARS;
	return timegm(&tm);		/* normalises 29 February into a real date */
}

static int cert_set_validity(mbedtls_x509write_cert *w)
{
	char from[16], to[16];
	time_t now = time(NULL), start = now - CERT_BACKDATE_S, end = cert_valid_until(now);
	struct tm tm;

	gmtime_r(&start, &tm);
	strftime(from, sizeof(from), "%Y%m%d%H%M%S", &tm);
	gmtime_r(&end, &tm);
	strftime(to, sizeof(to), "%Y%m%d%H%M%S", &tm);
	return mbedtls_x509write_crt_set_validity(w, from, to);
}

/*
 * The fields of a self-signed X.509 v3 certificate for name with key. keyUsage has
 * keyCertSign beside digitalSignature although cA stays FALSE: NSS (Pidgin, finch) checks a
 * self-signed certificate as its own issuer and, without keyCertSign, refuses it as
 * SEC_ERROR_INADEQUATE_KEY_USAGE instead of offering to accept it; cA TRUE with the serverAuth
 * EKU is refused too. OpenSSL, GnuTLS, mbedTLS, browsers and Apple's clients accept this shape.
 */
static int cert_fill(mbedtls_x509write_cert *w, const char *name,
                     mbedtls_ctr_drbg_context *drbg, mbedtls_pk_context *key)
{
	char subject[CERT_NAME_MAX + sizeof("CN=")];
	int rc;

	snprintf(subject, sizeof(subject), "CN=%s", name);
	mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(w, key);
	mbedtls_x509write_crt_set_issuer_key(w, key);
	if ((rc = mbedtls_x509write_crt_set_subject_name(w, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_issuer_name(w, subject)) != 0 ||
	    (rc = cert_set_serial(w, drbg)) != 0 ||
	    (rc = cert_set_validity(w)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_basic_constraints(w, 0, -1)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_key_usage(w, CERT_KEY_USAGE)) != 0 ||
	    (rc = cert_add_san(w, name)) != 0)
		return rc;
	return cert_add_eku(w);
}

/* A self-signed certificate for name with key, saved to p->crt and parsed into crt. */
static int cert_make_crt(const struct cert_paths *p, const char *name,
                         mbedtls_ctr_drbg_context *drbg, mbedtls_pk_context *key,
                         mbedtls_x509_crt *crt)
{
	mbedtls_x509write_cert w;
	unsigned char der[CERT_DER_MAX], pem[CERT_PEM_MAX];
	size_t pem_len;
	int rc, der_len = 0;

	mbedtls_x509write_crt_init(&w);
	if ((rc = cert_fill(&w, name, drbg, key)) != 0 ||
	    (rc = der_len = cert_der(&w, key, drbg, der)) < 0 ||
	    (rc = mbedtls_pem_write_buffer(CERT_PEM_BEGIN, CERT_PEM_END, der, (size_t)der_len,
	                                   pem, sizeof(pem), &pem_len)) != 0 ||
	    (rc = mbedtls_x509_crt_parse_der(crt, der, (size_t)der_len)) != 0) {
		cert_log_mbed("make certificate", p->crt, rc);
		rc = NT_EIO;
		goto out;
	}
	rc = cert_write_new(p->dir, p->crt, pem, strlen((char *)pem), 0644);
	if (rc == NT_OK)
		log_info("tls: made a self-signed certificate %s for %s", p->crt, name);
out:
	mbedtls_x509write_crt_free(&w);
	return rc;
}

/* mbedTLS says only "file I/O error"; this logs why a file cannot be read. */
static int cert_readable(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = NT_EIO;

	if (fd < 0 || fstat(fd, &st) != 0)
		log_err("tls: open %s: %s", path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		log_err("tls: %s is not a regular file", path);
	else
		rc = NT_OK;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int cert_read_key(const char *path, mbedtls_pk_context *key)
{
	struct stat st;
	int rc;

	if (cert_readable(path) != NT_OK)
		return NT_EIO;
	if (stat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warn("tls: %s can be read by other users; chmod 600 it", path);
	if ((rc = mbedtls_pk_parse_keyfile(key, path, NULL)) != 0) {
		cert_log_mbed("read key", path, rc);
		return NT_EIO;
	}
	/* The configuration offers ECDHE-ECDSA suites only. */
	if (!mbedtls_pk_can_do(key, MBEDTLS_PK_ECDSA)) {
		log_err("tls: %s is not an ECDSA key; only ECDSA certificates are supported", path);
		return NT_EIO;
	}
	return NT_OK;
}

/* Warns about a certificate clients will refuse anyway: wrong name, or out of date. Trust is
 * the clients' call, so the certificate is checked against itself only for name and dates. */
static void cert_check(mbedtls_x509_crt *crt, const char *name, const char *path)
{
	unsigned char ip[16];
	uint32_t flags = 0;

	/* (void): the result is about trust; only the flags below matter here. */
	(void)mbedtls_x509_crt_verify(crt, crt, NULL, cert_ip(name, ip) ? NULL : name, &flags,
	                              NULL, NULL);
	if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		log_warn("tls: %s is not for %s; clients will refuse it", path, name);
	if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
		log_warn("tls: %s is outside its validity period; clients will refuse it", path);
}

static int cert_read_crt(const struct cert_paths *p, const char *name,
                         const mbedtls_pk_context *key, mbedtls_x509_crt *crt)
{
	int rc;

	if (cert_readable(p->crt) != NT_OK)
		return NT_EIO;
	if ((rc = mbedtls_x509_crt_parse_file(crt, p->crt)) != 0) {
		if (rc > 0)		/* the count of certificates that did not parse */
			rc = MBEDTLS_ERR_X509_INVALID_FORMAT;
		cert_log_mbed("read certificate", p->crt, rc);
		return NT_EIO;
	}
	if (mbedtls_pk_check_pair(&crt->pk, key) != 0) {
		log_err("tls: %s is not the certificate of the key %s", p->crt, p->key);
		return NT_EIO;
	}
	cert_check(crt, name, p->crt);
	return NT_OK;
}

/* The number of extensions in crt, or -1 when they do not parse. */
static int cert_ext_count(const mbedtls_x509_crt *crt)
{
	unsigned char *c = crt->v3_ext.p, *end = c + crt->v3_ext.len;
	size_t n;
	int count = 0;

	if (c == NULL || mbedtls_asn1_get_tag(&c, end, &n, CERT_ASN1_SEQ) != 0)
		return -1;
	end = c + n;
	for (; c < end; c += n, count++)
		if (mbedtls_asn1_get_tag(&c, end, &n, CERT_ASN1_SEQ) != 0)
			return -1;
	return count;
}

static time_t cert_time(const mbedtls_x509_time *t)
{
	struct tm tm = {
		.tm_year = t->year - 1900, .tm_mon = t->mon - 1, .tm_mday = t->day,
		.tm_hour = t->hour, .tm_min = t->min, .tm_sec = t->sec,
	};

	return timegm(&tm);
}

/* 1 when crt's fields are the ones cert_fill() wrote with the old keyUsage: one certificate,
 * named by one CN and issued by that same name, natterd's serial form, its four extensions
 * and nothing else, and its validity to the second. */
static int cert_has_old_fields(const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_buf *eku = &crt->ext_key_usage.buf;

	if (crt->next != NULL || crt->version != 3 || crt->serial.len != CERT_SERIAL_LEN ||
	    (crt->serial.p[0] & 0xc0) != 0x40 || crt->subject.next != NULL ||
	    MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &crt->subject.oid) != 0 ||
	    crt->issuer_raw.len != crt->subject_raw.len ||
	    memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->subject_raw.len) != 0)
		return 0;
	if (crt->ext_types != CERT_EXT_TYPES || cert_ext_count(crt) != CERT_EXT_COUNT ||
	    crt->ca_istrue != 0 || crt->key_usage != CERT_OLD_USAGE ||
	    crt->subject_alt_names.next != NULL || crt->ext_key_usage.next != NULL ||
	    MBEDTLS_OID_CMP(MBEDTLS_OID_SERVER_AUTH, eku) != 0)
		return 0;
	return cert_time(&crt->valid_to) ==
	       cert_valid_until(cert_time(&crt->valid_from) + CERT_BACKDATE_S);
}

/* 1 when crt is signed by its own key with ECDSA and SHA-256, as natterd signs. */
static int cert_signs_itself(mbedtls_x509_crt *crt)
{
	unsigned char md[32];

	if (crt->sig_md != MBEDTLS_MD_SHA256 || crt->sig_pk != MBEDTLS_PK_ECDSA ||
	    mbedtls_sha256_ret(crt->tbs.p, crt->tbs.len, md, 0) != 0)
		return 0;
	return mbedtls_pk_verify(&crt->pk, MBEDTLS_MD_SHA256, md, sizeof(md), crt->sig.p,
	                         crt->sig.len) == 0;
}

/*
 * 1 when crt is one natterd made before issue 10: self-signed, keyUsage digitalSignature
 * alone, every other field as cert_fill() writes it. An admin's upload (issued by a CA, or
 * self-signed by another tool: other serials, extensions, names or dates) never matches, so
 * it is never replaced.
 */
static int cert_is_old_natter(mbedtls_x509_crt *crt)
{
	return cert_has_old_fields(crt) && cert_signs_itself(crt);
}

/* Replaces crt, read from p->crt and of natterd's old shape, with a new certificate for the
 * same key. On failure (logged) the old one stays in use and on disk. */
static void cert_remake(const struct cert_paths *p, const char *name,
                        mbedtls_ctr_drbg_context *drbg, mbedtls_pk_context *key,
                        mbedtls_x509_crt *crt)
{
	char fp[TLS_FP_LEN];
	mbedtls_x509_crt fresh;

	tls_cert_fingerprint(crt, fp);
	log_warn("tls: %s (sha256 %s) is natterd's old self-signed certificate whose keyUsage "
	         "lacks keyCertSign, which Pidgin and other NSS clients refuse without asking; "
	         "making a new one for the same key", p->crt, fp);
	mbedtls_x509_crt_init(&fresh);
	if (cert_make_crt(p, name, drbg, key, &fresh) != NT_OK) {
		log_warn("tls: keeping the old certificate %s", p->crt);
		mbedtls_x509_crt_free(&fresh);
		return;
	}
	tls_cert_fingerprint(&fresh, fp);
	log_warn("tls: new certificate %s, sha256 fingerprint %s; clients that accepted the old "
	         "one will ask to accept this one", p->crt, fp);
	mbedtls_x509_crt_free(crt);
	*crt = fresh;			/* no pointer into the struct itself: a plain move */
}

/* mbedTLS signs with a key of the generic EC type through a temporary ECDSA copy whose curve
 * tables are rebuilt for every signature; a key of the ECDSA type keeps them after the first
 * one. Measured here: 0.52 against 0.24 ms of CPU per handshake. */
static int cert_key_for_signing(mbedtls_pk_context *key)
{
	mbedtls_pk_context ecdsa;

	mbedtls_pk_init(&ecdsa);
	if (mbedtls_pk_setup(&ecdsa, mbedtls_pk_info_from_type(MBEDTLS_PK_ECDSA)) != 0 ||
	    mbedtls_ecdsa_from_keypair(mbedtls_pk_ec(ecdsa), mbedtls_pk_ec(*key)) != 0) {
		mbedtls_pk_free(&ecdsa);
		log_err("tls: out of memory for the signing key");
		return NT_ENOMEM;
	}
	mbedtls_pk_free(key);
	*key = ecdsa;
	return NT_OK;
}

int tls_cert_load(const char *datadir, const char *domain, mbedtls_ctr_drbg_context *drbg,
                  mbedtls_pk_context *key, mbedtls_x509_crt *crt)
{
	struct cert_paths p;
	char name[CERT_NAME_MAX + 1];
	int have_key, have_crt, rc;

	if ((rc = cert_paths(&p, datadir)) != NT_OK || (rc = cert_name(name, domain)) != NT_OK ||
	    (rc = cert_exists(p.key, &have_key)) != NT_OK ||
	    (rc = cert_exists(p.crt, &have_crt)) != NT_OK)
		return rc;
	if (!have_key && have_crt) {
		log_err("tls: %s exists but %s is missing; not making a key for it", p.crt, p.key);
		return NT_EIO;
	}
	/* A key without a certificate is what a crash between the two saves leaves: the key is
	 * kept and a certificate is made for it. */
	rc = have_key ? cert_read_key(p.key, key) : cert_make_key(&p, drbg, key);
	if (rc != NT_OK)
		return rc;
	rc = have_crt ? cert_read_crt(&p, name, key, crt) : cert_make_crt(&p, name, drbg, key, crt);
	if (rc != NT_OK)
		return rc;
	if (have_crt && cert_is_old_natter(crt))
		cert_remake(&p, name, drbg, key, crt);
	return cert_key_for_signing(key);
}

void tls_cert_fingerprint(const mbedtls_x509_crt *crt, char out[TLS_FP_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[32];
	size_t i;

	/* (void): software SHA-256 cannot fail. */
	(void)mbedtls_sha256_ret(crt->raw.p, crt->raw.len, md, 0);
	for (i = 0; i < sizeof(md); i++) {
		out[3 * i] = hex[md[i] >> 4];
		out[3 * i + 1] = hex[md[i] & 0x0f];
		out[3 * i + 2] = i + 1 < sizeof(md) ? ':' : '\0';
	}
}
