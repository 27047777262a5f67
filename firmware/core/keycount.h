#ifndef NATTER_CORE_KEYCOUNT_H
#define NATTER_CORE_KEYCOUNT_H
/*
 * Counters by text key (an IP address, an account), for limits: connections per address,
 * failed logins per address and per account. Entries whose count falls to zero, or that were
 * last touched more than window_ms ago (when window_ms is not 0), are forgotten. The table
 * holds at most max_keys entries; past that the stalest is evicted, so an attacker with many
 * addresses cannot grow it without bound. With keycount_keep() set, entries at or above that
 * count are never evicted, so many new keys (random names) cannot flush the counts that matter.
 */
#include <stdint.h>

struct keycount;

struct keycount *keycount_new(unsigned max_keys, uint64_t window_ms);
void keycount_free(struct keycount *kc);		/* NULL-safe */
/* Adds delta (may be negative) to key's count and returns the new count (never below 0). */
long keycount_add(struct keycount *kc, const char *key, long delta, uint64_t now_ms);
/* The current count for key (0 when unknown or expired). */
long keycount_get(struct keycount *kc, const char *key, uint64_t now_ms);
/* Entries whose count is at least count are never evicted (0, the default: any may be). When
 * every entry is kept, a new key is not stored and keycount_add returns delta. */
void keycount_keep(struct keycount *kc, long count);
/* Adds delta to an unexpired key's count without renewing its window; returns the new count.
 * An unknown or expired key is left alone (0). For counting what should not prolong a
 * penalty, e.g. refused attempts. */
long keycount_add_untouched(struct keycount *kc, const char *key, long delta, uint64_t now_ms);
/* Forgets key. */
void keycount_del(struct keycount *kc, const char *key);
#endif
