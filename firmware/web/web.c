/*
 * The web page's connections: TLS (or plain HTTP, which only redirects), reading requests
 * into a bounded buffer, parsing them (http.c), routing them to the pages, answering, and
 * the limits in time and size. One request is answered before the next is read; pipelined
 * requests wait their turn in the buffer.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mbedtls/platform_util.h>
#include "core/addrkey.h"
#include "core/err.h"
#include "core/kconfig.h"
#include "core/keycount.h"
#include "core/log.h"
#include "core/natterd.h"
#include "net/net.h"
#include "tls/tls.h"
#include "web/web.h"
#include "web/web_int.h"

#define WEB_READ_CHUNK 4096
#define WEB_SETUP_FAIL_KEYS 1024

static void web_on_read(struct net_conn *c, void *arg);
static void web_on_close(struct net_conn *c, void *arg);

/* Every answer carries these: nothing is cached, sniffed, framed or leaked as a referrer to
 * other sites. The box itself hears where its own pages post from: "no-referrer" would
 * make a browser send "Origin: null" with the setup form, which setup.c refuses. */
static const char web_common_headers[] =
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"X-Frame-Options: DENY\r\n"
	"Referrer-Policy: same-origin\r\n";

/* Pages have no script and load nothing: their only style is inline. */
static const char web_html_headers[] =
	"Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; "
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n";

/* An HTTPS connection gets its TLS state with its first bytes (web_on_read), so one that only
 * holds a socket costs little. */
static void web_accept(struct natterd *d, struct net_conn *c, int https)
{
	const char *ip = net_peer_addr(c);
	struct web *w = d->web;
	struct web_conn *wc;
	char key[ADDRKEY_MAX];
	long before;

	if (d->stopping) {
		net_abort(c);
		return;
	}
	addrkey_from(ip, key);
	if ((long)w->nconns >= d->lim.web_conns ||
	    keycount_get(w->conns_per_ip, key, net_now_ms(d->loop)) >= d->lim.web_per_addr) {
		if (addrkey_log_due(d->refusals, "web", key, net_now_ms(d->loop), &before))
			log_info("web: refusing %s: too many connections (%u open; "
				 "limit.web_conns %ld, limit.web_per_addr %ld); %ld refused in "
				 "the 10 s before", key, w->nconns, d->lim.web_conns,
				 d->lim.web_per_addr, before);
		net_abort(c);
		return;
	}
	if ((wc = calloc(1, sizeof(*wc))) == NULL) {
		log_err("web: out of memory accepting %s", ip);
		net_abort(c);
		return;
	}
	wc->w = w;
	wc->conn = c;
	wc->id = net_conn_id(c);
	wc->since_ms = net_now_ms(d->loop);
	wc->https = https;
	wc->handshake_done = !https;
	memcpy(wc->addr, key, sizeof(wc->addr));
	buf_init(&wc->in, CONFIG_NT_HTTP_HEAD_MAX + CONFIG_NT_HTTP_BODY_MAX);
	wc->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = wc;
	w->conns = wc;
	w->nconns++;
	keycount_add(w->conns_per_ip, key, 1, wc->since_ms);
	net_conn_set_handlers(c, web_on_read, web_on_close, wc);
	log_debug(WEB_LOG " %s connection from %s", wc->id, https ? "HTTPS" : "HTTP", ip);
}

static void web_accept_https(struct net_conn *c, void *arg)
{
	web_accept(arg, c, 1);
}

static void web_accept_http(struct net_conn *c, void *arg)
{
	web_accept(arg, c, 0);
}

static void web_on_close(struct net_conn *c, void *arg)
{
	struct web_conn *wc = arg;
	struct web *w = wc->w;
	struct natterd *d = w->d;

	(void)c;
	keycount_add(w->conns_per_ip, wc->addr, -1, net_now_ms(d->loop));
	if (wc->prev != NULL)
		wc->prev->next = wc->next;
	else
		w->conns = wc->next;
	if (wc->next != NULL)
		wc->next->prev = wc->prev;
	w->nconns--;
	buf_free(&wc->in);
	tls_conn_free(wc->tls);
	free(wc);
}

/* Ends the connection once what is queued has gone. */
static void web_close(struct web_conn *wc)
{
	if (wc->closing)
		return;
	wc->closing = 1;
	if (wc->tls != NULL && wc->handshake_done)
		tls_close_notify(wc->tls);
	net_close(wc->conn);
}

static int web_write(struct web_conn *wc, const void *p, size_t n)
{
	if (n == 0)
		return NT_OK;
	return wc->tls != NULL ? tls_write(wc->tls, p, n) : net_write(wc->conn, p, n);
}

