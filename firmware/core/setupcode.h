#ifndef NATTER_CORE_SETUPCODE_H
#define NATTER_CORE_SETUPCODE_H
/*
 * The box's setup code: a one-time code that only someone with the box can read (the log, a
 * short press of the reset button, natterctl setup-code) and that the first-run page asks
 * for before it lets anyone set the box up. It lives in the store (so a factory reset, which
 * wipes the settings, makes a new one) and is made the first time it is asked for. It is
 * replaced once used, at each short press of the reset button and whenever natterctl makes
 * accounts: a code read off a log yesterday opens nothing today.
 */
#include "store/store.h"

#define SETUP_CODE_LEN 9		/* "ABCD-EF23": 8 symbols of 32, 40 bits */

/* The code, into out. Made and stored when there is none and t is a write transaction.
 * NT_OK; NT_ENOENT when there is none and t is read-only; NT_EIO without randomness; the
 * store's errors. */
int setup_code_get(struct store_txn *t, char out[SETUP_CODE_LEN + 1]);
/* 1 when the text a person typed (any case, spaces and the dash optional) is the code in
 * out form; compared in constant time. */
int setup_code_matches(const char code[SETUP_CODE_LEN + 1], const char *typed);
/* Replaces the code with a new one (t: a write transaction). NT_OK or as setup_code_get. */
int setup_code_renew(struct store_txn *t);
#endif
