/*
 * offline table: messages kept for users who were not online. offline.h documents the key
 * and value encodings.
 */
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/log.h"
#include "store/store_int.h"

#define OFFLINE_KEY_MAX (STORE_BARE_MAX + 1 + STORE_OFFLINE_SEQ_LEN)

size_t store_offline_key(uint8_t *out, size_t cap, const char *bare, size_t blen, uint64_t seq)
{
	if (blen + 1 + STORE_OFFLINE_SEQ_LEN > cap)
		return 0;
	memcpy(out, bare, blen);
	out[blen] = '\0';
	store_be64_put(out + blen + 1, seq);
	return blen + 1 + STORE_OFFLINE_SEQ_LEN;
}

int store_offline_key_parse(const uint8_t *k, size_t n, size_t *blen, uint64_t *seq)
{
	const uint8_t *nul = memchr(k, 0, n);

	if (nul == NULL || nul == k || (size_t)(k + n - nul) != 1 + STORE_OFFLINE_SEQ_LEN)
		return NT_ESTORE;
	*blen = (size_t)(nul - k);
	*seq = store_be64_get(nul + 1);
	return NT_OK;
}

static int has_prefix(const MDB_val *k, const uint8_t *pfx, size_t plen)
{
	return k->mv_size >= plen && memcmp(k->mv_data, pfx, plen) == 0;
}

static int offline_bad(const MDB_val *k, const char *why)
{
	char name[128];

	store_key_text(name, sizeof(name), k->mv_data, k->mv_size);
	log_err("store: offline record \"%s\": %s", name, why);
	return NT_ESTORE;
}

/* Finds the sequence number for bare's next message. */
static int offline_next_seq(struct store_txn *t, const char *bare, size_t blen, uint64_t *seq)
{
	uint8_t top[OFFLINE_KEY_MAX];
	size_t tlen = store_offline_key(top, sizeof(top), bare, blen, UINT64_MAX), b;
	MDB_val k = { tlen, top }, v;
	MDB_cursor *c;
	int rc, nt = NT_OK;

	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[TBL_OFFLINE], &c)) != 0)
		return store_fail(t, "offline cursor", rc);
	/* The entry just below bare's highest possible key is bare's last, if it has one. */
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && k.mv_size == tlen && memcmp(k.mv_data, top, tlen) == 0) {
		log_err("store: offline sequence of %s exhausted", bare);
		nt = NT_ELIMIT;
		goto out;
	}
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	*seq = 0;
	if (rc == MDB_NOTFOUND || (rc == 0 && !has_prefix(&k, top, blen + 1)))
		goto out;
	if (rc != 0)
		nt = store_fail(t, "offline last", rc);
	else if (store_offline_key_parse(k.mv_data, k.mv_size, &b, seq) != NT_OK || b != blen)
		nt = offline_bad(&k, "bad key");
	else
		(*seq)++;
out:
	mdb_cursor_close(c);
	return nt;
}

struct offline_push {
	const char *bare;
	const char *xml;
	size_t n;
};

static int offline_push(struct store_txn *t, void *arg)
{
	const struct offline_push *p = arg;
	uint8_t kb[OFFLINE_KEY_MAX];
	MDB_val k = { 0, kb }, v = { p->n, (void *)p->xml };
	uint64_t seq;
	size_t blen;
	int rc;

	if ((rc = store_bare_check(t->st, p->bare, &blen)) != NT_OK ||
	    (rc = offline_next_seq(t, p->bare, blen, &seq)) != NT_OK)
		return rc;
	k.mv_size = store_offline_key(kb, sizeof(kb), p->bare, blen, seq);
	if ((rc = mdb_put(t->txn, t->st->dbi[TBL_OFFLINE], &k, &v, MDB_NOOVERWRITE)) != 0)
		return store_fail(t, "offline push", rc);
	return NT_OK;
}

int store_offline_push(struct store_txn *t, const char *bare, const char *xml, size_t n)
{
	struct offline_push p = { bare, xml, n };
	int rc;

	if (!t->write || xml == NULL || n == 0)
		return NT_EINVAL;
	if ((rc = store_nested(t, offline_push, &p)) == NT_OK)
		t->st->txn_bytes += n;
	return rc;
}

struct offline_walk {
	int del;			/* delete each record visited */
	store_offline_fn *fn;		/* called with a copy of each record first, when set */
	void *arg;
	size_t count;			/* records visited */
	uint64_t bytes;			/* their values' bytes */
	int stop;			/* fn's non-zero answer that ended the walk */
	char *copy;
	size_t cap;
};

