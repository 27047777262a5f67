#ifndef NATTER_STORE_STORE_INT_H
#define NATTER_STORE_STORE_INT_H
/*
 * Private to firmware/store/ (and its unit test): the environment, the transaction, the
 * byte-order helpers and the encodings each table file implements. Only store/ sees lmdb.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>
#include "store/store.h"

/* The tables of this build: each one's index into struct store's dbi[] and into the table
 * list of schema.c, where it is declared with its name and the schema that introduced it. */
enum store_tbl { TBL_META, TBL_ACCOUNTS, TBL_OFFLINE, TBL_SETTINGS, TBL_COUNT };

#define STORE_MAX_DBS 16		/* named databases the environment may hold */
#define STORE_SCHEMA_FIRST 1		/* the oldest schema there is: the first firmware's */
#define STORE_OFFLINE_SEQ_LEN 8		/* big-endian sequence number behind "bare\0" */
#define STORE_META_SCHEMA "schema"
#define STORE_META_ACCOUNTS_GEN "accounts_gen"

/* The schema registry ---------------------------------------------------------------------
 * A table is declared once, in a schema's table list; its index there is its handle. A step
 * upgrades a store from one schema version to the next; the steps of a schema run in order,
 * all in the one write transaction that opens the store, so a store is either upgraded
 * completely or left as it was. */
#define STORE_TBL_KEEP 0x1u		/* survives a factory reset (store_wipe) */
struct store_table {
	const char *name;		/* LMDB's name of the named database */
	uint32_t since;			/* the schema version that added it */
	unsigned flags;			/* STORE_TBL_* */
};

struct store_txn;
/* Rewrites t's store from schema from to from + 1 (the tables added by from + 1 are already
 * there, empty). NT_OK, or an NT_E* code that aborts the whole upgrade. */
typedef int store_step_fn(struct store_txn *t);
struct store_step {
	uint32_t from;			/* the store's version before the step */
	store_step_fn *fn;
	const char *what;		/* for the log: what the step changes */
};

struct store_schema {
	uint32_t version;		/* what a store is after every step */
	const struct store_table *tables; /* enum store_tbl's tables first, in its order */
	size_t n_tables;		/* at most STORE_MAX_DBS */
	const struct store_step *steps;	/* by from, ascending; at most one per version */
	size_t n_steps;
};

/* This build's tables and steps (schema.c). */
const struct store_schema *store_schema_build(void);

struct store {
	MDB_env *env;
	const struct store_schema *schema;	/* what the store was opened with */
	MDB_dbi dbi[STORE_MAX_DBS];		/* by table index */
	size_t key_max;			/* LMDB's largest key (511 with default builds) */
	size_t bare_max;		/* longest bare JID usable as a key in every table */
	int writing;			/* a write txn is open in this process */
	unsigned open_txns;
	uint64_t max_bytes;		/* the map grows up to this (store_set_limits) */
	uint64_t reserve_bytes;		/* room user data leaves free, in the map and on disk */
	uint64_t txn_bytes;		/* user data the open write transaction added */
	char dir[1024];
};

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	int write;
	int failed;			/* an LMDB call failed: the txn can only be aborted */
};

static inline void store_be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t store_be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be64_put(uint8_t *p, uint64_t v)
{
	store_be32_put(p, (uint32_t)(v >> 32));
	store_be32_put(p + 4, (uint32_t)v);
}

static inline uint64_t store_be64_get(const uint8_t *p)
{
	return (uint64_t)store_be32_get(p) << 32 | store_be32_get(p + 4);
}

/* store.c -------------------------------------------------------------------------------- */
/* store_open with another schema than the build's: for the migration tests, which prove the
 * mechanism with tables and steps of their own. schema must outlive the store. NT_EINVAL
 * (logged) when schema breaks the rules above. */
int  store_open_schema(struct store **out, const char *dir, unsigned map_mb, int create,
                       const struct store_schema *schema);
