/* buf.c: pk_buf, the bounded text buffer every rendering writes to: a huge or cyclic value costs
 * at most buf->max bytes. */
#include "buf_i.h"

#include <stdlib.h>
#include <string.h>

void pk_buf_put(pk_buf *b, const void *data, size_t len)
{
    if (b->failed || b->truncated)
        return;
    if (len > pk_buf_room(b)) {
        len = pk_buf_room(b);
        b->truncated = true;
    }
    if (len == 0)
        return;
    if (b->len + len > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < b->len + len)
            ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
        char *p = realloc(b->data, ncap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void pk_buf_puts(pk_buf *b, const char *s)
{
    pk_buf_put(b, s, strlen(s));
}

void pk_buf_free(pk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Code point cp as UTF-8 (surrogates too, as 'surrogatepass' writes them). */
void pk_buf_put_utf8(pk_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    pk_buf_put(b, u, n);
}

