#ifndef NATTER_XML_FRAMER_H
#define NATTER_XML_FRAMER_H
/*
 * The XML stream framer: cuts an XMPP byte stream into the stream header, complete top-level
 * elements and the stream's end, whatever way the bytes are split. It enforces XMPP's
 * restrictions (RFC 6120 section 11: no DOCTYPE, processing instructions, comments, or
 * entities other than the five predefined ones and character references; UTF-8 only) and the
 * limits it is given. Complete elements come back as Mini-XML trees.
 */
#include <stddef.h>
#include <stdint.h>
#include <mxml.h>

#define XMLNS_STREAM "http://etherx.jabber.org/streams"

enum xml_ev_type {
	XML_EV_NONE,		/* all input consumed, nothing complete yet */
	XML_EV_OPEN,		/* the stream header */
	XML_EV_ELEMENT,		/* a complete top-level element */
	XML_EV_CLOSE,		/* </stream:stream> */
	XML_EV_ERROR,		/* the stream is broken; error says how */
};

enum xml_err {
	XML_ERR_NONE,
	XML_ERR_NOT_WELL_FORMED,	/* "not-well-formed", also for Namespaces in XML */
	XML_ERR_RESTRICTED,		/* "restricted-xml" */
	XML_ERR_POLICY,			/* "policy-violation": a limit was passed */
	XML_ERR_BAD_FORMAT,		/* "bad-format": e.g. text at the top level */
};

struct xml_limits {
	size_t max_bytes;	/* largest top-level element, or stream header */
	unsigned max_depth;	/* deepest nesting inside a top-level element */
	unsigned max_attrs;	/* attributes per element */
};

struct xml_event {
	enum xml_ev_type type;
	enum xml_err error;	/* XML_EV_ERROR */
	/* XML_EV_OPEN: the header as an element without children, its name as written
	 * ("stream:stream"), its attributes as sent. XML_EV_ELEMENT: the element's tree,
	 * namespace-well-formed on its own: it carries the header's xmlns:prefix declarations
	 * that it uses (copied onto the element), so it can be serialised onto another stream.
	 * Unprefixed names still take the stream's default namespace, which the tree does not
	 * repeat: a recipient's stream must have the same one (jabber:client to jabber:client).
	 * The caller owns it and frees it with mxmlDelete(). */
	mxml_node_t *node;
	/* Namespace and local name of the header or element ("jabber:client", "message"),
	 * resolved from xmlns and xmlns:prefix declarations of the header and the element.
	 * Valid until the next call on the framer. "" when undeclared. */
	const char *ns;
	const char *name;
};

struct xml_framer;

/* NULL when out of memory. */
struct xml_framer *xml_framer_new(const struct xml_limits *lim);
/* NULL-safe. */
void xml_framer_free(struct xml_framer *f);
/* Forget everything: a new stream header is expected next (after STARTTLS or SASL). */
void xml_framer_reset(struct xml_framer *f);
/* Releases buffers while nothing is pending, so an idle stream costs little memory. */
void xml_framer_shrink(struct xml_framer *f);
/* Reads p[0..n) up to the end of the next event and returns how many bytes it used; fills
 * ev. With XML_EV_NONE all n bytes were used. After XML_EV_ERROR or XML_EV_CLOSE the framer
 * accepts nothing more until reset. */
size_t xml_framer_feed(struct xml_framer *f, const uint8_t *p, size_t n, struct xml_event *ev);
/* The stream error condition for an error ("not-well-formed", ...). */
const char *xml_err_condition(enum xml_err e);
#endif
