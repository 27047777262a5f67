/*
 * roster: the accounts form groups of K+1 (--contacts K); in a group everyone has the other K
 * as contacts with subscription "both".
 *
 *  1. Every account logs in with initial presence and asks for its roster. An error answer
 *     means the server has no rosters: the run reports {"unsupported": "roster"}.
 *  2. Setup, once (skipped where the rosters already say "both"): each account adds each
 *     missing contact with a jabber:iq:roster set and sends it a presence subscribe; every
 *     account approves every subscribe it gets. Roster pushes tell when a contact is "both".
 *     At most --ramp accounts wait for their subscriptions at a time, and the setup ends when
 *     all are "both" or nothing changed for --timeout seconds (then the run fails).
 *  3. For --seconds, --conc workers (each owning whole groups, so they never disturb each
 *     other) take one held account at a time: log it out, log it in with initial presence,
 *     and wait until available presence from all K contacts arrived. Reported: logins/s, the
 *     login-to-last-presence latency, presences received per login.
 */
#include <stdlib.h>
#include <string.h>
#include "core/log.h"
#include "load.h"

#define RS_TO   0x01	/* we see the contact's presence */
#define RS_FROM 0x02	/* the contact sees ours */
#define RS_ITEM 0x04	/* the contact is in the roster */
#define RS_BOTH (RS_TO | RS_FROM)

enum { PH_GET, PH_SUBSCRIBE, PH_MEASURE, PH_CLOSE };

struct roster;

struct racct {
	struct xc c;
	struct roster *r;
	unsigned group, member;
	uint8_t *sub;		/* per group member: RS_* */
	uint8_t *seen;		/* per group member: presence seen in this measured login */
	unsigned both, to, got, presences;
	int worker;		/* the worker measuring this account, or -1 */
	int answered, subscribing;
};

struct rworker {
	unsigned next, ngroups;
	int busy;
};

struct roster {
	struct gen *g;
	struct racct *a;
	struct rworker *w;
	uint8_t *bits;
	unsigned n, size, k, groups, nw;
	unsigned up, failed, answered;
	unsigned sub_next, sub_active;	/* setup: next account to start, accounts waiting */
	int unsupported, phase;
	uint64_t t0, t_end, t_last, progress;
};

static void roster_next(struct roster *r, unsigned w);

/* The member number of jid in a's group, or -1 when it is not one of them. */
static int roster_member(const struct racct *a, const char *jid)
{
	const struct ld_opts *o = a->r->g->o;
	size_t pl = strlen(o->prefix);
	unsigned long v;
	unsigned base = o->first + a->group * a->r->size;
	char *end;

	if (strncmp(jid, o->prefix, pl) != 0 || jid[pl] < '0' || jid[pl] > '9')
		return -1;
	v = strtoul(jid + pl, &end, 10);
	if (*end != '@' || strncmp(end + 1, o->domain, strlen(o->domain)) != 0 ||
	    (end[1 + strlen(o->domain)] != '\0' && end[1 + strlen(o->domain)] != '/') ||
	    v < base || v - base >= a->r->size || v - base == a->member)
		return -1;
	return (int)(v - base);
}

/* Takes the items of a roster result or push. */
static void roster_items(struct racct *a, const struct xel *el)
{
	char jid[XC_JID_MAX], sub[16];
	const char *p = NULL;
	struct xel t;
	int m;

	while ((p = xel_tag(el, p, "item", &t)) != NULL) {
		uint8_t v = RS_ITEM;

		if (xel_attr(&t, "jid", jid, sizeof(jid)) != 1 || (m = roster_member(a, jid)) < 0)
			continue;
		(void)xel_attr(&t, "subscription", sub, sizeof(sub));
		if (strcmp(sub, "both") == 0)
			v |= RS_BOTH;
		else if (strcmp(sub, "to") == 0)
			v |= RS_TO;
		else if (strcmp(sub, "from") == 0)
			v |= RS_FROM;
		else if (strcmp(sub, "remove") == 0)
			v = 0;
		a->both -= (a->sub[m] & RS_BOTH) == RS_BOTH;
		a->to -= (a->sub[m] & RS_TO) != 0;
		if ((v & ~a->sub[m]) & RS_BOTH)
			a->r->progress = a->r->g->now;
		a->sub[m] = v;
		a->both += (v & RS_BOTH) == RS_BOTH;
		a->to += (v & RS_TO) != 0;
	}
	if (a->subscribing && a->to == a->r->k) {
		a->subscribing = 0;		/* all its requests approved */
		a->r->sub_active--;
	}
}

static void roster_iq(struct racct *a, const struct xel *el)
{
	struct roster *r = a->r;
	char id[16], type[16];

	(void)xel_attr(el, "type", type, sizeof(type));
	(void)xel_attr(el, "id", id, sizeof(id));
	if (strcmp(id, "rg1") == 0 && !a->answered) {
		xc_deadline(&a->c, 0);
		if (strcmp(type, "result") != 0)
			r->unsupported = 1;
		a->answered = 1;
		r->answered++;
	} else if (strcmp(type, "set") != 0 || !xel_has(el, "jabber:iq:roster")) {
		return;		/* our roster sets' answers: the pushes tell what changed */
	}
	roster_items(a, el);
}

