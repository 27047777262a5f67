#ifndef NATTER_CORE_BOARD_H
#define NATTER_CORE_BOARD_H
/*
 * The board's hardware as natterd uses it (the drivers live in drivers/):
 *   - the status LED shows booting, setup needed (no accounts yet), running, error (natterd
 *     stopped on a failure) and factory reset; it is off after a clean stop;
 *   - the watchdog is petted from the event loop, so a stuck loop resets the board, and is
 *     disarmed on every orderly exit;
 *   - the reset button: a short press logs the setup code and opens the first-run page for
 *     the setup window (web/web.h); holding it is a factory reset (accounts, offline messages and settings wiped, sessions closed, the TLS
 *     certificate kept).
 * Each part is used when Kconfig enables it or an option names it; a part that is missing is
 * logged by its driver and natterd runs without it.
 */
#include <stdint.h>

struct natterd;
struct board;

struct board_opts {
	const char *sys_root;		/* prefix of every device path; NULL: the real "/" */
	/* Each NULL: the Kconfig default when the driver is enabled there, else unused;
	 * "" switches the part off. */
	const char *watchdog;		/* watchdog device, e.g. "/dev/watchdog" */
	const char *led;		/* LED name under /sys/class/leds */
	const char *button;		/* reset button input device, e.g. "/dev/input/event0" */
	unsigned watchdog_s;		/* 0: CONFIG_NT_WATCHDOG_TIMEOUT_S */
	uint32_t button_hold_ms;	/* 0: CONFIG_NT_BUTTON_FACTORY_MS */
};

/* First thing in natterd_init: opens the LED and shows "booting". NT_ENOMEM only. */
int  board_boot(struct natterd *d);
/* Last thing in natterd_init (store, loop and listeners are up): arms the watchdog, watches
 * the button, and from the loop's first turn on shows "setup needed" or "running", following
 * account changes (natterctl, the web page) within a second. NT_ENOMEM only. */
int  board_start(struct natterd *d);
/* Before the loop is freed: shows "error" when natterd failed (it never ran, or
 * d->exit_code is not 0), else turns the LED off; disarms the watchdog (magic close); frees
 * everything. Safe when board_boot() never ran or failed. */
void board_stop(struct natterd *d);
#endif
