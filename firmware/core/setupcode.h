#ifndef NATTER_CORE_SETUPCODE_H
#define NATTER_CORE_SETUPCODE_H
/*
 * The box's setup code: a one-time code that only someone with the box can read (the log, a
 * short press of the reset button, natterctl setup-code) and that the first-run page will ask
 * for before it lets anyone set the box up. It lives in the store (so a factory reset, which
 * wipes the settings, makes a new one) and is made the first time it is asked for.
 */
#include "store/store.h"

#define SETUP_CODE_LEN 9		/* "ABCD-EF23": 8 symbols of 32, 40 bits */

/* The code, into out. Made and stored when there is none and t is a write transaction.
 * NT_OK; NT_ENOENT when there is none and t is read-only; NT_EIO without randomness; the
 * store's errors. */
int setup_code_get(struct store_txn *t, char out[SETUP_CODE_LEN + 1]);
#endif
