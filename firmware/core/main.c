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
		"  --handshake-timeout-ms N time allowed to log in (default %d)\n"
		"  --idle-timeout-ms N      time a silent session lives (default %d)\n"
		"  --tls-sleep-ms N         idle time before TLS buffers are freed (default %d)\n"
		"  -v, --verbose            debug logging\n",
		CONFIG_NT_C2S_PORT, CONFIG_NT_C2S_TLS_PORT, CONFIG_NT_HANDSHAKE_TIMEOUT_MS,
		CONFIG_NT_IDLE_TIMEOUT_MS, CONFIG_NT_TLS_SLEEP_MS);
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
	OPT_TLS_SLEEP,
};

static int parse_args(int argc, char **argv, struct natterd_opts *o)
{
	static const struct option longopts[] = {
		{ "datadir", required_argument, NULL, OPT_DATADIR },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "c2s-port", required_argument, NULL, OPT_C2S },
		{ "c2s-tls-port", required_argument, NULL, OPT_C2S_TLS },
		{ "handshake-timeout-ms", required_argument, NULL, OPT_HS },
		{ "idle-timeout-ms", required_argument, NULL, OPT_IDLE },
		{ "tls-sleep-ms", required_argument, NULL, OPT_TLS_SLEEP },
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
		case 'v':         o->verbose = 1; break;
		case 'h':         usage(stdout); exit(0);
		case OPT_C2S:
		case OPT_C2S_TLS:
			if (parse_num(optarg, 0, 65535, "a port", &v) != 0)
				return -1;
			*(c == OPT_C2S ? &o->c2s_port : &o->c2s_tls_port) = (int)v;
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
		.handshake_ms = CONFIG_NT_HANDSHAKE_TIMEOUT_MS,
		.idle_ms = CONFIG_NT_IDLE_TIMEOUT_MS,
		.tls_sleep_ms = CONFIG_NT_TLS_SLEEP_MS,
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
