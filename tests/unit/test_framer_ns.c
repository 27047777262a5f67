/* Unit tests for namespaces in the XML stream framer (firmware/xml/framer.c, xml_ns_import). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "xml/framer.h"
#include "xml/xml.h"
#include "tests/unit/stubs/framer_run.h"

/* A header that declares prefixes for the whole stream. */
#define HDR_PFX HDR_OPEN " xmlns:x='jabber:client' xmlns:foo='urn:x' xmlns:o='urn:o'>"

static const struct xml_limits lim_default = FRAMER_LIM_DEFAULT;

static void framer_header_namespaces(void **state)
{
	struct run r;
	const char *in = "<stream xmlns='http://etherx.jabber.org/streams'><a/>";

	(void)state;
	run_all(&lim_default, in, strlen(in), &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ev[0].ns, XMLNS_STREAM);
	assert_string_equal(r.ev[0].name, "stream");
	assert_string_equal(r.ev[1].ns, XMLNS_STREAM);	/* the default namespace */
	run_free(&r);
	run_all(&lim_default, "<stream:stream><a/>", 19, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.ev[0].err, XML_ERR_NOT_WELL_FORMED);
	run_free(&r);
	run_all(&lim_default, "<s:stream xmlns:s='x'><a/>", 26, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.ev[0].ns, "x");
	assert_string_equal(r.ev[1].ns, "");	/* no default namespace anywhere */
	run_free(&r);
}

static void framer_resolves_element_namespaces(void **state)
{
	struct xml_event ev;
	char ns[256], name[64];
	mxml_node_t *n;

	(void)state;
	n = one_element("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
			"</stream:error>", &ev, ns, name);
	assert_string_equal(ev.ns, XMLNS_STREAM);
	assert_string_equal(ev.name, "error");
	mxmlDelete(n);
	n = one_element("<iq xmlns='jabber:server'/>", &ev, ns, name);
	assert_string_equal(ev.ns, "jabber:server");
	mxmlDelete(n);
	n = one_element("<x:y xmlns:x='urn:x'><x:z/></x:y>", &ev, ns, name);
	assert_string_equal(ev.ns, "urn:x");
	assert_string_equal(ev.name, "y");
	mxmlDelete(n);
	/* a prefix declared by the element shadows the header's */
	n = one_element("<stream:q xmlns:stream='urn:other'/>", &ev, ns, name);
	assert_string_equal(ev.ns, "urn:other");
	mxmlDelete(n);
	n = one_element("<m xmlns=''/>", &ev, ns, name);
	assert_string_equal(ev.ns, "");
	mxmlDelete(n);
}