/* A measured login got all K presences: count it and let its worker go on. */
static void roster_measured(struct racct *a)
{
	struct roster *r = a->r;
	struct stats *st = r->g->st;
	unsigned w = (unsigned)a->worker;

	hist_add(&st->lat, r->g->now - a->c.t_start);
	st->ok++;
	st->roster_logins++;
	st->presences += a->presences;
	r->t_last = r->g->now;
	xc_deadline(&a->c, 0);
	a->worker = -1;
	roster_next(r, w);
}

static void roster_presence(struct racct *a, const struct xel *el)
{
	char from[XC_JID_MAX], type[16], esc[XC_JID_MAX * 2];
	int m;

	if (xel_attr(el, "from", from, sizeof(from)) != 1)
		return;
	(void)xel_attr(el, "type", type, sizeof(type));
	if (strcmp(type, "subscribe") == 0) {
		char *slash = strchr(from, '/');

		if (slash != NULL)
			*slash = '\0';
		if (xml_escape(from, esc, sizeof(esc)) >= 0)
			(void)xc_send(&a->c, "<presence to='%s' type='subscribed'/>", esc);
		return;
	}
	if (a->worker < 0 || a->c.state != XS_UP)
		return;
	a->presences++;
	if (type[0] == '\0' && (m = roster_member(a, from)) >= 0 && !a->seen[m]) {
		a->seen[m] = 1;
		if (++a->got == a->r->k)
			roster_measured(a);
	}
}

static void roster_stanza(struct xc *c, const struct xel *el)
{
	struct racct *a = c->arg;

	if (xel_is(el, "iq"))
		roster_iq(a, el);
	else if (xel_is(el, "presence"))
		roster_presence(a, el);
}

static void roster_up(struct xc *c)
{
	struct racct *a = c->arg;
	struct roster *r = a->r;

	if (r->phase == PH_CLOSE) {
		xc_close(c, XC_CLEAN);		/* came up after the run ended */
	} else if (r->phase == PH_GET) {
		r->up++;
		(void)xc_send(c, "<iq type='get' id='rg1'><query xmlns='jabber:iq:roster'/></iq>");
		xc_deadline(c, 1);		/* the answer within --timeout */
	} else if (a->worker >= 0) {
		memset(a->seen, 0, r->size);
		a->got = a->presences = 0;
		xc_deadline(c, 1);	/* all K presences within --timeout */
	}
}

static void roster_down(struct xc *c, int err)
{
	struct racct *a = c->arg;
	struct roster *r = a->r;
	int w = a->worker;

	if (err != E_OK) {
		r->g->st->failed++;
		if (r->phase == PH_GET && !a->answered) {
			a->answered = 1;	/* settled: as a failure */
			r->failed++;
		}
		a->worker = -1;
	}
	if (r->phase != PH_MEASURE)
		return;
	if (r->g->now < r->t_end || w >= 0)
		(void)xc_start(c, XC_PRESENCE);	/* log in again (measured when w >= 0) */
	if (err != E_OK && w >= 0)
		roster_next(r, (unsigned)w);
}

/* Worker w takes its next held account: out, then in again (measured). */
static void roster_next(struct roster *r, unsigned w)
{
	struct rworker *wk = &r->w[w];
	unsigned tries = wk->ngroups * r->size;

	wk->busy = 0;
	if (r->g->now >= r->t_end)
		return;
	while (tries-- > 0) {
		unsigned k = wk->next++;
		unsigned gi = w + (k % wk->ngroups) * r->nw, m = (k / wk->ngroups) % r->size;
		struct racct *a = &r->a[gi * r->size + m];

		if (a->c.state != XS_UP)
			continue;
		a->worker = (int)w;
		wk->busy = 1;
		xc_close(&a->c, XC_CLEAN);
		return;
	}
}

static int roster_answered(struct gen *g, void *arg)
{
	struct roster *r = arg;

	(void)g;
	return r->answered + r->failed >= r->n || r->unsupported;
}

static void roster_subscribe_one(struct racct *a);

/* Setup: keeps --ramp accounts subscribing; done when every account is "both" with all its
 * contacts, or when nothing changed for --timeout seconds. */
static int roster_setup_done(struct gen *g, void *arg)
{
	struct roster *r = arg;

	while (r->sub_active < g->ramp && r->sub_next < r->n)
		roster_subscribe_one(&r->a[r->sub_next++]);
	if (g->now - r->progress > (uint64_t)g->o->timeout * 1000000u)
		return 1;
	for (unsigned i = 0; i < r->n; i++)
		if (r->a[i].both < r->k)
			return 0;
	return 1;
}

