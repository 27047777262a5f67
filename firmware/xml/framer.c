/*
 * The XML stream framer. Bytes go through a UTF-8 decoder that rejects overlong forms,
 * surrogates, code points past U+10FFFF and characters XML forbids; each complete character
 * then drives a hand-written state machine over XML's lexical states (tags, attributes,
 * references, CDATA). The bytes of the stream header or of the current top-level element are
 * kept in one buffer of at most max_bytes; whitespace between top-level elements is dropped
 * unbuffered. When the header or an element ends, Mini-XML parses the buffer into a tree.
 *
 * Namespaces: a declaration on the stream header is in scope for the whole stream, but an
 * element is routed on alone, so xml_ns_import() checks its names and copies onto it the
 * header's declarations that it uses. That walk is paid only by elements that need it: the
 * state machine notes a prefixed name (other than the ubiquitous xml:lang and the like) or
 * a default namespace that might be a reserved one, and all others skip it.
 *
 * Everything Mini-XML is given has already passed the state machine, so its laxer parser
 * never sees comments, processing instructions, DOCTYPE or unknown entities. Only CDATA
 * sections get through, and Mini-XML keeps those as pseudo-elements named "![CDATA[...";
 * xml_cdata_to_text() turns them back into text.
 */
#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "xml/framer.h"
#include "xml/xml.h"

/* Offsets in the buffer are 32-bit; nobody wants a 4 GB stanza. */
#define FR_MAX_BYTES	(UINT32_MAX - 2)

enum fr_phase {
	PH_START,	/* nothing yet: the XML declaration may come */
	PH_PROLOG,	/* before the stream header */
	PH_STREAM,	/* inside the stream */
	PH_DONE,	/* the stream was closed */
	PH_ERROR,
};

enum fr_state {
	ST_TOP,		/* between units: whitespace or '<' */
	ST_LT,		/* after '<' */
	ST_PI,		/* after "<?", matching "xml" (run: chars matched) */
	ST_DECL,	/* inside the XML declaration (run: after '?') */
	ST_BANG,	/* after "<!" */
	ST_CDATA_KW,	/* matching "CDATA[" (run: chars matched) */
	ST_CDATA,	/* (run: ']' seen) */
	ST_STAG_NAME,
	ST_STAG_WS,	/* in a start tag, before an attribute, '/' or '>' */
	ST_ATTR_NAME,
	ST_ATTR_NAME_WS,
	ST_ATTR_EQ,
	ST_ATTR_VAL,
	ST_ATTR_END,	/* after the closing quote */
	ST_EMPTY,	/* after '/' in a start tag */
	ST_ETAG_START,	/* after "</" */
	ST_ETAG_NAME,
	ST_ETAG_WS,
	ST_CONTENT,	/* (run: ']' seen, to refuse "]]>") */
	ST_REF,		/* after '&' */
	ST_REF_NAME,
	ST_CREF,	/* after "&#" */
	ST_CREF_DEC,	/* (run: a digit was seen) */
	ST_CREF_HEX,
};

struct fr_span {
	uint32_t off, len;
};

struct xml_framer {
	struct xml_limits lim;
	struct buf buf;			/* the bytes of the header or current element */
	struct fr_span *names;		/* names of open elements: max_depth, then attrs */
	struct fr_span *attrs;		/* attribute names of the current tag: max_attrs */
	mxml_node_t *hdr;		/* the header's name and xmlns declarations */
	char *ev_str;			/* ev->ns and ev->name of the last element */
	uint32_t cp;			/* the character being decoded */
	uint32_t ref;			/* the value of a character reference */
	uint32_t name_off;		/* where the current name starts in buf */
	uint32_t val_off;		/* where the current attribute value starts in buf */
	unsigned depth;			/* open elements of the current top-level element */
	unsigned nattrs;		/* attributes of the current tag */
	uint8_t phase, state;
	uint8_t ret;			/* the state a reference returns to */
	uint8_t need, lo;		/* UTF-8: continuation bytes due, least next byte */
	uint8_t cplen;			/* bytes of the current character */
	uint8_t quote;			/* of the current attribute value */
	uint8_t run;			/* per state, see enum fr_state */
	uint8_t err;			/* enum xml_err, in PH_ERROR */
	uint8_t ev;			/* enum xml_ev_type the last character completed */
	uint8_t empty_hdr;		/* the header was "<stream:stream/>" */
	uint8_t reflen;			/* characters of an entity name, 5: not predefined */
	uint8_t attr_xmlns;		/* the current attribute is named "xmlns" */
	uint8_t ns_work;		/* the unit's names need xml_ns_import() */
	char refname[4];
};

