/*
 * The board drivers against a fake tree in a temporary folder, driven by a real event loop:
 * DIR/dev/watchdog is a plain file (pets are bytes appended to it), DIR/sys/class/leds/status
 * holds the LED's attribute files (trigger, max_brightness, delay_on, delay_off),
 * DIR/dev/input/event0 is a FIFO the test writes struct input_event records into.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <linux/input.h>
#include "core/err.h"
#include "core/log.h"
#include "drivers/button.h"
#include "drivers/led.h"
#include "drivers/watchdog.h"
#include "net/net.h"
#include "tests/unit/stubs/tmpdir.h"

#define PATH_MAX_T 512
#define WD_DEV "/dev/watchdog"
#define BTN_DEV "/dev/input/event0"
#define HOLD_MS 200
#define RETRY_MS 50

struct fx {
	char root[64];
	struct net_loop *loop;
};

/* Files and folders ----------------------------------------------------------------------- */

static void path_in(char *out, const struct fx *f, const char *rel)
{
	assert_true((size_t)snprintf(out, PATH_MAX_T, "%s%s", f->root, rel) < PATH_MAX_T);
}

static void mkdirs(const struct fx *f, const char *rel)
{
	char p[PATH_MAX_T];

	path_in(p, f, rel);
	for (char *s = p + strlen(f->root) + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		assert_true(mkdir(p, 0700) == 0 || errno == EEXIST);
		*s = '/';
	}
	assert_true(mkdir(p, 0700) == 0 || errno == EEXIST);
}

