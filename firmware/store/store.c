/*
 * The store's environment, its transactions and the "meta" table.
 *
 * Files: the data dir itself is the LMDB environment (data.mdb, lock.mdb; mode 0600, the dir
 * 0700 when we make it). Named databases: one per table that schema.c declares ("meta",
 * "accounts", "offline", "settings"); each table's header documents its own encodings.
 *
 * meta table: key = ASCII name, no NUL.
 *   "schema"        value: 4 bytes, big-endian: the schema version of the store's tables and
 *                   encodings; written when the store is made and by each upgrade (see
 *                   migrate.c); a store without it is not a natter store.
 *   "accounts_gen"  value: 8 bytes, big-endian; see accounts.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include "core/err.h"
#include "core/log.h"
#include "store/store_int.h"

#define STORE_DIR_MODE  0700
#define STORE_FILE_MODE 0600
#define STORE_DATA_FILE "data.mdb"
#define STORE_MB_SHIFT  20

static int store_nt(int mdb_rc)
{
	switch (mdb_rc) {
	case MDB_MAP_FULL:
		return NT_EFULL;
	case MDB_READERS_FULL:
	case EAGAIN:
	case EBUSY:
		return NT_EBUSY;
	default:
		return NT_ESTORE;
	}
}

int store_fail(struct store_txn *t, const char *what, int mdb_rc)
{
	log_err("store: %s: %s", what, mdb_strerror(mdb_rc));
	t->failed = 1;
	return store_nt(mdb_rc);
}

int store_open_fail(const struct store *st, const char *what, int mdb_rc)
{
	const char *why = mdb_strerror(mdb_rc);

	if (mdb_rc == MDB_INVALID)
		why = "data.mdb is not an LMDB file, or its header is corrupt";
	else if (mdb_rc == MDB_VERSION_MISMATCH)
		why = "data.mdb was made by an incompatible LMDB version";
	log_err("store: %s: %s: %s", st->dir, what, why);
	return store_nt(mdb_rc);
}

int store_bare_check(const struct store *st, const char *bare, size_t *len)
{
	size_t n;

	if (bare == NULL || bare[0] == '\0')
		return NT_EINVAL;
	n = strnlen(bare, st->bare_max + 1);
	if (n > st->bare_max)
		return NT_ELIMIT;
	*len = n;
	return NT_OK;
}

void store_key_text(char *out, size_t cap, const void *k, size_t n)
{
	const uint8_t *p = k;
	size_t o = 0, i;

	if (cap == 0)
		return;
	for (i = 0; i < n && o + 5 < cap; i++) {
		/* Control bytes are escaped; UTF-8 in JIDs passes through. */
		if (p[i] < 0x20 || p[i] == 0x7f)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", p[i]);
		else
			out[o++] = (char)p[i];
	}
	out[o] = '\0';
}

void store_problem(store_problem_fn *fn, void *arg, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fn(line, arg);
}

/* Checks that dir is there (making it when create) and, when not creating, that it holds a
 * data file, so that LMDB never makes an empty store for a reader. */
static int store_dir_prepare(const char *dir, int create)
{
	char path[sizeof(((struct store *)0)->dir)];
	struct stat sb;

	if (stat(dir, &sb) != 0) {
		if (errno == ENOENT && !create) {
			log_info("store: %s: no such directory", dir);
			return NT_ENOENT;
		}
		if (errno != ENOENT || mkdir(dir, STORE_DIR_MODE) != 0) {
			log_err("store: %s: %s", dir, strerror(errno));
			return NT_ESTORE;
		}
		return NT_OK;
	}
	if (!S_ISDIR(sb.st_mode)) {
		log_err("store: %s: not a directory", dir);
		return NT_ESTORE;
	}
	if (create)
		return NT_OK;
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_DATA_FILE);
	if (stat(path, &sb) != 0) {
		if (errno == ENOENT) {
			log_info("store: no store in %s", dir);
			return NT_ENOENT;
		}
		log_err("store: %s: %s", path, strerror(errno));
		return NT_ESTORE;
	}
	if (!S_ISREG(sb.st_mode)) {
		log_err("store: %s: not a regular file", path);
		return NT_ESTORE;
	}
	return NT_OK;
}

