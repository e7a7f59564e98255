/* format.c: what FILE is, by content and never by name, and where its pickle stream lies.
 *
 * pk_format_guess lists what the first bytes may be, most specific first and a raw pickle
 * last; the coordinator (pk_open.c) tries each in turn until one decodes, so a pickle whose
 * first bytes happen to form a zlib header is still read as the pickle it is.
 *
 *   gzip, zlib, bz2, xz, lzma  inflated into memory (decompress.c); the inflated bytes are
 *                              then recognised again, once (a compressed legacy checkpoint)
 *   "PK\3\4" zip               a torch.save archive: its <top>/data.pkl is the stream (zip.c);
 *                              or a .npz, whose arrays are built by npy_lift.c; or any other
 *                              zip, a directory of its members (zip_lift.c), as is a
 *                              TorchScript archive (torch.jit.save, with <top>/constants.pkl)
 *   safetensors               an 8-byte header length, then '{': its header read (safetensors.c),
 *                              its tensors built without opcodes (st_lift.c)
 *   "\x93NUMPY" .npy            its header read (npy.c); its array is built without opcodes
 *                              (npy_lift.c), or, for an object array, the pickle after the
 *                              header is the stream
 *   legacy torch.save          five pickles (magic number, protocol, system info, the object,
 *                              storage keys), then each storage as an 8-byte little-endian
 *                              element count and its elements
 *   anything else              a raw pickle (or several back to back)
 */
#include "ckpt_i.h"
#include "npy_i.h"
#include "safetensors_i.h"
#include "source_i.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Replace doc->src by inflated bytes. */
static int decompress(pk_doc *doc, pk_zfmt fmt, uint64_t skip, pk_error *err)
{
    uint8_t *out;
    uint64_t outlen;
    if (pk_inflate(fmt, doc->src + skip, doc->src_len - skip, doc->lim.max_decompressed, &out,
                   &outlen, err) < 0) {
        err->offset += skip;
        return -1;
    }
    if (doc->src_mapped)
        munmap((void *)(uintptr_t)doc->src, (size_t)doc->src_len);
    else if (doc->src_owned)
        free((void *)(uintptr_t)doc->src);
    doc->src = out;
    doc->src_len = outlen;
    doc->src_mapped = false;
    doc->src_owned = true;
    return 0;
}

/* Is the archive a .npz (numpy's savez): every member a .npy file, named NAME.npy? */
static bool is_npz(const pk_ckpt *k)
{
    for (uint64_t i = 0; i < k->nents; i++) {
        const pk_zent *z = &k->ents[i];
        if (z->name_len < 4 || memcmp(k->names + z->name_pos + z->name_len - 4, ".npy", 4) != 0)
            return false;
    }
    return k->nents > 0;
}


/* The bytes of every member (inflated when deflated, each and all within max_decompressed)
 * one after another in memory (pk_zent.at), which is then the stream. An encrypted member is
 * refused. For a zip archive that is neither a torch checkpoint nor a .npz, a directory of its
 * members, whose builder (zip_lift.c) decodes those that are pickles or .npy files there. */
static int gather(pk_doc *doc, const uint8_t *map, uint64_t len, pk_error *err)
{
    pk_ckpt *k = doc->ckpt;
    uint64_t total = 0;
    for (uint64_t i = 0; i < k->nents; i++) {
        pk_zent *z = &k->ents[i];
        if (z->flags & 1) {
            pk_set_error(err, PK_E_CONTAINER, z->data, -1,
                         "zip archive with an encrypted member: not read");
            return -1;
        }
        if (pk_zip_load(doc, z, map, len, err) < 0)
            return -1;
        z->at = total;
        if (__builtin_add_overflow(total, z->usize, &total) || total > doc->lim.max_decompressed) {
            pk_set_error(err, PK_E_DECOMPRESS_LIMIT, z->data, -1, "");
            snprintf(err->what, sizeof err->what, "decompressed size past the limit of %llu bytes",
                     (unsigned long long)doc->lim.max_decompressed);
            return -1;
        }
    }
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf) {
        pk_set_error(err, PK_E_NOMEM, 0, -1, pk_code_text(PK_E_NOMEM));
        return -1;
    }
    for (uint64_t i = 0; i < k->nents; i++) {
        pk_zent *z = &k->ents[i];
        if (z->usize)
            memcpy(buf + z->at, z->mem ? z->mem : map + z->data, z->usize);
        free(z->mem);
        z->mem = NULL;
    }
    doc->src = buf;
    doc->src_len = total;
    doc->src_owned = true;
    k->gathered = true;
    return 0;
}

static int members_open(pk_doc *doc, const uint8_t *map, uint64_t len, pk_error *err)
{
    doc->ckpt->members = true;
    return gather(doc, map, len, err);
}

