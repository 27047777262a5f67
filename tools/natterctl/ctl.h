#ifndef NATTER_TOOLS_NATTERCTL_CTL_H
#define NATTER_TOOLS_NATTERCTL_CTL_H
/*
 * What natterctl's command files share: the parsed command line, error output, JID
 * preparation, credentials and the store helpers. Every helper that returns "an exit status"
 * has already printed one "natterctl: " line on stderr when it returns non-zero.
 */
#include <stddef.h>
#include <stdint.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include "store/store.h"

#define CTL_QUOTE_MAX 200	/* bytes of a bad argument repeated in an error message */
#define CTL_PASS_MAX 512	/* bytes of password; SASLprep may grow it within SCRAM_MSG_MAX */

enum { CTL_EXIT_OK = 0, CTL_EXIT_FAIL = 1, CTL_EXIT_USAGE = 2, CTL_GO = -1 };

struct ctl {
	const char *datadir;
	const char *jid_arg;
	const char *args[2];		/* a settings command's NAME and VALUE */
	int skip_existing;		/* import --skip-existing */
	char bare[STORE_BARE_MAX];
	struct store *st;		/* opened by a command; main closes it */
};

/* A random generator for salts; ctl_rng_init seeds it (exit status), ctl_rng_free is safe
 * after a failed init. */
struct ctl_rng {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};
int  ctl_rng_init(struct ctl_rng *r);
void ctl_rng_free(struct ctl_rng *r);

/* Prints "natterctl: <message>" on stderr; returns CTL_EXIT_FAIL. */
int ctl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prepares s (user@domain, no resource) into bare (STORE_BARE_MAX bytes). Returns 0, or an
 * exit status after printing where (e.g. "line 3: ", may be "") and why. */
int ctl_bare_jid(const char *s, char *bare, const char *where);

/* Fills a's SCRAM-SHA-1 and SCRAM-SHA-256 credentials from the password (n bytes) with fresh
 * salts from r and the given PBKDF2 iterations. Returns NT_OK, NT_EINVAL when SASLprep
 * refuses the password, NT_EIO when the generator fails, or scram_creds_make's error. */
int ctl_make_creds(struct ctl_rng *r, struct account *a, const char *pw, size_t n,
		   uint32_t iterations);
/* What ctl_make_creds's failure rc means, for a message; never NULL. */
const char *ctl_creds_strerror(int rc);

/* Opens c->st (creating the data dir and the store when create is 1). Exit status. */
int ctl_open(struct ctl *c, int create);
/* Exit status of store_open's result rc for c's data dir; 0 when it opened. */
int ctl_open_rc(const struct ctl *c, int rc);
int ctl_begin(struct ctl *c, int write, struct store_txn **t);	/* exit status */
int ctl_commit(struct store_txn *t);	/* frees t; exit status */
/* Replaces the setup code in t, which made accounts; aborts t on failure. Exit status. */
int ctl_renew_setup_code(struct store_txn *t);

/* natterctl import: "JID PASSWORD" lines on stdin (tools/natterctl/import.c). */
int ctl_import(struct ctl *c);
/* natterctl settings, get, set, unset (tools/natterctl/settings.c). */
int ctl_settings(struct ctl *c);
int ctl_get(struct ctl *c);
int ctl_set(struct ctl *c);
int ctl_unset(struct ctl *c);
int ctl_setup_code(struct ctl *c);
#endif
