/* Unit tests for the XML stream framer (firmware/xml/framer.c); namespaces: test_framer_ns.c. */
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

static const struct xml_limits lim_default = FRAMER_LIM_DEFAULT;

static const char session[] =
	DECL "\n" HDR "\n"
	"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
	"</starttls></stream:features>\n \n"
	"<message to='bob@example.org' id='m&amp;1' type='chat'><body>caf\xc3\xa9 &lt;3 "
	"\xe2\x98\xba \xf0\x9f\x98\x80</body></message> "
	"<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>\t"
	"<presence><show>away</show><status xml:lang='en'>a &amp; b</status></presence>"
	"\r\n</stream:stream>";

static void framer_session_same_for_any_split(void **state)
{
	struct run r;

	(void)state;
	run_all(&lim_default, session, strlen(session), &r);
	assert_int_equal(r.used, strlen(session));
	assert_int_equal(r.n, 6);
	assert_int_equal(r.ev[0].type, XML_EV_OPEN);
	assert_string_equal(r.ev[0].ns, XMLNS_STREAM);
	assert_string_equal(r.ev[0].name, "stream");
	assert_string_equal(r.ev[0].xml, "<stream:stream xmlns=\"jabber:client\" "
			    "xmlns:stream=\"http://etherx.jabber.org/streams\" to=\"example.org\" "
			    "version=\"1.0\"/>");
	assert_int_equal(r.ev[1].type, XML_EV_ELEMENT);
	assert_string_equal(r.ev[1].ns, XMLNS_STREAM);
	assert_string_equal(r.ev[1].name, "features");
	/* it takes the header's declaration of its prefix along */
	assert_string_equal(r.ev[1].xml, "<stream:features "
			    "xmlns:stream=\"http://etherx.jabber.org/streams\"><starttls "
			    "xmlns=\"urn:ietf:params:xml:ns:xmpp-tls\"><required/></starttls>"
			    "</stream:features>");
	assert_string_equal(r.ev[2].ns, NS_CLIENT);
	assert_string_equal(r.ev[2].name, "message");
	assert_string_equal(r.ev[2].xml, "<message to=\"bob@example.org\" id=\"m&amp;1\" "
			    "type=\"chat\"><body>caf\xc3\xa9 &lt;3 \xe2\x98\xba \xf0\x9f\x98\x80"
			    "</body></message>");
	assert_string_equal(r.ev[3].ns, NS_CLIENT);
	assert_string_equal(r.ev[3].name, "iq");
	assert_string_equal(r.ev[4].name, "presence");
	assert_int_equal(r.ev[5].type, XML_EV_CLOSE);
	assert_string_equal(r.ev[5].ns, XMLNS_STREAM);
	assert_string_equal(r.ev[5].name, "stream");
	run_free(&r);
}

static void framer_returns_bytes_up_to_each_event(void **state)
{
	const char *in = HDR "<a/> <b>x</b>  ";
	struct xml_framer *f = xml_framer_new(&lim_default);
	struct xml_event ev;
	const uint8_t *p = (const uint8_t *)in;
	size_t n = strlen(in), used;

	(void)state;
	used = xml_framer_feed(f, p, n, &ev);
	assert_int_equal(ev.type, XML_EV_OPEN);
	assert_int_equal(used, strlen(HDR));
	mxmlDelete(ev.node);
	p += used, n -= used;
	used = xml_framer_feed(f, p, n, &ev);
	assert_int_equal(ev.type, XML_EV_ELEMENT);
	assert_int_equal(used, 4);
	assert_string_equal(ev.name, "a");
	mxmlDelete(ev.node);
	p += used, n -= used;
	used = xml_framer_feed(f, p, n, &ev);
	assert_int_equal(ev.type, XML_EV_ELEMENT);
	assert_int_equal(used, strlen(" <b>x</b>"));
	mxmlDelete(ev.node);
	p += used, n -= used;
	used = xml_framer_feed(f, p, n, &ev);
	assert_int_equal(ev.type, XML_EV_NONE);
	assert_int_equal(used, 2);
	assert_null(ev.node);
	used = xml_framer_feed(f, p, 0, &ev);
	assert_int_equal(ev.type, XML_EV_NONE);
	assert_int_equal(used, 0);
	xml_framer_free(f);
}

