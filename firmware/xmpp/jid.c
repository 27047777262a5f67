/* JIDs (RFC 7622 with the stringprep profiles of RFC 6122 that libidn implements).
 *
 * Unassigned code points (in Unicode 3.2, which stringprep uses) are allowed, as for a query
 * (RFC 3454 section 7): otherwise every emoji in a resource or nickname would be refused. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <stringprep.h>
#include "core/err.h"
#include "xmpp/jid.h"

/* A work buffer for one part: room for the longest input jid_parse takes, plus the NUL, so
 * stringprep's mappings (which may grow a string, e.g. U+00DF to "ss") fit or fail cleanly. */
#define JID_WORK_MAX (JID_MAX + 1)

enum jid_profile { JID_NODEPREP, JID_NAMEPREP, JID_RESOURCEPREP };

/*
 * Nearly every JID is ASCII, and libidn's stringprep (UCS-4 conversion, table lookups, NFKC)
 * was a tenth of the daemon's CPU when routing messages. For ASCII the three profiles reduce
 * to: Nodeprep and Nameprep fold A-Z to a-z, Resourceprep keeps case; Nodeprep and
 * Resourceprep prohibit the ASCII controls (RFC 3454 C.2.1), Nodeprep also the space (C.1.1)
 * and " & ' / : < > @ (RFC 6122 A.5). Nameprep prohibits no ASCII; the domain check after it
 * does. test_jid compares this with libidn for every ASCII character.
 */
static int jid_ascii_prep(char *out, size_t cap, const char *s, size_t n, enum jid_profile p)
{
	if (n > JID_PART_MAX || n + 1 > cap)
		return NT_ELIMIT;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (p != JID_NAMEPREP && (c < 0x20 || c == 0x7f))
			return NT_EINVAL;
		if (p == JID_NODEPREP && c != '\0' && strchr(" \"&'/:<>@", c) != NULL)
			return NT_EINVAL;
		if (p != JID_RESOURCEPREP && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = c;
	}
	out[n] = '\0';
	return NT_OK;
}

static int jid_is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

static int jid_stringprep(char *out, size_t cap, const char *s, size_t n, enum jid_profile p)
{
	static const Stringprep_profile *const profiles[] = {
		[JID_NODEPREP] = stringprep_xmpp_nodeprep,
		[JID_NAMEPREP] = stringprep_nameprep,
		[JID_RESOURCEPREP] = stringprep_xmpp_resourceprep,
	};
	const Stringprep_profile *profile = profiles[p];
	char w[JID_WORK_MAX];
	size_t len;
	int rc;

	if (n > JID_MAX)
		return NT_ELIMIT;		/* absurd; refuse before any work */
	if (n == 0 || memchr(s, '\0', n) != NULL)
		return NT_EINVAL;
	if (jid_is_ascii(s, n))
		return jid_ascii_prep(out, cap, s, n, p);
	memcpy(w, s, n);
	w[n] = '\0';
	rc = stringprep(w, sizeof(w), 0, profile);
	if (rc == STRINGPREP_TOO_SMALL_BUFFER)
		return NT_ELIMIT;
	if (rc != STRINGPREP_OK)
		return NT_EINVAL;		/* prohibited, bidi, or not UTF-8 */
	len = strlen(w);
	if (len == 0)
		return NT_EINVAL;		/* everything was mapped to nothing */
	if (len > JID_PART_MAX || len + 1 > cap)
		return NT_ELIMIT;
	memcpy(out, w, len + 1);
	return NT_OK;
}

int jid_prep_local(char *out, size_t cap, const char *s, size_t n)
{
	return jid_stringprep(out, cap, s, n, JID_NODEPREP);
}

int jid_prep_resource(char *out, size_t cap, const char *s, size_t n)
{
	return jid_stringprep(out, cap, s, n, JID_RESOURCEPREP);
}

