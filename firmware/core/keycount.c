#include <stdlib.h>
#include <string.h>
#include "core/hash.h"
#include "core/keycount.h"

struct kc_entry {
	struct kc_entry *next;
	long count;
	uint64_t touched_ms;
	char key[];
};

struct keycount {
	struct kc_entry **bucket;
	unsigned nbuckets, n, max_keys;
	uint64_t window_ms;
	long keep;			/* entries counting this much are not evicted; 0: none */
};

struct keycount *keycount_new(unsigned max_keys, uint64_t window_ms)
{
	struct keycount *kc = calloc(1, sizeof(*kc));

	if (kc == NULL)
		return NULL;
	kc->nbuckets = 256;
	while (kc->nbuckets < max_keys / 2 && kc->nbuckets < 65536)
		kc->nbuckets *= 2;
	kc->bucket = calloc(kc->nbuckets, sizeof(*kc->bucket));
	if (kc->bucket == NULL) {
		free(kc);
		return NULL;
	}
	kc->max_keys = max_keys;
	kc->window_ms = window_ms;
	return kc;
}

void keycount_free(struct keycount *kc)
{
	if (kc == NULL)
		return;
	for (unsigned i = 0; i < kc->nbuckets; i++) {
		struct kc_entry *e = kc->bucket[i], *nx;

		for (; e != NULL; e = nx) {
			nx = e->next;
			free(e);
		}
	}
	free(kc->bucket);
	free(kc);
}

static int kc_expired(const struct keycount *kc, const struct kc_entry *e, uint64_t now_ms)
{
	return kc->window_ms != 0 && now_ms - e->touched_ms > kc->window_ms;
}

static struct kc_entry **kc_find(struct keycount *kc, const char *key)
{
	struct kc_entry **pp = &kc->bucket[hash_str(key) & (kc->nbuckets - 1)];

	while (*pp != NULL && strcmp((*pp)->key, key) != 0)
		pp = &(*pp)->next;
	return pp;
}

static void kc_unlink(struct keycount *kc, struct kc_entry **pp)
{
	struct kc_entry *e = *pp;

	*pp = e->next;
	free(e);
	kc->n--;
}

static int kc_evictable(const struct keycount *kc, const struct kc_entry *e, uint64_t now_ms)
{
	return kc->keep == 0 || e->count < kc->keep || kc_expired(kc, e, now_ms);
}

/* Drops the least recently touched entry that may go; O(n), only when the table is full.
 * 0 when every entry is kept. */
static int kc_evict(struct keycount *kc, uint64_t now_ms)
{
	struct kc_entry **oldest = NULL;

	for (unsigned i = 0; i < kc->nbuckets; i++)
		for (struct kc_entry **pp = &kc->bucket[i]; *pp != NULL; pp = &(*pp)->next)
			if (kc_evictable(kc, *pp, now_ms) &&
			    (oldest == NULL || (*pp)->touched_ms < (*oldest)->touched_ms))
				oldest = pp;
	if (oldest == NULL)
		return 0;
	kc_unlink(kc, oldest);
	return 1;
}

void keycount_keep(struct keycount *kc, long count)
{
	kc->keep = count;
}

long keycount_add(struct keycount *kc, const char *key, long delta, uint64_t now_ms)
{
	struct kc_entry **pp = kc_find(kc, key), *e = *pp;
	size_t len;

	if (e != NULL && kc_expired(kc, e, now_ms))
		e->count = 0;
	if (e == NULL) {
		if (delta <= 0)
			return 0;
		if (kc->n >= kc->max_keys) {
			if (!kc_evict(kc, now_ms))
				return delta;	/* all kept: the new key goes uncounted */
			pp = kc_find(kc, key);
		}
		len = strlen(key);
		if ((e = malloc(sizeof(*e) + len + 1)) == NULL)
			return delta;		/* cannot count: behave as if counted once */
		memcpy(e->key, key, len + 1);
		e->count = 0;
		e->next = NULL;
		*pp = e;
		kc->n++;
	}
	e->count += delta;
	e->touched_ms = now_ms;
	if (e->count <= 0) {
		kc_unlink(kc, pp);
		return 0;
	}
	return e->count;
}

/* Where key's live entry hangs, or NULL when it has none (an expired one goes now). */
static struct kc_entry **kc_live(struct keycount *kc, const char *key, uint64_t now_ms)
{
	struct kc_entry **pp = kc_find(kc, key);

	if (*pp == NULL)
		return NULL;
	if (kc_expired(kc, *pp, now_ms)) {
		kc_unlink(kc, pp);
		return NULL;
	}
	return pp;
}

long keycount_get(struct keycount *kc, const char *key, uint64_t now_ms)
{
	struct kc_entry **pp = kc_live(kc, key, now_ms);

	return pp != NULL ? (*pp)->count : 0;
}

long keycount_add_untouched(struct keycount *kc, const char *key, long delta, uint64_t now_ms)
{
	struct kc_entry **pp = kc_live(kc, key, now_ms);

	if (pp == NULL)
		return 0;
	(*pp)->count += delta;
	if ((*pp)->count <= 0) {
		kc_unlink(kc, pp);
		return 0;
	}
	return (*pp)->count;
}

void keycount_del(struct keycount *kc, const char *key)
{
	struct kc_entry **pp = kc_find(kc, key);

	if (*pp != NULL)
		kc_unlink(kc, pp);
}
