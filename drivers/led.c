/*
 * The status LED driver: see led.h for the patterns. natterd opens the LED while it is still
 * root and keeps running long after it dropped root, but the LED class's attribute files are
 * root's (0644). So led_open() does everything that needs a path once: it hands the LED to the
 * kernel's "timer" trigger and opens the two files that trigger adds, delay_on and delay_off.
 * Every state after that is a pair of values written through those two descriptors, which
 * keep the access they were opened with.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "core/err.h"
#include "core/log.h"
#include "drivers/devpath.h"
#include "drivers/led.h"

#define LED_CLASS_DIR  "/sys/class/leds/"
#define LED_PATH_MAX   512
#define LED_NAME_MAX   64		/* the kernel's LED_MAX_NAME_SIZE */
#define LED_VALUE_MAX  32

enum { LED_DELAY_ON, LED_DELAY_OFF, LED_NDELAYS };

static const char *const led_delay_attr[LED_NDELAYS] = { "delay_on", "delay_off" };

struct led {
	char dir[LED_PATH_MAX];		/* ROOT/sys/class/leds/NAME */
	int fd[LED_NDELAYS];		/* delay_on, delay_off, open for writing; -1: not */
	enum led_state shown;		/* LED_NSTATES: nothing written yet, or a write failed */
	int write_failed;		/* a refused write was logged */
};

/* The timer trigger's reading of a pair (the kernel's led_set_software_blink()):
 * delay_off 0 is steady on at the blink brightness, delay_on 0 is steady off, anything else
 * blinks. 0 and 0 together is no steady state: the kernel makes it a 500/500 blink, so no
 * pattern may be 0/0 (and led_set() never lets the pair pass through it). */
static const struct led_pattern {
	const char *name;
	unsigned ms[LED_NDELAYS];	/* delay_on, delay_off */
} led_patterns[LED_NSTATES] = {
	[LED_BOOTING] = { "booting",       { 500, 500 } },
	[LED_SETUP]   = { "setup needed",  { 100, 1900 } },
	[LED_RUNNING] = { "running",       { 1,   0 } },
	[LED_ERROR]   = { "error",         { 100, 100 } },
	[LED_FACTORY] = { "factory reset", { 50,  50 } },
	[LED_OFF]     = { "off",           { 0,   1000 } },
};

static int led_attr_path(char *out, size_t cap, const struct led *led, const char *attr)
{
	int n = snprintf(out, cap, "%s/%s", led->dir, attr);

	return n < 0 || (size_t)n >= cap ? NT_ELIMIT : NT_OK;
}

/* Reads a small attribute as an unsigned number. */
static int led_read_uint(const struct led *led, const char *attr, unsigned *out)
{
	char path[LED_PATH_MAX + 32], buf[LED_VALUE_MAX], *end;
	unsigned long v;
	ssize_t n;
	int fd;

	if (led_attr_path(path, sizeof(path), led, attr) != NT_OK)
		return NT_ELIMIT;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NT_EIO;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NT_EIO;
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (end == buf || (*end != '\0' && *end != '\n') || errno != 0 || v > 0xffffffu)
		return NT_EINVAL;
	*out = (unsigned)v;
	return NT_OK;
}

/* Hands the LED to the timer trigger: "timer\n" written whole with one write(), as
 * `echo timer > trigger` would. Only led_open() does this, as root: a trigger written again
 * would remove delay_on and delay_off and make new ones that the kept descriptors miss. */
static int led_start_timer(const struct led *led)
{
	static const char value[] = "timer\n";
	const ssize_t n = (ssize_t)sizeof(value) - 1;
	char path[LED_PATH_MAX + 32];
	ssize_t r = -1;
	int fd;

	if (led_attr_path(path, sizeof(path), led, "trigger") != NT_OK)
		return NT_ELIMIT;
	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0) {
		while ((r = write(fd, value, (size_t)n)) < 0 && errno == EINTR)
			;
		if (r >= 0 && r != n)
			errno = EIO;
		close(fd);
	}
	if (r == n)
		return NT_OK;
	log_warn("led: %s: %s (no status LED)", path, strerror(errno));
	return NT_EIO;
}

