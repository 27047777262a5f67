#ifndef NATTER_DRIVERS_WATCHDOG_H
#define NATTER_DRIVERS_WATCHDOG_H
/*
 * The hardware watchdog through the Linux watchdog API (/dev/watchdog). Opening the device
 * arms it; the event loop pets it by writing one byte every pet interval. A loop that is stuck
 * (a handler that never returns) therefore stops petting, and the board resets once the
 * timeout passes. watchdog_close() disarms it with the magic close ('V', then close) so a
 * clean stop does not reset the board.
 */
#include <stdint.h>

struct net_loop;
struct watchdog;

/* Opens root + dev (root NULL or "": the real "/"; dev absolute, e.g. "/dev/watchdog"), asks
 * the device for a timeout of timeout_s seconds (the driver may round it; a device or a plain
 * file that refuses the ioctl keeps its own, logged at debug level), pets it once, then pets
 * it from l every pet_ms (0: a third of the timeout in force). Errors, each logged:
 * NT_EINVAL (bad argument), NT_ENOENT (no such device), NT_EBUSY (another process holds it),
 * NT_EIO (cannot open or write), NT_ENOMEM. */
int  watchdog_open(struct watchdog **out, struct net_loop *l, const char *root, const char *dev,
                   unsigned timeout_s, uint32_t pet_ms);
/* The timeout in force (seconds) and the pet interval (ms). */
unsigned watchdog_timeout_s(const struct watchdog *w);
uint32_t watchdog_pet_ms(const struct watchdog *w);
/* Clean stop: stops petting, writes the magic 'V', closes, frees. NULL-safe. Call it before
 * the loop is freed. */
void watchdog_close(struct watchdog *w);
#endif
