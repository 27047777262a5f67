#ifndef NATTER_DRIVERS_BUTTON_H
#define NATTER_DRIVERS_BUTTON_H
/*
 * The reset button through the Linux input subsystem: a gpio-keys (or any evdev) device that
 * sends EV_KEY events for one key code. The device is read non-blocking from the event loop.
 *
 * Pressing the key starts a hold timer. Releasing it before hold_ms is a short press
 * (on_short). Still holding it when hold_ms have passed is a factory reset: on_factory runs
 * once, while the key is held, and the release after it does nothing more. Autorepeat (value
 * 2) and other keys are ignored. A device that fails or hangs up is closed and reopened every
 * retry_ms until it is back (logged once per outage); a press in progress is forgotten.
 *
 * The driver knows nothing of what the presses mean: the owner gives the callbacks.
 */
#include <stdint.h>

struct net_loop;
struct button;

/* Called from the loop with the owner's arg; must not free the button. */
typedef void button_fn(void *arg);

#define BUTTON_RETRY_MS 3000		/* default reopen interval after a failure */

struct button_opts {
	const char *root;		/* NULL or "": the real "/" */
	const char *dev;		/* absolute, e.g. "/dev/input/event0" */
	unsigned key;			/* KEY_* code, 1 .. KEY_MAX */
	uint32_t hold_ms;		/* hold this long for a factory reset; > 0 */
	uint32_t retry_ms;		/* 0: BUTTON_RETRY_MS */
	button_fn *on_short;		/* may be NULL */
	button_fn *on_factory;		/* may be NULL */
	void *arg;
};

/* Opens root + dev (a character device or a FIFO) and watches it from l. o is copied.
 * Errors, each logged: NT_EINVAL (bad option, or not a device), NT_ENOENT (no such device),
 * NT_EIO (cannot open it), NT_ENOMEM. */
int  button_open(struct button **out, struct net_loop *l, const struct button_opts *o);
/* 1 while the key is held (as far as the driver knows). */
int  button_is_down(const struct button *b);
/* 1 while the device is closed after a failure, waiting to be reopened. */
int  button_is_lost(const struct button *b);
/* Stops watching, cancels the timers, closes the device, frees. NULL-safe. Call it before the
 * loop is freed, never from the button's own callbacks. */
void button_free(struct button *b);
#endif
