#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/err.h"
#include "web/http.h"

static const struct http_limits lim = { .max_head = 1024, .max_target = 256, .max_body = 4096 };

static int parse(const char *s, struct http_req *r)
{
	return http_parse_head(s, strlen(s), &lim, r);
}

static void assert_str(struct http_str s, const char *z)
{
	if (!http_str_eq(s, z))
		fail_msg("got \"%.*s\", want \"%s\"", (int)s.n, s.p ? s.p : "", z);
}

/* s is refused with rc and status; and every prefix of s either needs more bytes or is
 * refused the same way, so the answer does not depend on how the reads were split. */
static void expect_refused_lim(const char *s, const struct http_limits *l, int rc, int status)
{
	size_t n = strlen(s), k;
	struct http_req r;
	int got;

	got = http_parse_head(s, n, l, &r);
	if (got != rc || r.status != status)
		fail_msg("\"%s\": rc %d status %d, want rc %d status %d", s, got, r.status, rc,
			 status);
	for (k = 0; k < n; k++) {
		got = http_parse_head(s, k, l, &r);
		if (got == NT_EAGAIN && r.status == 0)
			continue;
		if (got != rc || r.status != status)
			fail_msg("\"%s\" cut at %zu: rc %d status %d", s, k, got, r.status);
	}
}

static void expect_refused(const char *s, int rc, int status)
{
	expect_refused_lim(s, &lim, rc, status);
}

/* s is a complete head: it parses, and each shorter prefix asks for more. */
static void expect_head(const char *s, struct http_req *r)
{
	size_t n = strlen(s), k;

	for (k = 0; k < n; k++) {
		int rc = http_parse_head(s, k, &lim, r);

		if (rc != NT_EAGAIN || r->status != 0)
			fail_msg("\"%s\" cut at %zu: rc %d status %d", s, k, rc, r->status);
	}
	assert_int_equal(http_parse_head(s, n, &lim, r), NT_OK);
	assert_int_equal(r->status, 0);
	assert_int_equal(r->head_len, n);
}

static void http_parses_plain_get(void **state)
{
	const char *s = "GET /index.html HTTP/1.1\r\nHost: box.local\r\nAccept: */*\r\n\r\n";
	struct http_req r;

	(void)state;
	assert_int_equal(parse(s, &r), NT_OK);
	assert_int_equal(r.method, HTTP_GET);
	assert_str(r.method_name, "GET");
	assert_str(r.target, "/index.html");
	assert_str(r.path, "/index.html");
	assert_int_equal(r.query.n, 0);
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.nheaders, 2);
	assert_str(r.headers[0].name, "Host");
	assert_str(r.headers[1].value, "*/*");
	assert_str(r.host, "box.local");
	assert_int_equal(r.content_length, 0);
	assert_int_equal(r.keep_alive, 1);
	assert_int_equal(r.head_len, strlen(s));
	assert_int_equal(r.status, 0);
}

static void http_parses_post_with_body(void **state)
{
	const char *s = "POST /setup HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
			"Content-Type: application/x-www-form-urlencoded\r\n\r\nuser=x&pw=y";
	struct http_req r;

	(void)state;
	assert_int_equal(parse(s, &r), NT_OK);
	assert_int_equal(r.method, HTTP_POST);
	assert_int_equal(r.content_length, 11);
	assert_int_equal(r.head_len + r.content_length, strlen(s));
	assert_memory_equal(s + r.head_len, "user=x&pw=y", 11);
	/* The body is the caller's business: a head alone is complete. */
	assert_int_equal(http_parse_head(s, r.head_len, &lim, &r), NT_OK);
}

