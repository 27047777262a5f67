#ifndef NATTER_CORE_SETTINGS_H
#define NATTER_CORE_SETTINGS_H
/*
 * The run-time settings an admin may change (natterctl set, the web page later), kept in the
 * store's settings table. natterd reads them when it starts; a command-line option beats a
 * setting, and a setting beats the build's (Kconfig) default.
 */
#include <stddef.h>

#define SETTING_VALUE_MAX 128

struct setting_def {
	const char *name;
	const char *help;		/* what the value is, for natterctl */
	/* NULL when value is acceptable, else why not (a fixed string). */
	const char *(*check)(const char *value);
};

/* Every known setting, in the order natterctl lists them; *n gets the count. */
const struct setting_def *settings_all(size_t *n);
/* The definition of name, or NULL for a name natterd does not know. */
const struct setting_def *settings_find(const char *name);
#endif