static int fr_is_ws(uint32_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int fr_hex(uint32_t c)
{
	if (c >= '0' && c <= '9')
		return (int)(c - '0');
	if (c >= 'a' && c <= 'f')
		return (int)(c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (int)(c - 'A' + 10);
	return -1;
}

static const char *fr_data(const struct xml_framer *f)
{
	return (const char *)buf_data(&f->buf);
}

static int fr_fail(struct xml_framer *f, enum xml_err e)
{
	f->phase = PH_ERROR;
	f->err = (uint8_t)e;
	log_debug("xml: stream error %s", xml_err_condition(e));
	return -1;
}

static int fr_event(struct xml_framer *f, enum xml_ev_type t)
{
	f->ev = (uint8_t)t;
	return 1;
}

static void fr_mxml_error(const char *msg)
{
	log_debug("xml: mini-xml: %s", msg);
}

/* The arrays of name spans, allocated when a stream or element starts. */
static int fr_scratch(struct xml_framer *f)
{
	size_t n = (size_t)f->lim.max_depth + f->lim.max_attrs + 1;

	if (f->names != NULL)
		return NT_OK;
	if ((f->names = calloc(n, sizeof(*f->names))) == NULL)
		return NT_ENOMEM;
	f->attrs = f->names + f->lim.max_depth;
	return NT_OK;
}

static void fr_to_content(struct xml_framer *f)
{
	f->state = ST_CONTENT;
	f->run = 0;
}

/* Between units. */
static int fr_top(struct xml_framer *f, uint32_t c)
{
	if (fr_is_ws(c)) {
		if (f->phase == PH_START)
			f->phase = PH_PROLOG;	/* the declaration must come first */
		return 0;
	}
	if (c == '<') {
		f->state = ST_LT;
		return 0;
	}
	return fr_fail(f, f->phase == PH_STREAM ? XML_ERR_BAD_FORMAT : XML_ERR_NOT_WELL_FORMED);
}

static int fr_stag_begin(struct xml_framer *f)
{
	if (f->phase == PH_STREAM) {	/* not the header, which is always checked */
		if (f->depth >= f->lim.max_depth)
			return fr_fail(f, XML_ERR_POLICY);
		if (f->depth++ == 0)
			f->ns_work = 0;
	}
	if (fr_scratch(f) != NT_OK)
		return fr_fail(f, XML_ERR_POLICY);
	f->name_off = (uint32_t)(f->buf.len - f->cplen);
	f->nattrs = 0;
	f->state = ST_STAG_NAME;
	return 0;
}

static int fr_lt(struct xml_framer *f, uint32_t c)
{
	switch (c) {
	case '/':
		if (f->depth == 0 && f->phase != PH_STREAM)
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		f->state = ST_ETAG_START;
		return 0;
	case '?':
		if (f->depth != 0 || f->phase != PH_START)
			return fr_fail(f, XML_ERR_RESTRICTED);
		f->state = ST_PI;
		f->run = 0;
		return 0;
	case '!':
		f->state = ST_BANG;
		return 0;
	}
	if (!xml_is_name_char(c, 1))
		return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	return fr_stag_begin(f);
}

/* "<?xml" and whitespace start the declaration; any other target is a processing instruction. */
static int fr_pi(struct xml_framer *f, uint32_t c)
{
	if (f->run < 3) {
		if (c == (uint32_t)"xml"[f->run]) {
			f->run++;
			return 0;
		}
		if (f->run > 0 || xml_is_name_char(c, 1))
			return fr_fail(f, XML_ERR_RESTRICTED);
		return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	}
	if (fr_is_ws(c)) {
		f->state = ST_DECL;
		f->run = 0;
		return 0;
	}
	return fr_fail(f, xml_is_name_char(c, 0) ? XML_ERR_RESTRICTED : XML_ERR_NOT_WELL_FORMED);
}

static int fr_decl(struct xml_framer *f, uint32_t c)
{
	if (c != '>' || !f->run) {
		f->run = c == '?';
		return 0;
	}
	if (!xml_decl_valid(fr_data(f), f->buf.len))
		return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	buf_consume(&f->buf, f->buf.len);
	f->phase = PH_PROLOG;
	f->state = ST_TOP;
	return 0;
}

/* "<!": a comment or DOCTYPE (restricted), or CDATA inside an element. */
static int fr_bang(struct xml_framer *f, uint32_t c)
{
	if (c == '-' || c == 'D')
		return fr_fail(f, XML_ERR_RESTRICTED);
	if (c != '[')
		return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	if (f->depth == 0)	/* CDATA is text, and text has no place at the top */
		return fr_fail(f, f->phase == PH_STREAM ? XML_ERR_BAD_FORMAT :
			       XML_ERR_NOT_WELL_FORMED);
	f->state = ST_CDATA_KW;
	f->run = 0;
	return 0;
}

static int fr_cdata(struct xml_framer *f, uint32_t c)
{
	if (f->state == ST_CDATA_KW) {
		if (c != (uint32_t)"CDATA["[f->run])
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		if (++f->run == 6) {
			f->state = ST_CDATA;
			f->run = 0;
		}
		return 0;
	}
	if (c == ']') {
		if (f->run < 2)
			f->run++;
		return 0;
	}
	if (c == '>' && f->run == 2)
		fr_to_content(f);
	else
		f->run = 0;
	return 0;
}

/* An element ended; the top-level one is complete. */
static int fr_elem_end(struct xml_framer *f)
{
	if (--f->depth == 0)
		return fr_event(f, XML_EV_ELEMENT);
	fr_to_content(f);
	return 0;
}

static int fr_stag_done(struct xml_framer *f, int empty)
{
	if (f->phase != PH_STREAM) {
		f->empty_hdr = (uint8_t)empty;
		return fr_event(f, XML_EV_OPEN);
	}
	if (empty)
		return fr_elem_end(f);
	fr_to_content(f);
	return 0;
}

/* Whitespace, '/' or '>' after a name or attribute value in a start tag. */
static int fr_stag_sep(struct xml_framer *f, uint32_t c)
{
	if (fr_is_ws(c))
		f->state = ST_STAG_WS;
	else if (c == '/')
		f->state = ST_EMPTY;
	else if (c == '>')
		return fr_stag_done(f, 0);
	else
		return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	return 0;
}

static int fr_attr_begin(struct xml_framer *f)
{
	if (f->nattrs >= f->lim.max_attrs)
		return fr_fail(f, XML_ERR_POLICY);
	f->attrs[f->nattrs].off = (uint32_t)(f->buf.len - f->cplen);
	f->state = ST_ATTR_NAME;
	return 0;
}

/* The value of an xmlns attribute ended (the closing quote is buffered). */
static void fr_xmlns_value(struct xml_framer *f)
{
	const char *v = fr_data(f) + f->val_off;

	f->ns_work |= (uint8_t)xml_default_needs_import(v, f->buf.len - 1 - f->val_off);
}

/* The attribute name ended before the current character: refuse duplicates. */
static int fr_attr_end(struct xml_framer *f)
{
	struct fr_span *a = &f->attrs[f->nattrs];
	const char *d = fr_data(f);
	unsigned i;

	a->len = (uint32_t)(f->buf.len - f->cplen - a->off);
	f->ns_work |= (uint8_t)xml_name_needs_import(d + a->off, a->len);
	f->attr_xmlns = a->len == 5 && memcmp(d + a->off, "xmlns", 5) == 0;
	for (i = 0; i < f->nattrs; i++) {
		const struct fr_span *o = &f->attrs[i];

		if (o->len == a->len && memcmp(d + o->off, d + a->off, a->len) == 0)
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	}
	f->nattrs++;
	return 0;
}

static int fr_stag(struct xml_framer *f, uint32_t c)
{
	switch (f->state) {
	case ST_STAG_NAME:
		if (xml_is_name_char(c, 0))
			return 0;
		if (f->phase == PH_STREAM) {
			struct fr_span *nm = &f->names[f->depth - 1];

			nm->off = f->name_off;
			nm->len = (uint32_t)(f->buf.len - f->cplen - nm->off);
			f->ns_work |= (uint8_t)xml_name_needs_import(fr_data(f) + nm->off,
								     nm->len);
		}
		return fr_stag_sep(f, c);
	case ST_STAG_WS:
		if (fr_is_ws(c))
			return 0;
		return xml_is_name_char(c, 1) ? fr_attr_begin(f) : fr_stag_sep(f, c);
	case ST_ATTR_NAME:
		if (xml_is_name_char(c, 0))
			return 0;
		if (fr_attr_end(f) != 0)
			return -1;
		/* fall through */
	case ST_ATTR_NAME_WS:
		if (c == '=')
			f->state = ST_ATTR_EQ;
		else if (fr_is_ws(c))
			f->state = ST_ATTR_NAME_WS;
		else
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);	/* e.g. <a x> */
		return 0;
	case ST_ATTR_EQ:
		if (fr_is_ws(c))
			return 0;
		if (c != '"' && c != '\'')
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);	/* unquoted */
		f->quote = (uint8_t)c;
		f->val_off = (uint32_t)f->buf.len;
		f->state = ST_ATTR_VAL;
		return 0;
	case ST_ATTR_VAL:
		if (c == '<')
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		if (c == f->quote) {
			if (f->attr_xmlns)
				fr_xmlns_value(f);
			f->state = ST_ATTR_END;
		} else if (c == '&') {
			f->ret = ST_ATTR_VAL;
			f->state = ST_REF;
		}
		return 0;
	case ST_ATTR_END:
		return fr_stag_sep(f, c);
	default:	/* ST_EMPTY */
		if (c != '>')
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		return fr_stag_done(f, 1);
	}
}

