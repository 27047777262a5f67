/*
 * The daemon: wires store, TLS, listeners and the loop together, commits the turn's writes
 * before the loop sleeps, notices natterctl's account changes, and shuts down cleanly.
 */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include "core/addrkey.h"
#include "core/board.h"
#include "core/err.h"
#include "core/kconfig.h"
#include "core/keycount.h"
#include "core/log.h"
#include "core/natterd.h"
#include "core/privs.h"
#include "core/setupcode.h"
#include "net/net.h"
#include "store/store.h"
#include "tls/tls.h"
#include "web/web.h"
#include "xmpp/c2s.h"
#include "xmpp/credcheck.h"
#include "xmpp/router.h"

#define TICK_MS 250			/* timeouts and the account poll run this often */
#define SHUTDOWN_MS 2000		/* longest wait for streams to flush on exit */
#define CONNS_PER_IP_KEYS 65536
#define REFUSAL_LOG_KEYS 4096

struct store_txn *natterd_txn(struct natterd *d)
{
	if (d->wtxn == NULL && store_begin(d->store, 1, &d->wtxn) != NT_OK) {
		d->wtxn = NULL;
		return NULL;
	}
	return d->wtxn;
}

int natterd_commit(struct natterd *d)
{
	int rc;

	if (d->wtxn == NULL)
		return NT_OK;
	rc = store_commit(d->wtxn);
	d->wtxn = NULL;
	return rc;
}

/* Once per turn: hand out the next batches of stored messages, commit what the turn wrote,
 * then send what it queued, so nothing leaves before the store holds it. */
static void natterd_before_sleep(struct net_loop *l, void *arg)
{
	struct natterd *d = arg;

	offline_pump(d);
	(void)natterd_commit(d);	/* store_commit logs a failure */
	c2s_flush_all(d);
	if (offline_stalled(d))
		net_loop_again(l);
}

/* natterctl deluser or passwd, the first-run page: end the streams of accounts that no
 * longer exist or whose password changed. */
static void natterd_poll_accounts(struct natterd *d)
{
	struct store_txn *t = natterd_txn(d);
	uint64_t gen;

	if (t == NULL || store_accounts_generation(t, &gen) != NT_OK || gen == d->accounts_gen)
		return;
	d->accounts_gen = gen;
	credcheck_sessions(d);
}

static void natterd_tick(struct net_loop *l, void *arg)
{
	(void)l;
	/* Sessions that went to sleep left holes in the heap: give those pages back. */
	if (c2s_sweep(arg) > 0)
		(void)malloc_trim(0);	/* returns 1 when it released memory, 0 otherwise */
	natterd_poll_accounts(arg);
	web_sweep(arg);
}

static void natterd_signal(struct net_loop *l, int signo, void *arg)
{
	struct natterd *d = arg;

	if (signo == SIGHUP) {
		log_info("natterd: SIGHUP: reloading the certificate");
		(void)tls_ctx_reload(d->tls);
		return;
	}
	log_info("natterd: %s: shutting down", signo == SIGINT ? "SIGINT" : "SIGTERM");
	d->stopping = 1;
	net_loop_stop(l);
}

static int natterd_secret(struct natterd *d)
{
	struct store_txn *t = natterd_txn(d);
	size_t len;
	int rc;

	if (t == NULL)
		return NT_ESTORE;
	rc = store_setting_get(t, "scram_fake_secret", d->secret, sizeof(d->secret), &len);
	if (rc == NT_OK && len == sizeof(d->secret))
		return natterd_commit(d);
	if (getrandom(d->secret, sizeof(d->secret), 0) != sizeof(d->secret))
		return NT_EIO;
	if ((rc = store_setting_put(t, "scram_fake_secret", d->secret, sizeof(d->secret))) != 0)
		return rc;
	return natterd_commit(d);
}

