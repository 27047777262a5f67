/*
 * The reset button driver: see button.h. Events are read whole: an evdev device only ever
 * returns whole struct input_event records, but a FIFO (tests) may split one, so a partial
 * record waits in the buffer for its rest.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/input.h>
#include "core/err.h"
#include "core/log.h"
#include "drivers/button.h"
#include "drivers/devpath.h"
#include "net/net.h"

#define BUTTON_PATH_MAX    512
#define BUTTON_READ_EVENTS 16		/* records taken per read() */
#define BUTTON_READS_MAX   8		/* reads per wake-up: a flood cannot hog the loop */

enum { BUTTON_UP = 0, BUTTON_DOWN = 1, BUTTON_REPEAT = 2 };	/* EV_KEY values */

struct button {
	struct net_loop *loop;
	struct net_fd_watch *watch;	/* while the device is open */
	struct net_timer *hold;		/* while held and the factory time has not passed */
	struct net_timer *retry;	/* while the device is closed after a failure */
	struct button_opts o;		/* root and dev are not kept: see path */
	int fd;
	unsigned down : 1;		/* the key is held */
	unsigned fired : 1;		/* this hold already called on_factory */
	size_t have;			/* bytes in buf */
	union {
		struct input_event ev[BUTTON_READ_EVENTS];
		unsigned char raw[BUTTON_READ_EVENTS * sizeof(struct input_event)];
	} buf;
	char path[BUTTON_PATH_MAX];
};

static int  button_attach(struct button *b);
static void button_detach(struct button *b);
static void button_ready(struct net_loop *l, int fd, void *arg);
static void button_lost(struct button *b, const char *why);
static void button_retry(struct net_loop *l, void *arg);
static void button_held(struct net_loop *l, void *arg);
static void button_event(struct button *b, const struct input_event *ev);

/* Opens and watches the device. NT_ENOENT, NT_EINVAL (not a device), NT_EIO or NT_ENOMEM;
 * errno tells why. Logs nothing: the caller decides whether this is news. */
