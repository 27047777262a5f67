/*
 * The store's room: a full map costs only the write that met it (nested transactions), the
 * map grows up to its limit and keeps its size, and user data leaves the reserve free.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "store/store_int.h"
#include "tests/unit/stubs/tmpdir.h"

#define VALUE_LEN 8000			/* an offline message of about this size */
#define MANY 2000			/* bound of every fill loop: more than 16 MiB */

struct fx {
	char dir[64];
	struct store *st;
	char value[VALUE_LEN];
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(tmpdir_make(f->dir, sizeof(f->dir), "room"), 0);
	memset(f->value, 'm', sizeof(f->value));
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

static size_t map_mb(struct store *st)
{
	MDB_envinfo ei;

	mdb_env_info(st->env, &ei);
	return ei.me_mapsize >> 20;
}

static struct store_txn *wtxn(struct store *st)
{
	struct store_txn *t;

	assert_int_equal(store_begin(st, 1, &t), NT_OK);
	return t;
}

/* Pushes messages for bare until one fails; that failure's code, and *n the successes. */
static int fill(struct fx *f, struct store_txn *t, const char *bare, size_t *n)
{
	int rc = NT_OK;

	for (*n = 0; *n < MANY; (*n)++)
		if ((rc = store_offline_push(t, bare, f->value, sizeof(f->value))) != NT_OK)
			break;
	return rc;
}

static size_t count(struct store *st, const char *bare)
{
	struct store_txn *t;
	size_t n;

	assert_int_equal(store_begin(st, 0, &t), NT_OK);
	assert_int_equal(store_offline_count(t, bare, &n), NT_OK);
	store_abort(t);
	return n;
}

static void account(struct account *a, const char *bare)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->bare, sizeof(a->bare), "%s", bare);
	a->sha1.iterations = a->sha256.iterations = 4096;
	a->sha1.salt_len = a->sha256.salt_len = 16;
}

/* Before nesting, the full map failed the whole transaction: the account and every message
 * before the failure were lost at commit. */
static void full_map_costs_only_its_write(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	struct account a;
	size_t n;

	assert_int_equal(store_open(&f->st, f->dir, 1, 1), NT_OK);	/* 1 MiB, no growth */
	t = wtxn(f->st);
	account(&a, "dave@example.org");
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	assert_int_equal(fill(f, t, "erin@example.org", &n), NT_EFULL);
	assert_true(n > 10);
	assert_int_equal(store_commit(t), NT_OK);
	assert_int_equal(count(f->st, "erin@example.org"), n);
	t = wtxn(f->st);
	assert_int_equal(store_account_get(t, "dave@example.org", &a), NT_OK);
	store_abort(t);
}

/* Pushes one message a transaction, as natterd's turns would, growing the map when
 * store_room asks for it, until store_room refuses; the number pushed. */
static size_t fill_as_natterd(struct fx *f, const char *bare)
{
	struct store_txn *t;
	size_t n;
	int rc;

	for (n = 0; n < MANY; n++) {
		t = wtxn(f->st);
		if ((rc = store_room(t, sizeof(f->value))) == NT_EAGAIN) {
			assert_int_equal(store_grow(f->st), NT_EBUSY);	/* not under a txn */
			store_abort(t);
			assert_int_equal(store_grow(f->st), NT_OK);
			t = wtxn(f->st);
			rc = store_room(t, sizeof(f->value));
		}
		if (rc != NT_OK) {
			assert_int_equal(rc, NT_EFULL);
			store_abort(t);
			break;
		}
		assert_int_equal(store_offline_push(t, bare, f->value, sizeof(f->value)), NT_OK);
		assert_int_equal(store_commit(t), NT_OK);
	}
	assert_true(n < MANY);
	return n;
}

static void map_grows_to_its_limit_and_keeps_its_size(void **state)
{
	struct fx *f = *state;
	size_t n;

	assert_int_equal(store_open(&f->st, f->dir, 1, 1), NT_OK);
	store_set_limits(f->st, 4, 1);
	n = fill_as_natterd(f, "erin@example.org");
	assert_int_equal(map_mb(f->st), 4);		/* 1, 2, 4 (doubling): the limit */
	assert_int_equal(store_grow(f->st), NT_EFULL);
	/* 3 MiB of 8 KB messages, the last MiB kept: about 200 at two pages each */
	assert_true(n > 100);
	assert_int_equal(count(f->st, "erin@example.org"), n);
	/* Reopened with a smaller size for new stores, it keeps the size it grew to. */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(&f->st, f->dir, 1, 0), NT_OK);
	assert_int_equal(map_mb(f->st), 4);
	assert_int_equal(count(f->st, "erin@example.org"), n);
}

/* A write transaction that begins with less than a quarter of the map left grows it first. */
static void map_grows_before_a_write_begins(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	size_t i;

	assert_int_equal(store_open(&f->st, f->dir, 1, 1), NT_OK);
	t = wtxn(f->st);
	for (i = 0; i < 100; i++)			/* about 800 KiB of the 1 MiB */
		assert_int_equal(store_offline_push(t, "erin@example.org", f->value,
						    sizeof(f->value)), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);
	t = wtxn(f->st);
	assert_int_equal(map_mb(f->st), 1);		/* no limits: no growth */
	store_abort(t);
	store_set_limits(f->st, 8, 1);
	t = wtxn(f->st);
	assert_int_equal(map_mb(f->st), 2);
	store_abort(t);
}

/* User data stops a reserve short of the limit; accounts may still use the reserve; pages
 * freed by deletes count as room again. */
static void user_data_leaves_the_reserve(void **state)
{
	struct fx *f = *state;
	struct store_txn *t;
	struct account a;

	assert_int_equal(store_open(&f->st, f->dir, 4, 1), NT_OK);
	store_set_limits(f->st, 4, 1);
	assert_true(fill_as_natterd(f, "erin@example.org") > 100);
	t = wtxn(f->st);
	assert_int_equal(store_room(t, sizeof(f->value)), NT_EFULL);
	account(&a, "dave@example.org");
	assert_int_equal(store_account_put(t, &a, 1), NT_OK);
	assert_int_equal(store_commit(t), NT_OK);
	/* Delivered and deleted: the high-water mark stays, the free list gives room back. */
	t = wtxn(f->st);
	assert_int_equal(store_offline_purge(t, "erin@example.org", strlen("erin@example.org")),
			 NT_OK);
	assert_int_equal(store_commit(t), NT_OK);
	t = wtxn(f->st);
	assert_int_equal(store_room(t, sizeof(f->value)), NT_OK);
	store_abort(t);
}

int main(void)
{
#define FX(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		FX(full_map_costs_only_its_write),
		FX(map_grows_to_its_limit_and_keeps_its_size),
		FX(map_grows_before_a_write_begins),
		FX(user_data_leaves_the_reserve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
