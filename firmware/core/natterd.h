#ifndef NATTER_CORE_NATTERD_H
#define NATTER_CORE_NATTERD_H
/*
 * The daemon's state, passed to every handler (no hidden globals). One per process.
 */
#include <stddef.h>
#include <stdint.h>
#include "core/board.h"
#include "core/settings.h"
#include "net/net.h"
#include "xml/framer.h"
#include "xmpp/jid.h"

struct store;
struct store_txn;
struct tls_ctx;
struct c2s;
struct users;
struct keycount;
struct web;

struct natterd_opts {
	const char *datadir;
	const char *domain;
	const char *listen;		/* NULL: every address */
	int c2s_port;			/* 0: off */
	int c2s_tls_port;		/* 0: off */
	int https_port;			/* the web page; 0: off */
	int http_port;			/* redirects to https_port; 0: off */
	uint32_t setup_window_s;	/* a short press opens setup this long; 0: Kconfig */
	uint32_t handshake_ms;
	uint32_t idle_ms;
	uint32_t tls_sleep_ms;		/* 0: release TLS buffers after every read */
	unsigned store_max_mb;		/* the store grows up to this; 0: Kconfig */
	unsigned login_fail_keys;	/* size of the failed-login tables; 0: Kconfig */
	const char *user;		/* started as root: become this user; "root": stay */
	int use_lwip;			/* 1: own TCP/IP stack on opt.lwip's port; -1: unset */
	struct net_lwip_cfg lwip;	/* NULL fields: unset (natterd_init fills them) */
	struct board_opts board;	/* LED, watchdog, reset button */
	int verbose;
};

/* The limits of issue 10, read at start (natterctl set limit.*; Kconfig defaults). */
struct natterd_limits {
	long max_conns;			/* every connection (the loop's cap) */
	long preauth_per_addr;		/* client connections not logged in, per address key */
	long preauth_max;		/* ... from all addresses */
	long authed_per_addr;		/* logged-in client connections per address key */
	long web_conns;			/* the web page's; client connections leave them free */
	long web_per_addr;
	long sessions_per_account;	/* bound resources of one account */
	long output_budget_kb;		/* queued output of every connection together */
};

struct natterd {
	struct natterd_opts opt;
	char domain[JID_PART_MAX + 1];	/* prepared */
	struct net_loop *loop;
	struct store *store;
	struct store_txn *wtxn;		/* this turn's write transaction, or NULL */
	struct tls_ctx *tls;
	struct xml_limits xml_lim;
	struct natterd_limits lim;
	struct c2s *sessions;		/* every client stream, newest first */
	struct c2s *flushq;		/* sessions with output queued this turn */
	struct c2s *offlineq;		/* sessions still receiving their stored messages */
	unsigned nsessions;
	struct users *users;		/* bound sessions by bare JID */
	struct keycount *authlimit;	/* failed logins per account (sasl.c) */
	struct keycount *authlimit_src;	/* per address (IPv6: /64) */
	struct keycount *authlimit_all;	/* the box's total, one key */
	struct keycount *preauth_per_addr;	/* client connections not logged in, by addrkey */
	struct keycount *authed_per_addr;	/* logged-in client connections, by addrkey */
	struct keycount *refusals;	/* refusals logged this period, by kind and source */
	unsigned npreauth;		/* client connections not logged in */
	struct board *board;		/* LED, watchdog, reset button */
	struct web *web;		/* the web page */
	uint64_t accounts_gen;
	uint64_t offline_refused_ms;	/* when a refused offline message was last logged */
	const char *offline_refused_why;	/* and why */
	char netset[6][SETTING_VALUE_MAX];	/* network settings read from the store */
	uint8_t secret[32];		/* server-wide key for fake SCRAM credentials */
	int stopping;
	int exit_code;
};

/* Sets up store, TLS and listeners from opt. Logs and returns an NT_E* on failure. */
int  natterd_init(struct natterd *d, const struct natterd_opts *opt);
/* Runs until SIGTERM/SIGINT; then closes every stream and returns the exit code. */
int  natterd_run(struct natterd *d);
/* Frees everything. Safe on a half-initialised d. */
void natterd_fini(struct natterd *d);

/* This turn's write transaction, begun on first use; committed before the loop sleeps.
 * NULL when the store fails (logged). */
struct store_txn *natterd_txn(struct natterd *d);
/* Commits this turn's writes now (before something is acknowledged). NT_OK or NT_ESTORE. */
int  natterd_commit(struct natterd *d);
#endif
