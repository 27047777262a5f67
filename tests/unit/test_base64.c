#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/base64.h"
#include "core/err.h"

/* RFC 4648 section 10. */
static const struct {
	const char *plain, *enc;
} vectors[] = {
	{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
};

static void base64_rfc4648_vectors(void **state)
{
	char enc[16];
	uint8_t dec[16];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t pl = strlen(vectors[i].plain), el = strlen(vectors[i].enc);

		assert_int_equal(base64_encode((const uint8_t *)vectors[i].plain, pl, enc,
					       sizeof(enc), &len), NT_OK);
		assert_string_equal(enc, vectors[i].enc);
		assert_int_equal(len, el);
		assert_int_equal(BASE64_ENCODED_LEN(pl), el);
		len = 99;
		assert_int_equal(base64_decode(vectors[i].enc, el, dec, sizeof(dec), &len), NT_OK);
		assert_int_equal(len, pl);
		assert_memory_equal(dec, vectors[i].plain, pl);
	}
}

static void base64_round_trips_all_bytes(void **state)
{
	uint8_t in[256], dec[256];
	char enc[BASE64_ENCODED_LEN(256) + 1];
	size_t n, len, dlen;

	(void)state;
	for (n = 0; n < sizeof(in); n++)
		in[n] = (uint8_t)(255 - n);
	for (n = 0; n <= sizeof(in); n++) {
		assert_int_equal(base64_encode(in, n, enc, sizeof(enc), &len), NT_OK);
		assert_int_equal(len, BASE64_ENCODED_LEN(n));
		assert_int_equal(base64_decode(enc, len, dec, sizeof(dec), &dlen), NT_OK);
		assert_int_equal(dlen, n);
		assert_memory_equal(dec, in, n);
	}
	/* The last two alphabet characters: 62 is '+', 63 is '/'. */
	assert_int_equal(base64_encode((const uint8_t *)"\xfb\xef\xbe", 3, enc, sizeof(enc), &len),
			 NT_OK);
	assert_string_equal(enc, "++++");
	assert_int_equal(base64_encode((const uint8_t *)"\xff\xff\xff", 3, enc, sizeof(enc), &len),
			 NT_OK);
	assert_string_equal(enc, "////");
}

static void base64_decode_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"Zg=", "Zg", "Z", "Zm9vY", "Z===", "====", "=Zg=", "Zg==Zg==", "Zm=v",
		"Zh==",		/* non-zero bits behind the last byte */
		"Zm9=",
		"Zm9v\n", "Zm9v Zm9v", " Zm9", "Zm9v\r\nZm9v", "Zm\t9v",
		"Zm-v", "Zm_v", "Zm9v!===", "Zm.v", "\xc3\xa9Zm9",
	};
	uint8_t out[16];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(base64_decode(bad[i], strlen(bad[i]), out, sizeof(out), &len),
				 NT_EINVAL);
	assert_int_equal(base64_decode("Zm\0v", 4, out, sizeof(out), &len), NT_EINVAL);
}

static void base64_caps(void **state)
{
	char enc[9];
	uint8_t dec[6];
	size_t len;

	(void)state;
	assert_int_equal(base64_encode((const uint8_t *)"foobar", 6, enc, 9, &len), NT_OK);
	assert_int_equal(base64_encode((const uint8_t *)"foobar", 6, enc, 8, &len), NT_ELIMIT);
	assert_string_equal(enc, "");
	assert_int_equal(base64_encode((const uint8_t *)"", 0, enc, 1, &len), NT_OK);
	assert_int_equal(base64_encode((const uint8_t *)"", 0, enc, 0, &len), NT_ELIMIT);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, dec, 6, &len), NT_OK);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, dec, 5, &len), NT_ELIMIT);
	assert_int_equal(base64_decode("Zm9vYmE=", 8, dec, 5, &len), NT_OK);
	assert_int_equal(len, 5);
	assert_int_equal(base64_decode("Zm9vYmE=", 8, dec, 4, &len), NT_ELIMIT);
	/* Malformed input is reported as such even when the output would not fit either. */
	assert_int_equal(base64_decode("Zm9vYm!=", 8, dec, 1, &len), NT_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(base64_rfc4648_vectors),
		cmocka_unit_test(base64_round_trips_all_bytes),
		cmocka_unit_test(base64_decode_rejects_malformed),
		cmocka_unit_test(base64_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
