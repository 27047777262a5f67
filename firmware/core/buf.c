#include <stdlib.h>
#include <string.h>
#include "core/buf.h"
#include "core/err.h"

#define BUF_MIN_CAP 256

void buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->max - b->len)
		return NT_ELIMIT;
	if (b->off + b->len + n > b->cap) {
		if (b->off > 0) {	/* slide the data down before growing */
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
			uint8_t *np;

			while (cap < b->len + n)
				cap *= 2;
			if (cap > b->max)
				cap = b->max;
			if ((np = realloc(b->p, cap)) == NULL)
				return NT_ENOMEM;
			b->p = np;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, p, n);
	b->len += n;
	return NT_OK;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = 0;
		b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

void buf_shrink(struct buf *b)
{
	if (b->len == 0 && b->p != NULL) {
		free(b->p);
		b->p = NULL;
		b->off = 0;
		b->cap = 0;
	}
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}
