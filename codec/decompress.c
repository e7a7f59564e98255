/* decompress.c: gzip, zlib, bz2, xz, lzma-alone, lz4 and zstd pickles, inflated into memory.
 *
 * Recognised by magic bytes, as a guess that format.c falls back from: a zlib header is only
 * two bytes, and pickles of protocols 0 and 1 can begin with two that form one ("(S'..." is a
 * MARK then a STRING; 'X' is a BINUNICODE). The other magics are no start of a pickle. joblib
 * writes its compressed dumps with the same formats, and its files from before 0.9.3 as "ZF", a
 * hex length padded to 19 characters, an optional space, then zlib.
 *
 * The output grows by doubling and is bounded by doc->lim.max_decompressed: a bomb stops at
 * the limit with PK_E_DECOMPRESS_LIMIT, never exhausting memory. Concatenated gzip members
 * are inflated one after the other, zero padding between them skipped, as Python's gzip does;
 * concatenated bzip2 and xz streams likewise.
 */
#include "ckpt_i.h"
#include "zout_i.h"

#include <bzlib.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* joblib's old zlib files: "ZF" + '{:#x}'.format(len).ljust(19) */
#define ZF_HEADER (2 + 19)

pk_zfmt pk_zfmt_of(const uint8_t *p, uint64_t len, uint64_t *skip)
{
    static const uint8_t xz[] = {0xfd, '7', 'z', 'X', 'Z', 0};
    static const uint8_t bzblock[] = {0x31, 0x41, 0x59, 0x26, 0x53, 0x59};
    static const uint8_t bzend[] = {0x17, 0x72, 0x45, 0x38, 0x50, 0x90};
    static const uint8_t lz4[] = {0x04, 0x22, 0x4d, 0x18}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd};
    *skip = 0;
    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return PK_Z_GZIP;
    if (len >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && (p[0] * 256u + p[1]) % 31 == 0)
        return PK_Z_ZLIB;
    if (len >= 10 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9' &&
        (memcmp(p + 4, bzblock, 6) == 0 || memcmp(p + 4, bzend, 6) == 0))
        return PK_Z_BZ2;
    if (len >= sizeof xz && memcmp(p, xz, sizeof xz) == 0)
        return PK_Z_XZ;
    if (len >= 13 && p[0] == 0x5d && p[1] == 0) /* lzma-alone: props 0x5d, dict size LE */
        return PK_Z_LZMA;
    if (len >= 4 && memcmp(p, lz4, 4) == 0)
        return PK_Z_LZ4;
    if (len >= 4 && memcmp(p, zstd, 4) == 0)
        return PK_Z_ZSTD;
    if (len > ZF_HEADER && p[0] == 'Z' && p[1] == 'F' && p[2] == '0' && p[3] == 'x') {
        uint64_t k = ZF_HEADER;
        if (p[k] == ' ')
            k++;
        uint64_t inner;
        if (pk_zfmt_of(p + k, len - k, &inner) == PK_Z_ZLIB) {
            *skip = k;
            return PK_Z_ZLIB;
        }
    }
    return PK_Z_NONE;
}

