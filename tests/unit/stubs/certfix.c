/* The TLS tests' fixture (certfix.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include "tests/unit/stubs/certfix.h"
#include "tests/unit/stubs/tmpdir.h"

const char *fpath(struct fix *f, const char *rel)
{
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, rel);
	return f->path;
}

size_t read_file(const char *path, char *out, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(out, 1, cap, fp);
	fclose(fp);
	return n;
}

void write_file(const char *path, const char *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

void parse_cert(struct fix *f, const char *rel, mbedtls_x509_crt *crt)
{
	mbedtls_x509_crt_init(crt);
	assert_int_equal(mbedtls_x509_crt_parse_file(crt, fpath(f, rel)), 0);
}

int certfix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL || tmpdir_make(f->dir, sizeof(f->dir), "tls") != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

int certfix_teardown(void **state)
{
	struct fix *f = *state;
	int rc = tmpdir_remove(f->dir);

	free(f);
	return rc;
}
