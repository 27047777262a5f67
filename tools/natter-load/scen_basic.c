/*
 * register and idle. Every phase ends by itself: by count, by --hold, and every step of a
 * connection by --timeout.
 */
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "load.h"

/* A set of clients and what became of them. */
struct crowd {
	struct gen *g;
	struct xc *cs;
	unsigned n;
	unsigned up, down, failed, next;
	uint64_t t0, t_end, t_last;
};

static struct xc *crowd_new(struct gen *g, struct crowd *cr, unsigned n,
                            const struct xc_ops *ops)
{
	memset(cr, 0, sizeof(*cr));
	cr->g = g;
	cr->n = n;
	if ((cr->cs = calloc(n > 0 ? n : 1, sizeof(*cr->cs))) == NULL) {
		log_err("natter-load: out of memory for %u clients", n);
		g->st->failed++;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++)
		xc_init(&cr->cs[i], g, g->o->first + i, ops, cr);
	return cr->cs;
}

static void crowd_free(struct crowd *cr)
{
	gen_forget_clients(cr->g);
	free(cr->cs);
}

static int crowd_settled(struct gen *g, void *arg)
{
	struct crowd *cr = arg;

	(void)g;
	return cr->up + cr->failed >= cr->n;
}

static int crowd_all_idle(struct gen *g, void *arg)
{
	struct crowd *cr = arg;

	(void)g;
	for (unsigned i = 0; i < cr->n; i++)
		if (xc_busy(&cr->cs[i]))
			return 0;
	return 1;
}

static int crowd_time_up(struct gen *g, void *arg)
{
	struct crowd *cr = arg;

	return g->now >= cr->t_end;
}

/* Closes every session cleanly and waits (each close is bounded by --timeout). */
static void crowd_close_all(struct crowd *cr)
{
	for (unsigned i = 0; i < cr->n; i++)
		if (cr->cs[i].state == XS_UP)
			xc_close(&cr->cs[i], XC_CLEAN);
	gen_run(cr->g, crowd_all_idle, cr);
}

/* register ------------------------------------------------------------------------------- */

static void reg_next(struct crowd *cr, struct xc *c)
{
	if (cr->next >= cr->g->o->users)
		return;
	c->acct = cr->g->o->first + cr->next++;
	(void)xc_start(c, XC_REGISTER);
}

static void reg_up(struct xc *c)
{
	(void)c;		/* registration never brings a session up */
}

static void reg_down(struct xc *c, int err)
{
	struct crowd *cr = c->arg;
	struct stats *st = cr->g->st;

	if (err == E_OK) {
		st->ok++;
		hist_add(&st->lat, cr->g->now - c->t_start);
	} else {
		st->failed++;
	}
	cr->t_last = cr->g->now;
	reg_next(cr, c);
}

void scen_register(struct gen *g)
{
	static const struct xc_ops ops = { reg_up, NULL, reg_down };
	unsigned n = g->o->ramp < g->o->users ? g->o->ramp : g->o->users;
	struct crowd cr;
	double cpu0 = cpu_seconds();

	if (crowd_new(g, &cr, n, &ops) == NULL)
		return;
	cr.t0 = cr.t_last = g->now;
	for (unsigned i = 0; i < n; i++)
		reg_next(&cr, &cr.cs[i]);
	gen_run(g, crowd_all_idle, &cr);
	g->st->wall_s = (double)(cr.t_last - cr.t0) / 1e6;
	g->st->cpu_s = cpu_seconds() - cpu0;
	g->st->ops = g->st->ok;
	crowd_free(&cr);
}

/* idle ----------------------------------------------------------------------------------- */

static void idle_up(struct xc *c)
{
	struct crowd *cr = c->arg;

	cr->up++;
	cr->g->st->established++;
	hist_add(&cr->g->st->lat, cr->g->now - c->t_start);
}

static void idle_down(struct xc *c, int err)
{
	struct crowd *cr = c->arg;

	if (err == E_OK)
		return;
	cr->g->st->failed++;
	if (!c->was_up)
		cr->failed++;			/* never came up */
	else
		cr->g->st->dropped++;		/* lost while held */
}

void scen_idle(struct gen *g)
{
	static const struct xc_ops ops = { idle_up, NULL, idle_down };
	struct stats *st = g->st;
	struct crowd cr;
	double cpu0 = cpu_seconds(), cpu1;
	unsigned n = g->o->sessions;

	if (crowd_new(g, &cr, n, &ops) == NULL)
		return;
	cr.t0 = g->now;
	for (unsigned i = 0; i < n; i++)
		(void)xc_start(&cr.cs[i], XC_PRESENCE);
	gen_run(g, crowd_settled, &cr);
	st->setup_s = st->wall_s = (double)(g->now - cr.t0) / 1e6;
	st->cpu_s = cpu_seconds() - cpu0;
	st->ops = st->established;
	gen_ready(g, cr.up);
	cr.t_end = g->now + (uint64_t)g->o->hold * 1000000u;
	cpu1 = cpu_seconds();
	gen_run(g, crowd_time_up, &cr);
	st->hold_cpu_s = cpu_seconds() - cpu1;
	crowd_close_all(&cr);
	st->ok = st->established - st->dropped;
	crowd_free(&cr);
}