/* wbits: MAX_WBITS for zlib, 16 + MAX_WBITS for gzip, -MAX_WBITS for raw deflate */
static int inflate_zlib(const uint8_t *in, uint64_t len, int wbits, pk_zout *o, pk_error *err)
{
    bool gzip = wbits > MAX_WBITS;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, wbits) != Z_OK)
        return pk_zfail(err, PK_E_NOMEM, 0, "%s", pk_code_text(PK_E_NOMEM));
    uint64_t pos = 0; /* input consumed before z.next_in */
    int rc = -1;
    for (;;) {
        if (!pk_zout_room(o)) {
            pk_zfail(err, PK_E_NOMEM, pos, "%s", pk_code_text(PK_E_NOMEM));
            break;
        }
        z.next_in = (Bytef *)(uintptr_t)(in + pos);
        z.avail_in = pk_zchunk(len - pos);
        z.next_out = o->data + o->len;
        z.avail_out = pk_zchunk(o->cap - o->len);
        unsigned in0 = z.avail_in, out0 = z.avail_out;
        int r = inflate(&z, Z_NO_FLUSH);
        pos += in0 - z.avail_in;
        o->len += out0 - z.avail_out;
        if (o->len > o->limit) {
            pk_ztoo_big(err, pos, o->limit);
            break;
        }
        if (r == Z_STREAM_END) {
            if (!gzip) {
                rc = 0; /* like zlib.decompress, what follows the stream is ignored */
                break;
            }
            while (pos < len && in[pos] == 0) /* Python's gzip skips zero padding */
                pos++;
            if (pos == len) {
                rc = 0;
                break;
            }
            if (len - pos < 2 || in[pos] != 0x1f || in[pos + 1] != 0x8b) {
                pk_zfail(err, PK_E_DECOMPRESS, pos, "%s", "corrupt compressed data: not a gzip "
                      "member after the previous one");
                break;
            }
            inflateReset(&z); /* the next member */
            continue;
        }
        if (r == Z_BUF_ERROR && pos == len) {
            pk_zfail(err, PK_E_DECOMPRESS, pos, "%s", "truncated compressed data");
            break;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            pk_zfail(err, r == Z_MEM_ERROR ? PK_E_NOMEM : PK_E_DECOMPRESS, pos,
                  "corrupt compressed data (%s)", z.msg ? z.msg : "zlib error");
            break;
        }
    }
    inflateEnd(&z);
    return rc;
}

static int inflate_bz2(const uint8_t *in, uint64_t len, pk_zout *o, pk_error *err)
{
    bz_stream z;
    uint64_t pos = 0;
    int rc = -1;
    bool open = false;
    for (;;) {
        if (!open) {
            memset(&z, 0, sizeof z);
            if (BZ2_bzDecompressInit(&z, 0, 0) != BZ_OK)
                return pk_zfail(err, PK_E_NOMEM, pos, "%s", pk_code_text(PK_E_NOMEM));
            open = true;
        }
        if (!pk_zout_room(o)) {
            pk_zfail(err, PK_E_NOMEM, pos, "%s", pk_code_text(PK_E_NOMEM));
            break;
        }
        z.next_in = (char *)(uintptr_t)(in + pos);
        z.avail_in = pk_zchunk(len - pos);
        z.next_out = (char *)(o->data + o->len);
        z.avail_out = pk_zchunk(o->cap - o->len);
        unsigned in0 = z.avail_in, out0 = z.avail_out;
        int r = BZ2_bzDecompress(&z);
        pos += in0 - z.avail_in;
        o->len += out0 - z.avail_out;
        if (o->len > o->limit) {
            pk_ztoo_big(err, pos, o->limit);
            break;
        }
        if (r == BZ_STREAM_END) {
            BZ2_bzDecompressEnd(&z);
            open = false;
            /* another stream follows (Python's bz2 reads them all), or the end */
            if (pos == len) {
                rc = 0;
                break;
            }
            if (len - pos < 3 || memcmp(in + pos, "BZh", 3) != 0) {
                pk_zfail(err, PK_E_DECOMPRESS, pos, "%s", "corrupt compressed data: trailing "
                      "data after the bzip2 stream");
                break;
            }
            continue;
        }
        if (r != BZ_OK) {
            pk_zfail(err, r == BZ_MEM_ERROR ? PK_E_NOMEM : PK_E_DECOMPRESS, pos, "%s",
                  "corrupt compressed data (bzip2)");
            break;
        }
        if (pos == len && z.avail_out != 0) {
            pk_zfail(err, PK_E_DECOMPRESS, pos, "%s", "truncated compressed data");
            break;
        }
    }
    if (open)
        BZ2_bzDecompressEnd(&z);
    return rc;
}