/* A .npz: their headers are read and their arrays made by the builder (npy_lift.c), from the
 * archive, which stays the stream when every member is stored, so that their elements are read
 * from FILE; with a deflated member, the members are gathered into memory (as a zip of members'
 * are), where an object array's pickle is decoded as the stream it then is. */
static int npz_open(pk_doc *doc, const uint8_t *map, uint64_t len, pk_error *err)
{
    pk_ckpt *k = doc->ckpt;
    k->npz = true;
    for (uint64_t i = 0; i < k->nents; i++)
        if (k->ents[i].method != 0)
            return gather(doc, map, len, err);
    return 0;
}

/* A torch.save archive: the stream is <top>/data.pkl, decoded from the mapping of FILE when
 * it is stored (fd_base is then its offset, so spans left in the source are read from the
 * file), or inflated into memory. The mapping stays until pk_format_settle(). */
static int zip_open(pk_doc *doc, pk_error *err)
{
    const uint8_t *map = doc->src;
    uint64_t len = doc->src_len;
    if (pk_zip_read(doc, map, len, err) < 0) {
        /* -o partial: an archive without its central directory (a checkpoint cut short by a
         * crashed run) is read from its local headers, and refused with this error after what
         * they hold is decoded (pk_format_cut); never without -o partial */
        if (doc->lim.partial != PK_PARTIAL_TREE || err->code != PK_E_CONTAINER ||
            pk_zip_scan(doc, map, len) < 0)
            return -1;
        doc->ckpt->cut = *err;
        memset(err, 0, sizeof *err);
        err->opcode = -1;
    }
    pk_ckpt *k = doc->ckpt;
    k->map = map;
    k->map_len = len;
    k->map_unmap = doc->src_mapped;
    doc->src_mapped = false; /* the mapping is k->map's now */
    if (is_npz(k))
        return npz_open(doc, map, len, err);
    pk_zent *z = pk_zip_find(doc, "data.pkl", 8);
    if (!z)
        return members_open(doc, map, len, err);
    pk_zent *bo = pk_zip_find(doc, "byteorder", 9);
    if (bo) {
        if (pk_zip_load(doc, bo, map, len, err) < 0)
            return -1;
        const uint8_t *t = bo->mem ? bo->mem : map + bo->data;
        k->big_endian = bo->usize == 3 && memcmp(t, "big", 3) == 0;
    }
    if (pk_zip_find(doc, "constants.pkl", 13)) { /* torch.jit.save: data.pkl, constants, code */
        k->torchscript = true;
        return members_open(doc, map, len, err);
    }
    if (z->method == 0) {
        doc->src = map + z->data;
        doc->src_len = z->usize;
        doc->fd_base = z->data;
        return 0;
    }
    if (pk_zip_load(doc, z, map, len, err) < 0)
        return -1;
    doc->src = z->mem; /* the inflated stream is the doc's to free */
    doc->src_len = z->usize;
    doc->src_owned = true;
    z->mem = NULL;
    return 0;
}

bool pk_format_cut(const pk_doc *doc, pk_error *err)
{
    const pk_ckpt *k = doc->ckpt;
    if (!k || k->cut.code == PK_E_OK)
        return false;
    *err = k->cut;
    return true;
}

/* A .npy file: its header kept for the builder of its array (pk_open.c), or, for an object
 * array, the stream made to start at the pickle after it. */
static int npy_open(pk_doc *doc, pk_error *err)
{
    pk_ckpt *k = pk_ckpt_get(doc);
    pk_npy *h = k ? malloc(sizeof *h) : NULL;
    if (!h) {
        pk_set_error(err, PK_E_NOMEM, 0, -1, pk_code_text(PK_E_NOMEM));
        return -1;
    }
    k->npy = h;
    if (pk_npy_parse(doc->src, doc->src_len, 0, h, err) < 0)
        return -1;
    if (h->object)
        doc->src_start = h->data;
    return 0;
}

/* A safetensors file: its header kept for the builder of its tensors (pk_open.c). */
static int st_open(pk_doc *doc, pk_error *err)
{
    pk_ckpt *k = pk_ckpt_get(doc);
    pk_st_header *h = k ? calloc(1, sizeof *h) : NULL;
    if (!h) {
        pk_set_error(err, PK_E_NOMEM, 0, -1, pk_code_text(PK_E_NOMEM));
        return -1;
    }
    k->st = h;
    return pk_st_parse(doc, h, err);
}

