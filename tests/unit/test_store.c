/* Unit tests for firmware/store/: encodings, tables, opening rules, durability. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/err.h"
#include "store/store_int.h"
#include "tests/unit/stubs/tmpdir.h"

#define MAP_MB 8

struct fx {
	char dir[64];
	struct store *st;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmpdir_make(f->dir, sizeof(f->dir), "store"), 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	(void)tmpdir_remove(f->dir);		/* best effort */
	free(f);
	return 0;
}

static struct store *fx_open(struct fx *f)
{
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 1), NT_OK);
	return f->st;
}

static void fx_reopen(struct fx *f, int create)
{
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, create), NT_OK);
}

static struct store_txn *wtxn(struct store *st)
{
	struct store_txn *t;

	assert_int_equal(store_begin(st, 1, &t), NT_OK);
	return t;
}

static struct store_txn *rtxn(struct store *st)
{
	struct store_txn *t;

	assert_int_equal(store_begin(st, 0, &t), NT_OK);
	return t;
}

static void path_in(char *out, size_t cap, const struct fx *f, const char *name)
{
	snprintf(out, cap, "%s/%s", f->dir, name);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

/* Writes raw bytes into a table, bypassing the encoders. */
static void raw_put(struct store *st, enum store_tbl tbl, const void *k, size_t kn,
                    const void *v, size_t vn)
{
	struct store_txn *t = wtxn(st);
	MDB_val mk = { kn, (void *)k }, mv = { vn, (void *)v };

	assert_int_equal(mdb_put(t->txn, st->dbi[tbl], &mk, &mv, 0), 0);
	assert_int_equal(store_commit(t), NT_OK);
}

static void make_account(struct account *a, const char *bare, uint8_t seed)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->bare, sizeof(a->bare), "%s", bare);
	a->flags = 0x01020304u ^ seed;
	a->created = 0x1122334455667788ull + seed;
	a->sha1.iterations = 4096;
	a->sha1.salt_len = 16;
	a->sha256.iterations = 8192 + seed;
	a->sha256.salt_len = 32;
	for (int i = 0; i < SCRAM_KEY_MAX; i++) {
		a->sha1.salt[i % 16] = (uint8_t)(seed + i);
		a->sha256.salt[i] = (uint8_t)(seed * 3 + i);
		a->sha256.stored_key[i] = (uint8_t)(seed * 5 + i);
		a->sha256.server_key[i] = (uint8_t)(seed * 7 + i);
	}
	for (int i = 0; i < 20; i++) {
		a->sha1.stored_key[i] = (uint8_t)(seed * 11 + i);
		a->sha1.server_key[i] = (uint8_t)(seed * 13 + i);
	}
}

static void assert_creds_equal(const struct scram_creds *x, const struct scram_creds *y,
                               size_t klen)
{
	assert_int_equal(x->iterations, y->iterations);
	assert_int_equal(x->salt_len, y->salt_len);
	assert_memory_equal(x->salt, y->salt, x->salt_len);
	assert_memory_equal(x->stored_key, y->stored_key, klen);
	assert_memory_equal(x->server_key, y->server_key, klen);
}

static void assert_account_equal(const struct account *x, const struct account *y)
{
	assert_string_equal(x->bare, y->bare);
	assert_int_equal(x->flags, y->flags);
	assert_true(x->created == y->created);
	assert_creds_equal(&x->sha1, &y->sha1, 20);
	assert_creds_equal(&x->sha256, &y->sha256, 32);
}

/* Encodings ------------------------------------------------------------------------------ */

