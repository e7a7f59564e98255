/* buf_i.h: pk_buf, the bounded text buffer every rendering writes to (buf.c), and the text
 * of numbers (number.c) and of str and bytes reprs (text.c). Base layer: needs no document. */
#ifndef BUF_I_H
#define BUF_I_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pk_buf {
    char *data;
    size_t len, cap;
    size_t max; /* past this many bytes (0: no limit), appends are dropped, truncated set */
    bool truncated;
    bool failed; /* out of memory, or unreadable */
    bool unreadable; /* a str or bytes could not be read from FILE (it changed): EIO */
} pk_buf;
void pk_buf_put(pk_buf *b, const void *data, size_t len);
/* The -errno of a failed rendering. */
static inline int pk_buf_error(const pk_buf *b)
{
    return b->unreadable ? -EIO : -ENOMEM;
}
/* Bytes that may still be added; a max of 0 means no limit. */
static inline size_t pk_buf_room(const pk_buf *b)
{
    return (b->max ? b->max : SIZE_MAX) - b->len;
}
/* Has an append been dropped (truncated), or has the buffer failed? Then stop writing. */
static inline bool pk_buf_full(const pk_buf *b)
{
    return b->failed || b->truncated;
}
void pk_buf_puts(pk_buf *b, const char *s);
/* Code point cp (at most U+10FFFF) as UTF-8, surrogates as 'surrogatepass' writes them. */
void pk_buf_put_utf8(pk_buf *b, uint32_t cp);
void pk_buf_free(pk_buf *b);
/* Python's repr() of str (is_bytes false, UTF-8 in) or bytes. */
void pk_repr_text(pk_buf *b, const uint8_t *s, uint64_t len, bool is_bytes);
/* Python's repr(float) */
int pk_float_repr(double f, char out[32]);
/* Append the little-endian two's complement integer as decimal text. */
bool pk_long_to_decimal(const uint8_t *le, uint64_t n, pk_buf *b, uint64_t max_digits);

#endif
