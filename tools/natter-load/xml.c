/*
 * Cuts the server's side of an XMPP stream into the stream header, complete top-level elements
 * and the stream end, and looks things up inside one element.
 *
 * This is not natterd's framer: the generator must stay cheap per stanza, and its peers are the
 * servers under test on loopback. It checks only what it needs to find element boundaries
 * (quoted attribute values, self-closing tags, nesting) and never reads past the buffer; a
 * comment, CDATA or DOCTYPE inside the stream is XT_BAD (XMPP forbids the first and the last).
 */
#include <string.h>
#include "load.h"

/* The '>' that ends the tag starting at p ('<'), skipping quoted values; NULL if not here yet. */
static const char *xml_tag_end(const char *p, const char *end)
{
	char q = 0;

	for (p++; p < end; p++) {
		if (q != 0) {
			if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == '>') {
			return p;
		}
	}
	return NULL;
}

static int xml_name_char(char ch)
{
	return ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n' && ch != '/' && ch != '>';
}

/* The local name of the tag starting at p ('<' or "</"); 0 when the name is not complete. */
static int xml_tag_name(const char *p, const char *end, const char **name, size_t *len)
{
	const char *s = p + (p + 1 < end && p[1] == '/' ? 2 : 1), *e = s, *local = s;

	while (e < end && xml_name_char(*e)) {
		if (*e == ':')
			local = e + 1;
		e++;
	}
	if (e == end)
		return 0;
	*name = local;
	*len = (size_t)(e - local);
	return 1;
}

enum xtok xml_next(const char *buf, size_t len, int have_header, struct xel *el, size_t *used)
{
	const char *p = buf, *end = buf + len, *start, *q, *gt;
	int depth = 0;

	for (;;) {
		while (p < end && *p != '<')
			p++;	/* whitespace keepalives (and stray text) between elements */
		*used = (size_t)(p - buf);
		if (end - p < 2)
			return XT_MORE;
		if (p[1] != '?')
			break;
		if ((q = memmem(p, (size_t)(end - p), "?>", 2)) == NULL)
			return XT_MORE;
		p = q + 2;		/* the XML declaration */
	}
	start = p;
	if (p[1] == '!')
		return XT_BAD;
	if (!xml_tag_name(p, end, &el->name, &el->name_len))
		return XT_MORE;
	if (p[1] == '/' || !have_header) {
		if ((gt = xml_tag_end(p, end)) == NULL)
			return XT_MORE;
		el->p = start;
		el->n = (size_t)(gt + 1 - start);
		*used = (size_t)(gt + 1 - buf);
		if (p[1] == '/')
			return XT_END;
		return xel_is(el, "stream") ? XT_HEADER : XT_BAD;
	}
	for (q = p;;) {
		if ((gt = xml_tag_end(q, end)) == NULL)
			return XT_MORE;
		if (q[1] == '/')
			depth--;
		else if (q[1] == '!' || q[1] == '?')
			return XT_BAD;
		else if (gt[-1] != '/')
			depth++;
		if (depth == 0) {
			el->p = start;
			el->n = (size_t)(gt + 1 - start);
			*used = (size_t)(gt + 1 - buf);
			return XT_ELEM;
		}
		if ((q = memchr(gt + 1, '<', (size_t)(end - gt - 1))) == NULL)
			return XT_MORE;
	}
}

int xel_is(const struct xel *el, const char *local)
{
	size_t n = strlen(local);

	return el->name_len == n && memcmp(el->name, local, n) == 0;
}

int xel_has(const struct xel *el, const char *s)
{
	return memmem(el->p, el->n, s, strlen(s)) != NULL;
}

/* Decodes the five predefined entities and ASCII character references of p[0..n) into out;
 * anything else is copied as it is. Length, or -1 when it does not fit. */
static int xml_unescape(const char *p, size_t n, char *out, size_t cap)
{
	static const struct { const char *ent; char ch; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&quot;", '"' },
		{ "&apos;", '\'' },
	};
	size_t i = 0, o = 0, k;

	while (i < n) {
		char ch = p[i++];

		if (ch == '&') {
			for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
				size_t el = strlen(ents[k].ent) - 1;

				if (n - i >= el && memcmp(p + i, ents[k].ent + 1, el) == 0) {
					ch = ents[k].ch;
					i += el;
					break;
				}
			}
			if (k == sizeof(ents) / sizeof(ents[0]) && i < n && p[i] == '#') {
				unsigned long v = 0;
				size_t j = i + 1;
				int hex = j < n && p[j] == 'x';

				for (j += (size_t)hex; j < n && p[j] != ';' && v < 0x80; j++)
					v = v * (hex ? 16u : 10u) + (unsigned long)(p[j] <= '9' ?
						p[j] - '0' : (p[j] | 0x20) - 'a' + 10);
				if (j < n && v > 0 && v < 0x80) {
					ch = (char)v;
					i = j + 1;
				}
			}
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return (int)o;
}

int xel_attr(const struct xel *el, const char *name, char *out, size_t cap)
{
	const char *p = el->p + 1, *end = el->p + el->n, *a, *v;
	size_t nlen = strlen(name);

	out[0] = '\0';
	while (p < end && xml_name_char(*p))
		p++;		/* the element's name */
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p >= end || *p == '>' || *p == '/')
			return 0;
		a = p;
		while (p < end && *p != '=' && *p != ' ' && *p != '>')
			p++;
		if (p >= end || *p != '=' || p + 1 >= end || (p[1] != '\'' && p[1] != '"'))
			return 0;
		v = p + 2;
		if ((p = memchr(v, p[1], (size_t)(end - v))) == NULL)
			return 0;
		if ((size_t)(v - 2 - a) == nlen && memcmp(a, name, nlen) == 0)
			return xml_unescape(v, (size_t)(p - v), out, cap) < 0 ? -1 : 1;
		p++;
	}
}

const char *xel_tag(const struct xel *el, const char *from, const char *local, struct xel *tag)
{
	const char *p = from != NULL ? from : el->p, *end = el->p + el->n, *gt;

	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if (p[1] != '/' && xml_tag_name(p, end, &tag->name, &tag->name_len) &&
		    xel_is(tag, local) && (gt = xml_tag_end(p, end)) != NULL) {
			tag->p = p;
			tag->n = (size_t)(gt + 1 - p);
			return gt + 1;
		}
		p++;
	}
	return NULL;
}

int xel_text(const struct xel *el, const char *local, char *out, size_t cap)
{
	struct xel t;
	const char *s, *e, *end = el->p + el->n;

	if (local == NULL) {			/* el's own start tag */
		t.p = el->p;
		t.n = (size_t)(xml_tag_end(el->p, end) + 1 - el->p);
	} else if (xel_tag(el, NULL, local, &t) == NULL) {
		return -1;
	}
	if (t.p[t.n - 2] == '/') {		/* <x/>: empty */
		out[0] = '\0';
		return cap > 0 ? 0 : -1;
	}
	s = t.p + t.n;
	if ((e = memchr(s, '<', (size_t)(end - s))) == NULL)
		return -1;
	return xml_unescape(s, (size_t)(e - s), out, cap);
}

int xml_escape(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" :
				*s == '\'' ? "&apos;" : *s == '"' ? "&quot;" : NULL;
		size_t n = r != NULL ? strlen(r) : 1;

		if (o + n >= cap)
			return -1;
		memcpy(out + o, r != NULL ? r : s, n);
		o += n;
	}
	out[o] = '\0';
	return (int)o;
}
