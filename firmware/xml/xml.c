/*
 * Mini-XML helpers. The serialiser is ours rather than mxmlSaveString(): Mini-XML ends its
 * output with a newline, writes "<a />", and leaves CR, TAB and LF raw in attribute values,
 * where a receiving parser would normalise them away.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "core/buf.h"
#include "core/err.h"
#include "xml/xml.h"

static int xml_put(struct buf *b, const char *s, size_t n)
{
	return buf_append(b, s, n);
}

static int xml_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* The escape for c in text (attr 0) or in a double-quoted attribute value, or NULL. */
static const char *xml_escape_of(unsigned char c, int attr)
{
	switch (c) {
	case '&':  return "&amp;";
	case '<':  return "&lt;";
	case '>':  return "&gt;";
	case '\r': return "&#13;";
	case '"':  return attr ? "&quot;" : NULL;
	case '\t': return attr ? "&#9;" : NULL;
	case '\n': return attr ? "&#10;" : NULL;
	default:   return NULL;
	}
}

static int xml_put_escaped(struct buf *b, const char *s, int attr)
{
	const char *run = s, *esc;
	int rc;

	for (; *s != '\0'; s++) {
		if ((esc = xml_escape_of((unsigned char)*s, attr)) == NULL)
			continue;
		if ((rc = xml_put(b, run, (size_t)(s - run))) != NT_OK ||
		    (rc = xml_puts(b, esc)) != NT_OK)
			return rc;
		run = s + 1;
	}
	return xml_put(b, run, (size_t)(s - run));
}

static int xml_put_start(struct buf *b, mxml_node_t *el, int empty)
{
	int i, rc, n = mxmlElementGetAttrCount(el);

	if ((rc = xml_puts(b, "<")) != NT_OK || (rc = xml_puts(b, mxmlGetElement(el))) != NT_OK)
		return rc;
	for (i = 0; i < n; i++) {
		const char *name = NULL, *val = mxmlElementGetAttrByIndex(el, i, &name);

		if (name == NULL)
			continue;
		if ((rc = xml_puts(b, " ")) != NT_OK || (rc = xml_puts(b, name)) != NT_OK ||
		    (rc = xml_puts(b, "=\"")) != NT_OK ||
		    (rc = xml_put_escaped(b, val ? val : "", 1)) != NT_OK ||
		    (rc = xml_puts(b, "\"")) != NT_OK)
			return rc;
	}
	return xml_puts(b, empty ? "/>" : ">");
}

static int xml_put_end(struct buf *b, mxml_node_t *el)
{
	int rc;

	if ((rc = xml_puts(b, "</")) != NT_OK || (rc = xml_puts(b, mxmlGetElement(el))) != NT_OK)
		return rc;
	return xml_puts(b, ">");
}

/* A node without children: an empty element or one of Mini-XML's value nodes. */
static int xml_put_leaf(struct buf *b, mxml_node_t *n)
{
	char num[64];
	int ws = 0;
	const char *s;

	switch (mxmlGetType(n)) {
	case MXML_ELEMENT:
		return xml_put_start(b, n, 1);
	case MXML_OPAQUE:
		s = mxmlGetOpaque(n);
		return xml_put_escaped(b, s ? s : "", 0);
	case MXML_TEXT:
		s = mxmlGetText(n, &ws);
		if (ws && xml_puts(b, " ") != NT_OK)
			return NT_ENOMEM;
		return xml_put_escaped(b, s ? s : "", 0);
	case MXML_INTEGER:
		snprintf(num, sizeof(num), "%d", mxmlGetInteger(n));
		return xml_puts(b, num);
	case MXML_REAL:
		snprintf(num, sizeof(num), "%g", mxmlGetReal(n));
		return xml_puts(b, num);
	default:
		return NT_OK;	/* custom nodes have no agreed text form */
	}
}

/* Walks the subtree without recursion, so a deep tree cannot exhaust the stack. */
static int xml_put_tree(struct buf *b, mxml_node_t *top)
{
	mxml_node_t *n = top, *child;
	int rc;

	for (;;) {
		child = mxmlGetType(n) == MXML_ELEMENT ? mxmlGetFirstChild(n) : NULL;
		if (child != NULL) {
			if ((rc = xml_put_start(b, n, 0)) != NT_OK)
				return rc;
			n = child;
			continue;
		}
		if ((rc = xml_put_leaf(b, n)) != NT_OK)
			return rc;
		while (n != top && mxmlGetNextSibling(n) == NULL) {
			n = mxmlGetParent(n);
			if ((rc = xml_put_end(b, n)) != NT_OK)
				return rc;
		}
		if (n == top)
			return NT_OK;
		n = mxmlGetNextSibling(n);
	}
}