void web_send(struct web_conn *wc, const struct http_req *r, int status, const char *type,
              const char *extra, const void *body, size_t n)
{
	int keep = r != NULL && r->keep_alive && status < 400;
	char head[1024];
	int len;

	if (wc->closing)
		return;
	len = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n%s%s%s%s%sContent-Length: %zu\r\n"
		       "Connection: %s\r\n\r\n", status, http_reason(status), web_common_headers,
		       type != NULL ? "Content-Type: " : "", type != NULL ? type : "",
		       type != NULL ? "\r\n" : "", extra != NULL ? extra : "", n,
		       keep ? "keep-alive" : "close");
	if (len < 0 || (size_t)len >= sizeof(head)) {
		log_err(WEB_LOG " answer head too long", wc->id);	/* a bug: extra too long */
		net_abort(wc->conn);
		wc->closing = 1;
		return;
	}
	if (web_write(wc, head, (size_t)len) != NT_OK ||
	    ((r == NULL || r->method != HTTP_HEAD) && web_write(wc, body, n) != NT_OK)) {
		wc->closing = 1;	/* the write failure closed the connection */
		return;
	}
	log_debug(WEB_LOG " %d %.*s", wc->id, status, r != NULL ? (int)r->target.n : 1,
		  r != NULL ? r->target.p : "-");
	if (!keep)
		web_close(wc);
}

void web_send_text(struct web_conn *wc, const struct http_req *r, int status,
                   const char *extra, const char *text)
{
	web_send(wc, r, status, "text/plain; charset=utf-8", extra, text, strlen(text));
}

/* HTML --------------------------------------------------------------------------------- */

/* A page that could not be built completely is never sent half: web_send_page sends 500. */
#define WEB_HTML_FAILED ((size_t)-1)

static void web_html_put(struct buf *b, const char *s, size_t n)
{
	if (b->max == WEB_HTML_FAILED)
		return;
	if (buf_append(b, s, n) != NT_OK) {
		buf_free(b);
		b->max = WEB_HTML_FAILED;
	}
}

void web_html_raw(struct buf *b, const char *s)
{
	web_html_put(b, s, strlen(s));
}

void web_html_text(struct buf *b, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *esc;

		switch (*s) {
		case '&':  esc = "&amp;"; break;
		case '<':  esc = "&lt;"; break;
		case '>':  esc = "&gt;"; break;
		case '"':  esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		default:   continue;
		}
		web_html_put(b, run, (size_t)(s - run));
		web_html_raw(b, esc);
		run = s + 1;
	}
	web_html_put(b, run, (size_t)(s - run));
}

void web_html_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		buf_free(b);
		b->max = WEB_HTML_FAILED;
		return;
	}
	web_html_put(b, tmp, (size_t)n);
}

int web_html_failed(const struct buf *b)
{
	return b->max == WEB_HTML_FAILED;
}

void web_html_begin(struct buf *b, const char *title)
{
	buf_init(b, 64 * 1024);
	web_html_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		     "<title>");
	web_html_text(b, title);
	web_html_raw(b, "</title><style>"
		     "body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:2em auto;"
		     "padding:0 1em;color:#222}"
		     "h1{font-size:1.5em}label{display:block;margin:.8em 0 .2em;font-weight:600}"
		     "input{font:inherit;padding:.4em;width:100%;box-sizing:border-box}"
		     "button{font:inherit;margin-top:1.2em;padding:.5em 1.2em}"
		     ".hint{color:#555;font-size:.9em;margin:.2em 0}"
		     ".error{background:#fde8e8;border:1px solid #e0a0a0;padding:.6em}"
		     ".done{background:#e6f6e6;border:1px solid #90c090;padding:.6em}"
		     "code,.fp{font-family:ui-monospace,monospace;word-break:break-all}"
		     "</style></head><body>\n");
}

void web_html_end(struct buf *b)
{
	web_html_raw(b, "\n</body></html>\n");
}

void web_send_page(struct web_conn *wc, const struct http_req *r, int status, struct buf *b)
{
	if (web_html_failed(b)) {
		log_err(WEB_LOG " out of memory building a page", wc->id);
		web_send_text(wc, r, 500, NULL, "The box is out of memory.\n");
	} else {
		web_send(wc, r, status, "text/html; charset=utf-8", web_html_headers,
			 buf_data(b), b->len);
	}
	buf_free(b);
}

void web_send_error(struct web_conn *wc, const struct http_req *r, int status,
                    const char *text)
{
	struct buf b;

	web_html_begin(&b, http_reason(status));
	web_html_printf(&b, "<h1>%d %s</h1><p>", status, http_reason(status));
	web_html_text(&b, text);
	web_html_raw(&b, "</p><p><a href=\"/\">The box's page</a></p>");
	web_html_end(&b);
	web_send_page(wc, r, status, &b);
}

/* Routing ------------------------------------------------------------------------------ */