static int roster_workers_done(struct gen *g, void *arg)
{
	struct roster *r = arg;

	(void)g;
	for (unsigned i = 0; i < r->nw; i++)
		if (r->w[i].busy)
			return 0;
	return 1;
}

static int roster_closed(struct gen *g, void *arg)
{
	struct roster *r = arg;

	(void)g;
	for (unsigned i = 0; i < r->n; i++)
		if (xc_busy(&r->a[i].c))
			return 0;
	return 1;
}

/* Adds and subscribes to every contact account a lacks. */
static void roster_subscribe_one(struct racct *a)
{
	struct roster *r = a->r;
	const struct ld_opts *o = r->g->o;
	char jid[XC_JID_MAX];

	if (a->to == r->k || a->c.state != XS_UP)
		return;
	for (unsigned m = 0; m < r->size; m++) {
		if (m == a->member || (a->sub[m] & RS_TO))
			continue;
		xc_bare(r->g, o->first + a->group * r->size + m, jid, sizeof(jid));
		if (!(a->sub[m] & RS_ITEM))
			(void)xc_send(&a->c, "<iq type='set' id='rs1'><query xmlns='"
				      "jabber:iq:roster'><item jid='%s'/></query></iq>", jid);
		(void)xc_send(&a->c, "<presence to='%s' type='subscribe'/>", jid);
	}
	a->subscribing = 1;
	r->sub_active++;
}

static int roster_alloc(struct roster *r)
{
	const struct ld_opts *o = r->g->o;

	r->k = o->contacts;
	r->size = o->contacts + 1;
	r->groups = o->users / r->size;
	r->n = r->groups * r->size;
	r->nw = o->conc < r->groups ? o->conc : r->groups;
	r->a = calloc(r->n, sizeof(*r->a));
	r->w = calloc(r->nw, sizeof(*r->w));
	r->bits = calloc(r->n, 2u * r->size);
	if (r->a == NULL || r->w == NULL || r->bits == NULL)
		return -1;
	for (unsigned i = 0; i < r->nw; i++)
		r->w[i].ngroups = (r->groups - i + r->nw - 1) / r->nw;
	return 0;
}

static void roster_measure(struct roster *r)
{
	struct stats *st = r->g->st;
	double cpu0 = cpu_seconds();

	r->phase = PH_MEASURE;
	r->t0 = r->t_last = r->g->now;
	r->t_end = r->g->now + (uint64_t)r->g->o->seconds * 1000000u;
	for (unsigned i = 0; i < r->nw; i++)
		roster_next(r, i);
	gen_run(r->g, roster_workers_done, r);
	st->cpu_s = cpu_seconds() - cpu0;
	st->wall_s = (double)(r->t_last - r->t0) / 1e6;
	st->ops = st->roster_logins;
}

void scen_roster(struct gen *g)
{
	static const struct xc_ops ops = { roster_up, roster_stanza, roster_down };
	struct roster r = { .g = g };
	struct stats *st = g->st;
	double cpu0 = cpu_seconds();
	uint64_t t_setup = g->now;
	unsigned short_of = 0;

	if (roster_alloc(&r) != 0) {
		log_err("natter-load: out of memory for %u accounts", g->o->users);
		st->failed++;
		goto out;
	}
	for (unsigned i = 0; i < r.n; i++) {
		struct racct *a = &r.a[i];

		a->r = &r;
		a->group = i / r.size;
		a->member = i % r.size;
		a->sub = r.bits + (size_t)i * 2 * r.size;
		a->seen = a->sub + r.size;
		a->worker = -1;
		xc_init(&a->c, g, g->o->first + i, &ops, a);
		(void)xc_start(&a->c, XC_PRESENCE);
	}
	gen_run(g, roster_answered, &r);
	if (r.unsupported) {
		log_info("natter-load: the server answers roster requests with an error");
		st->unsupported = 1;
	} else if (r.failed == 0) {
		r.phase = PH_SUBSCRIBE;
		r.progress = g->now;
		gen_run(g, roster_setup_done, &r);
		for (unsigned i = 0; i < r.n; i++)
			short_of += r.a[i].both < r.k;
		st->setup_s = (double)(g->now - t_setup) / 1e6;
		st->setup_cpu_s = cpu_seconds() - cpu0;
		if (short_of > 0) {
			log_err("natter-load: %u accounts lack mutual subscriptions after setup",
				short_of);
			st->failed += short_of;
			st->err[E_ROSTER] += short_of;
		} else {
			roster_measure(&r);
		}
	}
	r.phase = PH_CLOSE;
	for (unsigned i = 0; i < r.n; i++)
		if (r.a[i].c.state == XS_UP)
			xc_close(&r.a[i].c, XC_CLEAN);
	gen_run(g, roster_closed, &r);
out:
	gen_forget_clients(g);
	free(r.a);
	free(r.w);
	free(r.bits);
}
