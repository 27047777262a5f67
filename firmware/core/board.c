/*
 * natterd's use of the board: which drivers run (Kconfig, then the command line), what the
 * LED shows when, and what the reset button does. See board.h.
 */
#include <stdlib.h>
#include <linux/input.h>
#include "core/board.h"
#include "core/err.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/natterd.h"
#include "core/setupcode.h"
#include "drivers/button.h"
#include "drivers/led.h"
#include "drivers/watchdog.h"
#include "net/net.h"
#include "store/store.h"
#include "web/web.h"
#include "xmpp/c2s.h"

/* String symbols exist only when their driver is enabled; the numbers then have the same
 * defaults as Kconfig, for a driver switched on from the command line. */
#if IS_ENABLED(CONFIG_NT_DRV_WATCHDOG)
#define BOARD_WATCHDOG_DEV CONFIG_NT_WATCHDOG_DEV
#define BOARD_WATCHDOG_S   CONFIG_NT_WATCHDOG_TIMEOUT_S
#else
#define BOARD_WATCHDOG_DEV NULL
#define BOARD_WATCHDOG_S   15
#endif
#if IS_ENABLED(CONFIG_NT_DRV_LED)
#define BOARD_LED_NAME CONFIG_NT_LED_NAME
#else
#define BOARD_LED_NAME NULL
#endif
#if IS_ENABLED(CONFIG_NT_DRV_BUTTON)
#define BOARD_BUTTON_DEV     CONFIG_NT_BUTTON_DEV
#define BOARD_BUTTON_KEY     CONFIG_NT_BUTTON_KEY
#define BOARD_BUTTON_HOLD_MS CONFIG_NT_BUTTON_FACTORY_MS
#else
#define BOARD_BUTTON_DEV     NULL
#define BOARD_BUTTON_KEY     KEY_RESTART
#define BOARD_BUTTON_HOLD_MS 10000
#endif

#define BOARD_POLL_MS         1000	/* the LED follows account changes this fast */
#define BOARD_FACTORY_SHOW_MS 3000	/* the factory pattern stays this long after a reset */

struct board {
	struct natterd *d;
	struct led *led;
	struct watchdog *wd;
	struct button *button;
	struct net_timer *poll;		/* first at 0 ms (the loop runs), then every POLL_MS */
	struct net_timer *factory_show;	/* while the LED shows the factory pattern */
	uint64_t accounts_gen;		/* the generation the LED shows */
	unsigned gen_known : 1;
	unsigned ran : 1;		/* the loop took its first turn */
};

