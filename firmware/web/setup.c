/*
 * The first-run page: with the setup code (core/setupcode.h) a person who has the box makes
 * its admin account. It is open while the box has no account, and for a while after a short
 * press of the reset button, when it also gives an existing admin a new password (the admin
 * forgot theirs, or it was stolen) or makes a new admin. A plain HTML form: no script, so it
 * works in any browser.
 *
 * Once the box is set up, nothing the page says before a right code depends on whether a
 * press opened it: the same form, the same answer to a wrong code, the same limits. So the
 * LAN cannot watch for the moment someone presses the button.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <mbedtls/platform_util.h>
#include "core/err.h"
#include "core/kconfig.h"
#include "core/keycount.h"
#include "core/log.h"
#include "core/natterd.h"
#include "core/setupcode.h"
#include "net/net.h"
#include "store/store.h"
#include "tls/tls.h"
#include "web/web.h"
#include "web/web_int.h"
#include "xmpp/jid.h"

#define SETUP_PASS_MIN 8		/* characters */
#define SETUP_PASS_MAX 1023		/* bytes */
#define SETUP_SALT_LEN 16
#define SETUP_FORM_TYPE "application/x-www-form-urlencoded"
#define SETUP_FORM_TYPE_LEN (sizeof(SETUP_FORM_TYPE) - 1)

struct setup_form {
	char code[64];
	char user[JID_PART_MAX + 1];
	char password[SETUP_PASS_MAX + 1];
	char password2[SETUP_PASS_MAX + 1];
};

#define SETUP_FAILS_ALL "all"		/* setup_fails_all's one key */

static uint32_t setup_window_s(const struct natterd *d)
{
	return d->opt.setup_window_s != 0 ? d->opt.setup_window_s : CONFIG_NT_SETUP_WINDOW_S;
}

/* Milliseconds left of a window a short press opened; 0 when none is open. */
static uint64_t setup_left_ms(const struct natterd *d)
{
	uint64_t now = net_now_ms(d->loop);

	return d->web != NULL && d->web->setup_until_ms > now ? d->web->setup_until_ms - now : 0;
}

int web_setup_is_open(struct natterd *d)
{
	struct store_txn *t = natterd_txn(d);
	int any;

	if (t == NULL)
		return NT_ESTORE;
	if ((any = store_accounts_any(t)) < 0)
		return any;
	return any == 0 || setup_left_ms(d) > 0;
}

void web_setup_reopen(struct natterd *d)
{
	uint32_t s = setup_window_s(d);

	if (d->web == NULL || d->opt.https_port == 0) {
		log_info("web: the web page is off: the first-run page cannot open");
		return;
	}
	d->web->setup_until_ms = net_now_ms(d->loop) + s * 1000ull;
	log_info("web: the first-run page is open for %u min %u s on port %d", s / 60, s % 60,
		 d->opt.https_port);
}

/* UTF-8 characters in s (continuation bytes are not counted). */
static size_t setup_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A page's title and heading, the error (when not NULL), and what the box is. */
static void setup_begin(struct buf *b, struct natterd *d, const char *title, const char *error)
{
	web_html_begin(b, title);
	web_html_raw(b, "<h1>");
	web_html_text(b, title);
	web_html_raw(b, "</h1>\n");
	if (error != NULL) {
		web_html_raw(b, "<p class=\"error\" id=\"error\">");
		web_html_text(b, error);
		web_html_raw(b, "</p>\n");
	}
	web_html_raw(b, "<p>This box is the chat server for <b>");
	web_html_text(b, d->domain);
	web_html_raw(b, "</b>. People sign in with any XMPP client (Gajim, Dino, Pidgin, "
		     "Conversations, ...) as <i>name</i>@");
	web_html_text(b, d->domain);
	web_html_raw(b, ".</p>\n");
}

