#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "core/addrkey.h"
#include "core/keycount.h"

static void key_is(const char *addr, const char *want)
{
	char out[ADDRKEY_MAX];

	memset(out, 'Z', sizeof(out));
	addrkey_from(addr, out);
	if (strcmp(out, want) != 0)
		fail_msg("addrkey_from(\"%s\") = \"%s\", want \"%s\"", addr, out, want);
}

static void addrkey_ipv4_is_the_address(void **state)
{
	(void)state;
	key_is("192.0.2.1", "192.0.2.1");
	key_is("127.0.0.2", "127.0.0.2");
	key_is("0.0.0.0", "0.0.0.0");
	key_is("255.255.255.255", "255.255.255.255");
}

static void addrkey_ipv4_mapped_is_ipv4(void **state)
{
	(void)state;
	key_is("::ffff:192.0.2.1", "192.0.2.1");
	key_is("::FFFF:10.1.2.3", "10.1.2.3");
	key_is("0:0:0:0:0:ffff:c000:0201", "192.0.2.1");
	/* Not mapped: IPv4-compatible (deprecated) and the NAT64 prefix stay IPv6 /64s. */
	key_is("::192.0.2.1", "::/64");
	key_is("64:ff9b::192.0.2.1", "64:ff9b::/64");
}

static void addrkey_ipv6_is_its_64(void **state)
{
	(void)state;
	key_is("2001:db8:1:2::1", "2001:db8:1:2::/64");
	key_is("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64");
	key_is("2001:DB8:1:2:0:0:0:5", "2001:db8:1:2::/64");
	key_is("2001:db8:1:3::1", "2001:db8:1:3::/64");
	key_is("::1", "::/64");
	key_is("::", "::/64");
	key_is("fe80::1%eth0", "fe80::/64");
	key_is("fe80::2%7", "fe80::/64");
	key_is("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64");
	key_is("fd00:0:0:1::", "fd00:0:0:1::/64");
}

static void addrkey_same_64_same_key(void **state)
{
	char a[ADDRKEY_MAX], b[ADDRKEY_MAX], c[ADDRKEY_MAX];

	(void)state;
	addrkey_from("2001:db8:aa:bb::1", a);
	addrkey_from("2001:db8:aa:bb:ffff::7", b);
	addrkey_from("2001:db8:aa:bc::1", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

static void addrkey_other_text_is_its_own_key(void **state)
{
	char out[ADDRKEY_MAX], longer[200];

	(void)state;
	key_is("?", "?");
	key_is("", "");
	key_is("1.2.3", "1.2.3");
	key_is("1.2.3.4.5", "1.2.3.4.5");
	key_is("2001:db8::1::2", "2001:db8::1::2");
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	addrkey_from(longer, out);
	assert_int_equal(strlen(out), ADDRKEY_MAX - 1);
}

static void addrkey_log_once_per_period(void **state)
{
	struct keycount *kc = addrkey_log_new(64);
	uint64_t t0 = 5 * ADDRKEY_LOG_PERIOD_MS;
	long before = -1;

	(void)state;
	assert_non_null(kc);
	assert_int_equal(addrkey_log_due(kc, "preauth", "192.0.2.1", t0, &before), 1);
	assert_int_equal(before, 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(addrkey_log_due(kc, "preauth", "192.0.2.1", t0 + 10 + i, &before),
				 0);
	/* Another source, or another kind of refusal, is logged on its own. */
	assert_int_equal(addrkey_log_due(kc, "preauth", "192.0.2.2", t0 + 20, &before), 1);
	assert_int_equal(addrkey_log_due(kc, "authed", "192.0.2.1", t0 + 20, &before), 1);
	/* The next period logs again and tells how many the last one refused. */
	assert_int_equal(addrkey_log_due(kc, "preauth", "192.0.2.1",
					 t0 + ADDRKEY_LOG_PERIOD_MS, &before), 1);
	assert_int_equal(before, 6);
	assert_int_equal(addrkey_log_due(kc, "preauth", "192.0.2.1",
					 t0 + 3 * ADDRKEY_LOG_PERIOD_MS, &before), 1);
	assert_int_equal(before, 0);
	keycount_free(kc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addrkey_ipv4_is_the_address),
		cmocka_unit_test(addrkey_ipv4_mapped_is_ipv4),
		cmocka_unit_test(addrkey_ipv6_is_its_64),
		cmocka_unit_test(addrkey_same_64_same_key),
		cmocka_unit_test(addrkey_other_text_is_its_own_key),
		cmocka_unit_test(addrkey_log_once_per_period),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