/* Hands one record to w->fn as a NUL-terminated copy, so fn never sees LMDB's memory. */
static int offline_deliver(struct offline_walk *w, const MDB_val *k, const MDB_val *v,
                           size_t plen)
{
	char *p;

	if (k->mv_size != plen + STORE_OFFLINE_SEQ_LEN || v->mv_size == 0)
		return offline_bad(k, k->mv_size != plen + STORE_OFFLINE_SEQ_LEN ? "bad key" :
				   "empty value");
	if (v->mv_size + 1 > w->cap) {
		if ((p = realloc(w->copy, v->mv_size + 1)) == NULL)
			return NT_ENOMEM;
		w->copy = p;
		w->cap = v->mv_size + 1;
	}
	memcpy(w->copy, v->mv_data, v->mv_size);
	w->copy[v->mv_size] = '\0';
	if ((w->stop = w->fn(w->copy, v->mv_size, w->arg)) != 0)
		return 1;			/* fn stopped the walk: not an error */
	return NT_OK;
}

/* Visits bare's records in order. Deleting restarts at the range's start, which after a
 * delete is the next record. */
static int offline_range(struct store_txn *t, const char *bare, struct offline_walk *w)
{
	uint8_t pfx[STORE_BARE_MAX + 1];
	MDB_cursor_op op = MDB_SET_RANGE;
	MDB_cursor *c;
	MDB_val k, v;
	size_t plen;
	int rc, nt = NT_OK;

	if ((rc = store_bare_check(t->st, bare, &plen)) != NT_OK)
		return rc == NT_ELIMIT ? NT_OK : rc;	/* too long to have messages */
	if (w->del && !t->write)
		return NT_EINVAL;
	memcpy(pfx, bare, plen);
	pfx[plen++] = '\0';
	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[TBL_OFFLINE], &c)) != 0)
		return store_fail(t, "offline cursor", rc);
	for (;;) {
		k.mv_size = plen;
		k.mv_data = pfx;
		rc = mdb_cursor_get(c, &k, &v, op);
		if (rc == MDB_NOTFOUND || (rc == 0 && !has_prefix(&k, pfx, plen)))
			break;
		if (rc != 0) {
			nt = store_fail(t, "offline walk", rc);
			break;
		}
		if (w->fn != NULL && (nt = offline_deliver(w, &k, &v, plen)) != 0) {
			if (nt == 1)
				nt = NT_OK;
			break;
		}
		w->count++;
		w->bytes += v.mv_size;
		if (!w->del)
			op = MDB_NEXT;
		else if ((rc = mdb_cursor_del(c, 0)) != 0) {
			nt = store_fail(t, "offline delete", rc);
			break;
		}
	}
	mdb_cursor_close(c);
	free(w->copy);
	w->copy = NULL;
	return nt;
}

int store_offline_usage(struct store_txn *t, const char *bare, size_t *count, uint64_t *bytes)
{
	struct offline_walk w = { 0 };
	int rc = offline_range(t, bare, &w);

	*count = w.count;
	*bytes = w.bytes;
	return rc;
}

int store_offline_count(struct store_txn *t, const char *bare, size_t *out)
{
	uint64_t bytes;

	return store_offline_usage(t, bare, out, &bytes);
}

struct offline_take {
	const char *bare;
	struct offline_walk w;
};

static int offline_take(struct store_txn *t, void *arg)
{
	struct offline_take *tk = arg;

	return offline_range(t, tk->bare, &tk->w);	/* fn's stop keeps what went before */
}

int store_offline_take(struct store_txn *t, const char *bare, store_offline_fn *fn, void *arg)
{
	struct offline_take tk = { bare, { .del = 1, .fn = fn, .arg = arg } };
	int rc;

	if (fn == NULL)
		return NT_EINVAL;
	if ((rc = store_nested(t, offline_take, &tk)) != NT_OK)
		return rc;
	return tk.w.stop;
}

int store_offline_purge(struct store_txn *t, const char *bare, size_t blen)
{
	struct offline_walk w = { .del = 1 };
	int rc = offline_range(t, bare, &w);

	if (rc == NT_OK && w.count > 0)
		log_debug("store: deleted %zu offline messages of %.*s", w.count, (int)blen, bare);
	return rc;
}

int store_offline_check(struct store_txn *t, store_problem_fn *fn, void *arg, size_t *n,
                        size_t *bad)
{
	MDB_cursor *c;
	MDB_val k, v;
	char name[128];
	uint64_t seq;
	size_t blen;
	int rc;

	if ((rc = mdb_cursor_open(t->txn, t->st->dbi[TBL_OFFLINE], &c)) != 0)
		return store_fail(t, "offline cursor", rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (store_offline_key_parse(k.mv_data, k.mv_size, &blen, &seq) == NT_OK &&
		    v.mv_size > 0) {
			(*n)++;
			continue;
		}
		store_key_text(name, sizeof(name), k.mv_data, k.mv_size);
		store_problem(fn, arg, "offline record \"%s\": %s", name,
			      v.mv_size > 0 ? "bad key" : "empty value");
		(*bad)++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? NT_OK : store_fail(t, "offline walk", rc);
}