static void be_helpers_are_big_endian(void **state)
{
	uint8_t b[8];

	(void)state;
	store_be32_put(b, 0x0a0b0c0du);
	assert_memory_equal(b, "\x0a\x0b\x0c\x0d", 4);
	assert_int_equal(store_be32_get(b), 0x0a0b0c0du);
	store_be64_put(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(store_be64_get(b) == 0x0102030405060708ull);
}

static void account_encoding_round_trips(void **state)
{
	uint8_t buf[STORE_ACCOUNT_VALUE_MAX];
	struct account a, b;
	size_t n;

	(void)state;
	make_account(&a, "alice@example.org", 7);
	assert_int_equal(store_account_encode(&a, buf, sizeof(buf), &n), NT_OK);
	assert_int_equal(n, 1 + 4 + 8 + (4 + 1 + 16 + 1 + 40) + (4 + 1 + 32 + 1 + 64));
	assert_int_equal(buf[0], STORE_ACCOUNT_VERSION);
	assert_int_equal(store_be32_get(buf + 1), a.flags);
	assert_true(store_be64_get(buf + 5) == a.created);
	assert_int_equal(store_be32_get(buf + 13), 4096);
	memset(&b, 0xee, sizeof(b));
	strcpy(b.bare, a.bare);
	assert_int_equal(store_account_decode(&b, buf, n), NT_OK);
	assert_account_equal(&a, &b);
}

static void account_decode_rejects_truncation(void **state)
{
	uint8_t buf[STORE_ACCOUNT_VALUE_MAX];
	struct account a, b;
	size_t n, cut;

	(void)state;
	make_account(&a, "a@b", 1);
	assert_int_equal(store_account_encode(&a, buf, sizeof(buf), &n), NT_OK);
	for (cut = 0; cut < n; cut++) {
		/* A heap copy of exactly cut bytes lets ASan catch any read past the value. */
		uint8_t *v = malloc(cut ? cut : 1);

		assert_non_null(v);
		memcpy(v, buf, cut);
		assert_int_equal(store_account_decode(&b, v, cut), NT_ESTORE);
		free(v);
	}
}

static void account_decode_rejects_garbage(void **state)
{
	uint8_t buf[STORE_ACCOUNT_VALUE_MAX + 1], bad[STORE_ACCOUNT_VALUE_MAX + 1];
	struct account a, b;
	size_t n;
	const size_t salt1 = 1 + 4 + 8 + 4;		/* offset of SHA-1 salt_len */
	const size_t klen1 = salt1 + 1 + 16;		/* offset of SHA-1 key_len */

	(void)state;
	make_account(&a, "a@b", 2);
	assert_int_equal(store_account_encode(&a, buf, sizeof(buf), &n), NT_OK);

	memcpy(bad, buf, n);
	bad[0] = 2;					/* unknown version */
	assert_int_equal(store_account_decode(&b, bad, n), NT_ESTORE);

	memcpy(bad, buf, n);
	bad[n] = 0;					/* trailing byte */
	assert_int_equal(store_account_decode(&b, bad, n + 1), NT_ESTORE);

	memcpy(bad, buf, n);
	store_be32_put(bad + 13, 0);			/* zero iterations */
	assert_int_equal(store_account_decode(&b, bad, n), NT_ESTORE);

	memcpy(bad, buf, n);
	bad[salt1] = 0;					/* empty salt */
	assert_int_equal(store_account_decode(&b, bad, n), NT_ESTORE);

	memcpy(bad, buf, n);
	bad[salt1] = 200;				/* salt longer than the value */
	assert_int_equal(store_account_decode(&b, bad, n), NT_ESTORE);

	memcpy(bad, buf, n);
	bad[klen1] = 32;				/* SHA-1 key with SHA-256's size */
	assert_int_equal(store_account_decode(&b, bad, n), NT_ESTORE);

	memset(bad, 0xff, sizeof(bad));
	assert_int_equal(store_account_decode(&b, bad, sizeof(bad)), NT_ESTORE);
}

static void account_encode_rejects_bad_creds(void **state)
{
	uint8_t buf[STORE_ACCOUNT_VALUE_MAX];
	struct account a;
	size_t n;

	(void)state;
	make_account(&a, "a@b", 3);
	a.sha1.salt_len = 0;
	assert_int_equal(store_account_encode(&a, buf, sizeof(buf), &n), NT_EINVAL);
	make_account(&a, "a@b", 3);
	a.sha256.salt_len = SCRAM_SALT_MAX + 1;
	assert_int_equal(store_account_encode(&a, buf, sizeof(buf), &n), NT_EINVAL);
	make_account(&a, "a@b", 3);
	a.sha256.iterations = 0;
	assert_int_equal(store_account_encode(&a, buf, sizeof(buf), &n), NT_EINVAL);
	make_account(&a, "a@b", 3);
	assert_int_equal(store_account_encode(&a, buf, 20, &n), NT_ELIMIT);
}

static void offline_key_round_trips(void **state)
{
	uint8_t k[64];
	size_t n, blen;
	uint64_t seq;

	(void)state;
	n = store_offline_key(k, sizeof(k), "bob@x.org", 9, 0x0102030405060708ull);
	assert_int_equal(n, 9 + 1 + 8);
	assert_memory_equal(k, "bob@x.org\0\x01\x02\x03\x04\x05\x06\x07\x08", n);
	assert_int_equal(store_offline_key_parse(k, n, &blen, &seq), NT_OK);
	assert_int_equal(blen, 9);
	assert_true(seq == 0x0102030405060708ull);
	assert_int_equal(store_offline_key(k, 10, "bob@x.org", 9, 1), 0);

	assert_int_equal(store_offline_key_parse(k, n - 1, &blen, &seq), NT_ESTORE);
	assert_int_equal(store_offline_key_parse((const uint8_t *)"bob@x.org", 9, &blen, &seq),
			 NT_ESTORE);
	assert_int_equal(store_offline_key_parse(k + 9, 9, &blen, &seq), NT_ESTORE);
}

/* Opening --------------------------------------------------------------------------------- */

static void open_missing_dir_is_enoent(void **state)
{
	struct fx *f = *state;
	struct store *st = (void *)1;
	char sub[128];
	struct stat sb;

	path_in(sub, sizeof(sub), f, "nope");
	assert_int_equal(store_open(&st, sub, MAP_MB, 0), NT_ENOENT);
	assert_null(st);
	assert_int_equal(stat(sub, &sb), -1);
}

static void open_empty_dir_without_create_is_enoent(void **state)
{
	struct fx *f = *state;
	char data[128];
	struct stat sb;

	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ENOENT);
	path_in(data, sizeof(data), f, "data.mdb");
	assert_int_equal(stat(data, &sb), -1);		/* nothing was made */
}

