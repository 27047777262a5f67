/*
 * Per-address keys for limits (see addrkey.h), and the once-per-period log of refusals.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "core/addrkey.h"
#include "core/keycount.h"

void addrkey_from(const char *addr, char out[ADDRKEY_MAX])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char text[64];
	uint8_t a[16];
	size_t n = strcspn(addr, "%");		/* a scope id names a link, not a host */

	if (n < sizeof(text)) {
		memcpy(text, addr, n);
		text[n] = '\0';
		if (inet_pton(AF_INET, text, a) == 1) {
			inet_ntop(AF_INET, a, out, ADDRKEY_MAX);
			return;
		}
		if (inet_pton(AF_INET6, text, a) == 1) {
			if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0) {
				inet_ntop(AF_INET, a + 12, out, ADDRKEY_MAX);
				return;
			}
			memset(a + 8, 0, 8);
			inet_ntop(AF_INET6, a, out, ADDRKEY_MAX - 3);
			strcat(out, "/64");
			return;
		}
	}
	snprintf(out, ADDRKEY_MAX, "%s", addr);
}

struct keycount *addrkey_log_new(unsigned max_keys)
{
	return keycount_new(max_keys, 2ull * ADDRKEY_LOG_PERIOD_MS);
}

/* The key of one period's counter: "what key #period". */
static void addrkey_log_key(char *k, size_t cap, const char *what, const char *key,
                            uint64_t period)
{
	snprintf(k, cap, "%s %s #%llu", what, key, (unsigned long long)period);
}

int addrkey_log_due(struct keycount *kc, const char *what, const char *key, uint64_t now_ms,
                    long *before)
{
	uint64_t period = now_ms / ADDRKEY_LOG_PERIOD_MS;
	char k[ADDRKEY_MAX + 64];

	addrkey_log_key(k, sizeof(k), what, key, period);
	if (keycount_add(kc, k, 1, now_ms) != 1)
		return 0;
	addrkey_log_key(k, sizeof(k), what, key, period - 1);
	*before = keycount_get(kc, k, now_ms);
	return 1;
}
