/*
 * chat: P pairs of sessions; each side keeps --window messages in flight to its partner's full
 * JID for --seconds. A message counts when it arrives at the partner (both sides live in this
 * process, so the partner's arrival is the sender's acknowledgement). The body carries this
 * run's id, a sequence number and the send time:
 *     "<run> <seq> <send µs> xxxx..." padded to --size bytes
 * so messages from another run (offline storage of an earlier one) are ignored, and losses,
 * duplicates and reordering are counted.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/log.h"
#include "load.h"

struct pair;

struct side {
	struct xc c;
	struct pair *p;
	unsigned idx;		/* 0 or 1 */
	int live;		/* up, and its partner too when sending began */
	uint64_t next_seq;	/* next number this side sends */
	uint64_t expect;	/* next number expected from the partner */
	unsigned inflight;	/* this side's messages not yet at the partner */
	char to[XC_JID_MAX * 2];	/* the partner's full JID, escaped */
};

struct pair {
	struct side s[2];
	struct chat *ch;
};

struct chat {
	struct gen *g;
	struct pair *pairs;
	unsigned np, up, failed;
	int sending, draining;
	uint64_t run, t0, t_end, t_drain, t_last, inflight;
	char *pad;
};

static void chat_send(struct chat *ch, struct side *s)
{
	struct stats *st = ch->g->st;
	char head[64];
	int n = snprintf(head, sizeof(head), "%llu %llu %llu ", (unsigned long long)ch->run,
			 (unsigned long long)s->next_seq, (unsigned long long)ch->g->now);
	int pad = (int)ch->g->o->size - n;

	if (xc_send(&s->c, "<message to='%s' type='chat' id='nl%llx'><body>%s%.*s</body>"
		    "</message>", s->to, (unsigned long long)s->next_seq, head, pad > 0 ? pad : 0,
		    ch->pad) != 0)
		return;
	s->next_seq++;
	s->inflight++;
	ch->inflight++;
	st->sent++;
}

/* Reads a decimal number at *p (below end), then skips one space. 0 when there is none. */
static int chat_number(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	while (s < end && *s >= '0' && *s <= '9')
		*v = *v * 10 + (uint64_t)(*s++ - '0');
	if (s == *p || s >= end || *s != ' ')
		return 0;
	*p = s + 1;
	return 1;
}

/* A message arrived at side r: it acknowledges one of the partner's. */
static void chat_arrival(struct chat *ch, struct side *r, const struct xel *el)
{
	struct side *s = &r->p->s[1 - r->idx];
	struct stats *st = ch->g->st;
	struct xel body;
	const char *p, *end = el->p + el->n;
	uint64_t run, seq, sent_at;
	char type[16];

	if (xel_attr(el, "type", type, sizeof(type)) == 1 && strcmp(type, "error") == 0) {
		st->bounced++;
		if (s->inflight > 0) {
			s->inflight--;
			ch->inflight--;
		}
		return;
	}
	if ((p = xel_tag(el, NULL, "body", &body)) == NULL || !chat_number(&p, end, &run) ||
	    run != ch->run || !chat_number(&p, end, &seq) || !chat_number(&p, end, &sent_at))
		return;		/* not one of this run's */
	if (seq < r->expect) {
		st->dup++;
		return;
	}
	if (seq > r->expect)
		st->reordered++;
	r->expect = seq + 1;
	st->received++;
	hist_add(&st->lat, ch->g->now - sent_at);
	ch->t_last = ch->g->now;
	if (s->inflight > 0) {
		s->inflight--;
		ch->inflight--;
	}
	if (ch->sending && s->live)
		chat_send(ch, s);
}

static void chat_up(struct xc *c)
{
	struct side *s = c->arg;

	s->p->ch->up++;
}

static void chat_stanza(struct xc *c, const struct xel *el)
{
	struct side *s = c->arg;

	if (xel_is(el, "message"))
		chat_arrival(s->p->ch, s, el);
}

static void chat_down(struct xc *c, int err)
{
	struct side *s = c->arg;
	struct chat *ch = s->p->ch;
	struct side *o = &s->p->s[1 - s->idx];

	if (err == E_OK)
		return;
	ch->g->st->failed++;
	if (!c->was_up)
		ch->failed++;
	if (s->live) {
		/* What the partner still has in flight to this side will not arrive. */
		s->live = 0;
		ch->inflight -= o->inflight;
		o->inflight = 0;
	}
}