static void open_creates_dir_and_files_private(void **state)
{
	struct fx *f = *state;
	char sub[128], data[192];
	struct store *st;
	struct stat sb;

	path_in(sub, sizeof(sub), f, "new");
	assert_int_equal(store_open(&st, sub, MAP_MB, 1), NT_OK);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	snprintf(data, sizeof(data), "%s/data.mdb", sub);
	assert_int_equal(stat(data, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	store_close(st);
	assert_int_equal(store_open(&st, sub, MAP_MB, 0), NT_OK);
	store_close(st);
}

static void open_garbage_is_estore(void **state)
{
	struct fx *f = *state;
	char data[128], junk[16384];

	path_in(data, sizeof(data), f, "data.mdb");
	memset(junk, 'x', sizeof(junk));
	write_file(data, junk, sizeof(junk));
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ESTORE);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 1), NT_ESTORE);
	write_file(data, "hello", 5);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ESTORE);
	assert_null(f->st);
}

static void open_foreign_lmdb_is_estore(void **state)
{
	struct fx *f = *state;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val k = { 5, "hello" }, v = { 5, "world" };

	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ESTORE);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 1), NT_ESTORE);
}

/* Sets (or, when v is NULL, deletes) meta "schema" with plain LMDB while no store is open:
 * one process must not open an environment twice at once. */