/* After <starttls/> the rest is TLS: the framer must not eat any of it. */
static void framer_stops_after_starttls_and_resets(void **state)
{
	static const char in[] = HDR "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
				 "\x16\x03\x01\x00\xff";
	struct xml_framer *f = xml_framer_new(&lim_default);
	struct xml_event ev;
	size_t used, off;

	(void)state;
	used = xml_framer_feed(f, (const uint8_t *)in, sizeof(in) - 1, &ev);
	mxmlDelete(ev.node);
	off = used;
	used = xml_framer_feed(f, (const uint8_t *)in + off, sizeof(in) - 1 - off, &ev);
	assert_int_equal(ev.type, XML_EV_ELEMENT);
	assert_string_equal(ev.ns, "urn:ietf:params:xml:ns:xmpp-tls");
	assert_string_equal(ev.name, "starttls");
	assert_int_equal(off + used, sizeof(in) - 1 - 5);
	mxmlDelete(ev.node);
	xml_framer_reset(f);	/* a new stream, with a declaration again */
	used = xml_framer_feed(f, (const uint8_t *)(DECL HDR), strlen(DECL HDR), &ev);
	assert_int_equal(ev.type, XML_EV_OPEN);
	assert_int_equal(used, strlen(DECL HDR));
	mxmlDelete(ev.node);
	/* a reset in the middle of an element forgets it */
	used = xml_framer_feed(f, (const uint8_t *)"<message><bo", 12, &ev);
	assert_int_equal(ev.type, XML_EV_NONE);
	xml_framer_reset(f);
	used = xml_framer_feed(f, (const uint8_t *)HDR "<a/>", strlen(HDR) + 4, &ev);
	assert_int_equal(ev.type, XML_EV_OPEN);
	mxmlDelete(ev.node);
	used = xml_framer_feed(f, (const uint8_t *)"<a/>", 4, &ev);
	assert_int_equal(ev.type, XML_EV_ELEMENT);
	mxmlDelete(ev.node);
	xml_framer_free(f);
}

static void framer_sticks_after_error_and_close(void **state)
{
	struct xml_framer *f = xml_framer_new(&lim_default);
	struct xml_event ev;
	size_t used;

	(void)state;
	used = xml_framer_feed(f, (const uint8_t *)"<!-- x -->", 10, &ev);
	assert_int_equal(ev.type, XML_EV_ERROR);
	assert_int_equal(ev.error, XML_ERR_RESTRICTED);
	assert_int_equal(used, 3);	/* "<!-" is enough to know */
	used = xml_framer_feed(f, (const uint8_t *)HDR, strlen(HDR), &ev);
	assert_int_equal(ev.type, XML_EV_ERROR);
	assert_int_equal(ev.error, XML_ERR_RESTRICTED);
	assert_int_equal(used, 0);
	xml_framer_reset(f);
	used = xml_framer_feed(f, (const uint8_t *)HDR "</stream:stream> ",
			       strlen(HDR) + 17, &ev);
	assert_int_equal(ev.type, XML_EV_OPEN);
	mxmlDelete(ev.node);
	used = xml_framer_feed(f, (const uint8_t *)"</stream:stream> ", 17, &ev);
	assert_int_equal(ev.type, XML_EV_CLOSE);
	assert_int_equal(used, 16);
	used = xml_framer_feed(f, (const uint8_t *)" ", 1, &ev);
	assert_int_equal(ev.type, XML_EV_CLOSE);
	assert_int_equal(used, 0);
	xml_framer_free(f);
	xml_framer_free(NULL);
}

static void framer_self_closed_header_opens_and_closes(void **state)
{
	struct xml_framer *f = xml_framer_new(&lim_default);
	struct xml_event ev;
	size_t used;

	(void)state;
	used = xml_framer_feed(f, (const uint8_t *)HDR_OPEN "/><a/>", strlen(HDR_OPEN) + 6, &ev);
	assert_int_equal(ev.type, XML_EV_OPEN);
	assert_int_equal(used, strlen(HDR_OPEN) + 2);
	assert_string_equal(mxmlElementGetAttr(ev.node, "to"), "example.org");
	mxmlDelete(ev.node);
	used = xml_framer_feed(f, (const uint8_t *)"<a/>", 4, &ev);
	assert_int_equal(ev.type, XML_EV_CLOSE);
	assert_int_equal(used, 0);
	xml_framer_free(f);
}