static void http_parses_pipelined(void **state)
{
	const char *s = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
			"HEAD /b?c=d HTTP/1.0\r\n\r\n";
	struct http_req r;
	size_t off;

	(void)state;
	assert_int_equal(parse(s, &r), NT_OK);
	assert_str(r.path, "/a");
	off = r.head_len + r.content_length;
	assert_int_equal(http_parse_head(s + off, strlen(s) - off, &lim, &r), NT_OK);
	assert_int_equal(r.method, HTTP_HEAD);
	assert_str(r.path, "/b");
	assert_str(r.query, "c=d");
	assert_int_equal(r.minor, 0);
	assert_int_equal(r.keep_alive, 0);
	assert_int_equal(r.host.n, 0);
	assert_int_equal(off + r.head_len, strlen(s));
}

static void http_waits_at_every_split(void **state)
{
	static const char *const heads[] = {
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /x?y=z HTTP/1.0\r\n\r\n",
		"\r\n\n\r\nPOST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX:\r\n\r\n",
		"GET / HTTP/1.1\nHost: a\n\n",
		"GET / HTTP/1.1\r\nHost: a\n\r\n",
	};
	struct http_req r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++)
		expect_head(heads[i], &r);
}

static void http_takes_bare_lf(void **state)
{
	const char *s = "GET /a HTTP/1.1\nHost: h\nX-A: b\n\n";
	struct http_req r;

	(void)state;
	assert_int_equal(parse(s, &r), NT_OK);
	assert_int_equal(r.nheaders, 2);
	assert_str(r.host, "h");
	assert_str(r.headers[1].value, "b");
	assert_int_equal(r.head_len, strlen(s));
}

static void http_skips_leading_empty_lines(void **state)
{
	const char *s = "\r\n\n\r\nGET / HTTP/1.0\r\n\r\n";
	struct http_req r;

	(void)state;
	assert_int_equal(parse(s, &r), NT_OK);
	assert_int_equal(r.method, HTTP_GET);
	assert_ptr_equal(r.method_name.p, s + 5);
	assert_int_equal(r.head_len, strlen(s));
	/* A CR that is not followed by LF is not an empty line. */
	expect_refused("\r\rGET / HTTP/1.0\r\n\r\n", NT_EINVAL, 400);
}