static bool is_legacy_torch(const uint8_t *p, uint64_t len)
{
    /* pickle.dumps(0x1950a86a20f9469cfc6c, protocol) for protocol 2 and up: PROTO n, LONG1 */
    static const uint8_t magic[] = {0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                    0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    return len > 2 + sizeof magic && p[0] == 0x80 && p[1] >= 2 &&
           memcmp(p + 2, magic, sizeof magic) == 0;
}

int pk_format_guess(const uint8_t *p, uint64_t len, pk_guess out[PK_GUESS_MAX])
{
    int n = 0;
    uint64_t skip;
    pk_zfmt z = pk_zfmt_of(p, len, &skip);
    if (len >= 4 && memcmp(p, "PK\3\4", 4) == 0)
        out[n++] = (pk_guess){PK_G_ZIP, PK_Z_NONE, 0, false};
    else if (pk_npy_looks_like(p, len))
        out[n++] = (pk_guess){PK_G_NPY, PK_Z_NONE, 0, false};
    else if (pk_st_looks_like(p, len))
        out[n++] = (pk_guess){PK_G_SAFETENSORS, PK_Z_NONE, 0, false};
    else if (z != PK_Z_NONE)
        out[n++] = (pk_guess){PK_G_COMPRESSED, z, skip, z == PK_Z_ZLIB && skip == 0};
    out[n++] = (pk_guess){PK_G_RAW, PK_Z_NONE, 0, false};
    return n;
}

int pk_format_open(pk_doc *doc, const pk_guess *g, pk_error *err)
{
    if (g->kind == PK_G_ZIP)
        return zip_open(doc, err);
    if (g->kind == PK_G_NPY)
        return npy_open(doc, err);
    if (g->kind == PK_G_SAFETENSORS)
        return st_open(doc, err);
    if (g->kind == PK_G_COMPRESSED && decompress(doc, g->zfmt, g->skip, err) < 0)
        return -1;
    if (g->kind == PK_G_COMPRESSED && pk_npy_looks_like(doc->src, doc->src_len))
        return npy_open(doc, err); /* a compressed .npy */
    if (is_legacy_torch(doc->src, doc->src_len)) {
        pk_ckpt *k = pk_ckpt_get(doc);
        if (!k) {
            pk_set_error(err, PK_E_NOMEM, 0, -1, pk_code_text(PK_E_NOMEM));
            return -1;
        }
        k->legacy = true;
    }
    return 0;
}

void pk_format_settle(pk_doc *doc)
{
    pk_ckpt *k = doc->ckpt;
    if (!k || !k->map || !k->map_unmap)
        return;
    if (doc->src >= k->map && doc->src < k->map + k->map_len)
        doc->src = NULL; /* a stored data.pkl: from now on read with pread at fd_base */
    munmap((void *)(uintptr_t)k->map, (size_t)k->map_len);
    k->map = NULL;
}

bool pk_format_stream_done(pk_doc *doc, uint64_t pos)
{
    pk_ckpt *k = doc->ckpt;
    if (!k || !k->legacy || doc->ntops != 5)
        return false;
    k->legacy_data = pos;
    return true;
}

bool pk_format_wants_more(const pk_doc *doc)
{
    const pk_ckpt *k = doc->ckpt;
    return k && k->legacy && doc->ntops < 5;
}

#define TEXT_MIN 16

/* Are the k - 1 bytes after p UTF-8 continuation bytes (a sequence cut by the end of the
 * first bytes looked at counts as one)? */
static bool continues_utf8(const uint8_t *p, uint64_t k, uint64_t left)
{
    for (uint64_t i = 1; i < k && i < left; i++)
        if ((p[i] & 0xc0) != 0x80)
            return false;
    return true;
}

/* What a file that is none of our formats looks like, by its first bytes, for the one line
 * that refuses it; NULL when nothing is known. (Text is said only of a file that failed as a
 * raw pickle at its first opcode, so it is never a pickle of protocol 0.) */
const char *pk_format_foreign(const uint8_t *p, uint64_t len)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *what;
    } known[] = {
        {"7z\xbc\xaf\x27\x1c", 6, "a 7z archive"},
        {"Rar!\x1a\x07", 6, "a RAR archive"},
        {"PK\x05\x06", 4, "an empty zip archive"},
        {"%PDF-", 5, "a PDF document"},
        {"\x89PNG\r\n\x1a\n", 8, "a PNG image"},
        {"\xff\xd8\xff", 3, "a JPEG image"},
        {"\x7f" "ELF", 4, "an ELF executable"},
        {"\x89HDF\r\n\x1a\n", 8, "an HDF5 file (h5py, Keras)"},
        {"SQLite format 3", 16, "an SQLite database"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (len >= known[i].len && memcmp(p, known[i].magic, known[i].len) == 0)
            return known[i].what;
    /* text: its first bytes (16 at least, so that a short malformed pickle keeps its error)
     * are printable ASCII, white space, or UTF-8 sequences */
    uint64_t n = len < 512 ? len : 512, text = 0;
    while (text < n) {
        uint8_t c = p[text];
        uint64_t k = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 :
                     c >= 0xf0 && c < 0xf5 ? 4 : 0;
        if (k == 1 && c < 0x20 && c != '\n' && c != '\r' && c != '\t')
            break;
        if (k == 0 || c == 0x7f || !continues_utf8(p + text, k, n - text))
            break;
        text += k;
    }
    return n >= TEXT_MIN && text == n ? "text" : NULL;
}