static int chat_settled(struct gen *g, void *arg)
{
	struct chat *ch = arg;

	(void)g;
	return ch->up + ch->failed >= 2 * ch->np;
}

static int chat_done(struct gen *g, void *arg)
{
	struct chat *ch = arg;

	if (ch->sending && g->now >= ch->t_end) {
		ch->sending = 0;
		ch->draining = 1;
		ch->t_drain = g->now + (uint64_t)g->o->timeout * 1000000u;
	}
	return ch->draining && (ch->inflight == 0 || g->now >= ch->t_drain);
}

static int chat_closed(struct gen *g, void *arg)
{
	struct chat *ch = arg;

	(void)g;
	for (unsigned i = 0; i < ch->np; i++)
		if (xc_busy(&ch->pairs[i].s[0].c) || xc_busy(&ch->pairs[i].s[1].c))
			return 0;
	return 1;
}

/* Pairs whose both sides are up start sending: --window messages each way. */
static void chat_begin(struct chat *ch)
{
	for (unsigned i = 0; i < ch->np; i++) {
		struct pair *p = &ch->pairs[i];

		if (p->s[0].c.state != XS_UP || p->s[1].c.state != XS_UP)
			continue;
		for (int k = 0; k < 2; k++) {
			p->s[k].live = 1;
			if (xml_escape(p->s[1 - k].c.jid, p->s[k].to, sizeof(p->s[k].to)) < 0)
				p->s[k].live = 0;
		}
	}
	ch->sending = 1;
	ch->t0 = ch->t_last = ch->g->now;
	ch->t_end = ch->g->now + (uint64_t)ch->g->o->seconds * 1000000u;
	for (unsigned i = 0; i < ch->np; i++)
		for (int k = 0; k < 2; k++)
			for (unsigned w = 0; w < ch->g->o->window && ch->pairs[i].s[k].live; w++)
				chat_send(ch, &ch->pairs[i].s[k]);
}

void scen_chat(struct gen *g)
{
	static const struct xc_ops ops = { chat_up, chat_stanza, chat_down };
	const struct ld_opts *o = g->o;
	struct stats *st = g->st;
	struct chat ch = { .g = g, .np = o->pairs };
	double cpu0 = cpu_seconds(), cpu1;
	uint64_t t_setup = g->now;

	ch.pairs = calloc(ch.np > 0 ? ch.np : 1, sizeof(*ch.pairs));
	ch.pad = malloc(o->size + 1u);
	if (ch.pairs == NULL || ch.pad == NULL) {
		log_err("natter-load: out of memory for %u pairs", ch.np);
		st->failed++;
		goto out;
	}
	memset(ch.pad, 'x', o->size);
	ch.run = (mono_us() ^ ((uint64_t)getpid() << 32)) % 1000000000u;
	for (unsigned i = 0; i < ch.np; i++) {
		struct pair *p = &ch.pairs[i];

		p->ch = &ch;
		for (unsigned k = 0; k < 2; k++) {
			p->s[k].p = p;
			p->s[k].idx = k;
			xc_init(&p->s[k].c, g, o->first + 2 * i + k, &ops, &p->s[k]);
			(void)xc_start(&p->s[k].c, XC_PRESENCE);
		}
	}
	gen_run(g, chat_settled, &ch);
	st->setup_s = (double)(g->now - t_setup) / 1e6;
	st->setup_cpu_s = cpu_seconds() - cpu0;
	cpu1 = cpu_seconds();
	chat_begin(&ch);
	gen_run(g, chat_done, &ch);
	st->cpu_s = cpu_seconds() - cpu1;
	st->wall_s = (double)(ch.t_last - ch.t0) / 1e6;
	st->ok = st->ops = st->received;
	for (unsigned i = 0; i < ch.np; i++)
		for (int k = 0; k < 2; k++)
			if (ch.pairs[i].s[k].c.state == XS_UP)
				xc_close(&ch.pairs[i].s[k].c, XC_CLEAN);
	gen_run(g, chat_closed, &ch);
out:
	gen_forget_clients(g);
	free(ch.pairs);
	free(ch.pad);
}
