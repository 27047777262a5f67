/*
 * The loop without sockets: timers (order, cancel, cyclic, armed from callbacks, waking an
 * endless wait) and signals delivered through the loop. Time is the loop's own clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include "core/err.h"
#include "net/net.h"

struct tlog {
	char order[16];
	int n;
	int ticks;
	uint64_t armed;
	int early;		/* a timer fired before its time */
	struct net_timer *victim;
	int self;		/* re-arms of the 0 ms timer */
};

static struct tlog tl;

static void fire(struct net_loop *l, char tag, uint32_t ms)
{
	if (net_now_ms(l) < tl.armed + ms)
		tl.early = 1;
	if (tl.n < (int)sizeof(tl.order) - 1)
		tl.order[tl.n++] = tag;
}

static void t_a(struct net_loop *l, void *arg) { (void)arg; fire(l, 'a', 30); }
static void t_c(struct net_loop *l, void *arg) { (void)arg; fire(l, 'c', 20); }
static void t_d(struct net_loop *l, void *arg) { (void)arg; fire(l, 'd', 25); }
static void t_e(struct net_loop *l, void *arg) { (void)arg; fire(l, 'e', 10); }

static void t_b(struct net_loop *l, void *arg)
{
	(void)arg;
	fire(l, 'b', 10);
	assert_non_null(net_timer_add(l, 0, t_e, NULL));	/* armed from a callback */
}

static void t_tick(struct net_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	tl.ticks++;
}

static void timers_order_cancel_every(void **state)
{
	struct net_loop *l = net_loop_new(4);
	struct net_timer *d;
	uint64_t end;

	(void)state;
	memset(&tl, 0, sizeof(tl));
	assert_non_null(l);
	tl.armed = net_now_ms(l);	/* no later than the timers below are armed */
	assert_non_null(net_timer_add(l, 30, t_a, NULL));
	assert_non_null(net_timer_add(l, 10, t_b, NULL));
	assert_non_null(net_timer_add(l, 20, t_c, NULL));
	assert_non_null(d = net_timer_add(l, 25, t_d, NULL));
	assert_int_equal(net_every(l, 15, t_tick, NULL), NT_OK);
	assert_int_equal(net_every(l, 0, t_tick, NULL), NT_EINVAL);
	net_timer_cancel(l, d);
	net_timer_cancel(l, NULL);
	end = tl.armed + 100;
	while (net_now_ms(l) < end)
		assert_int_equal(net_loop_once(l, -1), NT_OK);	/* wakes for the timers */
	assert_string_equal(tl.order, "beca");
	assert_int_equal(tl.early, 0);
	assert_in_range(tl.ticks, 3, 7);
	net_loop_free(l);	/* the cyclic timer is freed with it */
}

static void t_cancel_victim(struct net_loop *l, void *arg)
{
	(void)arg;
	tl.order[tl.n++] = 'x';
	net_timer_cancel(l, tl.victim);
}

static void t_victim(struct net_loop *l, void *arg)
{
	(void)l;
	(void)arg;
	tl.order[tl.n++] = 'v';
}

static void t_self(struct net_loop *l, void *arg)
{
	(void)arg;
	tl.self++;
	assert_non_null(net_timer_add(l, 0, t_self, NULL));
}

