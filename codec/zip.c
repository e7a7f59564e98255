/* zip.c: the members of a zip archive (a torch.save checkpoint, a .npz), read from its
 * central directory.
 *
 * torch.save (since 1.6) writes a zip: <top>/data.pkl (the pickle), <top>/byteorder ("little" or
 * "big", since 1.10), <top>/data/<key> (one member per storage, raw elements, stored and aligned
 * to 64 bytes), <top>/version. <top> is whatever folder the first member is in ("archive" by
 * default, the file's stem for some versions), so it is taken from there.
 *
 * Only the central directory is trusted for the list of members; each member's data starts
 * after its local header, whose name and extra lengths may differ from the central ones. Like
 * torch's reader we ignore flag bits and CRCs. Zip64 (end of central directory record and
 * locator, extra field 0x0001) is understood. Every offset and length is checked against the
 * bytes of the file before it is used.
 */
#include "ckpt_i.h"

#include <stdlib.h>
#include <string.h>

static int bad(pk_error *err, uint64_t off, const char *what)
{
    char msg[sizeof err->what];
    snprintf(msg, sizeof msg, "malformed zip archive: %s", what);
    pk_set_error(err, PK_E_CONTAINER, off, -1, msg);
    return -1;
}

#define EOCD_LEN 22
#define EOCD64_LOC_LEN 20
#define EOCD64_LEN 56
#define CDIR_LEN 46
#define LOCAL_LEN 30

/* Find the end of central directory record: the last "PK\5\6" whose comment ends the file. */
static int find_eocd(const uint8_t *p, uint64_t len, uint64_t *at)
{
    if (len < EOCD_LEN)
        return -1;
    uint64_t lo = len - EOCD_LEN > 0xffff ? len - EOCD_LEN - 0xffff : 0;
    for (uint64_t i = len - EOCD_LEN + 1; i-- > lo;) {
        if (memcmp(p + i, "PK\5\6", 4) == 0 && i + EOCD_LEN + pk_le(p + i + 20, 2) == len) {
            *at = i;
            return 0;
        }
    }
    return -1;
}

int pk_zip_add_member(pk_ckpt *k, const uint8_t *name, uint64_t nlen, pk_zent *z)
{
    if (!pk_grow((void **)&k->ents, &k->cap_ents, k->nents + 1, sizeof *k->ents) ||
        !pk_grow((void **)&k->names, &k->names_cap, k->names_len + nlen, 1))
        return -1;
    if (nlen) /* names is still NULL when every name so far was empty */
        memcpy(k->names + k->names_len, name, nlen);
    z->name_pos = k->names_len;
    z->name_len = nlen;
    k->names_len += nlen;
    k->ents[k->nents++] = *z;
    return 0;
}

void pk_zip_members_found(pk_ckpt *k)
{
    /* a torch archive's members are in one folder; a .npz's are not (format.c decides) */
    const char *slash =
        k->ents[0].name_len ? memchr(k->names, '/', (size_t)k->ents[0].name_len) : NULL;
    k->top_len = slash ? (uint64_t)(slash - k->names) : 0;
    k->no_top = !slash;
    k->is_zip = true;
}