static int store_env_open(struct store *st, unsigned map_mb)
{
	int rc;

	if ((rc = mdb_env_create(&st->env)) != 0) {
		st->env = NULL;
		return rc;
	}
	if ((rc = mdb_env_set_maxdbs(st->env, STORE_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, (size_t)map_mb << STORE_MB_SHIFT)) != 0)
		return rc;
	/* Neither MDB_NOSYNC nor MDB_NOMETASYNC: a commit is on disk when it returns, so an
	 * acknowledged message survives a crash. MDB_NOTLS: our one thread may hold a read
	 * txn beside a write txn. */
	if ((rc = mdb_env_open(st->env, st->dir, MDB_NOTLS, STORE_FILE_MODE)) != 0)
		return rc;
	/* map_mb is for a new store: one that exists keeps the size it was made or grown to
	 * (LMDB would take the larger of the two, so a natterctl built with a larger default
	 * would grow every store it touches). */
	return mdb_env_set_mapsize(st->env, 0);
}

int store_open(struct store **out, const char *dir, unsigned map_mb, int create)
{
	return store_open_schema(out, dir, map_mb, create, store_schema_build());
}

int store_open_schema(struct store **out, const char *dir, unsigned map_mb, int create,
                      const struct store_schema *schema)
{
	struct store *st = NULL;
	size_t key_max;
	int rc, dead = 0;

	*out = NULL;
	/* The map must fit size_t: 32-bit boards cannot map 4 GiB or more. */
	if (dir == NULL || map_mb == 0 ||
	    ((size_t)map_mb << STORE_MB_SHIFT) >> STORE_MB_SHIFT != map_mb)
		return NT_EINVAL;
	if ((rc = store_schema_valid(schema)) != NT_OK)
		return rc;
	if (strlen(dir) + sizeof("/" STORE_DATA_FILE) > sizeof(st->dir)) {
		log_err("store: data dir name too long");
		return NT_EINVAL;
	}
	if ((rc = store_dir_prepare(dir, create)) != NT_OK)
		return rc;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NT_ENOMEM;
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	st->schema = schema;
	if ((rc = store_env_open(st, map_mb)) != 0) {
		rc = store_open_fail(st, "open", rc);
		goto fail;
	}
	/* Reader slots left by a killed process would pin old pages forever. */
	if (mdb_reader_check(st->env, &dead) == 0 && dead > 0)
		log_info("store: %s: cleared %d stale reader slots", dir, dead);
	key_max = (size_t)mdb_env_get_maxkeysize(st->env);
	st->key_max = key_max;
	st->bare_max = key_max - 1 - STORE_OFFLINE_SEQ_LEN;
	if (st->bare_max > STORE_BARE_MAX - 1)
		st->bare_max = STORE_BARE_MAX - 1;
	if ((rc = store_schema_open(st, create)) != NT_OK)
		goto fail;
	*out = st;
	return NT_OK;
fail:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->open_txns > 0)
		log_err("store: closing %s with %u open transactions", st->dir, st->open_txns);
	if (st->env != NULL)
		mdb_env_close(st->env);
	free(st);
}

void store_set_limits(struct store *st, unsigned max_mb, unsigned reserve_mb)
{
	st->max_bytes = (uint64_t)max_mb << STORE_MB_SHIFT;
	st->reserve_bytes = (uint64_t)reserve_mb << STORE_MB_SHIFT;
	if (st->max_bytes > SIZE_MAX / 2)
		st->max_bytes = SIZE_MAX / 2;		/* a 32-bit board's address space */
}

/* The map's size and the bytes up to its last page in use (freed pages included). */
static void store_map_use(struct store *st, uint64_t *map, uint64_t *high)
{
	MDB_envinfo ei;
	MDB_stat ms;

	mdb_env_info(st->env, &ei);
	mdb_env_stat(st->env, &ms);
	*map = ei.me_mapsize;
	*high = ((uint64_t)ei.me_last_pgno + 1) * ms.ms_psize;
}

/* Bytes the disk under the store can still take, for an unprivileged writer. */
static uint64_t store_disk_free(const struct store *st)
{
	struct statvfs vs;

	if (statvfs(st->dir, &vs) != 0)
		return UINT64_MAX;		/* unknown: LMDB's own error will tell */
	return (uint64_t)vs.f_bavail * vs.f_frsize;
}

