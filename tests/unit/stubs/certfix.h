#ifndef NATTER_TESTS_CERTFIX_H
#define NATTER_TESTS_CERTFIX_H
/* The fixture of the TLS and certificate unit tests: a scratch data dir and file helpers that
 * fail the test (cmocka) when the file system does not do as asked. */
#include <stddef.h>
#include <mbedtls/x509_crt.h>

struct fix {
	char dir[64];
	char path[256];			/* scratch for fpath() */
};

/* f->dir/rel, valid until the next call. */
const char *fpath(struct fix *f, const char *rel);
size_t read_file(const char *path, char *out, size_t cap);
void write_file(const char *path, const char *p, size_t n);
/* Parses f->dir/rel into crt (initialised here; the caller frees it). */
void parse_cert(struct fix *f, const char *rel, mbedtls_x509_crt *crt);
/* cmocka setup and teardown: a struct fix with a fresh scratch dir in *state. */
int certfix_setup(void **state);
int certfix_teardown(void **state);
#endif
