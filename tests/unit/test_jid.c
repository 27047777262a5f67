#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stringprep.h>
#include "core/err.h"
#include "xmpp/jid.h"

static int parse(struct jid *j, const char *s)
{
	return jid_parse(j, s, strlen(s));
}

/* Parses s, which must succeed, and checks the three parts. */
static void expect_jid(const char *s, const char *local, const char *domain, const char *res)
{
	struct jid j;

	assert_int_equal(parse(&j, s), NT_OK);
	assert_string_equal(j.local, local);
	assert_string_equal(j.domain, domain);
	assert_string_equal(j.resource, res);
}

static void expect_rc(const char *s, int rc)
{
	struct jid j;

	assert_int_equal(parse(&j, s), rc);
	/* A failed parse leaves nothing half-filled behind. */
	assert_string_equal(j.local, "");
	assert_string_equal(j.domain, "");
	assert_string_equal(j.resource, "");
}

static void jid_parses_all_forms(void **state)
{
	(void)state;
	expect_jid("example.com", "", "example.com", "");
	expect_jid("user@example.com", "user", "example.com", "");
	expect_jid("example.com/res", "", "example.com", "res");
	expect_jid("user@example.com/res", "user", "example.com", "res");
	expect_jid("a@b", "a", "b", "");
}

static void jid_splits_at_first_slash(void **state)
{
	(void)state;
	/* RFC 7622 3.1: '@' and '/' after the first '/' belong to the resource. */
	expect_jid("user@example.com/a/b@c", "user", "example.com", "a/b@c");
	expect_jid("example.com/user@host", "", "example.com", "user@host");
	expect_jid("a/b@c", "", "a", "b@c");
}

static void jid_folds_case_but_keeps_resource(void **state)
{
	(void)state;
	expect_jid("UsEr@ExAmPlE.CoM/ReSoUrCe", "user", "example.com", "ReSoUrCe");
}

static void jid_prepares_unicode(void **state)
{
	(void)state;
	/* U+00C4 / U+00C9 are folded; the resource keeps U+00C4. */
	expect_jid("\xc3\x84@\xc3\x89xample.com/\xc3\x84", "\xc3\xa4", "\xc3\xa9xample.com",
		   "\xc3\x84");
	/* U+00DF folds to "ss" in the localpart (B.2), and stays in the resource. */
	expect_jid("Stra\xc3\x9f" "e@example.com/Stra\xc3\x9f" "e", "strasse", "example.com",
		   "Stra\xc3\x9f" "e");
	/* NFKC: e + U+0301 becomes U+00E9. */
	expect_jid("e\xcc\x81@example.com", "\xc3\xa9", "example.com", "");
	/* U+00AD SOFT HYPHEN is mapped to nothing. */
	expect_jid("a\xc2\xad" "b@example.com", "ab", "example.com", "");
	/* U+FF0E FULLWIDTH FULL STOP becomes '.' through NFKC. */
	expect_jid("example\xef\xbc\x8e" "com", "", "example.com", "");
	/* A resource may hold spaces and emoji (unassigned in Unicode 3.2: allowed for queries). */
	expect_jid("example.com/Gajim on \xf0\x9f\x98\x80", "", "example.com",
		   "Gajim on \xf0\x9f\x98\x80");
}

static void jid_domain_forms(void **state)
{
	(void)state;
	expect_jid("user@example.com.", "user", "example.com", "");
	expect_jid("example.com./r", "", "example.com", "r");
	expect_jid("192.168.1.10", "", "192.168.1.10", "");
	expect_jid("user@[::1]/r", "user", "[::1]", "r");
	expect_jid("[2001:DB8::A]", "", "[2001:db8::a]", "");
	expect_jid("my_host", "", "my_host", "");
	expect_rc("example.com..", NT_EINVAL);
	expect_rc(".", NT_EINVAL);
	expect_rc("user@.", NT_EINVAL);
	expect_rc(".example.com", NT_EINVAL);
	expect_rc("a..b", NT_EINVAL);
	expect_rc("::1", NT_EINVAL);
	expect_rc("user@2001:db8::1", NT_EINVAL);
	expect_rc("[::1", NT_EINVAL);
	expect_rc("[::g]", NT_EINVAL);
	expect_rc("[]", NT_EINVAL);
	expect_rc("[127.0.0.1]", NT_EINVAL);
	expect_rc("[::1]x", NT_EINVAL);
	expect_rc("exa mple.com", NT_EINVAL);
	expect_rc("a@b@c", NT_EINVAL);
	expect_rc("exa:mple.com", NT_EINVAL);
	expect_rc("example\xe3\x80\x82" "com", NT_EINVAL);	/* U+3002 */
	expect_rc("example\xef\xbd\xa1" "com", NT_EINVAL);	/* U+FF61, NFKC to U+3002 */
}

