/* Unit tests for the store's schema registry and upgrades (firmware/store/migrate.c), on real
 * LMDB files. A store "of schema 1" is written here with plain LMDB, byte by byte as the
 * first firmware wrote it, so the tests do not lean on the code they test. Upgrades beyond
 * schema 1 use test-only tables and steps, declared through the same registry as the build's
 * (struct store_schema), since the shipped firmware has none yet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/err.h"
#include "store/store_int.h"
#include "tests/unit/stubs/tmpdir.h"

#define MAP_MB 8
#define OLD_GEN 3			/* the accounts generation of the old store */

struct fx {
	char dir[64];
	char log[64];			/* stderr while capturing */
	int saved_err;
	struct store *st;
};

/* The calls the test steps made, in order. */
static char calls[128];

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	assert_int_equal(tmpdir_make(f->dir, sizeof(f->dir), "storemig"), 0);
	snprintf(f->log, sizeof(f->log), "/tmp/natter-storemig-log-XXXXXX");
	assert_true((fd = mkstemp(f->log)) >= 0);
	close(fd);
	f->saved_err = -1;
	calls[0] = '\0';
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	(void)tmpdir_remove(f->dir);		/* best effort */
	unlink(f->log);
	free(f);
	return 0;
}

/* stderr (the log) goes to f->log until capture_end, which returns what was written. */
static void capture_begin(struct fx *f)
{
	int fd = open(f->log, O_WRONLY | O_TRUNC);

	assert_true(fd >= 0);
	fflush(stderr);
	f->saved_err = dup(2);
	assert_true(f->saved_err >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static const char *capture_end(struct fx *f)
{
	static char text[4096];
	FILE *fp;
	size_t n;

	fflush(stderr);
	assert_int_equal(dup2(f->saved_err, 2), 2);
	close(f->saved_err);
	f->saved_err = -1;
	assert_non_null(fp = fopen(f->log, "rb"));
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	fputs(text, stderr);			/* still in the test's output */
	return text;
}

/* Plain LMDB -------------------------------------------------------------------------------- */

static MDB_env *raw_env(const struct fx *f)
{
	MDB_env *env;

	assert_null(f->st);		/* one process must not open an environment twice */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, STORE_MAX_DBS), 0);
	assert_int_equal(mdb_env_set_mapsize(env, (size_t)MAP_MB << 20), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	return env;
}

static void raw_put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn, const void *v,
                    size_t vn)
{
	MDB_val mk = { kn, (void *)k }, mv = { vn, (void *)v };

	assert_int_equal(mdb_put(txn, dbi, &mk, &mv, 0), 0);
}

static uint8_t *be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return p + bytes;
}

/* The old store's accounts: bare, flags, created, a seed for the key bytes. */
static const struct {
	const char *bare;
	uint32_t flags;
	uint64_t created;
	uint8_t seed;
} old_accounts[] = {
	{ "alice@example.org", ACCOUNT_ADMIN, 1700000000, 1 },
	{ "bob@example.org", 0, 1700000123, 2 },
};
#define N_OLD_ACCOUNTS (sizeof(old_accounts) / sizeof(old_accounts[0]))

static const struct {
	const char *bare;
	uint64_t seq;
	const char *xml;
} old_offline[] = {
	{ "alice@example.org", 0, "<message to='alice@example.org'><body>one</body></message>" },
	{ "alice@example.org", 1, "<message to='alice@example.org'><body>two</body></message>" },
	{ "bob@example.org", 7, "<message to='bob@example.org'><body>x</body></message>" },
};
#define N_OLD_OFFLINE (sizeof(old_offline) / sizeof(old_offline[0]))

static const struct { const char *key, *val; } old_settings[] = {
	{ "net.stack", "lwip" },
	{ "net.lwip.ip4", "192.168.7.2/24" },
	{ "empty", "" },
};
#define N_OLD_SETTINGS (sizeof(old_settings) / sizeof(old_settings[0]))

