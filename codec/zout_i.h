/* zout_i.h: the output and errors every decompressor shares (zout.c). */
#ifndef ZOUT_I_H
#define ZOUT_I_H

#include "pk_i.h"

/* The growing output, bounded by the limit. */
typedef struct pk_zout {
    uint8_t *data;
    uint64_t len, cap, limit;
} pk_zout;

/* Room for more output: at least one more byte, at most one past the limit. False when out of
 * memory. */
bool pk_zout_room(pk_zout *o);
/* Set err to code at compressed offset off, its text fmt with detail in it: -1. */
int pk_zfail(pk_error *err, pk_code code, uint64_t off, const char *fmt, const char *detail);
/* The output went past limit: -1 with err set. */
int pk_ztoo_big(pk_error *err, uint64_t off, uint64_t limit);
/* zlib and bzip2 take unsigned int counts: n, at most 2^30. */
#define PK_ZCHUNK_MAX ((uint64_t)1 << 30)
unsigned pk_zchunk(uint64_t n);

/* lz4 frames (unlz4.c) and zstd frames (unzstd.c), one after another, into o: 0, or -1 with err
 * set at the compressed offset. */
int pk_unlz4(const uint8_t *in, uint64_t len, pk_zout *o, pk_error *err);
int pk_unzstd(const uint8_t *in, uint64_t len, pk_zout *o, pk_error *err);

#endif