/* Logs a failure while opening st ("store: DIR: what: reason") and maps it to NT_E*. */
int  store_open_fail(const struct store *st, const char *what, int mdb_rc);
/* Logs "store: what: <lmdb reason>" and marks t failed (commit will abort). Returns
 * NT_EFULL when the map is full, NT_EBUSY when the reader table is full, else NT_ESTORE. */
int  store_fail(struct store_txn *t, const char *what, int mdb_rc);
typedef int store_nested_fn(struct store_txn *child, void *arg);
/* Runs fn in a transaction nested in t (a write txn): what fn wrote joins t when it returns
 * NT_OK, and is undone when it fails, leaving t usable (a full map costs only that write).
 * fn's error, or the store's. */
int  store_nested(struct store_txn *t, store_nested_fn *fn, void *arg);
/* NT_OK and *len when bare is a usable key: 1..bare_max bytes. NT_EINVAL when empty or
 * NULL, NT_ELIMIT when too long for an LMDB key. */
int  store_bare_check(const struct store *st, const char *bare, size_t *len);
/* Writes a printable, NUL-terminated rendering of key bytes (non-printables as '?',
 * truncated to cap) for log lines and problem reports. */
void store_key_text(char *out, size_t cap, const void *k, size_t n);
/* Formats a problem line and hands it to fn (when fn is set). */
void store_problem(store_problem_fn *fn, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* migrate.c ------------------------------------------------------------------------------ */
/* NT_OK, or NT_EINVAL (logged) for a schema description that breaks the rules above: the
 * mistake of a programmer, caught by the first test that opens a store with it. */
int  store_schema_valid(const struct store_schema *s);
/* Opens the tables of st->schema: makes them in an empty environment when create, else
 * checks the store's version and upgrades an older one (only when create). */
int  store_schema_open(struct store *st, int create);

/* accounts.c ----------------------------------------------------------------------------- */
#define STORE_ACCOUNT_VERSION 1
/* version + flags + created + 2 x (iterations, salt_len, salt, key_len, stored, server) */
#define STORE_ACCOUNT_VALUE_MAX (1 + 4 + 8 + 2 * (4 + 1 + SCRAM_SALT_MAX + 1 + 2 * SCRAM_KEY_MAX))
/* Encodes a's value (not its bare JID, which is the key) into out. NT_EINVAL when a
 * credential is out of range (salt too long, zero iterations); NT_ELIMIT when cap is short. */
int  store_account_encode(const struct account *a, uint8_t *out, size_t cap, size_t *len);
/* Decodes v[0..n) into out (all but out->bare). NT_ESTORE on a wrong version, a bad length
 * field, a short value or trailing bytes; never reads past v + n. */
int  store_account_decode(struct account *out, const uint8_t *v, size_t n);
/* Adds one to "accounts_gen" in meta. */
int  store_accounts_bump(struct store_txn *t);
/* Decodes every account, reporting each bad one to fn; *n counts the good ones. */
int  store_accounts_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *n,
                          size_t *bad);

/* offline.c ------------------------------------------------------------------------------ */
/* Writes bare '\0' seq (big-endian) into out; returns its length, 0 when cap is short. */
size_t store_offline_key(uint8_t *out, size_t cap, const char *bare, size_t blen, uint64_t seq);
/* Splits an offline key. NT_ESTORE when it lacks the '\0', has a NUL or nothing before it,
 * or has not exactly 8 bytes of sequence after it. */
int  store_offline_key_parse(const uint8_t *k, size_t n, size_t *blen, uint64_t *seq);
/* Deletes every offline message of bare (blen bytes, already checked). */
int  store_offline_purge(struct store_txn *t, const char *bare, size_t blen);
/* Checks every offline key and value, reporting each bad one to fn; *n counts good ones. */
int  store_offline_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *n,
                         size_t *bad);
#endif
