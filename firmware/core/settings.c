/*
 * The known run-time settings and the check each value must pass (see settings.h). The
 * checks need no network stack: natterctl runs them before it stores a value, natterd again
 * when it reads one (the store may have been written by something else).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "core/settings.h"

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
	{ "net.stack", "epoll (the kernel's TCP/IP) or lwip (natterd's own, on one port)",
	  check_stack },
	{ "net.lwip.driver", "tap (a TAP device) or packet (a raw Ethernet port)", check_driver },
	{ "net.lwip.if", "the network port lwIP runs on, like eth1", check_ifname },
	{ "net.lwip.ip4", "the box's IPv4 address/prefix there, like 192.168.1.20/24",
	  check_ip4 },
	{ "net.lwip.gw4", "the IPv4 gateway, like 192.168.1.1", check_gw4 },
	{ "net.lwip.ip6", "a static IPv6 address (link-local and SLAAC always work)", check_ip6 },
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