static void framer_rejects_undeclared_prefixes(void **state)
{
	(void)state;
	assert_int_equal(stream_err("<foo:bar/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(stream_err("<a><x:b/></a>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(stream_err("<a><x:b xmlns:x='u'/><x:c/></a>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(stream_err("<a y:z='1'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(stream_err("<a xml:lang='en' stream:x='1'><x:b xmlns:x='u'/></a>"),
			 XML_ERR_NONE);
	assert_int_equal(stream_err("<a:b:c xmlns:a='u'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(stream_err("<a :x='1'/>"), XML_ERR_NOT_WELL_FORMED);
}

/*
 * An independent check of serialised text, as a namespace-aware recipient makes it: every
 * prefix used is declared in the text itself, on the element or an ancestor; xml needs no
 * declaration and is never bound to anything else.
 */
static int ns_bound(mxml_node_t *el, const char *qname)
{
	const char *colon = strchr(qname, ':');
	char decl[64];

	if (colon == NULL || (colon - qname == 3 && strncmp(qname, "xml", 3) == 0))
		return 1;
	snprintf(decl, sizeof(decl), "xmlns:%.*s", (int)(colon - qname), qname);
	for (; el != NULL; el = mxmlGetParent(el)) {
		const char *v = mxmlElementGetAttr(el, decl);

		if (v != NULL && v[0] != '\0')
			return 1;
	}
	return 0;
}

static void assert_self_contained(const char *text)
{
	mxml_node_t *top = mxmlLoadString(NULL, text, MXML_OPAQUE_CALLBACK), *n;

	assert_non_null(top);
	for (n = top; n != NULL; n = mxmlWalkNext(n, top, MXML_DESCEND)) {
		int i, cnt;
		const char *xml;

		if (mxmlGetType(n) != MXML_ELEMENT)
			continue;
		if (!ns_bound(n, mxmlGetElement(n)))
			fail_msg("unbound element %s in %s", mxmlGetElement(n), text);
		xml = mxmlElementGetAttr(n, "xmlns:xml");
		assert_true(xml == NULL || strcmp(xml, XMLNS_XML) == 0);
		cnt = mxmlElementGetAttrCount(n);
		for (i = 0; i < cnt; i++) {
			const char *name = "";

			mxmlElementGetAttrByIndex(n, i, &name);
			if (strncmp(name, "xmlns", 5) != 0 && !ns_bound(n, name))
				fail_msg("unbound attribute %s in %s", name, text);
		}
	}
	mxmlDelete(top);
}

/* The element body becomes after HDR_PFX, in every split; it must be self-contained. */
static void assert_pfx_element(const char *body, const char *ns, const char *name,
			       const char *want)
{
	char in[2048];
	struct run r;

	snprintf(in, sizeof(in), DECL HDR_PFX "%s", body);
	run_all(&lim_default, in, strlen(in), &r);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ev[1].type, XML_EV_ELEMENT);
	assert_string_equal(r.ev[1].ns, ns);
	assert_string_equal(r.ev[1].name, name);
	assert_string_equal(r.ev[1].xml, want);
	assert_self_contained(r.ev[1].xml);
	run_free(&r);
}

static enum xml_err pfx_err(const char *body)
{
	char in[2048];

	snprintf(in, sizeof(in), DECL HDR_PFX "%s", body);
	return doc_err(in);
}

static void framer_elements_carry_header_prefixes(void **state)
{
	(void)state;
	/* the header's prefix on the element, its children and an attribute */
	assert_pfx_element("<x:message to='b'><x:body>hi</x:body></x:message>",
			   NS_CLIENT, "message",
			   "<x:message to=\"b\" xmlns:x=\"jabber:client\"><x:body>hi</x:body>"
			   "</x:message>");
	assert_pfx_element("<message foo:attr='1'/>", NS_CLIENT, "message",
			   "<message foo:attr=\"1\" xmlns:foo=\"urn:x\"/>");
	/* only on a descendant, and only once for many uses */
	assert_pfx_element("<message><a><foo:b foo:c='1'/><foo:d/></a></message>",
			   NS_CLIENT, "message",
			   "<message xmlns:foo=\"urn:x\"><a><foo:b foo:c=\"1\"/><foo:d/></a>"
			   "</message>");
	/* a top-level element in another namespace, through the header's prefix */
	assert_pfx_element("<foo:thing/>", "urn:x", "thing",
			   "<foo:thing xmlns:foo=\"urn:x\"/>");
	/* the stream prefix inside a stanza */
	assert_pfx_element("<message><stream:x/></message>", NS_CLIENT, "message",
			   "<message xmlns:stream=\"" XMLNS_STREAM "\"><stream:x/></message>");
	assert_pfx_element("<stream:error><c xmlns='urn:e'/></stream:error>", XMLNS_STREAM,
			   "error", "<stream:error xmlns:stream=\"" XMLNS_STREAM "\">"
			   "<c xmlns=\"urn:e\"/></stream:error>");
}

static void framer_element_declarations_win(void **state)
{
	(void)state;
	/* declared by the element itself: nothing to add */
	assert_pfx_element("<message xmlns:foo='urn:y' foo:attr='1'/>", NS_CLIENT, "message",
			   "<message xmlns:foo=\"urn:y\" foo:attr=\"1\"/>");
	/* a default namespace inside a prefixed element stays as it is */
	assert_pfx_element("<x:message><body xmlns='urn:b'>hi</body><x:t/></x:message>",
			   NS_CLIENT, "message",
			   "<x:message xmlns:x=\"jabber:client\"><body xmlns=\"urn:b\">hi</body>"
			   "<x:t/></x:message>");
	/* re-declared deeper: the deeper one rules its subtree, the header's the rest */
	assert_pfx_element("<x:message><x:b xmlns:x='urn:deep'><x:i/></x:b><x:t/></x:message>",
			   NS_CLIENT, "message",
			   "<x:message xmlns:x=\"jabber:client\"><x:b xmlns:x=\"urn:deep\"><x:i/>"
			   "</x:b><x:t/></x:message>");
	/* declared and used only deeper: the header's is not copied */
	assert_pfx_element("<message><o:a xmlns:o='urn:mine'><o:b/></o:a></message>",
			   NS_CLIENT, "message",
			   "<message><o:a xmlns:o=\"urn:mine\"><o:b/></o:a></message>");
	/* used in a sibling subtree without the deeper declaration: copied */
	assert_pfx_element("<message><o:a xmlns:o='urn:mine'/><o:c/></message>", NS_CLIENT,
			   "message", "<message xmlns:o=\"urn:o\"><o:a xmlns:o=\"urn:mine\"/>"
			   "<o:c/></message>");
	/* the element's own prefix shadows the header's */
	assert_pfx_element("<o:q xmlns:o='urn:other'/>", "urn:other", "q",
			   "<o:q xmlns:o=\"urn:other\"/>");
}

static void framer_default_namespace_unchanged(void **state)
{
	(void)state;
	/* the common case: no prefix, nothing added (the default is the stream's) */
	assert_pfx_element("<message to='b' type='chat'><body>hi</body></message>",
			   NS_CLIENT, "message",
			   "<message to=\"b\" type=\"chat\"><body>hi</body></message>");
	assert_pfx_element("<message xmlns='jabber:client'><x xmlns='urn:y'/></message>",
			   NS_CLIENT, "message",
			   "<message xmlns=\"jabber:client\"><x xmlns=\"urn:y\"/></message>");
	/* xml: is always bound and never declared */
	assert_pfx_element("<message xml:lang='en'><body xml:lang='de'>x</body></message>",
			   NS_CLIENT, "message",
			   "<message xml:lang=\"en\"><body xml:lang=\"de\">x</body></message>");
	assert_pfx_element("<x:message xml:lang='en'/>", NS_CLIENT, "message",
			   "<x:message xml:lang=\"en\" xmlns:x=\"jabber:client\"/>");
	assert_pfx_element("<message xmlns:xml='" XMLNS_XML "' xml:lang='en'/>", NS_CLIENT,
			   "message", "<message xmlns:xml=\"" XMLNS_XML "\" xml:lang=\"en\"/>");
}

static void framer_refuses_bad_namespaces(void **state)
{
	(void)state;
	/* unbound anywhere */
	assert_int_equal(pfx_err("<y:message/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message><y:z/></message>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message y:a='1'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<xmlns:a/>"), XML_ERR_NOT_WELL_FORMED);
	/* reserved prefixes and namespaces (Namespaces in XML 1.0 section 3) */
	assert_int_equal(pfx_err("<message xmlns:xml='urn:no'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns:xmlns='urn:no'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns:p=''/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns:p='" XMLNS_XML "'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns='" XMLNS_XML "'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message><a xmlns='http://www.w3.org/2000/xmlns/'/></message>"),
			 XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns='http&#58;//www.w3.org/2000/xmlns/'/>"),
			 XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns='urn:a&amp;b'/>"), XML_ERR_NONE);
	/* one attribute twice, through two prefixes */
	assert_int_equal(pfx_err("<message xmlns:a='u' xmlns:b='u' a:k='1' b:k='2'/>"),
			 XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns:p='urn:x' p:k='1' foo:k='2'/>"),
			 XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xmlns:a='u' xmlns:b='v' a:k='1' b:k='2'/>"),
			 XML_ERR_NONE);
	/* a local part must start like a name */
	assert_int_equal(pfx_err("<message foo:-k='1'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<foo:1/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xml:-k='1'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xml:='1'/>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(pfx_err("<message xml:a:b='1'/>"), XML_ERR_NOT_WELL_FORMED);
	/* the header is held to the same rules */
	assert_int_equal(doc_err(HDR_OPEN " xmlns:xml='urn:no'>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err(HDR_OPEN " xmlns:p=''>"), XML_ERR_NOT_WELL_FORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(framer_header_namespaces),
		cmocka_unit_test(framer_resolves_element_namespaces),
		cmocka_unit_test(framer_rejects_undeclared_prefixes),
		cmocka_unit_test(framer_elements_carry_header_prefixes),
		cmocka_unit_test(framer_element_declarations_win),
		cmocka_unit_test(framer_default_namespace_unchanged),
		cmocka_unit_test(framer_refuses_bad_namespaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
