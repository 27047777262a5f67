/*
 * HTTP/1.1 request heads (RFC 9112) and urlencoded forms (the web page's POSTs).
 *
 * The caller re-runs http_parse_head() on its whole buffer after every read, so the parser
 * keeps no state between calls and looks at each byte once, left to right. Every decision
 * depends only on the bytes before it: a prefix of a request either needs more bytes
 * (NT_EAGAIN) or gets the same answer as the whole request, however the reads were split.
 * That is why the head limit is checked byte by byte (a head that ends past max_head gets
 * 431 whether or not its end has arrived) and why a target is refused with 414 on its
 * (max_target + 1)th byte, before its line ends.
 */
#include <stdint.h>
#include <string.h>
#include "core/err.h"
#include "web/http.h"

#define HTTP_VERSION_LEN (sizeof("HTTP/1.1") - 1)

/* Where a parse is: the input, how far it may be read, and what was seen. */
struct http_scan {
	const unsigned char *p;
	size_t n;
	size_t pos;
	const struct http_limits *lim;
	struct http_req *r;
	int seen_host;
	int seen_length;
	int conn_close;
	int conn_keep;
};

static int http_fail(struct http_req *r, int status)
{
	r->status = status;
	switch (status) {
	case 413:
	case 414:
	case 431:
		return NT_ELIMIT;
	default:
		return NT_EINVAL;
	}
}

/* tchar of RFC 9110 5.6.2. */
static int http_tchar(unsigned char c)
{
	if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
		return 1;
	return c != '\0' && memchr("!#$%&'*+-.^_`|~", c, 15) != NULL;
}

/* field-content: visible characters, obs-text, spaces and tabs; no other controls. */
static int http_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* A target byte: anything visible (bytes >= 0x80 too); a space ends the target. */
static int http_target_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f;
}

static int http_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char http_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* NT_OK when the byte at s->pos may be looked at. A head that needs a byte past max_head
 * can only end past it, so that is 431 even when the byte has not arrived yet. */
static int http_need(struct http_scan *s)
{
	if (s->pos >= s->lim->max_head)
		return http_fail(s->r, 431);
	if (s->pos >= s->n)
		return NT_EAGAIN;
	return NT_OK;
}

/* Consumes a line end at s->pos: CRLF or a bare LF. A CR alone is malformed. */
static int http_eol(struct http_scan *s)
{
	int rc;

	if (s->p[s->pos] == '\n') {
		s->pos++;
		return NT_OK;
	}
	if (s->p[s->pos] != '\r')
		return http_fail(s->r, 400);
	s->pos++;
	if ((rc = http_need(s)) != NT_OK)
		return rc;
	if (s->p[s->pos] != '\n')
		return http_fail(s->r, 400);
	s->pos++;
	return NT_OK;
}

static struct http_str http_span(const struct http_scan *s, size_t from, size_t to)
{
	struct http_str v = { (const char *)s->p + from, to - from };

	return v;
}

/* RFC 9112 2.2: a server should ignore empty lines before the request line. */
static int http_skip_empty_lines(struct http_scan *s)
{
	int rc;

	for (;;) {
		if ((rc = http_need(s)) != NT_OK)
			return rc;
		if (s->p[s->pos] != '\r' && s->p[s->pos] != '\n')
			return NT_OK;
		if ((rc = http_eol(s)) != NT_OK)
			return rc;
	}
}

/* Moves s->pos past a token (method, header name): NT_OK at its first other byte. */
static int http_skip_token(struct http_scan *s)
{
	int rc;

	while ((rc = http_need(s)) == NT_OK && http_tchar(s->p[s->pos]))
		s->pos++;
	return rc;
}