static void framer_open_node_has_header_attributes(void **state)
{
	static const char in[] = "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
				 "xmlns=\"jabber:server\" from='a&amp;b' xml:lang='en' "
				 "id='&#x41;'>";
	static const char db[] = "<db:result xmlns:db='jabber:server:dialback'/><message/>";
	struct xml_framer *f = xml_framer_new(&lim_default);
	struct xml_event ev;

	(void)state;
	assert_int_equal(xml_framer_feed(f, (const uint8_t *)in, sizeof(in) - 1, &ev),
			 sizeof(in) - 1);
	assert_int_equal(ev.type, XML_EV_OPEN);
	assert_string_equal(ev.ns, XMLNS_STREAM);
	assert_string_equal(ev.name, "stream");
	assert_string_equal(mxmlGetElement(ev.node), "stream:stream");
	assert_null(mxmlGetFirstChild(ev.node));
	assert_string_equal(mxmlElementGetAttr(ev.node, "from"), "a&b");
	assert_string_equal(mxmlElementGetAttr(ev.node, "xml:lang"), "en");
	assert_string_equal(mxmlElementGetAttr(ev.node, "id"), "A");
	assert_string_equal(mxmlElementGetAttr(ev.node, "xmlns"), "jabber:server");
	mxmlDelete(ev.node);
	/* elements inherit the header's default namespace, without an xmlns in their tree */
	assert_int_equal(xml_framer_feed(f, (const uint8_t *)db, strlen(db), &ev), strlen(db) - 10);
	assert_string_equal(ev.ns, "jabber:server:dialback");
	assert_string_equal(ev.name, "result");
	mxmlDelete(ev.node);
	assert_int_equal(xml_framer_feed(f, (const uint8_t *)"<message/>", 10, &ev), 10);
	assert_string_equal(ev.ns, "jabber:server");
	assert_string_equal(ev.name, "message");
	assert_null(mxmlElementGetAttr(ev.node, "xmlns"));
	mxmlDelete(ev.node);
	xml_framer_free(f);
}

static void framer_restricted_xml(void **state)
{
	(void)state;
	assert_int_equal(doc_err("<!-- hi -->" HDR), XML_ERR_RESTRICTED);
	assert_int_equal(doc_err("<!DOCTYPE stream>" HDR), XML_ERR_RESTRICTED);
	assert_int_equal(doc_err(DECL "<!DOCTYPE x [<!ENTITY a 'b'>]>" HDR), XML_ERR_RESTRICTED);
	assert_int_equal(doc_err("<?xml-stylesheet href='a'?>" HDR), XML_ERR_RESTRICTED);
	assert_int_equal(doc_err(DECL "<?xml version='1.0'?>" HDR), XML_ERR_RESTRICTED);
	assert_int_equal(doc_err(" " DECL HDR), XML_ERR_RESTRICTED);
	assert_int_equal(doc_err("<?php x?>" HDR), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<!-- keepalive -->"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message><!-- x --></message>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<?pi x?>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message><?pi x?></message>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err(DECL), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message>&nbsp;</message>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message>&ampx;</message>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message>&am;</message>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message>&caf\xc3\xa9;</message>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message a='&foo;'/>"), XML_ERR_RESTRICTED);
	assert_int_equal(stream_err("<message><!DOCTYPE x></message>"), XML_ERR_RESTRICTED);
}

