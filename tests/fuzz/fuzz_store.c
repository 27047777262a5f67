/* Fuzz target for the store's record decoders: what a damaged data.mdb could hand them.
 * The first byte picks the decoder; a record that decodes must encode back to the same
 * bytes (the encodings are canonical), so a decoder that accepts too much is caught too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/log.h"
#include "store/store_int.h"

static void fuzz_account(const uint8_t *p, size_t n)
{
	uint8_t out[STORE_ACCOUNT_VALUE_MAX];
	struct account a;
	size_t len;

	memset(&a, 0, sizeof(a));
	if (store_account_decode(&a, p, n) != NT_OK)
		return;
	if (store_account_encode(&a, out, sizeof(out), &len) != NT_OK || len != n ||
	    memcmp(out, p, n) != 0)
		abort();
}

static void fuzz_offline_key(const uint8_t *p, size_t n)
{
	uint8_t out[STORE_BARE_MAX + 1 + STORE_OFFLINE_SEQ_LEN];
	uint64_t seq;
	size_t blen;

	if (store_offline_key_parse(p, n, &blen, &seq) != NT_OK)
		return;
	if (blen >= STORE_BARE_MAX)
		return;
	if (store_offline_key(out, sizeof(out), (const char *)p, blen, seq) != n ||
	    memcmp(out, p, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size == 0)
		return 0;
	/* An exact-size heap copy, so any read past the record trips ASan. */
	if ((copy = malloc(size - 1 ? size - 1 : 1)) == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_offline_key(copy, size - 1);
	else
		fuzz_account(copy, size - 1);
	free(copy);
	return 0;
}
