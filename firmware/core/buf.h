#ifndef NATTER_CORE_BUF_H
#define NATTER_CORE_BUF_H
#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer with a hard maximum. Data lives in p[off .. off+len). */
struct buf {
	uint8_t *p;
	size_t off, len, cap, max;
};

/* An empty buffer that will never hold more than max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Appends n bytes. NT_ELIMIT past max, NT_ENOMEM; b is unchanged on error. */
int  buf_append(struct buf *b, const void *p, size_t n);
/* Drops n bytes from the front (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Frees the storage when empty, so idle connections hold no buffer memory. */
void buf_shrink(struct buf *b);
/* Releases the storage; b is left empty and reusable. NULL-safe. */
void buf_free(struct buf *b);

static inline const uint8_t *buf_data(const struct buf *b) { return b->p + b->off; }
#endif
