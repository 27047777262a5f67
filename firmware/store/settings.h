#ifndef NATTER_STORE_SETTINGS_H
#define NATTER_STORE_SETTINGS_H
/*
 * settings table (schema 1): run-time settings, edited through the web page and natterctl.
 *
 * key:   the setting's name as text, without a NUL (1..key_max bytes).
 * value: the setting's bytes as given (may be empty); the module owning a setting decides
 *        their meaning and validates them when it reads them.
 */
#include <stddef.h>
#include "store/store.h"

int store_setting_get(struct store_txn *t, const char *key, void *out, size_t cap,
                      size_t *len); /* NT_ENOENT; NT_ELIMIT when cap is too small */
int store_setting_put(struct store_txn *t, const char *key, const void *v, size_t n);
int store_setting_del(struct store_txn *t, const char *key);	/* NT_ENOENT when absent */
#endif