char *xml_serialize(mxml_node_t *n, size_t *len)
{
	struct buf b;

	if (n == NULL)
		return NULL;
	buf_init(&b, SIZE_MAX);
	if (xml_put_tree(&b, n) != NT_OK || xml_put(&b, "", 1) != NT_OK) {
		buf_free(&b);
		return NULL;
	}
	if (len != NULL)
		*len = b.len - 1;
	return (char *)b.p;	/* nothing was consumed, so the data starts at p */
}

static int xml_is_decl(const char *attr, const char *prefix, size_t len)
{
	if (strncmp(attr, "xmlns", 5) != 0)
		return 0;
	if (len == 0)
		return attr[5] == '\0';
	return attr[5] == ':' && strlen(attr + 6) == len && memcmp(attr + 6, prefix, len) == 0;
}

const char *xml_prefix_ns(mxml_node_t *el, const char *prefix, size_t len)
{
	if (len == 3 && memcmp(prefix, "xml", 3) == 0)
		return XMLNS_XML;
	for (; el != NULL; el = mxmlGetParent(el)) {
		int i, n;

		if (mxmlGetType(el) != MXML_ELEMENT)
			continue;
		n = mxmlElementGetAttrCount(el);
		for (i = 0; i < n; i++) {
			const char *name = NULL, *val = mxmlElementGetAttrByIndex(el, i, &name);

			if (name != NULL && xml_is_decl(name, prefix, len))
				return val ? val : "";
		}
	}
	return NULL;
}

const char *xml_ns(mxml_node_t *el, const char *dflt)
{
	const char *name, *colon, *ns;

	if (el == NULL || mxmlGetType(el) != MXML_ELEMENT || (name = mxmlGetElement(el)) == NULL)
		return dflt;
	colon = strchr(name, ':');
	ns = xml_prefix_ns(el, name, colon ? (size_t)(colon - name) : 0);
	return ns ? ns : dflt;
}

const char *xml_local_name(mxml_node_t *el)
{
	const char *name, *colon;

	if (el == NULL || mxmlGetType(el) != MXML_ELEMENT || (name = mxmlGetElement(el)) == NULL)
		return "";
	colon = strchr(name, ':');
	return colon ? colon + 1 : name;
}

mxml_node_t *xml_child(mxml_node_t *parent, const char *name, const char *ns)
{
	mxml_node_t *c;

	if (parent == NULL || name == NULL)
		return NULL;
	for (c = mxmlGetFirstChild(parent); c != NULL; c = mxmlGetNextSibling(c)) {
		const char *cns;

		if (mxmlGetType(c) != MXML_ELEMENT || strcmp(xml_local_name(c), name) != 0)
			continue;
		if (ns == NULL || ((cns = xml_ns(c, NULL)) != NULL && strcmp(cns, ns) == 0))
			return c;
	}
	return NULL;
}

/* Copies s[0..n) to out + at, as much as fits in cap bytes with the NUL. */
static void xml_text_copy(char *out, size_t cap, size_t at, const char *s, size_t n)
{
	if (at + 1 >= cap)
		return;
	if (n > cap - 1 - at)
		n = cap - 1 - at;
	memcpy(out + at, s, n);
	out[at + n] = '\0';
}

size_t xml_text(mxml_node_t *el, char *out, size_t cap)
{
	mxml_node_t *c;
	size_t total = 0, n;

	if (cap > 0)
		out[0] = '\0';
	for (c = el ? mxmlGetFirstChild(el) : NULL; c != NULL; c = mxmlGetNextSibling(c)) {
		int ws = 0;
		const char *s;

		if (mxmlGetType(c) == MXML_OPAQUE) {
			s = mxmlGetOpaque(c);
		} else if (mxmlGetType(c) == MXML_TEXT) {
			if ((s = mxmlGetText(c, &ws)) != NULL && ws)
				xml_text_copy(out, cap, total++, " ", 1);
		} else {
			continue;
		}
		if (s == NULL)
			continue;
		n = strlen(s);
		xml_text_copy(out, cap, total, s, n);
		total += n;
	}
	return total;
}

mxml_node_t *xml_elem(mxml_node_t *parent, const char *name, const char *xmlns)
{
	mxml_node_t *e;

	if (name == NULL)
		return NULL;
	if ((e = mxmlNewElement(parent ? parent : MXML_NO_PARENT, name)) == NULL)
		return NULL;
	if (xmlns == NULL)
		return e;
	mxmlElementSetAttr(e, "xmlns", xmlns);	/* returns nothing; check it took */
	if (mxmlElementGetAttr(e, "xmlns") == NULL) {
		mxmlDelete(e);
		return NULL;
	}
	return e;
}

