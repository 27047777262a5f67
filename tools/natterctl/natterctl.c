/*
 * natterctl: the admin CLI for a natter data dir. It opens the same LMDB environment as a
 * running natterd (LMDB serves several processes through lock.mdb), so accounts can be
 * changed while the server runs; natterd notices through the accounts generation.
 *
 *   natterctl [--datadir DIR] adduser JID | passwd JID | deluser JID | list | check
 *   natterctl [--datadir DIR] import [--skip-existing]      (see import.c)
 *
 * Exit status: 0 done, 1 failed (one line on stderr starting "natterctl: "), 2 bad usage.
 * Passwords are read from the terminal with echo off, or as one line of stdin; they are
 * never printed or logged and are wiped from memory after use.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <mbedtls/platform_util.h>
#include "autoconf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/setupcode.h"
#include "store/store.h"
#include "tools/natterctl/ctl.h"
#include "xmpp/jid.h"
#include "xmpp/scram.h"

#define CTL_DEFAULT_DATADIR "/var/lib/natter"
#define CTL_DATADIR_ENV "NATTER_DATADIR"
#define CTL_SALT_LEN 16


struct ctl_cmd {
	const char *name;
	int takes_jid;
	int skip_ok;			/* takes --skip-existing */
	int (*run)(struct ctl *c);
	int nargs;			/* NAME [VALUE] arguments (settings commands) */
};

static const char usage_text[] =
	"usage: natterctl [--datadir DIR] COMMAND [JID | NAME [VALUE]]\n"
	"commands:\n"
	"  adduser JID   add an account (creates the store when there is none)\n"
	"  passwd JID    set a new password for an account\n"
	"  deluser JID   delete an account and its offline messages\n"
	"  list          print every account's bare JID, sorted (\"admin\" after admins)\n"
	"  check         verify every record in the store\n"
	"  import [--skip-existing]\n"
	"                add the accounts of the \"JID PASSWORD\" lines on stdin\n"
	"  settings      list the run-time settings and their values\n"
	"  get NAME      print a setting's value\n"
	"  set NAME VALUE\n"
	"                change a setting (natterd uses it from its next start)\n"
	"  unset NAME    back to the build's default\n"
	"  setup-code    print the box's one-time setup code (the first-run page asks for it)\n"
	"JID is a bare JID: user@domain. The password is asked on the terminal, or read as one\n"
	"line from stdin. DIR defaults to $" CTL_DATADIR_ENV ", else " CTL_DEFAULT_DATADIR ".\n";

int ctl_fail(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "natterctl: %s\n", line);
	return CTL_EXIT_FAIL;
}

static int ctl_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ctl_usage(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "natterctl: %s\n%s", line, usage_text);
	return CTL_EXIT_USAGE;
}

/* Terminal ------------------------------------------------------------------------------ */

static struct termios ctl_saved_tio;
static volatile sig_atomic_t ctl_tio_saved;

/* A signal while echo is off must not leave the terminal without echo. */
static void ctl_restore_tty(int sig)
{
	if (ctl_tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &ctl_saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void ctl_tty_signals(void (*handler)(int))
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Reads one line from stdin (unbuffered, so no copy stays in a stdio buffer) without its
 * "\n" or "\r\n". NT_ELIMIT when longer than cap - 1 bytes. */
static int ctl_read_line(char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(stdin)) != EOF && ch != '\n') {
		if (n + 1 >= cap)
			return NT_ELIMIT;
		buf[n++] = (char)ch;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return NT_OK;
}

static int ctl_prompt(const char *prompt, char *buf, size_t cap, size_t *len)
{
	struct termios tio;
	int rc;

	if (tcgetattr(STDIN_FILENO, &ctl_saved_tio) != 0)
		return NT_EIO;
	tio = ctl_saved_tio;
	tio.c_lflag &= ~(tcflag_t)ECHO;
	tio.c_lflag |= ECHONL;			/* still show the newline the user types */
	ctl_tio_saved = 1;
	ctl_tty_signals(ctl_restore_tty);
	/* Echo goes off before the prompt shows, so nothing typed after it is echoed. */
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) != 0) {
		rc = NT_EIO;
	} else {
		fputs(prompt, stderr);
		fflush(stderr);
		rc = ctl_read_line(buf, cap, len);
	}
	tcsetattr(STDIN_FILENO, TCSANOW, &ctl_saved_tio);
	ctl_tio_saved = 0;
	ctl_tty_signals(SIG_DFL);
	return rc;
}