/* The account old_accounts[i] as the API should give it back. */
static void old_account(struct account *a, size_t i)
{
	uint8_t s = old_accounts[i].seed;

	memset(a, 0, sizeof(*a));
	snprintf(a->bare, sizeof(a->bare), "%s", old_accounts[i].bare);
	a->flags = old_accounts[i].flags;
	a->created = old_accounts[i].created;
	a->sha1.iterations = 4096;
	a->sha1.salt_len = 16;
	a->sha256.iterations = 8192;
	a->sha256.salt_len = 32;
	for (int j = 0; j < 32; j++) {
		a->sha1.salt[j % 16] = (uint8_t)(s + j);
		a->sha256.salt[j] = (uint8_t)(s * 3 + j);
		a->sha256.stored_key[j] = (uint8_t)(s * 5 + j);
		a->sha256.server_key[j] = (uint8_t)(s * 7 + j);
		a->sha1.stored_key[j % 20] = (uint8_t)(s * 11 + j % 20);
		a->sha1.server_key[j % 20] = (uint8_t)(s * 13 + j % 20);
	}
}

/* The schema-1 account value, laid out by hand as accounts.h documents it. */
static size_t old_account_value(uint8_t *out, const struct account *a)
{
	const struct scram_creds *c[2] = { &a->sha1, &a->sha256 };
	const uint8_t klen[2] = { 20, 32 };
	uint8_t *p = out;

	*p++ = 1;
	p = be(p, a->flags, 4);
	p = be(p, a->created, 8);
	for (int i = 0; i < 2; i++) {
		p = be(p, c[i]->iterations, 4);
		*p++ = c[i]->salt_len;
		memcpy(p, c[i]->salt, c[i]->salt_len);
		p += c[i]->salt_len;
		*p++ = klen[i];
		memcpy(p, c[i]->stored_key, klen[i]);
		memcpy(p + klen[i], c[i]->server_key, klen[i]);
		p += 2 * klen[i];
	}
	return (size_t)(p - out);
}

/* Writes, with plain LMDB, the store the schema-1 firmware made and used: the four tables,
 * meta "schema" = ver and "accounts_gen", accounts, offline messages and settings. */
