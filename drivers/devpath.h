#ifndef NATTER_DRIVERS_DEVPATH_H
#define NATTER_DRIVERS_DEVPATH_H
/*
 * Device paths under a root prefix. On the board the root is "" (the real "/"); host tests
 * point the drivers at a fake tree, e.g. "/tmp/x" + "/dev/watchdog".
 */
#include <stddef.h>
#include <stdio.h>
#include "core/err.h"

/* Writes root + path into out (root NULL or "": the real "/"). NT_EINVAL when path is NULL or
 * not absolute, NT_ELIMIT when the result does not fit cap bytes. Logs nothing. */
static inline int devpath_join(char *out, size_t cap, const char *root, const char *path)
{
	int n;

	if (path == NULL || path[0] != '/')
		return NT_EINVAL;
	n = snprintf(out, cap, "%s%s", root != NULL ? root : "", path);
	return n < 0 || (size_t)n >= cap ? NT_ELIMIT : NT_OK;
}
#endif