static void setup_fingerprint(struct buf *b, struct natterd *d)
{
	web_html_raw(b, "<p class=\"hint\">The box made its own certificate, so your browser "
		     "warned about it. Its SHA-256 fingerprint is <span class=\"fp\" "
		     "id=\"fingerprint\">");
	web_html_text(b, tls_ctx_fingerprint(d->tls));
	web_html_raw(b, "</span>; the box's log shows the same when it starts.</p>\n");
}

/* The form, with an error above it when error is not NULL; the name typed is kept. A box
 * with accounts gets the same form whether a short press opened the page or not. */
static void setup_send_form(struct web_conn *wc, const struct http_req *r, int status,
                            const char *error, const char *user)
{
	struct natterd *d = wc->w->d;
	struct store_txn *t = natterd_txn(d);
	int fresh = t != NULL && store_accounts_any(t) == 0;
	uint32_t m = (setup_window_s(d) + 59) / 60;
	struct buf b;

	setup_begin(&b, d, fresh ? "Set up your chat box" : "natter chat box", error);
	if (fresh) {
		web_html_raw(&b, "<p id=\"first-run\">First make the admin account: the one that "
			     "runs the box.</p>\n");
	} else {
		web_html_printf(&b, "<p id=\"reset\">The box is set up. To give an admin a "
				"new password, or to make a new admin, press the box's reset "
				"button briefly: the box writes a new setup code to its log, and "
				"this form takes it for the next %u minute%s. Other accounts are "
				"run with <code>natterctl</code>.</p>\n", m, m == 1 ? "" : "s");
	}
	web_html_raw(&b, "<form method=\"post\" action=\"/setup\">\n"
		     "<label for=\"code\">Setup code</label>"
		     "<input id=\"code\" name=\"code\" required autocomplete=\"off\" "
		     "autocapitalize=\"characters\" spellcheck=\"false\" placeholder=\"ABCD-EF23\">"
		     "<p class=\"hint\">Only someone with the box can read it: the box's log shows "
		     "it, <code>natterctl setup-code</code> prints it, and a short press of the "
		     "box's reset button writes it to the log.</p>\n"
		     "<label for=\"user\">Admin name</label>"
		     "<input id=\"user\" name=\"user\" required autocomplete=\"username\" "
		     "autocapitalize=\"none\" spellcheck=\"false\" value=\"");
	web_html_text(&b, user != NULL ? user : "");
	web_html_raw(&b, "\"><p class=\"hint\">The address becomes <i>name</i>@");
	web_html_text(&b, d->domain);
	web_html_printf(&b, ".</p>\n<label for=\"password\">Password</label>"
			"<input id=\"password\" name=\"password\" type=\"password\" required "
			"minlength=\"%d\" autocomplete=\"new-password\">"
			"<label for=\"password2\">Password again</label>"
			"<input id=\"password2\" name=\"password2\" type=\"password\" required "
			"minlength=\"%d\" autocomplete=\"new-password\">\n"
			"<button type=\"submit\" id=\"submit\">%s</button>\n"
			"</form>\n", SETUP_PASS_MIN, SETUP_PASS_MIN,
			fresh ? "Make the admin account" : "Set the admin's password");
	setup_fingerprint(&b, d);
	web_html_end(&b);
	web_send_page(wc, r, status, &b);
}

void web_setup_page(struct web_conn *wc, const struct http_req *r)
{
	if (natterd_txn(wc->w->d) == NULL)
		web_send_error(wc, r, 500, "The box cannot read its store; see its log.");
	else
		setup_send_form(wc, r, 200, NULL, NULL);
}

