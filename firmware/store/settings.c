/*
 * settings table: run-time settings. settings.h documents the key and value encodings.
 */
#include <string.h>
#include "core/err.h"
#include "store/store_int.h"

/* NT_EINVAL for an empty name, NT_ELIMIT for one longer than an LMDB key. */
static int setting_key(const struct store *st, const char *key, MDB_val *k)
{
	size_t n;

	if (key == NULL || key[0] == '\0')
		return NT_EINVAL;
	n = strnlen(key, st->key_max + 1);
	if (n > st->key_max)
		return NT_ELIMIT;
	k->mv_size = n;
	k->mv_data = (void *)key;
	return NT_OK;
}

int store_setting_get(struct store_txn *t, const char *key, void *out, size_t cap,
                      size_t *len)
{
	MDB_val k, v;
	int rc;

	if ((rc = setting_key(t->st, key, &k)) != NT_OK)
		return rc == NT_ELIMIT ? NT_ENOENT : rc;	/* too long to have been stored */
	rc = mdb_get(t->txn, t->st->dbi[TBL_SETTINGS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return NT_ENOENT;
	if (rc != 0)
		return store_fail(t, "setting get", rc);
	*len = v.mv_size;		/* also on NT_ELIMIT: the size the caller needs */
	if (v.mv_size > cap)
		return NT_ELIMIT;
	if (v.mv_size > 0)
		memcpy(out, v.mv_data, v.mv_size);
	return NT_OK;
}

int store_setting_put(struct store_txn *t, const char *key, const void *val, size_t n)
{
	MDB_val k, v = { n, n > 0 ? (void *)val : (void *)"" };
	int rc;

	if (!t->write || (val == NULL && n > 0))
		return NT_EINVAL;
	if ((rc = setting_key(t->st, key, &k)) != NT_OK)
		return rc;
	if ((rc = mdb_put(t->txn, t->st->dbi[TBL_SETTINGS], &k, &v, 0)) != 0)
		return store_fail(t, "setting put", rc);
	return NT_OK;
}

int store_setting_del(struct store_txn *t, const char *key)
{
	MDB_val k;
	int rc;

	if (!t->write)
		return NT_EINVAL;
	if ((rc = setting_key(t->st, key, &k)) != NT_OK)
		return rc == NT_ELIMIT ? NT_ENOENT : rc;
	rc = mdb_del(t->txn, t->st->dbi[TBL_SETTINGS], &k, NULL);
	if (rc == MDB_NOTFOUND)
		return NT_ENOENT;
	return rc == 0 ? NT_OK : store_fail(t, "setting del", rc);
}
