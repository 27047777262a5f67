#ifndef NATTER_STORE_STORE_H
#define NATTER_STORE_STORE_H
/*
 * The store: one LMDB environment in the data dir (file "natter.mdb" in a folder, or the
 * dir itself), named databases per table. Only store/ includes lmdb.h. Several processes
 * (natterd, natterctl) may open it at once. A write transaction is one writer at a time.
 * Values read are copied out; nothing returned points into LMDB.
 */
#include <stddef.h>
#include <stdint.h>
#include "xmpp/scram.h"

#define STORE_SCHEMA_VERSION 1
#define STORE_BARE_MAX 2048		/* "local@domain" prepared, with NUL */

struct store;
struct store_txn;

/* Opens (creating when create is 1) the store in dir with a map of map_mb MiB.
 * NT_ENOENT: no store there and create is 0. NT_ESTORE: corrupt, wrong schema, or not an
 * LMDB store. NT_EBUSY: locked in a way we cannot wait for. Logs why. */
int  store_open(struct store **out, const char *dir, unsigned map_mb, int create);
/* NULL-safe; any open transaction must be ended first. */
void store_close(struct store *st);

/* Room. A new store's map is map_mb (store_open); an existing one keeps the size it has. When
 * a write transaction begins with less than a quarter of the map left, the map doubles, up to
 * max_mb and to what the disk can still take less reserve_mb. Without this call the map never
 * grows and nothing is reserved. */
void store_set_limits(struct store *st, unsigned max_mb, unsigned reserve_mb);
/* Grows the map now (no transaction may be open in this process): NT_OK, NT_EFULL when it
 * cannot grow (at the limit, or the disk is short), NT_EBUSY with a transaction open. */
int  store_grow(struct store *st);
/* Whether n more bytes of user data (offline messages) fit while the store keeps its reserve:
 * the pages in use stay reserve_mb below max_mb and the disk keeps reserve_mb free (accounts
 * and settings may use the reserve). NT_OK; NT_EAGAIN when they fit once the map has grown
 * (commit t, store_grow, begin again); NT_EFULL when they do not fit. */
int  store_room(struct store_txn *t, size_t n);

/* Begins a transaction (write when write is 1). A write transaction waits for another
 * process's writer to finish. */
int  store_begin(struct store *st, int write, struct store_txn **out);
/* 1 for a write transaction. */
int  store_txn_writable(const struct store_txn *t);
/* Commits and frees t. NT_ESTORE on failure (t is freed, its changes lost). */
int  store_commit(struct store_txn *t);
/* Aborts and frees t. NULL-safe. */
void store_abort(struct store_txn *t);

/* accounts: key = bare JID "local@domain"; value = version byte, flags, created time,
 * then the SHA-1 and SHA-256 credentials (iterations, salt, stored key, server key). */
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

/* offline: key = bare JID '\0' 8-byte big-endian sequence number; value = the stanza's XML.
 * Messages come back in the order they were pushed. */
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

/* Consistency check for natterctl: decodes every account value and offline record without
 * stopping at the first bad one, calling fn (may be NULL) with one line per problem.
 * *accounts and *offline count the records that decoded. NT_OK when all is well; NT_ESTORE
 * when a problem was found or LMDB failed. */
typedef void store_problem_fn(const char *problem, void *arg);
int store_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *accounts,
                size_t *offline);

/* Factory reset: empties the accounts, offline and settings tables in t (a write txn) and
 * bumps the accounts generation; the schema stays, and files outside the store (the TLS
 * certificate) are not touched. Nothing is gone until t commits. NT_EINVAL for a read txn. */
int store_wipe(struct store_txn *t);

/* settings: key = setting name (text); value = bytes. */
int store_setting_get(struct store_txn *t, const char *key, void *out, size_t cap,
                      size_t *len); /* NT_ENOENT; NT_ELIMIT when cap is too small */
int store_setting_put(struct store_txn *t, const char *key, const void *v, size_t n);
int store_setting_del(struct store_txn *t, const char *key);	/* NT_ENOENT when absent */
#endif