static void setup_send_done(struct web_conn *wc, const struct http_req *r, const char *bare,
                            int existed)
{
	struct buf b;

	web_html_begin(&b, "Your chat box is ready");
	web_html_raw(&b, "<h1>Your chat box is ready</h1>\n<p class=\"done\" id=\"done\">");
	web_html_raw(&b, "The admin account <b id=\"account\">");
	web_html_text(&b, bare);
	web_html_raw(&b, existed ? "</b> has its new password." : "</b> is made.");
	web_html_raw(&b, "</p>\n<p>Sign in with any XMPP client: the address is <b>");
	web_html_text(&b, bare);
	web_html_raw(&b, "</b>, with the password you chose. The client finds the server by the "
		     "address; if it asks, the server is this box and the port 5222.</p>\n"
		     "<p>The setup code was replaced by a new one. To set an admin's password "
		     "here again, press the box's reset button briefly: it writes the next code "
		     "to the box's log.</p>\n");
	setup_fingerprint(&b, wc->w->d);
	web_html_end(&b);
	web_send_page(wc, r, 200, &b);
}

/* Reads the four fields; a message for the person when one is missing or unreadable. */
static const char *setup_read_form(struct setup_form *f, const char *body, size_t n)
{
	struct { const char *name; char *out; size_t cap; } fields[4] = {
		{ "code", f->code, sizeof(f->code) },
		{ "user", f->user, sizeof(f->user) },
		{ "password", f->password, sizeof(f->password) },
		{ "password2", f->password2, sizeof(f->password2) },
	};
	size_t len;
	int rc;

	for (size_t i = 0; i < 4; i++) {
		rc = http_form_get(body, n, fields[i].name, fields[i].out, fields[i].cap, &len);
		if (rc == NT_ELIMIT)
			return i >= 2 ? "That password is too long." : "That name is too long.";
		if (rc != NT_OK || len == 0)
			return "Please fill in every field.";
	}
	return NULL;
}

/* The account for the form's name and password: a message for the person when they will
 * not do, with *status the answer's status. */
static const char *setup_make_account(struct natterd *d, const struct setup_form *f,
                                      struct account *a, int *status)
{
	struct jid *j;
	uint8_t salt[SETUP_SALT_LEN];
	int n, rc = NT_OK;

	*status = 400;
	if (strcmp(f->password, f->password2) != 0)
		return "The two passwords are not the same.";
	if (setup_chars(f->password) < SETUP_PASS_MIN)
		return "The password needs at least 8 characters.";
	if (strpbrk(f->user, "@/") != NULL)
		return "Type the name only, without @ or /: the box adds its domain.";
	n = snprintf(a->bare, sizeof(a->bare), "%s@%s", f->user, d->domain);
	if (n < 0 || (size_t)n >= sizeof(a->bare))
		return "That name is too long.";
	if ((j = malloc(sizeof(*j))) == NULL) {
		*status = 500;
		return "The box is out of memory.";
	}
	if (jid_parse(j, a->bare, (size_t)n) != NT_OK || j->local[0] == '\0') {
		free(j);
		return "That name cannot be a chat address: use letters, digits, dots, dashes "
		       "or underscores.";
	}
	(void)snprintf(a->bare, sizeof(a->bare), "%s@%s", j->local, j->domain);	/* prepared */
	free(j);
	for (int i = 0; i < 2 && rc == NT_OK; i++) {
		if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt)) {
			*status = 500;
			return "The box has no randomness for the password's salt.";
		}
		rc = scram_creds_make(i == 0 ? SCRAM_SHA_1 : SCRAM_SHA_256, f->password,
				      strlen(f->password), salt, sizeof(salt),
				      CONFIG_NT_SCRAM_ITERATIONS, i == 0 ? &a->sha1 : &a->sha256);
	}
	if (rc == NT_EINVAL)
		return "That password has characters a chat login cannot use (control "
		       "characters, or text that is not UTF-8).";
	if (rc != NT_OK) {
		*status = 500;
		return "The box could not derive the password's keys.";
	}
	return NULL;
}

/* Makes the account or gives it its new password, replaces the setup code, closes the page,
 * and commits all of it before the answer. 1 when the account existed; NT_EEXIST when it
 * exists and is not an admin (the page is for the box's admins: a code read off the log must
 * not take over a colleague's account); or an NT_E*. */