static void old_store_write(const struct fx *f, uint32_t ver)
{
	static const char *const names[] = { "meta", "accounts", "offline", "settings" };
	uint8_t buf[512], *p;
	MDB_env *env = raw_env(f);
	MDB_dbi dbi[4];
	MDB_txn *txn;
	struct account a;
	size_t i;

	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(mdb_dbi_open(txn, names[i], MDB_CREATE, &dbi[i]), 0);
	be(buf, ver, 4);
	raw_put(txn, dbi[0], "schema", 6, buf, 4);
	be(buf, OLD_GEN, 8);
	raw_put(txn, dbi[0], "accounts_gen", 12, buf, 8);
	for (i = 0; i < N_OLD_ACCOUNTS; i++) {
		old_account(&a, i);
		raw_put(txn, dbi[1], a.bare, strlen(a.bare), buf, old_account_value(buf, &a));
	}
	for (i = 0; i < N_OLD_OFFLINE; i++) {
		p = buf + strlen(old_offline[i].bare);
		memcpy(buf, old_offline[i].bare, strlen(old_offline[i].bare));
		*p++ = '\0';
		p = be(p, old_offline[i].seq, 8);
		raw_put(txn, dbi[2], buf, (size_t)(p - buf), old_offline[i].xml,
			strlen(old_offline[i].xml));
	}
	for (i = 0; i < N_OLD_SETTINGS; i++)
		raw_put(txn, dbi[3], old_settings[i].key, strlen(old_settings[i].key),
			old_settings[i].val, strlen(old_settings[i].val));
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A byte image of tables' records (name, then each key and value with its length), to see
 * whether an open changed anything. Missing tables are recorded as such. */
struct snap {
	uint8_t *p;
	size_t n;
};

static void snap_add(struct snap *s, const void *p, size_t n)
{
	uint8_t len[8];

	be(len, n, 8);
	assert_non_null(s->p = realloc(s->p, s->n + sizeof(len) + n + 1));
	memcpy(s->p + s->n, len, sizeof(len));
	memcpy(s->p + s->n + sizeof(len), p, n);
	s->n += sizeof(len) + n;
}

static struct snap raw_snapshot(const struct fx *f, const char *const *names, size_t n)
{
	struct snap s = { NULL, 0 };
	MDB_env *env = raw_env(f);
	MDB_cursor *c;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k, v;
	int rc;

	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	for (size_t i = 0; i < n; i++) {
		snap_add(&s, names[i], strlen(names[i]));
		if ((rc = mdb_dbi_open(txn, names[i], 0, &dbi)) == MDB_NOTFOUND) {
			snap_add(&s, "(none)", 6);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(mdb_cursor_open(txn, dbi, &c), 0);
		while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
			snap_add(&s, k.mv_data, k.mv_size);
			snap_add(&s, v.mv_data, v.mv_size);
		}
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return s;
}

static const char *const user_tables[] = { "accounts", "offline", "settings" };
static const char *const all_tables[] = { "meta", "accounts", "offline", "settings", "notes",
					   "tags" };
#define N_USER (sizeof(user_tables) / sizeof(user_tables[0]))
#define N_ALL (sizeof(all_tables) / sizeof(all_tables[0]))

static void assert_snap_equal(struct snap *a, struct snap *b)
{
	assert_int_equal(a->n, b->n);
	assert_memory_equal(a->p, b->p, a->n);
	free(a->p);
	free(b->p);
}

/* One record of a table read with plain LMDB into out (NUL-terminated); its length, or -1
 * when the table or the key is missing. */
static long raw_get(const struct fx *f, const char *table, const char *key, char *out,
                    size_t cap)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	MDB_env *env = raw_env(f);
	MDB_txn *txn;
	MDB_dbi dbi;
	long n = -1;

	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	if (mdb_dbi_open(txn, table, 0, &dbi) == 0 && mdb_get(txn, dbi, &k, &v) == 0) {
		assert_true(v.mv_size < cap);
		memcpy(out, v.mv_data, v.mv_size);
		out[v.mv_size] = '\0';
		n = (long)v.mv_size;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

static uint32_t raw_schema(const struct fx *f)
{
	char v[8];

	assert_int_equal(raw_get(f, "meta", "schema", v, sizeof(v)), 4);
	return store_be32_get((const uint8_t *)v);
}

/* Test-only schemas --------------------------------------------------------------------------
 * Version 2 adds "notes" (one record per account, made by the 1->2 step); version 3 adds
 * "tags" and its step rewrites every "notes" key in place (bare -> "n/" bare) and tags the
 * store. */
enum { TBL_NOTES = TBL_COUNT, TBL_TAGS, TEST_TBL_COUNT };

static struct store_table test_tables[TEST_TBL_COUNT];

static void tables_init(void)
{
	const struct store_schema *b = store_schema_build();

	memcpy(test_tables, b->tables, TBL_COUNT * sizeof(test_tables[0]));
	test_tables[TBL_NOTES] = (struct store_table){ "notes", 2, 0 };
	test_tables[TBL_TAGS] = (struct store_table){ "tags", 3, STORE_TBL_KEEP };
}

static void called(const char *what)
{
	strncat(calls, what, sizeof(calls) - strlen(calls) - 1);
}

static int note_put(const struct account *a, void *arg)
{
	struct store_txn *t = arg;
	MDB_val k = { strlen(a->bare), (void *)a->bare }, v = { 5, "note." };

	return mdb_put(t->txn, t->st->dbi[TBL_NOTES], &k, &v, 0) == 0 ? 0 : NT_ESTORE;
}

static int step_1_2(struct store_txn *t)
{
	called("1>2 ");
	return store_account_each(t, note_put, t);
}

static int step_2_3(struct store_txn *t)
{
	char keys[4][64], nk[70];
	size_t n = 0, i;
	MDB_val k, v;
	MDB_cursor *c;

	called("2>3 ");
	/* The "tags" table that version 3 adds is already there. */
	k = (MDB_val){ 5, "since" };
	v = (MDB_val){ 1, "3" };
	if (mdb_put(t->txn, t->st->dbi[TBL_TAGS], &k, &v, 0) != 0 ||
	    mdb_cursor_open(t->txn, t->st->dbi[TBL_NOTES], &c) != 0)
		return NT_ESTORE;
	while (n < 4 && mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0) {
		snprintf(keys[n++], sizeof(keys[0]), "%.*s", (int)k.mv_size,
			 (const char *)k.mv_data);
	}
	mdb_cursor_close(c);
	for (i = 0; i < n; i++) {
		k = (MDB_val){ strlen(keys[i]), keys[i] };
		if (mdb_get(t->txn, t->st->dbi[TBL_NOTES], &k, &v) != 0)
			return NT_ESTORE;
		snprintf(nk, sizeof(nk), "n/%s", keys[i]);
		/* v points into the map: put it under the new key before deleting the old. */
		k = (MDB_val){ strlen(nk), nk };
		if (mdb_put(t->txn, t->st->dbi[TBL_NOTES], &k, &v, 0) != 0)
			return NT_ESTORE;
		k = (MDB_val){ strlen(keys[i]), keys[i] };
		if (mdb_del(t->txn, t->st->dbi[TBL_NOTES], &k, NULL) != 0)
			return NT_ESTORE;
	}
	return NT_OK;
}

static int step_fail(struct store_txn *t)
{
	MDB_val k = { 4, "half" }, v = { 4, "done" };

	called("fail ");
	/* Writes something first: the failure must undo it with the rest. */
	if (mdb_put(t->txn, t->st->dbi[TBL_TAGS], &k, &v, 0) != 0)
		return NT_ESTORE;
	return NT_EINVAL;
}

static const struct store_step steps_12[] = { { 1, step_1_2, "notes from accounts" } };
static const struct store_step steps_123[] = {
	{ 1, step_1_2, "notes from accounts" },
	{ 2, step_2_3, "notes keys get a prefix" },
};
static const struct store_step steps_fail[] = {
	{ 1, step_1_2, "notes from accounts" },
	{ 2, step_fail, "a step that fails" },
};

static const struct store_schema schema2_tables_only = { 2, test_tables, TBL_NOTES + 1,
							 NULL, 0 };
static const struct store_schema schema2 = { 2, test_tables, TBL_NOTES + 1, steps_12, 1 };
static const struct store_schema schema3 = { 3, test_tables, TEST_TBL_COUNT, steps_123, 2 };
static const struct store_schema schema3_fail = { 3, test_tables, TEST_TBL_COUNT,
						  steps_fail, 2 };

static int open_with(struct fx *f, const struct store_schema *s, int create)
{
	store_close(f->st);
	f->st = NULL;
	return store_open_schema(&f->st, f->dir, MAP_MB, create, s);
}

static void close_store(struct fx *f)
{
	store_close(f->st);
	f->st = NULL;
}

/* Takes old_offline's messages in order: *arg counts those seen. */
static int take_next(const char *xml, size_t n, void *arg)
{
	size_t *next = arg;

	assert_true(*next < N_OLD_OFFLINE);
	assert_int_equal(n, strlen(old_offline[*next].xml));
	assert_string_equal(xml, old_offline[*next].xml);
	(*next)++;
	return 0;
}

/* Every record of the old store, through the store's API. */
static void assert_old_records(struct store *st)
{
	struct store_txn *t;
	struct account want, got;
	char val[64];
	size_t i, n, off = 0;
	uint64_t gen, bytes;

	assert_int_equal(store_begin(st, 0, &t), NT_OK);
	for (i = 0; i < N_OLD_ACCOUNTS; i++) {
		old_account(&want, i);
		assert_int_equal(store_account_get(t, want.bare, &got), NT_OK);
		assert_string_equal(got.bare, want.bare);
		assert_int_equal(got.flags, want.flags);
		assert_true(got.created == want.created);
		assert_memory_equal(&got.sha1, &want.sha1, sizeof(want.sha1));
		assert_memory_equal(&got.sha256, &want.sha256, sizeof(want.sha256));
	}
	assert_int_equal(store_accounts_generation(t, &gen), NT_OK);
	assert_true(gen == OLD_GEN);
	for (i = 0; i < N_OLD_SETTINGS; i++) {
		assert_int_equal(store_setting_get(t, old_settings[i].key, val, sizeof(val), &n),
				 NT_OK);
		assert_int_equal(n, strlen(old_settings[i].val));
		assert_memory_equal(val, old_settings[i].val, n);
	}
	assert_int_equal(store_check(t, NULL, NULL, &n, &i), NT_OK);
	assert_int_equal(n, N_OLD_ACCOUNTS);
	assert_int_equal(i, N_OLD_OFFLINE);
	store_abort(t);

	/* The messages, in order, each as it was; taken in a transaction that is aborted. */
	assert_int_equal(store_begin(st, 1, &t), NT_OK);
	for (i = 0; i < N_OLD_ACCOUNTS; i++) {
		size_t want_n = 0;
		uint64_t want_b = 0;

		for (n = 0; n < N_OLD_OFFLINE; n++)
			if (strcmp(old_offline[n].bare, old_accounts[i].bare) == 0) {
				want_n++;
				want_b += strlen(old_offline[n].xml);
			}
		assert_int_equal(store_offline_usage(t, old_accounts[i].bare, &n, &bytes), NT_OK);
		assert_int_equal(n, want_n);
		assert_true(bytes == want_b);
	}
	store_abort(t);
	assert_int_equal(store_begin(st, 1, &t), NT_OK);
	for (i = 0; i < N_OLD_ACCOUNTS; i++)
		assert_int_equal(store_offline_take(t, old_accounts[i].bare, take_next, &off), 0);
	assert_int_equal(off, N_OLD_OFFLINE);
	store_abort(t);
}

/* Tests ---------------------------------------------------------------------------------- */

/* The data dir of today's boxes opens under this build, read-only (natterctl) and as natterd
 * opens it, and every record reads back as it was; neither open changes a byte. */
static void schema1_store_opens_and_reads_back(void **state)
{
	struct fx *f = *state;
	struct snap before, after;

	old_store_write(f, 1);
	before = raw_snapshot(f, all_tables, N_ALL);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_OK);
	assert_old_records(f->st);
	close_store(f);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 1), NT_OK);
	assert_old_records(f->st);
	close_store(f);
	after = raw_snapshot(f, all_tables, N_ALL);
	assert_snap_equal(&before, &after);
}