int pk_zip_read(pk_doc *doc, const uint8_t *p, uint64_t len, pk_error *err)
{
    pk_ckpt *k = pk_ckpt_get(doc);
    if (!k) {
        pk_set_error(err, PK_E_NOMEM, 0, -1, pk_code_text(PK_E_NOMEM));
        return -1;
    }
    uint64_t eocd;
    if (find_eocd(p, len, &eocd) < 0)
        return bad(err, len, "no end of central directory record");
    uint64_t count = pk_le(p + eocd + 10, 2), cd_size = pk_le(p + eocd + 12, 4),
             cd_off = pk_le(p + eocd + 16, 4);
    if (eocd >= EOCD64_LOC_LEN && memcmp(p + eocd - EOCD64_LOC_LEN, "PK\6\7", 4) == 0) {
        uint64_t loc = eocd - EOCD64_LOC_LEN, e64 = pk_le(p + loc + 8, 8);
        if (e64 > len || len - e64 < EOCD64_LEN || memcmp(p + e64, "PK\6\6", 4) != 0)
            return bad(err, loc, "zip64 locator points at no zip64 record");
        count = pk_le(p + e64 + 32, 8);
        cd_size = pk_le(p + e64 + 40, 8);
        cd_off = pk_le(p + e64 + 48, 8);
    }
    if (cd_off > len || cd_size > len - cd_off)
        return bad(err, eocd, "central directory past the end of the file");
    if (count > cd_size / CDIR_LEN)
        return bad(err, eocd, "more members than the central directory can hold");
    uint64_t at = cd_off, end = cd_off + cd_size;
    for (uint64_t i = 0; i < count; i++) {
        if (end - at < CDIR_LEN || memcmp(p + at, "PK\1\2", 4) != 0)
            return bad(err, at, "bad central directory entry");
        const uint8_t *c = p + at;
        pk_zent z = {.method = (uint16_t)pk_le(c + 10, 2), .flags = (uint16_t)pk_le(c + 8, 2)};
        z.csize = pk_le(c + 20, 4);
        z.usize = pk_le(c + 24, 4);
        uint64_t nlen = pk_le(c + 28, 2), xlen = pk_le(c + 30, 2), clen = pk_le(c + 32, 2);
        uint64_t lho = pk_le(c + 42, 4);
        if (end - at - CDIR_LEN < nlen + xlen + clen)
            return bad(err, at, "central directory entry longer than the directory");
        /* zip64: the fields that read 0xffffffff are in extra field 1, in this order */
        const uint8_t *x = c + CDIR_LEN + nlen, *xend = x + xlen;
        while (xend - x >= 4) {
            uint64_t id = pk_le(x, 2), sz = pk_le(x + 2, 2);
            if ((uint64_t)(xend - x - 4) < sz)
                break;
            if (id == 1) {
                const uint8_t *f = x + 4, *fend = f + sz;
                if (z.usize == 0xffffffff && fend - f >= 8)
                    z.usize = pk_le(f, 8), f += 8;
                if (z.csize == 0xffffffff && fend - f >= 8)
                    z.csize = pk_le(f, 8), f += 8;
                if (lho == 0xffffffff && fend - f >= 8)
                    lho = pk_le(f, 8);
            }
            x += 4 + sz;
        }
        if (lho > len || len - lho < LOCAL_LEN || memcmp(p + lho, "PK\3\4", 4) != 0)
            return bad(err, at, "member without a local header");
        uint64_t lnlen = pk_le(p + lho + 26, 2), lxlen = pk_le(p + lho + 28, 2);
        if (len - lho - LOCAL_LEN < lnlen + lxlen)
            return bad(err, lho, "local header past the end of the file");
        z.data = lho + LOCAL_LEN + lnlen + lxlen;
        if (z.csize > len - z.data)
            return bad(err, lho, "member data past the end of the file");
        if (z.method == 0 && z.usize != z.csize)
            return bad(err, lho, "stored member whose sizes differ");
        if (z.method != 0 && z.method != 8)
            return bad(err, lho, "member compressed with a method other than deflate");
        if (pk_zip_add_member(k, c + CDIR_LEN, nlen, &z) < 0) {
            pk_set_error(err, PK_E_NOMEM, at, -1, pk_code_text(PK_E_NOMEM));
            return -1;
        }
        at += CDIR_LEN + nlen + xlen + clen;
    }
    if (k->nents == 0)
        return bad(err, eocd, "empty archive");
    pk_zip_members_found(k);
    return 0;
}


pk_zent *pk_zip_find(pk_doc *doc, const char *rel, size_t rel_len)
{
    pk_ckpt *k = doc->ckpt;
    if (!k || !k->is_zip || k->no_top)
        return NULL;
    for (uint64_t i = 0; i < k->nents && k->names; i++) { /* names NULL: every name empty */
        pk_zent *z = &k->ents[i];
        const char *n = k->names + z->name_pos;
        if (z->name_len == k->top_len + 1 + rel_len && memcmp(n, k->names, k->top_len) == 0 &&
            n[k->top_len] == '/' && memcmp(n + k->top_len + 1, rel, rel_len) == 0)
            return z;
    }
    return NULL;
}

/* Where a member's bytes start in the stream: gathered, or in the archive itself. */
static uint64_t member_start(const pk_ckpt *k, const pk_zent *z)
{
    return k->gathered ? z->at : z->data;
}

const pk_zent *pk_zip_member_at(const pk_doc *doc, uint64_t off, uint64_t *start)
{
    const pk_ckpt *k = doc->ckpt;
    if (!k || !k->is_zip || !(k->members || k->npz))
        return NULL;
    /* the members are in stream order in any archive a zip tool writes (gathered ones always,
     * one after another): a binary search for the first that ends after off; a scan when a
     * hostile archive put them otherwise */
    uint64_t lo = 0, hi = k->nents;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const pk_zent *m = &k->ents[mid];
        uint64_t at = member_start(k, m);
        if (at <= off && off - at >= m->usize) /* it ends at off or before */
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < k->nents && member_start(k, &k->ents[lo]) <= off) {
        *start = member_start(k, &k->ents[lo]);
        return &k->ents[lo];
    }
    for (uint64_t i = 0; i < k->nents; i++) {
        const pk_zent *z = &k->ents[i];
        uint64_t at = member_start(k, z);
        if (at <= off && off - at < z->usize) {
            *start = at;
            return z;
        }
    }
    return NULL;
}

int pk_zip_load(pk_doc *doc, pk_zent *z, const uint8_t *map, uint64_t len, pk_error *err)
{
    if (z->method == 0 || z->mem)
        return 0;
    if (!map || z->data > len || z->csize > len - z->data)
        return bad(err, z->data, "member data past the end of the file");
    uint64_t outlen;
    if (pk_inflate(PK_Z_RAW_DEFLATE, map + z->data, z->csize, doc->lim.max_decompressed,
                   &z->mem, &outlen, err) < 0) {
        if (err) /* array.c loads storages with no error to report */
            err->offset += z->data;
        return -1;
    }
    z->usize = outlen;
    return 0;
}
