#include "core/base64.h"
#include "core/err.h"

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1 when c is not in the alphabet ('=' included). */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_encode(const uint8_t *in, size_t n, char *out, size_t cap, size_t *outlen)
{
	size_t i, o = 0;

	if (n > (SIZE_MAX - 1) / 4 * 3 - 2 || cap < BASE64_ENCODED_LEN(n) + 1) {
		if (cap > 0)
			out[0] = '\0';
		return NT_ELIMIT;
	}
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return NT_OK;
}

int base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t i, o = 0, pad = 0, need;

	if (n % 4 != 0)
		return NT_EINVAL;
	if (n > 0 && in[n - 1] == '=')
		pad = in[n - 2] == '=' ? 2 : 1;
	need = n / 4 * 3 - pad;
	for (i = 0; i < n - pad; i++) {
		if (b64_value((unsigned char)in[i]) < 0)
			return NT_EINVAL;
	}
	if (need > cap)
		return NT_ELIMIT;
	for (i = 0; i < n; i += 4) {
		int last = i + 4 == n;
		uint32_t v = (uint32_t)b64_value((unsigned char)in[i]) << 18 |
			     (uint32_t)b64_value((unsigned char)in[i + 1]) << 12;

		if (last && pad == 2) {
			if (v & 0xffff)	/* bits behind the last byte must be zero */
				return NT_EINVAL;
			out[o++] = (uint8_t)(v >> 16);
			break;
		}
		v |= (uint32_t)b64_value((unsigned char)in[i + 2]) << 6;
		if (last && pad == 1) {
			if (v & 0xff)
				return NT_EINVAL;
			out[o++] = (uint8_t)(v >> 16);
			out[o++] = (uint8_t)(v >> 8);
			break;
		}
		v |= (uint32_t)b64_value((unsigned char)in[i + 3]);
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	if (outlen != NULL)
		*outlen = o;
	return NT_OK;
}
