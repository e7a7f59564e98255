/* fuzz_decompress.c: the compressed-stream readers (decompress.c).
 *
 * The first byte picks the reader, the rest is its input: 0 gzip, 1 zlib, 2 bz2, 3 xz,
 * 4 lzma-alone, 5 lz4, 6 zstd, each through pk_inflate() with a small output limit; 7 joblib's
 * zlib side files (.npy.z) through pk_zfile_inflate(); 8 and up give the rest to
 * pk_open_memory(), which recognises the format by its magic bytes (joblib's "ZF" header
 * included) and decodes what it inflates. */
#include <stdlib.h>
#include <string.h>

#include "ckpt_i.h"
#include "fuzz_i.h"

#define LIMIT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const pk_zfmt fmts[] = {PK_Z_GZIP, PK_Z_ZLIB, PK_Z_BZ2, PK_Z_XZ,
                                   PK_Z_LZMA, PK_Z_LZ4,  PK_Z_ZSTD};
    if (size < 1)
        return 0;
    unsigned pick = data[0];
    data++;
    size--;
    if (pick < sizeof fmts / sizeof fmts[0]) {
        uint8_t *out = NULL;
        uint64_t outlen = 0;
        pk_error err;
        memset(&err, 0, sizeof err);
        if (pk_inflate(fmts[pick], data, size, LIMIT, &out, &outlen, &err) == 0) {
            FUZZ_CHECK(outlen <= LIMIT);
            FUZZ_CHECK(err.code == PK_E_OK);
            if (outlen) { /* all of it readable: ASan checks */
                FUZZ_CHECK(out != NULL);
                volatile uint8_t last = out[outlen - 1];
                (void)last;
            }
            free(out);
        } else {
            FUZZ_CHECK(err.code == PK_E_DECOMPRESS || err.code == PK_E_DECOMPRESS_LIMIT ||
                       err.code == PK_E_NOMEM);
        }
        uint64_t skip;
        FUZZ_CHECK(pk_zfmt_of(data, size, &skip) == PK_Z_NONE || skip <= size);
        return 0;
    }
    if (pick == 7) {
        uint8_t *out = NULL;
        uint64_t outlen = 0;
        pk_error err;
        memset(&err, 0, sizeof err);
        if (pk_zfile_inflate(data, size, LIMIT, &out, &outlen, &err) == 0) {
            FUZZ_CHECK(outlen <= LIMIT && err.code == PK_E_OK);
            if (outlen) {
                volatile uint8_t last = out[outlen - 1];
                (void)last;
            }
            free(out);
        } else {
            FUZZ_CHECK(out == NULL && err.offset <= size &&
                       (err.code == PK_E_CONTAINER || err.code == PK_E_DECOMPRESS ||
                        err.code == PK_E_DECOMPRESS_LIMIT || err.code == PK_E_NOMEM));
        }
        return 0;
    }
    pk_limits lim;
    pk_doc *doc = NULL;
    pk_error err;
    fuzz_limits(&lim);
    lim.max_decompressed = LIMIT;
    if (pk_open_memory(data, size, &lim, &doc, &err) == 0)
        pk_close(doc);
    else
        FUZZ_CHECK(err.code != PK_E_OK);
    return 0;
}