/* Reads the new password into pw (cap bytes, NUL-terminated): twice with echo off on a
 * terminal, else one line of stdin. Returns 0 or an exit status after printing why. */
static int ctl_password(char *pw, size_t cap, size_t *len)
{
	char again[CTL_PASS_MAX + 1];
	size_t alen = 0;
	int rc, tty = isatty(STDIN_FILENO);

	setvbuf(stdin, NULL, _IONBF, 0);
	if (tty) {
		rc = ctl_prompt("Password: ", pw, cap, len);
		if (rc == NT_OK)
			rc = ctl_prompt("Again: ", again, sizeof(again), &alen);
		if (rc == NT_OK && (alen != *len || memcmp(again, pw, alen) != 0))
			rc = NT_EAUTH;
		mbedtls_platform_zeroize(again, sizeof(again));
	} else {
		rc = ctl_read_line(pw, cap, len);
	}
	switch (rc) {
	case NT_OK:
		break;
	case NT_ELIMIT:
		return ctl_fail("password too long (at most %d bytes)", CTL_PASS_MAX);
	case NT_EAUTH:
		return ctl_fail("passwords do not match");
	default:
		return ctl_fail("cannot read the password from the terminal: %s", strerror(errno));
	}
	if (*len == 0)
		return ctl_fail("empty password");
	if (memchr(pw, '\0', *len) != NULL)
		return ctl_fail("password contains a NUL byte");
	return 0;
}

/* Credentials ----------------------------------------------------------------------------- */

int ctl_rng_init(struct ctl_rng *r)
{
	static const char pers[] = "natterctl salt";
	int rc;

	mbedtls_entropy_init(&r->entropy);
	mbedtls_ctr_drbg_init(&r->drbg);
	rc = mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
				   (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc != 0)
		return ctl_fail("cannot seed the random generator (-0x%04x)", (unsigned)-rc);
	return 0;
}

void ctl_rng_free(struct ctl_rng *r)
{
	mbedtls_ctr_drbg_free(&r->drbg);
	mbedtls_entropy_free(&r->entropy);
}

int ctl_make_creds(struct ctl_rng *r, struct account *a, const char *pw, size_t n,
		   uint32_t iterations)
{
	const enum scram_hash hashes[2] = { SCRAM_SHA_1, SCRAM_SHA_256 };
	struct scram_creds *out[2] = { &a->sha1, &a->sha256 };
	uint8_t salt[CTL_SALT_LEN];
	int rc = NT_OK;
	size_t i;

	for (i = 0; i < 2 && rc == NT_OK; i++) {
		if (mbedtls_ctr_drbg_random(&r->drbg, salt, sizeof(salt)) != 0)
			rc = NT_EIO;
		else
			rc = scram_creds_make(hashes[i], pw, n, salt, sizeof(salt), iterations,
					      out[i]);
	}
	mbedtls_platform_zeroize(salt, sizeof(salt));
	return rc;
}

const char *ctl_creds_strerror(int rc)
{
	switch (rc) {
	case NT_EINVAL:
		return "password refused by SASLprep (RFC 4013): control or prohibited "
		       "characters, or not UTF-8";
	case NT_EIO:
		return "cannot make a random salt";
	default:
		return "cannot derive SCRAM credentials";
	}
}

/* Reads a password and fills a's credentials. Returns 0 or an exit status. */
static int ctl_new_creds(struct account *a)
{
	char pw[CTL_PASS_MAX + 1];
	struct ctl_rng r;
	size_t n = 0;
	int rc;

	if ((rc = ctl_password(pw, sizeof(pw), &n)) != 0)
		goto out;
	if ((rc = ctl_rng_init(&r)) == 0 &&
	    (rc = ctl_make_creds(&r, a, pw, n, CONFIG_NT_SCRAM_ITERATIONS)) != NT_OK)
		rc = ctl_fail("%s", ctl_creds_strerror(rc));
	ctl_rng_free(&r);
out:
	mbedtls_platform_zeroize(pw, sizeof(pw));
	return rc;
}

/* The store -------------------------------------------------------------------------------- */

