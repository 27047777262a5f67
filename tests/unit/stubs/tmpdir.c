/* Scratch folders for unit tests (tmpdir.h). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include "tests/unit/stubs/tmpdir.h"

int tmpdir_make(char *buf, size_t cap, const char *name)
{
	int n = snprintf(buf, cap, "/tmp/natter-%s-XXXXXX", name);

	if (n < 0 || (size_t)n >= cap)
		return -1;
	return mkdtemp(buf) != NULL ? 0 : -1;
}

static int tmpdir_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int tmpdir_remove(const char *dir)
{
	return nftw(dir, tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS);
}