static int http_parse_method(struct http_scan *s)
{
	struct http_req *r = s->r;
	size_t start = s->pos;
	int rc;

	if ((rc = http_skip_token(s)) != NT_OK)
		return rc;
	if (s->pos == start || s->p[s->pos] != ' ')
		return http_fail(r, 400);
	r->method_name = http_span(s, start, s->pos);
	s->pos++;
	/* Methods are case-sensitive (RFC 9110 9.1): "get" is some other method. */
	if (http_str_eq(r->method_name, "GET"))
		r->method = HTTP_GET;
	else if (http_str_eq(r->method_name, "HEAD"))
		r->method = HTTP_HEAD;
	else if (http_str_eq(r->method_name, "POST"))
		r->method = HTTP_POST;
	else
		r->method = HTTP_OTHER;
	return NT_OK;
}

static int http_parse_target(struct http_scan *s)
{
	struct http_req *r = s->r;
	size_t start = s->pos, q;
	int rc;

	if ((rc = http_need(s)) != NT_OK)
		return rc;
	/* Only origin-form: "*" and absolute-form are for proxies, which the box is not. */
	if (s->p[s->pos] != '/')
		return http_fail(r, 400);
	for (;;) {
		if (s->pos - start > s->lim->max_target)
			return http_fail(r, 414);
		if ((rc = http_need(s)) != NT_OK)
			return rc;
		if (!http_target_char(s->p[s->pos]))
			break;
		s->pos++;
	}
	if (s->p[s->pos] != ' ')
		return http_fail(r, 400);
	r->target = http_span(s, start, s->pos);
	s->pos++;
	for (q = start; q < s->pos - 1 && s->p[q] != '?'; q++)
		;
	r->path = http_span(s, start, q);
	if (q < s->pos - 1)
		r->query = http_span(s, q + 1, s->pos - 1);
	return NT_OK;
}

/* Exactly HTTP/1.0 or HTTP/1.1. Another well-formed HTTP/x.y is a version this server
 * does not speak (505); anything else is not HTTP (400). */