/* The host part of a Host header without its port, if it is a plain name, an IPv4 address
 * or a bracketed IPv6 address; 0 when it is anything else. */
static int web_host_name(struct http_str host, char *out, size_t cap)
{
	size_t n = host.n;

	if (n == 0)
		return 0;		/* absent (host.p is NULL then) or empty */
	if (host.p[0] == '[') {
		const char *end = memchr(host.p, ']', n);

		if (end == NULL)
			return 0;
		n = (size_t)(end - host.p) + 1;
		for (size_t i = 1; i + 1 < n; i++)
			if (strchr("0123456789abcdefABCDEF:.", host.p[i]) == NULL)
				return 0;
	} else {
		const char *colon = memchr(host.p, ':', n);

		if (colon != NULL)
			n = (size_t)(colon - host.p);
		for (size_t i = 0; i < n; i++)
			if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-",
				   host.p[i]) == NULL)
				return 0;
	}
	if (n == 0 || n >= cap)
		return 0;
	memcpy(out, host.p, n);
	out[n] = '\0';
	return 1;
}

/* Plain HTTP: send the browser to the same path on the HTTPS port. */
static void web_redirect(struct web_conn *wc, const struct http_req *r)
{
	struct natterd *d = wc->w->d;
	char host[256], extra[512 + 2 * 256];
	char port[8] = "";
	int n;

	if (d->opt.https_port == 0) {
		web_send_error(wc, r, 404, "This box's web page is switched off.");
		return;
	}
	if (!web_host_name(r->host, host, sizeof(host))) {
		web_send_error(wc, r, 400, "This request has no usable Host header.");
		return;
	}
	if (d->opt.https_port != 443)
		(void)snprintf(port, sizeof(port), ":%d", d->opt.https_port);
	/* The path is echoed only when short: it is still percent-encoded, so safe to copy. */
	n = snprintf(extra, sizeof(extra), "Location: https://%s%s%.*s\r\n", host, port,
		     r->target.n <= 256 ? (int)r->target.n : 1,
		     r->target.n <= 256 ? r->target.p : "/");
	if (n < 0 || (size_t)n >= sizeof(extra)) {
		web_send_error(wc, r, 400, "This request has no usable Host header.");
		return;
	}
	web_send(wc, r, r->method == HTTP_GET || r->method == HTTP_HEAD ? 301 : 308, NULL, extra,
		 NULL, 0);
}

static void web_route(struct web_conn *wc, const struct http_req *r, const char *body)
{
	if (!wc->https) {
		web_redirect(wc, r);
	} else if (http_str_eq(r->path, "/") || http_str_eq(r->path, "/setup")) {
		if (r->method == HTTP_GET || r->method == HTTP_HEAD)
			web_setup_page(wc, r);
		else if (r->method == HTTP_POST && http_str_eq(r->path, "/setup"))
			web_setup_post(wc, r, body, r->content_length);
		else
			web_send_text(wc, r, 405, http_str_eq(r->path, "/") ?
				      "Allow: GET, HEAD\r\n" : "Allow: GET, HEAD, POST\r\n",
				      "Method not allowed.\n");
	} else {
		web_send_error(wc, r, 404, "There is no such page on this box.");
	}
}

/* Answers every complete request in the buffer, in order. */
static void web_process(struct web_conn *wc)
{
	const struct http_limits lim = {
		.max_head = CONFIG_NT_HTTP_HEAD_MAX,
		.max_target = 2048,
		.max_body = CONFIG_NT_HTTP_BODY_MAX,
	};
	struct natterd *d = wc->w->d;
	struct http_req *r;
	int rc;

	if ((r = malloc(sizeof(*r))) == NULL) {
		log_err(WEB_LOG " out of memory", wc->id);
		net_abort(wc->conn);
		wc->closing = 1;
		return;
	}
	while (!wc->closing && wc->in.len > 0) {
		const char *p = (const char *)buf_data(&wc->in);

		rc = http_parse_head(p, wc->in.len, &lim, r);
		if (rc == NT_EAGAIN)
			break;
		if (rc != NT_OK) {
			log_info(WEB_LOG " %s: bad request (%d %s)", wc->id, net_peer_addr(wc->conn),
				 r->status, http_reason(r->status));
			web_send_error(wc, NULL, r->status, "The browser sent a request this box "
				       "cannot take.");
			break;
		}
		if (wc->in.len - r->head_len < r->content_length)
			break;		/* the body is still coming */
		web_route(wc, r, p + r->head_len);
		if (r->method == HTTP_POST)	/* forms carry passwords: leave none behind */
			mbedtls_platform_zeroize((void *)p, r->head_len + r->content_length);
		buf_consume(&wc->in, r->head_len + r->content_length);
		wc->since_ms = net_now_ms(d->loop);
	}
	free(r);
}

