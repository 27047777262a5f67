/* natter-load's stream scanner (tools/natter-load/xml.c): element boundaries across partial
 * input, the stream header and end, quoting, and lookups inside one element. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "tools/natter-load/load.h"

static const char stream[] =
	"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
	"xmlns:stream='http://etherx.jabber.org/streams' id='x>y' version='1.0'>"
	" \n<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
	"<mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
	"<message from=\"a@b/c\" id='q&apos;1' type='chat'><body>1 2 &lt;x&gt; &#65;</body>"
	"<x attr='/>'/></message>"
	"<presence/>"
	"</stream:stream>";

/* Scans the whole stream handed over n bytes at a time; the token kinds in order. */
static void scan_in_pieces(size_t step, enum xtok *kinds, size_t *nkinds, char names[][32])
{
	char buf[sizeof(stream)];
	size_t have = 0, fed = 0, used;
	int header = 0;
	struct xel el;

	*nkinds = 0;
	while (fed < sizeof(stream) - 1 || have > 0) {
		size_t take = sizeof(stream) - 1 - fed < step ? sizeof(stream) - 1 - fed : step;
		enum xtok t;

		memcpy(buf + have, stream + fed, take);
		have += take;
		fed += take;
		for (;;) {
			t = xml_next(buf, have, header, &el, &used);
			assert_int_not_equal(t, XT_BAD);
			if (t != XT_MORE) {
				snprintf(names[*nkinds], 32, "%.*s", (int)el.name_len, el.name);
				kinds[(*nkinds)++] = t;
			}
			memmove(buf, buf + used, have - used);
			have -= used;
			if (t == XT_MORE)
				break;
			header |= t == XT_HEADER;
		}
		if (take == 0)
			break;
	}
	assert_int_equal(have, 0);
}

static void tokens_whatever_the_split(void **state)
{
	static const enum xtok want[] = { XT_HEADER, XT_ELEM, XT_ELEM, XT_ELEM, XT_END };
	static const char *const want_names[] = { "stream", "features", "message", "presence",
						  "stream" };
	enum xtok kinds[16];
	char names[16][32];
	size_t n;

	(void)state;
	for (size_t step = 1; step <= sizeof(stream); step += (step < 40 ? 1 : 37)) {
		scan_in_pieces(step, kinds, &n, names);
		assert_int_equal(n, 5);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(kinds[i], want[i]);
			assert_string_equal(names[i], want_names[i]);
		}
	}
}

static void lookups_in_an_element(void **state)
{
	const char *msg = strstr(stream, "<message");
	struct xel el, tag;
	size_t used;
	char out[64];

	(void)state;
	assert_int_equal(xml_next(msg, strlen(msg), 1, &el, &used), XT_ELEM);
	assert_true(xel_is(&el, "message"));
	assert_int_equal(xel_attr(&el, "from", out, sizeof(out)), 1);
	assert_string_equal(out, "a@b/c");
	assert_int_equal(xel_attr(&el, "id", out, sizeof(out)), 1);
	assert_string_equal(out, "q'1");
	assert_int_equal(xel_attr(&el, "to", out, sizeof(out)), 0);
	assert_int_equal(xel_attr(&el, "from", out, 3), -1);
	assert_int_equal(xel_text(&el, "body", out, sizeof(out)), 9);
	assert_string_equal(out, "1 2 <x> A");
	assert_int_equal(xel_text(&el, "subject", out, sizeof(out)), -1);
	assert_non_null(xel_tag(&el, NULL, "x", &tag));
	assert_int_equal(xel_attr(&tag, "attr", out, sizeof(out)), 1);
	assert_string_equal(out, "/>");
	assert_true(xel_has(&el, "type='chat'"));
	assert_false(xel_has(&el, "type='error'"));
}

static void text_of_the_element_itself(void **state)
{
	const char *s = "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1meWtv</challenge>"
			"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
	struct xel el;
	size_t used;
	char out[32];

	(void)state;
	assert_int_equal(xml_next(s, strlen(s), 1, &el, &used), XT_ELEM);
	assert_int_equal(xel_text(&el, NULL, out, sizeof(out)), 8);
	assert_string_equal(out, "cj1meWtv");
	assert_int_equal(xml_next(s + used, strlen(s + used), 1, &el, &used), XT_ELEM);
	assert_int_equal(xel_text(&el, NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static void refuses_what_xmpp_forbids(void **state)
{
	struct xel el;
	size_t used;
	const char *comment = "<message><!-- hi --></message>";
	const char *not_stream = "<message/>";

	(void)state;
	assert_int_equal(xml_next(comment, strlen(comment), 1, &el, &used), XT_BAD);
	assert_int_equal(xml_next(not_stream, strlen(not_stream), 0, &el, &used), XT_BAD);
	assert_int_equal(xml_next("   ", 3, 1, &el, &used), XT_MORE);
	assert_int_equal(used, 3);		/* whitespace keepalives are consumed */
}

static void escapes_for_xml(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(xml_escape("a<b>&'\"", out, sizeof(out)), 27);
	assert_string_equal(out, "a&lt;b&gt;&amp;&apos;&quot;");
	assert_int_equal(xml_escape("abcdef", out, 6), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tokens_whatever_the_split),
		cmocka_unit_test(lookups_in_an_element),
		cmocka_unit_test(text_of_the_element_itself),
		cmocka_unit_test(refuses_what_xmpp_forbids),
		cmocka_unit_test(escapes_for_xml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