static int natterd_domain(struct natterd *d, const char *domain)
{
	struct jid *j = malloc(sizeof(*j));
	int rc = NT_ENOMEM;

	if (j != NULL) {
		rc = jid_parse(j, domain, strlen(domain));
		if (rc == NT_OK && (j->local[0] != '\0' || j->resource[0] != '\0'))
			rc = NT_EINVAL;
		if (rc == NT_OK)
			memcpy(d->domain, j->domain, sizeof(d->domain));
		free(j);
	}
	if (rc != NT_OK)
		log_err("natterd: '%s' is not a valid domain name", domain);
	return rc;
}

/* A box nobody has set up yet says how in its log: its web page and the setup code. */
static void natterd_setup_hint(struct natterd *d, struct store_txn *t)
{
	char code[SETUP_CODE_LEN + 1];

	if (store_accounts_any(t) != 0 || setup_code_get(t, code) != NT_OK)
		return;
	log_info("natterd: no accounts yet: the setup code is %s (also: natterctl setup-code, "
		 "or a short press of the reset button)", code);
	if (d->opt.https_port > 0)
		log_info("natterd: to set the box up, open https://%s:%d/ in a browser and type "
			 "the setup code", d->opt.listen != NULL ? d->opt.listen :
			 "<this box's name or address>", d->opt.https_port);
}

/* The build's network defaults; the lwIP ones exist only in builds with lwIP. */
#if defined(CONFIG_NET_LWIP) || defined(CONFIG_NET_BOTH)
#define NET_DEFAULTS { NULL, CONFIG_NT_LWIP_DRIVER, CONFIG_NT_LWIP_IFNAME, \
                       CONFIG_NT_LWIP_IP4, CONFIG_NT_LWIP_GW4, CONFIG_NT_LWIP_IP6 }
#else
#define NET_DEFAULTS { NULL, "tap", "", "", "", "" }
#endif

/* The store's value of setting def, checked, in v (SETTING_VALUE_MAX bytes): v, or NULL when
 * it is unset or bad. A bad one is logged and passed over: the box must still start. */
static const char *natterd_setting(struct store_txn *t, const struct setting_def *def, char *v)
{
	char why[SETTING_WHY_MAX];
	const char *bad;
	size_t len;

	if (t == NULL || store_setting_get(t, def->name, v, SETTING_VALUE_MAX - 1, &len) != NT_OK)
		return NULL;
	v[len] = '\0';
	bad = strlen(v) != len ? "text" : settings_check(def, v, why);
	if (bad != NULL) {
		log_err("natterd: setting %s is not %s; using the build's default", def->name, bad);
		return NULL;
	}
	return v;
}

/* One network option: the command line's, else the store's setting, else the build's. */
static const char *natterd_net_value(struct natterd *d, struct store_txn *t, int i,
                                     const char *given, const char *dflt)
{
	static const char *const names[6] = {
		"net.stack", "net.lwip.driver", "net.lwip.if", "net.lwip.ip4", "net.lwip.gw4",
		"net.lwip.ip6",
	};
	const char *v;

	if (given != NULL)
		return given;
	v = natterd_setting(t, settings_find(names[i]), d->netset[i]);
	return v != NULL ? v : dflt;
}

