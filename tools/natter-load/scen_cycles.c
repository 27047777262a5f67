/*
 * logins, reconnect and churn: --conc logins in progress at all times for --seconds (churn:
 * --cycles in all). A session that is up is closed in the background while the next login
 * starts, so a server that takes its time to answer </stream:stream> does not slow the login
 * rate down; a login cycle counts (ok) once its stream has been closed cleanly too.
 *
 *   logins     full TLS handshake, SASL, bind, </stream:stream>
 *   reconnect  the account's last TLS session resumed; with XEP-0198 the stream is resumed
 *              and left by cutting the connection (as a phone losing its network would)
 *   churn      login, initial presence, unavailable presence, </stream:stream>
 *
 * Accounts in use are never shared between two connections (reconnect needs that: the TLS and
 * XEP-0198 state belong to the account); logins and churn share round-robin when --conc
 * exceeds the free accounts. The account freed last is used next, so a run keeps to as few
 * accounts as its concurrency needs: their TLS sessions stay fresh and the generator's PBKDF2
 * cache hits (each account has its own salt). After a reconnect run, accounts still holding a
 * resumable XEP-0198 session come back once to end it cleanly.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "core/log.h"
#include "load.h"

/* Connections per --conc: closing ones linger (ejabberd answers </stream:stream> after about
 * 100 ms), so a login waits for a free connection only when closes fall far behind. */
#define CYC_POOL_PER_LOGIN 16
#define CYC_POOL_EXTRA 64
#define CYC_FDS_SPARE 64

struct cycles {
	struct gen *g;
	struct xc *cs;		/* the pool */
	struct xc **idle;	/* connections free to start, a stack */
	unsigned *free_acct;	/* accounts not in use (offsets into the slice), a stack */
	uint8_t *owned;		/* per pool entry: its account goes back to free_acct */
	unsigned n, nidle, nfree_acct;
	unsigned conc, logging_in, flags, started, max_starts, next_rr;
	int cleanup;
	uint64_t t0, t_end, t_last;
};

static int cyc_has_sm(struct cycles *cy, unsigned off)
{
	return gen_slot(cy->g, cy->g->o->first + off)->smid[0] != '\0';
}

/* The next account for a login, 1 when there is one; *owned: taken from free_acct. */
static int cyc_take_account(struct cycles *cy, unsigned *off, int *owned)
{
	const struct ld_opts *o = cy->g->o;

	*owned = 1;
	for (unsigned i = cy->nfree_acct; i-- > 0;) {
		if (cy->cleanup && !cyc_has_sm(cy, cy->free_acct[i]))
			continue;
		*off = cy->free_acct[i];
		cy->free_acct[i] = cy->free_acct[--cy->nfree_acct];
		return 1;
	}
	if (cy->cleanup || o->scen == SC_RECONNECT)
		return 0;
	*owned = 0;		/* more logins than free accounts: share one */
	*off = cy->next_rr++ % o->users;
	return 1;
}

/* Starts logins until --conc are in progress (or time, cycles or connections run out). */
static void cyc_fill(struct cycles *cy)
{
	struct gen *g = cy->g;

	while (cy->logging_in < cy->conc && cy->nidle > 0) {
		unsigned off;
		int owned;
		struct xc *c;

		if (!cy->cleanup && (g->now >= cy->t_end || cy->started >= cy->max_starts))
			return;
		if (!cyc_take_account(cy, &off, &owned))
			return;
		c = cy->idle[--cy->nidle];
		c->acct = g->o->first + off;
		cy->owned[c - cy->cs] = (uint8_t)owned;
		cy->started++;
		cy->logging_in++;
		(void)xc_start(c, cy->flags);
	}
}

static void cyc_up(struct xc *c)
{
	struct cycles *cy = c->arg;
	struct gen *g = cy->g;
	struct stats *st = g->st;

	cy->logging_in--;
	hist_add(&st->lat, g->now - c->t_start);
	switch (g->o->scen) {
	case SC_RECONNECT:
		st->tls_resumed += c->tls_reused != 0;
		st->sm_resumed += c->sm_resumed != 0;
		st->sm_enabled += c->sm_on && !c->sm_resumed;
		xc_close(c, g->now < cy->t_end && !cy->cleanup ? XC_KEEP_SM : XC_CLEAN);
		break;
	case SC_CHURN:
		(void)xc_send(c, "<presence type='unavailable'/>");
		xc_close(c, XC_CLEAN);
		break;
	default:
		xc_close(c, XC_CLEAN);
	}
	cyc_fill(cy);
}