static void framer_not_well_formed(void **state)
{
	static const char *const bad[] = {
		"<a></b>", "<a><b></a></b>", "<a x=1/>", "<a x='<'/>", "<a x='1' x='2'/>",
		"<a x/>", "<a x='1'y='2'/>", "<a x='1' / >", "<a>]]></a>", "<a>a & b</a>",
		"<a>&#0;</a>", "<a>&#xD800;</a>", "<a>&#x110000;</a>", "<a>&#xFFFE;</a>",
		"<a>&#;</a>", "<a>&#x;</a>", "<a>&#12a;</a>", "<a>&#X41;</a>", "<a>&#65</a>",
		"<a>&amp</a>", "<1a/>", "< a/>", "<a><!X></a>", "<a><![CDATX[x]]></a>",
		"</stream:foo>", "<a>\x01</a>", "<a x='\x0b'/>", "<a b=\"'/><a/>\"\"/>",
		"<a>\xef\xbf\xbe</a>", "<a>\xef\xbf\xbf</a>", "<a/ >", "<a></ a>",
		"<a>&#99999999999999999999;</a>",
	};
	static const char *const early[] = {
		"<a x='1' x='2'", "<a x='<", "<a>]]>", "<a><b></a>", "<a>&#0;", "<a>&#xD800;",
		"<a>\xed\xa0\x80", "<a>\xf4\x90\x80\x80", "<a>\xc0\x80", "<a x=1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (stream_err(bad[i]) != XML_ERR_NOT_WELL_FORMED)
			fail_msg("accepted %s", bad[i]);
	}
	/* found by the framer itself, before the element ends */
	for (i = 0; i < sizeof(early) / sizeof(early[0]); i++)
		if (stream_err(early[i]) != XML_ERR_NOT_WELL_FORMED)
			fail_msg("accepted %s", early[i]);
	assert_int_equal(doc_err("</stream:stream>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err("hello" HDR), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err("<?xml version='1.0' encoding='ISO-8859-1'?>" HDR),
			 XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err("<?xml encoding='UTF-8'?>" HDR), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err("<?xml version='2.0'?>" HDR), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err("<?xml version='1.0' junk?>" HDR), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err("<?xml?>" HDR), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err(HDR_OPEN " to='x'>"), XML_ERR_NOT_WELL_FORMED);
	assert_int_equal(doc_err("<stream:stream xmlns:stream='x' a='<'>"),
			 XML_ERR_NOT_WELL_FORMED);
}

static void framer_accepts_valid_declarations(void **state)
{
	(void)state;
	assert_int_equal(doc_err("<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes' ?>"
				 "\n\n" HDR "<a/>"), XML_ERR_NONE);
	assert_int_equal(doc_err("<?xml version = '1.1'?>" HDR), XML_ERR_NONE);
	assert_int_equal(doc_err(" \n" HDR), XML_ERR_NONE);
}

static void framer_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xf0\x80\x80\x80",
		"\xf0\x8f\xbf\xbf", "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80",
		"\xff", "\x80", "\xc3", "\xc3x", "\xe2\x98x", "\xf0\x9f\x98",
		"\xf8\x88\x80\x80\x80",
	};
	char body[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "<a>%s</a>", bad[i]);
		assert_int_equal(stream_err(body), XML_ERR_NOT_WELL_FORMED);
		snprintf(body, sizeof(body), "<a x='%s'/>", bad[i]);
		assert_int_equal(stream_err(body), XML_ERR_NOT_WELL_FORMED);
	}
	/* the edges that are valid */
	assert_int_equal(stream_err("<a x='\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80"
				    "\xef\xbf\xbd\xf0\x90\x80\x80\xf4\x8f\xbf\xbf'>\xf4\x8f\xbf"
				    "\xbf\xe0\xa0\x80</a>"), XML_ERR_NONE);
}

static void framer_text_at_top_level(void **state)
{
	(void)state;
	assert_int_equal(stream_err("hello"), XML_ERR_BAD_FORMAT);
	assert_int_equal(stream_err("<a/> x <b/>"), XML_ERR_BAD_FORMAT);
	assert_int_equal(stream_err("&amp;"), XML_ERR_BAD_FORMAT);
	assert_int_equal(stream_err("\xc3\xa9"), XML_ERR_BAD_FORMAT);
	assert_int_equal(stream_err("<![CDATA[x]]>"), XML_ERR_BAD_FORMAT);
	assert_int_equal(stream_err(" \t\r\n <a/>\n \n<b/> "), XML_ERR_NONE);
}

