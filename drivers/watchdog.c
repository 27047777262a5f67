/*
 * The watchdog driver: see watchdog.h. Petting is a one-shot loop timer re-armed each time it
 * fires, so watchdog_close() can cancel it (net_every() timers live as long as the loop).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/watchdog.h>
#include "core/err.h"
#include "core/log.h"
#include "drivers/devpath.h"
#include "drivers/watchdog.h"
#include "net/net.h"

#define WATCHDOG_PATH_MAX 512
#define WATCHDOG_PET_BYTE '.'		/* anything but 'V', which would arm the magic close */
#define WATCHDOG_MAGIC    'V'
#define WATCHDOG_PET_MAX_MS 60000u

struct watchdog {
	struct net_loop *loop;
	struct net_timer *timer;	/* the next pet; NULL while it runs */
	int fd;
	int pet_failed;			/* a failed pet was logged; cleared by the next good one */
	unsigned timeout_s;
	uint32_t pet_ms;
	char path[WATCHDOG_PATH_MAX];
};

static int  watchdog_write(int fd, char c);
static void watchdog_timeout(struct watchdog *w, unsigned want);
static void watchdog_tick(struct net_loop *l, void *arg);

static int watchdog_write(int fd, char c)
{
	ssize_t r;

	while ((r = write(fd, &c, 1)) < 0 && errno == EINTR)
		;
	return r == 1 ? NT_OK : NT_EIO;
}

/* Asks for want seconds. A driver may round the value and says so in the argument; one
 * without the ioctl (or a plain file in a test) keeps its own timeout, which we read back when
 * we can so the pet interval is never longer than a third of what is really in force. */
static void watchdog_timeout(struct watchdog *w, unsigned want)
{
	int t = (int)want, err;

	w->timeout_s = want;
	if (ioctl(w->fd, WDIOC_SETTIMEOUT, &t) == 0) {
		if (t > 0)
			w->timeout_s = (unsigned)t;
		return;
	}
	err = errno;
	if (err == ENOTTY || err == EINVAL || err == EOPNOTSUPP)
		log_debug("watchdog: %s: cannot set the timeout: %s", w->path, strerror(err));
	else
		log_warn("watchdog: %s: cannot set the timeout: %s", w->path, strerror(err));
	t = 0;
	if (ioctl(w->fd, WDIOC_GETTIMEOUT, &t) == 0 && t > 0 && (unsigned)t < want)
		w->timeout_s = (unsigned)t;
}

static void watchdog_tick(struct net_loop *l, void *arg)
{
	struct watchdog *w = arg;

	w->timer = NULL;		/* it fired and is freed */
	if (watchdog_write(w->fd, WATCHDOG_PET_BYTE) != NT_OK) {
		if (!w->pet_failed)
			log_err("watchdog: %s: pet: %s", w->path, strerror(errno));
		w->pet_failed = 1;
	} else if (w->pet_failed) {
		log_info("watchdog: %s: petting again", w->path);
		w->pet_failed = 0;
	}
	if ((w->timer = net_timer_add(l, w->pet_ms, watchdog_tick, w)) == NULL)
		log_err("watchdog: out of memory: petting stops, the board will reset");
}

int watchdog_open(struct watchdog **out, struct net_loop *l, const char *root, const char *dev,
                  unsigned timeout_s, uint32_t pet_ms)
{
	struct watchdog *w = NULL;
	int rc;

	*out = NULL;
	if (l == NULL || timeout_s == 0) {
		log_err("watchdog: bad arguments (no loop or a zero timeout)");
		return NT_EINVAL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NT_ENOMEM;
	w->fd = -1;
	w->loop = l;
	if ((rc = devpath_join(w->path, sizeof(w->path), root, dev)) != NT_OK) {
		log_err("watchdog: device '%s' must be an absolute path of at most %d bytes",
			dev != NULL ? dev : "(none)", WATCHDOG_PATH_MAX - 1);
		goto fail;
	}
	/* O_WRONLY without O_CREAT: a missing device must not turn into a new plain file. */
	if ((w->fd = open(w->path, O_WRONLY | O_CLOEXEC)) < 0) {
		rc = errno == ENOENT ? NT_ENOENT : errno == EBUSY ? NT_EBUSY : NT_EIO;
		log_err("watchdog: %s: %s", w->path, strerror(errno));
		goto fail;
	}
	watchdog_timeout(w, timeout_s);
	w->pet_ms = pet_ms;
	if (pet_ms == 0)	/* a third of the timeout, and never rarer than once a minute */
		w->pet_ms = w->timeout_s >= WATCHDOG_PET_MAX_MS * 3 / 1000 ? WATCHDOG_PET_MAX_MS :
			    w->timeout_s * 1000u / 3;
	if (watchdog_write(w->fd, WATCHDOG_PET_BYTE) != NT_OK) {
		log_err("watchdog: %s: first pet: %s", w->path, strerror(errno));
		rc = NT_EIO;
		goto fail;
	}
	if ((w->timer = net_timer_add(l, w->pet_ms, watchdog_tick, w)) == NULL) {
		rc = NT_ENOMEM;
		goto fail;
	}
	log_info("watchdog: %s armed: timeout %u s, petted every %u ms", w->path, w->timeout_s,
		 (unsigned)w->pet_ms);
	*out = w;
	return NT_OK;
fail:
	watchdog_close(w);	/* disarms a device we opened before failing */
	return rc;
}

unsigned watchdog_timeout_s(const struct watchdog *w)
{
	return w->timeout_s;
}

uint32_t watchdog_pet_ms(const struct watchdog *w)
{
	return w->pet_ms;
}

void watchdog_close(struct watchdog *w)
{
	if (w == NULL)
		return;
	net_timer_cancel(w->loop, w->timer);
	if (w->fd >= 0) {
		/* A driver built with nowayout ignores this and resets the board anyway: that
		 * is the board's choice. */
		if (watchdog_write(w->fd, WATCHDOG_MAGIC) != NT_OK)
			log_err("watchdog: %s: magic close: %s; the board may reset", w->path,
				strerror(errno));
		else
			log_info("watchdog: %s disarmed", w->path);
		close(w->fd);
	}
	free(w);
}