/* The memory liblzma may take for its dictionary: the header of an xz or lzma file names the
 * size, up to 4 GiB, and a 13-byte file could otherwise make us allocate that much. xz -9
 * needs 65 MiB to decompress. */
#define XZ_MEMLIMIT ((uint64_t)256 << 20)

static int inflate_xz(const uint8_t *in, uint64_t len, bool alone, pk_zout *o, pk_error *err)
{
    lzma_stream z = LZMA_STREAM_INIT;
    lzma_ret r = alone ? lzma_alone_decoder(&z, XZ_MEMLIMIT)
                       : lzma_stream_decoder(&z, XZ_MEMLIMIT, LZMA_CONCATENATED);
    if (r != LZMA_OK)
        return pk_zfail(err, PK_E_NOMEM, 0, "%s", pk_code_text(PK_E_NOMEM));
    int rc = -1;
    z.next_in = in;
    z.avail_in = (size_t)len;
    for (;;) {
        if (!pk_zout_room(o)) {
            pk_zfail(err, PK_E_NOMEM, z.total_in, "%s", pk_code_text(PK_E_NOMEM));
            break;
        }
        z.next_out = o->data + o->len;
        z.avail_out = (size_t)(o->cap - o->len);
        size_t out0 = z.avail_out;
        r = lzma_code(&z, z.avail_in ? LZMA_RUN : LZMA_FINISH);
        o->len += out0 - z.avail_out;
        if (o->len > o->limit) {
            pk_ztoo_big(err, z.total_in, o->limit);
            break;
        }
        if (r == LZMA_STREAM_END) {
            rc = 0;
            break;
        }
        if (r == LZMA_BUF_ERROR || (r == LZMA_OK && z.avail_in == 0 && z.avail_out != 0 &&
                                    alone)) {
            pk_zfail(err, PK_E_DECOMPRESS, z.total_in, "%s", "truncated compressed data");
            break;
        }
        if (r == LZMA_MEMLIMIT_ERROR) {
            pk_zfail(err, PK_E_DECOMPRESS_LIMIT, z.total_in, "%s", "compressed data needs more "
                  "than 256 MiB of memory to inflate (its dictionary size)");
            break;
        }
        if (r != LZMA_OK) {
            pk_zfail(err, r == LZMA_MEM_ERROR ? PK_E_NOMEM : PK_E_DECOMPRESS, z.total_in,
                  "corrupt compressed data (%s)", alone ? "lzma" : "xz");
            break;
        }
    }
    lzma_end(&z);
    return rc;
}

int pk_inflate(pk_zfmt fmt, const uint8_t *buf, uint64_t len, uint64_t limit, uint8_t **out,
               uint64_t *outlen, pk_error *err)
{
    pk_zout o = {.limit = limit};
    int rc;
    switch (fmt) {
    case PK_Z_GZIP: rc = inflate_zlib(buf, len, 16 + MAX_WBITS, &o, err); break;
    case PK_Z_ZLIB: rc = inflate_zlib(buf, len, MAX_WBITS, &o, err); break;
    case PK_Z_RAW_DEFLATE: rc = inflate_zlib(buf, len, -MAX_WBITS, &o, err); break;
    case PK_Z_BZ2: rc = inflate_bz2(buf, len, &o, err); break;
    case PK_Z_XZ: rc = inflate_xz(buf, len, false, &o, err); break;
    case PK_Z_LZMA: rc = inflate_xz(buf, len, true, &o, err); break;
    case PK_Z_LZ4: rc = pk_unlz4(buf, len, &o, err); break;
    case PK_Z_ZSTD: rc = pk_unzstd(buf, len, &o, err); break;
    default: rc = pk_zfail(err, PK_E_DECOMPRESS, 0, "%s", "unknown compression");
    }
    if (rc < 0) {
        free(o.data);
        return -1;
    }
    *out = o.data;
    *outlen = o.len;
    return 0;
}
