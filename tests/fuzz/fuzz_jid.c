/* jid_parse on arbitrary bytes. A JID that parses must format, fit the limits, and parse
 * again to the same parts (preparation is idempotent). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/err.h"
#include "xmpp/jid.h"

static void check_part(const char *p, int may_be_empty)
{
	size_t n = strnlen(p, JID_PART_MAX + 1);

	if (n > JID_PART_MAX || (n == 0 && !may_be_empty))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jid j, again;
	static char full[JID_MAX + 1], bare[JID_MAX + 1], part[JID_PART_MAX + 1];
	const char *s = (const char *)data;
	int rc;

	/* The part preparers on their own, with a small and a large buffer. */
	rc = jid_prep_local(part, 8, s, size);
	if (rc != NT_OK && rc != NT_EINVAL && rc != NT_ELIMIT)
		abort();
	if (jid_prep_resource(part, sizeof(part), s, size) == NT_OK)
		check_part(part, 0);

	rc = jid_parse(&j, s, size);
	if (rc != NT_OK) {
		if ((rc != NT_EINVAL && rc != NT_ELIMIT) || j.local[0] || j.domain[0] ||
		    j.resource[0])
			abort();
		return 0;
	}
	check_part(j.local, 1);
	check_part(j.domain, 0);
	check_part(j.resource, 1);
	if (jid_full(&j, full, sizeof(full)) != NT_OK || jid_bare(&j, bare, sizeof(bare)) != NT_OK)
		abort();
	if (strncmp(full, bare, strlen(bare)) != 0)
		abort();
	if (jid_parse(&again, full, strlen(full)) != NT_OK || strcmp(j.local, again.local) != 0 ||
	    strcmp(j.domain, again.domain) != 0 || strcmp(j.resource, again.resource) != 0)
		abort();
	return 0;
}