static void raw_schema(const struct fx *f, const void *v, size_t n)
{
	MDB_val k = { 6, "schema" }, mv = { n, (void *)v };
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;

	assert_null(f->st);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	if (v != NULL)
		assert_int_equal(mdb_put(txn, dbi, &k, &mv, 0), 0);
	else
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void open_rejects_other_schema(void **state)
{
	struct fx *f = *state;
	uint8_t ver[4];

	fx_open(f);
	store_close(f->st);
	f->st = NULL;
	store_be32_put(ver, STORE_SCHEMA_VERSION + 1);
	raw_schema(f, ver, 4);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ESTORE);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 1), NT_ESTORE);

	store_be32_put(ver, STORE_SCHEMA_VERSION);
	raw_schema(f, ver + 1, 3);			/* right number, wrong length */
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ESTORE);

	raw_schema(f, NULL, 0);				/* no schema at all */
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_ESTORE);
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 1), NT_ESTORE);

	raw_schema(f, ver, 4);				/* and back: it opens again */
	assert_int_equal(store_open(&f->st, f->dir, MAP_MB, 0), NT_OK);
}

static void reopen_keeps_everything(void **state)
{
	struct fx *f = *state;
	struct account a, b;
	struct store_txn *t;
	char val[16];
	size_t n;
	uint64_t gen;

	fx_open(f);
	make_account(&a, "carol@example.org", 9);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	assert_int_equal(store_offline_push(t, "carol@example.org", "<message/>", 10), NT_OK);
	assert_int_equal(store_setting_put(t, "domain", "example.org", 11), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);

	fx_reopen(f, 0);
	t = rtxn(f->st);
	assert_int_equal(store_account_get(t, "carol@example.org", &b), NT_OK);
	assert_account_equal(&a, &b);
	assert_int_equal(store_offline_count(t, "carol@example.org", &n), NT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(store_setting_get(t, "domain", val, sizeof(val), &n), NT_OK);
	assert_memory_equal(val, "example.org", 11);
	assert_int_equal(store_accounts_generation(t, &gen), NT_OK);
	assert_true(gen == 1);
	store_abort(t);
}

/* Accounts -------------------------------------------------------------------------------- */

static void accounts_put_get_del_and_generation(void **state)
{
	struct fx *f = *state;
	struct account a, b;
	struct store_txn *t;
	uint64_t gen;

	fx_open(f);
	t = rtxn(f->st);
	assert_int_equal(store_accounts_generation(t, &gen), NT_OK);
	assert_true(gen == 0);
	assert_int_equal(store_account_get(t, "dave@x", &b), NT_ENOENT);
	store_abort(t);

	make_account(&a, "dave@x", 4);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	make_account(&b, "dave@x", 5);
	assert_int_equal(store_account_put(t, &b, 1), NT_EEXIST);
	assert_int_equal(store_commit(t), NT_OK);	/* EEXIST leaves the txn usable */

	t = rtxn(f->st);
	assert_int_equal(store_account_get(t, "dave@x", &b), NT_OK);
	assert_account_equal(&a, &b);		/* the create_only put changed nothing */
	assert_int_equal(store_accounts_generation(t, &gen), NT_OK);
	assert_true(gen == 1);
	store_abort(t);

	make_account(&b, "dave@x", 5);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &b, 0), NT_OK);
	assert_int_equal(store_account_get(t, "dave@x", &a), NT_OK);
	assert_account_equal(&a, &b);
	assert_int_equal(store_account_del(t, "dave@x"), NT_OK);
	assert_int_equal(store_account_get(t, "dave@x", &a), NT_ENOENT);
	assert_int_equal(store_account_del(t, "dave@x"), NT_ENOENT);
	assert_int_equal(store_accounts_generation(t, &gen), NT_OK);
	assert_true(gen == 3);
	assert_int_equal(store_commit(t), NT_OK);
}

