/* unlz4.c: lz4 frames (the frame format of the lz4 tool and of python-lz4's lz4.frame, which
 * joblib writes), one after another, through liblz4's frame decoder. A frame's blocks are at
 * most 4 MiB, so the decoder's own memory is bounded; the output is bounded by the limit. */
#include "zout_i.h"

#include <lz4frame.h>

int pk_unlz4(const uint8_t *in, uint64_t len, pk_zout *o, pk_error *err)
{
    LZ4F_dctx *z;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&z, LZ4F_VERSION)))
        return pk_zfail(err, PK_E_NOMEM, 0, "%s", pk_code_text(PK_E_NOMEM));
    uint64_t pos = 0;
    int rc = -1;
    for (;;) {
        if (!pk_zout_room(o)) {
            pk_zfail(err, PK_E_NOMEM, pos, "%s", pk_code_text(PK_E_NOMEM));
            break;
        }
        size_t out = (size_t)(o->cap - o->len), used = (size_t)(len - pos);
        size_t hint = LZ4F_decompress(z, o->data + o->len, &out, in + pos, &used, NULL);
        pos += used;
        o->len += out;
        if (o->len > o->limit) {
            pk_ztoo_big(err, pos, o->limit);
            break;
        }
        if (LZ4F_isError(hint)) {
            pk_zfail(err, PK_E_DECOMPRESS, pos, "corrupt compressed data (lz4: %s)",
                     LZ4F_getErrorName(hint));
            break;
        }
        if (hint == 0 && pos == len) { /* the last frame ended with the input */
            rc = 0;
            break;
        }
        if (out == 0 && (pos == len || used == 0)) { /* wants input there is not */
            pk_zfail(err, PK_E_DECOMPRESS, pos, "%s", "truncated compressed data");
            break;
        }
    }
    LZ4F_freeDecompressionContext(z);
    return rc;
}
