#ifndef NATTER_XMPP_JID_H
#define NATTER_XMPP_JID_H
/* JIDs (RFC 7622), prepared with libidn's stringprep profiles: Nodeprep for the localpart,
 * Nameprep for the domainpart, Resourceprep for the resourcepart. */
#include <stddef.h>

#define JID_PART_MAX 1023	/* bytes per part after preparation, RFC 7622 section 3 */
#define JID_MAX (3 * JID_PART_MAX + 2)

struct jid {
	char local[JID_PART_MAX + 1];		/* "" when absent */
	char domain[JID_PART_MAX + 1];
	char resource[JID_PART_MAX + 1];	/* "" when absent */
};

/* Parses and prepares s[0..n) (need not be NUL-terminated). NT_OK; NT_EINVAL for a
 * malformed JID or one a profile rejects; NT_ELIMIT when a part is too long. */
int jid_parse(struct jid *out, const char *s, size_t n);
/* Prepares one part on its own into out (cap bytes). Same errors as jid_parse. */
int jid_prep_local(char *out, size_t cap, const char *s, size_t n);
int jid_prep_resource(char *out, size_t cap, const char *s, size_t n);
/* Writes "local@domain" (or "domain") into out. NT_ELIMIT when cap is too small. */
int jid_bare(const struct jid *j, char *out, size_t cap);
/* Writes "local@domain/resource" (parts left out when empty). NT_ELIMIT as above. */
int jid_full(const struct jid *j, char *out, size_t cap);
#endif