static void accounts_reject_bad_names_and_read_txn_writes(void **state)
{
	struct fx *f = *state;
	struct account a, b;
	struct store_txn *t;

	fx_open(f);
	make_account(&a, "", 1);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 0), NT_EINVAL);
	memset(a.bare, 'a', 600);
	a.bare[600] = '\0';
	assert_int_equal(store_account_put(t, &a, 0), NT_ELIMIT);	/* past LMDB's key size */
	assert_int_equal(store_account_get(t, a.bare, &b), NT_ENOENT);
	assert_int_equal(store_account_del(t, a.bare), NT_ENOENT);
	store_abort(t);

	make_account(&a, "e@x", 1);
	t = rtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 0), NT_EINVAL);
	assert_int_equal(store_account_del(t, "e@x"), NT_EINVAL);
	assert_int_equal(store_offline_push(t, "e@x", "<m/>", 4), NT_EINVAL);
	assert_int_equal(store_setting_put(t, "k", "v", 1), NT_EINVAL);
	store_abort(t);
}

struct names {
	char got[4][32];
	int n;
	int stop_at;
};

static int collect_name(const struct account *a, void *arg)
{
	struct names *ns = arg;

	snprintf(ns->got[ns->n], sizeof(ns->got[0]), "%.31s", a->bare);
	return ++ns->n == ns->stop_at ? 42 : 0;
}

static void accounts_each_is_sorted_and_stops(void **state)
{
	struct fx *f = *state;
	static const char *const names[] = { "carl@x", "ann@x", "bea@x" };
	struct names ns = { .stop_at = -1 };
	struct account a;
	struct store_txn *t;

	fx_open(f);
	t = wtxn(f->st);
	for (int i = 0; i < 3; i++) {
		make_account(&a, names[i], (uint8_t)i);
		assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	}
	assert_int_equal(store_commit(t), NT_OK);

	t = rtxn(f->st);
	assert_int_equal(store_account_each(t, collect_name, &ns), NT_OK);
	assert_int_equal(ns.n, 3);
	assert_string_equal(ns.got[0], "ann@x");
	assert_string_equal(ns.got[1], "bea@x");
	assert_string_equal(ns.got[2], "carl@x");
	memset(&ns, 0, sizeof(ns));
	ns.stop_at = 2;
	assert_int_equal(store_account_each(t, collect_name, &ns), 42);
	assert_int_equal(ns.n, 2);
	store_abort(t);
}

struct problems {
	int n;
	char last[256];
};

static void note_problem(const char *what, void *arg)
{
	struct problems *p = arg;

	p->n++;
	snprintf(p->last, sizeof(p->last), "%s", what);
}

static void corrupt_account_is_rejected_and_reported(void **state)
{
	struct fx *f = *state;
	struct names ns = { .stop_at = -1 };
	struct problems pr = { 0 };
	struct account a;
	struct store_txn *t;
	size_t na, no;

	fx_open(f);
	make_account(&a, "good@x", 1);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	assert_int_equal(store_offline_push(t, "good@x", "<m/>", 4), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);

	t = rtxn(f->st);
	assert_int_equal(store_check(t, note_problem, &pr, &na, &no), NT_OK);
	assert_int_equal(pr.n, 0);
	assert_int_equal(na, 1);
	assert_int_equal(no, 1);
	store_abort(t);

	raw_put(f->st, TBL_ACCOUNTS, "bad@x", 5, "\x01\x02", 2);
	raw_put(f->st, TBL_OFFLINE, "nonul", 5, "<m/>", 4);
	t = rtxn(f->st);
	assert_int_equal(store_account_get(t, "bad@x", &a), NT_ESTORE);
	assert_int_equal(store_account_get(t, "good@x", &a), NT_OK);
	assert_int_equal(store_account_each(t, collect_name, &ns), NT_ESTORE);
	assert_int_equal(store_check(t, note_problem, &pr, &na, &no), NT_ESTORE);
	assert_int_equal(pr.n, 2);
	assert_non_null(strstr(pr.last, "nonul"));
	assert_int_equal(na, 1);
	assert_int_equal(no, 1);
	store_abort(t);
}