/* A version that only adds a table: the old store gets it, empty, and keeps every record. */
static void upgrade_adds_the_missing_table(void **state)
{
	struct fx *f = *state;
	struct snap before, after;
	char v[16];

	old_store_write(f, 1);
	before = raw_snapshot(f, user_tables, N_USER);
	assert_int_equal(open_with(f, &schema2_tables_only, 1), NT_OK);
	assert_old_records(f->st);
	close_store(f);
	after = raw_snapshot(f, user_tables, N_USER);
	assert_snap_equal(&before, &after);
	assert_int_equal(raw_schema(f), 2);
	assert_int_equal(raw_get(f, "meta", "accounts_gen", v, sizeof(v)), 8);
	assert_true(store_be64_get((const uint8_t *)v) == OLD_GEN);
	before = raw_snapshot(f, (const char *const[]){ "notes" }, 1);
	after = (struct snap){ NULL, 0 };
	snap_add(&after, "notes", 5);		/* there, and empty */
	assert_snap_equal(&before, &after);
}

/* 1 -> 2 -> 3 runs each step once, in order, with the tables each version adds; opening
 * again runs nothing; a store at 2 runs only 2 -> 3. */
static void steps_run_in_order_once(void **state)
{
	struct fx *f = *state;
	struct snap before, after;
	char v[16];

	old_store_write(f, 1);
	before = raw_snapshot(f, user_tables, N_USER);
	assert_int_equal(open_with(f, &schema3, 1), NT_OK);
	assert_string_equal(calls, "1>2 2>3 ");
	assert_old_records(f->st);
	assert_int_equal(open_with(f, &schema3, 1), NT_OK);
	assert_int_equal(open_with(f, &schema3, 0), NT_OK);
	assert_string_equal(calls, "1>2 2>3 ");
	close_store(f);
	after = raw_snapshot(f, user_tables, N_USER);
	assert_snap_equal(&before, &after);
	assert_int_equal(raw_schema(f), 3);
	assert_int_equal(raw_get(f, "notes", "n/alice@example.org", v, sizeof(v)), 5);
	assert_string_equal(v, "note.");
	assert_int_equal(raw_get(f, "notes", "n/bob@example.org", v, sizeof(v)), 5);
	assert_int_equal(raw_get(f, "notes", "alice@example.org", v, sizeof(v)), -1);
	assert_int_equal(raw_get(f, "tags", "since", v, sizeof(v)), 1);

	/* One version at a time: 1 -> 2 now, 2 -> 3 at the next firmware. */
	tmpdir_remove(f->dir);
	assert_int_equal(tmpdir_make(f->dir, sizeof(f->dir), "storemig"), 0);
	calls[0] = '\0';
	old_store_write(f, 1);
	assert_int_equal(open_with(f, &schema2, 1), NT_OK);
	assert_string_equal(calls, "1>2 ");
	close_store(f);
	assert_int_equal(raw_schema(f), 2);
	assert_int_equal(raw_get(f, "notes", "bob@example.org", v, sizeof(v)), 5);
	assert_int_equal(open_with(f, &schema3, 1), NT_OK);
	assert_string_equal(calls, "1>2 2>3 ");
	assert_old_records(f->st);
	close_store(f);
	assert_int_equal(raw_get(f, "notes", "n/bob@example.org", v, sizeof(v)), 5);
}

