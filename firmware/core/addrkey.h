#ifndef NATTER_CORE_ADDRKEY_H
#define NATTER_CORE_ADDRKEY_H
/*
 * The key that per-address limits count a peer under. One IPv4 address is one key; IPv6 is
 * counted per /64, since one host (or one home) gets a whole /64 and can pick any address in
 * it; an IPv4-mapped IPv6 address (::ffff:192.0.2.1) is its IPv4 address.
 *
 *   "192.0.2.1"                 -> "192.0.2.1"
 *   "::ffff:192.0.2.1"          -> "192.0.2.1"
 *   "2001:db8:1:2:aa::5%eth0"   -> "2001:db8:1:2::/64"
 *   "::1"                       -> "::/64"
 *
 * Limits that count per source use addrkey_log_due() so that a refusal is logged once per
 * source and period, however often it is repeated.
 */
#include <stddef.h>
#include <stdint.h>

/* Room for the longest key ("ffff:ffff:ffff:ffff::/64" or a copied "?") and its NUL. */
#define ADDRKEY_MAX 48
/* A refusal of the same kind for the same source is logged at most this often. */
#define ADDRKEY_LOG_PERIOD_MS 10000

struct keycount;

/* The key for the numeric address text addr (as net_peer_addr() gives it). Text that is no
 * address (e.g. "?") is its own key, cut to fit. */
void addrkey_from(const char *addr, char out[ADDRKEY_MAX]);

/* 1 when a refusal of kind what (a short fixed word) for key should be logged now: the first
 * one in each ADDRKEY_LOG_PERIOD_MS. *before gets how many were refused in the period before
 * (0 when none), for the log line. kc is a keycount made with a window of at least two periods
 * (addrkey_log_new()). */
int  addrkey_log_due(struct keycount *kc, const char *what, const char *key, uint64_t now_ms,
                     long *before);
/* A keycount for addrkey_log_due() that remembers max_keys sources. */
struct keycount *addrkey_log_new(unsigned max_keys);
#endif
