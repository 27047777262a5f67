/* natterd: the XMPP server. Command line, then natterd_init/run/fini. */
#include <getopt.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "core/kconfig.h"
#include "core/log.h"
#include "core/natterd.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: natterd --datadir DIR --domain NAME [options]\n"
		"  --datadir DIR            where accounts, messages and the certificate live\n"
		"  --domain NAME            the XMPP domain users log in to (user@NAME)\n"
		"  --listen ADDR            listen on this address only (default: all)\n"
		"  --c2s-port N             STARTTLS client port (default %d, 0 = off)\n"
		"  --c2s-tls-port N         direct TLS client port (default %d, 0 = off)\n"
		"  --https-port N           the web page (default %d, 0 = off)\n"
		"  --http-port N            sends browsers on to HTTPS (default %d, 0 = off)\n"
		"  --setup-window-s N       a short press of the reset button opens the\n"
		"                           first-run page this long (default %d)\n"
		"  --handshake-timeout-ms N time allowed to log in (default %d)\n"
		"  --idle-timeout-ms N      time a silent session lives (default %d)\n"
		"  --tls-sleep-ms N         idle time before TLS buffers are freed (default %d)\n"
		"  --store-max-mb N         the store grows up to N MiB (default %d; tests)\n"
		"  --login-fail-keys N      entries per failed-login table (tests; default %d)\n"
		"  --user NAME              started as root, run as NAME (default %s)\n"
		"  --net epoll|lwip         the kernel's TCP/IP or natterd's own (lwIP) on a port\n"
		"  --lwip-driver tap|packet the port's kind: a TAP device or a raw Ethernet port\n"
		"  --lwip-if NAME           the port\n"
		"  --lwip-ip4 ADDR/PREFIX   the box's IPv4 address on it\n"
		"  --lwip-gw4 ADDR          IPv4 gateway\n"
		"  --lwip-ip6 ADDR          a static IPv6 address (link-local and SLAAC always)\n"
		"  (each --net/--lwip option beats the setting of the same name, net.stack,\n"
		"   net.lwip.if, ..., set with natterctl; the build's defaults come last)\n"
		"  --sys-root DIR           look for the devices below under DIR (tests)\n"
		"  --watchdog PATH          watchdog device (default from Kconfig; \"\" = none)\n"
		"  --watchdog-timeout-s N   watchdog timeout (default from Kconfig)\n"
		"  --led NAME               status LED in /sys/class/leds (\"\" = none)\n"
		"  --button PATH            reset button input device (\"\" = none)\n"
		"  --button-hold-ms N       hold time of the button for a factory reset\n"
		"  -v, --verbose            debug logging\n",
		CONFIG_NT_C2S_PORT, CONFIG_NT_C2S_TLS_PORT, CONFIG_NT_HTTPS_PORT,
		CONFIG_NT_HTTP_PORT, CONFIG_NT_SETUP_WINDOW_S, CONFIG_NT_HANDSHAKE_TIMEOUT_MS,
		CONFIG_NT_IDLE_TIMEOUT_MS, CONFIG_NT_TLS_SLEEP_MS, CONFIG_NT_LMDB_MAP_MAX_MB,
		CONFIG_NT_LOGIN_FAIL_KEYS, CONFIG_NT_USER);
}

