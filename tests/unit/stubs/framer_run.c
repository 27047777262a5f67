/* Test-only: the framer run harness (see framer_run.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "xml/xml.h"
#include "tests/unit/stubs/framer_run.h"

static const struct xml_limits lim_default = FRAMER_LIM_DEFAULT;

void run_free(struct run *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->ev[i].xml);
	r->n = 0;
}

static void record(struct run *r, const struct xml_event *ev)
{
	struct rec *e;

	assert_true(r->n < MAX_EVENTS);
	e = &r->ev[r->n++];
	e->type = ev->type;
	e->err = ev->error;
	assert_non_null(ev->ns);
	assert_non_null(ev->name);
	snprintf(e->ns, sizeof(e->ns), "%s", ev->ns);
	snprintf(e->name, sizeof(e->name), "%s", ev->name);
	e->xml = ev->node ? xml_serialize(ev->node, NULL) : NULL;
	if (ev->node != NULL)
		assert_null(mxmlGetParent(ev->node));	/* the element, not a document */
	if (ev->type == XML_EV_OPEN || ev->type == XML_EV_ELEMENT)
		assert_non_null(e->xml);
	else
		assert_null(ev->node);
}

/* Feeds s[0..len) cut as `how` says, recording each event until an error or the close. */
void run_feed(const struct xml_limits *lim, const char *s, size_t len, enum split how,
	      unsigned seed, struct run *r)
{
	struct xml_framer *f = xml_framer_new(lim);
	size_t off = 0;

	assert_non_null(f);
	memset(r, 0, sizeof(*r));
	while (off < len) {
		size_t end = len;

		if (how == SPLIT_BYTES)
			end = off + 1;
		else if (how == SPLIT_RANDOM)
			end = off + 1 + (size_t)rand_r(&seed) % (len - off);
		while (off < end) {
			struct xml_event ev;
			size_t used = xml_framer_feed(f, (const uint8_t *)s + off, end - off, &ev);

			assert_true(used <= end - off);
			off += used;
			r->used += used;
			if (ev.type == XML_EV_NONE) {
				assert_int_equal(off, end);	/* NONE means all used */
				xml_framer_shrink(f);
				continue;
			}
			assert_true(used > 0 || ev.type == XML_EV_CLOSE);
			record(r, &ev);
			mxmlDelete(ev.node);
			if (ev.type == XML_EV_ERROR || ev.type == XML_EV_CLOSE)
				goto done;
		}
	}
done:
	xml_framer_free(f);
}

void assert_same_runs(const struct run *a, const struct run *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	assert_int_equal(a->used, b->used);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->ev[i].type, b->ev[i].type);
		assert_int_equal(a->ev[i].err, b->ev[i].err);
		assert_string_equal(a->ev[i].ns, b->ev[i].ns);
		assert_string_equal(a->ev[i].name, b->ev[i].name);
		if (a->ev[i].xml == NULL || b->ev[i].xml == NULL)
			assert_ptr_equal(a->ev[i].xml, b->ev[i].xml);
		else
			assert_string_equal(a->ev[i].xml, b->ev[i].xml);
	}
}

/* Runs s whole into r, and checks byte-at-a-time and random splits give the same events. */
void run_all(const struct xml_limits *lim, const char *s, size_t len, struct run *r)
{
	struct run other;
	unsigned seed;

	run_feed(lim, s, len, SPLIT_WHOLE, 0, r);
	run_feed(lim, s, len, SPLIT_BYTES, 0, &other);
	assert_same_runs(r, &other);
	run_free(&other);
	for (seed = 1; seed <= 20; seed++) {
		run_feed(lim, s, len, SPLIT_RANDOM, seed, &other);
		assert_same_runs(r, &other);
		run_free(&other);
	}
}

/* The error the document s ends with, or XML_ERR_NONE; same for every way of splitting it. */
enum xml_err doc_err_lim(const struct xml_limits *lim, const char *s)
{
	struct run r;
	enum xml_err e = XML_ERR_NONE;

	run_all(lim, s, strlen(s), &r);
	if (r.n > 0 && r.ev[r.n - 1].type == XML_EV_ERROR)
		e = r.ev[r.n - 1].err;
	run_free(&r);
	return e;
}

enum xml_err doc_err(const char *s)
{
	return doc_err_lim(&lim_default, s);
}

/* The same, for body after a normal stream header. */
enum xml_err stream_err_lim(const struct xml_limits *lim, const char *body)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), DECL HDR "%s", body);
	return doc_err_lim(lim, buf);
}

enum xml_err stream_err(const char *body)
{
	return stream_err_lim(&lim_default, body);
}

/* The one element event of body after the header; its tree is returned (caller frees). */
mxml_node_t *one_element(const char *body, struct xml_event *out, char *ns, char *name)
{
	struct xml_framer *f = xml_framer_new(&lim_default);
	struct xml_event ev;
	size_t used;

	assert_non_null(f);
	used = xml_framer_feed(f, (const uint8_t *)HDR, strlen(HDR), &ev);
	assert_int_equal(ev.type, XML_EV_OPEN);
	assert_int_equal(used, strlen(HDR));
	mxmlDelete(ev.node);
	used = xml_framer_feed(f, (const uint8_t *)body, strlen(body), out);
	assert_int_equal(out->type, XML_EV_ELEMENT);
	assert_int_equal(used, strlen(body));
	strcpy(ns, out->ns);
	strcpy(name, out->name);
	xml_framer_free(f);
	out->ns = ns;
	out->name = name;
	return out->node;
}
