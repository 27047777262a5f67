/* SASL parsing on arbitrary bytes. The first byte picks what the rest is fed to:
 *   0  client-first-message (scram_server_start), then server-first for fake creds
 *   1  client-final-message after the RFC 5802 example's first two messages (SHA-1)
 *   2  SASL PLAIN message (sasl_plain_parse)
 *   3  base64 text to decode; what decodes must encode back to the same text
 *   4  bytes to encode; they must decode back
 *   5  a password for scram_creds_make (SASLprep), one PBKDF2 iteration
 *   6  with channel binding offered (7: and a -PLUS mechanism): client-first, a '\n', then
 *      client-final, against fake creds (gs2 flags, binding types, c= data)
 * Bit 0x80 of the first byte selects SHA-256 where a hash is used (mode 1 stays SHA-1). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/base64.h"
#include "core/err.h"
#include "xmpp/scram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t secret[32] = "fuzz secret";

static void fuzz_start(enum scram_hash h, const char *msg, size_t n)
{
	struct scram_server s;
	struct scram_creds c;
	char user[64], out[SCRAM_MSG_MAX];
	int rc = scram_server_start(&s, h, NULL, msg, n, user, sizeof(user));

	if (rc != NT_OK) {
		if ((rc != NT_EINVAL && rc != NT_EAUTH && rc != NT_ELIMIT) || user[0] != '\0')
			abort();
		return;
	}
	if (user[0] == '\0' || strlen(user) >= sizeof(user))
		abort();
	scram_creds_fake(h, user, secret, sizeof(secret), 4096, &c);
	if (scram_server_set_nonce_for_test(&s, "SRV") != NT_OK ||
	    scram_server_first(&s, &c, out, sizeof(out)) != NT_OK || strncmp(out, "r=", 2) != 0)
		abort();
	scram_server_clear(&s);
}

/* The RFC 5802 example up to server-first, with the creds derived once. */
static void fuzz_final(const char *msg, size_t n)
{
	static const char first[] = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
	static const uint8_t salt[] = { 0x41, 0x25, 0xc2, 0x47, 0xe4, 0x3a, 0xb1, 0xe9, 0x3c,
					0x6d, 0xff, 0x76 };	/* "QSXCR+Q6sek8bf92" */
	static struct scram_creds c;
	static int have_creds;
	struct scram_server s;
	char user[16], out[SCRAM_MSG_MAX];
	int rc;

	if (!have_creds) {
		if (scram_creds_make(SCRAM_SHA_1, "pencil", 6, salt, sizeof(salt), 4096, &c) != 0)
			abort();
		have_creds = 1;
	}
	if (scram_server_start(&s, SCRAM_SHA_1, NULL, first, sizeof(first) - 1, user,
			       sizeof(user)) != NT_OK ||
	    scram_server_set_nonce_for_test(&s, "3rfcNHYJY1ZVvWVs7j") != NT_OK ||
	    scram_server_first(&s, &c, out, sizeof(out)) != NT_OK)
		abort();
	rc = scram_server_final(&s, msg, n, out, sizeof(out));
	if (rc == NT_OK ? strcmp(out, "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=") != 0 :
	    ((rc != NT_EINVAL && rc != NT_EAUTH) || out[0] != '\0'))
		abort();
	scram_server_clear(&s);
}

/* A binding offer with both types, as a TLS 1.2 connection with EMS has. */
static void fuzz_cb_offer(struct scram_cb *cb, int plus)
{
	memset(cb, 0, sizeof(*cb));
	cb->offered = 1;
	cb->plus = plus;
	cb->data[SCRAM_CB_SERVER_END_POINT][0].len = 32;
	memset(cb->data[SCRAM_CB_SERVER_END_POINT][0].data, 'E', 32);
	for (int v = 0; v < SCRAM_CB_ALTS; v++) {
		cb->data[SCRAM_CB_EXPORTER][v].len = 32;
		memset(cb->data[SCRAM_CB_EXPORTER][v].data, 'x' + v, 32);
	}
}