static int parse_num(const char *s, long lo, long hi, const char *what, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "natterd: %s must be a number from %ld to %ld, not '%s'\n",
			what, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

enum {
	OPT_DATADIR = 256, OPT_DOMAIN, OPT_LISTEN, OPT_C2S, OPT_C2S_TLS, OPT_HS, OPT_IDLE,
	OPT_TLS_SLEEP, OPT_USER, OPT_NET, OPT_LWIP_DRIVER, OPT_LWIP_IF, OPT_LWIP_IP4, OPT_LWIP_GW4,
	OPT_LWIP_IP6, OPT_SYS_ROOT, OPT_WATCHDOG, OPT_WATCHDOG_S, OPT_LED, OPT_BUTTON,
	OPT_BUTTON_HOLD, OPT_HTTPS, OPT_HTTP, OPT_SETUP_WINDOW, OPT_STORE_MAX,
	OPT_LOGIN_FAIL_KEYS,
};

static int parse_args(int argc, char **argv, struct natterd_opts *o)
{
	static const struct option longopts[] = {
		{ "datadir", required_argument, NULL, OPT_DATADIR },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "c2s-port", required_argument, NULL, OPT_C2S },
		{ "c2s-tls-port", required_argument, NULL, OPT_C2S_TLS },
		{ "https-port", required_argument, NULL, OPT_HTTPS },
		{ "http-port", required_argument, NULL, OPT_HTTP },
		{ "setup-window-s", required_argument, NULL, OPT_SETUP_WINDOW },
		{ "handshake-timeout-ms", required_argument, NULL, OPT_HS },
		{ "idle-timeout-ms", required_argument, NULL, OPT_IDLE },
		{ "tls-sleep-ms", required_argument, NULL, OPT_TLS_SLEEP },
		{ "store-max-mb", required_argument, NULL, OPT_STORE_MAX },
		{ "login-fail-keys", required_argument, NULL, OPT_LOGIN_FAIL_KEYS },
		{ "user", required_argument, NULL, OPT_USER },
		{ "net", required_argument, NULL, OPT_NET },
		{ "lwip-driver", required_argument, NULL, OPT_LWIP_DRIVER },
		{ "lwip-if", required_argument, NULL, OPT_LWIP_IF },
		{ "lwip-ip4", required_argument, NULL, OPT_LWIP_IP4 },
		{ "lwip-gw4", required_argument, NULL, OPT_LWIP_GW4 },
		{ "lwip-ip6", required_argument, NULL, OPT_LWIP_IP6 },
		{ "sys-root", required_argument, NULL, OPT_SYS_ROOT },
		{ "watchdog", required_argument, NULL, OPT_WATCHDOG },
		{ "watchdog-timeout-s", required_argument, NULL, OPT_WATCHDOG_S },
		{ "led", required_argument, NULL, OPT_LED },
		{ "button", required_argument, NULL, OPT_BUTTON },
		{ "button-hold-ms", required_argument, NULL, OPT_BUTTON_HOLD },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DATADIR: o->datadir = optarg; break;
		case OPT_DOMAIN:  o->domain = optarg; break;
		case OPT_LISTEN:  o->listen = optarg; break;
		case OPT_USER:        o->user = optarg; break;
		case OPT_LWIP_DRIVER: o->lwip.driver = optarg; break;
		case OPT_LWIP_IF:     o->lwip.ifname = optarg; break;
		case OPT_LWIP_IP4:    o->lwip.ip4 = optarg; break;
		case OPT_LWIP_GW4:    o->lwip.gw4 = optarg; break;
		case OPT_LWIP_IP6:    o->lwip.ip6 = optarg; break;
		case OPT_NET:
			if (strcmp(optarg, "epoll") != 0 && strcmp(optarg, "lwip") != 0) {
				fprintf(stderr, "natterd: --net is epoll or lwip, not '%s'\n",
				        optarg);
				return -1;
			}
			o->use_lwip = strcmp(optarg, "lwip") == 0;
			break;
		case OPT_SYS_ROOT: o->board.sys_root = optarg; break;
		case OPT_WATCHDOG: o->board.watchdog = optarg; break;
		case OPT_LED:      o->board.led = optarg; break;
		case OPT_BUTTON:   o->board.button = optarg; break;
		case OPT_WATCHDOG_S:
			if (parse_num(optarg, 2, 600, "--watchdog-timeout-s", &v) != 0)
				return -1;
			o->board.watchdog_s = (unsigned)v;
			break;
		case OPT_BUTTON_HOLD:
			if (parse_num(optarg, 50, 60000, "--button-hold-ms", &v) != 0)
				return -1;
			o->board.button_hold_ms = (uint32_t)v;
			break;
		case 'v':         o->verbose = 1; break;
		case 'h':         usage(stdout); exit(0);
		case OPT_C2S:
		case OPT_C2S_TLS:
		case OPT_HTTPS:
		case OPT_HTTP:
			if (parse_num(optarg, 0, 65535, "a port", &v) != 0)
				return -1;
			*(c == OPT_C2S ? &o->c2s_port : c == OPT_C2S_TLS ? &o->c2s_tls_port :
			  c == OPT_HTTPS ? &o->https_port : &o->http_port) = (int)v;
			break;
		case OPT_STORE_MAX:
			if (parse_num(optarg, 1, 65536, "--store-max-mb", &v) != 0)
				return -1;
			o->store_max_mb = (unsigned)v;
			break;
		case OPT_SETUP_WINDOW:
			if (parse_num(optarg, 1, 86400, "--setup-window-s", &v) != 0)
				return -1;
			o->setup_window_s = (uint32_t)v;
			break;
		case OPT_HS:
		case OPT_IDLE:
			if (parse_num(optarg, 100, 86400000, "a timeout", &v) != 0)
				return -1;
			*(c == OPT_HS ? &o->handshake_ms : &o->idle_ms) = (uint32_t)v;
			break;
		case OPT_TLS_SLEEP:
			if (parse_num(optarg, 0, 600000, "--tls-sleep-ms", &v) != 0)
				return -1;
			o->tls_sleep_ms = (uint32_t)v;
			break;
		case OPT_LOGIN_FAIL_KEYS:
			if (parse_num(optarg, 16, 1000000, "--login-fail-keys", &v) != 0)
				return -1;
			o->login_fail_keys = (unsigned)v;
			break;
		default:
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "natterd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->datadir == NULL || o->domain == NULL) {
		fprintf(stderr, "natterd: --datadir and --domain are required\n");
		return -1;
	}
	return 0;
}

/* Each session is a descriptor: allow as many as the hard limit lets us. */
static void raise_fd_limit(void)
{
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &r) != 0)
			log_warn("natterd: cannot raise the open-file limit");
	}
}

int main(int argc, char **argv)
{
	struct natterd_opts o = {
		.c2s_port = CONFIG_NT_C2S_PORT,
		.c2s_tls_port = CONFIG_NT_C2S_TLS_PORT,
		.https_port = CONFIG_NT_HTTPS_PORT,
		.http_port = CONFIG_NT_HTTP_PORT,
		.handshake_ms = CONFIG_NT_HANDSHAKE_TIMEOUT_MS,
		.idle_ms = CONFIG_NT_IDLE_TIMEOUT_MS,
		.tls_sleep_ms = CONFIG_NT_TLS_SLEEP_MS,
		.user = CONFIG_NT_USER,
		.use_lwip = -1,		/* the setting, else the build's default */
	};
	struct natterd *d;
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	log_set_level(o.verbose ? LOG_DEBUG : LOG_INFO);
	raise_fd_limit();
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return 1;
	if ((rc = natterd_init(d, &o)) != NT_OK) {
		log_err("natterd: cannot start: %s", nt_strerror(rc));
		natterd_fini(d);
		free(d);
		return 1;
	}
	log_info("natterd: ready: domain %s, board %s, client ports %d (STARTTLS) and %d "
		 "(direct TLS), data in %s", d->domain, CONFIG_NT_BOARD, o.c2s_port,
		 o.c2s_tls_port, o.datadir);
	rc = natterd_run(d);
	natterd_fini(d);
	free(d);
	log_info("natterd: stopped");
	return rc;
}