/* A step that fails undoes the steps before it too: the store is as it was, open fails and
 * the log says which step and that nothing changed. A build with a working step then
 * upgrades it. */
static void failing_step_leaves_the_store_untouched(void **state)
{
	struct fx *f = *state;
	struct snap before, after;
	const char *log;

	old_store_write(f, 1);
	before = raw_snapshot(f, all_tables, N_ALL);
	capture_begin(f);
	assert_int_equal(open_with(f, &schema3_fail, 1), NT_ESTORE);
	log = capture_end(f);
	assert_null(f->st);
	assert_string_equal(calls, "1>2 fail ");
	assert_non_null(strstr(log, "upgrading schema 2 to 3 failed (a step that fails: "));
	assert_non_null(strstr(log, "the store is left as it was, at schema 1"));
	after = raw_snapshot(f, all_tables, N_ALL);	/* no notes, no tags, schema 1 */
	assert_snap_equal(&before, &after);

	assert_int_equal(open_with(f, &schema3, 1), NT_OK);
	assert_string_equal(calls, "1>2 fail 1>2 2>3 ");
}

/* A store from a newer firmware is refused, whoever opens it, and not touched. */
static void newer_schema_is_refused(void **state)
{
	struct fx *f = *state;
	struct snap before, after;
	const char *log;

	old_store_write(f, STORE_SCHEMA_VERSION + 1);
	before = raw_snapshot(f, all_tables, N_ALL);
	capture_begin(f);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 1), NT_ESTORE);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ESTORE);
	log = capture_end(f);
	assert_non_null(strstr(log, "store schema version 2 is newer than this firmware's (1): "
			       "update the firmware or restore a backup"));
	after = raw_snapshot(f, all_tables, N_ALL);
	assert_snap_equal(&before, &after);

	tmpdir_remove(f->dir);
	assert_int_equal(tmpdir_make(f->dir, sizeof(f->dir), "storemig"), 0);
	old_store_write(f, 4);
	assert_int_equal(open_with(f, &schema3, 1), NT_ESTORE);
	assert_string_equal(calls, "");
	assert_int_equal(raw_schema(f), 4);
}

