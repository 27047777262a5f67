/*
 * accounts table: its records and the accounts generation. accounts.h documents the key and
 * value encodings.
 */
#include <string.h>
#include "core/err.h"
#include "core/log.h"
#include "store/store_int.h"

/* scram_hash_len() of SHA-1 and SHA-256, here so the store does not link the SCRAM code. */
static const uint8_t key_lens[2] = { 20, 32 };

struct rd {
	const uint8_t *p;
	size_t left;
};

static int rd_take(struct rd *r, void *out, size_t n)
{
	if (n > r->left)
		return -1;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

static int rd_be32(struct rd *r, uint32_t *v)
{
	uint8_t b[4];

	if (rd_take(r, b, sizeof(b)) != 0)
		return -1;
	*v = store_be32_get(b);
	return 0;
}

static int rd_be64(struct rd *r, uint64_t *v)
{
	uint8_t b[8];

	if (rd_take(r, b, sizeof(b)) != 0)
		return -1;
	*v = store_be64_get(b);
	return 0;
}

static int creds_valid(const struct scram_creds *c)
{
	return c->iterations > 0 && c->salt_len > 0 && c->salt_len <= SCRAM_SALT_MAX;
}

static size_t creds_size(const struct scram_creds *c, size_t klen)
{
	return 4 + 1 + c->salt_len + 1 + 2 * klen;
}

static uint8_t *creds_put(uint8_t *p, const struct scram_creds *c, uint8_t klen)
{
	store_be32_put(p, c->iterations);
	p += 4;
	*p++ = c->salt_len;
	memcpy(p, c->salt, c->salt_len);
	p += c->salt_len;
	*p++ = klen;
	memcpy(p, c->stored_key, klen);
	p += klen;
	memcpy(p, c->server_key, klen);
	return p + klen;
}

static int creds_get(struct rd *r, struct scram_creds *c, uint8_t klen)
{
	uint8_t n;

	if (rd_be32(r, &c->iterations) != 0 || c->iterations == 0)
		return -1;
	if (rd_take(r, &c->salt_len, 1) != 0 || c->salt_len == 0 || c->salt_len > SCRAM_SALT_MAX)
		return -1;
	if (rd_take(r, c->salt, c->salt_len) != 0 || rd_take(r, &n, 1) != 0 || n != klen)
		return -1;
	return rd_take(r, c->stored_key, klen) || rd_take(r, c->server_key, klen) ? -1 : 0;
}

int store_account_encode(const struct account *a, uint8_t *out, size_t cap, size_t *len)
{
	const struct scram_creds *c[2] = { &a->sha1, &a->sha256 };
	size_t need = 1 + 4 + 8, i;
	uint8_t *p = out;

	for (i = 0; i < 2; i++) {
		if (!creds_valid(c[i]))
			return NT_EINVAL;
		need += creds_size(c[i], key_lens[i]);
	}
	if (need > cap)
		return NT_ELIMIT;
	*p++ = STORE_ACCOUNT_VERSION;
	store_be32_put(p, a->flags);
	store_be64_put(p + 4, a->created);
	p += 4 + 8;
	for (i = 0; i < 2; i++)
		p = creds_put(p, c[i], key_lens[i]);
	*len = need;
	return NT_OK;
}

int store_account_decode(struct account *out, const uint8_t *v, size_t n)
{
	struct scram_creds *c[2] = { &out->sha1, &out->sha256 };
	struct rd r = { v, n };
	uint8_t ver;
	size_t i;

	memset(&out->sha1, 0, sizeof(out->sha1));
	memset(&out->sha256, 0, sizeof(out->sha256));
	if (rd_take(&r, &ver, 1) != 0 || ver != STORE_ACCOUNT_VERSION)
		return NT_ESTORE;
	if (rd_be32(&r, &out->flags) != 0 || rd_be64(&r, &out->created) != 0)
		return NT_ESTORE;
	for (i = 0; i < 2; i++)
		if (creds_get(&r, c[i], key_lens[i]) != 0)
			return NT_ESTORE;
	return r.left == 0 ? NT_OK : NT_ESTORE;
}

/* Fills a from one record; NULL when it decoded, else what is wrong with it. */
static const char *account_record(struct account *a, const MDB_val *k, const MDB_val *v)
{
	if (k->mv_size == 0 || k->mv_size >= STORE_BARE_MAX || memchr(k->mv_data, 0, k->mv_size))
		return "bad key";
	if (store_account_decode(a, v->mv_data, v->mv_size) != NT_OK)
		return "undecodable value";
	memcpy(a->bare, k->mv_data, k->mv_size);
	a->bare[k->mv_size] = '\0';
	return NULL;
}

static void account_log_bad(const MDB_val *k, const MDB_val *v, const char *why)
{
	char name[128];

	store_key_text(name, sizeof(name), k->mv_data, k->mv_size);
	log_err("store: account \"%s\": %s (%zu bytes)", name, why, v->mv_size);
}

int store_account_get(struct store_txn *t, const char *bare, struct account *out)
{
	MDB_val k, v;
	const char *why;
	int rc;

	if ((rc = store_bare_check(t->st, bare, &k.mv_size)) != NT_OK)
		return rc == NT_ELIMIT ? NT_ENOENT : rc;	/* too long to have been stored */
	k.mv_data = (void *)bare;
	rc = mdb_get(t->txn, t->st->dbi[TBL_ACCOUNTS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return NT_ENOENT;
	if (rc != 0)
		return store_fail(t, "account get", rc);
	if ((why = account_record(out, &k, &v)) != NULL) {
		account_log_bad(&k, &v, why);
		return NT_ESTORE;
	}
	return NT_OK;
}

int store_account_put(struct store_txn *t, const struct account *a, int create_only)
{
	uint8_t buf[STORE_ACCOUNT_VALUE_MAX];
	MDB_val k, v = { 0, buf };
	int rc;

	if (!t->write)
		return NT_EINVAL;
	if ((rc = store_bare_check(t->st, a->bare, &k.mv_size)) != NT_OK ||
	    (rc = store_account_encode(a, buf, sizeof(buf), &v.mv_size)) != NT_OK)
		return rc;
	k.mv_data = (void *)a->bare;
	rc = mdb_put(t->txn, t->st->dbi[TBL_ACCOUNTS], &k, &v, create_only ? MDB_NOOVERWRITE : 0);
	if (rc == MDB_KEYEXIST)
		return NT_EEXIST;	/* LMDB leaves the txn usable */
	if (rc != 0)
		return store_fail(t, "account put", rc);
	return store_accounts_bump(t);
}

int store_account_del(struct store_txn *t, const char *bare)
{
	MDB_val k;
	int rc;

	if (!t->write)
		return NT_EINVAL;
	if ((rc = store_bare_check(t->st, bare, &k.mv_size)) != NT_OK)
		return rc == NT_ELIMIT ? NT_ENOENT : rc;
	k.mv_data = (void *)bare;
	rc = mdb_del(t->txn, t->st->dbi[TBL_ACCOUNTS], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return NT_ENOENT;
	if (rc != 0)
		return store_fail(t, "account del", rc);
	if ((rc = store_offline_purge(t, bare, k.mv_size)) != NT_OK)
		return rc;
	return store_accounts_bump(t);
}

/* Walks every account. With fn, stops at the first bad record (NT_ESTORE) or when fn
 * returns non-zero; without fn, reports bad records as problems and counts. */
static int accounts_walk(struct store_txn *t, store_account_fn *fn, void *arg,
                         store_problem_fn *pfn, size_t *n, size_t *bad)
{
	struct account a;
	MDB_cursor *c;
	MDB_val k, v;
	const char *why;
	char name[128];
	int rc, nt = NT_OK;

	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[TBL_ACCOUNTS], &c)) != 0)
		return store_fail(t, "accounts cursor", rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((why = account_record(&a, &k, &v)) == NULL) {
			if (fn == NULL)
				(*n)++;
			else if ((nt = fn(&a, arg)) != 0)
				goto out;
		} else if (fn != NULL) {
			account_log_bad(&k, &v, why);
			nt = NT_ESTORE;
			goto out;
		} else {
			store_key_text(name, sizeof(name), k.mv_data, k.mv_size);
			store_problem(pfn, arg, "account \"%s\": %s (%zu bytes)", name, why,
				      v.mv_size);
			(*bad)++;
		}
	}
	if (rc != MDB_NOTFOUND)
		nt = store_fail(t, "accounts walk", rc);
out:
	mdb_cursor_close(c);
	return nt;
}

int store_account_each(struct store_txn *t, store_account_fn *fn, void *arg)
{
	return accounts_walk(t, fn, arg, NULL, NULL, NULL);
}

int store_accounts_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *n,
                         size_t *bad)
{
	return accounts_walk(t, NULL, arg, fn, n, bad);
}

