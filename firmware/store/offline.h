#ifndef NATTER_STORE_OFFLINE_H
#define NATTER_STORE_OFFLINE_H
/*
 * offline table (schema 1): messages kept for users who were not online, delivered at their
 * next login.
 *
 * key:   the bare JID (1..bare_max bytes, no NUL byte), one '\0' byte, then an 8-byte
 *        big-endian sequence number. '\0' sorts below every byte a JID may hold, so one
 *        user's messages form one range, in push order, that never mixes with another
 *        user's ("a@b" and "a@b.c" have distinct prefixes "a@b\0" and "a@b.c\0").
 * value: the stanza's XML, as given (1 or more bytes, no terminator).
 *
 * A new message gets the user's last sequence number + 1, or 0 when the user has none.
 * Messages come back in the order they were pushed.
 */
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

/* In a nested transaction: when the map is full (NT_EFULL) t stays usable and holds the rest
 * of its writes. NT_EINVAL for n == 0; NT_ELIMIT for a bare JID too long for a key. */
int store_offline_push(struct store_txn *t, const char *bare, const char *xml, size_t n);
/* Messages stored for bare. */
int store_offline_count(struct store_txn *t, const char *bare, size_t *out);
/* Messages stored for bare and their bytes. */
int store_offline_usage(struct store_txn *t, const char *bare, size_t *count, uint64_t *bytes);
typedef int store_offline_fn(const char *xml, size_t n, void *arg); /* non-zero stops */
/* Calls fn for each stored message in order, then deletes those it was called for. xml is
 * a NUL-terminated copy valid during the call. A message for which fn returns non-zero is
 * kept (with those after it), and that value is returned. Needs a write txn. */
int store_offline_take(struct store_txn *t, const char *bare, store_offline_fn *fn, void *arg);
#endif
