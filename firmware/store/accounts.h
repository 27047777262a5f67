#ifndef NATTER_STORE_ACCOUNTS_H
#define NATTER_STORE_ACCOUNTS_H
/*
 * accounts table (schema 1): one record per local user. Passwords are never stored, only
 * SCRAM keys.
 *
 * key:   the bare JID "local@domain" as jid_parse prepared it, without a NUL
 *        (1..bare_max bytes, no NUL byte).
 * value: version      1 byte, STORE_ACCOUNT_VERSION (1)
 *        flags        4 bytes big-endian
 *        created      8 bytes big-endian, unix seconds
 *        then twice, SCRAM-SHA-1 first and SCRAM-SHA-256 second:
 *          iterations   4 bytes big-endian, not 0
 *          salt_len     1 byte, 1..SCRAM_SALT_MAX, then salt_len bytes of salt
 *          key_len      1 byte, the hash's output size (20, 32),
 *                       then key_len bytes StoredKey and key_len bytes ServerKey
 *        and nothing after that.
 *
 * meta "accounts_gen": 8 bytes big-endian, one more after every put and delete, so natterd
 * notices what natterctl changed.
 */
#include <stdint.h>
#include "store/store.h"
#include "xmpp/scram.h"

#define ACCOUNT_ADMIN 0x1u		/* made by the first-run page: may run the box */
struct account {
	char bare[STORE_BARE_MAX];
	uint32_t flags;			/* ACCOUNT_* */
	uint64_t created;		/* unix seconds */
	struct scram_creds sha1;
	struct scram_creds sha256;
};
int store_account_get(struct store_txn *t, const char *bare, struct account *out); /* NT_ENOENT */
/* NT_EEXIST when create_only and the account exists. NT_ELIMIT when bare is longer than an
 * LMDB key allows (about 500 bytes); NT_EFULL when the map is full (then abort the txn). */
int store_account_put(struct store_txn *t, const struct account *a, int create_only);
/* Deletes the account and its offline messages. NT_ENOENT when missing. */
int store_account_del(struct store_txn *t, const char *bare);
typedef int store_account_fn(const struct account *a, void *arg); /* non-zero stops */
/* In bare JID byte order. Returns fn's non-zero value when it stopped; NT_ESTORE at a record
 * that does not decode. fn must not change the accounts table. */
int store_account_each(struct store_txn *t, store_account_fn *fn, void *arg);
/* 1 when the accounts table holds any record (decoded or not), 0 when empty; or the store's
 * error. */
int store_accounts_any(struct store_txn *t);
/* Bumped by every put and del; natterd polls it to notice natterctl's changes. */
int store_accounts_generation(struct store_txn *t, uint64_t *out);
#endif
