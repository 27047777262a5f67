/*
 * natterctl settings | get NAME | set NAME VALUE | unset NAME: the run-time settings of
 * firmware/core/settings.h in the store. Values are checked here before they are stored;
 * natterd reads them when it starts.
 */
#include <stdio.h>
#include <string.h>
#include "core/err.h"
#include "core/settings.h"
#include "core/setupcode.h"
#include "tools/natterctl/ctl.h"

/* The definition of c->args[0], or NULL after printing why not. */
static const struct setting_def *ctl_setting(const struct ctl *c)
{
	const struct setting_def *def = settings_find(c->args[0]);

	if (def == NULL)
		ctl_fail("no setting '%.*s'; natterctl settings lists them", CTL_QUOTE_MAX,
			 c->args[0]);
	return def;
}

/* Reads name into v (SETTING_VALUE_MAX bytes): 1 when set, 0 when not; -1 on failure. */
static int ctl_setting_read(struct store_txn *t, const char *name, char *v)
{
	size_t len;
	int rc = store_setting_get(t, name, v, SETTING_VALUE_MAX - 1, &len);

	if (rc == NT_ENOENT)
		return 0;
	if (rc == NT_ELIMIT) {
		snprintf(v, SETTING_VALUE_MAX, "(a value of %zu bytes, too long)", len);
		return 1;
	}
	if (rc != NT_OK)
		return -1;
	v[len] = '\0';
	return 1;
}

int ctl_settings(struct ctl *c)
{
	const struct setting_def *defs;
	struct store_txn *t;
	char v[SETTING_VALUE_MAX], dflt[32];
	size_t n;
	int rc;

	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 0, &t)) != 0)
		return rc;
	defs = settings_all(&n);
	for (size_t i = 0; i < n; i++) {
		int got = ctl_setting_read(t, defs[i].name, v);

		if (got < 0) {
			store_abort(t);
			return ctl_fail("cannot read the settings");
		}
		if (defs[i].check == NULL)	/* a number: the build's default is worth showing */
			snprintf(dflt, sizeof(dflt), "(default %ld)", defs[i].dflt);
		else
			snprintf(dflt, sizeof(dflt), "(default)");
		printf("%-16s %-20s %s\n", defs[i].name, got ? v : dflt, defs[i].help);
	}
	store_abort(t);
	return fflush(stdout) == 0 ? 0 : ctl_fail("cannot write the list");
}

int ctl_get(struct ctl *c)
{
	const struct setting_def *def;
	struct store_txn *t;
	char v[SETTING_VALUE_MAX];
	int got, rc;

	if ((def = ctl_setting(c)) == NULL)
		return CTL_EXIT_FAIL;
	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 0, &t)) != 0)
		return rc;
	got = ctl_setting_read(t, def->name, v);
	store_abort(t);
	if (got < 0)
		return ctl_fail("cannot read the setting %s", def->name);
	if (got == 0)
		return ctl_fail("%s is not set: natterd uses the build's default", def->name);
	printf("%s\n", v);
	return 0;
}

int ctl_set(struct ctl *c)
{
	const struct setting_def *def;
	const char *why, *v = c->args[1];
	char whybuf[SETTING_WHY_MAX];
	struct store_txn *t;
	int rc;

	if ((def = ctl_setting(c)) == NULL)
		return CTL_EXIT_FAIL;
	if (strlen(v) >= SETTING_VALUE_MAX)
		return ctl_fail("a value for %s has at most %d bytes", def->name,
				SETTING_VALUE_MAX - 1);
	if ((why = settings_check(def, v, whybuf)) != NULL)
		return ctl_fail("%s must be %s, not '%.*s'", def->name, why, CTL_QUOTE_MAX, v);
	if ((rc = ctl_open(c, 1)) != 0 || (rc = ctl_begin(c, 1, &t)) != 0)
		return rc;
	if ((rc = store_setting_put(t, def->name, v, strlen(v))) != NT_OK) {
		store_abort(t);
		return ctl_fail("cannot store %s: %s", def->name, nt_strerror(rc));
	}
	if ((rc = ctl_commit(t)) == 0)
		printf("%s = %s (natterd uses it from its next start)\n", def->name, v);
	return rc;
}

int ctl_unset(struct ctl *c)
{
	const struct setting_def *def;
	struct store_txn *t;
	int rc;

	if ((def = ctl_setting(c)) == NULL)
		return CTL_EXIT_FAIL;
	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 1, &t)) != 0)
		return rc;
	rc = store_setting_del(t, def->name);
	if (rc == NT_ENOENT) {
		store_abort(t);
		printf("%s was not set\n", def->name);
		return 0;
	}
	if (rc != NT_OK) {
		store_abort(t);
		return ctl_fail("cannot remove %s: %s", def->name, nt_strerror(rc));
	}
	if ((rc = ctl_commit(t)) == 0)
		printf("%s is back to the build's default (from natterd's next start)\n",
		       def->name);
	return rc;
}

/* The box's one-time setup code (made now when there is none). */
int ctl_setup_code(struct ctl *c)
{
	char code[SETUP_CODE_LEN + 1];
	struct store_txn *t;
	int rc;

	if ((rc = ctl_open(c, 0)) != 0 || (rc = ctl_begin(c, 1, &t)) != 0)
		return rc;
	if ((rc = setup_code_get(t, code)) != NT_OK) {
		store_abort(t);
		return ctl_fail("cannot make the setup code: %s", nt_strerror(rc));
	}
	if ((rc = ctl_commit(t)) == 0)
		printf("%s\n", code);
	return rc;
}