static int button_attach(struct button *b)
{
	struct stat sb;

	if ((b->fd = open(b->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
		return errno == ENOENT ? NT_ENOENT : NT_EIO;
	/* A plain file or a directory would read as end-of-file or fail at once, forever. */
	if (fstat(b->fd, &sb) != 0 || !(S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))) {
		close(b->fd);
		b->fd = -1;
		errno = ENODEV;
		return NT_EINVAL;
	}
	if ((b->watch = net_watch_fd(b->loop, b->fd, button_ready, b)) == NULL) {
		close(b->fd);
		b->fd = -1;
		errno = ENOMEM;
		return NT_ENOMEM;
	}
	b->have = 0;
	return NT_OK;
}

/* Closes the device and forgets a press in progress: its release may never come. */
static void button_detach(struct button *b)
{
	net_unwatch_fd(b->loop, b->watch);
	b->watch = NULL;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	net_timer_cancel(b->loop, b->hold);
	b->hold = NULL;
	b->down = 0;
	b->fired = 0;
	b->have = 0;
}

static void button_lost(struct button *b, const char *why)
{
	log_warn("button: %s: %s; reopening it every %u ms", b->path, why,
		 (unsigned)b->o.retry_ms);
	button_detach(b);
	if ((b->retry = net_timer_add(b->loop, b->o.retry_ms, button_retry, b)) == NULL)
		log_err("button: out of memory: the reset button stays off");
}

static void button_retry(struct net_loop *l, void *arg)
{
	struct button *b = arg;

	b->retry = NULL;		/* it fired and is freed */
	if (button_attach(b) == NT_OK) {
		log_info("button: %s: reopened", b->path);
		return;
	}
	/* Still gone: already logged when it went away. */
	if ((b->retry = net_timer_add(l, b->o.retry_ms, button_retry, b)) == NULL)
		log_err("button: out of memory: the reset button stays off");
}

static void button_held(struct net_loop *l, void *arg)
{
	struct button *b = arg;

	(void)l;
	b->hold = NULL;			/* it fired and is freed */
	if (!b->down || b->fired)
		return;
	b->fired = 1;
	if (b->o.on_factory != NULL)
		b->o.on_factory(b->o.arg);
}

static void button_event(struct button *b, const struct input_event *ev)
{
	if (ev->type != EV_KEY || ev->code != b->o.key)
		return;
	if (ev->value == BUTTON_DOWN && !b->down) {
		b->down = 1;
		b->fired = 0;
		if ((b->hold = net_timer_add(b->loop, b->o.hold_ms, button_held, b)) == NULL)
			log_err("button: out of memory: this press cannot reset the box");
	} else if (ev->value == BUTTON_UP && b->down) {
		b->down = 0;
		net_timer_cancel(b->loop, b->hold);
		b->hold = NULL;
		if (!b->fired && b->o.on_short != NULL)
			b->o.on_short(b->o.arg);
		b->fired = 0;
	}
	/* BUTTON_REPEAT, a second down or an up without a down (the device was reopened in
	 * the middle of a press): nothing to do. */
}

static void button_ready(struct net_loop *l, int fd, void *arg)
{
	struct button *b = arg;
	size_t n, i;
	ssize_t r;

	(void)l;
	for (int reads = 0; reads < BUTTON_READS_MAX; reads++) {
		r = read(fd, b->buf.raw + b->have, sizeof(b->buf.raw) - b->have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			/* A FIFO whose writer left, a device that was unplugged (ENODEV). */
			button_lost(b, r == 0 ? "hung up" : strerror(errno));
			return;
		}
		b->have += (size_t)r;
		n = b->have / sizeof(struct input_event);
		for (i = 0; i < n && b->fd >= 0; i++)
			button_event(b, &b->buf.ev[i]);
		b->have -= n * sizeof(struct input_event);
		memmove(b->buf.raw, b->buf.raw + n * sizeof(struct input_event), b->have);
	}
	/* More is waiting: the level-triggered poller calls again next turn. */
}

int button_open(struct button **out, struct net_loop *l, const struct button_opts *o)
{
	struct button *b;
	int rc;

	*out = NULL;
	if (l == NULL || o == NULL) {
		log_err("button: bad options: no loop or no options");
		return NT_EINVAL;
	}
	if (o->key == 0 || o->key > KEY_MAX || o->hold_ms == 0) {
		log_err("button: bad options: key code %u (1..%d), hold time %u ms (above 0)",
			o->key, KEY_MAX, (unsigned)o->hold_ms);
		return NT_EINVAL;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NT_ENOMEM;
	b->loop = l;
	b->fd = -1;
	b->o = *o;
	b->o.root = b->o.dev = NULL;
	if (b->o.retry_ms == 0)
		b->o.retry_ms = BUTTON_RETRY_MS;
	if (devpath_join(b->path, sizeof(b->path), o->root, o->dev) != NT_OK) {
		log_err("button: device '%s' must be an absolute path of at most %d bytes",
			o->dev != NULL ? o->dev : "(none)", BUTTON_PATH_MAX - 1);
		rc = NT_EINVAL;
		goto fail;
	}
	if ((rc = button_attach(b)) != NT_OK) {
		log_err("button: %s: %s", b->path,
			rc == NT_EINVAL ? "not an input device" : strerror(errno));
		goto fail;
	}
	log_info("button: %s: watching key %u (factory reset after %u ms)", b->path, o->key,
		 (unsigned)o->hold_ms);
	*out = b;
	return NT_OK;
fail:
	button_free(b);
	return rc;
}

int button_is_down(const struct button *b)
{
	return b->down;
}

int button_is_lost(const struct button *b)
{
	return b->fd < 0;
}

void button_free(struct button *b)
{
	if (b == NULL)
		return;
	button_detach(b);
	net_timer_cancel(b->loop, b->retry);
	free(b);
}