/* Does the end tag's name (before the current character) match the open element's? */
static int fr_etag_matches(struct xml_framer *f)
{
	const char *d = fr_data(f), *want;
	size_t len = f->buf.len - f->cplen - f->name_off, wlen;

	if (f->depth > 0) {
		want = d + f->names[f->depth - 1].off;
		wlen = f->names[f->depth - 1].len;
	} else {
		want = mxmlGetElement(f->hdr);	/* the stream's own end tag */
		wlen = strlen(want);
	}
	return len == wlen && memcmp(d + f->name_off, want, len) == 0;
}

static int fr_etag(struct xml_framer *f, uint32_t c)
{
	switch (f->state) {
	case ST_ETAG_START:
		if (!xml_is_name_char(c, 1))
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		f->name_off = (uint32_t)(f->buf.len - f->cplen);
		f->state = ST_ETAG_NAME;
		return 0;
	case ST_ETAG_NAME:
		if (xml_is_name_char(c, 0))
			return 0;
		if (!fr_etag_matches(f))
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		f->state = ST_ETAG_WS;
		/* fall through */
	default:	/* ST_ETAG_WS */
		if (fr_is_ws(c))
			return 0;
		if (c != '>')
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		if (f->depth == 0)
			return fr_event(f, XML_EV_CLOSE);
		return fr_elem_end(f);
	}
}