static int setup_save(struct natterd *d, struct account *a)
{
	struct account *old = malloc(sizeof(*old));
	struct store_txn *t;
	int rc, existed = 0;

	/* The turn's other writes go first, on their own: a failure below must not take them
	 * along when it aborts. */
	if ((rc = natterd_commit(d)) != NT_OK) {
		free(old);
		return rc;
	}
	t = natterd_txn(d);
	if (t == NULL || old == NULL) {
		free(old);
		return t == NULL ? NT_ESTORE : NT_ENOMEM;
	}
	rc = store_account_get(t, a->bare, old);
	if (rc == NT_OK && !(old->flags & ACCOUNT_ADMIN)) {
		rc = NT_EEXIST;
	} else if (rc == NT_OK) {
		existed = 1;
		a->flags = old->flags | ACCOUNT_ADMIN;
		a->created = old->created;
	} else if (rc == NT_ENOENT) {
		a->flags = ACCOUNT_ADMIN;
		a->created = (uint64_t)time(NULL);
	}
	mbedtls_platform_zeroize(old, sizeof(*old));
	free(old);
	if (rc == NT_EEXIST)
		return rc;		/* nothing was written */
	if ((rc == NT_OK || rc == NT_ENOENT) &&
	    (rc = store_account_put(t, a, !existed)) == NT_OK &&
	    (rc = setup_code_renew(t)) == NT_OK)
		rc = natterd_commit(d);
	if (rc != NT_OK) {
		/* Nothing of it may stay in the turn's transaction. */
		store_abort(d->wtxn);
		d->wtxn = NULL;
		return rc;
	}
	d->web->setup_until_ms = 0;
	return existed;
}

/* 1 when the form may come from where it says. A browser names the page a post comes from
 * (Origin, Sec-Fetch-Site): only this page itself may post it, so no site the admin visits
 * can post it from their browser. A client that names nothing (curl) is no browser a site
 * could drive, and it still needs the code. */
static int setup_same_origin(const struct http_req *r)
{
	const struct http_str *site = http_header_get(r, "Sec-Fetch-Site");
	const struct http_str *origin = http_header_get(r, "Origin");
	static const char scheme[] = "https://";
	const size_t sn = sizeof(scheme) - 1;

	if (site != NULL && !http_str_ieq(*site, "same-origin") && !http_str_ieq(*site, "none"))
		return 0;
	if (origin == NULL)
		return 1;
	/* "null" and other hosts are refused; the browser wrote Host from the same URL. */
	return r->host.n > 0 && origin->n == sn + r->host.n &&
	       http_str_ieq((struct http_str){ origin->p, sn }, scheme) &&
	       strncasecmp(origin->p + sn, r->host.p, r->host.n) == 0;
}

/* 1 when the form is sent as a form: application/x-www-form-urlencoded, parameters allowed. */
static int setup_is_form(const struct http_req *r)
{
	const struct http_str *ct = http_header_get(r, "Content-Type");

	return ct != NULL && ct->n >= SETUP_FORM_TYPE_LEN &&
	       http_str_ieq((struct http_str){ ct->p, SETUP_FORM_TYPE_LEN }, SETUP_FORM_TYPE) &&
	       (ct->n == SETUP_FORM_TYPE_LEN || ct->p[SETUP_FORM_TYPE_LEN] == ';' ||
		ct->p[SETUP_FORM_TYPE_LEN] == ' ');
}

/* Answers 429 and returns 1 when the address, or everyone together, guessed wrong too often:
 * the global cap stops guessing from many addresses at once. */
static int setup_limited(struct web_conn *wc, const struct http_req *r, const char *ip)
{
	struct web *w = wc->w;
	uint64_t now = net_now_ms(w->d->loop);
	int mine = keycount_get(w->setup_fails, ip, now) >= CONFIG_NT_SETUP_FAIL_LIMIT;
	char retry[64];

	if (!mine && keycount_get(w->setup_fails_all, SETUP_FAILS_ALL, now) <
	    CONFIG_NT_SETUP_FAIL_GLOBAL_LIMIT)
		return 0;
	(void)snprintf(retry, sizeof(retry), "Retry-After: %d\r\n", CONFIG_NT_LOGIN_FAIL_WINDOW_S);
	log_info("web: setup: %s must wait: too many wrong setup codes %s", ip,
		 mine ? "from it" : "from all addresses together");
	web_send_text(wc, r, 429, retry, "Too many wrong setup codes: wait a few minutes.\n");
	return 1;
}