int store_grow(struct store *st)
{
	uint64_t map, high, want, disk;
	int rc;

	if (st->open_txns > 0)
		return NT_EBUSY;
	store_map_use(st, &map, &high);
	want = map * 2 < st->max_bytes ? map * 2 : st->max_bytes;
	/* The file holds what is in use; what the map adds must fit on the disk. */
	disk = store_disk_free(st);
	if (disk != UINT64_MAX) {
		disk = disk > st->reserve_bytes ? disk - st->reserve_bytes : 0;
		if (want > high + disk)
			want = high + disk;
	}
	want &= ~(uint64_t)0xfffff;			/* whole MiB, whole pages */
	if (want <= map)
		return NT_EFULL;
	if ((rc = mdb_env_set_mapsize(st->env, (size_t)want)) != 0) {
		log_err("store: %s: growing the map: %s", st->dir, mdb_strerror(rc));
		return NT_ESTORE;
	}
	log_info("store: %s: map grown from %llu to %llu MiB", st->dir,
		 (unsigned long long)(map >> STORE_MB_SHIFT),
		 (unsigned long long)(want >> STORE_MB_SHIFT));
	return NT_OK;
}

/* Pages on the free list as last committed: used again before the file grows. LMDB reads
 * its free-page table (0) only in a read-only transaction. */
static int store_free_pages(struct store *st, uint64_t *out)
{
	MDB_txn *rt = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	size_t n;
	int rc;

	*out = 0;
	if ((rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &rt)) != 0 ||
	    (rc = mdb_cursor_open(rt, 0, &c)) != 0)
		goto out;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (v.mv_size >= sizeof(n)) {		/* an ID list, led by its count */
			memcpy(&n, v.mv_data, sizeof(n));	/* LMDB aligns values to 2 */
			*out += n;
		}
	}
out:
	mdb_cursor_close(c);
	mdb_txn_abort(rt);
	if (rc == MDB_NOTFOUND)
		return NT_OK;
	log_err("store: %s: free list: %s", st->dir, mdb_strerror(rc));
	return store_nt(rc);
}

int store_room(struct store_txn *t, size_t n)
{
	struct store *st = t->st;
	uint64_t map, high, freep, need, limit = st->max_bytes;
	MDB_stat ms;
	int rc;

	if (store_disk_free(st) < st->reserve_bytes + n)
		return NT_EFULL;
	store_map_use(st, &map, &high);
	if (limit < map)
		limit = map;			/* a store made larger than today's limit */
	/* This transaction's writes are not in the high-water mark yet; pages take each
	 * value with its node and half-empty neighbours: count twice what is written. */
	need = high + 2 * (st->txn_bytes + n);
	if (need + st->reserve_bytes > limit) {
		/* Near the limit by the high-water mark: count what the free list gives back. */
		if ((rc = store_free_pages(st, &freep)) != NT_OK)
			return rc;
		mdb_env_stat(st->env, &ms);
		freep *= ms.ms_psize;
		need -= freep < need ? freep : need;
		if (need + st->reserve_bytes > limit)
			return NT_EFULL;
	}
	/* It fits the limit; it must also fit the map as it is, with an eighth to spare for
	 * the commit's own pages, or the map grows first. */
	if (need + map / 8 > map && map < limit)
		return NT_EAGAIN;
	return NT_OK;
}

int store_nested(struct store_txn *t, store_nested_fn *fn, void *arg)
{
	struct store_txn child = { .st = t->st, .write = 1 };
	int rc;

	if (!t->write || t->failed)
		return NT_EINVAL;
	if ((rc = mdb_txn_begin(t->st->env, t->txn, 0, &child.txn)) != 0) {
		log_err("store: %s: nested transaction: %s", t->st->dir, mdb_strerror(rc));
		return store_nt(rc);
	}
	rc = fn(&child, arg);
	if (rc != NT_OK || child.failed) {
		mdb_txn_abort(child.txn);
		return rc != NT_OK ? rc : NT_ESTORE;
	}
	if ((rc = mdb_txn_commit(child.txn)) != 0) {
		log_err("store: %s: nested commit: %s", t->st->dir, mdb_strerror(rc));
		return store_nt(rc);
	}
	return NT_OK;
}

/* Before a write transaction: a map less than a quarter free doubles now, while no
 * transaction is open, so that a turn seldom meets a full map. */
static void store_grow_early(struct store *st)
{
	uint64_t map, high;

	if (st->max_bytes == 0 || st->open_txns > 0)
		return;
	store_map_use(st, &map, &high);
	if (high > map - map / 4 && map < st->max_bytes)
		(void)store_grow(st);		/* NT_EFULL: the limit, logged by the caller */
}

int store_txn_writable(const struct store_txn *t)
{
	return t->write;
}