static void timers_cancel_in_callback_and_no_starving(void **state)
{
	struct net_loop *l = net_loop_new(4);
	uint64_t t0;

	(void)state;
	memset(&tl, 0, sizeof(tl));
	assert_non_null(l);
	assert_non_null(net_timer_add(l, 5, t_cancel_victim, NULL));
	assert_non_null(tl.victim = net_timer_add(l, 5, t_victim, NULL));
	usleep(20000);
	assert_int_equal(net_loop_once(l, 0), NT_OK);	/* both due in the same turn */
	assert_string_equal(tl.order, "x");
	/* A timer that re-arms itself for 0 ms fires once per turn. */
	assert_non_null(net_timer_add(l, 0, t_self, NULL));
	for (int i = 0; i < 3; i++)
		assert_int_equal(net_loop_once(l, 0), NT_OK);
	assert_int_equal(tl.self, 3);
	/* With a timer pending, an endless wait ends when it is due. */
	memset(&tl, 0, sizeof(tl));
	net_loop_free(l);
	assert_non_null(l = net_loop_new(4));
	t0 = net_now_ms(l);
	assert_non_null(net_timer_add(l, 20, t_victim, NULL));
	for (int i = 0; i < 3 && tl.n == 0; i++)
		assert_int_equal(net_loop_once(l, -1), NT_OK);
	assert_string_equal(tl.order, "v");
	assert_true(net_now_ms(l) >= t0 + 20);
	net_loop_free(l);
}

#define MANY 200

static int fired[MANY], nfired;

static void t_many(struct net_loop *l, void *arg)
{
	(void)l;
	fired[nfired++] = (int)(intptr_t)arg;
}

/* Many deadlines (4 ms apart, so arming them all cannot reorder them), a third cancelled:
 * what is left fires in one turn, by deadline, ties in the order they were armed. */
static void timers_heap_order_with_cancels(void **state)
{
	struct net_loop *l = net_loop_new(4);
	struct net_timer *t[MANY];
	int k[MANY], want[MANY], nwant = 0;
	unsigned x = 12345;

	(void)state;
	assert_non_null(l);
	nfired = 0;
	for (int i = 0; i < MANY; i++) {
		x = x * 1103515245u + 12345u;
		k[i] = (int)((x >> 16) % 64);
		assert_non_null(t[i] = net_timer_add(l, 4u * (unsigned)k[i], t_many,
		                                     (void *)(intptr_t)i));
	}
	for (int i = 1; i < MANY; i += 3)
		net_timer_cancel(l, t[i]);
	for (int d = 0; d < 64; d++)
		for (int i = 0; i < MANY; i++)
			if (k[i] == d && i % 3 != 1)
				want[nwant++] = i;
	usleep(300000);
	assert_int_equal(net_loop_once(l, 0), NT_OK);
	assert_int_equal(nfired, nwant);
	assert_memory_equal(fired, want, sizeof(int) * (size_t)nwant);
	net_loop_free(l);
}

/* Signals ------------------------------------------------------------------------------- */

static int got_usr1, got_usr2;

static void on_sig(struct net_loop *l, int signo, void *arg)
{
	(void)l;
	if (signo == SIGUSR1)
		got_usr1++;
	if (signo == SIGUSR2)
		got_usr2 += *(int *)arg;
}

static void signals_through_loop(void **state)
{
	struct net_loop *l = net_loop_new(4);
	int two = 2;

	(void)state;
	assert_non_null(l);
	got_usr1 = got_usr2 = 0;
	assert_int_equal(net_on_signal(l, SIGUSR1, on_sig, NULL), NT_OK);
	assert_int_equal(net_on_signal(l, SIGUSR2, on_sig, &two), NT_OK);
	assert_int_equal(net_on_signal(l, SIGKILL, on_sig, NULL), NT_EINVAL);
	assert_int_equal(raise(SIGUSR1), 0);		/* blocked: waits for the loop */
	assert_int_equal(kill(getpid(), SIGUSR2), 0);
	assert_int_equal(got_usr1 + got_usr2, 0);
	for (int i = 0; i < 50 && !(got_usr1 && got_usr2); i++)
		assert_int_equal(net_loop_once(l, 100), NT_OK);
	assert_int_equal(got_usr1, 1);
	assert_int_equal(got_usr2, 2);
	net_loop_free(l);
}

/* Device fds: a readable pipe calls its watcher each turn until drained; one watcher
 * unwatching another (whose event may be in the same batch) and itself is safe. */
struct fdw {
	struct net_fd_watch *self, *other;
	int calls, bytes;
	int drop_other, drop_self;
};

