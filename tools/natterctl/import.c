/*
 * natterctl import [--skip-existing]: adds many accounts at once from stdin, one per line:
 *
 *   JID PASSWORD
 *
 * The JID ends at the first space or tab; the password is the rest of the line after that one
 * separator, as it is (only a "\r" before the "\n" goes). Empty lines and lines starting with
 * '#' are skipped.
 *
 * Three passes. First every line is checked (format, JID, password length and SASLprep) and
 * then, in one write transaction that is aborted, put with placeholder credentials: that
 * finds accounts that exist, JIDs that appear twice and JIDs too long for the store. Any
 * problem stops the import before a single account is written (at most IMPORT_PROBLEMS_MAX
 * are reported, each with its line number). Then the real credentials are derived, the
 * expensive part (PBKDF2, on one thread per CPU), IMPORT_BATCH accounts at a time and each
 * batch before its write transaction opens, so natterd never waits on the store for long.
 * Passwords are never printed; the input buffer is wiped before it is freed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mbedtls/platform_util.h>
#include "autoconf.h"
#include "core/err.h"
#include "store/store.h"
#include "tools/natterctl/ctl.h"

#define IMPORT_BATCH 1000		/* accounts per write transaction */
#define IMPORT_PROBLEMS_MAX 20		/* problems reported before giving up */
#define IMPORT_READ_CHUNK 65536
#define IMPORT_CHECK_ITERATIONS 1	/* the first pass only needs SASLprep's verdict */
#define IMPORT_THREADS_MAX 8		/* PBKDF2 workers, at most one per online CPU */

struct imp_entry {
	size_t line;			/* 1-based line number in the input */
	char *bare;			/* prepared bare JID, owned */
	const char *pw;			/* into imp.in, NUL-terminated */
	size_t pwlen;
	int skip;			/* exists and --skip-existing */
};

struct imp {
	struct ctl *c;
	char *in;			/* all of stdin, NUL-terminated; holds passwords */
	size_t in_len, in_cap;
	struct imp_entry *e;
	size_t n, cap;
	size_t problems;
	struct ctl_rng rng;
};

/* Counts a problem; returns non-zero when no more should be looked for. */
static int imp_problem(struct imp *im)
{
	return ++im->problems >= IMPORT_PROBLEMS_MAX;
}

/* Grows im->in to hold at least need bytes; the old buffer is wiped before it is freed. */
static int imp_grow(struct imp *im, size_t need)
{
	size_t cap = im->in_cap ? im->in_cap : IMPORT_READ_CHUNK;
	char *p;

	while (cap < need) {
		if (cap > (size_t)-1 / 2)
			return NT_ENOMEM;
		cap *= 2;
	}
	if (cap == im->in_cap)
		return NT_OK;
	if ((p = malloc(cap)) == NULL)
		return NT_ENOMEM;
	if (im->in != NULL) {
		memcpy(p, im->in, im->in_len);
		mbedtls_platform_zeroize(im->in, im->in_cap);
		free(im->in);
	}
	im->in = p;
	im->in_cap = cap;
	return NT_OK;
}