static int fr_content(struct xml_framer *f, uint32_t c)
{
	switch (c) {
	case '<':
		f->state = ST_LT;
		return 0;
	case '&':
		f->ret = ST_CONTENT;
		f->state = ST_REF;
		return 0;
	case ']':
		if (f->run < 2)
			f->run++;
		return 0;
	case '>':
		if (f->run == 2)	/* "]]>" may not appear in text */
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		break;
	}
	f->run = 0;
	return 0;
}

static int fr_ref_done(struct xml_framer *f)
{
	f->state = f->ret;
	f->run = 0;
	return 0;
}

static int fr_ref_named(struct xml_framer *f)
{
	static const char *const predefined[] = { "amp", "lt", "gt", "quot", "apos" };
	size_t i;

	for (i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++)
		if (strlen(predefined[i]) == f->reflen &&
		    memcmp(predefined[i], f->refname, f->reflen) == 0)
			return fr_ref_done(f);
	return fr_fail(f, XML_ERR_RESTRICTED);
}

/* Entity and character references: only the five predefined entities are allowed. */
static int fr_ref(struct xml_framer *f, uint32_t c)
{
	int d;

	switch (f->state) {
	case ST_REF:
		if (c == '#') {
			f->state = ST_CREF;
			return 0;
		}
		if (!xml_is_name_char(c, 1))
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		f->reflen = 0;
		f->state = ST_REF_NAME;
		/* fall through */
	case ST_REF_NAME:
		if (c == ';')
			return fr_ref_named(f);
		if (!xml_is_name_char(c, 0))
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		if (c < 0x80 && f->reflen < sizeof(f->refname))
			f->refname[f->reflen++] = (char)c;
		else
			f->reflen = sizeof(f->refname) + 1;	/* no predefined name */
		return 0;
	case ST_CREF:
		f->ref = 0;
		f->run = 0;
		f->state = c == 'x' ? ST_CREF_HEX : ST_CREF_DEC;
		if (c == 'x')
			return 0;
		/* fall through */
	default:	/* ST_CREF_DEC, ST_CREF_HEX */
		if (c == ';') {
			if (!f->run || !xml_is_char(f->ref))
				return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
			return fr_ref_done(f);
		}
		d = fr_hex(c);
		if (d < 0 || (f->state == ST_CREF_DEC && d > 9))
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		f->ref = f->ref * (f->state == ST_CREF_DEC ? 10 : 16) + (uint32_t)d;
		if (f->ref > 0x10FFFF)
			f->ref = 0x110000;	/* stays out of range, cannot overflow */
		f->run = 1;
		return 0;
	}
}

