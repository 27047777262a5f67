/* Unit tests for firmware/core: bounded buffers and key counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "core/buf.h"
#include "core/err.h"
#include "core/keycount.h"

static void buf_appends_and_consumes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1000);
	assert_int_equal(buf_append(&b, "hello ", 6), NT_OK);
	assert_int_equal(buf_append(&b, "world", 5), NT_OK);
	assert_int_equal(b.len, 11);
	assert_memory_equal(buf_data(&b), "hello world", 11);
	buf_consume(&b, 6);
	assert_int_equal(b.len, 5);
	assert_memory_equal(buf_data(&b), "world", 5);
	buf_consume(&b, 5);
	assert_int_equal(b.len, 0);
	buf_shrink(&b);
	assert_null(b.p);
	buf_free(&b);
}

static void buf_refuses_past_max_and_keeps_contents(void **state)
{
	struct buf b;
	char big[600];

	(void)state;
	memset(big, 'x', sizeof(big));
	buf_init(&b, 1000);
	assert_int_equal(buf_append(&b, big, sizeof(big)), NT_OK);
	assert_int_equal(buf_append(&b, big, sizeof(big)), NT_ELIMIT);
	assert_int_equal(b.len, sizeof(big));
	assert_int_equal(buf_append(&b, big, 400), NT_OK);
	assert_int_equal(b.len, 1000);
	assert_int_equal(buf_append(&b, "y", 1), NT_ELIMIT);
	buf_free(&b);
}

static void buf_slides_data_instead_of_growing(void **state)
{
	struct buf b;
	char chunk[256];

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	buf_init(&b, 512);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), NT_OK);
		buf_consume(&b, sizeof(chunk));
	}
	assert_true(b.cap <= 512);
	buf_free(&b);
}

static void keycount_counts_per_key(void **state)
{
	struct keycount *kc = keycount_new(16, 0);

	(void)state;
	assert_non_null(kc);
	assert_int_equal(keycount_add(kc, "10.0.0.1", 1, 0), 1);
	assert_int_equal(keycount_add(kc, "10.0.0.1", 1, 0), 2);
	assert_int_equal(keycount_add(kc, "10.0.0.2", 1, 0), 1);
	assert_int_equal(keycount_get(kc, "10.0.0.1", 0), 2);
	assert_int_equal(keycount_add(kc, "10.0.0.1", -2, 0), 0);
	assert_int_equal(keycount_get(kc, "10.0.0.1", 0), 0);
	keycount_del(kc, "10.0.0.2");
	assert_int_equal(keycount_get(kc, "10.0.0.2", 0), 0);
	keycount_free(kc);
}

static void keycount_forgets_after_window(void **state)
{
	struct keycount *kc = keycount_new(16, 1000);

	(void)state;
	assert_int_equal(keycount_add(kc, "alice@example.org", 1, 5000), 1);
	assert_int_equal(keycount_add(kc, "alice@example.org", 1, 5500), 2);
	assert_int_equal(keycount_get(kc, "alice@example.org", 6400), 2);
	assert_int_equal(keycount_get(kc, "alice@example.org", 6600), 0);
	assert_int_equal(keycount_add(kc, "alice@example.org", 1, 9000), 1);
	keycount_free(kc);
}

static void keycount_evicts_the_stalest_when_full(void **state)
{
	struct keycount *kc = keycount_new(4, 0);
	char key[16];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		keycount_add(kc, key, 1, (uint64_t)i);
	}
	keycount_add(kc, "new", 1, 10);
	assert_int_equal(keycount_get(kc, "k0", 10), 0);
	assert_int_equal(keycount_get(kc, "k1", 10), 1);
	assert_int_equal(keycount_get(kc, "new", 10), 1);
	keycount_free(kc);
}

/* Random keys with one count each cannot flush a key that counts keep or more. */
static void keycount_keeps_counted_keys_from_flushing(void **state)
{
	struct keycount *kc = keycount_new(8, 1000);
	char key[16];

	(void)state;
	keycount_keep(kc, 2);
	assert_int_equal(keycount_add(kc, "alice@example.org", 3, 0), 3);
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "r%d", i);
		assert_int_equal(keycount_add(kc, key, 1, (uint64_t)(i + 1)), 1);
	}
	assert_int_equal(keycount_get(kc, "alice@example.org", 200), 3);
	assert_int_equal(keycount_get(kc, "r99", 200), 1);	/* the newest randoms stay */
	assert_int_equal(keycount_get(kc, "r0", 200), 0);
	/* Past its window a kept key may go like any other. */
	for (int i = 0; i < 8; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		keycount_add(kc, key, 1, 2000);
	}
	assert_int_equal(keycount_get(kc, "alice@example.org", 2000), 0);
	keycount_free(kc);
}

static void keycount_full_of_kept_keys_counts_no_new_one(void **state)
{
	struct keycount *kc = keycount_new(2, 0);

	(void)state;
	keycount_keep(kc, 2);
	keycount_add(kc, "a", 2, 0);
	keycount_add(kc, "b", 5, 1);
	assert_int_equal(keycount_add(kc, "c", 1, 2), 1);	/* answered, not stored */
	assert_int_equal(keycount_get(kc, "c", 2), 0);
	assert_int_equal(keycount_get(kc, "a", 2), 2);
	keycount_free(kc);
}

/* Counting without renewing the window: a refused attempt does not prolong the lock. */
static void keycount_add_untouched_keeps_the_window(void **state)
{
	struct keycount *kc = keycount_new(8, 1000);

	(void)state;
	assert_int_equal(keycount_add_untouched(kc, "x", 1, 0), 0);	/* unknown: nothing */
	assert_int_equal(keycount_get(kc, "x", 0), 0);
	keycount_add(kc, "x", 3, 0);
	assert_int_equal(keycount_add_untouched(kc, "x", 1, 900), 4);
	assert_int_equal(keycount_get(kc, "x", 1001), 0);		/* window from 0 */
	keycount_free(kc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf_appends_and_consumes),
		cmocka_unit_test(buf_refuses_past_max_and_keeps_contents),
		cmocka_unit_test(buf_slides_data_instead_of_growing),
		cmocka_unit_test(keycount_counts_per_key),
		cmocka_unit_test(keycount_forgets_after_window),
		cmocka_unit_test(keycount_evicts_the_stalest_when_full),
		cmocka_unit_test(keycount_keeps_counted_keys_from_flushing),
		cmocka_unit_test(keycount_full_of_kept_keys_counts_no_new_one),
		cmocka_unit_test(keycount_add_untouched_keeps_the_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