/* Reads all of stdin into im->in. Exit status. */
static int imp_read(struct imp *im)
{
	ssize_t got;

	if (isatty(STDIN_FILENO))
		return ctl_fail("import reads \"JID PASSWORD\" lines from stdin, not from a "
				"terminal: natterctl import < FILE");
	for (;;) {
		if (imp_grow(im, im->in_len + IMPORT_READ_CHUNK + 1) != NT_OK)
			return ctl_fail("out of memory reading the input");
		got = read(STDIN_FILENO, im->in + im->in_len, IMPORT_READ_CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return ctl_fail("cannot read stdin: %s", strerror(errno));
		if (got == 0)
			break;
		im->in_len += (size_t)got;
	}
	im->in[im->in_len] = '\0';
	return 0;
}

static int imp_add(struct imp *im, size_t line, const char *bare, const char *pw, size_t pwlen)
{
	struct imp_entry *e;

	if (im->n == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 256;

		if ((e = realloc(im->e, cap * sizeof(*e))) == NULL)
			return NT_ENOMEM;
		im->e = e;
		im->cap = cap;
	}
	e = &im->e[im->n];
	memset(e, 0, sizeof(*e));
	if ((e->bare = strdup(bare)) == NULL)
		return NT_ENOMEM;
	e->line = line;
	e->pw = pw;
	e->pwlen = pwlen;
	im->n++;
	return NT_OK;
}

/* Checks one line (NUL-terminated, without its line end) and adds its entry. scratch
 * receives throw-away credentials. Returns NT_OK, NT_EINVAL for a bad line (reported) or
 * NT_ENOMEM. */
static int imp_line(struct imp *im, size_t no, char *s, size_t len, struct account *scratch)
{
	char where[40], bare[STORE_BARE_MAX];
	size_t jlen = strcspn(s, " \t");
	char *pw = s + jlen + 1;
	int rc;

	snprintf(where, sizeof(where), "line %zu: ", no);
	/* The line holds a password: messages quote at most its JID part. */
	if (strlen(s) != len) {
		ctl_fail("%scontains a NUL byte", where);
		return NT_EINVAL;
	}
	if (jlen == len) {
		ctl_fail("%sexpected \"JID PASSWORD\" (a space between them)", where);
		return NT_EINVAL;
	}
	s[jlen] = '\0';
	if (jlen == 0) {
		ctl_fail("%sno JID before the space", where);
		return NT_EINVAL;
	}
	if (ctl_bare_jid(s, bare, where) != 0)
		return NT_EINVAL;
	if (len - jlen - 1 == 0) {
		ctl_fail("%sempty password for %s", where, bare);
		return NT_EINVAL;
	}
	if (len - jlen - 1 > CTL_PASS_MAX) {
		ctl_fail("%spassword of %s too long (at most %d bytes)", where, bare,
			 CTL_PASS_MAX);
		return NT_EINVAL;
	}
	rc = ctl_make_creds(&im->rng, scratch, pw, len - jlen - 1, IMPORT_CHECK_ITERATIONS);
	if (rc != NT_OK) {
		ctl_fail("%s%s: %s", where, bare, ctl_creds_strerror(rc));
		return NT_EINVAL;
	}
	return imp_add(im, no, bare, pw, len - jlen - 1);
}

/* First pass, part one: every line of the input. Exit status. */
static int imp_parse(struct imp *im)
{
	struct account scratch;
	char *s = im->in, *nl;
	size_t no = 0, len;
	int rc = NT_OK;

	while (s < im->in + im->in_len && rc != NT_ENOMEM) {
		no++;
		nl = memchr(s, '\n', (size_t)(im->in + im->in_len - s));
		len = nl != NULL ? (size_t)(nl - s) : (size_t)(im->in + im->in_len - s);
		s[len] = '\0';
		if (len > 0 && s[len - 1] == '\r')
			s[--len] = '\0';
		if (len > 0 && s[0] != '#') {
			rc = imp_line(im, no, s, len, &scratch);
			if (rc == NT_EINVAL && imp_problem(im))
				break;
		}
		s = nl != NULL ? nl + 1 : im->in + im->in_len;
	}
	mbedtls_platform_zeroize(&scratch, sizeof(scratch));
	if (rc == NT_ENOMEM)
		return ctl_fail("out of memory");
	return 0;
}

/* Valid credentials that no password matches, for the dry run. */
static void imp_placeholder(struct account *a, const char *bare)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->bare, sizeof(a->bare), "%s", bare);
	a->sha1.iterations = a->sha256.iterations = 1;
	a->sha1.salt_len = a->sha256.salt_len = 1;
}

/* Checks entry e in t. In a read transaction: whether the account exists (then with
 * --skip-existing e is marked skipped). In the dry run's write transaction: whether it can
 * be put. Returns NT_OK, or the failure after reporting it. */
static int imp_check_one(struct imp *im, struct store_txn *t, int write, struct imp_entry *e,
			 struct account *a)
{
	int rc;