void web_setup_post(struct web_conn *wc, const struct http_req *r, const char *body, size_t n)
{
	struct natterd *d = wc->w->d;
	const char *ip = net_peer_addr(wc->conn);
	char code[SETUP_CODE_LEN + 1];
	struct setup_form *f = calloc(1, sizeof(*f));
	struct account *a = calloc(1, sizeof(*a));
	struct store_txn *t;
	const char *why;
	int open, status, rc;

	if (f == NULL || a == NULL) {
		web_send_error(wc, r, 500, "The box is out of memory.");
		goto out;
	}
	/* Everything before the code is checked the same way whether the page is open. */
	if (!setup_same_origin(r)) {
		log_info("web: setup: refused a form from another site (from %s)", ip);
		web_send_error(wc, r, 403, "The setup form is only taken from the box's own page.");
		goto out;
	}
	if (!setup_is_form(r)) {
		web_send_error(wc, r, 415, "The setup form is sent as "
			       "application/x-www-form-urlencoded.");
		goto out;
	}
	if (setup_limited(wc, r, ip))
		goto out;
	if ((why = setup_read_form(f, body, n)) != NULL) {
		setup_send_form(wc, r, 400, why, f->user);
		goto out;
	}
	if ((t = natterd_txn(d)) == NULL || (rc = setup_code_get(t, code)) != NT_OK ||
	    (open = web_setup_is_open(d)) < 0) {
		web_send_error(wc, r, 500, "The box cannot read its setup code; see its log.");
		goto out;
	}
	if (!setup_code_matches(code, f->code)) {
		keycount_add(d->web->setup_fails, ip, 1, net_now_ms(d->loop));
		keycount_add(d->web->setup_fails_all, SETUP_FAILS_ALL, 1, net_now_ms(d->loop));
		log_info("web: setup: wrong setup code from %s", ip);
		setup_send_form(wc, r, 403, "That is not the box's setup code.", f->user);
		goto out;
	}
	if (!open) {
		log_info("web: setup: the setup code from %s, but the reset button did not open "
			 "the page", ip);
		setup_send_form(wc, r, 403, "The reset button has not opened this page, or "
				"its time is over: press it briefly, then type the new code it "
				"writes to the box's log.", f->user);
		goto out;
	}
	if ((why = setup_make_account(d, f, a, &status)) != NULL) {
		setup_send_form(wc, r, status, why, f->user);
		goto out;
	}
	if ((rc = setup_save(d, a)) == NT_EEXIST) {
		log_info("web: setup: %s is not an admin: its password stays (from %s)", a->bare,
			 ip);
		setup_send_form(wc, r, 403, "That account is not an admin: this page sets only an "
				"admin's password. Name an admin, or a new name for a new admin.",
				f->user);
		goto out;
	}
	if (rc < 0) {
		log_err("web: setup: cannot save %s: %s", a->bare, nt_strerror(rc));
		setup_send_form(wc, r, 500, "The box could not save the account; see its log.",
				f->user);
		goto out;
	}
	keycount_del(d->web->setup_fails, ip);
	keycount_del(d->web->setup_fails_all, SETUP_FAILS_ALL);
	log_info("web: setup: admin account %s %s from %s; the setup code is replaced", a->bare,
		 rc ? "got a new password" : "made", ip);
	setup_send_done(wc, r, a->bare, rc);
out:
	if (f != NULL)
		mbedtls_platform_zeroize(f, sizeof(*f));
	if (a != NULL)
		mbedtls_platform_zeroize(a, sizeof(*a));
	free(f);
	free(a);
}