/* Offline --------------------------------------------------------------------------------- */

struct taken {
	char xml[8][32];
	int n;
	int stop_at;
};

static int take_one(const char *xml, size_t n, void *arg)
{
	struct taken *tk = arg;

	assert_int_equal(xml[n], '\0');
	if (tk->n == tk->stop_at)
		return 7;
	assert_true(n < sizeof(tk->xml[0]));
	memcpy(tk->xml[tk->n], xml, n + 1);
	tk->n++;
	return 0;
}

static void push(struct store_txn *t, const char *bare, const char *xml)
{
	assert_int_equal(store_offline_push(t, bare, xml, strlen(xml)), NT_OK);
}

static size_t count(struct store_txn *t, const char *bare)
{
	size_t n = 99;

	assert_int_equal(store_offline_count(t, bare, &n), NT_OK);
	return n;
}

static void offline_keeps_order_per_user(void **state)
{
	struct fx *f = *state;
	struct taken tk = { .stop_at = -1 };
	struct store_txn *t;

	fx_open(f);
	t = wtxn(f->st);
	push(t, "a@b", "<1/>");
	push(t, "a@b.c", "<x/>");		/* a longer JID sharing "a@b" */
	push(t, "a@b", "<2/>");
	push(t, "a@bc", "<y/>");
	push(t, "a@b", "<3/>");
	push(t, "a@b.c", "<z/>");
	assert_int_equal(store_commit(t), NT_OK);

	t = wtxn(f->st);
	assert_int_equal(count(t, "a@b"), 3);
	assert_int_equal(count(t, "a@b.c"), 2);
	assert_int_equal(count(t, "a@bc"), 1);
	assert_int_equal(count(t, "a@"), 0);
	assert_int_equal(store_offline_take(t, "a@b", take_one, &tk), NT_OK);
	assert_int_equal(tk.n, 3);
	assert_string_equal(tk.xml[0], "<1/>");
	assert_string_equal(tk.xml[1], "<2/>");
	assert_string_equal(tk.xml[2], "<3/>");
	assert_int_equal(count(t, "a@b"), 0);
	assert_int_equal(count(t, "a@b.c"), 2);
	assert_int_equal(count(t, "a@bc"), 1);
	assert_int_equal(store_commit(t), NT_OK);

	memset(&tk, 0, sizeof(tk));
	tk.stop_at = -1;
	t = wtxn(f->st);
	assert_int_equal(store_offline_take(t, "a@b.c", take_one, &tk), NT_OK);
	assert_int_equal(tk.n, 2);
	assert_string_equal(tk.xml[0], "<x/>");
	assert_string_equal(tk.xml[1], "<z/>");
	assert_int_equal(store_offline_take(t, "nobody@b", take_one, &tk), NT_OK);
	assert_int_equal(tk.n, 2);
	assert_int_equal(store_offline_push(t, "a@b", "", 0), NT_EINVAL);
	assert_int_equal(store_commit(t), NT_OK);
}

