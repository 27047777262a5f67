/*
 * Opening the store's tables, and upgrading a store of an older schema.
 *
 * The store's meta "schema" (store.c) says which tables and encodings it has. At open:
 *   - an empty environment is made into a store of the schema's version: every table, the
 *     schema version, the accounts generation (only when the opener may create);
 *   - a store of the same version opens as it is;
 *   - a store of an older version is upgraded, version by version: the tables that the next
 *     version adds are made, empty, then that version's step runs. Every step, and the new
 *     version number, go in the one write transaction that opens the store: a step that fails
 *     (or a crash, or a full disk) leaves the store as it was, and open fails. Only an opener
 *     that may create upgrades: natterd, and natterctl's import and set. The others
 *     (natterctl list, check, get, passwd, ..., and adduser, which first looks the user up
 *     read-only) write nothing and refuse such a store, saying to start natterd, which a box
 *     does at every boot, so a box's store is upgraded before anyone runs natterctl;
 *   - a store of a newer version (a firmware downgrade) is refused: this build cannot know
 *     what the newer one's tables mean, and writing them could lose data.
 */
#include <string.h>
#include "core/err.h"
#include "core/log.h"
#include "store/store_int.h"

int store_schema_valid(const struct store_schema *s)
{
	const struct store_schema *b = store_schema_build();
	const char *why = NULL;
	size_t i;

	if (s == NULL || s->version < STORE_SCHEMA_FIRST)
		why = "no version";
	else if (s->n_tables < TBL_COUNT || s->n_tables > STORE_MAX_DBS || s->tables == NULL)
		why = "wrong number of tables";
	else if (s->n_steps > 0 && s->steps == NULL)
		why = "no steps";
	for (i = 0; why == NULL && i < s->n_tables; i++) {
		if (s->tables[i].name == NULL || s->tables[i].since < STORE_SCHEMA_FIRST ||
		    s->tables[i].since > s->version)
			why = "a table without a name or of another version";
		else if (i < TBL_COUNT && strcmp(s->tables[i].name, b->tables[i].name) != 0)
			why = "the build's tables must come first";
	}
	for (i = 0; why == NULL && i < s->n_steps; i++) {
		if (s->steps[i].fn == NULL || s->steps[i].from < STORE_SCHEMA_FIRST ||
		    s->steps[i].from >= s->version)
			why = "a step without a function or out of range";
		else if (i > 0 && s->steps[i].from <= s->steps[i - 1].from)
			why = "steps out of order";
	}
	if (why == NULL)
		return NT_OK;
	log_err("store: bad schema description: %s", why);
	return NT_EINVAL;
}

static int table_open(struct store *st, MDB_txn *txn, size_t i, unsigned flags)
{
	const char *name = st->schema->tables[i].name;
	int rc = mdb_dbi_open(txn, name, flags, &st->dbi[i]);

	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
		log_err("store: %s: no \"%s\" table: not a natter store", st->dir, name);
		return NT_ESTORE;
	}
	return rc == 0 ? NT_OK : store_open_fail(st, name, rc);
}

/* Opens every table that a store of version ver has (making them when flags says so). */
static int tables_open(struct store *st, MDB_txn *txn, uint32_t ver, unsigned flags)
{
	size_t i;
	int nt;

	for (i = 0; i < st->schema->n_tables; i++)
		if (st->schema->tables[i].since <= ver &&
		    (nt = table_open(st, txn, i, flags)) != NT_OK)
			return nt;
	return NT_OK;
}

static int schema_put(struct store *st, MDB_txn *txn, uint32_t ver)
{
	uint8_t b[4];
	MDB_val k = { sizeof(STORE_META_SCHEMA) - 1, STORE_META_SCHEMA }, v = { sizeof(b), b };
	int rc;

	store_be32_put(b, ver);
	if ((rc = mdb_put(txn, st->dbi[TBL_META], &k, &v, 0)) != 0)
		return store_open_fail(st, "write schema", rc);
	return NT_OK;
}

static int schema_get(struct store *st, MDB_txn *txn, uint32_t *ver)
{
	MDB_val k = { sizeof(STORE_META_SCHEMA) - 1, STORE_META_SCHEMA }, v;
	int rc = mdb_get(txn, st->dbi[TBL_META], &k, &v);

	if (rc == MDB_NOTFOUND) {
		log_err("store: %s: no schema version: not a natter store", st->dir);
		return NT_ESTORE;
	}
	if (rc != 0)
		return store_open_fail(st, "read schema", rc);
	if (v.mv_size != sizeof(uint32_t)) {
		log_err("store: %s: schema version has %zu bytes, not 4", st->dir, v.mv_size);
		return NT_ESTORE;
	}
	*ver = store_be32_get(v.mv_data);
	return NT_OK;
}