/* Schema 0 never existed. */
static void schema_zero_is_refused(void **state)
{
	struct fx *f = *state;
	const char *log;

	old_store_write(f, 0);
	capture_begin(f);
	assert_int_equal(open_with(f, &schema3, 1), NT_ESTORE);
	log = capture_end(f);
	assert_non_null(strstr(log, "schema version 0: not a natter store"));
	assert_string_equal(calls, "");
	assert_int_equal(raw_schema(f), 0);
}

/* A read-only open (natterctl list, check) writes nothing: it refuses a store that needs an
 * upgrade, saying how to get one, and opens it once natterd's kind of open has upgraded it. */
static void read_only_open_does_not_upgrade(void **state)
{
	struct fx *f = *state;
	struct snap before, after;
	const char *log;

	old_store_write(f, 1);
	before = raw_snapshot(f, all_tables, N_ALL);
	capture_begin(f);
	assert_int_equal(open_with(f, &schema3, 0), NT_ESTORE);
	log = capture_end(f);
	assert_non_null(strstr(log, "store schema version 1 is older than this firmware's (3) "
			       "and a read-only open does not upgrade it: start natterd"));
	assert_string_equal(calls, "");
	after = raw_snapshot(f, all_tables, N_ALL);
	assert_snap_equal(&before, &after);

	assert_int_equal(open_with(f, &schema3, 1), NT_OK);
	assert_int_equal(open_with(f, &schema3, 0), NT_OK);
	assert_string_equal(calls, "1>2 2>3 ");
}