	if (e->skip)
		return NT_OK;
	if (!write) {
		rc = store_account_get(t, e->bare, a);
		if (rc == NT_ENOENT)
			return NT_OK;
		if (rc == NT_OK && im->c->skip_existing)
			e->skip = 1;
	} else {
		imp_placeholder(a, e->bare);
		rc = store_account_put(t, a, 1);
	}
	switch (rc) {
	case NT_OK:
		if (!write && !e->skip)
			ctl_fail("line %zu: user %s already exists", e->line, e->bare);
		return write || e->skip ? NT_OK : NT_EEXIST;
	case NT_EEXIST:
		ctl_fail("line %zu: %s is on an earlier line too", e->line, e->bare);
		break;
	case NT_ELIMIT:
		ctl_fail("line %zu: %s is too long for the store", e->line, e->bare);
		break;
	case NT_EFULL:
		ctl_fail("line %zu: the store is full", e->line);
		break;
	case NT_ESTORE:
		ctl_fail("line %zu: the record of %s is corrupt or the store failed; run "
			 "natterctl check", e->line, e->bare);
		break;
	default:
		ctl_fail("line %zu: %s: %s", e->line, e->bare, nt_strerror(rc));
	}
	return rc;
}

/* First pass, part two: which accounts exist (a read transaction), then a dry run of the
 * puts (a write transaction that is aborted). Exit status. */
static int imp_dry_run(struct imp *im)
{
	struct store_txn *t;
	struct account a;
	int rc = 0, write;
	size_t i;

	for (write = 0; write <= 1 && rc == 0 && im->problems == 0; write++) {
		if ((rc = ctl_begin(im->c, write, &t)) != 0)
			break;
		for (i = 0; i < im->n; i++) {
			int r = imp_check_one(im, t, write, &im->e[i], &a);

			/* After a full map or a store failure the txn is no longer usable. */
			if (r != NT_OK && (imp_problem(im) || r == NT_EFULL || r == NT_ESTORE))
				break;
		}
		store_abort(t);
	}
	mbedtls_platform_zeroize(&a, sizeof(a));
	return rc;
}

/* One PBKDF2 worker: derives the credentials of entries [from, to) into accs[i - base],
 * leaving a skipped entry's slot with an empty bare JID. */
struct imp_worker {
	struct imp *im;
	size_t base, from, to;
	struct account *accs;
	uint64_t now;
	int rc;				/* exit status */
	pthread_t tid;
};

static void *imp_derive(void *arg)
{
	struct imp_worker *w = arg;
	struct ctl_rng rng;
	struct imp_entry *e;
	struct account *a;
	size_t i;
	int rc;

	/* Each worker seeds its own generator: a CTR-DRBG is not shared between threads. */
	if ((w->rc = ctl_rng_init(&rng)) != 0)
		goto out;
	for (i = w->from; i < w->to; i++) {
		e = &w->im->e[i];
		a = &w->accs[i - w->base];
		memset(a, 0, sizeof(*a));
		if (e->skip)
			continue;
		snprintf(a->bare, sizeof(a->bare), "%s", e->bare);
		a->created = w->now;
		rc = ctl_make_creds(&rng, a, e->pw, e->pwlen, CONFIG_NT_SCRAM_ITERATIONS);
		if (rc != NT_OK) {
			w->rc = ctl_fail("line %zu: %s: %s", e->line, e->bare,
					 ctl_creds_strerror(rc));
			break;
		}
	}
out:
	ctl_rng_free(&rng);
	return NULL;
}

static size_t imp_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > IMPORT_THREADS_MAX ? IMPORT_THREADS_MAX : (size_t)n;
}

/* Derives the credentials of entries [from, to) into accs on up to nw threads (the caller's
 * being one of them). Exit status. */
static int imp_derive_all(struct imp *im, size_t from, size_t to, struct account *accs,
			  struct imp_worker *w, size_t nw)
{
	size_t per = (to - from + nw - 1) / nw, i, started = 0;
	uint64_t now = (uint64_t)time(NULL);
	int rc = 0;

