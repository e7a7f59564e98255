/* zout.c: what every decompressor shares: the output buffer, grown by doubling and bounded by
 * max_decompressed (one byte past it, so that a stream producing more is seen to), and its
 * error lines. */
#include "zout_i.h"

#include <stdio.h>
#include <stdlib.h>

/* Room for more output: at least one more byte, at most one past the limit (so that a stream
 * producing more than the limit is seen to). Returns false when out of memory. */
bool pk_zout_room(pk_zout *o)
{
    if (o->len < o->cap)
        return true;
    uint64_t ncap = o->cap ? o->cap * 2 : 1 << 16;
    if (ncap > o->limit + 1 || ncap < o->cap)
        ncap = o->limit + 1;
    if (ncap <= o->cap || ncap > SIZE_MAX)
        return false;
    uint8_t *p = realloc(o->data, (size_t)ncap);
    if (!p)
        return false;
    o->data = p;
    o->cap = ncap;
    return true;
}

int pk_zfail(pk_error *err, pk_code code, uint64_t off, const char *fmt, const char *detail)
{
    char what[sizeof err->what];
    snprintf(what, sizeof what, fmt, detail);
    pk_set_error(err, code, off, -1, what);
    return -1;
}

int pk_ztoo_big(pk_error *err, uint64_t off, uint64_t limit)
{
    char what[sizeof err->what];
    snprintf(what, sizeof what, "decompressed size past the limit of %llu bytes",
             (unsigned long long)limit);
    pk_set_error(err, PK_E_DECOMPRESS_LIMIT, off, -1, what);
    return -1;
}

unsigned pk_zchunk(uint64_t n)
{
    return (unsigned)(n < PK_ZCHUNK_MAX ? n : PK_ZCHUNK_MAX);
}
