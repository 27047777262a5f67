#ifndef NATTER_WEB_HTTP_H
#define NATTER_WEB_HTTP_H
/*
 * HTTP/1.1 requests (RFC 9112), parsed from bytes that came off the network. Pure: no I/O,
 * no allocation. The caller keeps the bytes of a connection in its own buffer and calls
 * http_parse_head() after each read; every string in a parsed request points into that
 * buffer (not NUL-terminated) and is valid while the buffer is unchanged.
 *
 * Only what the box's web page needs is accepted: a request line with an origin-form target,
 * HTTP/1.0 or 1.1, headers, and a body of Content-Length bytes. Anything else gets the status
 * to answer with: 400 malformed, 413 body too large, 414 target too long, 431 head too large
 * or too many headers, 501 Transfer-Encoding (chunked bodies are not taken), 505 other
 * versions.
 */
#include <stddef.h>

#define HTTP_HEADERS_MAX 32	/* more headers than this: 431 */

struct http_str {
	const char *p;
	size_t n;
};

struct http_header {
	struct http_str name;	/* as sent; compare with http_str_ieq() */
	struct http_str value;	/* leading and trailing spaces and tabs removed */
};

struct http_limits {
	size_t max_head;	/* request line + headers + the blank line */
	size_t max_target;	/* the request target */
	size_t max_body;	/* Content-Length */
};

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_OTHER };

struct http_req {
	enum http_method method;
	struct http_str method_name;
	struct http_str target;		/* "/path?query" */
	struct http_str path;		/* "/path" (still percent-encoded) */
	struct http_str query;		/* after '?', without it; n == 0 when none */
	int minor;			/* 0: HTTP/1.0, 1: HTTP/1.1 */
	struct http_header headers[HTTP_HEADERS_MAX];
	unsigned nheaders;
	struct http_str host;		/* the Host header; n == 0 when absent */
	size_t content_length;		/* 0 when absent */
	int keep_alive;			/* 1.1 without "Connection: close", or 1.0 with
					   "Connection: keep-alive" */
	size_t head_len;		/* bytes of the head, blank line included */
	int status;			/* set when parsing failed: the status to answer */
};

/* Parses the head at the start of p[0..n). Returns NT_OK with r filled when the head is
 * complete (the body, if any, starts at p + r->head_len and is r->content_length bytes;
 * it may not all be there yet); NT_EAGAIN when more bytes are needed and the limits still
 * allow them; NT_EINVAL or NT_ELIMIT with r->status set when the request must be refused.
 * Leading empty lines (CRLF or LF) before the request line are skipped, as RFC 9112 2.2
 * allows; lines may end in CRLF or a bare LF. Header names are tokens; a header line that
 * begins with a space or tab (obsolete folding) is refused with 400. A request without Host
 * in HTTP/1.1, with two Host or two Content-Length headers, or with a Content-Length that is
 * not all digits is refused with 400. */
int  http_parse_head(const char *p, size_t n, const struct http_limits *lim,
                     struct http_req *r);
/* The header's value, or NULL when absent. The first one when there are several. */
const struct http_str *http_header_get(const struct http_req *r, const char *name);
/* 1 when s equals the NUL-terminated z, ignoring ASCII case. */
int  http_str_ieq(struct http_str s, const char *z);
/* 1 when s equals z exactly. */
int  http_str_eq(struct http_str s, const char *z);

/* application/x-www-form-urlencoded: finds field name in body and writes its value, with
 * '+' as space and %XX decoded, to out (NUL-terminated; *len without the NUL). NT_OK;
 * NT_ENOENT when the field is absent; NT_EINVAL for a bad %-escape or a decoded NUL byte;
 * NT_ELIMIT when the value does not fit in cap - 1 bytes. The first field of that name
 * wins. Field names are compared after decoding. */
int  http_form_get(const char *body, size_t n, const char *name, char *out, size_t cap,
                   size_t *len);

/* The reason phrase of a status this server sends ("Not Found"), "Error" for others. */
const char *http_reason(int status);
#endif