static int http_parse_version(struct http_scan *s)
{
	struct http_req *r = s->r;
	size_t start = s->pos;
	const unsigned char *v;
	int rc;

	for (;;) {
		if (s->pos - start > HTTP_VERSION_LEN)
			return http_fail(r, 400);
		if ((rc = http_need(s)) != NT_OK)
			return rc;
		if (s->p[s->pos] == '\r' || s->p[s->pos] == '\n')
			break;
		s->pos++;
	}
	v = s->p + start;
	if (s->pos - start != HTTP_VERSION_LEN || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return http_fail(r, 400);
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return http_fail(r, 505);
	r->minor = v[7] - '0';
	return http_eol(s);
}

/* 1*DIGIT, and no more than max_body. Digits past the limit are still checked, so that
 * "99999999999999999999x" is malformed (400) rather than too large, and never overflow. */
static int http_content_length(struct http_scan *s, struct http_str v)
{
	size_t len = 0, i;
	int too_big = 0;

	if (v.n == 0)
		return http_fail(s->r, 400);
	for (i = 0; i < v.n; i++) {
		unsigned d = (unsigned char)v.p[i] - '0';

		if (d > 9)
			return http_fail(s->r, 400);
		if (too_big)
			continue;
		if (len > (SIZE_MAX - d) / 10 || (len = len * 10 + d) > s->lim->max_body)
			too_big = 1;
	}
	if (too_big)
		return http_fail(s->r, 413);
	s->r->content_length = len;
	return NT_OK;
}

/* Connection is a comma-separated list of tokens (RFC 9110 7.6.1); there may be several
 * Connection lines, which add up. */
static void http_connection(struct http_scan *s, struct http_str v)
{
	size_t i = 0;

	while (i < v.n) {
		struct http_str t;
		size_t end;

		while (i < v.n && (http_ows((unsigned char)v.p[i]) || v.p[i] == ','))
			i++;
		for (end = i; end < v.n && v.p[end] != ','; end++)
			;
		t.p = v.p + i;
		t.n = end - i;
		while (t.n > 0 && http_ows((unsigned char)t.p[t.n - 1]))
			t.n--;
		if (http_str_ieq(t, "close"))
			s->conn_close = 1;
		else if (http_str_ieq(t, "keep-alive"))
			s->conn_keep = 1;
		i = end;
	}
}

/* What the parser itself needs from a complete, well-formed header line. */
static int http_header_use(struct http_scan *s, const struct http_header *h)
{
	struct http_req *r = s->r;

	if (r->nheaders == HTTP_HEADERS_MAX)
		return http_fail(r, 431);
	r->headers[r->nheaders++] = *h;
	if (http_str_ieq(h->name, "Host")) {
		/* Two Hosts could route one request two ways (RFC 9112 3.2). */
		if (s->seen_host)
			return http_fail(r, 400);
		s->seen_host = 1;
		r->host = h->value;
	} else if (http_str_ieq(h->name, "Content-Length")) {
		/* Even two equal ones: a smuggling attempt is likelier than a sloppy client. */
		if (s->seen_length)
			return http_fail(r, 400);
		s->seen_length = 1;
		return http_content_length(s, h->value);
	} else if (http_str_ieq(h->name, "Transfer-Encoding")) {
		return http_fail(r, 501);
	} else if (http_str_ieq(h->name, "Connection")) {
		http_connection(s, h->value);
	}
	return NT_OK;
}

/* One "name: value" line; s->pos is at its first byte, which is not a line end. */
static int http_parse_header(struct http_scan *s)
{
	struct http_header h;
	size_t start = s->pos, vstart, vend;
	int rc;

	/* Obsolete line folding (RFC 9112 5.2), and whitespace before the first header. */
	if (http_ows(s->p[s->pos]))
		return http_fail(s->r, 400);
	if ((rc = http_skip_token(s)) != NT_OK)
		return rc;
	/* No space before the colon (RFC 9112 5.1), and a name of at least one byte. */
	if (s->pos == start || s->p[s->pos] != ':')
		return http_fail(s->r, 400);
	h.name = http_span(s, start, s->pos);
	s->pos++;
	vstart = s->pos;
	for (;;) {
		if ((rc = http_need(s)) != NT_OK)
			return rc;
		if (!http_value_char(s->p[s->pos]))
			break;
		s->pos++;
	}
	if (s->p[s->pos] != '\r' && s->p[s->pos] != '\n')
		return http_fail(s->r, 400);
	for (vend = s->pos; vend > vstart && http_ows(s->p[vend - 1]); vend--)
		;
	while (vstart < vend && http_ows(s->p[vstart]))
		vstart++;
	h.value = http_span(s, vstart, vend);
	if ((rc = http_eol(s)) != NT_OK)
		return rc;
	return http_header_use(s, &h);
}

int http_parse_head(const char *p, size_t n, const struct http_limits *lim,
                    struct http_req *r)
{
	struct http_scan s;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	s.p = (const unsigned char *)p;
	s.n = n;
	s.lim = lim;
	s.r = r;
	if ((rc = http_skip_empty_lines(&s)) != NT_OK || (rc = http_parse_method(&s)) != NT_OK ||
	    (rc = http_parse_target(&s)) != NT_OK || (rc = http_parse_version(&s)) != NT_OK)
		return rc;
	for (;;) {
		if ((rc = http_need(&s)) != NT_OK)
			return rc;
		if (s.p[s.pos] == '\r' || s.p[s.pos] == '\n')
			break;
		if ((rc = http_parse_header(&s)) != NT_OK)
			return rc;
	}
	if ((rc = http_eol(&s)) != NT_OK)
		return rc;
	/* RFC 9112 3.2: a 1.1 request without Host must get 400. */
	if (r->minor == 1 && !s.seen_host)
		return http_fail(r, 400);
	r->keep_alive = !s.conn_close && (r->minor == 1 || s.conn_keep);
	r->head_len = s.pos;
	return NT_OK;
}

const struct http_str *http_header_get(const struct http_req *r, const char *name)
{
	unsigned i;

	for (i = 0; i < r->nheaders; i++)
		if (http_str_ieq(r->headers[i].name, name))
			return &r->headers[i].value;
	return NULL;
}

int http_str_ieq(struct http_str s, const char *z)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (z[i] == '\0' || http_lower((unsigned char)s.p[i]) !=
		    http_lower((unsigned char)z[i]))
			return 0;
	return z[s.n] == '\0';
}

