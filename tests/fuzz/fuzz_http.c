/* http_parse_head and http_form_get on arbitrary bytes. A parsed head must lie inside the
 * input and inside the limits; a refusal must carry a status the server can send; and the
 * answer must not depend on how the bytes were split into reads: a prefix of the input
 * either needs more bytes or gets the same answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "web/http.h"

static const char *in_p;
static size_t in_n;

static int is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void check_str(struct http_str s, size_t head_len)
{
	if (s.n > head_len || s.p < in_p || s.p + s.n > in_p + head_len)
		abort();
}

static void check_ok(const struct http_req *r, const struct http_limits *lim, size_t n)
{
	unsigned i;

	if (r->status != 0 || r->head_len > n || r->head_len > lim->max_head ||
	    r->head_len == 0 || in_p[r->head_len - 1] != '\n')
		abort();
	if (r->target.n > lim->max_target || r->content_length > lim->max_body)
		abort();
	if ((r->minor != 0 && r->minor != 1) || (r->keep_alive != 0 && r->keep_alive != 1) ||
	    r->nheaders > HTTP_HEADERS_MAX || (unsigned)r->method > HTTP_OTHER)
		abort();
	check_str(r->method_name, r->head_len);
	check_str(r->target, r->head_len);
	check_str(r->path, r->head_len);
	if (r->query.n > 0)
		check_str(r->query, r->head_len);
	if (r->host.p != NULL)
		check_str(r->host, r->head_len);
	if (r->target.n == 0 || r->target.p[0] != '/' || r->path.p != r->target.p ||
	    r->path.n + r->query.n > r->target.n)
		abort();
	if ((r->method == HTTP_GET) != http_str_eq(r->method_name, "GET"))
		abort();
	for (i = 0; i < r->nheaders; i++) {
		const struct http_header *h = &r->headers[i];

		check_str(h->name, r->head_len);
		check_str(h->value, r->head_len);
		if (h->name.n == 0)
			abort();
		if (h->value.n > 0 && (is_ows(h->value.p[0]) || is_ows(h->value.p[h->value.n - 1])))
			abort();
	}
	if (r->minor == 1 && http_header_get(r, "host") == NULL)
		abort();
}

static void check_refused(int rc, const struct http_req *r)
{
	switch (r->status) {
	case 400: case 501: case 505:
		if (rc != NT_EINVAL)
			abort();
		break;
	case 413: case 414: case 431:
		if (rc != NT_ELIMIT)
			abort();
		break;
	default:
		abort();
	}
}

static void parse_with(const struct http_limits *lim)
{
	static struct http_req r, again;
	int rc, rc2;
	size_t cut;

	rc = http_parse_head(in_p, in_n, lim, &r);
	if (rc == NT_EAGAIN) {
		if (r.status != 0)
			abort();
		return;
	}
	if (rc != NT_OK) {
		check_refused(rc, &r);
		/* A prefix needs more, or is refused the same way. */
		rc2 = http_parse_head(in_p, in_n / 2, lim, &again);
		if (rc2 != NT_EAGAIN && (rc2 != rc || again.status != r.status))
			abort();
		return;
	}
	check_ok(&r, lim, in_n);
	/* The head alone parses the same; one byte less needs more. */
	if (http_parse_head(in_p, r.head_len, lim, &again) != NT_OK ||
	    again.head_len != r.head_len || again.nheaders != r.nheaders)
		abort();
	cut = r.head_len - 1;
	if (http_parse_head(in_p, cut, lim, &again) != NT_EAGAIN || again.status != 0)
		abort();
}

static void form_with(const char *name)
{
	char small[8], big[256];
	size_t n1 = 99, n2 = 99;
	int rc1, rc2;

	rc1 = http_form_get(in_p, in_n, name, small, sizeof(small), &n1);
	rc2 = http_form_get(in_p, in_n, name, big, sizeof(big), &n2);
	if (rc1 == NT_OK) {
		if (n1 >= sizeof(small) || small[n1] != '\0' || strlen(small) != n1)
			abort();
		if (rc2 != NT_OK || n2 != n1 || memcmp(small, big, n1 + 1) != 0)
			abort();
		return;
	}
	if ((rc1 != NT_ENOENT && rc1 != NT_EINVAL && rc1 != NT_ELIMIT) || n1 != 0 ||
	    small[0] != '\0')
		abort();
	/* Only the size of the buffer differs between the calls. */
	if (rc1 == NT_ELIMIT ? ((rc2 != NT_OK || n2 < sizeof(small)) && rc2 != NT_ELIMIT)
			     : rc2 != rc1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_limits small = { .max_head = 200, .max_target = 40,
						  .max_body = 100 };
	static const struct http_limits roomy = { .max_head = 16384, .max_target = 8192,
						  .max_body = SIZE_MAX };

	in_p = (const char *)data;
	in_n = size;
	parse_with(&small);
	parse_with(&roomy);
	form_with("a");
	form_with("user name");
	return 0;
}