static void framer_limits(void **state)
{
	struct xml_limits lim = { 64, 3, 4 };
	char body[256];

	(void)state;
	/* an element of exactly max_bytes is fine, one more is not */
	memset(body, 0, sizeof(body));
	memcpy(body, "<a>", 3);
	memset(body + 3, 'x', 64 - 7);
	memcpy(body + 64 - 4, "</a>", 4);
	lim.max_bytes = 8192;
	assert_int_equal(stream_err_lim(&lim, body), XML_ERR_NONE);
	lim.max_bytes = 64;
	{
		struct xml_framer *f;
		struct xml_event ev;

		f = xml_framer_new(&lim);
		assert_int_equal(xml_framer_feed(f, (const uint8_t *)"<s xmlns='x'>", 13, &ev), 13);
		assert_int_equal(ev.type, XML_EV_OPEN);
		mxmlDelete(ev.node);
		assert_int_equal(xml_framer_feed(f, (const uint8_t *)body, 64, &ev), 64);
		assert_int_equal(ev.type, XML_EV_ELEMENT);
		mxmlDelete(ev.node);
		/* one byte more fails at the 65th byte, before the element ends */
		body[64 - 4] = 'x';
		assert_int_equal(xml_framer_feed(f, (const uint8_t *)body, 64, &ev), 64);
		assert_int_equal(ev.type, XML_EV_NONE);
		assert_int_equal(xml_framer_feed(f, (const uint8_t *)"yyyy", 4, &ev), 1);
		assert_int_equal(ev.type, XML_EV_ERROR);
		assert_int_equal(ev.error, XML_ERR_POLICY);
		xml_framer_free(f);
	}
	/* the header counts too, whitespace between elements does not */
	lim.max_bytes = 40;
	assert_int_equal(doc_err_lim(&lim, HDR), XML_ERR_POLICY);
	assert_int_equal(doc_err_lim(&lim, "<s xmlns='x'>                                     "
				     "                              <a/>"), XML_ERR_NONE);
	lim.max_bytes = 8192;
	assert_int_equal(stream_err_lim(&lim, "<a><b><c/></b></a>"), XML_ERR_NONE);
	assert_int_equal(stream_err_lim(&lim, "<a><b><c><d/></c></b></a>"), XML_ERR_POLICY);
	assert_int_equal(stream_err_lim(&lim, "<a><b><c><d"), XML_ERR_POLICY);
	assert_int_equal(stream_err_lim(&lim, "<a><b/><b/><b><c/></b><b/></a>"), XML_ERR_NONE);
	assert_int_equal(stream_err_lim(&lim, "<a p='1' q='2' r='3' s='4'/>"), XML_ERR_NONE);
	assert_int_equal(stream_err_lim(&lim, "<a p='1' q='2' r='3' s='4' t"), XML_ERR_POLICY);
	assert_int_equal(stream_err_lim(&lim, "<a><b p='1' q='2' r='3' s='4' t='5'/></a>"),
			 XML_ERR_POLICY);
	assert_int_equal(doc_err_lim(&lim, "<s xmlns='x' a='1' b='2' c='3' d='4'>"),
			 XML_ERR_POLICY);
}

static void framer_decodes_references(void **state)
{
	struct xml_event ev;
	char ns[256], name[64], text[64];
	mxml_node_t *n, *body;

	(void)state;
	n = one_element("<message id='&amp;&lt;&gt;&quot;&apos;&#65;&#x263a;&#x1F600;&#9;'>"
			"<body>&amp;&lt;&gt;&quot;&apos;&#65;&#x263A;&#128512;&#13;&#10;"
			"</body></message>", &ev, ns, name);
	assert_string_equal(mxmlElementGetAttr(n, "id"),
			    "&<>\"'A\xe2\x98\xba\xf0\x9f\x98\x80\t");
	body = xml_child(n, "body", NULL);
	assert_non_null(body);
	xml_text(body, text, sizeof(text));
	assert_string_equal(text, "&<>\"'A\xe2\x98\xba\xf0\x9f\x98\x80\r\n");
	mxmlDelete(n);
}

static void framer_keeps_text_exactly(void **state)
{
	struct xml_event ev;
	char ns[256], name[64], text[64];
	mxml_node_t *n;

	(void)state;
	n = one_element("<a>  x \n <b> </b>\t</a>", &ev, ns, name);
	xml_text(n, text, sizeof(text));
	assert_string_equal(text, "  x \n \t");
	xml_text(xml_child(n, "b", NULL), text, sizeof(text));
	assert_string_equal(text, " ");
	mxmlDelete(n);
	n = one_element("<caf\xc3\xa9 \xc3\xa9t\xc3\xa9='\xe2\x82\xac'/>", &ev, ns, name);
	assert_string_equal(ev.name, "caf\xc3\xa9");
	assert_string_equal(mxmlElementGetAttr(n, "\xc3\xa9t\xc3\xa9"), "\xe2\x82\xac");
	mxmlDelete(n);
}