int http_str_eq(struct http_str s, const char *z)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if (z[i] == '\0' || s.p[i] != z[i])
			return 0;
	return z[s.n] == '\0';
}

static int http_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = http_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decodes the byte of s[0..n) at *i ('+' or %XX or itself) and steps past it. -1 for a
 * bad escape or a NUL, sent raw or as %00: the value is handed on as a C string, which
 * would silently end there. */
static int http_form_byte(const char *s, size_t n, size_t *i)
{
	unsigned char c = (unsigned char)s[*i];
	int hi, lo;

	if (c == '+') {
		(*i)++;
		return ' ';
	}
	if (c == '\0')
		return -1;
	if (c != '%') {
		(*i)++;
		return c;
	}
	if (n - *i < 3 || (hi = http_hex((unsigned char)s[*i + 1])) < 0 ||
	    (lo = http_hex((unsigned char)s[*i + 2])) < 0 || (hi == 0 && lo == 0))
		return -1;
	*i += 3;
	return hi << 4 | lo;
}

/* 1 when the encoded s[0..n) decodes to name, 0 when not, NT_EINVAL when it is malformed:
 * such a field might be the one asked for, so the form cannot be answered. */
static int http_form_name_is(const char *s, size_t n, const char *name)
{
	size_t i = 0, k = 0;
	int c, same = 1;

	while (i < n) {
		if ((c = http_form_byte(s, n, &i)) < 0)
			return NT_EINVAL;
		if (same && (name[k] == '\0' || (unsigned char)name[k] != c))
			same = 0;
		else if (same)
			k++;
	}
	return same && name[k] == '\0';
}

/* Decodes s[0..n) into out. All of the value is checked, so that a bad escape is NT_EINVAL
 * even past the point where it stopped fitting. */
static int http_form_value(const char *s, size_t n, char *out, size_t cap, size_t *len)
{
	size_t i = 0, k = 0;
	int c;

	while (i < n) {
		if ((c = http_form_byte(s, n, &i)) < 0)
			return NT_EINVAL;
		if (k + 1 < cap)
			out[k] = (char)c;
		k++;
	}
	if (k + 1 > cap)
		return NT_ELIMIT;
	out[k] = '\0';
	*len = k;
	return NT_OK;
}

int http_form_get(const char *body, size_t n, const char *name, char *out, size_t cap,
                  size_t *len)
{
	size_t i = 0, dummy;
	int rc = NT_ENOENT;

	if (len == NULL)
		len = &dummy;
	*len = 0;
	while (i < n) {
		const char *f = body + i, *eq, *amp = memchr(f, '&', n - i);
		size_t fn = amp != NULL ? (size_t)(amp - f) : n - i, nn;

		i += fn + 1;
		if (fn == 0)
			continue;
		eq = memchr(f, '=', fn);
		nn = eq != NULL ? (size_t)(eq - f) : fn;
		if ((rc = http_form_name_is(f, nn, name)) < 0)
			break;
		if (rc == 0) {
			rc = NT_ENOENT;
			continue;
		}
		rc = eq != NULL ? http_form_value(eq + 1, fn - nn - 1, out, cap, len)
				: http_form_value(f, 0, out, cap, len);
		break;
	}
	if (rc != NT_OK && cap > 0)
		out[0] = '\0';
	if (rc != NT_OK)
		*len = 0;
	return rc;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default:  return "Error";
	}
}