static void web_on_read(struct net_conn *c, void *arg)
{
	struct web_conn *wc = arg;
	char b[WEB_READ_CHUNK];
	size_t want;
	ssize_t n;
	int rc;

	while (!wc->closing) {
		if (!wc->handshake_done) {
			if (wc->tls == NULL && (wc->tls = tls_conn_new(wc->w->d->tls, c,
								      "http/1.1")) == NULL) {
				log_err(WEB_LOG " out of memory for TLS", wc->id);
				wc->closing = 1;
				net_abort(c);
				return;
			}
			if ((rc = tls_handshake(wc->tls)) == NT_EAGAIN)
				return;
			if (rc != NT_OK) {
				wc->closing = 1;
				net_abort(c);
				return;
			}
			wc->handshake_done = 1;
			continue;
		}
		/* A full buffer holds a whole request or one the parser refuses (head and body
		 * limits add up to its size): answer before reading on. */
		if (wc->in.len >= wc->in.max) {
			size_t before = wc->in.len;

			web_process(wc);
			if (wc->in.len < before)
				continue;
			break;		/* cannot happen; the sweep would answer 408 */
		}
		want = wc->in.max - wc->in.len < sizeof(b) ? wc->in.max - wc->in.len : sizeof(b);
		n = wc->tls != NULL ? tls_read(wc->tls, b, want) : net_read(c, b, want);
		if (n == NT_EAGAIN)
			break;
		if (n <= 0) {
			wc->closing = 1;
			net_close(c);
			return;
		}
		if (wc->in.len == 0)
			wc->since_ms = net_now_ms(wc->w->d->loop);	/* a new request begins */
		if (buf_append(&wc->in, b, (size_t)n) != NT_OK) {
			log_err(WEB_LOG " out of memory reading a request", wc->id);
			wc->closing = 1;
			net_abort(c);
			return;
		}
		web_process(wc);
	}
	if (wc->in.len == 0)
		buf_shrink(&wc->in);
}

/* The module ---------------------------------------------------------------------------- */

int web_start(struct natterd *d)
{
	struct web *w = calloc(1, sizeof(*w));
	int rc;

	if (w == NULL || (w->setup_fails = keycount_new(WEB_SETUP_FAIL_KEYS,
			CONFIG_NT_LOGIN_FAIL_WINDOW_S * 1000ull)) == NULL ||
	    (w->setup_fails_all = keycount_new(1, CONFIG_NT_LOGIN_FAIL_WINDOW_S * 1000ull)) ==
	    NULL || (w->conns_per_ip = keycount_new((unsigned)d->lim.web_conns, 0)) == NULL) {
		if (w != NULL) {
			keycount_free(w->setup_fails);
			keycount_free(w->setup_fails_all);
		}
		free(w);
		return NT_ENOMEM;
	}
	w->d = d;
	d->web = w;
	if (d->opt.https_port > 0 && (rc = net_listen(d->loop, d->opt.listen,
			(uint16_t)d->opt.https_port, web_accept_https, d)) != NT_OK)
		return rc;
	if (d->opt.http_port > 0 && (rc = net_listen(d->loop, d->opt.listen,
			(uint16_t)d->opt.http_port, web_accept_http, d)) != NT_OK)
		return rc;
	if (d->opt.https_port == 0)
		log_info("web: the box's page is off (HTTPS port 0)");
	else if (d->opt.http_port == 0)
		log_info("web: the box's page is on HTTPS port %d", d->opt.https_port);
	else
		log_info("web: the box's page is on HTTPS port %d; HTTP port %d sends browsers "
			 "there", d->opt.https_port, d->opt.http_port);
	return NT_OK;
}

void web_sweep(struct natterd *d)
{
	uint64_t now = net_now_ms(d->loop);

	if (d->web == NULL)
		return;
	for (struct web_conn *wc = d->web->conns; wc != NULL; wc = wc->next) {
		if (wc->closing || now - wc->since_ms < CONFIG_NT_HTTP_TIMEOUT_MS)
			continue;
		if (wc->handshake_done && wc->in.len > 0) {
			log_info(WEB_LOG " %s: request too slow", wc->id, net_peer_addr(wc->conn));
			web_send_error(wc, NULL, 408, "The request took too long to arrive.");
		} else {
			web_close(wc);	/* idle, or a TLS handshake that never finished */
		}
	}
}

void web_close_all(struct natterd *d)
{
	if (d->web == NULL)
		return;
	for (struct web_conn *wc = d->web->conns; wc != NULL; wc = wc->next)
		web_close(wc);
}

void web_stop(struct natterd *d)
{
	if (d->web == NULL)
		return;
	keycount_free(d->web->setup_fails);
	keycount_free(d->web->setup_fails_all);
	keycount_free(d->web->conns_per_ip);
	free(d->web);
	d->web = NULL;
}