static void put_file(const struct fx *f, const char *rel, const char *text)
{
	char p[PATH_MAX_T];
	FILE *fp;

	path_in(p, f, rel);
	assert_non_null(fp = fopen(p, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* The whole file as a NUL-terminated string in out; returns its length. */
static size_t get_file(const struct fx *f, const char *rel, char *out, size_t cap)
{
	char p[PATH_MAX_T];
	ssize_t n;
	int fd;

	path_in(p, f, rel);
	assert_true((fd = open(p, O_RDONLY)) >= 0);
	n = read(fd, out, cap - 1);
	close(fd);
	assert_true(n >= 0);
	out[n] = '\0';
	return (size_t)n;
}

static off_t file_size(const struct fx *f, const char *rel)
{
	char p[PATH_MAX_T];
	struct stat sb;

	path_in(p, f, rel);
	assert_int_equal(stat(p, &sb), 0);
	return sb.st_size;
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tmpdir_make(f->root, sizeof(f->root), "drivers") != 0 ||
	    (f->loop = net_loop_new(4)) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	net_loop_free(f->loop);
	(void)tmpdir_remove(f->root);		/* best effort */
	free(f);
	return 0;
}

/* Runs the loop for ms milliseconds of its own clock. */
static void run_for(struct fx *f, uint64_t ms)
{
	uint64_t end;

	assert_int_equal(net_loop_once(f->loop, 0), NT_OK);	/* the loop's clock is fresh */
	end = net_now_ms(f->loop) + ms;

	while (net_now_ms(f->loop) < end)
		assert_int_equal(net_loop_once(f->loop, 10), NT_OK);
}

/* Log capture: stderr goes to a file between capture_start() and capture_end(). */
static int saved_stderr = -1;
static char cap_path[PATH_MAX_T];

static void capture_start(const struct fx *f)
{
	int fd;

	path_in(cap_path, f, "/log.txt");
	assert_true((fd = open(cap_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0);
	assert_true((saved_stderr = dup(2)) >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static void capture_end(char *out, size_t cap)
{
	ssize_t n;
	int fd;

	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	saved_stderr = -1;
	assert_true((fd = open(cap_path, O_RDONLY)) >= 0);
	n = read(fd, out, cap - 1);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	(void)write(2, out, strlen(out));	/* still shown: the log is part of the output */
}

static int count_in(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Watchdog -------------------------------------------------------------------------------- */

static struct {
	struct fx *f;
	off_t before, after;
} stall;

/* A handler that blocks the loop: nothing may pet the watchdog meanwhile. */
static void stall_loop(struct net_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	stall.before = file_size(stall.f, WD_DEV);
	usleep(300 * 1000);
	stall.after = file_size(stall.f, WD_DEV);
}

static void watchdog_pets_from_loop_and_closes_with_magic(void **state)
{
	struct fx *f = *state;
	struct watchdog *w;
	char buf[4096];
	off_t n1, n2;
	size_t n;

	mkdirs(f, "/dev");
	put_file(f, WD_DEV, "");
	assert_int_equal(watchdog_open(&w, f->loop, f->root, WD_DEV, 1, 30), NT_OK);
	assert_non_null(w);
	assert_int_equal(watchdog_timeout_s(w), 1);	/* a plain file refuses the ioctl */
	assert_int_equal(watchdog_pet_ms(w), 30);
	assert_int_equal(file_size(f, WD_DEV), 1);	/* petted once on open */

	/* Running: about ten pets in 300 ms. */
	run_for(f, 300);
	n1 = file_size(f, WD_DEV);
	assert_in_range(n1, 6, 12);

	/* Stalled: a callback sleeps 300 ms and sees no pet meanwhile. */
	stall.f = f;
	assert_non_null(net_timer_add(f->loop, 0, stall_loop, NULL));
	assert_int_equal(net_loop_once(f->loop, 0), NT_OK);
	assert_true(stall.before >= n1);
	assert_true(stall.after == stall.before);

	/* Running again: petting resumes. */
	run_for(f, 150);
	n2 = file_size(f, WD_DEV);
	assert_true(n2 >= stall.after + 3);

	/* Clean stop: the magic 'V' comes last and petting stops. */
	watchdog_close(w);
	n = get_file(f, WD_DEV, buf, sizeof(buf));
	assert_int_equal(n, (size_t)n2 + 1);
	assert_int_equal(buf[n - 1], 'V');
	for (size_t i = 0; i + 1 < n; i++)
		assert_int_equal(buf[i], '.');
	run_for(f, 100);
	assert_int_equal(file_size(f, WD_DEV), (off_t)n);
	watchdog_close(NULL);
}

static void watchdog_default_interval_is_a_third(void **state)
{
	struct fx *f = *state;
	struct watchdog *w;

	mkdirs(f, "/dev");
	put_file(f, WD_DEV, "");
	assert_int_equal(watchdog_open(&w, f->loop, f->root, WD_DEV, 15, 0), NT_OK);
	assert_int_equal(watchdog_timeout_s(w), 15);
	assert_int_equal(watchdog_pet_ms(w), 5000);
	watchdog_close(w);
}

static void watchdog_bad_inputs(void **state)
{
	struct fx *f = *state;
	struct watchdog *w = (struct watchdog *)f;	/* must be cleared */
	char log[4096];

	capture_start(f);
	assert_int_equal(watchdog_open(&w, f->loop, f->root, "/dev/nope", 5, 0), NT_ENOENT);
	capture_end(log, sizeof(log));
	assert_null(w);
	assert_non_null(strstr(log, "watchdog: "));
	assert_non_null(strstr(log, "/dev/nope: No such file or directory"));

	capture_start(f);
	assert_int_equal(watchdog_open(&w, f->loop, f->root, "dev/watchdog", 5, 0), NT_EINVAL);
	assert_int_equal(watchdog_open(&w, f->loop, f->root, NULL, 5, 0), NT_EINVAL);
	assert_int_equal(watchdog_open(&w, f->loop, f->root, WD_DEV, 0, 0), NT_EINVAL);
	capture_end(log, sizeof(log));
	assert_null(w);
	assert_int_equal(count_in(log, "must be an absolute path"), 2);
	assert_non_null(strstr(log, "zero timeout"));
}

/* LED ------------------------------------------------------------------------------------- */

#define LED_DIR "/sys/class/leds/status"

/* The attributes led.c uses. A real kernel makes delay_on and delay_off when the trigger
 * becomes "timer" (and starts them at 500/500); the fake tree has them from the start. */
static void make_led(const struct fx *f, const char *max)
{
	mkdirs(f, LED_DIR);
	put_file(f, LED_DIR "/max_brightness", max);
	put_file(f, LED_DIR "/trigger", "[none] timer heartbeat\n");
	put_file(f, LED_DIR "/delay_on", "500\n");
	put_file(f, LED_DIR "/delay_off", "500\n");
}

/* A delay file's value; it must hold exactly one number and a newline. */
static unsigned led_delay(const struct fx *f, const char *rel)
{
	char buf[32], *end;
	unsigned long v;

	get_file(f, rel, buf, sizeof(buf));
	v = strtoul(buf, &end, 10);
	assert_true(end != buf && strcmp(end, "\n") == 0);
	return (unsigned)v;
}

/* What the kernel's timer trigger shows for a pair: steady on (delay_off 0) is 1/0, steady
 * off (delay_on 0) is 0/1, a blink is the pair itself. 0/0 shows nothing we asked for: the
 * kernel would blink 500/500. */
static void led_look(unsigned on, unsigned off, unsigned look[2])
{
	assert_false(on == 0 && off == 0);
	look[0] = off == 0 ? 1 : on;
	look[1] = off == 0 ? 0 : on == 0 ? 1 : off;
}

static void led_shows_each_state(void **state)
{
	static const struct { enum led_state s; unsigned on, off; } want[] = {
		{ LED_BOOTING, 500, 500 },
		{ LED_SETUP,   100, 1900 },
		{ LED_RUNNING, 1,   0 },
		{ LED_ERROR,   100, 100 },
		{ LED_FACTORY, 50,  50 },
		{ LED_OFF,     0,   1000 },
	};
	const size_t nwant = sizeof(want) / sizeof(want[0]);
	unsigned look[LED_NSTATES][2];
	struct fx *f = *state;
	struct led *led;
	char text[64];

	make_led(f, "255\n");
	assert_int_equal(led_open(&led, f->root, "status"), NT_OK);
	assert_int_equal(led_get(led), LED_NSTATES);
	get_file(f, LED_DIR "/trigger", text, sizeof(text));
	assert_string_equal(text, "timer\n");
	/* From here on the trigger is never written again: that would remove the delay files. */
	put_file(f, LED_DIR "/trigger", "untouched\n");
	assert_int_equal(nwant, LED_NSTATES);
	for (size_t i = 0; i < nwant; i++) {
		/* A longer old value must not show through the new one. */
		put_file(f, LED_DIR "/delay_on", "1234567890\n");
		put_file(f, LED_DIR "/delay_off", "1234567890\n");
		assert_int_equal(led_set(led, want[i].s), NT_OK);
		assert_int_equal(led_get(led), want[i].s);
		assert_int_equal(led_delay(f, LED_DIR "/delay_on"), want[i].on);
		assert_int_equal(led_delay(f, LED_DIR "/delay_off"), want[i].off);
		led_look(want[i].on, want[i].off, look[i]);
	}
	/* The six states all look different on the LED. */
	for (size_t i = 0; i < nwant; i++)
		for (size_t j = i + 1; j < nwant; j++)
			assert_false(look[i][0] == look[j][0] && look[i][1] == look[j][1]);
	/* Setting the state shown again writes nothing (a blink would restart). */
	assert_int_equal(led_set(led, LED_SETUP), NT_OK);
	put_file(f, LED_DIR "/delay_on", "untouched\n");
	assert_int_equal(led_set(led, LED_SETUP), NT_OK);
	get_file(f, LED_DIR "/delay_on", text, sizeof(text));
	assert_string_equal(text, "untouched\n");
	get_file(f, LED_DIR "/trigger", text, sizeof(text));
	assert_string_equal(text, "untouched\n");
	assert_int_equal(led_set(led, (enum led_state)99), NT_EINVAL);
	assert_string_equal(led_state_name(LED_SETUP), "setup needed");
	assert_string_equal(led_state_name((enum led_state)99), "?");
	led_free(led);
	led_free(NULL);
	assert_int_equal(led_set(NULL, LED_ERROR), NT_OK);	/* a board without the LED */
	assert_int_equal(led_get(NULL), LED_NSTATES);
}

/* Which delay file led_set() wrote first (0: delay_on, 1: delay_off), from the inotify events
 * of the LED's folder; both must have been written, and nothing else. */
static int led_first_written(int in)
{
	_Alignas(struct inotify_event) char buf[4096];
	int first = -1, seen[2] = { 0, 0 };
	ssize_t n = read(in, buf, sizeof(buf));

	assert_true(n > 0);
	for (const char *p = buf; p < buf + n; ) {
		const struct inotify_event *ev = (const struct inotify_event *)(const void *)p;
		int which = ev->len == 0 ? -1 : strcmp(ev->name, "delay_on") == 0 ? 0 :
			    strcmp(ev->name, "delay_off") == 0 ? 1 : -1;

		assert_true(which >= 0);
		if (first < 0)
			first = which;
		seen[which] = 1;
		p += sizeof(*ev) + ev->len;
	}
	assert_true(seen[0] && seen[1]);
	return first;
}

/* Each write to a delay takes effect at once with the other delay as it was, and the kernel
 * makes a 0/0 pair a 500/500 blink (keeping 500 in place of the 0): so between two states
 * the pair must never be 0/0, above all between "running" (1/0) and "off" (0/1000). */
static void led_never_passes_through_zero_zero(void **state)
{
	static const enum led_state seq[] = {
		LED_BOOTING, LED_RUNNING, LED_OFF, LED_RUNNING, LED_SETUP, LED_OFF, LED_ERROR,
		LED_RUNNING, LED_FACTORY, LED_OFF, LED_BOOTING,
	};
	unsigned on = 500, off = 500;	/* as the fake tree starts, and the kernel's timer */
	struct fx *f = *state;
	char dir[PATH_MAX_T];
	struct led *led;
	int in;

	make_led(f, "255\n");
	assert_int_equal(led_open(&led, f->root, "status"), NT_OK);
	path_in(dir, f, LED_DIR);
	assert_true((in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0);
	assert_true(inotify_add_watch(in, dir, IN_MODIFY) >= 0);
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		unsigned new_on, new_off, look[2];

		assert_int_equal(led_set(led, seq[i]), NT_OK);
		new_on = led_delay(f, LED_DIR "/delay_on");
		new_off = led_delay(f, LED_DIR "/delay_off");
		/* After the first write: one new value and one old. */
		if (led_first_written(in) == 0)
			led_look(new_on, off, look);
		else
			led_look(on, new_off, look);
		led_look(new_on, new_off, look);	/* and the pair it ends with */
		on = new_on;
		off = new_off;
	}
	close(in);
	led_free(led);
}

/* The whole content of fd, read from its start. */
static void fd_text(int fd, char *out, size_t cap)
{
	ssize_t n = pread(fd, out, cap - 1, 0);

	assert_true(n >= 0);
	out[n] = '\0';
}

/* After led_open() natterd drops root and can no longer open the root-owned attributes:
 * led_set() must write through the descriptors led_open() kept. The tests run as root, to
 * which file modes mean nothing, so the paths go away instead: both delay files are unlinked
 * and the LED's folder is moved. Writes still land in the files led_open() opened (read back
 * through descriptors this test opened before the unlink), and nothing is made anew. */
static void led_writes_through_descriptors_kept_from_open(void **state)
{
	static const struct { enum led_state s; const char *on, *off; } want[] = {
		{ LED_ERROR,   "100\n", "100\n" },
		{ LED_RUNNING, "1\n",   "0\n" },
		{ LED_OFF,     "0\n",   "1000\n" },
	};
	char p[PATH_MAX_T], moved[PATH_MAX_T], text[32];
	struct fx *f = *state;
	struct led *led;
	int on, off;

	make_led(f, "255\n");
	assert_int_equal(led_open(&led, f->root, "status"), NT_OK);
	path_in(p, f, LED_DIR "/delay_on");
	assert_true((on = open(p, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(unlink(p), 0);
	path_in(p, f, LED_DIR "/delay_off");
	assert_true((off = open(p, O_RDONLY | O_CLOEXEC)) >= 0);
	assert_int_equal(unlink(p), 0);
	path_in(p, f, LED_DIR);
	path_in(moved, f, LED_DIR ".gone");
	assert_int_equal(rename(p, moved), 0);

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(led_set(led, want[i].s), NT_OK);
		assert_int_equal(led_get(led), want[i].s);
		fd_text(on, text, sizeof(text));
		assert_string_equal(text, want[i].on);
		fd_text(off, text, sizeof(text));
		assert_string_equal(text, want[i].off);
	}
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	path_in(p, f, LED_DIR ".gone/delay_on");
	assert_int_equal(access(p, F_OK), -1);
	path_in(p, f, LED_DIR ".gone/delay_off");
	assert_int_equal(access(p, F_OK), -1);
	close(on);
	close(off);
	led_free(led);
}

static void led_bad_inputs(void **state)
{
	struct fx *f = *state;
	struct led *led = (struct led *)f;	/* must be cleared */
	char log[4096], p[PATH_MAX_T];

	capture_start(f);
	assert_int_equal(led_open(&led, f->root, "status"), NT_ENOENT);	/* no LED at all */
	capture_end(log, sizeof(log));
	assert_null(led);
	assert_non_null(strstr(log, LED_DIR ": No such file or directory"));
	assert_int_equal(count_in(log, "led: "), 1);

	capture_start(f);
	assert_int_equal(led_open(&led, f->root, "../status"), NT_EINVAL);
	assert_int_equal(led_open(&led, f->root, ""), NT_EINVAL);
	assert_int_equal(led_open(&led, f->root, NULL), NT_EINVAL);
	make_led(f, "0\n");
	assert_int_equal(led_open(&led, f->root, "status"), NT_EIO);	/* max_brightness 0 */
	put_file(f, LED_DIR "/max_brightness", "lots\n");
	assert_int_equal(led_open(&led, f->root, "status"), NT_EIO);
	capture_end(log, sizeof(log));
	assert_null(led);
	assert_int_equal(count_in(log, "is not a LED name"), 3);
	assert_int_equal(count_in(log, "max_brightness"), 2);

	/* No trigger file; then no delay files after it (a kernel without the timer trigger). */
	put_file(f, LED_DIR "/max_brightness", "255\n");
	path_in(p, f, LED_DIR "/trigger");
	assert_int_equal(unlink(p), 0);
	capture_start(f);
	assert_int_equal(led_open(&led, f->root, "status"), NT_EIO);
	put_file(f, LED_DIR "/trigger", "[none] timer\n");
	path_in(p, f, LED_DIR "/delay_off");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(led_open(&led, f->root, "status"), NT_EIO);
	capture_end(log, sizeof(log));
	assert_null(led);
	assert_int_equal(count_in(log, LED_DIR "/trigger: No such file or directory"), 1);
	assert_int_equal(count_in(log, LED_DIR "/delay_off: No such file or directory"), 1);
	assert_int_equal(count_in(log, "led: "), 2);

	/* A LED that refuses every value written to delay_on (/dev/full refuses them all): an
	 * error return each time, logged once, and no state claimed as shown. */
	put_file(f, LED_DIR "/delay_off", "500\n");
	path_in(p, f, LED_DIR "/delay_on");
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink("/dev/full", p), 0);
	assert_int_equal(led_open(&led, f->root, "status"), NT_OK);
	capture_start(f);
	assert_int_equal(led_set(led, LED_BOOTING), NT_EIO);
	assert_int_equal(led_set(led, LED_ERROR), NT_EIO);
	assert_int_equal(led_set(led, LED_OFF), NT_EIO);	/* delay_off first, then delay_on */
	capture_end(log, sizeof(log));
	assert_int_equal(count_in(log, LED_DIR "/delay_on: "), 1);
	assert_int_equal(count_in(log, "led: "), 1);
	assert_int_equal(led_get(led), LED_NSTATES);
	assert_int_equal(led_delay(f, LED_DIR "/delay_off"), 1000);
	led_free(led);
}

/* Button ---------------------------------------------------------------------------------- */

static struct {
	struct button *b;
	int shorts, factories;
	int down_at_factory;
} bt;

static void on_short(void *arg)
{
	assert_ptr_equal(arg, &bt);
	bt.shorts++;
}

static void on_factory(void *arg)
{
	assert_ptr_equal(arg, &bt);
	bt.factories++;
	bt.down_at_factory = button_is_down(bt.b);
}

static void button_start(struct fx *f)
{
	struct button_opts o = {
		.root = f->root, .dev = BTN_DEV, .key = KEY_RESTART, .hold_ms = HOLD_MS,
		.retry_ms = RETRY_MS, .on_short = on_short, .on_factory = on_factory, .arg = &bt,
	};
	char p[PATH_MAX_T];

	memset(&bt, 0, sizeof(bt));
	mkdirs(f, "/dev/input");
	path_in(p, f, BTN_DEV);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(button_open(&bt.b, f->loop, &o), NT_OK);
}

/* The writer's end of the FIFO; with the loop running until the driver has a reader open. */
static int writer_open(struct fx *f)
{
	char p[PATH_MAX_T];
	int fd, tries = 0;

	path_in(p, f, BTN_DEV);
	while ((fd = open(p, O_WRONLY | O_NONBLOCK)) < 0) {
		assert_int_equal(errno, ENXIO);		/* no reader yet */
		assert_true(++tries < 100);
		run_for(f, 10);
	}
	return fd;
}

static void send_ev(int fd, unsigned type, unsigned code, int value)
{
	struct input_event ev[2] = {
		{ .type = (uint16_t)type, .code = (uint16_t)code, .value = value },
		{ .type = EV_SYN, .code = SYN_REPORT, .value = 0 },
	};

	assert_int_equal(write(fd, ev, sizeof(ev)), (ssize_t)sizeof(ev));
}

static void key(int fd, int value)
{
	send_ev(fd, EV_KEY, KEY_RESTART, value);
}

static void button_short_and_long_press(void **state)
{
	struct fx *f = *state;
	int w;

	button_start(f);
	w = writer_open(f);

	/* Short: down and up well within the hold time. */
	key(w, 1);
	run_for(f, 50);
	assert_int_equal(button_is_down(bt.b), 1);
	key(w, 0);
	run_for(f, 30);
	assert_int_equal(bt.shorts, 1);
	assert_int_equal(bt.factories, 0);
	assert_int_equal(button_is_down(bt.b), 0);

	/* Long: held past the hold time; factory once, while held; the release adds nothing. */
	key(w, 1);
	run_for(f, HOLD_MS + 100);
	assert_int_equal(bt.factories, 1);
	assert_int_equal(bt.down_at_factory, 1);
	key(w, 2);		/* autorepeat while held */
	run_for(f, HOLD_MS + 50);
	assert_int_equal(bt.factories, 1);
	key(w, 0);
	run_for(f, 30);
	assert_int_equal(bt.shorts, 1);
	assert_int_equal(bt.factories, 1);

	/* A new press after that is a new press. */
	key(w, 1);
	key(w, 0);
	run_for(f, 30);
	assert_int_equal(bt.shorts, 2);
	close(w);
	button_free(bt.b);
}

static void button_ignores_repeats_and_other_keys(void **state)
{
	struct input_event half = { .type = EV_KEY, .code = KEY_RESTART, .value = 1 };
	struct fx *f = *state;
	int w;

	button_start(f);
	w = writer_open(f);

	/* Repeats between down and up: still one short press. */
	key(w, 1);
	for (int i = 0; i < 5; i++)
		key(w, 2);
	key(w, 0);
	run_for(f, 30);
	assert_int_equal(bt.shorts, 1);

	/* Other keys, other event types, an up without a down, a repeat alone: nothing. */
	send_ev(w, EV_KEY, KEY_A, 1);
	send_ev(w, EV_KEY, KEY_A, 0);
	send_ev(w, EV_KEY, KEY_POWER, 1);
	run_for(f, HOLD_MS + 50);
	send_ev(w, EV_KEY, KEY_POWER, 0);
	send_ev(w, EV_SW, KEY_RESTART, 1);
	send_ev(w, EV_MSC, MSC_SCAN, 0x1234);
	key(w, 0);
	key(w, 2);
	run_for(f, 30);
	assert_int_equal(bt.shorts, 1);
	assert_int_equal(bt.factories, 0);
	assert_int_equal(button_is_down(bt.b), 0);

	/* A record split across two writes is put back together. */
	assert_int_equal(write(w, &half, 10), 10);
	run_for(f, 20);
	assert_int_equal(button_is_down(bt.b), 0);
	assert_int_equal(write(w, (char *)&half + 10, sizeof(half) - 10),
			 (ssize_t)(sizeof(half) - 10));
	run_for(f, 20);
	assert_int_equal(button_is_down(bt.b), 1);
	key(w, 0);
	run_for(f, 30);
	assert_int_equal(bt.shorts, 2);
	close(w);
	button_free(bt.b);
}

static void button_survives_hangup_and_reopens(void **state)
{
	struct fx *f = *state;
	char log[8192], p[PATH_MAX_T];
	int w;

	button_start(f);
	w = writer_open(f);
	key(w, 1);
	run_for(f, 30);
	assert_int_equal(button_is_down(bt.b), 1);

	/* The writer goes away mid-press: the press is forgotten, no callback ever runs. */
	capture_start(f);
	close(w);
	run_for(f, 20);
	assert_int_equal(button_is_lost(bt.b), 1);
	assert_int_equal(button_is_down(bt.b), 0);
	/* The device is gone for a while: retries fail quietly. */
	path_in(p, f, BTN_DEV);
	assert_int_equal(unlink(p), 0);
	run_for(f, HOLD_MS + 5 * RETRY_MS);
	assert_int_equal(button_is_lost(bt.b), 1);
	assert_int_equal(mkfifo(p, 0600), 0);
	w = writer_open(f);		/* succeeds once the driver reopened it */
	capture_end(log, sizeof(log));
	assert_int_equal(bt.shorts, 0);
	assert_int_equal(bt.factories, 0);
	assert_int_equal(count_in(log, "hung up; reopening it every 50 ms"), 1);
	assert_int_equal(count_in(log, "reopened"), 1);
	assert_int_equal(button_is_lost(bt.b), 0);

	/* Back to work: a short press, then a hang-up right after its events. */
	key(w, 1);
	key(w, 0);
	close(w);
	run_for(f, 30);
	assert_int_equal(bt.shorts, 1);
	assert_int_equal(button_is_lost(bt.b), 1);
	w = writer_open(f);
	key(w, 1);
	run_for(f, HOLD_MS + 50);
	assert_int_equal(bt.factories, 1);
	close(w);
	button_free(bt.b);	/* while lost: cancels the retry timer */
}

static void button_bad_inputs(void **state)
{
	struct button_opts o = { .root = NULL, .dev = BTN_DEV, .key = KEY_RESTART,
				 .hold_ms = HOLD_MS };
	struct fx *f = *state;
	struct button *b = (struct button *)f;	/* must be cleared */
	char log[4096];

	o.root = f->root;
	capture_start(f);
	assert_int_equal(button_open(&b, f->loop, &o), NT_ENOENT);
	capture_end(log, sizeof(log));
	assert_null(b);
	assert_non_null(strstr(log, "button: "));
	assert_non_null(strstr(log, BTN_DEV ": No such file or directory"));

	capture_start(f);
	mkdirs(f, "/dev/input");
	put_file(f, BTN_DEV, "not a device");
	assert_int_equal(button_open(&b, f->loop, &o), NT_EINVAL);
	o.dev = "dev/input/event0";
	assert_int_equal(button_open(&b, f->loop, &o), NT_EINVAL);
	o.dev = BTN_DEV;
	o.key = 0;
	assert_int_equal(button_open(&b, f->loop, &o), NT_EINVAL);
	o.key = KEY_MAX + 1;
	assert_int_equal(button_open(&b, f->loop, &o), NT_EINVAL);
	o.key = KEY_RESTART;
	o.hold_ms = 0;
	assert_int_equal(button_open(&b, f->loop, &o), NT_EINVAL);
	assert_int_equal(button_open(&b, f->loop, NULL), NT_EINVAL);
	capture_end(log, sizeof(log));
	assert_null(b);
	assert_int_equal(count_in(log, "not an input device"), 1);
	assert_int_equal(count_in(log, "must be an absolute path"), 1);
	assert_int_equal(count_in(log, "bad options"), 4);
	button_free(NULL);
}

int main(void)
{
#define FX(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		FX(watchdog_pets_from_loop_and_closes_with_magic),
		FX(watchdog_default_interval_is_a_third),
		FX(watchdog_bad_inputs),
		FX(led_shows_each_state),
		FX(led_never_passes_through_zero_zero),
		FX(led_writes_through_descriptors_kept_from_open),
		FX(led_bad_inputs),
		FX(button_short_and_long_press),
		FX(button_ignores_repeats_and_other_keys),
		FX(button_survives_hangup_and_reopens),
		FX(button_bad_inputs),
	};

	log_set_level(LOG_DEBUG);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
