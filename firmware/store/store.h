#ifndef NATTER_STORE_STORE_H
#define NATTER_STORE_STORE_H
/*
 * The store: one LMDB environment in the data dir (file "natter.mdb" in a folder, or the
 * dir itself), named databases per table. Only store/ includes lmdb.h. Several processes
 * (natterd, natterctl) may open it at once. A write transaction is one writer at a time.
 * Values read are copied out; nothing returned points into LMDB.
 *
 * This header is the environment and transaction API; each table has its own header
 * (accounts.h, offline.h, settings.h), and schema.c lists the tables and the migrations.
 */
#include <stddef.h>
#include <stdint.h>

/* The schema this build writes. A store of an older one is upgraded when natterd opens it
 * (schema.c lists the steps); a store of a newer one is refused. */
#define STORE_SCHEMA_VERSION 1
#define STORE_BARE_MAX 2048		/* "local@domain" prepared, with NUL */

struct store;
struct store_txn;

/* Opens (creating when create is 1) the store in dir with a map of map_mb MiB.
 * With create, a store of an older schema is upgraded to STORE_SCHEMA_VERSION in one write
 * transaction (all steps or none); without create nothing is written, and such a store is
 * refused (NT_ESTORE) with a log line saying to start natterd, which upgrades it.
 * NT_ENOENT: no store there and create is 0. NT_ESTORE: corrupt, a newer schema, an upgrade
 * that failed, or not an LMDB store. NT_EBUSY: locked in a way we cannot wait for. Logs why. */
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

/* Consistency check for natterctl: decodes every account value and offline record without
 * stopping at the first bad one, calling fn (may be NULL) with one line per problem.
 * *accounts and *offline count the records that decoded. NT_OK when all is well; NT_ESTORE
 * when a problem was found or LMDB failed. */
typedef void store_problem_fn(const char *problem, void *arg);
int store_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *accounts,
                size_t *offline);

/* Factory reset: empties every table of user data in t (a write txn: today accounts, offline
 * and settings; schema.c marks the tables that stay) and bumps the accounts generation; the
 * schema stays, and files outside the store (the TLS certificate) are not touched. Nothing
 * is gone until t commits. NT_EINVAL for a read txn. */
int store_wipe(struct store_txn *t);

/* Each table's API and its encodings have a header of their own; they are included here so
 * that a caller of the store needs this one header. Kept last: they use what is above. */
#include "store/accounts.h"
#include "store/offline.h"
#include "store/settings.h"
#endif