static void jid_rejects_empty_parts(void **state)
{
	(void)state;
	expect_rc("", NT_EINVAL);
	expect_rc("@example.com", NT_EINVAL);
	expect_rc("user@", NT_EINVAL);
	expect_rc("user@/r", NT_EINVAL);
	expect_rc("example.com/", NT_EINVAL);
	expect_rc("user@example.com/", NT_EINVAL);
	expect_rc("/r", NT_EINVAL);
	expect_rc("@", NT_EINVAL);
	/* U+200B ZERO WIDTH SPACE maps to nothing, leaving an empty part after preparation. */
	expect_rc("\xe2\x80\x8b@example.com", NT_EINVAL);
	expect_rc("example.com/\xe2\x80\x8b", NT_EINVAL);
}

static void jid_rejects_nodeprep_prohibited(void **state)
{
	static const char *const bad[] = {
		"a\"b@x", "a&b@x", "a'b@x", "a:b@x", "a<b@x", "a>b@x", "a b@x",
		"a\x7f" "b@x", "a\x01" "b@x",
		"a\xe2\x80\xa8" "b@x",		/* U+2028 LINE SEPARATOR */
		"a\xef\xbf\xbd" "b@x",		/* U+FFFD, C.6 */
		"\xee\x80\x80@x",		/* U+E000 private use */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_rc(bad[i], NT_EINVAL);
	/* The same characters are fine in a resource. */
	expect_jid("x/a\"&':<>@ b", "", "x", "a\"&':<>@ b");
}

static void jid_rejects_bad_resource(void **state)
{
	(void)state;
	expect_rc("x/a\x07" "b", NT_EINVAL);		/* ASCII control */
	expect_rc("x/\xee\x80\x80", NT_EINVAL);		/* private use */
}

static void jid_rejects_bad_encoding(void **state)
{
	static const char fuzz1[] = "user@[B6:B::7\0\0g\0D2]/r";
	struct jid j;

	(void)state;
	expect_rc("\xff@example.com", NT_EINVAL);
	expect_rc("\xc0\x80@example.com", NT_EINVAL);	/* overlong NUL */
	expect_rc("\xed\xa0\x80@example.com", NT_EINVAL);	/* surrogate */
	expect_rc("example.com/\xc3", NT_EINVAL);	/* truncated sequence */
	expect_rc("ex\xffmple.com", NT_EINVAL);
	/* An embedded NUL in any part. */
	assert_int_equal(jid_parse(&j, "a\0b@example.com", 15), NT_EINVAL);
	assert_int_equal(jid_parse(&j, "example.com/a\0b", 15), NT_EINVAL);
	assert_int_equal(jid_parse(&j, "exam\0ple.com", 12), NT_EINVAL);
	/* Found by fuzz_jid: inet_pton stopped at the NUL and took "[B6:B::7\0...]". */
	assert_int_equal(jid_parse(&j, fuzz1, sizeof(fuzz1) - 1), NT_EINVAL);
	assert_int_equal(jid_parse(&j, "[::1\0]", 6), NT_EINVAL);
}

static void jid_rejects_bidi_violations(void **state)
{
	(void)state;
	/* RFC 3454 6: a string with an RandALCat character must not also hold LCat ones... */
	expect_rc("\xd7\x90" "a\xd7\x90@example.com", NT_EINVAL);
	/* ...and must start and end with RandALCat. */
	expect_rc("\xd7\x90" "1@example.com", NT_EINVAL);
	expect_jid("\xd7\x90\xd7\x91@example.com", "\xd7\x90\xd7\x91", "example.com", "");
}

static void jid_parse_not_nul_terminated(void **state)
{
	struct jid j;
	const char buf[] = "user@example.com/resXXXX";

	(void)state;
	assert_int_equal(jid_parse(&j, buf, 20), NT_OK);
	assert_string_equal(j.resource, "res");
}

/* s = prefix, then count copies of unit, then suffix. */
static char *build(const char *prefix, const char *unit, size_t count, const char *suffix)
{
	size_t pl = strlen(prefix), ul = strlen(unit), sl = strlen(suffix), i;
	char *s = malloc(pl + ul * count + sl + 1);

	assert_non_null(s);
	memcpy(s, prefix, pl);
	for (i = 0; i < count; i++)
		memcpy(s + pl + i * ul, unit, ul);
	memcpy(s + pl + count * ul, suffix, sl + 1);
	return s;
}

static void expect_built(const char *prefix, const char *unit, size_t count, const char *suffix,
                         int rc)
{
	struct jid j;
	char *s = build(prefix, unit, count, suffix);

	assert_int_equal(jid_parse(&j, s, strlen(s)), rc);
	free(s);
}

static void jid_part_limits(void **state)
{
	(void)state;
	expect_built("", "a", JID_PART_MAX, "@example.com", NT_OK);
	expect_built("", "a", JID_PART_MAX + 1, "@example.com", NT_ELIMIT);
	expect_built("", "a", JID_PART_MAX, "", NT_OK);
	expect_built("", "a", JID_PART_MAX + 1, "", NT_ELIMIT);
	expect_built("example.com/", "a", JID_PART_MAX, "", NT_OK);
	expect_built("example.com/", "a", JID_PART_MAX + 1, "", NT_ELIMIT);
	/* The trailing dot is stripped before the domain is measured. */
	expect_built("", "a", JID_PART_MAX, ".", NT_OK);
}

static void jid_limits_after_preparation(void **state)
{
	(void)state;
	/* U+0587 (2 bytes) folds to U+0565 U+0582 (4 bytes): 300 of them are 1200 bytes. */
	expect_built("", "\xd6\x87", 300, "@example.com", NT_ELIMIT);
	expect_built("", "\xd6\x87", 255, "@example.com", NT_OK);
	/* 600 soft hyphens (1200 bytes) vanish: what counts is the prepared length. */
	expect_built("a", "\xc2\xad", 600, "@example.com", NT_OK);
	/* U+00DF doubles in bytes ("ss"): 511 of them plus 'a' is 1023, one more is too long. */
	expect_built("a", "\xc3\x9f", 511, "@example.com", NT_OK);
	expect_built("ab", "\xc3\x9f", 511, "@example.com", NT_ELIMIT);
}

static void jid_rejects_absurd_input(void **state)
{
	(void)state;
	expect_built("", "\xc2\xad", JID_MAX, "a@example.com", NT_ELIMIT);
	expect_built("", "a", JID_MAX + 1, "", NT_ELIMIT);
}

static void jid_longest_full(void **state)
{
	struct jid j;
	char *s = build("", "a", JID_PART_MAX, ""), *in, out[JID_MAX + 1];

	(void)state;
	in = malloc(JID_MAX + 1);
	assert_non_null(in);
	strcpy(in, s);
	strcat(in, "@");
	strcat(in, s);
	strcat(in, "/");
	strcat(in, s);
	assert_int_equal(strlen(in), JID_MAX);
	assert_int_equal(parse(&j, in), NT_OK);
	assert_int_equal(jid_full(&j, out, sizeof(out)), NT_OK);
	assert_string_equal(out, in);
	assert_int_equal(jid_full(&j, out, sizeof(out) - 1), NT_ELIMIT);
	free(s);
	free(in);
}

static void jid_prep_parts(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(jid_prep_local(out, sizeof(out), "JuLiet", 6), NT_OK);
	assert_string_equal(out, "juliet");
	assert_int_equal(jid_prep_local(out, sizeof(out), "a@b", 3), NT_EINVAL);
	assert_int_equal(jid_prep_local(out, sizeof(out), "", 0), NT_EINVAL);
	assert_int_equal(jid_prep_local(out, 6, "juliet", 6), NT_ELIMIT);
	assert_int_equal(jid_prep_local(out, 7, "juliet", 6), NT_OK);
	assert_int_equal(jid_prep_resource(out, sizeof(out), "Balcony/1", 9), NT_OK);
	assert_string_equal(out, "Balcony/1");
	assert_int_equal(jid_prep_resource(out, sizeof(out), "", 0), NT_EINVAL);
	assert_int_equal(jid_prep_resource(out, 9, "Balcony/1", 9), NT_ELIMIT);
}

static void jid_formats(void **state)
{
	struct jid j;
	char out[64];

	(void)state;
	assert_int_equal(parse(&j, "Juliet@Capulet.LIT/Balcony"), NT_OK);
	assert_int_equal(jid_bare(&j, out, sizeof(out)), NT_OK);
	assert_string_equal(out, "juliet@capulet.lit");
	assert_int_equal(jid_full(&j, out, sizeof(out)), NT_OK);
	assert_string_equal(out, "juliet@capulet.lit/Balcony");
	/* Exactly enough room, then one byte short. */
	assert_int_equal(jid_bare(&j, out, 19), NT_OK);
	assert_int_equal(jid_bare(&j, out, 18), NT_ELIMIT);
	assert_string_equal(out, "");
	assert_int_equal(jid_full(&j, out, 27), NT_OK);
	assert_int_equal(jid_full(&j, out, 26), NT_ELIMIT);
	assert_int_equal(jid_full(&j, out, 0), NT_ELIMIT);

	assert_int_equal(parse(&j, "capulet.lit/Balcony"), NT_OK);
	assert_int_equal(jid_bare(&j, out, sizeof(out)), NT_OK);
	assert_string_equal(out, "capulet.lit");
	assert_int_equal(jid_full(&j, out, sizeof(out)), NT_OK);
	assert_string_equal(out, "capulet.lit/Balcony");

	assert_int_equal(parse(&j, "juliet@capulet.lit"), NT_OK);
	assert_int_equal(jid_full(&j, out, sizeof(out)), NT_OK);
	assert_string_equal(out, "juliet@capulet.lit");
}

/* libidn's answer for one part, for comparing with the ASCII fast path. */
static int libidn_prep(const char *in, const Stringprep_profile *prof, char *out, size_t cap)
{
	snprintf(out, cap, "%s", in);
	return stringprep(out, cap, 0, prof) == STRINGPREP_OK && out[0] != '\0' ? NT_OK : NT_EINVAL;
}

/* The ASCII fast path gives exactly what libidn gives, for every ASCII character in every
 * position of a part. */
static void jid_ascii_fast_path_matches_libidn(void **state)
{
	char in[8], want[64], got[64];

	(void)state;
	for (int c = 1; c < 128; c++) {
		for (int pos = 0; pos < 3; pos++) {
			const char *fmt[] = { "%cab", "a%cB", "Ab%c" };
			int w;

			snprintf(in, sizeof(in), fmt[pos], c);
			w = libidn_prep(in, stringprep_xmpp_nodeprep, want, sizeof(want));
			assert_int_equal(jid_prep_local(got, sizeof(got), in, 3), w);
			if (w == NT_OK)
				assert_string_equal(got, want);
			w = libidn_prep(in, stringprep_xmpp_resourceprep, want, sizeof(want));
			assert_int_equal(jid_prep_resource(got, sizeof(got), in, 3), w);
			if (w == NT_OK)
				assert_string_equal(got, want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jid_parses_all_forms),
		cmocka_unit_test(jid_splits_at_first_slash),
		cmocka_unit_test(jid_folds_case_but_keeps_resource),
		cmocka_unit_test(jid_prepares_unicode),
		cmocka_unit_test(jid_domain_forms),
		cmocka_unit_test(jid_rejects_empty_parts),
		cmocka_unit_test(jid_rejects_nodeprep_prohibited),
		cmocka_unit_test(jid_rejects_bad_resource),
		cmocka_unit_test(jid_rejects_bad_encoding),
		cmocka_unit_test(jid_rejects_bidi_violations),
		cmocka_unit_test(jid_parse_not_nul_terminated),
		cmocka_unit_test(jid_part_limits),
		cmocka_unit_test(jid_limits_after_preparation),
		cmocka_unit_test(jid_rejects_absurd_input),
		cmocka_unit_test(jid_longest_full),
		cmocka_unit_test(jid_prep_parts),
		cmocka_unit_test(jid_formats),
		cmocka_unit_test(jid_ascii_fast_path_matches_libidn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