/* Opens delay_on and delay_off for writing, for the LED's life. */
static int led_open_delays(struct led *led)
{
	char path[LED_PATH_MAX + 32];

	for (int i = 0; i < LED_NDELAYS; i++) {
		if (led_attr_path(path, sizeof(path), led, led_delay_attr[i]) != NT_OK)
			return NT_ELIMIT;
		if ((led->fd[i] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			log_warn("led: %s: %s (no timer trigger: no status LED)", path,
				 strerror(errno));
			return NT_EIO;
		}
	}
	return NT_OK;
}

/* Writes ms + '\n' through the kept descriptor of delay i. Logs the first failure of this
 * LED only. */
static int led_write_delay(struct led *led, int i, unsigned ms)
{
	char buf[LED_VALUE_MAX];
	int n = snprintf(buf, sizeof(buf), "%u\n", ms);
	ssize_t r;

	/* A sysfs attribute takes each write whole, whatever the offset, and may refuse a
	 * truncate; a regular file (the tests' fake tree) needs both to hold only this value. */
	if (ftruncate(led->fd[i], 0) != 0) {
		/* nothing to do: see above */
	}
	while ((r = pwrite(led->fd[i], buf, (size_t)n, 0)) < 0 && errno == EINTR)
		;
	if (r == n)
		return NT_OK;
	if (r >= 0)
		errno = EIO;		/* a short write: the kernel took a part of the value */
	if (!led->write_failed)
		log_err("led: %s/%s: %s", led->dir, led_delay_attr[i], strerror(errno));
	led->write_failed = 1;
	return NT_EIO;
}

int led_open(struct led **out, const char *root, const char *name)
{
	char classdir[LED_PATH_MAX];
	const char *why = NULL;
	unsigned max_brightness;
	struct led *led;
	struct stat sb;
	int rc;

	*out = NULL;
	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strnlen(name, LED_NAME_MAX) == LED_NAME_MAX) {
		log_err("led: '%s' is not a LED name", name != NULL ? name : "(none)");
		return NT_EINVAL;
	}
	if ((led = calloc(1, sizeof(*led))) == NULL)
		return NT_ENOMEM;
	led->shown = LED_NSTATES;
	for (int i = 0; i < LED_NDELAYS; i++)
		led->fd[i] = -1;
	if (devpath_join(classdir, sizeof(classdir), root, LED_CLASS_DIR) != NT_OK ||
	    snprintf(led->dir, sizeof(led->dir), "%s%s", classdir, name) >= (int)sizeof(led->dir)) {
		log_err("led: the path of LED '%s' is too long", name);
		rc = NT_EINVAL;
		goto fail;
	}
	if (stat(led->dir, &sb) != 0)
		why = strerror(errno);
	else if (!S_ISDIR(sb.st_mode))
		why = "not a directory";
	if (why != NULL) {
		log_warn("led: %s: %s (no status LED)", led->dir, why);
		rc = NT_ENOENT;
		goto fail;
	}
	/* Only a check that this is a LED: the patterns need no brightness of their own. */
	if (led_read_uint(led, "max_brightness", &max_brightness) != NT_OK ||
	    max_brightness == 0) {
		log_warn("led: %s: no readable, non-zero max_brightness (no status LED)", led->dir);
		rc = NT_EIO;
		goto fail;
	}
	/* The kernel makes delay_on and delay_off when the trigger becomes "timer": open them
	 * after it. Both functions log their failure. */
	if ((rc = led_start_timer(led)) != NT_OK || (rc = led_open_delays(led)) != NT_OK)
		goto fail;
	*out = led;
	return NT_OK;
fail:
	led_free(led);
	return rc;
}

int led_set(struct led *led, enum led_state s)
{
	const struct led_pattern *p;
	int first, second, rc;

	if (led == NULL)
		return NT_OK;
	if ((unsigned)s >= LED_NSTATES)
		return NT_EINVAL;
	if (s == led->shown)
		return NT_OK;	/* each delay written restarts the blink */
	p = &led_patterns[s];
	/* Each write takes effect on its own, with the other delay as it was. A pair of 0 and 0
	 * would make the kernel blink 500/500 and store 500 in place of the 0 just written, so
	 * the non-zero value goes first: the 0 of a steady pattern (running: delay_off, off:
	 * delay_on) is always the second write, when the pair cannot be 0/0 any more. */
	first = p->ms[LED_DELAY_ON] != 0 ? LED_DELAY_ON : LED_DELAY_OFF;
	second = first == LED_DELAY_ON ? LED_DELAY_OFF : LED_DELAY_ON;
	if ((rc = led_write_delay(led, first, p->ms[first])) != NT_OK ||
	    (rc = led_write_delay(led, second, p->ms[second])) != NT_OK) {
		led->shown = LED_NSTATES;	/* the LED may show half of the new pair */
		return rc;
	}
	if (led->write_failed)
		log_info("led: %s works again", led->dir);
	led->write_failed = 0;
	led->shown = s;
	log_debug("led: %s: %s", led->dir, p->name);
	return NT_OK;
}

enum led_state led_get(const struct led *led)
{
	return led != NULL ? led->shown : LED_NSTATES;
}

const char *led_state_name(enum led_state s)
{
	return (unsigned)s < LED_NSTATES ? led_patterns[s].name : "?";
}

void led_free(struct led *led)
{
	if (led == NULL)
		return;
	/* The kernel keeps running the last pattern: "error" goes on blinking after exit. */
	for (int i = 0; i < LED_NDELAYS; i++)
		if (led->fd[i] >= 0)
			close(led->fd[i]);
	free(led);
}
