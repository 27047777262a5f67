/*
 * Fuzz target for the XML stream framer: the input is fed whole, then cut at positions
 * derived from the input (and, when short, one byte at a time), and every way must give the
 * same events. Each tree is serialised, read back by Mini-XML and serialised again, which
 * must give the same text; then it is freed. Each element's text must also stand on its own,
 * as it does when routed to another stream: fed after a header that declares no prefix, it
 * must come back as the same element. Traps on any difference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xml/framer.h"
#include "xml/xml.h"

#define CUTS 3
#define BYTEWISE_MAX 512

static const struct xml_limits lim = { 2048, 12, 12 };
/* Serialising escapes (up to 6 bytes for 1) and adds the header's declarations. */
static const struct xml_limits lim_alone = { 65536, 12, 24 };
static const char hdr_alone[] = "<stream xmlns='jabber:client'>";

struct trace {
	uint64_t h;
	size_t used;
};

static void mix(struct trace *t, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		t->h = (t->h ^ b[i]) * 0x100000001b3ULL;
	t->h = (t->h ^ 0xff) * 0x100000001b3ULL;	/* separates fields */
}

/* The serialised element s[0..len) on a stream of its own gives the same element. */
static void check_alone(const char *s, size_t len)
{
	struct xml_framer *f = xml_framer_new(&lim_alone);
	struct xml_event ev;
	char *again;

	if (f == NULL)
		__builtin_trap();
	xml_framer_feed(f, (const uint8_t *)hdr_alone, sizeof(hdr_alone) - 1, &ev);
	if (ev.type != XML_EV_OPEN)
		__builtin_trap();
	mxmlDelete(ev.node);
	if (xml_framer_feed(f, (const uint8_t *)s, len, &ev) != len ||
	    ev.type != XML_EV_ELEMENT)
		__builtin_trap();
	again = xml_serialize(ev.node, NULL);
	if (again == NULL || strcmp(s, again) != 0)
		__builtin_trap();
	free(again);
	mxmlDelete(ev.node);
	xml_framer_free(f);
}

static void check_tree(mxml_node_t *n, enum xml_ev_type type, struct trace *t)
{
	mxml_node_t *back;
	size_t len;
	char *s = xml_serialize(n, &len), *again;

	if (s == NULL)
		__builtin_trap();
	mix(t, s, len);
	back = mxmlLoadString(NULL, s, MXML_OPAQUE_CALLBACK);
	if (back == NULL)
		__builtin_trap();
	again = xml_serialize(back, NULL);
	if (again == NULL || strcmp(s, again) != 0)
		__builtin_trap();
	free(again);
	if (type == XML_EV_ELEMENT)
		check_alone(s, len);
	free(s);
	mxmlDelete(back);
}

/* Feeds p[0..n) cut before each cuts[i] (ascending); 0 cuts with bytewise: every byte alone. */
static struct trace run(const uint8_t *p, size_t n, const size_t *cuts, size_t ncuts,
			int bytewise, unsigned reset_at)
{
	struct xml_framer *f = xml_framer_new(&lim);
	struct trace t = { 0xcbf29ce484222325ULL, 0 };
	size_t off = 0, c = 0, end;
	unsigned events = 0;

	if (f == NULL)
		__builtin_trap();
	while (off < n) {
		while (c < ncuts && cuts[c] <= off)
			c++;
		end = bytewise ? off + 1 : c < ncuts ? cuts[c] : n;
		while (off < end) {
			struct xml_event ev;
			size_t used = xml_framer_feed(f, p + off, end - off, &ev);

			off += used;
			t.used += used;
			if (bytewise || ncuts > 0)
				xml_framer_shrink(f);	/* must change nothing */
			if (ev.type == XML_EV_NONE)
				continue;
			mix(&t, &ev.type, sizeof(ev.type));
			mix(&t, &ev.error, sizeof(ev.error));
			mix(&t, ev.ns, strlen(ev.ns));
			mix(&t, ev.name, strlen(ev.name));
			if (ev.node != NULL)
				check_tree(ev.node, ev.type, &t);
			mxmlDelete(ev.node);
			if (ev.type == XML_EV_ERROR || ev.type == XML_EV_CLOSE)
				goto done;
			if (++events == reset_at)
				xml_framer_reset(f);	/* as after STARTTLS or SASL */
		}
	}
done:
	xml_framer_free(f);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trace whole, cut;
	size_t cuts[CUTS], i, j;
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	unsigned reset_at;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3ULL;
	reset_at = (unsigned)(h % 5);	/* 0: never */
	for (i = 0; i < CUTS; i++) {
		h = h * 6364136223846793005ULL + 1442695040888963407ULL;
		cuts[i] = (size_t)((h >> 33) % (size + 1));
		for (j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
			size_t tmp = cuts[j];

			cuts[j] = cuts[j - 1];
			cuts[j - 1] = tmp;
		}
	}
	whole = run(data, size, NULL, 0, 0, reset_at);
	cut = run(data, size, cuts, CUTS, 0, reset_at);
	if (whole.h != cut.h || whole.used != cut.used)
		__builtin_trap();
	if (size <= BYTEWISE_MAX) {
		cut = run(data, size, NULL, 0, 1, reset_at);
		if (whole.h != cut.h || whole.used != cut.used)
			__builtin_trap();
	}
	return 0;
}