typedef int fr_step_fn(struct xml_framer *f, uint32_t c);

static fr_step_fn *const fr_steps[] = {
	[ST_TOP] = fr_top, [ST_LT] = fr_lt, [ST_PI] = fr_pi, [ST_DECL] = fr_decl,
	[ST_BANG] = fr_bang, [ST_CDATA_KW] = fr_cdata, [ST_CDATA] = fr_cdata,
	[ST_STAG_NAME] = fr_stag, [ST_STAG_WS] = fr_stag, [ST_ATTR_NAME] = fr_stag,
	[ST_ATTR_NAME_WS] = fr_stag, [ST_ATTR_EQ] = fr_stag, [ST_ATTR_VAL] = fr_stag,
	[ST_ATTR_END] = fr_stag, [ST_EMPTY] = fr_stag, [ST_ETAG_START] = fr_etag,
	[ST_ETAG_NAME] = fr_etag, [ST_ETAG_WS] = fr_etag, [ST_CONTENT] = fr_content,
	[ST_REF] = fr_ref, [ST_REF_NAME] = fr_ref, [ST_CREF] = fr_ref, [ST_CREF_DEC] = fr_ref,
	[ST_CREF_HEX] = fr_ref,
};

/* One complete character. 0: go on; 1: f->ev is complete; -1: the stream is broken. */
static int fr_char(struct xml_framer *f, uint32_t c)
{
	if (!xml_is_char(c))
		return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	return fr_steps[f->state](f, c);
}

/* Keeps a byte of the current unit, refusing to hold more than max_bytes. */
static int fr_keep(struct xml_framer *f, uint8_t c)
{
	struct buf *b = &f->buf;

	if (b->len >= f->lim.max_bytes)
		return fr_fail(f, XML_ERR_POLICY);
	if (b->off + b->len < b->cap) {
		b->p[b->off + b->len++] = c;
		return 0;
	}
	if (buf_append(b, &c, 1) != NT_OK) {
		log_err("xml: out of memory for a %zu byte element", b->len + 1);
		return fr_fail(f, XML_ERR_POLICY);
	}
	return 0;
}