static void offline_take_stops_and_keeps_the_rest(void **state)
{
	struct fx *f = *state;
	struct taken tk = { .stop_at = 1 };
	struct store_txn *t;

	fx_open(f);
	t = wtxn(f->st);
	push(t, "u@d", "<1/>");
	push(t, "u@d", "<2/>");
	push(t, "u@d", "<3/>");
	assert_int_equal(store_offline_take(t, "u@d", take_one, &tk), 7);
	assert_int_equal(tk.n, 1);
	assert_int_equal(count(t, "u@d"), 2);
	push(t, "u@d", "<4/>");			/* after the kept ones, not before */
	assert_int_equal(store_commit(t), NT_OK);

	memset(&tk, 0, sizeof(tk));
	tk.stop_at = -1;
	t = wtxn(f->st);
	assert_int_equal(store_offline_take(t, "u@d", take_one, &tk), NT_OK);
	assert_int_equal(tk.n, 3);
	assert_string_equal(tk.xml[0], "<2/>");
	assert_string_equal(tk.xml[1], "<3/>");
	assert_string_equal(tk.xml[2], "<4/>");
	store_abort(t);					/* aborted: nothing was taken */

	t = rtxn(f->st);
	assert_int_equal(count(t, "u@d"), 3);
	store_abort(t);
}

static void account_del_deletes_offline(void **state)
{
	struct fx *f = *state;
	struct account a;
	struct store_txn *t;

	fx_open(f);
	make_account(&a, "gone@x", 1);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	push(t, "gone@x", "<1/>");
	push(t, "gone@x", "<2/>");
	push(t, "gone@x.y", "<3/>");
	assert_int_equal(store_commit(t), NT_OK);

	t = wtxn(f->st);
	assert_int_equal(store_account_del(t, "gone@x"), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);
	t = rtxn(f->st);
	assert_int_equal(count(t, "gone@x"), 0);
	assert_int_equal(count(t, "gone@x.y"), 1);
	store_abort(t);
}

/* Settings -------------------------------------------------------------------------------- */

static void settings_put_get(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	char out[8];
	size_t n = 0;

	fx_open(f);
	t = wtxn(f->st);
	assert_int_equal(store_setting_get(t, "motd", out, sizeof(out), &n), NT_ENOENT);
	assert_int_equal(store_setting_put(t, "motd", "hello", 5), NT_OK);
	assert_int_equal(store_setting_put(t, "empty", NULL, 0), NT_OK);
	assert_int_equal(store_setting_put(t, "", "x", 1), NT_EINVAL);
	assert_int_equal(store_commit(t), NT_OK);

	t = wtxn(f->st);
	assert_int_equal(store_setting_get(t, "motd", out, sizeof(out), &n), NT_OK);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(store_setting_get(t, "motd", out, 4, &n), NT_ELIMIT);
	assert_int_equal(n, 5);
	assert_int_equal(store_setting_get(t, "empty", out, sizeof(out), &n), NT_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_setting_put(t, "motd", "bye", 3), NT_OK);
	assert_int_equal(store_setting_get(t, "motd", out, sizeof(out), &n), NT_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(out, "bye", 3);
	store_abort(t);
}

/* Factory reset ----------------------------------------------------------------------------- */

static void wipe_empties_user_tables_only(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	struct account a;
	uint64_t gen0, gen1;
	char out[8];
	size_t n;

	fx_open(f);
	make_account(&a, "a@x", 1);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	make_account(&a, "b@x", 2);
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	push(t, "a@x", "<1/>");
	assert_int_equal(store_setting_put(t, "motd", "hello", 5), NT_OK);
	assert_int_equal(store_accounts_generation(t, &gen0), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);

	t = rtxn(f->st);
	assert_int_equal(store_wipe(t), NT_EINVAL);		/* a read txn cannot */
	store_abort(t);
	assert_int_equal(store_wipe(NULL), NT_EINVAL);
	t = wtxn(f->st);
	assert_int_equal(store_wipe(t), NT_OK);
	store_abort(t);						/* nothing gone yet */
	t = rtxn(f->st);
	assert_int_equal(store_account_get(t, "a@x", &a), NT_OK);
	store_abort(t);

	t = wtxn(f->st);
	assert_int_equal(store_wipe(t), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);
	fx_reopen(f, 0);					/* still a valid store */
	t = rtxn(f->st);
	assert_int_equal(store_account_get(t, "a@x", &a), NT_ENOENT);
	assert_int_equal(store_account_get(t, "b@x", &a), NT_ENOENT);
	assert_int_equal(count(t, "a@x"), 0);
	assert_int_equal(store_setting_get(t, "motd", out, sizeof(out), &n), NT_ENOENT);
	assert_int_equal(store_accounts_generation(t, &gen1), NT_OK);
	assert_true(gen1 > gen0);				/* natterd notices */
	store_abort(t);
	/* The tables work as before. */
	make_account(&a, "a@x", 3);
	t = wtxn(f->st);
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);
}

