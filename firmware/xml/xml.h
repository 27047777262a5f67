#ifndef NATTER_XML_XML_H
#define NATTER_XML_XML_H
/*
 * Small helpers over Mini-XML trees: building replies, serialising them, and reading
 * namespaces, children and text of received elements; making an element namespace-well-formed
 * on its own; and XML's lexical rules for the framer. Text is kept as MXML_OPAQUE nodes.
 */
#include <stddef.h>
#include <stdint.h>
#include <mxml.h>

#define XMLNS_XML "http://www.w3.org/XML/1998/namespace"

/* Serialises n (an element and its subtree, or a text node) without an XML declaration,
 * indentation or line wrapping. Text escapes &, <, > (and CR as &#13;); attribute values are
 * double-quoted and escape &, <, >, " (and TAB, LF, CR as character references, so they
 * survive attribute-value normalisation). UTF-8 is written as is. Returns a malloc'd,
 * NUL-terminated string the caller frees; *len (when len is not NULL) is its length.
 * NULL when n is NULL or out of memory. */
char *xml_serialize(mxml_node_t *n, size_t *len);

/* First child element of parent with local name `name` (prefix ignored) whose namespace
 * (see xml_ns) is ns; ns NULL matches any namespace, while an element whose namespace is
 * not declared anywhere in its tree matches only ns NULL. NULL when none or parent is NULL. */
mxml_node_t *xml_child(mxml_node_t *parent, const char *name, const char *ns);

/* The local name of an element ("stream:error" -> "error"); "" for NULL or a non-element.
 * Points into the node. */
const char *xml_local_name(mxml_node_t *el);

/* The namespace of an element within its tree: the declaration of its prefix (xmlns:p) or,
 * unprefixed, of the default namespace (xmlns), on the element or its nearest ancestor that
 * declares it; dflt when none does or el is NULL. Points into the tree. */
const char *xml_ns(mxml_node_t *el, const char *dflt);

/* The namespace bound to prefix[0..len) (len 0: the default namespace) at el, looking at el
 * and then its ancestors; the prefix "xml" is always bound to XMLNS_XML. NULL when no
 * element declares it or el is NULL. Points into the tree. */
const char *xml_prefix_ns(mxml_node_t *el, const char *prefix, size_t len);

/* Concatenated text of the element's direct text children, copied into out (cap bytes,
 * always NUL-terminated when cap > 0; out may be NULL when cap is 0). Returns the full
 * length, which may be >= cap (then out holds a truncated copy). 0 for NULL. */
size_t xml_text(mxml_node_t *el, char *out, size_t cap);

/* A new element `name` appended under parent (NULL: a new tree the caller frees with
 * mxmlDelete), with an xmlns attribute when xmlns is not NULL. NULL when name is NULL or out
 * of memory (nothing is left under parent then). */
mxml_node_t *xml_elem(mxml_node_t *parent, const char *name, const char *xmlns);

/* Appends a text child (stored as MXML_OPAQUE, escaped on serialisation; text is copied).
 * NULL when el or text is NULL or out of memory. */
mxml_node_t *xml_add_text(mxml_node_t *el, const char *text);

/* XML 1.0 (fifth edition) NameStartChar (first != 0) or NameChar, for a code point. */
int xml_is_name_char(uint32_t c, int first);

/* XML 1.0 Char: a character allowed in a document (and in a character reference). */
int xml_is_char(uint32_t c);

/* Makes the subtree at top namespace-well-formed on its own, as it must be to be sent on
 * another stream. Every element and attribute name must be a QName (at most one colon, a
 * NameStartChar after it) whose prefix is bound in the tree (on the element or an ancestor)
 * or at outer and its ancestors (outer may be NULL; the framer passes the stream header).
 * A prefix bound only at outer gets its xmlns:prefix declaration copied onto top, so top may
 * end up with as many more attributes as outer declares. Declarations must follow Namespaces
 * in XML 1.0 section 3 (no xmlns:xmlns, xml only bound to XMLNS_XML, no reserved namespace
 * bound elsewhere, no xmlns:p=''), and no two attributes may share a local name and a
 * namespace. The default namespace is left alone. NT_OK; NT_EINVAL for a malformed name or
 * declaration, NT_ENOENT for an unbound prefix, NT_ENOMEM (top may have gained some
 * declarations, all of them correct). */
int xml_ns_import(mxml_node_t *top, mxml_node_t *outer);

/* The cheap test the framer makes while it reads, so that most elements skip xml_ns_import:
 * does a name (name[0..len)) need it? Not without a colon, nor for "xml:" and a letter with
 * no second colon (xml:lang: always bound). */
int xml_name_needs_import(const char *name, size_t len);

/* And the raw value v[0..len) of an xmlns attribute: one with a reference, or naming a
 * reserved namespace (which only xml_ns_import refuses), needs it. */
int xml_default_needs_import(const char *v, size_t len);

/* The XML declaration s[0..n), "<?xml" to "?>" whole: version 1.x, encoding UTF-8 if given
 * (RFC 6120 section 11.6), standalone yes or no if given, nothing else. 1 when valid. */
int xml_decl_valid(const char *s, size_t n);

/* Mini-XML loads a CDATA section as a pseudo-element named "![CDATA[" followed by the text.
 * Replaces each such node under top with a text node, merged with adjacent text, so the tree
 * holds the section as ordinary text. NT_OK or NT_ENOMEM (the tree stays usable). */
int xml_cdata_to_text(mxml_node_t *top);
#endif