int ctl_open_rc(const struct ctl *c, int rc)
{
	struct stat sb;

	switch (rc) {
	case NT_OK:
		/* An import may need more room: the store grows as natterd's does. */
		store_set_limits(c->st, CONFIG_NT_LMDB_MAP_MAX_MB, CONFIG_NT_STORE_RESERVE_MB);
		return 0;
	case NT_ENOENT:
		if (stat(c->datadir, &sb) != 0)
			return ctl_fail("data dir %s does not exist", c->datadir);
		return ctl_fail("no natter store in %s", c->datadir);
	case NT_EBUSY:
		return ctl_fail("the store in %s is locked; try again", c->datadir);
	case NT_ESTORE:
		return ctl_fail("cannot open the store in %s: not a natter store, corrupt, or of "
				"another schema version", c->datadir);
	default:
		return ctl_fail("cannot open the store in %s: %s", c->datadir, nt_strerror(rc));
	}
}

int ctl_open(struct ctl *c, int create)
{
	struct stat sb;

	if (create && stat(c->datadir, &sb) != 0 && mkdir(c->datadir, 0700) != 0)
		return ctl_fail("cannot create data dir %s: %s", c->datadir, strerror(errno));
	return ctl_open_rc(c, store_open(&c->st, c->datadir, CONFIG_NT_LMDB_MAP_MB, create));
}

int ctl_begin(struct ctl *c, int write, struct store_txn **t)
{
	int rc = store_begin(c->st, write, t);

	if (rc == NT_OK)
		return 0;
	return ctl_fail("cannot %s the store: %s", write ? "write to" : "read", nt_strerror(rc));
}

int ctl_commit(struct store_txn *t)
{
	int rc = store_commit(t);

	return rc == NT_OK ? 0 : ctl_fail("could not save the change: %s", nt_strerror(rc));
}

/* With a new account in t, the setup code a person may have read off the log (natterd shows
 * it at every start while the box has no account) must open nothing: it is replaced in the
 * same transaction. Aborts t on failure. Exit status. */
int ctl_renew_setup_code(struct store_txn *t)
{
	int rc = setup_code_renew(t);

	if (rc == NT_OK)
		return 0;
	store_abort(t);
	return ctl_fail("cannot replace the setup code: %s; nothing was changed",
			nt_strerror(rc));
}

/* Maps an account lookup's result to an exit status with a message; 0 when found. */
static int ctl_account_rc(const struct ctl *c, int rc)
{
	switch (rc) {
	case NT_OK:
		return 0;
	case NT_ENOENT:
		return ctl_fail("no such user %s", c->bare);
	case NT_EEXIST:
		return ctl_fail("user %s already exists", c->bare);
	case NT_ELIMIT:
		return ctl_fail("%s is too long for the store", c->bare);
	case NT_EFULL:
		return ctl_fail("the store is full: %s was not changed", c->bare);
	case NT_ESTORE:
		return ctl_fail("the record of %s is corrupt or the store failed; run "
				"natterctl check", c->bare);
	default:
		return ctl_fail("%s: %s", c->bare, nt_strerror(rc));
	}
}

/* Commands -------------------------------------------------------------------------------- */

static int ctl_adduser(struct ctl *c)
{
	struct store_txn *t;
	struct account a;
	int rc;

	/* Refuse an existing user before asking for a password; make no store until the
	 * password is good. */
	rc = store_open(&c->st, c->datadir, CONFIG_NT_LMDB_MAP_MB, 0);
	if (rc != NT_ENOENT && ctl_open_rc(c, rc) != 0)
		return 1;
	if (c->st != NULL) {
		if ((rc = ctl_begin(c, 0, &t)) != 0)
			return rc;
		rc = store_account_get(t, c->bare, &a);
		store_abort(t);
		if (rc != NT_ENOENT)
			return ctl_account_rc(c, rc == NT_OK ? NT_EEXIST : rc);
	}
	memset(&a, 0, sizeof(a));
	memcpy(a.bare, c->bare, sizeof(a.bare));
	a.created = (uint64_t)time(NULL);
	if ((rc = ctl_new_creds(&a)) != 0 || (c->st == NULL && (rc = ctl_open(c, 1)) != 0) ||
	    (rc = ctl_begin(c, 1, &t)) != 0)
		goto out;
	if ((rc = store_account_put(t, &a, 1)) != NT_OK) {
		store_abort(t);
		rc = ctl_account_rc(c, rc);
		goto out;
	}
	if ((rc = ctl_renew_setup_code(t)) != 0)
		goto out;
	if ((rc = ctl_commit(t)) == 0)
		printf("added %s\n", c->bare);
out:
	mbedtls_platform_zeroize(&a, sizeof(a));
	return rc;
}