/* A new store: every table, the version, and the accounts generation at 0. */
static int store_make(struct store *st, MDB_txn *txn)
{
	uint8_t gen[8];
	MDB_val gk = { sizeof(STORE_META_ACCOUNTS_GEN) - 1, STORE_META_ACCOUNTS_GEN };
	MDB_val gv = { sizeof(gen), gen };
	int rc, nt;

	if ((nt = tables_open(st, txn, st->schema->version, MDB_CREATE)) != NT_OK ||
	    (nt = schema_put(st, txn, st->schema->version)) != NT_OK)
		return nt;
	store_be64_put(gen, 0);
	if ((rc = mdb_put(txn, st->dbi[TBL_META], &gk, &gv, 0)) != 0)
		return store_open_fail(st, "write schema", rc);
	return NT_OK;
}

/* Whether a store of version ver can be opened by this schema, and logs why not. */
static int version_usable(const struct store *st, uint32_t ver, int create)
{
	uint32_t want = st->schema->version;

	if (ver > want) {
		log_err("store: %s: store schema version %u is newer than this firmware's (%u): "
			"update the firmware or restore a backup", st->dir, (unsigned)ver,
			(unsigned)want);
		return NT_ESTORE;
	}
	if (ver < STORE_SCHEMA_FIRST) {
		log_err("store: %s: schema version %u: not a natter store", st->dir,
			(unsigned)ver);
		return NT_ESTORE;
	}
	if (ver < want && !create) {
		log_err("store: %s: store schema version %u is older than this firmware's (%u) "
			"and a read-only open does not upgrade it: start natterd once (it "
			"upgrades the store), then try again", st->dir, (unsigned)ver,
			(unsigned)want);
		return NT_ESTORE;
	}
	return NT_OK;
}

/* Upgrades the store in txn from version from to the schema's, one version at a time. */
static int store_upgrade(struct store *st, MDB_txn *txn, uint32_t from)
{
	const struct store_schema *s = st->schema;
	const struct store_step *step = s->steps;
	const struct store_step *end = s->steps + s->n_steps;
	struct store_txn t = { .st = st, .txn = txn, .write = 1 };
	uint32_t v;
	size_t i;
	int nt;

	for (v = from; v < s->version; v++) {
		for (i = 0; i < s->n_tables; i++)
			if (s->tables[i].since == v + 1 &&
			    (nt = table_open(st, txn, i, MDB_CREATE)) != NT_OK)
				return nt;
		while (step < end && step->from < v)
			step++;
		if (step == end || step->from != v)
			continue;
		log_info("store: %s: schema %u to %u: %s", st->dir, (unsigned)v,
			 (unsigned)v + 1, step->what);
		if ((nt = step->fn(&t)) == NT_OK && t.failed)
			nt = NT_ESTORE;
		if (nt != NT_OK) {
			log_err("store: %s: upgrading schema %u to %u failed (%s: %s); the store "
				"is left as it was, at schema %u", st->dir, (unsigned)v,
				(unsigned)v + 1, step->what, nt_strerror(nt), (unsigned)from);
			return NT_ESTORE;
		}
	}
	return schema_put(st, txn, s->version);
}

int store_schema_open(struct store *st, int create)
{
	MDB_txn *txn = NULL;
	MDB_dbi main_dbi;
	MDB_stat ms;
	uint32_t ver = 0;
	int rc, nt, fresh;

	if ((rc = mdb_txn_begin(st->env, NULL, create ? 0 : MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
	    (rc = mdb_stat(txn, main_dbi, &ms)) != 0) {
		nt = store_open_fail(st, "read", rc);
		goto out;
	}
	fresh = ms.ms_entries == 0;
	if (fresh && !create) {
		log_info("store: no store in %s (empty environment)", st->dir);
		nt = NT_ENOENT;
		goto out;
	}
	if (fresh)
		nt = store_make(st, txn);
	else if ((nt = table_open(st, txn, TBL_META, 0)) == NT_OK &&
		 (nt = schema_get(st, txn, &ver)) == NT_OK &&
		 (nt = version_usable(st, ver, create)) == NT_OK &&
		 (nt = tables_open(st, txn, ver, 0)) == NT_OK && ver < st->schema->version)
		nt = store_upgrade(st, txn, ver);
	if (nt != NT_OK)
		goto out;
	/* Committing (even a read txn) makes the database handles usable by later txns. */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		nt = store_open_fail(st, "commit", rc);
		goto out;
	}
	if (fresh)
		log_info("store: created a store in %s (schema %u)", st->dir,
			 (unsigned)st->schema->version);
	else if (ver < st->schema->version)
		log_info("store: %s: upgraded from schema %u to %u", st->dir, (unsigned)ver,
			 (unsigned)st->schema->version);
out:
	mdb_txn_abort(txn);
	return nt;
}
