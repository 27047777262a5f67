#ifndef NATTER_TESTS_TMPDIR_H
#define NATTER_TESTS_TMPDIR_H
/* Scratch folders for unit tests that need real files (stores, certificates, sysfs trees). */
#include <stddef.h>

/* Makes a new folder /tmp/natter-NAME-XXXXXX and writes its path into buf. 0, or -1 when
 * buf is too small or the folder cannot be made. */
int tmpdir_make(char *buf, size_t cap, const char *name);
/* Removes dir and everything below it, following no link. 0, or -1 when something stayed. */
int tmpdir_remove(const char *dir);
#endif
