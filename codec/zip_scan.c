/* zip_scan.c: the members of a zip archive whose central directory is missing, found from its
 * local headers, for -o partial only (format.c): a checkpoint from a run that crashed while
 * torch.save wrote it has its members but not the directory that comes last.
 *
 * torch writes its members in order (data.pkl first, then data/0, data/1, ..., version), each
 * a local header, its bytes, and, since it streams them, a data descriptor ("PK\7\10", the
 * CRC, the compressed and uncompressed sizes, 4 bytes each or 8 in zip64) in place of the sizes
 * in the header (flag bit 3). So a member's end is the first descriptor after its bytes whose
 * compressed size is the distance back to them. Every length is checked against the bytes
 * left; the walk stops at the first header that is no member or is cut short. Nothing here is
 * trusted more than the central directory would be: what it finds is decoded as any archive.
 */
#define _GNU_SOURCE /* memmem */
#include "ckpt_i.h"

#include <string.h>

#define LOCAL_LEN 30
#define DESC_FLAG 8 /* general purpose bit 3: sizes in a data descriptor after the bytes */

/* The sizes of the member whose bytes start at data, from the first data descriptor whose
 * compressed size is its distance back to data; *next is where the next header is. false when
 * there is none (the member is cut short). */
static bool find_descriptor(const uint8_t *p, uint64_t len, uint64_t data, pk_zent *z,
                            uint64_t *next)
{
    for (uint64_t at = data; at < len;) {
        const uint8_t *q = memmem(p + at, len - at, "PK\7\10", 4);
        if (!q)
            return false;
        uint64_t pos = (uint64_t)(q - p), dist = pos - data;
        if (len - pos >= 16 && pk_le(q + 8, 4) == dist) {
            z->csize = dist;
            z->usize = pk_le(q + 12, 4);
            *next = pos + 16;
            return true;
        }
        if (len - pos >= 24 && pk_le(q + 8, 8) == dist) { /* zip64: 8-byte sizes */
            z->csize = dist;
            z->usize = pk_le(q + 16, 8);
            *next = pos + 24;
            return true;
        }
        at = pos + 1;
    }
    return false;
}

/* The zip64 sizes of a local header's extra field 1, for those that read 0xffffffff. */
static void local_zip64(const uint8_t *x, uint64_t xlen, pk_zent *z)
{
    const uint8_t *xend = x + xlen;
    while (xend - x >= 4) {
        uint64_t id = pk_le(x, 2), sz = pk_le(x + 2, 2);
        if ((uint64_t)(xend - x - 4) < sz)
            return;
        if (id == 1) {
            const uint8_t *f = x + 4, *fend = f + sz;
            if (z->usize == 0xffffffff && fend - f >= 8)
                z->usize = pk_le(f, 8), f += 8;
            if (z->csize == 0xffffffff && fend - f >= 8)
                z->csize = pk_le(f, 8);
        }
        x += 4 + sz;
    }
}

/* The member whose local header is at `at`: 1 with *next the next header's offset, 0 with the
 * member kept cut short (the first, stored, its bytes running to the end), -1 when it is no
 * member or is cut short otherwise: the walk ends. */
static int scan_one(pk_ckpt *k, const uint8_t *p, uint64_t len, uint64_t at, uint64_t *next)
{
    if (len - at < LOCAL_LEN || memcmp(p + at, "PK\3\4", 4) != 0)
        return -1;
    const uint8_t *h = p + at;
    pk_zent z = {.flags = (uint16_t)pk_le(h + 6, 2), .method = (uint16_t)pk_le(h + 8, 2)};
    z.csize = pk_le(h + 18, 4);
    z.usize = pk_le(h + 22, 4);
    uint64_t nlen = pk_le(h + 26, 2), xlen = pk_le(h + 28, 2);
    if (len - at - LOCAL_LEN < nlen + xlen || (z.method != 0 && z.method != 8))
        return -1;
    local_zip64(h + LOCAL_LEN + nlen, xlen, &z);
    z.data = at + LOCAL_LEN + nlen + xlen;
    bool whole;
    if (z.flags & DESC_FLAG) {
        whole = find_descriptor(p, len, z.data, &z, next);
    } else {
        whole = z.csize <= len - z.data;
        *next = z.data + z.csize;
    }
    if (!whole) { /* cut short: only torch's data.pkl is kept so, for what it holds */
        if (k->nents != 0 || z.method != 0)
            return -1;
        z.csize = z.usize = len - z.data;
    }
    if (z.method == 0 && z.usize != z.csize)
        return -1;
    if (pk_zip_add_member(k, h + LOCAL_LEN, nlen, &z) < 0)
        return -1;
    return whole ? 1 : 0;
}

int pk_zip_scan(pk_doc *doc, const uint8_t *map, uint64_t len)
{
    pk_ckpt *k = pk_ckpt_get(doc);
    if (!k)
        return -1;
    k->nents = k->names_len = 0; /* what a broken central directory listed goes */
    uint64_t at = 0, next = 0;
    while (at < len && scan_one(k, map, len, at, &next) > 0 && next > at)
        at = next;
    if (k->nents == 0)
        return -1;
    pk_zip_members_found(k);
    return 0;
}