/* An option, or the Kconfig default when the option was not given; NULL when off. */
static const char *board_pick(const char *opt, const char *dflt)
{
	const char *v = opt != NULL ? opt : dflt;

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* "setup needed" while there is no account, else "running". */
static void board_led_update(struct board *b)
{
	struct store_txn *t;
	uint64_t gen;
	int any;
	enum led_state s;

	if (b->led == NULL || b->factory_show != NULL)
		return;
	if ((t = natterd_txn(b->d)) == NULL || store_accounts_generation(t, &gen) != NT_OK)
		return;			/* the store logged why; try again next time */
	if (b->gen_known && gen == b->accounts_gen)
		return;
	if ((any = store_accounts_any(t)) < 0)
		return;
	s = any ? LED_RUNNING : LED_SETUP;	/* a record that does not decode counts too */
	b->accounts_gen = gen;
	b->gen_known = 1;
	if (led_get(b->led) != s)
		log_info("board: status LED: %s", led_state_name(s));
	(void)led_set(b->led, s);	/* a failure is logged by the driver */
}

static void board_poll(struct net_loop *l, void *arg)
{
	struct board *b = arg;

	b->poll = NULL;			/* it fired and is freed */
	b->ran = 1;
	board_led_update(b);
	if (b->led != NULL && (b->poll = net_timer_add(l, BOARD_POLL_MS, board_poll, b)) == NULL)
		log_err("board: out of memory: the status LED stops following the accounts");
}

static void board_factory_shown(struct net_loop *l, void *arg)
{
	struct board *b = arg;

	(void)l;
	b->factory_show = NULL;		/* it fired and is freed */
	b->gen_known = 0;
	board_led_update(b);
}

/* Makes a new setup code, shows it to whoever has the box and opens the first-run page for
 * a while. New at each press: a code someone read off the log before (at first boot, at an
 * earlier press) opens nothing now. */
static void board_short_press(void *arg)
{
	struct natterd *d = arg;
	struct store_txn *t = NULL;
	char code[SETUP_CODE_LEN + 1];
	int rc;

	/* The turn's other writes first, so that a failure here, which aborts, keeps them; the
	 * code is committed before it is shown: natterctl setup-code must tell the same. */
	if ((rc = natterd_commit(d)) == NT_OK)
		rc = (t = natterd_txn(d)) != NULL ? setup_code_renew(t) : NT_ESTORE;
	if (rc == NT_OK && (rc = setup_code_get(t, code)) == NT_OK)
		rc = natterd_commit(d);
	if (rc != NT_OK) {
		if (d->wtxn != NULL)
			store_abort(d->wtxn);
		d->wtxn = NULL;
		log_err("reset button: short press: no new setup code: %s; the first-run page "
			"stays as it was", nt_strerror(rc));
		return;
	}
	log_info("reset button: short press: the setup code is %s", code);
	web_setup_reopen(d);
}

/* The button was held: wipe what the users made, keep the box's identity (certificate). */
static void board_factory_reset(void *arg)
{
	struct natterd *d = arg;
	struct board *b = d->board;
	struct store_txn *t;

	(void)led_set(b->led, LED_FACTORY);
	log_warn("reset button: held: factory reset");
	/* The turn's other writes commit with it: natterd has one write txn per turn. */
	if ((t = natterd_txn(d)) == NULL || store_wipe(t) != NT_OK || natterd_commit(d) != NT_OK) {
		log_err("reset button: factory reset failed: the store could not be wiped");
		(void)led_set(b->led, LED_ERROR);
		return;
	}
	/* The in-memory fake-SCRAM secret stays in use until natterd restarts and makes a
	 * new one; nobody can log in meanwhile anyway. */
	for (struct c2s *s = d->sessions; s != NULL; s = s->next) {
		if (s->state == C2S_CLOSED)
			continue;
		if (s->authed)
			c2s_stream_error(s, "not-authorized", "factory reset");
		else
			c2s_close(s);
	}
	log_warn("reset button: factory reset done: accounts, offline messages and settings "
		 "wiped, client sessions closed; the TLS certificate is kept");
	net_timer_cancel(d->loop, b->factory_show);
	if ((b->factory_show = net_timer_add(d->loop, BOARD_FACTORY_SHOW_MS, board_factory_shown,
					     b)) == NULL)
		board_factory_shown(d->loop, b);
}

int board_boot(struct natterd *d)
{
	struct board *b = calloc(1, sizeof(*b));
	const char *name = board_pick(d->opt.board.led, BOARD_LED_NAME);

	if (b == NULL)
		return NT_ENOMEM;
	b->d = d;
	d->board = b;
	/* A missing LED is logged by led_open; natterd runs without it. */
	if (name != NULL && led_open(&b->led, d->opt.board.sys_root, name) == NT_OK)
		(void)led_set(b->led, LED_BOOTING);
	return NT_OK;
}

int board_start(struct natterd *d)
{
	const struct board_opts *o = &d->opt.board;
	struct board *b = d->board;
	const char *wd = board_pick(o->watchdog, BOARD_WATCHDOG_DEV);
	const char *btn = board_pick(o->button, BOARD_BUTTON_DEV);
	struct button_opts bo = {
		.root = o->sys_root, .dev = btn, .key = BOARD_BUTTON_KEY,
		.hold_ms = o->button_hold_ms != 0 ? o->button_hold_ms : BOARD_BUTTON_HOLD_MS,
		.on_short = board_short_press, .on_factory = board_factory_reset, .arg = d,
	};

	if (b == NULL)
		return NT_ENOMEM;
	/* Missing parts are logged by their drivers; the chat service matters more. */
	if (wd != NULL)
		(void)watchdog_open(&b->wd, d->loop, o->sys_root, wd,
				    o->watchdog_s != 0 ? o->watchdog_s : BOARD_WATCHDOG_S, 0);
	if (btn != NULL)
		(void)button_open(&b->button, d->loop, &bo);
	if ((b->poll = net_timer_add(d->loop, 0, board_poll, b)) == NULL)
		return NT_ENOMEM;
	return NT_OK;
}

void board_stop(struct natterd *d)
{
	struct board *b = d->board;

	if (b == NULL)
		return;
	(void)led_set(b->led, !b->ran || d->exit_code != 0 ? LED_ERROR : LED_OFF);
	net_timer_cancel(d->loop, b->poll);
	net_timer_cancel(d->loop, b->factory_show);
	button_free(b->button);
	watchdog_close(b->wd);
	led_free(b->led);
	free(b);
	d->board = NULL;
}