static void fdw_ready(struct net_loop *l, int fd, void *arg)
{
	struct fdw *f = arg;
	char b[4];
	ssize_t r = read(fd, b, 1);		/* one byte a turn: stays readable */

	f->calls++;
	if (r == 1)
		f->bytes++;
	if (f->drop_other && f->other != NULL) {
		net_unwatch_fd(l, f->other);
		f->other = NULL;
	}
	if (f->drop_self) {
		net_unwatch_fd(l, f->self);
		f->self = NULL;
	}
}

static void fd_watches_fire_and_unwatch_safely(void **state)
{
	struct net_loop *l = net_loop_new(4);
	struct fdw a = { 0 }, b = { 0 };
	int pa[2], pb[2];

	(void)state;
	assert_non_null(l);
	assert_int_equal(pipe(pa), 0);
	assert_int_equal(pipe(pb), 0);
	assert_non_null(a.self = net_watch_fd(l, pa[0], fdw_ready, &a));
	assert_non_null(b.self = net_watch_fd(l, pb[0], fdw_ready, &b));
	assert_null(net_watch_fd(l, -1, fdw_ready, &a));	/* the poller refuses it */
	assert_int_equal(write(pa[1], "xyz", 3), 3);
	for (int i = 0; i < 5; i++)
		assert_int_equal(net_loop_once(l, 50), NT_OK);
	assert_int_equal(a.bytes, 3);
	assert_int_equal(b.calls, 0);		/* nothing written to it */

	/* Both readable in one turn; whichever runs first drops the other and itself. */
	a.other = b.self;
	b.other = a.self;
	a.drop_other = a.drop_self = b.drop_other = b.drop_self = 1;
	a.calls = b.calls = 0;
	assert_int_equal(write(pa[1], "1", 1), 1);
	assert_int_equal(write(pb[1], "2", 1), 1);
	assert_int_equal(net_loop_once(l, 50), NT_OK);
	assert_int_equal(a.calls + b.calls, 1);
	assert_int_equal(write(pa[1], "3", 1), 1);
	assert_int_equal(write(pb[1], "4", 1), 1);
	assert_int_equal(net_loop_once(l, 20), NT_OK);
	assert_int_equal(a.calls + b.calls, 1);	/* neither is watched any more */
	net_unwatch_fd(l, NULL);
	net_loop_free(l);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

/* before_sleep asks for two more turns: they run without waiting for an event or a timer. */
static void again_before_sleep(struct net_loop *l, void *arg)
{
	int *left = arg;

	if (*left > 0) {
		(*left)--;
		net_loop_again(l);
	}
}

static void loop_again_skips_the_wait(void **state)
{
	struct net_loop *l = net_loop_new(4);
	int left = 2;
	uint64_t start;

	(void)state;
	assert_non_null(l);
	net_set_before_sleep(l, again_before_sleep, &left);
	assert_non_null(net_timer_add(l, 60000, t_tick, NULL));	/* far: the wait's bound */
	assert_int_equal(net_loop_once(l, 0), NT_OK);		/* asks for another turn */
	start = net_now_ms(l);
	assert_int_equal(net_loop_once(l, -1), NT_OK);		/* must not wait a minute */
	assert_int_equal(net_loop_once(l, -1), NT_OK);
	assert_int_equal(left, 0);
	assert_true(net_now_ms(l) - start < 30000);
	/* Nothing asked again: the next turn waits, here for its bound of 20 ms. */
	assert_int_equal(net_loop_once(l, 20), NT_OK);
	assert_true(net_now_ms(l) - start >= 20);
	net_loop_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_order_cancel_every),
		cmocka_unit_test(timers_cancel_in_callback_and_no_starving),
		cmocka_unit_test(timers_heap_order_with_cancels),
		cmocka_unit_test(signals_through_loop),
		cmocka_unit_test(fd_watches_fire_and_unwatch_safely),
		cmocka_unit_test(loop_again_skips_the_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