int store_accounts_any(struct store_txn *t)
{
	MDB_stat st;
	int rc = mdb_stat(t->txn, t->st->dbi[TBL_ACCOUNTS], &st);

	return rc == 0 ? st.ms_entries > 0 : store_fail(t, "accounts count", rc);
}

int store_accounts_generation(struct store_txn *t, uint64_t *out)
{
	MDB_val k = { sizeof(STORE_META_ACCOUNTS_GEN) - 1, STORE_META_ACCOUNTS_GEN }, v;
	int rc = mdb_get(t->txn, t->st->dbi[TBL_META], &k, &v);

	*out = 0;
	if (rc == MDB_NOTFOUND)
		return NT_OK;
	if (rc != 0)
		return store_fail(t, "accounts generation", rc);
	if (v.mv_size != 8) {
		log_err("store: meta \"%s\" has %zu bytes, not 8", STORE_META_ACCOUNTS_GEN,
			v.mv_size);
		return NT_ESTORE;
	}
	*out = store_be64_get(v.mv_data);
	return NT_OK;
}

int store_accounts_bump(struct store_txn *t)
{
	uint8_t b[8];
	MDB_val k = { sizeof(STORE_META_ACCOUNTS_GEN) - 1, STORE_META_ACCOUNTS_GEN };
	MDB_val v = { sizeof(b), b };
	uint64_t gen;
	int rc;

	if ((rc = store_accounts_generation(t, &gen)) != NT_OK)
		return rc;
	store_be64_put(b, gen + 1);
	if ((rc = mdb_put(t->txn, t->st->dbi[TBL_META], &k, &v, 0)) != 0)
		return store_fail(t, "accounts generation bump", rc);
	return NT_OK;
}
