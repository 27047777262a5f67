#ifndef NATTER_DRIVERS_LED_H
#define NATTER_DRIVERS_LED_H
/*
 * The status LED: one LED of the kernel's LED class, ROOT/sys/class/leds/NAME, run by the
 * kernel's "timer" trigger in every state, so the LED goes on blinking while the event loop
 * is stuck and keeps its last pattern after natterd exits (an "error" blink stays). Each state
 * is a pair written to delay_on and delay_off: the timer takes delay_off 0 as steady on (at
 * its blink brightness, max_brightness unless the LED was lit dimmer when the timer took it
 * over) and delay_on 0 as steady off.
 *
 *   state           pattern                                   delay_on  delay_off (ms)
 *   LED_BOOTING     even blink, once a second                 500       500
 *   LED_SETUP       short flash every two seconds             100       1900
 *   LED_RUNNING     steady on                                 1         0
 *   LED_ERROR       fast even blink, five times a second      100       100
 *   LED_FACTORY     rapid flicker, ten times a second         50        50
 *   LED_OFF         off (natterd stopped cleanly)             0         1000
 *
 * Setup needed: the box has no accounts yet. Error: natterd stopped on a failure. Factory:
 * a factory reset is under way (the button was held).
 *
 * The attribute files are root's (0644), and natterd drops root after it started: led_open()
 * is called as root, writes the trigger once and keeps delay_on and delay_off open for the
 * LED's life; led_set() writes only through those descriptors and opens nothing.
 */

struct led;

enum led_state {
	LED_BOOTING,
	LED_SETUP,
	LED_RUNNING,
	LED_ERROR,
	LED_FACTORY,
	LED_OFF,
	LED_NSTATES
};

/* Opens ROOT/sys/class/leds/NAME (root NULL or "": the real "/"), checks its max_brightness,
 * sets its trigger to "timer" and opens delay_on and delay_off for writing, kept until
 * led_free(). Call it with the rights to write them (as root, before dropping root). NAME is
 * one path component. Errors, each logged once here: NT_EINVAL (bad name), NT_ENOENT (no such
 * LED), NT_EIO (no readable, non-zero max_brightness; the trigger or a delay file cannot be
 * written, e.g. a kernel without the timer trigger), NT_ENOMEM. */
int  led_open(struct led **out, const char *root, const char *name);
/* Shows state s, writing the kept descriptors only. Does nothing when led is NULL (a board
 * without the LED) or s is already shown. NT_EINVAL for an unknown state; NT_EIO when sysfs
 * refuses a write (logged the first time only, so a LED that went away does not fill the
 * log; what the LED shows is then unknown, and led_get() says so). */
int  led_set(struct led *led, enum led_state s);
/* The state shown, or LED_NSTATES before the first led_set() and after a failed one. */
enum led_state led_get(const struct led *led);
/* A short lowercase name ("setup needed") for logs; "?" for an unknown state. */
const char *led_state_name(enum led_state s);
/* Closes the descriptors, frees led and leaves the LED showing what it shows (the kernel
 * runs the blink). NULL-safe. */
void led_free(struct led *led);
#endif