static int ctl_passwd(struct ctl *c)
{
	struct store_txn *t;
	struct account a, fresh;
	int rc;

	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 0, &t)) != 0)
		return rc;
	rc = store_account_get(t, c->bare, &a);
	store_abort(t);
	if ((rc = ctl_account_rc(c, rc)) != 0)
		return rc;
	memset(&fresh, 0, sizeof(fresh));
	if ((rc = ctl_new_creds(&fresh)) != 0 || (rc = ctl_begin(c, 1, &t)) != 0)
		goto out;
	/* Read again inside the write txn: keep flags and creation time as they are now. */
	if ((rc = store_account_get(t, c->bare, &a)) == NT_OK) {
		a.sha1 = fresh.sha1;
		a.sha256 = fresh.sha256;
		rc = store_account_put(t, &a, 0);
	}
	if (rc != NT_OK) {
		store_abort(t);
		rc = ctl_account_rc(c, rc);
		goto out;
	}
	if ((rc = ctl_commit(t)) == 0)
		printf("changed the password of %s\n", c->bare);
out:
	mbedtls_platform_zeroize(&fresh, sizeof(fresh));
	mbedtls_platform_zeroize(&a, sizeof(a));
	return rc;
}

static int ctl_deluser(struct ctl *c)
{
	struct store_txn *t;
	int rc;

	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 1, &t)) != 0)
		return rc;
	if ((rc = store_account_del(t, c->bare)) != NT_OK) {
		store_abort(t);
		return ctl_account_rc(c, rc);
	}
	if ((rc = ctl_commit(t)) == 0)
		printf("deleted %s\n", c->bare);
	return rc;
}

static int ctl_print_bare(const struct account *a, void *arg)
{
	(void)arg;
	/* A JID has no space: the first word of a line is always the account. */
	return printf("%s%s\n", a->bare, a->flags & ACCOUNT_ADMIN ? " admin" : "") < 0 ?
	       NT_EIO : 0;
}

static int ctl_list(struct ctl *c)
{
	struct store_txn *t;
	int rc;

	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 0, &t)) != 0)
		return rc;
	/* LMDB keeps keys in byte order, so the accounts come out sorted. */
	rc = store_account_each(t, ctl_print_bare, NULL);
	store_abort(t);
	if (rc == NT_ESTORE)
		return ctl_fail("an account record is corrupt; run natterctl check");
	if (rc != NT_OK || fflush(stdout) != 0)
		return ctl_fail("cannot list the accounts: %s", nt_strerror(rc ? rc : NT_EIO));
	return 0;
}

static void ctl_print_problem(const char *problem, void *arg)
{
	size_t *n = arg;

	(*n)++;
	fprintf(stderr, "natterctl: %s\n", problem);
}

static int ctl_check(struct ctl *c)
{
	struct store_txn *t;
	size_t accounts = 0, offline = 0, problems = 0;
	int rc;

	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 0, &t)) != 0)
		return rc;
	rc = store_check(t, ctl_print_problem, &problems, &accounts, &offline);
	store_abort(t);
	if (problems > 0)
		return ctl_fail("%zu problems found (%zu good accounts, %zu good offline "
				"messages)", problems, accounts, offline);
	if (rc != NT_OK)
		return ctl_fail("cannot check the store: %s", nt_strerror(rc));
	printf("ok: %zu accounts, %zu offline messages\n", accounts, offline);
	return 0;
}

static const struct ctl_cmd ctl_cmds[] = {
	{ "adduser", 1, 0, ctl_adduser, 0 },
	{ "passwd",  1, 0, ctl_passwd, 0 },
	{ "deluser", 1, 0, ctl_deluser, 0 },
	{ "list",    0, 0, ctl_list, 0 },
	{ "check",   0, 0, ctl_check, 0 },
	{ "import",  0, 1, ctl_import, 0 },
	{ "settings", 0, 0, ctl_settings, 0 },
	{ "get",     0, 0, ctl_get, 1 },
	{ "set",     0, 0, ctl_set, 2 },
	{ "unset",   0, 0, ctl_unset, 1 },
	{ "setup-code", 0, 0, ctl_setup_code, 0 },
};