/* A UTF-8 lead byte: sets how many continuation bytes follow and the least first one. */
static int fr_lead(struct xml_framer *f, uint8_t c)
{
	f->lo = 0x80;
	if (c >= 0xC2 && c <= 0xDF) {
		f->need = 1;
		f->cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		f->need = 2;
		f->cp = c & 0x0F;
		if (c == 0xE0)
			f->lo = 0xA0;	/* overlong; fr_char refuses surrogates */
	} else if (c >= 0xF0 && c <= 0xF4) {
		f->need = 3;
		f->cp = c & 0x07;
		if (c == 0xF0)
			f->lo = 0x90;	/* overlong; fr_char refuses past U+10FFFF */
	} else {
		return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
	}
	f->cplen = (uint8_t)(f->need + 1);
	return 0;
}

static int fr_byte(struct xml_framer *f, uint8_t c)
{
	if ((f->state != ST_TOP || c == '<') && fr_keep(f, c) != 0)
		return -1;
	if (f->need > 0) {
		if (c < f->lo || c > 0xBF)
			return fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		f->cp = f->cp << 6 | (c & 0x3F);
		f->lo = 0x80;
		if (--f->need > 0)
			return 0;
		return fr_char(f, f->cp);
	}
	if (c >= 0x80)
		return fr_lead(f, c);
	f->cplen = 1;
	return fr_char(f, c);
}

/* The tree's names must be namespace-well-formed with the stream header's declarations, and
 * it takes along those it uses. An unbound prefix breaks Namespaces in XML, so it is
 * not-well-formed (RFC 6120 4.9.3.12). */
static enum xml_err fr_check_names(struct xml_framer *f, mxml_node_t *n)
{
	switch (xml_ns_import(n, f->hdr)) {
	case NT_OK:	return XML_ERR_NONE;
	case NT_ENOMEM:	return XML_ERR_POLICY;
	default:	return XML_ERR_NOT_WELL_FORMED;
	}
}

/* Parses the buffered unit; the header is closed first so it parses as an empty element. */
static mxml_node_t *fr_parse(struct xml_framer *f, int header)
{
	struct buf *b = &f->buf;

	if (header && !f->empty_hdr) {
		b->p[b->off + b->len - 1] = '/';
		if (buf_append(b, ">", 1) != NT_OK)
			return NULL;
	}
	if (buf_append(b, "", 1) != NT_OK)
		return NULL;
	return mxmlLoadString(NULL, fr_data(f), MXML_OPAQUE_CALLBACK);
}

static enum xml_err fr_open(struct xml_framer *f, mxml_node_t *n, struct xml_event *ev)
{
	enum xml_err e;
	int i, cnt = mxmlElementGetAttrCount(n);

	if ((e = fr_check_names(f, n)) != XML_ERR_NONE)
		return e;
	if ((f->hdr = mxmlNewElement(MXML_NO_PARENT, mxmlGetElement(n))) == NULL)
		return XML_ERR_POLICY;
	for (i = 0; i < cnt; i++) {
		const char *name = "", *val = mxmlElementGetAttrByIndex(n, i, &name);

		if (strncmp(name, "xmlns", 5) == 0 && (name[5] == '\0' || name[5] == ':'))
			mxmlElementSetAttr(f->hdr, name, val);
	}
	ev->ns = xml_ns(f->hdr, "");
	ev->name = xml_local_name(f->hdr);
	f->phase = f->empty_hdr ? PH_DONE : PH_STREAM;
	return XML_ERR_NONE;
}

static enum xml_err fr_element(struct xml_framer *f, mxml_node_t *n, struct xml_event *ev)
{
	const char *name = mxmlGetElement(n), *colon = strchr(name, ':'), *ns, *local;
	enum xml_err e;
	size_t nl, ll, plen;

	if (xml_cdata_to_text(n) != NT_OK)
		return XML_ERR_POLICY;
	if (f->ns_work && (e = fr_check_names(f, n)) != XML_ERR_NONE)
		return e;
	plen = colon ? (size_t)(colon - name) : 0;
	if ((ns = xml_prefix_ns(n, name, plen)) == NULL)	/* inherited from the stream? */
		ns = f->hdr ? xml_prefix_ns(f->hdr, name, plen) : NULL;
	ns = ns ? ns : "";
	local = colon ? colon + 1 : name;
	nl = strlen(ns);
	ll = strlen(local);
	if ((f->ev_str = malloc(nl + ll + 2)) == NULL)
		return XML_ERR_POLICY;
	memcpy(f->ev_str, ns, nl + 1);
	memcpy(f->ev_str + nl + 1, local, ll + 1);
	ev->ns = f->ev_str;
	ev->name = f->ev_str + nl + 1;
	return XML_ERR_NONE;
}

