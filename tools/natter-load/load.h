#ifndef NATTER_LOAD_H
#define NATTER_LOAD_H
/*
 * natter-load: an XMPP client load generator for benchmarks (natterd, Prosody, ejabberd).
 *
 * One process is one thread with one epoll loop (gen.c) driving many client connections
 * (struct xc). conn.c moves bytes (TCP, OpenSSL), xmpp.c runs the client side of the XMPP
 * stream (STARTTLS or direct TLS, SASL, bind, XEP-0198), xml.c cuts the server's bytes into
 * top-level elements, sasl.c computes SCRAM, scen_*.c drive the scenarios, stats.c counts and
 * prints the one JSON result, main.c parses the command line and forks worker processes.
 *
 * Everything here is internal to the tool; functions return 0 (NT_OK) or a negative NT_E*
 * code from core/err.h unless they say otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <netinet/in.h>
#include <openssl/ssl.h>

/* Command line ------------------------------------------------------------------------------ */

enum ld_tls { LD_STARTTLS, LD_DIRECT };
enum ld_mech { LD_SCRAM_SHA_1, LD_SCRAM_SHA_256, LD_PLAIN };
enum ld_scen { SC_REGISTER, SC_IDLE, SC_LOGINS, SC_CHAT, SC_ROSTER, SC_RECONNECT, SC_CHURN };

struct ld_opts {
	const char *host, *domain, *prefix, *password;
	const char *source_base;	/* first source address; NULL: 127.0.0.1 */
	uint16_t port;
	enum ld_tls tls;
	enum ld_mech mech;
	enum ld_scen scen;
	unsigned first, users, procs, seconds, timeout, ramp, sources;
	unsigned sessions, hold, conc, pairs, window, size, contacts, cycles;
	int verbose;
};

/* The name of a scenario or mechanism as the command line spells it. */
const char *ld_scen_name(enum ld_scen s);
const char *ld_mech_name(enum ld_mech m);

/* Results (stats.c) ------------------------------------------------------------------------ */

/* Latencies in microseconds, log-linear buckets (about 3 % wide). */
#define HIST_BUCKETS 1280
struct hist {
	uint64_t n, sum_us, max_us;
	uint64_t b[HIST_BUCKETS];
};

/* Why a connection failed; the JSON "errors" object uses these names (stats.c). */
enum ld_err {
	E_OK, E_CONNECT, E_TLS, E_AUTH, E_BIND, E_TIMEOUT, E_CLOSED, E_STREAM, E_PROTO,
	E_REGISTER, E_ROSTER, E_MAX
};

/* What one process measured; a parent sums its children's (stats_merge). Plain data: it
 * crosses a pipe from child to parent as bytes. */
struct stats {
	uint64_t ok, failed, err[E_MAX];
	uint64_t sent, received, dup, reordered, bounced;	/* chat */
	uint64_t tls_resumed, sm_resumed, sm_enabled;		/* reconnect */
	uint64_t presences, roster_logins;			/* roster */
	uint64_t established, dropped;				/* idle */
	uint64_t ops;			/* operations the CPU per operation is counted over */
	uint64_t pbkdf2;		/* key derivations the generator ran (cache misses) */
	double wall_s, cpu_s;		/* the measured phase */
	double cpu_total_s, setup_s, setup_cpu_s, hold_cpu_s;
	unsigned procs;
	int unsupported;		/* the server refused a feature the scenario needs */
	struct hist lat;
};

/* The JSON name of an E_* code. */
const char *ld_err_name(int err);
void hist_add(struct hist *h, uint64_t us);
/* The q-quantile (0..1) in milliseconds; 0 when empty. */
double hist_ms(const struct hist *h, double q);
/* Adds from's counts to to (wall and setup times: the longest). */
void stats_merge(struct stats *to, const struct stats *from);
/* Prints the one JSON object for the run to f. */
void stats_print(FILE *f, const struct ld_opts *o, const struct stats *s);
/* 0 when nothing failed (or the feature is unsupported where that is allowed), else 1. */
int stats_exit_code(const struct ld_opts *o, const struct stats *s);
/* This process's CPU time (user + system) in seconds. */
double cpu_seconds(void);
/* Monotonic clock in microseconds. */
uint64_t mono_us(void);

