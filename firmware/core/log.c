#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "core/log.h"

static enum log_level level = LOG_INFO;
static const char *const names[] = { "error", "warn", "info", "debug" };

void log_set_level(enum log_level lvl)
{
	level = lvl;
}

int log_enabled(enum log_level lvl)
{
	return lvl <= level;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	char when[32];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (lvl > level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One fprintf per line so lines from natterd and its tests never interleave. */
	char line[1024];
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %-5s %s\n", when, ts.tv_nsec / 1000000, names[lvl], line);
}