	for (i = 0; i < nw; i++) {
		w[i] = (struct imp_worker){ .im = im, .base = from, .accs = accs, .now = now };
		w[i].from = from + i * per < to ? from + i * per : to;
		w[i].to = w[i].from + per < to ? w[i].from + per : to;
	}
	/* Workers 1.. run on threads; without a thread, the caller does their share. */
	for (i = 1; i < nw; i++, started++)
		if (pthread_create(&w[i].tid, NULL, imp_derive, &w[i]) != 0)
			break;
	imp_derive(&w[0]);
	for (i = 1 + started; i < nw; i++)
		imp_derive(&w[i]);
	for (i = 0; i < nw; i++) {
		if (i >= 1 && i <= started)
			pthread_join(w[i].tid, NULL);
		if (rc == 0)
			rc = w[i].rc;
	}
	return rc;
}

/* Writes k accounts in one transaction. A user added by someone else since the dry run is
 * skipped with --skip-existing (counted in *raced), else it ends the import. Exit status. */
static int imp_write(struct imp *im, const struct account *accs, size_t k, size_t *done,
		     size_t *raced)
{
	struct store_txn *t;
	size_t i, added = 0;
	int rc;

	if ((rc = ctl_begin(im->c, 1, &t)) != 0)
		return rc;
	for (i = 0; i < k; i++) {
		if (accs[i].bare[0] == '\0')
			continue;		/* skipped: it existed before */
		rc = store_account_put(t, &accs[i], 1);
		if (rc == NT_EEXIST && im->c->skip_existing) {
			(*raced)++;
			continue;
		}
		if (rc == NT_OK) {
			added++;
			continue;
		}
		store_abort(t);
		if (rc == NT_EEXIST)
			return ctl_fail("user %s was added by someone else meanwhile; %zu "
					"accounts were imported before it", accs[i].bare, *done);
		return ctl_fail("cannot add %s: %s; %zu accounts were imported before it",
				accs[i].bare, nt_strerror(rc), *done);
	}
	if (added > 0 && (rc = ctl_renew_setup_code(t)) != 0)
		return rc;
	if ((rc = ctl_commit(t)) == 0)
		*done += added;
	return rc;
}

/* Second pass: derive and write, a batch at a time. Exit status. */
static int imp_run(struct imp *im)
{
	struct imp_worker w[IMPORT_THREADS_MAX];
	size_t from, to, done = 0, raced = 0, skipped = 0, i, nw = imp_threads();
	struct account *accs = calloc(IMPORT_BATCH, sizeof(*accs));
	int rc = 0;

	if (accs == NULL)
		return ctl_fail("out of memory");
	for (from = 0; from < im->n && rc == 0; from += IMPORT_BATCH) {
		to = from + IMPORT_BATCH < im->n ? from + IMPORT_BATCH : im->n;
		if ((rc = imp_derive_all(im, from, to, accs, w, nw)) == 0)
			rc = imp_write(im, accs, to - from, &done, &raced);
		mbedtls_platform_zeroize(accs, IMPORT_BATCH * sizeof(*accs));
	}
	free(accs);
	for (i = 0; i < im->n; i++)
		skipped += (size_t)im->e[i].skip;
	if (rc == 0)
		printf("imported %zu accounts, skipped %zu that exist\n", done,
		       skipped + raced);
	return rc;
}

int ctl_import(struct ctl *c)
{
	struct imp im;
	size_t i;
	int rc;

	memset(&im, 0, sizeof(im));
	im.c = c;
	if ((rc = ctl_rng_init(&im.rng)) != 0 || (rc = imp_read(&im)) != 0 ||
	    (rc = imp_parse(&im)) != 0)
		goto out;
	if (im.problems == 0 && im.n > 0 && (rc = ctl_open(c, 1)) == 0)
		rc = imp_dry_run(&im);
	if (rc != 0)
		goto out;
	if (im.problems > 0) {
		rc = ctl_fail("%s%zu problems in the input; no account was imported",
			      im.problems >= IMPORT_PROBLEMS_MAX ? "stopped after " : "",
			      im.problems);
		goto out;
	}
	if (im.n == 0) {
		printf("imported 0 accounts: no \"JID PASSWORD\" line in the input\n");
		goto out;
	}
	rc = imp_run(&im);
out:
	for (i = 0; i < im.n; i++)
		free(im.e[i].bare);
	free(im.e);
	if (im.in != NULL)
		mbedtls_platform_zeroize(im.in, im.in_cap);
	free(im.in);
	ctl_rng_free(&im.rng);
	return rc;
}