static void http_maps_methods(void **state)
{
	struct http_req r;

	(void)state;
	assert_int_equal(parse("HEAD / HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.method, HTTP_HEAD);
	assert_int_equal(parse("DELETE / HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.method, HTTP_OTHER);
	assert_str(r.method_name, "DELETE");
	/* Methods are case-sensitive. */
	assert_int_equal(parse("get / HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.method, HTTP_OTHER);
	assert_int_equal(parse("GETS / HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.method, HTTP_OTHER);
	expect_refused("GE(T / HTTP/1.0\r\n\r\n", NT_EINVAL, 400);
	expect_refused(" / HTTP/1.0\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET\t/ HTTP/1.0\r\n\r\n", NT_EINVAL, 400);
}

static void http_refuses_bad_headers(void **state)
{
	(void)state;
	expect_refused("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
		       "Content-Length: 1\r\n\r\n", NT_EINVAL, 400);
	/* obs-fold, and whitespace before the first header. */
	expect_refused("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", NT_EINVAL, 400);
	/* Names are tokens followed at once by ':'. */
	expect_refused("GET / HTTP/1.1\r\nHo st: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nHost : a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\n: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nX(y): a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nH\xc3\xb6: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nHost\r\n\r\n", NT_EINVAL, 400);
	/* Controls other than tab in a value, and a CR alone. */
	expect_refused("GET / HTTP/1.1\r\nHost: a\x01" "b\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", NT_EINVAL, 400);
}

static void http_refuses_nul_in_value(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	struct http_req r;

	(void)state;
	assert_int_equal(http_parse_head(s, sizeof(s) - 1, &lim, &r), NT_EINVAL);
	assert_int_equal(r.status, 400);
}

static void http_refuses_bad_content_length(void **state)
{
	struct http_req r;

	(void)state;
	expect_refused("POST / HTTP/1.0\r\nContent-Length: 1a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("POST / HTTP/1.0\r\nContent-Length: -1\r\n\r\n", NT_EINVAL, 400);
	expect_refused("POST / HTTP/1.0\r\nContent-Length: +1\r\n\r\n", NT_EINVAL, 400);
	expect_refused("POST / HTTP/1.0\r\nContent-Length: 1, 1\r\n\r\n", NT_EINVAL, 400);
	expect_refused("POST / HTTP/1.0\r\nContent-Length:\r\n\r\n", NT_EINVAL, 400);
	/* Far past SIZE_MAX: too large, not wrapped around to something small. */
	expect_refused("POST / HTTP/1.0\r\nContent-Length: 184467440737095516160000000001"
		       "\r\n\r\n", NT_ELIMIT, 413);
	expect_refused("POST / HTTP/1.0\r\nContent-Length: 18446744073709551617\r\n\r\n",
		       NT_ELIMIT, 413);
	/* Digits are checked past the limit too. */
	expect_refused("POST / HTTP/1.0\r\nContent-Length: 99999999999999999999999x\r\n\r\n",
		       NT_EINVAL, 400);
	expect_refused("POST / HTTP/1.0\r\nContent-Length: 4097\r\n\r\n", NT_ELIMIT, 413);
	assert_int_equal(parse("POST / HTTP/1.0\r\nContent-Length: 4096\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.content_length, 4096);
	assert_int_equal(parse("POST / HTTP/1.0\r\nContent-Length: 0007\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.content_length, 7);
}

static void http_refuses_bad_targets(void **state)
{
	(void)state;
	expect_refused("GET http://box/ HTTP/1.1\r\nHost: box\r\n\r\n", NT_EINVAL, 400);
	expect_refused("OPTIONS * HTTP/1.1\r\nHost: box\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET index.html HTTP/1.1\r\nHost: box\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET  / HTTP/1.1\r\nHost: box\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET /a\x01 HTTP/1.1\r\nHost: box\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET /a\tb HTTP/1.1\r\nHost: box\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET /a\x7f HTTP/1.1\r\nHost: box\r\n\r\n", NT_EINVAL, 400);
	/* HTTP/0.9: no version. */
	expect_refused("GET /\r\n\r\n", NT_EINVAL, 400);
}

static void http_refuses_versions(void **state)
{
	(void)state;
	expect_refused("GET / HTTP/2.0\r\nHost: a\r\n\r\n", NT_EINVAL, 505);
	expect_refused("GET / HTTP/1.2\r\nHost: a\r\n\r\n", NT_EINVAL, 505);
	expect_refused("GET / HTTP/0.9\r\n\r\n", NT_EINVAL, 505);
	expect_refused("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / http/1.1\r\nHost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/11\r\nHost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.\r\nHost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/a.b\r\nHost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / FOO\r\nHost: a\r\n\r\n", NT_EINVAL, 400);
	expect_refused("GET / HTTP/1.1\rHost: a\r\n\r\n", NT_EINVAL, 400);
}

static void http_refuses_transfer_encoding(void **state)
{
	(void)state;
	expect_refused("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		       NT_EINVAL, 501);
	expect_refused("POST / HTTP/1.0\r\ntransfer-encoding: identity\r\n\r\n", NT_EINVAL, 501);
}

/* A head with Host and then count more X-N headers, in buf. */
static void build_headers(char *buf, size_t cap, unsigned count)
{
	size_t off = (size_t)snprintf(buf, cap, "GET / HTTP/1.1\r\nHost: a\r\n");
	unsigned i;

	for (i = 0; i < count; i++)
		off += (size_t)snprintf(buf + off, cap - off, "X-%u: v\r\n", i);
	snprintf(buf + off, cap - off, "\r\n");
}

static void http_limits_header_count(void **state)
{
	char buf[1024];
	struct http_req r;

	(void)state;
	build_headers(buf, sizeof(buf), HTTP_HEADERS_MAX - 1);
	assert_int_equal(parse(buf, &r), NT_OK);
	assert_int_equal(r.nheaders, HTTP_HEADERS_MAX);
	assert_str(r.headers[HTTP_HEADERS_MAX - 1].name, "X-30");
	build_headers(buf, sizeof(buf), HTTP_HEADERS_MAX);
	expect_refused(buf, NT_ELIMIT, 431);
}

static void http_limits_head_length(void **state)
{
	const struct http_limits l = { .max_head = 40, .max_target = 30, .max_body = 10 };
	const char *fits = "GET / HTTP/1.0\r\nX-Pad: 0123456789abc\r\n\r\n";	/* 40 bytes */
	const char *over = "GET / HTTP/1.0\r\nX-Pad: 0123456789abcd\r\n\r\n";
	char big[64];
	struct http_req r;

	(void)state;
	assert_int_equal(strlen(fits), 40);
	assert_int_equal(http_parse_head(fits, strlen(fits), &l, &r), NT_OK);
	assert_int_equal(r.head_len, 40);
	/* One byte more: refused when the 41st byte is needed, before the head is complete. */
	expect_refused_lim(over, &l, NT_ELIMIT, 431);
	assert_int_equal(http_parse_head(over, 40, &l, &r), NT_ELIMIT);
	assert_int_equal(r.status, 431);
	assert_int_equal(http_parse_head(over, 39, &l, &r), NT_EAGAIN);
	/* Empty lines before the request count too: they are bytes the caller keeps. */
	memset(big, '\n', sizeof(big));
	assert_int_equal(http_parse_head(big, sizeof(big), &l, &r), NT_ELIMIT);
	assert_int_equal(r.status, 431);
}

static void http_limits_target_before_line_end(void **state)
{
	char buf[512];
	struct http_req r;

	(void)state;
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', lim.max_target - 1);
	/* A target of max_target bytes may still end with a space. */
	assert_int_equal(http_parse_head(buf, 4 + lim.max_target, &lim, &r), NT_EAGAIN);
	memcpy(buf + 4 + lim.max_target, " HTTP/1.0\r\n\r\n", 14);
	assert_int_equal(http_parse_head(buf, 4 + lim.max_target + 13, &lim, &r), NT_OK);
	assert_int_equal(r.target.n, lim.max_target);
	/* One byte more is 414 at once: no version, no line end yet. */
	buf[4 + lim.max_target] = 'a';
	assert_int_equal(http_parse_head(buf, 5 + lim.max_target, &lim, &r), NT_ELIMIT);
	assert_int_equal(r.status, 414);
}

static void http_limits_body(void **state)
{
	(void)state;
	expect_refused("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n", NT_ELIMIT,
		       413);
}

static void http_sets_keep_alive(void **state)
{
	struct http_req r;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.keep_alive, 1);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &r),
			 NT_OK);
	assert_int_equal(r.keep_alive, 0);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n",
			       &r), NT_OK);
	assert_int_equal(r.keep_alive, 0);
	/* "closed" is another token. */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", &r),
			 NT_OK);
	assert_int_equal(r.keep_alive, 1);
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.keep_alive, 0);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.keep_alive, 1);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: foo ,\t keep-alive ,\r\n\r\n", &r),
			 NT_OK);
	assert_int_equal(r.keep_alive, 1);
	/* Several Connection lines add up; close wins. */
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
			       "Connection: close\r\n\r\n", &r), NT_OK);
	assert_int_equal(r.keep_alive, 0);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: keep-alive-ish\r\n\r\n", &r),
			 NT_OK);
	assert_int_equal(r.keep_alive, 0);
}

static void http_gets_headers(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHOST: a\r\ncontent-type:  text/plain \t\r\n"
			"X-Empty:\r\nX-Tab: a\tb\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n";
	const struct http_str *v;
	struct http_req r;

	(void)state;
	assert_int_equal(parse(s, &r), NT_OK);
	assert_str(r.host, "a");
	assert_non_null(v = http_header_get(&r, "Content-Type"));
	assert_str(*v, "text/plain");
	assert_non_null(v = http_header_get(&r, "CONTENT-TYPE"));
	assert_str(*v, "text/plain");
	assert_non_null(v = http_header_get(&r, "x-empty"));
	assert_int_equal(v->n, 0);
	assert_non_null(v = http_header_get(&r, "x-tab"));
	assert_str(*v, "a\tb");
	assert_non_null(v = http_header_get(&r, "X-DUP"));
	assert_str(*v, "1");
	assert_null(http_header_get(&r, "Content"));
	assert_null(http_header_get(&r, "Content-Type-X"));
	assert_null(http_header_get(&r, "Accept"));
}

static void http_compares_strings(void **state)
{
	struct http_str s = { "Host", 4 }, e = { "", 0 };

	(void)state;
	assert_true(http_str_ieq(s, "hOST"));
	assert_false(http_str_ieq(s, "hos"));
	assert_false(http_str_ieq(s, "hosts"));
	assert_true(http_str_eq(s, "Host"));
	assert_false(http_str_eq(s, "host"));
	assert_true(http_str_eq(e, ""));
	assert_false(http_str_ieq(e, "a"));
}

static void http_splits_query(void **state)
{
	struct http_req r;

	(void)state;
	assert_int_equal(parse("GET /a/b?x=1&y=%20 HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_str(r.target, "/a/b?x=1&y=%20");
	assert_str(r.path, "/a/b");
	assert_str(r.query, "x=1&y=%20");
	assert_int_equal(parse("GET /?a?b HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_str(r.path, "/");
	assert_str(r.query, "a?b");
	assert_int_equal(parse("GET /p? HTTP/1.0\r\n\r\n", &r), NT_OK);
	assert_str(r.path, "/p");
	assert_int_equal(r.query.n, 0);
}

static int form(const char *body, const char *name, char *out, size_t cap, size_t *len)
{
	return http_form_get(body, strlen(body), name, out, cap, len);
}

static void expect_field(const char *body, const char *name, const char *want)
{
	char out[64];
	size_t len = 99;

	assert_int_equal(form(body, name, out, sizeof(out), &len), NT_OK);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

static void expect_form_rc(const char *body, const char *name, int rc)
{
	char out[8] = "junk";
	size_t len = 99;

	assert_int_equal(form(body, name, out, sizeof(out), &len), rc);
	assert_string_equal(out, "");
	assert_int_equal(len, 0);
}

static void http_decodes_form_fields(void **state)
{
	(void)state;
	expect_field("user=ann&pw=a+b%2Bc", "pw", "a b+c");
	expect_field("user=ann&pw=x", "user", "ann");
	expect_field("a=%c3%A9%7e", "a", "\xc3\xa9~");
	expect_field("a=&b=2", "a", "");
	expect_field("a&b=2", "a", "");
	expect_field("b=2&a", "a", "");
	expect_field("a=1=2", "a", "1=2");
	expect_field("a=1&a=2", "a", "1");
	expect_field("&&a=1&", "a", "1");
	expect_field("first+name=Ann&first%20name=Bob", "first name", "Ann");
	expect_field("%61%62=yes", "ab", "yes");
	expect_field("ab=1&a=2", "a", "2");
	/* Fields after the one asked for are not looked at. */
	expect_field("a=1&b=%zz", "a", "1");
}

static void http_refuses_bad_form_fields(void **state)
{
	char out[4];
	size_t len;

	(void)state;
	expect_form_rc("a=1&b=2", "c", NT_ENOENT);
	expect_form_rc("", "a", NT_ENOENT);
	expect_form_rc("aa=1", "a", NT_ENOENT);
	expect_form_rc("a=%zz", "a", NT_EINVAL);
	expect_form_rc("a=%4", "a", NT_EINVAL);
	expect_form_rc("a=%", "a", NT_EINVAL);
	expect_form_rc("a=x%00y", "a", NT_EINVAL);
	expect_form_rc("%zz=1&a=2", "a", NT_EINVAL);
	expect_form_rc("a%00=1", "a", NT_EINVAL);
	/* cap 4 holds three bytes and the NUL. */
	assert_int_equal(form("a=abc", "a", out, sizeof(out), &len), NT_OK);
	assert_string_equal(out, "abc");
	expect_form_rc("a=abcdefgh", "a", NT_ELIMIT);
	assert_int_equal(form("a=abcd", "a", out, sizeof(out), &len), NT_ELIMIT);
	assert_string_equal(out, "");
	assert_int_equal(form("a=", "a", out, 0, &len), NT_ELIMIT);
	/* A bad escape is reported even past the point where the value stopped fitting. */
	expect_form_rc("a=abcdefgh%g0", "a", NT_EINVAL);
	/* Only n bytes are read: the field ends where n does. */
	assert_int_equal(http_form_get("a=12345", 3, "a", out, sizeof(out), &len), NT_OK);
	assert_string_equal(out, "1");
	assert_int_equal(http_form_get(NULL, 0, "a", out, sizeof(out), &len), NT_ENOENT);
	/* Found by fuzz_http: a raw NUL would cut the C string the caller gets short. */
	assert_int_equal(http_form_get("a=f\0z&b", 8, "a", out, sizeof(out), &len), NT_EINVAL);
	assert_string_equal(out, "");
	assert_int_equal(http_form_get("a\0=1&a=2", 9, "a", out, sizeof(out), &len), NT_EINVAL);
}

static void http_names_statuses(void **state)
{
	(void)state;
	assert_string_equal(http_reason(200), "OK");
	assert_string_equal(http_reason(204), "No Content");
	assert_string_equal(http_reason(303), "See Other");
	assert_string_equal(http_reason(308), "Permanent Redirect");
	assert_string_equal(http_reason(400), "Bad Request");
	assert_string_equal(http_reason(404), "Not Found");
	assert_string_equal(http_reason(405), "Method Not Allowed");
	assert_string_equal(http_reason(413), "Content Too Large");
	assert_string_equal(http_reason(414), "URI Too Long");
	assert_string_equal(http_reason(431), "Request Header Fields Too Large");
	assert_string_equal(http_reason(501), "Not Implemented");
	assert_string_equal(http_reason(505), "HTTP Version Not Supported");
	assert_string_equal(http_reason(418), "Error");
	assert_string_equal(http_reason(0), "Error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(http_parses_plain_get),
		cmocka_unit_test(http_parses_post_with_body),
		cmocka_unit_test(http_parses_pipelined),
		cmocka_unit_test(http_waits_at_every_split),
		cmocka_unit_test(http_takes_bare_lf),
		cmocka_unit_test(http_skips_leading_empty_lines),
		cmocka_unit_test(http_maps_methods),
		cmocka_unit_test(http_refuses_bad_headers),
		cmocka_unit_test(http_refuses_nul_in_value),
		cmocka_unit_test(http_refuses_bad_content_length),
		cmocka_unit_test(http_refuses_bad_targets),
		cmocka_unit_test(http_refuses_versions),
		cmocka_unit_test(http_refuses_transfer_encoding),
		cmocka_unit_test(http_limits_header_count),
		cmocka_unit_test(http_limits_head_length),
		cmocka_unit_test(http_limits_target_before_line_end),
		cmocka_unit_test(http_limits_body),
		cmocka_unit_test(http_sets_keep_alive),
		cmocka_unit_test(http_gets_headers),
		cmocka_unit_test(http_compares_strings),
		cmocka_unit_test(http_splits_query),
		cmocka_unit_test(http_decodes_form_fields),
		cmocka_unit_test(http_refuses_bad_form_fields),
		cmocka_unit_test(http_names_statuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
