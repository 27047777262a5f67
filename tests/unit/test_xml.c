/* Unit tests for the Mini-XML helpers (firmware/xml/xml.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/err.h"
#include "xml/xml.h"

static mxml_node_t *load(const char *s)
{
	mxml_node_t *n = mxmlLoadString(NULL, s, MXML_OPAQUE_CALLBACK);

	assert_non_null(n);
	return n;
}

static void assert_serializes(mxml_node_t *n, const char *want)
{
	size_t len = 0;
	char *s = xml_serialize(n, &len);

	assert_non_null(s);
	assert_string_equal(s, want);
	assert_int_equal(len, strlen(want));
	free(s);
}

static void xml_serialize_escapes(void **state)
{
	static const char val[] = "'\"<&>\t\n\r";
	static const char txt[] = "<&>\"' ]]> \t\n\r \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	mxml_node_t *e = xml_elem(NULL, "e", NULL), *back;
	char *s;

	(void)state;
	mxmlElementSetAttr(e, "v", val);
	xml_add_text(e, txt);
	assert_serializes(e, "<e v=\"'&quot;&lt;&amp;&gt;&#9;&#10;&#13;\">&lt;&amp;&gt;\"' ]]&gt; "
			  "\t\n&#13; \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80</e>");
	/* and it reads back the same */
	s = xml_serialize(e, NULL);
	back = load(s);
	assert_string_equal(mxmlElementGetAttr(back, "v"), val);
	assert_string_equal(mxmlGetOpaque(mxmlGetFirstChild(back)), txt);
	free(s);
	mxmlDelete(back);
	mxmlDelete(e);
}

static void xml_serialize_trees(void **state)
{
	mxml_node_t *iq = xml_elem(NULL, "iq", "jabber:client"), *q;

	(void)state;
	mxmlElementSetAttr(iq, "type", "result");
	q = xml_elem(iq, "query", "jabber:iq:roster");
	xml_elem(xml_elem(q, "item", NULL), "group", NULL);
	xml_add_text(xml_elem(q, "item", NULL), "x");
	xml_elem(iq, "empty", NULL);
	assert_serializes(iq, "<iq xmlns=\"jabber:client\" type=\"result\"><query "
			  "xmlns=\"jabber:iq:roster\"><item><group/></item><item>x</item></query>"
			  "<empty/></iq>");
	assert_serializes(q, "<query xmlns=\"jabber:iq:roster\"><item><group/></item>"
			  "<item>x</item></query>");
	assert_serializes(mxmlGetFirstChild(mxmlGetLastChild(q)), "x");
	assert_null(xml_serialize(NULL, NULL));
	mxmlDelete(iq);
}

static void xml_serialize_deep_tree(void **state)
{
	mxml_node_t *top = xml_elem(NULL, "a", NULL), *n = top;
	size_t len = 0;
	char *s;
	int i;

	(void)state;
	for (i = 0; i < 10000; i++)
		n = xml_elem(n, "a", NULL);
	s = xml_serialize(top, &len);
	assert_non_null(s);
	assert_int_equal(len, 10000 * 7 + 4);
	assert_memory_equal(s + 10000 * 3, "<a/></a>", 8);
	free(s);
	mxmlDelete(top);
}

/* Why xml_serialize is ours: Mini-XML 3.3 ends its output with a newline and writes "<a />". */
static void xml_mxml_save_differs(void **state)
{
	mxml_node_t *e = load("<a x='1'/>");
	char *s;

	(void)state;
	mxmlSetWrapMargin(0);
	s = mxmlSaveAllocString(e, MXML_NO_CALLBACK);
	assert_non_null(s);
	assert_string_not_equal(s, "<a x=\"1\"/>");
	free(s);
	assert_serializes(e, "<a x=\"1\"/>");
	mxmlDelete(e);
}

static void xml_names_and_namespaces(void **state)
{
	mxml_node_t *t = load("<stream:error xmlns:stream='S' xmlns='D'><conflict xmlns='E'>"
			      "<text xml:lang='en'/></conflict><x:y xmlns:x='X'><x:z/></x:y><p/>"
			      "<q:r/></stream:error>");
	mxml_node_t *conflict, *y;

	(void)state;
	assert_string_equal(xml_local_name(t), "error");
	assert_string_equal(xml_ns(t, "dflt"), "S");
	conflict = xml_child(t, "conflict", "E");
	assert_non_null(conflict);
	assert_null(xml_child(t, "conflict", "D"));
	assert_ptr_equal(xml_child(t, "conflict", NULL), conflict);
	assert_string_equal(xml_ns(xml_child(conflict, "text", NULL), NULL), "E");
	y = xml_child(t, "y", "X");
	assert_non_null(y);
	assert_string_equal(xml_local_name(y), "y");
	assert_non_null(xml_child(y, "z", "X"));
	assert_string_equal(xml_ns(xml_child(t, "p", NULL), NULL), "D");
	assert_string_equal(xml_ns(xml_child(t, "r", NULL), "none"), "none");
	assert_null(xml_child(t, "r", "D"));
	assert_null(xml_child(t, "missing", NULL));
	assert_null(xml_child(NULL, "p", NULL));
	assert_string_equal(xml_local_name(NULL), "");
	assert_string_equal(xml_ns(NULL, "d"), "d");
	assert_string_equal(xml_prefix_ns(conflict, "xml", 3), XMLNS_XML);
	assert_string_equal(xml_prefix_ns(conflict, "", 0), "E");
	assert_string_equal(xml_prefix_ns(conflict, "stream", 6), "S");
	assert_null(xml_prefix_ns(conflict, "x", 1));
	assert_null(xml_prefix_ns(NULL, "", 0));
	mxmlDelete(t);
}