/* XML scanning (xml.c) --------------------------------------------------------------------- */

enum xtok { XT_MORE, XT_HEADER, XT_ELEM, XT_END, XT_BAD };

/* A complete element (or, for XT_HEADER, the stream's start tag) inside the input buffer:
 * valid until the buffer changes. name is the local name (prefix stripped). */
struct xel {
	const char *p, *name;
	size_t n, name_len;
};

/* The next token in buf[0..len). *used: bytes consumed (also for XT_MORE: leading text). */
enum xtok xml_next(const char *buf, size_t len, int have_header, struct xel *el, size_t *used);
/* 1 when el's local name is local. */
int xel_is(const struct xel *el, const char *local);
/* The value of attribute name on el's start tag, entities decoded, into out (NUL-terminated).
 * 1 when present, 0 when absent (out is then ""), -1 when it does not fit. */
int xel_attr(const struct xel *el, const char *name, char *out, size_t cap);
/* 1 when s occurs anywhere inside el. */
int xel_has(const struct xel *el, const char *s);
/* The next start tag named local (local name) at or after from inside el; *tag spans only
 * that start tag (for xel_attr). Returns where to continue, NULL when there is none. from
 * NULL means el's start. */
const char *xel_tag(const struct xel *el, const char *from, const char *local, struct xel *tag);
/* The text directly inside the first child element named local (or el itself when local
 * is NULL), decoded into out. Length, or -1 when absent or too long. */
int xel_text(const struct xel *el, const char *local, char *out, size_t cap);
/* Escapes s for XML text or an attribute value into out; -1 when it does not fit. */
int xml_escape(const char *s, char *out, size_t cap);

/* SCRAM client (sasl.c) -------------------------------------------------------------------- */

#define SCRAM_CLI_MSG_MAX 512

struct key_cache;

struct scram_client {
	int sha256;
	size_t hlen;
	size_t first_bare_len;
	char first_bare[SCRAM_CLI_MSG_MAX];
	char cnonce[48];
	uint8_t server_sig[32];
};

/* A cache of PBKDF2 results keyed by (hash, password, salt, iterations); NULL on ENOMEM. */
struct key_cache *key_cache_new(void);
void key_cache_free(struct key_cache *kc);
/* PBKDF2 runs so far (cache misses). */
uint64_t key_cache_misses(const struct key_cache *kc);
/* client-first-message "n,,n=<user>,r=<nonce>" into out; returns its length. nonce NULL: a
 * fresh random nonce. NT_ELIMIT when it does not fit, NT_EIO when the random generator fails. */
int scram_client_first(struct scram_client *sc, int sha256, const char *user, const char *nonce,
                       char *out, size_t cap);
/* From server-first-message (n bytes), the client-final-message into out; returns its length.
 * NT_EINVAL when the server's message is malformed or its nonce does not extend ours;
 * NT_ENOMEM; NT_ELIMIT when out is too small. */
int scram_client_final(struct scram_client *sc, struct key_cache *kc, const char *password,
                       const char *sfirst, size_t n, char *out, size_t cap);
/* NT_OK when server-final-message (n bytes) proves the server knows the password, else
 * NT_EAUTH. */
int scram_client_check(const struct scram_client *sc, const char *sfinal, size_t n);

/* Connections (xmpp.c, conn.c) ------------------------------------------------------------- */

/* Connection states (xmpp.c) */
enum {
	XS_IDLE, XS_QUEUED, XS_CONNECT, XS_TLS, XS_FEATURES, XS_STARTTLS, XS_REGISTER, XS_AUTH,
	XS_BIND, XS_SESSION, XS_ENABLE, XS_RESUME, XS_UP, XS_CLOSING
};