int store_begin(struct store *st, int write, struct store_txn **out)
{
	unsigned flags = write ? 0 : MDB_RDONLY;
	struct store_txn *t;
	int rc;

	*out = NULL;
	if (write && st->writing) {
		/* LMDB's writer lock is not recursive: a second one here would deadlock. */
		log_err("store: a write transaction is already open in this process");
		return NT_EBUSY;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NT_ENOMEM;
	if (write) {
		store_grow_early(st);
		st->txn_bytes = 0;
	}
	rc = mdb_txn_begin(st->env, NULL, flags, &t->txn);
	if (rc == MDB_MAP_RESIZED && st->open_txns == 0) {
		/* Another process grew the map: adopt its size and try again. */
		if ((rc = mdb_env_set_mapsize(st->env, 0)) == 0)
			rc = mdb_txn_begin(st->env, NULL, flags, &t->txn);
	}
	if (rc != 0) {
		log_err("store: %s: begin %s transaction: %s", st->dir, write ? "write" : "read",
			mdb_strerror(rc));
		free(t);
		return store_nt(rc);
	}
	t->st = st;
	t->write = write != 0;
	st->writing |= t->write;
	st->open_txns++;
	*out = t;
	return NT_OK;
}

static void store_txn_free(struct store_txn *t)
{
	if (t->write)
		t->st->writing = 0;
	t->st->open_txns--;
	free(t);
}

int store_commit(struct store_txn *t)
{
	int rc;

	if (t == NULL)
		return NT_EINVAL;
	if (t->failed) {
		/* The failure was logged where it happened; LMDB refuses to commit it anyway. */
		mdb_txn_abort(t->txn);
		store_txn_free(t);
		return NT_ESTORE;
	}
	rc = mdb_txn_commit(t->txn);
	if (rc != 0)
		log_err("store: %s: commit: %s", t->st->dir, mdb_strerror(rc));
	store_txn_free(t);
	return rc == 0 ? NT_OK : NT_ESTORE;
}

void store_abort(struct store_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	store_txn_free(t);
}

int store_wipe(struct store_txn *t)
{
	const struct store_schema *s;
	int rc;

	if (t == NULL || !t->write)
		return NT_EINVAL;
	/* Every table of user data; meta (schema, generation) and any other table marked
	 * STORE_TBL_KEEP stays. */
	s = t->st->schema;
	for (size_t i = 0; i < s->n_tables; i++)
		if (!(s->tables[i].flags & STORE_TBL_KEEP) &&
		    (rc = mdb_drop(t->txn, t->st->dbi[i], 0)) != 0)
			return store_fail(t, "wipe", rc);
	return store_accounts_bump(t);
}

/* Reports a meta table whose values do not decode. The schema was checked at open, but
 * another process may have written since. */
static int store_meta_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *bad)
{
	static const struct { const char *key; size_t len; } want[] = {
		{ STORE_META_SCHEMA, 4 },
		{ STORE_META_ACCOUNTS_GEN, 8 },
	};
	MDB_val k, v;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		k.mv_size = strlen(want[i].key);
		k.mv_data = (void *)want[i].key;
		rc = mdb_get(t->txn, t->st->dbi[TBL_META], &k, &v);
		if (rc == MDB_NOTFOUND) {
			store_problem(fn, arg, "meta: no \"%s\"", want[i].key);
			(*bad)++;
		} else if (rc != 0) {
			return store_fail(t, "meta check", rc);
		} else if (v.mv_size != want[i].len) {
			store_problem(fn, arg, "meta: \"%s\" has %zu bytes, not %zu", want[i].key,
				      v.mv_size, want[i].len);
			(*bad)++;
		} else if (i == 0 && store_be32_get(v.mv_data) != t->st->schema->version) {
			store_problem(fn, arg, "meta: schema version %u, expected %u",
				      (unsigned)store_be32_get(v.mv_data),
				      (unsigned)t->st->schema->version);
			(*bad)++;
		}
	}
	return NT_OK;
}

int store_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *accounts,
                size_t *offline)
{
	size_t bad = 0;
	int rc;

	*accounts = 0;
	*offline = 0;
	if ((rc = store_meta_check(t, fn, arg, &bad)) != NT_OK ||
	    (rc = store_accounts_check(t, fn, arg, accounts, &bad)) != NT_OK ||
	    (rc = store_offline_check(t, fn, arg, offline, &bad)) != NT_OK)
		return rc;
	return bad == 0 ? NT_OK : NT_ESTORE;
}