/* The numeric limits: each setting's value, else its Kconfig default (settings.c). */
static void natterd_limits(struct natterd *d, struct store_txn *t)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "limit.max_conns", offsetof(struct natterd_limits, max_conns) },
		{ "limit.preauth_per_addr", offsetof(struct natterd_limits, preauth_per_addr) },
		{ "limit.preauth_max", offsetof(struct natterd_limits, preauth_max) },
		{ "limit.authed_per_addr", offsetof(struct natterd_limits, authed_per_addr) },
		{ "limit.web_conns", offsetof(struct natterd_limits, web_conns) },
		{ "limit.web_per_addr", offsetof(struct natterd_limits, web_per_addr) },
		{ "limit.sessions_per_account",
		  offsetof(struct natterd_limits, sessions_per_account) },
		{ "limit.output_budget_kb", offsetof(struct natterd_limits, output_budget_kb) },
	};
	struct natterd_limits *lim = &d->lim;
	char v[SETTING_VALUE_MAX];

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const struct setting_def *def = settings_find(fields[i].name);
		long n = def->dflt;

		if (natterd_setting(t, def, v) != NULL)
			(void)settings_number(def, v, &n);	/* checked: cannot fail */
		*(long *)((char *)lim + fields[i].off) = n;
	}
	/* Client connections leave the web page its slots, and at least a few for themselves. */
	if (lim->web_conns > lim->max_conns - 8) {
		log_err("natterd: limit.web_conns %ld leaves too little of limit.max_conns %ld; "
			"using %ld", lim->web_conns, lim->max_conns, lim->max_conns / 4);
		lim->web_conns = lim->max_conns / 4;
	}
	log_info("natterd: limits: %ld connections (%ld kept for the web page, %ld per address "
		 "there), %ld not logged in (%ld per address), %ld logged in per address, %ld "
		 "sessions per account, %ld KiB of output queued", lim->max_conns, lim->web_conns,
		 lim->web_per_addr, lim->preauth_max, lim->preauth_per_addr,
		 lim->authed_per_addr, lim->sessions_per_account, lim->output_budget_kb);
}

static void natterd_net_settings(struct natterd *d)
{
	static const char *const dflt[6] = NET_DEFAULTS;	/* [0]: from Kconfig below */
	struct net_lwip_cfg *c = &d->opt.lwip;
	struct store_txn *t = natterd_txn(d);
	const char *stack;

	stack = natterd_net_value(d, t, 0, d->opt.use_lwip < 0 ? NULL :
	                          d->opt.use_lwip ? "lwip" : "epoll",
	                          IS_ENABLED(CONFIG_NET_LWIP) ? "lwip" : "epoll");
	d->opt.use_lwip = strcmp(stack, "lwip") == 0;
	c->driver = natterd_net_value(d, t, 1, c->driver, dflt[1]);
	c->ifname = natterd_net_value(d, t, 2, c->ifname, dflt[2]);
	c->ip4 = natterd_net_value(d, t, 3, c->ip4, dflt[3]);
	c->gw4 = natterd_net_value(d, t, 4, c->gw4, dflt[4]);
	c->ip6 = natterd_net_value(d, t, 5, c->ip6, dflt[5]);
	if (t != NULL)
		(void)natterd_commit(d);	/* nothing written: lets natterctl in at once */
}

static int natterd_listen(struct natterd *d)
{
	int rc;

	if (d->opt.c2s_port > 0 && (rc = net_listen(d->loop, d->opt.listen,
			(uint16_t)d->opt.c2s_port, c2s_accept_starttls, d)) != NT_OK)
		return rc;
	if (d->opt.c2s_tls_port > 0 && (rc = net_listen(d->loop, d->opt.listen,
			(uint16_t)d->opt.c2s_tls_port, c2s_accept_direct_tls, d)) != NT_OK)
		return rc;
	return NT_OK;
}

/* A new store starts small and grows up to its limit (a smaller limit given for a test
 * also makes it start smaller). */
static int natterd_store_open(struct natterd *d)
{
	unsigned max = d->opt.store_max_mb != 0 ? d->opt.store_max_mb : CONFIG_NT_LMDB_MAP_MAX_MB;
	unsigned reserve = CONFIG_NT_STORE_RESERVE_MB;
	int rc;

	if ((rc = store_open(&d->store, d->opt.datadir, CONFIG_NT_LMDB_MAP_MB < max ?
			     CONFIG_NT_LMDB_MAP_MB : max, 1)) != NT_OK)
		return rc;
	if (reserve > max / 4)
		reserve = max / 4;		/* a small test store keeps a quarter */
	store_set_limits(d->store, max, reserve);
	return NT_OK;
}