/* Arguments ------------------------------------------------------------------------------- */

int ctl_bare_jid(const char *s, char *bare, const char *where)
{
	struct jid j;
	int rc = jid_parse(&j, s, strlen(s));

	if (rc == NT_ELIMIT)
		return ctl_fail("%sJID too long: a part has more than %d bytes", where,
				JID_PART_MAX);
	/* Messages quote at most CTL_QUOTE_MAX bytes of what was typed. */
	if (rc != NT_OK)
		return ctl_fail("%s'%.*s' is not a valid JID", where, CTL_QUOTE_MAX, s);
	if (j.resource[0] != '\0')
		return ctl_fail("%s'%.*s' has a resource; give a bare JID (user@domain)",
				where, CTL_QUOTE_MAX, s);
	if (j.local[0] == '\0')
		return ctl_fail("%s'%.*s' has no user part; give a bare JID (user@domain)",
				where, CTL_QUOTE_MAX, s);
	if (jid_bare(&j, bare, STORE_BARE_MAX) != NT_OK)
		return ctl_fail("%sJID too long", where);
	return 0;
}

/* Options up to the next non-option argument (getopt_long from optind). */
static int ctl_opts(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "datadir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "skip-existing", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:d:h", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			c->datadir = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CTL_EXIT_OK;
		case 's':
			c->skip_existing = 1;
			break;
		case ':':
			return ctl_usage("option '%s' needs a value", argv[optind - 1]);
		default:
			return ctl_usage("bad option '%s'", argv[optind - 1]);
		}
	}
	return CTL_GO;
}

static int ctl_args(struct ctl *c, int argc, char **argv, const struct ctl_cmd **cmd)
{
	const char *name;
	size_t i;
	int rc;

	c->datadir = getenv(CTL_DATADIR_ENV);
	if (c->datadir == NULL || c->datadir[0] == '\0')
		c->datadir = CTL_DEFAULT_DATADIR;
	if ((rc = ctl_opts(c, argc, argv)) != CTL_GO)
		return rc;
	if (optind >= argc)
		return ctl_usage("no command given");
	name = argv[optind++];
	for (i = 0, *cmd = NULL; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++)
		if (strcmp(name, ctl_cmds[i].name) == 0)
			*cmd = &ctl_cmds[i];
	if (*cmd == NULL)
		return ctl_usage("unknown command '%s'", name);
	/* import's options may also follow the command. */
	if ((*cmd)->skip_ok && (rc = ctl_opts(c, argc, argv)) != CTL_GO)
		return rc;
	if (c->datadir[0] == '\0')
		return ctl_usage("empty data dir");
	if (c->skip_existing && !(*cmd)->skip_ok)
		return ctl_usage("--skip-existing goes only with import");
	if ((*cmd)->takes_jid && optind >= argc)
		return ctl_usage("%s needs a JID", name);
	if ((*cmd)->takes_jid)
		c->jid_arg = argv[optind++];
	for (int k = 0; k < (*cmd)->nargs; k++) {
		if (optind >= argc)
			return ctl_usage("%s needs %s", name, (*cmd)->nargs == 1 ? "a setting's name"
					 : "a setting's name and value");
		c->args[k] = argv[optind++];
	}
	if (optind < argc)
		return ctl_usage("unexpected argument '%s'", argv[optind]);
	return CTL_GO;
}

int main(int argc, char **argv)
{
	const struct ctl_cmd *cmd = NULL;
	struct ctl c;
	int rc;

	memset(&c, 0, sizeof(c));
	/* Store errors (with their reasons) still show; info lines would only be noise. */
	log_set_level(LOG_WARN);
	if ((rc = ctl_args(&c, argc, argv, &cmd)) != CTL_GO)
		return rc;
	if (cmd->takes_jid && (rc = ctl_bare_jid(c.jid_arg, c.bare, "")) != 0)
		return rc;
	rc = cmd->run(&c);
	store_close(c.st);
	return rc;
}