/* Transactions and processes --------------------------------------------------------------- */

static void second_write_txn_is_busy(void **state)
{
	struct fx *f = *state;
	struct store_txn *t, *t2, *r;

	fx_open(f);
	t = wtxn(f->st);
	assert_int_equal(store_begin(f->st, 1, &t2), NT_EBUSY);
	assert_null(t2);
	assert_int_equal(store_begin(f->st, 0, &r), NT_OK);	/* MDB_NOTLS: reads still fine */
	store_abort(r);
	assert_int_equal(store_commit(t), NT_OK);
	t = wtxn(f->st);
	store_abort(t);
}

static void commit_survives_kill(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	int status;
	pid_t pid;

	fx_open(f);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st;

		if (store_open(&st, f->dir, MAP_MB, 0) != NT_OK ||
		    store_begin(st, 1, &t) != NT_OK ||
		    store_offline_push(t, "k@x", "<kept/>", 7) != NT_OK || store_commit(t) != NT_OK)
			_exit(1);
		kill(getpid(), SIGKILL);		/* no close, no exit handlers */
		_exit(2);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	fx_reopen(f, 0);
	t = rtxn(f->st);
	assert_int_equal(count(t, "k@x"), 1);
	store_abort(t);
}

static void other_process_changes_are_seen(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	struct account a;
	uint64_t before, after;
	int status;
	pid_t pid;

	fx_open(f);
	t = rtxn(f->st);
	assert_int_equal(store_accounts_generation(t, &before), NT_OK);
	store_abort(t);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *st;

		make_account(&a, "new@x", 1);
		if (store_open(&st, f->dir, MAP_MB, 0) != NT_OK ||
		    store_begin(st, 1, &t) != NT_OK ||
		    store_account_put(t, &a, 1) != NT_OK || store_commit(t) != NT_OK)
			_exit(1);
		store_close(st);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	t = rtxn(f->st);
	assert_int_equal(store_accounts_generation(t, &after), NT_OK);
	assert_true(after == before + 1);
	assert_int_equal(store_account_get(t, "new@x", &a), NT_OK);
	store_abort(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(be_helpers_are_big_endian),
		cmocka_unit_test(account_encoding_round_trips),
		cmocka_unit_test(account_decode_rejects_truncation),
		cmocka_unit_test(account_decode_rejects_garbage),
		cmocka_unit_test(account_encode_rejects_bad_creds),
		cmocka_unit_test(offline_key_round_trips),
#define FX(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		FX(open_missing_dir_is_enoent),
		FX(open_empty_dir_without_create_is_enoent),
		FX(open_creates_dir_and_files_private),
		FX(open_garbage_is_estore),
		FX(open_foreign_lmdb_is_estore),
		FX(open_rejects_other_schema),
		FX(reopen_keeps_everything),
		FX(accounts_put_get_del_and_generation),
		FX(accounts_reject_bad_names_and_read_txn_writes),
		FX(accounts_each_is_sorted_and_stops),
		FX(corrupt_account_is_rejected_and_reported),
		FX(offline_keeps_order_per_user),
		FX(offline_take_stops_and_keeps_the_rest),
		FX(account_del_deletes_offline),
		FX(settings_put_get),
		FX(wipe_empties_user_tables_only),
		FX(second_write_txn_is_busy),
		FX(commit_survives_kill),
		FX(other_process_changes_are_seen),
#undef FX
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