static void cyc_down(struct xc *c, int err)
{
	struct cycles *cy = c->arg;
	struct gen *g = cy->g;

	if (!c->was_up)
		cy->logging_in--;
	if (err == E_OK && c->was_up) {
		g->st->ok++;
	} else {
		g->st->failed++;
		if (cy->cleanup || g->now >= cy->t_end)
			gen_slot(g, c->acct)->smid[0] = '\0';	/* no endless clean-up */
	}
	if (cy->owned[c - cy->cs])
		cy->free_acct[cy->nfree_acct++] = c->acct - g->o->first;
	cy->idle[cy->nidle++] = c;
	cy->t_last = g->now;
	cyc_fill(cy);
}

static int cyc_all_idle(struct gen *g, void *arg)
{
	struct cycles *cy = arg;

	(void)g;
	return cy->nidle == cy->n;
}

static int cyc_alloc(struct cycles *cy)
{
	static const struct xc_ops ops = { cyc_up, NULL, cyc_down };
	struct gen *g = cy->g;
	unsigned users = g->o->users;
	struct rlimit rl;

	cy->n = cy->conc * CYC_POOL_PER_LOGIN + CYC_POOL_EXTRA;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < cy->n + CYC_FDS_SPARE &&
	    rl.rlim_cur > cy->conc + CYC_FDS_SPARE)
		cy->n = (unsigned)rl.rlim_cur - CYC_FDS_SPARE;
	cy->cs = calloc(cy->n, sizeof(*cy->cs));
	cy->idle = calloc(cy->n, sizeof(*cy->idle));
	cy->owned = calloc(cy->n, 1);
	cy->free_acct = calloc(users, sizeof(*cy->free_acct));
	if (cy->cs == NULL || cy->idle == NULL || cy->owned == NULL || cy->free_acct == NULL)
		return -1;
	for (unsigned i = 0; i < cy->n; i++) {
		xc_init(&cy->cs[i], g, g->o->first, &ops, cy);
		cy->idle[cy->n - 1 - i] = &cy->cs[i];
	}
	cy->nidle = cy->n;
	for (unsigned i = 0; i < users; i++)
		cy->free_acct[i] = users - 1 - i;	/* the first account on top */
	cy->nfree_acct = users;
	return 0;
}

void scen_cycles(struct gen *g)
{
	const struct ld_opts *o = g->o;
	struct cycles cy = { .g = g, .conc = o->conc };
	double cpu0;

	if (cy.conc == 0)
		return;		/* this worker's share of --conc is nothing */
	if (cyc_alloc(&cy) != 0) {
		log_err("natter-load: out of memory for %u connections", cy.n);
		g->st->failed++;
		goto out;
	}
	g->ramp = cy.n > o->ramp ? cy.n : o->ramp;	/* --conc is the bound here */
	cy.flags = o->scen == SC_RECONNECT ? XC_RESUME : o->scen == SC_CHURN ? XC_PRESENCE : 0;
	cy.max_starts = o->scen == SC_CHURN ? o->cycles : UINT32_MAX;
	cy.t0 = cy.t_last = g->now;
	cy.t_end = g->now + (uint64_t)o->seconds * 1000000u;
	cpu0 = cpu_seconds();
	cyc_fill(&cy);
	gen_run(g, cyc_all_idle, &cy);
	g->st->wall_s = (double)(cy.t_last - cy.t0) / 1e6;
	g->st->cpu_s = cpu_seconds() - cpu0;
	g->st->ops = g->st->ok;
	if (o->scen == SC_RECONNECT) {
		cy.cleanup = 1;
		cyc_fill(&cy);
		gen_run(g, cyc_all_idle, &cy);
	}
out:
	gen_forget_clients(g);
	free(cy.cs);
	free(cy.idle);
	free(cy.owned);
	free(cy.free_acct);
}
