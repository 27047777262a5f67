#ifndef NATTER_CORE_SETTINGS_H
#define NATTER_CORE_SETTINGS_H
/*
 * The run-time settings an admin may change (natterctl set, the web page later), kept in the
 * store's settings table. natterd reads them when it starts; a command-line option beats a
 * setting, and a setting beats the build's (Kconfig) default.
 */
#include <stddef.h>

#define SETTING_VALUE_MAX 128

#define SETTING_WHY_MAX 80		/* the longest "why not" settings_check() writes */

struct setting_def {
	const char *name;
	const char *help;		/* what the value is, for natterctl */
	/* NULL when value is acceptable, else why not (a fixed string). NULL for a number. */
	const char *(*check)(const char *value);
	/* A number (check is NULL): a whole number from min to max; dflt is the build's. */
	long min, max, dflt;
};

/* Every known setting, in the order natterctl lists them; *n gets the count. */
const struct setting_def *settings_all(size_t *n);
/* The definition of name, or NULL for a name natterd does not know. */
const struct setting_def *settings_find(const char *name);
/* NULL when value is acceptable for def, else why not (in why, or a fixed string). */
const char *settings_check(const struct setting_def *def, const char *value,
                           char why[SETTING_WHY_MAX]);
/* The number in value when def is a number and value passes its check: NT_OK or NT_EINVAL. */
int settings_number(const struct setting_def *def, const char *value, long *out);
#endif