/* xc_start flags */
#define XC_PRESENCE 0x01	/* send initial presence once bound */
#define XC_RESUME   0x02	/* reuse the account's TLS session; XEP-0198 enable / resume */
#define XC_REGISTER 0x04	/* XEP-0077 register the account instead of logging in */

/* xc_close kinds */
#define XC_CLEAN   0		/* </stream:stream>, wait for the server's, then close */
#define XC_KEEP_SM 1		/* with XEP-0198 on: ack, cut the connection (resumable) */

#define XC_JID_MAX 320

struct xc;
struct gen;

struct xc_ops {
	void (*up)(struct xc *c);		/* session established (bound or resumed) */
	void (*stanza)(struct xc *c, const struct xel *el);	/* message, presence, iq */
	void (*down)(struct xc *c, int err);	/* gone: E_OK after xc_close or register */
};

struct xbuf {
	char *p;
	size_t off, len, cap;	/* data is p[off..len) */
};

/* What the last connection of an account may resume. */
struct slot {
	SSL_SESSION *sess;
	char smid[128];		/* XEP-0198 stream id, "" when none */
	uint32_t h;		/* stanzas handled on that stream */
};

struct xc {
	struct gen *g;
	const struct xc_ops *ops;
	void *arg;		/* the scenario's */
	unsigned acct;		/* account number: <prefix><acct>@<domain> */
	unsigned flags;		/* XC_* of the current connection */
	int state;		/* XS_* in xmpp.c */
	int fd;
	uint32_t ev;		/* epoll events asked for */
	SSL *ssl;
	unsigned secure : 1, authed : 1, have_header : 1, sess_req : 1, sm_offered : 1,
		 sm_on : 1, dirty : 1, in_setup : 1, queued : 1, sasl_done : 1,
		 was_up : 1;	/* the current connection reached XS_UP */
	int tls_reused, sm_resumed;	/* how the current connection came up */
	uint32_t epoch;		/* bumped whenever the connection is dropped */
	uint64_t t_start;	/* when connecting began (µs) */
	uint64_t deadline;	/* µs; 0: none */
	struct xbuf in, out;
	struct scram_client *scram;
	struct xc *next_q, *next_dirty, *next_all;
	char jid[XC_JID_MAX];	/* bound full JID */
};

/* Makes c a connection-less client for account acct. Never fails. */
void xc_init(struct xc *c, struct gen *g, unsigned acct, const struct xc_ops *ops, void *arg);
/* Queues a connect + login (or registration) with XC_* flags; the loop starts it when a
 * setup slot is free (--ramp). NT_EBUSY when c is not idle. */
int xc_start(struct xc *c, unsigned flags);
/* Queues text for the server (printf-style), sent at the end of the loop turn. NT_ECLOSED
 * when not connected; NT_ENOMEM (the connection has then failed). */
