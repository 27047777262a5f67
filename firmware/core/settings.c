/*
 * The known run-time settings and the check each value must pass (see settings.h). The
 * checks need no network stack: natterctl runs them before it stores a value, natterd again
 * when it reads one (the store may have been written by something else).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/kconfig.h"
#include "core/settings.h"

/* A value of its own shape, checked by check. */
#define TEXT(name, help, check) { name, help, check, 0, 0, 0 }
/* A limit: a whole number from min to max, the Kconfig symbol's range and default. */
#define LIMIT(name, help, sym, lo, hi) { name, help, NULL, lo, hi, sym }

static const char *check_stack(const char *v)
{
	return strcmp(v, "epoll") == 0 || strcmp(v, "lwip") == 0 ? NULL : "epoll or lwip";
}

static const char *check_driver(const char *v)
{
	return strcmp(v, "tap") == 0 || strcmp(v, "packet") == 0 ? NULL : "tap or packet";
}

static const char *check_ifname(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 15 || strcspn(v, "/ \t:") != n || strcmp(v, ".") == 0 ||
	    strcmp(v, "..") == 0)
		return "a network interface name (1 to 15 characters, no '/', ':' or spaces)";
	return NULL;
}

/* "ADDR" or "ADDR/PREFIX" of family af; "" too when empty_ok. */
static int addr_ok(const char *v, int af, int need_prefix)
{
	char a[64], *slash, *end;
	unsigned char bin[16];
	long bits;

	if (strlen(v) >= sizeof(a))
		return 0;
	strcpy(a, v);
	if ((slash = strchr(a, '/')) != NULL) {
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 1 || bits > (af == AF_INET ? 32 : 128))
			return 0;
	} else if (need_prefix) {
		return 0;
	}
	return inet_pton(af, a, bin) == 1;
}

static const char *check_ip4(const char *v)
{
	return v[0] == '\0' || addr_ok(v, AF_INET, 1) ? NULL
	       : "an IPv4 address with its prefix, like 192.168.1.20/24 (empty: none)";
}

static const char *check_gw4(const char *v)
{
	return v[0] == '\0' || (strchr(v, '/') == NULL && addr_ok(v, AF_INET, 0)) ? NULL
	       : "an IPv4 address, like 192.168.1.1 (empty: none)";
}

static const char *check_ip6(const char *v)
{
	return v[0] == '\0' || addr_ok(v, AF_INET6, 0) ? NULL
	       : "an IPv6 address, optionally with a prefix, like fd00::20/64 (empty: none)";
}

static const struct setting_def defs[] = {
	TEXT("net.stack", "epoll (the kernel's TCP/IP) or lwip (natterd's own, on one port)",
	     check_stack),
	TEXT("net.lwip.driver", "tap (a TAP device) or packet (a raw Ethernet port)",
	     check_driver),
	TEXT("net.lwip.if", "the network port lwIP runs on, like eth1", check_ifname),
	TEXT("net.lwip.ip4", "the box's IPv4 address/prefix there, like 192.168.1.20/24",
	     check_ip4),
	TEXT("net.lwip.gw4", "the IPv4 gateway, like 192.168.1.1", check_gw4),
	TEXT("net.lwip.ip6", "a static IPv6 address (link-local and SLAAC always work)",
	     check_ip6),
	LIMIT("limit.max_conns", "connections open at once, of every kind",
	      CONFIG_NT_MAX_CONNS, 16, 1000000),
	LIMIT("limit.preauth_per_addr", "client connections not logged in, per address (IPv6: "
	      "per /64)", CONFIG_NT_PREAUTH_PER_ADDR, 1, 1000000),
	LIMIT("limit.preauth_max", "client connections not logged in, from all addresses",
	      CONFIG_NT_PREAUTH_MAX, 1, 1000000),
	LIMIT("limit.authed_per_addr", "logged-in client connections per address (a NAT "
	      "carries many)", CONFIG_NT_CONNS_PER_IP, 1, 1000000),
	LIMIT("limit.web_conns", "web page connections, kept free of client connections",
	      CONFIG_NT_WEB_CONNS_MAX, 1, 65536),
	LIMIT("limit.web_per_addr", "web page connections per address",
	      CONFIG_NT_WEB_CONNS_PER_ADDR, 1, 65536),
	LIMIT("limit.sessions_per_account", "resources one account may bind at once",
	      CONFIG_NT_SESSIONS_PER_ACCOUNT, 1, 10000),
	LIMIT("limit.output_budget_kb", "KiB queued for all peers together before the "
	      "slowest reader is dropped", CONFIG_NT_OUTPUT_BUDGET_KB, 64, 4194304),
};

const struct setting_def *settings_all(size_t *n)
{
	*n = sizeof(defs) / sizeof(defs[0]);
	return defs;
}

const struct setting_def *settings_find(const char *name)
{
	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		if (strcmp(defs[i].name, name) == 0)
			return &defs[i];
	return NULL;
}

/* Digits only (no sign, space, base prefix or exponent), within def's range. */
int settings_number(const struct setting_def *def, const char *value, long *out)
{
	char *end;
	long v;

	if (def->check != NULL || value[0] < '0' || value[0] > '9')
		return NT_EINVAL;
	errno = 0;
	v = strtol(value, &end, 10);
	if (*end != '\0' || errno != 0 || v < def->min || v > def->max ||
	    (value[0] == '0' && value[1] != '\0'))
		return NT_EINVAL;
	*out = v;
	return NT_OK;
}

const char *settings_check(const struct setting_def *def, const char *value,
                           char why[SETTING_WHY_MAX])
{
	long v;

	if (def->check != NULL)
		return def->check(value);
	if (settings_number(def, value, &v) == NT_OK)
		return NULL;
	snprintf(why, SETTING_WHY_MAX, "a whole number from %ld to %ld", def->min, def->max);
	return why;
}