static void framer_cdata_is_text(void **state)
{
	struct xml_event ev;
	char ns[256], name[64], text[64];
	mxml_node_t *n, *body;

	(void)state;
	n = one_element("<message><body>a<![CDATA[<b>&amp;]]]>c</body><x><![CDATA[]]></x>"
			"<y><![CDATA[1]]><![CDATA[2]]></y></message>", &ev, ns, name);
	body = xml_child(n, "body", NULL);
	assert_non_null(mxmlGetFirstChild(body));
	assert_null(mxmlGetNextSibling(mxmlGetFirstChild(body)));	/* one text node */
	assert_string_equal(mxmlGetOpaque(mxmlGetFirstChild(body)), "a<b>&amp;]c");
	assert_null(mxmlGetFirstChild(xml_child(n, "x", NULL)));
	xml_text(xml_child(n, "y", NULL), text, sizeof(text));
	assert_string_equal(text, "12");
	mxmlDelete(n);
	assert_int_equal(stream_err("<a><![CDATA[x]]y]]]]></a>"), XML_ERR_NONE);
	assert_int_equal(stream_err("<a><![CDATA[<!-- &foo; <?x?> \xc3\xa9]]></a>"),
			 XML_ERR_NONE);
	assert_int_equal(stream_err("<a><![CDATA[\x01]]></a>"), XML_ERR_NOT_WELL_FORMED);
}

static void framer_keepalives_and_shrink(void **state)
{
	struct xml_framer *f = xml_framer_new(&lim_default);
	struct xml_event ev;
	int i;

	(void)state;
	xml_framer_feed(f, (const uint8_t *)HDR, strlen(HDR), &ev);
	mxmlDelete(ev.node);
	for (i = 0; i < 100; i++) {
		assert_int_equal(xml_framer_feed(f, (const uint8_t *)" ", 1, &ev), 1);
		assert_int_equal(ev.type, XML_EV_NONE);
		xml_framer_shrink(f);
	}
	/* shrinking with an element half read keeps it */
	assert_int_equal(xml_framer_feed(f, (const uint8_t *)"<message><bo", 12, &ev), 12);
	xml_framer_shrink(f);
	assert_int_equal(xml_framer_feed(f, (const uint8_t *)"dy>x</body></message>", 21, &ev),
			 21);
	assert_int_equal(ev.type, XML_EV_ELEMENT);
	mxmlDelete(ev.node);
	/* the event's strings outlive a shrink (the fuzzer once caught them freed by it) */
	xml_framer_shrink(f);
	assert_string_equal(ev.ns, NS_CLIENT);
	assert_string_equal(ev.name, "message");
	assert_int_equal(xml_framer_feed(f, (const uint8_t *)"<a/>", 4, &ev), 4);
	assert_int_equal(ev.type, XML_EV_ELEMENT);
	mxmlDelete(ev.node);
	xml_framer_shrink(NULL);
	xml_framer_free(f);
}

static void framer_error_conditions(void **state)
{
	(void)state;
	assert_string_equal(xml_err_condition(XML_ERR_NOT_WELL_FORMED), "not-well-formed");
	assert_string_equal(xml_err_condition(XML_ERR_RESTRICTED), "restricted-xml");
	assert_string_equal(xml_err_condition(XML_ERR_POLICY), "policy-violation");
	assert_string_equal(xml_err_condition(XML_ERR_BAD_FORMAT), "bad-format");
	assert_string_equal(xml_err_condition(XML_ERR_NONE), "undefined-condition");
	assert_null(xml_framer_new(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(framer_session_same_for_any_split),
		cmocka_unit_test(framer_returns_bytes_up_to_each_event),
		cmocka_unit_test(framer_stops_after_starttls_and_resets),
		cmocka_unit_test(framer_sticks_after_error_and_close),
		cmocka_unit_test(framer_self_closed_header_opens_and_closes),
		cmocka_unit_test(framer_open_node_has_header_attributes),
		cmocka_unit_test(framer_restricted_xml),
		cmocka_unit_test(framer_not_well_formed),
		cmocka_unit_test(framer_accepts_valid_declarations),
		cmocka_unit_test(framer_invalid_utf8),
		cmocka_unit_test(framer_text_at_top_level),
		cmocka_unit_test(framer_limits),
		cmocka_unit_test(framer_decodes_references),
		cmocka_unit_test(framer_keeps_text_exactly),
		cmocka_unit_test(framer_cdata_is_text),
		cmocka_unit_test(framer_keepalives_and_shrink),
		cmocka_unit_test(framer_error_conditions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