mxml_node_t *xml_add_text(mxml_node_t *el, const char *text)
{
	if (el == NULL || text == NULL)
		return NULL;
	return mxmlNewOpaque(el, text);
}

static const uint32_t xml_name_start[][2] = {
	{ ':', ':' }, { 'A', 'Z' }, { '_', '_' }, { 'a', 'z' }, { 0xC0, 0xD6 }, { 0xD8, 0xF6 },
	{ 0xF8, 0x2FF }, { 0x370, 0x37D }, { 0x37F, 0x1FFF }, { 0x200C, 0x200D },
	{ 0x2070, 0x218F }, { 0x2C00, 0x2FEF }, { 0x3001, 0xD7FF }, { 0xF900, 0xFDCF },
	{ 0xFDF0, 0xFFFD }, { 0x10000, 0xEFFFF },
};
static const uint32_t xml_name_more[][2] = {
	{ '-', '.' }, { '0', '9' }, { 0xB7, 0xB7 }, { 0x300, 0x36F }, { 0x203F, 0x2040 },
};

static int xml_in(uint32_t c, const uint32_t (*r)[2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (c >= r[i][0] && c <= r[i][1])
			return 1;
	return 0;
}

int xml_is_name_char(uint32_t c, int first)
{
	if (xml_in(c, xml_name_start, sizeof(xml_name_start) / sizeof(xml_name_start[0])))
		return 1;
	return !first && xml_in(c, xml_name_more, sizeof(xml_name_more) / sizeof(xml_name_more[0]));
}

int xml_is_char(uint32_t c)
{
	return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0xD7FF) ||
	       (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

static int xml_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *xml_skip_ws(const char *p, const char *end)
{
	while (p < end && xml_is_ws(*p))
		p++;
	return p;
}

/* Parses S name Eq quoted-value at *pp; sets the value's bounds. 0 on success. */
static int xml_pseudo_attr(const char **pp, const char *end, const char *name,
			   const char **v, size_t *vl)
{
	const char *p = *pp, *q;
	size_t nl = strlen(name);

	if (p >= end || !xml_is_ws(*p))
		return -1;
	p = xml_skip_ws(p, end);
	if ((size_t)(end - p) < nl || memcmp(p, name, nl) != 0)
		return -1;
	p = xml_skip_ws(p + nl, end);
	if (p >= end || *p != '=')
		return -1;
	p = xml_skip_ws(p + 1, end);
	if (p >= end || (*p != '"' && *p != '\''))
		return -1;
	if ((q = memchr(p + 1, *p, (size_t)(end - p - 1))) == NULL)
		return -1;
	*v = p + 1;
	*vl = (size_t)(q - p - 1);
	*pp = q + 1;
	return 0;
}

int xml_decl_valid(const char *s, size_t n)
{
	const char *p = s + 5, *end = s + n - 2, *v, *save;	/* inside "<?xml" .. "?>" */
	size_t vl, i;

	if (xml_pseudo_attr(&p, end, "version", &v, &vl) != 0 || vl < 3 || memcmp(v, "1.", 2))
		return 0;
	for (i = 2; i < vl; i++)
		if (v[i] < '0' || v[i] > '9')
			return 0;
	save = p;
	if (xml_pseudo_attr(&p, end, "encoding", &v, &vl) != 0)
		p = save;
	else if (vl != 5 || strncasecmp(v, "UTF-8", 5) != 0)
		return 0;	/* RFC 6120 section 11.6: UTF-8 only */
	save = p;
	if (xml_pseudo_attr(&p, end, "standalone", &v, &vl) != 0)
		p = save;
	else if (!(vl == 3 && memcmp(v, "yes", 3) == 0) && !(vl == 2 && memcmp(v, "no", 2) == 0))
		return 0;
	return xml_skip_ws(p, end) == end;
}

#define XMLNS_XMLNS "http://www.w3.org/2000/xmlns/"

int xml_name_needs_import(const char *name, size_t len)
{
	const char *colon = memchr(name, ':', len);

	if (colon == NULL)
		return 0;
	/* xml:lang and the like: always bound, a valid local part, no second colon */
	return colon - name != 3 || memcmp(name, "xml", 3) != 0 || len < 5 ||
	       !((name[4] >= 'a' && name[4] <= 'z') || (name[4] >= 'A' && name[4] <= 'Z')) ||
	       memchr(name + 4, ':', len - 4) != NULL;
}

int xml_default_needs_import(const char *v, size_t len)
{
	static const char *const reserved[] = { XMLNS_XML, XMLNS_XMLNS };
	size_t i;

	if (memchr(v, '&', len) != NULL)
		return 1;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (len == strlen(reserved[i]) && memcmp(v, reserved[i], len) == 0)
			return 1;
	return 0;
}

/* The code point at s, or 0 when s ends first (trees may come from anywhere, so stop at NUL). */
static uint32_t xml_char_at(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int i, more = p[0] >= 0xF0 ? 3 : p[0] >= 0xE0 ? 2 : p[0] >= 0xC0 ? 1 : 0;
	uint32_t c = p[0] & (more ? 0x3Fu >> more : 0x7Fu);

	for (i = 1; i <= more; i++) {
		if (p[i] == '\0')
			return 0;
		c = c << 6 | (p[i] & 0x3Fu);
	}
	return c;
}

/* A QName: at most one colon, with a prefix before it and a NameStartChar after it (a
 * namespace-aware parser such as expat refuses "a:-b"). *plen: the prefix's length, 0 none. */
static int xml_qname(const char *name, size_t *plen)
{
	const char *colon = strchr(name, ':');

	*plen = 0;
	if (colon == NULL)
		return NT_OK;
	if (colon == name || strchr(colon + 1, ':') != NULL ||
	    !xml_is_name_char(xml_char_at(colon + 1), 1))
		return NT_EINVAL;
	*plen = (size_t)(colon - name);
	return NT_OK;
}

static int xml_is_decl_attr(const char *name)
{
	return strncmp(name, "xmlns", 5) == 0 && (name[5] == '\0' || name[5] == ':');
}

/* Namespaces in XML 1.0 section 3: the prefix xmlns is never declared, xml only to its own
 * namespace, neither reserved namespace to anything else, and a prefix is never undeclared.
 * A recipient's parser drops the stream on any of these. */
static int xml_check_decl(const char *name, const char *val)
{
	int to_xml = strcmp(val, XMLNS_XML) == 0, to_xmlns = strcmp(val, XMLNS_XMLNS) == 0;

	if (name[5] == '\0')
		return to_xml || to_xmlns ? NT_EINVAL : NT_OK;
	if (strcmp(name + 6, "xml") == 0)
		return to_xml ? NT_OK : NT_EINVAL;
	if (strcmp(name + 6, "xmlns") == 0 || val[0] == '\0' || to_xml || to_xmlns)
		return NT_EINVAL;
	return NT_OK;
}

/* A prefix used at el must be bound within the tree; one bound only at outer has its
 * declaration copied onto top, the outermost element, where it cannot shadow any other. */
static int xml_bind_use(mxml_node_t *top, mxml_node_t *el, mxml_node_t *outer,
			const char *name, size_t plen)
{
	const char *ns;
	char *decl;
	int rc = NT_OK;

	if (plen == 0 || xml_prefix_ns(el, name, plen) != NULL)
		return NT_OK;
	if ((ns = xml_prefix_ns(outer, name, plen)) == NULL)
		return NT_ENOENT;
	if ((decl = malloc(plen + 7)) == NULL)
		return NT_ENOMEM;
	memcpy(decl, "xmlns:", 6);
	memcpy(decl + 6, name, plen);
	decl[plen + 6] = '\0';
	mxmlElementSetAttr(top, decl, ns);	/* returns nothing; check it took */
	if (mxmlElementGetAttr(top, decl) == NULL)
		rc = NT_ENOMEM;
	free(decl);
	return rc;
}

/* Two prefixed attributes may not share a local name and a namespace ("a:x" and "b:x" with
 * a and b bound to one namespace). Unprefixed ones the framer already compared by name. */
static int xml_check_dup_attrs(mxml_node_t *el)
{
	int i, j, cnt = mxmlElementGetAttrCount(el);

	for (i = 1; i < cnt; i++) {
		const char *a = "", *ac;

		mxmlElementGetAttrByIndex(el, i, &a);
		if ((ac = strchr(a, ':')) == NULL || xml_is_decl_attr(a))
			continue;
		for (j = 0; j < i; j++) {
			const char *b = "", *bc, *an, *bn;

			mxmlElementGetAttrByIndex(el, j, &b);
			if ((bc = strchr(b, ':')) == NULL || xml_is_decl_attr(b) ||
			    strcmp(ac + 1, bc + 1) != 0)
				continue;
			an = xml_prefix_ns(el, a, (size_t)(ac - a));
			bn = xml_prefix_ns(el, b, (size_t)(bc - b));
			if (an != NULL && bn != NULL && strcmp(an, bn) == 0)
				return NT_EINVAL;
		}
	}
	return NT_OK;
}

/* One element: its declarations, then the names that use prefixes. */
static int xml_import_element(mxml_node_t *top, mxml_node_t *el, mxml_node_t *outer)
{
	int i, rc, prefixed = 0, cnt = mxmlElementGetAttrCount(el);	/* before any copy */
	const char *name = mxmlGetElement(el);
	size_t plen;

	for (i = 0; i < cnt; i++) {
		const char *an = "", *val = mxmlElementGetAttrByIndex(el, i, &an);

		if (!xml_is_decl_attr(an))
			continue;
		if ((rc = xml_qname(an, &plen)) != NT_OK ||
		    (rc = xml_check_decl(an, val ? val : "")) != NT_OK)
			return rc;
	}
	if ((rc = xml_qname(name, &plen)) != NT_OK ||
	    (rc = xml_bind_use(top, el, outer, name, plen)) != NT_OK)
		return rc;
	for (i = 0; i < cnt; i++) {
		const char *an = "";

		mxmlElementGetAttrByIndex(el, i, &an);
		if (xml_is_decl_attr(an))
			continue;
		if ((rc = xml_qname(an, &plen)) != NT_OK ||
		    (rc = xml_bind_use(top, el, outer, an, plen)) != NT_OK)
			return rc;
		prefixed += plen > 0;
	}
	return prefixed > 1 ? xml_check_dup_attrs(el) : NT_OK;
}

int xml_ns_import(mxml_node_t *top, mxml_node_t *outer)
{
	mxml_node_t *n;
	int rc;

	for (n = top; n != NULL; n = mxmlWalkNext(n, top, MXML_DESCEND)) {
		if (mxmlGetType(n) != MXML_ELEMENT)
			continue;
		if ((rc = xml_import_element(top, n, outer)) != NT_OK)
			return rc;
	}
	return NT_OK;
}

#define XML_CDATA	"![CDATA["
#define XML_CDATA_LEN	(sizeof(XML_CDATA) - 1)

static const char *xml_opaque(mxml_node_t *n)
{
	return n != NULL && mxmlGetType(n) == MXML_OPAQUE ? mxmlGetOpaque(n) : NULL;
}

/* Replaces a CDATA pseudo-element with its text, merged with neighbouring text. Returns the
 * text node left in its place, or NULL when out of memory. */
static mxml_node_t *xml_cdata_node(mxml_node_t *cd)
{
	mxml_node_t *prev = mxmlGetPrevSibling(cd), *next = mxmlGetNextSibling(cd), *t = prev;
	const char *a = xml_opaque(prev), *b = mxmlGetElement(cd) + XML_CDATA_LEN;
	const char *c = xml_opaque(next);
	size_t la = a ? strlen(a) : 0, lb = strlen(b), lc = c ? strlen(c) : 0;
	char *s = malloc(la + lb + lc + 1);
	int rc;

	if (s == NULL)
		return NULL;
	memcpy(s, a ? a : "", la);
	memcpy(s + la, b, lb);
	memcpy(s + la + lb, c ? c : "", lc + 1);
	if (a == NULL) {
		if ((t = mxmlNewOpaque(MXML_NO_PARENT, "")) == NULL) {
			free(s);
			return NULL;
		}
		mxmlAdd(mxmlGetParent(cd), MXML_ADD_BEFORE, cd, t);
	}
	rc = mxmlSetOpaque(t, s);
	free(s);
	mxmlDelete(cd);
	if (c != NULL)
		mxmlDelete(next);
	return rc == 0 ? t : NULL;
}

int xml_cdata_to_text(mxml_node_t *top)
{
	mxml_node_t *n, *next, *t;

	for (n = top; n != NULL; n = next) {
		const char *name = mxmlGetType(n) == MXML_ELEMENT ? mxmlGetElement(n) : "";

		if (n == top || strncmp(name, XML_CDATA, XML_CDATA_LEN) != 0) {
			next = mxmlWalkNext(n, top, MXML_DESCEND);
			continue;
		}
		if ((t = xml_cdata_node(n)) == NULL)
			return NT_ENOMEM;
		next = mxmlWalkNext(t, top, MXML_NO_DESCEND);
		if (*mxmlGetOpaque(t) == '\0')
			mxmlDelete(t);		/* "<![CDATA[]]>" between elements */
	}
	return NT_OK;
}
