/* unzstd.c: zstd frames, one after another (skippable frames skipped), through libzstd's
 * streaming decoder. A frame names the window it needs; past ZSTD_WINDOW_LOG_MAX that is
 * refused, so a small file cannot make the decoder allocate gigabytes. The output is bounded
 * by the limit. */
#include "zout_i.h"

#include <zstd.h>
#include <zstd_errors.h>

/* 2^27 bytes (128 MiB) of window: what zstd -19 --long uses; the default levels use 8 MiB. */
#define ZSTD_WINDOW_LOG_MAX 27

static int zstd_error(pk_error *err, uint64_t pos, size_t r)
{
    if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
        return pk_zfail(err, PK_E_DECOMPRESS_LIMIT, pos, "%s", "compressed data needs more "
                        "than 128 MiB of memory to inflate (its window size)");
    if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
        return pk_zfail(err, PK_E_NOMEM, pos, "%s", pk_code_text(PK_E_NOMEM));
    return pk_zfail(err, PK_E_DECOMPRESS, pos, "corrupt compressed data (zstd: %s)",
                    ZSTD_getErrorName(r));
}

int pk_unzstd(const uint8_t *in, uint64_t len, pk_zout *o, pk_error *err)
{
    ZSTD_DCtx *z = ZSTD_createDCtx();
    if (!z || ZSTD_isError(ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
        ZSTD_freeDCtx(z);
        return pk_zfail(err, PK_E_NOMEM, 0, "%s", pk_code_text(PK_E_NOMEM));
    }
    ZSTD_inBuffer src = {in, (size_t)len, 0};
    int rc = -1;
    for (;;) {
        if (!pk_zout_room(o)) {
            pk_zfail(err, PK_E_NOMEM, src.pos, "%s", pk_code_text(PK_E_NOMEM));
            break;
        }
        ZSTD_outBuffer dst = {o->data + o->len, (size_t)(o->cap - o->len), 0};
        size_t r = ZSTD_decompressStream(z, &dst, &src);
        o->len += dst.pos;
        if (o->len > o->limit) {
            pk_ztoo_big(err, src.pos, o->limit);
            break;
        }
        if (ZSTD_isError(r)) {
            zstd_error(err, src.pos, r);
            break;
        }
        if (r == 0 && src.pos == src.size) { /* the last frame ended with the input */
            rc = 0;
            break;
        }
        if (dst.pos == 0 && src.pos == src.size) { /* a frame wants more input */
            pk_zfail(err, PK_E_DECOMPRESS, src.pos, "%s", "truncated compressed data");
            break;
        }
    }
    ZSTD_freeDCtx(z);
    return rc;
}