/* "[v6 address]": kept as it is, hex digits lower-cased so equal addresses compare equal. */
static int jid_prep_ip6_literal(char *out, size_t cap, const char *s, size_t n)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	size_t i;

	if (n < 3 || s[n - 1] != ']' || n - 2 > INET6_ADDRSTRLEN)
		return NT_EINVAL;
	memcpy(addr, s + 1, n - 2);
	addr[n - 2] = '\0';
	if (inet_pton(AF_INET6, addr, bin) != 1)
		return NT_EINVAL;
	if (n + 1 > cap)
		return NT_ELIMIT;
	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[n] = '\0';
	return NT_OK;
}

/* U+3002 IDEOGRAPHIC FULL STOP, a label separator for IDNA (RFC 3490 3.1) that Nameprep keeps
 * (its NFKC step turns U+FF0E into '.' and U+FF61 into U+3002). */
#define JID_IDEOGRAPHIC_STOP "\xe3\x80\x82"

/* After Nameprep: labels are non-empty and their ASCII characters are letters, digits, '-' or
 * '_' (so an IPv6 address without brackets, a stray '@' or a space is refused). Other code
 * points have passed Nameprep; U+3002 is refused rather than mapped, so that "a\u3002b" never
 * passes for a look-alike of "a.b". An IPv4 address passes as it is. */
static int jid_domain_check(const char *d)
{
	const unsigned char *p = (const unsigned char *)d;
	size_t label = 0;

	if (strstr(d, JID_IDEOGRAPHIC_STOP) != NULL)
		return NT_EINVAL;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return NT_EINVAL;
			label = 0;
			continue;
		}
		label++;
		if (*p >= 0x80 || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_')
			continue;
		return NT_EINVAL;
	}
	return label == 0 ? NT_EINVAL : NT_OK;
}

static int jid_prep_domain(char *out, size_t cap, const char *s, size_t n)
{
	int rc;

	if (n > JID_MAX)
		return NT_ELIMIT;
	/* RFC 7622 3.2: one trailing label separator is stripped before anything else. */
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || memchr(s, '\0', n) != NULL)
		return NT_EINVAL;
	if (s[0] == '[')
		return jid_prep_ip6_literal(out, cap, s, n);
	if ((rc = jid_stringprep(out, cap, s, n, JID_NAMEPREP)) != NT_OK)
		return rc;
	return jid_domain_check(out);
}

static void jid_clear(struct jid *j)
{
	j->local[0] = '\0';
	j->domain[0] = '\0';
	j->resource[0] = '\0';
}

int jid_parse(struct jid *out, const char *s, size_t n)
{
	const char *slash, *at, *dom = s, *end;
	int rc = NT_OK;

	jid_clear(out);
	if (n > JID_MAX)
		return NT_ELIMIT;
	/* RFC 7622 3.1: the resource is everything after the first '/'; the localpart is what
	 * comes before the first '@' ahead of that '/'. */
	slash = memchr(s, '/', n);
	end = slash != NULL ? slash : s + n;
	at = memchr(s, '@', (size_t)(end - s));
	if (at != NULL) {
		if (at == s)
			return NT_EINVAL;
		rc = jid_prep_local(out->local, sizeof(out->local), s, (size_t)(at - s));
		dom = at + 1;
	}
	if (rc == NT_OK)
		rc = jid_prep_domain(out->domain, sizeof(out->domain), dom, (size_t)(end - dom));
	if (rc == NT_OK && slash != NULL)
		rc = jid_prep_resource(out->resource, sizeof(out->resource), slash + 1,
				       (size_t)(s + n - slash - 1));
	if (rc != NT_OK)
		jid_clear(out);
	return rc;
}

static int jid_format(const struct jid *j, int with_resource, char *out, size_t cap)
{
	int len;

	len = snprintf(out, cap, "%s%s%s%s%s", j->local, j->local[0] != '\0' ? "@" : "",
		       j->domain, with_resource && j->resource[0] != '\0' ? "/" : "",
		       with_resource ? j->resource : "");
	if (len < 0 || (size_t)len >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return NT_ELIMIT;
	}
	return NT_OK;
}

int jid_bare(const struct jid *j, char *out, size_t cap)
{
	return jid_format(j, 0, out, cap);
}

int jid_full(const struct jid *j, char *out, size_t cap)
{
	return jid_format(j, 1, out, cap);
}
