/*
 * This build's schema: every table the store holds and every upgrade step, in one place.
 *
 * A feature that needs a table of its own adds, in one change:
 *   - its index to enum store_tbl (store_int.h) and a line here with its name and the schema
 *     version that adds it (STORE_SCHEMA_VERSION + 1), and that version to store.h;
 *   - a header firmware/store/NAME.h with the table's API and its key and value encodings;
 *   - when older records must change too (keys rewritten, values moved), a step from the
 *     previous version in steps[] below, with a unit test that opens a store written by the
 *     previous schema and checks every record (tests/unit/test_store_migrate.c).
 * A table that a version adds is made, empty, before that version's step runs; a version
 * that only adds tables needs no step. Versions never go back and a step is never edited
 * once shipped: boxes in the field run it as it was.
 *
 * Schema history:
 *   1  meta, accounts, offline, settings (the first firmware).
 */
#include <stddef.h>
#include "store/store_int.h"

static const struct store_table tables[TBL_COUNT] = {
	[TBL_META]     = { "meta",     1, STORE_TBL_KEEP },
	[TBL_ACCOUNTS] = { "accounts", 1, 0 },
	[TBL_OFFLINE]  = { "offline",  1, 0 },
	[TBL_SETTINGS] = { "settings", 1, 0 },
};

/* No step yet: schema 1 is the only one shipped. */
static const struct store_schema build = {
	.version = STORE_SCHEMA_VERSION,
	.tables = tables,
	.n_tables = TBL_COUNT,
	.steps = NULL,
	.n_steps = 0,
};

const struct store_schema *store_schema_build(void)
{
	return &build;
}