int natterd_init(struct natterd *d, const struct natterd_opts *opt)
{
	struct store_txn *t;
	int rc;

	memset(d, 0, sizeof(*d));
	d->opt = *opt;
	if ((rc = board_boot(d)) != NT_OK)
		return rc;
	d->xml_lim.max_bytes = CONFIG_NT_STANZA_MAX_BYTES;
	d->xml_lim.max_depth = CONFIG_NT_XML_MAX_DEPTH;
	d->xml_lim.max_attrs = CONFIG_NT_XML_MAX_ATTRS;
	if ((rc = natterd_domain(d, opt->domain)) != NT_OK)
		return rc;
	if (mkdir(opt->datadir, 0700) != 0 && errno != EEXIST) {
		log_err("natterd: cannot create %s: %s", opt->datadir, strerror(errno));
		return NT_EIO;
	}
	if ((rc = natterd_store_open(d)) != NT_OK)
		return rc;
	if ((rc = natterd_secret(d)) != NT_OK)
		return rc;
	if ((t = natterd_txn(d)) == NULL)
		return NT_ESTORE;
	(void)store_accounts_generation(t, &d->accounts_gen);
	natterd_setup_hint(d, t);
	natterd_limits(d, t);
	(void)natterd_commit(d);
	if ((rc = tls_ctx_new(&d->tls, opt->datadir, d->domain)) != NT_OK)
		return rc;
	d->users = users_new();
	d->preauth_per_addr = keycount_new(CONNS_PER_IP_KEYS, 0);
	d->authed_per_addr = keycount_new(CONNS_PER_IP_KEYS, 0);
	d->refusals = addrkey_log_new(REFUSAL_LOG_KEYS);
	d->loop = net_loop_new((unsigned)d->lim.max_conns);
	if (d->users == NULL || d->preauth_per_addr == NULL || d->authed_per_addr == NULL ||
	    d->refusals == NULL || d->loop == NULL || sasl_limits_new(d) != NT_OK)
		return NT_ENOMEM;
	net_set_output_budget(d->loop, (size_t)d->lim.output_budget_kb * 1024);
	natterd_net_settings(d);
	if (d->opt.use_lwip && (rc = net_lwip_start(d->loop, &d->opt.lwip)) != NT_OK)
		return rc;
	if ((rc = natterd_listen(d)) != NT_OK || (rc = web_start(d)) != NT_OK)
		return rc;
	if (net_on_signal(d->loop, SIGTERM, natterd_signal, d) != NT_OK ||
	    net_on_signal(d->loop, SIGINT, natterd_signal, d) != NT_OK ||
	    net_on_signal(d->loop, SIGHUP, natterd_signal, d) != NT_OK ||
	    net_every(d->loop, TICK_MS, natterd_tick, d) != NT_OK)
		return NT_ENOMEM;
	net_set_before_sleep(d->loop, natterd_before_sleep, d);
	if ((rc = board_start(d)) != NT_OK)
		return rc;
	return privs_drop(opt->user, opt->datadir, d->opt.use_lwip);	/* last: all is open */
}

int natterd_run(struct natterd *d)
{
	uint64_t deadline;
	int rc = net_loop_run(d->loop);

	/* Close every stream properly, then give the peers a moment to read it. */
	for (struct c2s *s = d->sessions; s != NULL; s = s->next)
		c2s_close(s);
	web_close_all(d);
	deadline = net_now_ms(d->loop) + SHUTDOWN_MS;
	while (net_conn_count(d->loop) > 0 && net_now_ms(d->loop) < deadline)
		(void)net_loop_once(d->loop, 50);
	if (natterd_commit(d) != NT_OK)
		rc = NT_ESTORE;
	d->exit_code = rc == NT_OK ? 0 : 1;
	return d->exit_code;
}

void natterd_fini(struct natterd *d)
{
	board_stop(d);		/* before the loop goes: it disarms the watchdog */
	if (d->wtxn != NULL)
		store_abort(d->wtxn);
	d->wtxn = NULL;
	net_loop_free(d->loop);		/* closes what is left, freeing their sessions */
	web_stop(d);
	users_free(d->users);
	sasl_limits_free(d);
	keycount_free(d->preauth_per_addr);
	keycount_free(d->authed_per_addr);
	keycount_free(d->refusals);
	tls_ctx_free(d->tls);
	store_close(d->store);
	memset(d->secret, 0, sizeof(d->secret));
}