/* A new store is made at the latest version with every table; no step runs. A factory reset
 * empties the added tables unless they are marked to stay. */
static void new_store_has_every_table_and_runs_no_step(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	char v[16];

	assert_int_equal(open_with(f, &schema3, 1), NT_OK);
	assert_string_equal(calls, "");
	assert_int_equal(store_begin(f->st, 1, &t), NT_OK);
	assert_int_equal(mdb_put(t->txn, f->st->dbi[TBL_NOTES], &(MDB_val){ 1, "k" },
				 &(MDB_val){ 1, "v" }, 0), 0);
	assert_int_equal(mdb_put(t->txn, f->st->dbi[TBL_TAGS], &(MDB_val){ 1, "k" },
				 &(MDB_val){ 1, "v" }, 0), 0);
	assert_int_equal(store_wipe(t), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);
	close_store(f);
	assert_int_equal(raw_schema(f), 3);
	assert_int_equal(raw_get(f, "notes", "k", v, sizeof(v)), -1);
	assert_int_equal(raw_get(f, "tags", "k", v, sizeof(v)), 1);
}

/* Descriptions that break the registry's rules are refused before any file is made. */
static void bad_schema_descriptions_are_refused(void **state)
{
	struct fx *f = *state;
	static const struct store_step backwards[] = {
		{ 2, step_2_3, "2" }, { 1, step_1_2, "1" },
	};
	static const struct store_step too_far[] = { { 3, step_1_2, "3" } };
	static struct store_table renamed[TEST_TBL_COUNT], early[TEST_TBL_COUNT];
	const struct store_schema bad[] = {
		{ 3, test_tables, TEST_TBL_COUNT, backwards, 2 },
		{ 3, test_tables, TEST_TBL_COUNT, too_far, 1 },
		{ 2, test_tables, TEST_TBL_COUNT, NULL, 0 },	/* tags is of version 3 */
		{ 3, renamed, TEST_TBL_COUNT, NULL, 0 },
		{ 0, test_tables, TBL_COUNT, NULL, 0 },
		{ 3, test_tables, TBL_COUNT - 1, NULL, 0 },
		{ 3, early, TEST_TBL_COUNT, NULL, 0 },
	};
	char path[128];

	memcpy(renamed, test_tables, sizeof(renamed));
	renamed[TBL_OFFLINE].name = "offline2";
	memcpy(early, test_tables, sizeof(early));
	early[TBL_TAGS].since = 0;
	tmpdir_remove(f->dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(open_with(f, &bad[i], 1), NT_EINVAL);
		assert_int_equal(access(f->dir, F_OK), -1);
	}
	assert_int_equal(open_with(f, NULL, 1), NT_EINVAL);
	snprintf(path, sizeof(path), "%s", f->dir);
	assert_int_equal(open_with(f, &schema3, 1), NT_OK);	/* the good one makes it */
	assert_int_equal(access(path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define FX(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		FX(schema1_store_opens_and_reads_back),
		FX(upgrade_adds_the_missing_table),
		FX(steps_run_in_order_once),
		FX(failing_step_leaves_the_store_untouched),
		FX(newer_schema_is_refused),
		FX(schema_zero_is_refused),
		FX(read_only_open_does_not_upgrade),
		FX(new_store_has_every_table_and_runs_no_step),
		FX(bad_schema_descriptions_are_refused),
#undef FX
	};

	tables_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