static void xml_text_concatenates_and_truncates(void **state)
{
	mxml_node_t *t = load("<body>ab<x>no</x>cd<![CDATA[e]]>fg</body>");
	char out[8];

	(void)state;
	assert_int_equal(xml_cdata_to_text(t), NT_OK);
	assert_int_equal(xml_text(t, out, sizeof(out)), 7);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(xml_text(t, out, 4), 7);
	assert_string_equal(out, "abc");
	assert_int_equal(xml_text(t, out, 1), 7);
	assert_string_equal(out, "");
	assert_int_equal(xml_text(t, NULL, 0), 7);
	assert_int_equal(xml_text(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	mxmlDelete(t);
}

static void xml_cdata_becomes_text(void **state)
{
	mxml_node_t *t = load("<a><![CDATA[<x>]]><b/>1<![CDATA[&amp;]]>2<![CDATA[]]><c/>"
			      "<![CDATA[]]></a>");

	(void)state;
	assert_int_equal(xml_cdata_to_text(t), NT_OK);
	assert_serializes(t, "<a>&lt;x&gt;<b/>1&amp;amp;2<c/></a>");
	assert_string_equal(mxmlGetOpaque(mxmlGetNextSibling(xml_child(t, "b", NULL))),
			    "1&amp;2");
	mxmlDelete(t);
}

static void xml_imports_prefixes(void **state)
{
	mxml_node_t *outer = load("<s:s xmlns:s='S' xmlns='C' xmlns:q='Q'/>");
	mxml_node_t *ok = load("<s:a xml:lang='en'><b xmlns:p='P' p:x='1'><p:c/></b></s:a>");
	mxml_node_t *undeclared = load("<a><b xmlns:p='P'/><p:c/></a>");
	mxml_node_t *bad_attr = load("<a r:x='1'/>");
	mxml_node_t *two_colons = load("<a:b:c xmlns:a='A'/>");
	mxml_node_t *outer_attr = load("<a><b q:x='1'/><q:c/></a>");

	(void)state;
	assert_int_equal(xml_ns_import(ok, NULL), NT_ENOENT);
	assert_int_equal(xml_ns_import(ok, outer), NT_OK);
	assert_serializes(ok, "<s:a xml:lang=\"en\" xmlns:s=\"S\"><b xmlns:p=\"P\" p:x=\"1\">"
			  "<p:c/></b></s:a>");
	assert_int_equal(xml_ns_import(ok, outer), NT_OK);	/* twice changes nothing */
	assert_serializes(ok, "<s:a xml:lang=\"en\" xmlns:s=\"S\"><b xmlns:p=\"P\" p:x=\"1\">"
			  "<p:c/></b></s:a>");
	assert_int_equal(xml_ns_import(ok, NULL), NT_OK);	/* now self-contained */
	assert_int_equal(xml_ns_import(outer_attr, outer), NT_OK);
	assert_serializes(outer_attr, "<a xmlns:q=\"Q\"><b q:x=\"1\"/><q:c/></a>");
	assert_string_equal(xml_ns(xml_child(outer_attr, "c", NULL), NULL), "Q");
	assert_int_equal(xml_ns_import(undeclared, outer), NT_ENOENT);
	assert_int_equal(xml_ns_import(bad_attr, outer), NT_ENOENT);
	assert_int_equal(xml_ns_import(two_colons, outer), NT_EINVAL);
	mxmlDelete(outer);
	mxmlDelete(ok);
	mxmlDelete(undeclared);
	mxmlDelete(bad_attr);
	mxmlDelete(two_colons);
	mxmlDelete(outer_attr);
}

static void xml_import_refuses_reserved(void **state)
{
	static const char *const bad[] = {
		"<a xmlns:xml='urn:x'/>", "<a xmlns:xmlns='urn:x'/>", "<a xmlns:p=''/>",
		"<a xmlns:p='" XMLNS_XML "'/>", "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
		"<a xmlns='" XMLNS_XML "'/>", "<a xmlns:='u'/>", "<a xmlns:p='u' p:-x='1'/>",
		"<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>", "<a xml:='1'/>",
		"<a xmlns:p='u' p:\xcc\x80x='1'/>",	/* U+0300 may not start a name */
	};
	static const char *const good[] = {
		"<a xmlns:xml='" XMLNS_XML "' xml:lang='en'/>", "<a xmlns=''/>",
		"<a xmlns:p='u' xmlns:q='v' p:x='1' q:x='2' x='3'/>",
		"<a xmlns:p='u' p:\xc3\xa9='1'/>", "<xml:a/>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mxml_node_t *t = load(bad[i]);

		if (xml_ns_import(t, NULL) != NT_EINVAL)
			fail_msg("accepted %s", bad[i]);
		mxmlDelete(t);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		mxml_node_t *t = load(good[i]);

		if (xml_ns_import(t, NULL) != NT_OK)
			fail_msg("refused %s", good[i]);
		mxmlDelete(t);
	}
}

static void xml_import_precheck(void **state)
{
	static const char *const needs[] = {
		"x:message", "xmlns:p", ":a", "a:", "xml:", "xml:-x", "xml:a:b", "xml:\xc3\xa9",
		"xmlx:lang", "stream:features",
	};
	static const char *const skips[] = { "message", "xml:lang", "xml:Space", "xmlns", "a" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
		if (!xml_name_needs_import(needs[i], strlen(needs[i])))
			fail_msg("%s skipped", needs[i]);
	for (i = 0; i < sizeof(skips) / sizeof(skips[0]); i++)
		if (xml_name_needs_import(skips[i], strlen(skips[i])))
			fail_msg("%s needs work", skips[i]);
	assert_false(xml_default_needs_import("jabber:client", 13));
	assert_false(xml_default_needs_import("", 0));
	assert_true(xml_default_needs_import(XMLNS_XML, strlen(XMLNS_XML)));
	assert_true(xml_default_needs_import("http://www.w3.org/2000/xmlns/", 29));
	assert_false(xml_default_needs_import("http://www.w3.org/2000/xmlns/x", 30));
	assert_true(xml_default_needs_import("a&amp;b", 7));
}

static void xml_builders(void **state)
{
	mxml_node_t *p = xml_elem(NULL, "presence", NULL), *s;

	(void)state;
	assert_non_null(p);
	assert_null(mxmlElementGetAttr(p, "xmlns"));
	s = xml_elem(p, "status", "jabber:client");
	assert_ptr_equal(mxmlGetParent(s), p);
	assert_string_equal(mxmlElementGetAttr(s, "xmlns"), "jabber:client");
	assert_non_null(xml_add_text(s, "a"));
	assert_non_null(xml_add_text(s, "&b"));
	assert_serializes(p, "<presence><status xmlns=\"jabber:client\">a&amp;b</status>"
			  "</presence>");
	assert_null(xml_elem(p, NULL, NULL));
	assert_null(xml_add_text(NULL, "x"));
	assert_null(xml_add_text(s, NULL));
	mxmlDelete(p);
}

static void xml_character_classes(void **state)
{
	(void)state;
	assert_true(xml_is_name_char('a', 1));
	assert_true(xml_is_name_char(':', 1));
	assert_true(xml_is_name_char('_', 1));
	assert_false(xml_is_name_char('-', 1));
	assert_true(xml_is_name_char('-', 0));
	assert_false(xml_is_name_char('1', 1));
	assert_true(xml_is_name_char('1', 0));
	assert_true(xml_is_name_char(0xE9, 1));
	assert_false(xml_is_name_char(0xD7, 1));
	assert_true(xml_is_name_char(0x300, 0));
	assert_false(xml_is_name_char(0x300, 1));
	assert_false(xml_is_name_char(' ', 0));
	assert_false(xml_is_name_char('>', 0));
	assert_true(xml_is_char('\t'));
	assert_false(xml_is_char(0));
	assert_false(xml_is_char(0x1F));
	assert_false(xml_is_char(0xD800));
	assert_false(xml_is_char(0xFFFE));
	assert_true(xml_is_char(0xFFFD));
	assert_true(xml_is_char(0x10FFFF));
	assert_false(xml_is_char(0x110000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xml_serialize_escapes),
		cmocka_unit_test(xml_serialize_trees),
		cmocka_unit_test(xml_serialize_deep_tree),
		cmocka_unit_test(xml_mxml_save_differs),
		cmocka_unit_test(xml_names_and_namespaces),
		cmocka_unit_test(xml_text_concatenates_and_truncates),
		cmocka_unit_test(xml_cdata_becomes_text),
		cmocka_unit_test(xml_imports_prefixes),
		cmocka_unit_test(xml_import_refuses_reserved),
		cmocka_unit_test(xml_import_precheck),
		cmocka_unit_test(xml_builders),
		cmocka_unit_test(xml_character_classes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