static void fuzz_binding(enum scram_hash h, int plus, const char *msg, size_t n)
{
	const char *nl = memchr(msg, '\n', n);
	struct scram_server s;
	struct scram_creds c;
	struct scram_cb cb;
	char user[64], out[SCRAM_MSG_MAX];
	int rc;

	fuzz_cb_offer(&cb, plus);
	rc = scram_server_start(&s, h, &cb, msg, nl != NULL ? (size_t)(nl - msg) : n, user,
				sizeof(user));
	if (rc != NT_OK) {
		if ((rc != NT_EINVAL && rc != NT_EAUTH && rc != NT_ELIMIT) || user[0] != '\0')
			abort();
		return;
	}
	/* Accepted: a -PLUS mechanism only with "p=", "y" never (we offered -PLUS). */
	if (plus != (msg[0] == 'p') || msg[0] == 'y')
		abort();
	scram_creds_fake(h, user, secret, sizeof(secret), 4096, &c);
	if (scram_server_set_nonce_for_test(&s, "SRV") != NT_OK ||
	    scram_server_first(&s, &c, out, sizeof(out)) != NT_OK)
		abort();
	if (nl != NULL) {
		rc = scram_server_final(&s, nl + 1, (size_t)(msg + n - nl - 1), out, sizeof(out));
		if (rc == NT_OK ? strncmp(out, "v=", 2) != 0 :
		    ((rc != NT_EINVAL && rc != NT_EAUTH) || out[0] != '\0'))
			abort();
	}
	scram_server_clear(&s);
}

static void fuzz_plain(const char *msg, size_t n)
{
	const char *z, *c, *p;
	size_t zl, cl, pl;

	if (sasl_plain_parse(msg, n, &z, &zl, &c, &cl, &p, &pl) != NT_OK)
		return;
	if (z != msg || c != z + zl + 1 || p != c + cl + 1 || p + pl != msg + n || cl == 0 ||
	    pl == 0 || memchr(z, '\0', zl) || memchr(c, '\0', cl) || memchr(p, '\0', pl))
		abort();
}

static void fuzz_base64(const uint8_t *d, size_t n, int decode_first)
{
	static uint8_t bin[SCRAM_MSG_MAX * 2];
	static char text[BASE64_ENCODED_LEN(sizeof(bin)) + 1];
	size_t blen, tlen;

	if (decode_first) {
		if (base64_decode((const char *)d, n, bin, sizeof(bin), &blen) != NT_OK)
			return;
		if (base64_encode(bin, blen, text, sizeof(text), &tlen) != NT_OK || tlen != n ||
		    memcmp(text, d, n) != 0)
			abort();
		return;
	}
	if (n > sizeof(bin))
		n = sizeof(bin);
	if (base64_encode(d, n, text, sizeof(text), &tlen) != NT_OK ||
	    base64_decode(text, tlen, bin, sizeof(bin), &blen) != NT_OK || blen != n ||
	    memcmp(bin, d, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum scram_hash h;
	struct scram_creds c;
	const char *msg = (const char *)data + 1;
	size_t n = size - 1;
	int rc;

	if (size == 0)
		return 0;
	h = (data[0] & 0x80) ? SCRAM_SHA_256 : SCRAM_SHA_1;
	switch (data[0] & 0x7f) {
	case 0:
		fuzz_start(h, msg, n);
		break;
	case 1:
		fuzz_final(msg, n);
		break;
	case 2:
		fuzz_plain(msg, n);
		break;
	case 3:
		fuzz_base64(data + 1, n, 1);
		break;
	case 4:
		fuzz_base64(data + 1, n, 0);
		break;
	case 5:
		rc = scram_creds_make(h, msg, n, secret, 16, 1, &c);
		if (rc != NT_OK && rc != NT_EINVAL)
			abort();
		if (rc == NT_OK && scram_check_password(h, &c, msg, n) != NT_OK)
			abort();
		break;
	case 6:
	case 7:
		fuzz_binding(h, (data[0] & 0x7f) == 7, msg, n);
		break;
	}
	return 0;
}