int xc_send(struct xc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ends the session (XC_CLEAN or XC_KEEP_SM); ops->down(c, E_OK) follows once closed. */
void xc_close(struct xc *c, int how);
/* Fails the connection: closes it at once and calls ops->down(c, err). */
void xc_fail(struct xc *c, int err, const char *why);
/* Arms (1) or clears (0) a --timeout deadline on c; when it passes c fails with E_TIMEOUT. */
void xc_deadline(struct xc *c, int on);
/* 1 while c is queued or connected. */
int xc_busy(const struct xc *c);
/* The account's bare JID into out. */
void xc_bare(const struct gen *g, unsigned acct, char *out, size_t cap);

/* conn.c: the transport below xmpp.c. Where one fails, c has failed (xc_fail) already. */
/* Starts a non-blocking TCP connect for c (XS_CONNECT). NT_EIO. */
int  conn_open(struct xc *c);
/* Handles c's epoll events: connect done, TLS handshake steps, reads, writes. */
void conn_io(struct xc *c, uint32_t events);
/* Starts TLS on c's socket (XS_TLS), offering the account's last session with XC_RESUME. */
int  conn_tls_begin(struct xc *c);
/* Writes what is queued; asks for EPOLLOUT while the socket is full. */
void conn_flush(struct xc *c);
/* Closes the socket (graceful: a TLS close_notify first), frees the buffers, bumps epoch. */
void conn_drop(struct xc *c, int graceful);
/* Appends formatted text to c's output and marks c for the turn's flush. NT_ECLOSED when
 * not connected, NT_ENOMEM, NT_EINVAL (bad format). */
int  conn_vqueue(struct xc *c, const char *fmt, va_list ap);
/* The process's TLS client context; NULL when out of memory. It verifies no certificates:
 * the generator benchmarks servers on loopback with self-signed ones. */
SSL_CTX *conn_ssl_ctx(void);

/* xmpp.c, called by conn.c: TCP is up; TLS is up; plaintext arrived in c->in; the server
 * closed its side. */
void xmpp_connected(struct xc *c);
void xmpp_secured(struct xc *c);
void xmpp_input(struct xc *c);
void xmpp_eof(struct xc *c);

/* The loop (gen.c) ----------------------------------------------------------------------- */

struct gen {
	const struct ld_opts *o;
	struct stats *st;
	int epfd, res_fd, ctl_fd, go;
	SSL_CTX *ctx;
	struct sockaddr_in dst;
	struct slot *slots;		/* one per account of the slice, and a spare */
	struct key_cache *keys;
	uint64_t now;			/* µs, read once per turn */
	uint64_t next_scan;
	unsigned setups, ramp;		/* connections being set up, and the bound on them */
	struct xc *q_head, *q_tail;	/* waiting to connect */
	unsigned qlen;
	struct xc *dirty;		/* output queued this turn */
	struct xc *all;			/* every xc_init'ed client, for deadlines */
	unsigned long nconn;		/* connections opened (source address spreading) */
	unsigned sources;		/* source addresses to spread over (1: none) */
	uint32_t source_base;		/* the first of them, host byte order */
	unsigned logged;		/* failures logged so far */
};

typedef int gen_done_fn(struct gen *g, void *arg);

/* A loop for this process's share o (accounts [o->first, o->first + o->users), its part of
 * --sessions, --conc, ...), counting into st; res_fd/ctl_fd: pipes to the parent process
 * (-1 when running alone). NT_EIO, NT_ENOMEM, NT_EINVAL (host unknown). gen_free() also
 * after a failure. */
int  gen_init(struct gen *g, const struct ld_opts *o, struct stats *st, int res_fd, int ctl_fd);
void gen_free(struct gen *g);
/* Runs turns until done(g, arg) returns non-zero. */
void gen_run(struct gen *g, gen_done_fn *done, void *arg);
/* Every established session is up: prints "READY n" (alone) or tells the parent and runs
 * the loop until the parent says go. */
void gen_ready(struct gen *g, unsigned n);
/* Forgets every client (the scenario frees them). */
void gen_forget_clients(struct gen *g);
/* The resumable state of account acct (a shared spare outside this process's slice). */
struct slot *gen_slot(struct gen *g, unsigned acct);
/* Puts c (XS_QUEUED) in line for a setup slot. */
void gen_enqueue(struct gen *g, struct xc *c);
/* c has output to flush at the end of this turn. */
void gen_mark_dirty(struct gen *g, struct xc *c);
/* Logs the first few failures of the process, then only counts them. */
void gen_log_fail(struct gen *g, const struct xc *c, int err, const char *why);
/* Sends st to the parent process (nothing when running alone). */
int  gen_report(struct gen *g);

/* Scenarios (scen_*.c): each fills g->st. */
void scen_register(struct gen *g);
void scen_idle(struct gen *g);
void scen_cycles(struct gen *g);	/* logins, reconnect, churn */
void scen_chat(struct gen *g);
void scen_roster(struct gen *g);

#endif
