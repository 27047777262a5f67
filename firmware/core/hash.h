#ifndef NATTER_CORE_HASH_H
#define NATTER_CORE_HASH_H
/* FNV-1a over a NUL-terminated string: the hash of the in-memory tables (keycount, users).
 * Not for anything an attacker's choice of keys could hurt beyond a longer chain walk. */
static inline unsigned hash_str(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}
#endif
