#ifndef NATTER_WEB_WEB_INT_H
#define NATTER_WEB_WEB_INT_H
/*
 * Inside the web module: the connection, the response helpers web.c gives the pages, and
 * the pages' entry points. Nothing outside firmware/web/ includes this.
 */
#include <stddef.h>
#include <stdint.h>
#include "core/addrkey.h"
#include "core/buf.h"
#include "web/http.h"

struct natterd;
struct net_conn;
struct tls_conn;
struct keycount;

#define WEB_LOG "web#%lu"

struct web {
	struct natterd *d;
	struct web_conn *conns;		/* every open web connection */
	unsigned nconns;
	struct keycount *setup_fails;	/* wrong setup codes by address */
	struct keycount *setup_fails_all;	/* wrong setup codes from everyone: one key */
	struct keycount *conns_per_ip;	/* open web connections by address */
	uint64_t setup_until_ms;	/* a short press opened setup until then; 0: not */
};

struct web_conn {
	struct web *w;
	struct net_conn *conn;
	struct tls_conn *tls;		/* made with the first bytes on the HTTPS port */
	struct buf in;			/* bytes of requests not answered yet */
	unsigned long id;
	uint64_t since_ms;		/* accepted, or the last request was answered */
	unsigned https : 1;		/* arrived on the HTTPS port */
	unsigned handshake_done : 1;
	unsigned closing : 1;		/* the answer went out with "Connection: close" */
	char addr[ADDRKEY_MAX];		/* the peer's key for the per-address limit */
	struct web_conn *next, *prev;
};

/* Answers r with status, a Content-Type (NULL when there is no body), extra header lines
 * (each ending in CRLF; NULL for none) and the body. HEAD gets the head only. The connection
 * stays open when r asked for keep-alive and status < 400, else it closes after the answer.
 * r may be NULL (a request that could not be parsed). */
void web_send(struct web_conn *wc, const struct http_req *r, int status, const char *type,
              const char *extra, const void *body, size_t n);
/* A plain-text answer. */
void web_send_text(struct web_conn *wc, const struct http_req *r, int status,
                   const char *extra, const char *text);
/* A short HTML page saying what went wrong, with status. */
void web_send_error(struct web_conn *wc, const struct http_req *r, int status,
                    const char *text);

/* HTML building on a struct buf (an allocation failure shows as a short page: the caller
 * checks web_html_failed()). */
void web_html_begin(struct buf *b, const char *title);
void web_html_end(struct buf *b);
void web_html_raw(struct buf *b, const char *s);
void web_html_text(struct buf *b, const char *s);	/* escaped for text and attributes */
void web_html_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));		/* raw: escape arguments first */
int  web_html_failed(const struct buf *b);
/* Sends the page in b with status, and frees b. */
void web_send_page(struct web_conn *wc, const struct http_req *r, int status, struct buf *b);

/* setup.c: the first-run page. */
void web_setup_page(struct web_conn *wc, const struct http_req *r);
void web_setup_post(struct web_conn *wc, const struct http_req *r, const char *body, size_t n);
#endif
