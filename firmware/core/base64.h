#ifndef NATTER_CORE_BASE64_H
#define NATTER_CORE_BASE64_H
/* Base64 (RFC 4648 section 4: standard alphabet, with padding), as SASL (RFC 6120 6.4.2) and
 * SCRAM carry it. */
#include <stddef.h>
#include <stdint.h>

/* Encoded length of n bytes, without the NUL. */
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Standard base64 (RFC 4648, with padding). Encodes n bytes into out (cap bytes, NUL-terminated).
 * NT_ELIMIT when cap is too small (out is then ""). *outlen is the length without the NUL. */
int base64_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *outlen);
/* Decodes strictly: rejects characters outside the alphabet, bad padding, whitespace (XMPP SASL
 * forbids it; RFC 6120 6.4.2), a length that is not a multiple of 4 and non-zero bits behind the
 * last character (so each byte string has exactly one encoding). NT_EINVAL when malformed,
 * NT_ELIMIT when the decoded bytes do not fit in cap. Empty input decodes to 0 bytes. */
int base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen);
#endif