/* Turns the completed unit into ev. */
static void fr_finish(struct xml_framer *f, struct xml_event *ev)
{
	enum xml_ev_type t = (enum xml_ev_type)f->ev;
	mxml_node_t *n;
	enum xml_err e;

	f->ev = XML_EV_NONE;
	f->state = ST_TOP;
	if (t == XML_EV_CLOSE) {
		buf_consume(&f->buf, f->buf.len);
		f->phase = PH_DONE;
		ev->type = t;
		ev->ns = xml_ns(f->hdr, "");
		ev->name = xml_local_name(f->hdr);
		return;
	}
	n = fr_parse(f, t == XML_EV_OPEN);
	buf_consume(&f->buf, f->buf.len);
	if (n == NULL) {
		fr_fail(f, XML_ERR_NOT_WELL_FORMED);
		return;
	}
	e = t == XML_EV_OPEN ? fr_open(f, n, ev) : fr_element(f, n, ev);
	if (e != XML_ERR_NONE) {
		mxmlDelete(n);
		fr_fail(f, e);
		return;
	}
	ev->type = t;
	ev->node = n;
}

struct xml_framer *xml_framer_new(const struct xml_limits *lim)
{
	struct xml_framer *f;

	if (lim == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->lim = *lim;
	if (f->lim.max_bytes > FR_MAX_BYTES)
		f->lim.max_bytes = FR_MAX_BYTES;
	buf_init(&f->buf, f->lim.max_bytes + 2);	/* room for "/>" or the NUL */
	mxmlSetErrorCallback(fr_mxml_error);	/* Mini-XML would print to stderr */
	return f;
}

static void fr_release(struct xml_framer *f)
{
	buf_free(&f->buf);
	free(f->names);
	free(f->ev_str);
	mxmlDelete(f->hdr);
}

void xml_framer_free(struct xml_framer *f)
{
	if (f == NULL)
		return;
	fr_release(f);
	free(f);
}

void xml_framer_reset(struct xml_framer *f)
{
	struct xml_limits lim;

	if (f == NULL)
		return;
	lim = f->lim;
	fr_release(f);
	memset(f, 0, sizeof(*f));
	f->lim = lim;
	buf_init(&f->buf, lim.max_bytes + 2);
}

void xml_framer_shrink(struct xml_framer *f)
{
	if (f == NULL || (f->state != ST_TOP && f->phase < PH_DONE))
		return;
	buf_shrink(&f->buf);	/* empty between units */
	free(f->names);
	f->names = f->attrs = NULL;
	/* ev_str stays: a caller may shrink before it looks at the event */
}

size_t xml_framer_feed(struct xml_framer *f, const uint8_t *p, size_t n, struct xml_event *ev)
{
	size_t i = 0;
	int rc = 0;

	memset(ev, 0, sizeof(*ev));
	ev->ns = ev->name = "";
	free(f->ev_str);
	f->ev_str = NULL;
	if (f->phase == PH_DONE) {	/* also right after a self-closed header */
		ev->type = XML_EV_CLOSE;
		ev->ns = xml_ns(f->hdr, "");
		ev->name = xml_local_name(f->hdr);
		return 0;
	}
	while (rc == 0 && i < n && f->phase != PH_ERROR)
		rc = fr_byte(f, p[i++]);
	if (rc > 0)
		fr_finish(f, ev);
	if (f->phase == PH_ERROR) {
		ev->type = XML_EV_ERROR;
		ev->error = (enum xml_err)f->err;
		ev->node = NULL;
		ev->ns = ev->name = "";
	}
	return i;
}

const char *xml_err_condition(enum xml_err e)
{
	switch (e) {
	case XML_ERR_NOT_WELL_FORMED:	return "not-well-formed";
	case XML_ERR_RESTRICTED:	return "restricted-xml";
	case XML_ERR_POLICY:		return "policy-violation";
	case XML_ERR_BAD_FORMAT:	return "bad-format";
	default:			return "undefined-condition";
	}
}
