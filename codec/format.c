/* format.c: what FILE is, by content and never by name, and where its pickle stream lies.
 *
 *   gzip, zlib, bz2, xz, lzma  inflated into memory (decompress.c); the inflated bytes are
 *                              then recognised again, once (a compressed legacy checkpoint)
 *   "PK\3\4" zip               a torch.save archive: its <top>/data.pkl is the stream (zip.c)
 *   legacy torch.save          five pickles (magic number, protocol, system info, the object,
 *                              storage keys), then each storage as an 8-byte little-endian
 *                              element count and its elements
 *   anything else              a raw pickle (or several back to back)
 */
#include "ckpt_i.h"
#include "source_i.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

pk_ckpt *pk_ckpt_get(pk_doc *doc)
{
    if (!doc->ckpt)
        doc->ckpt = calloc(1, sizeof *doc->ckpt);
    return doc->ckpt;
}

void pk_ckpt_free(pk_doc *doc)
{
    pk_ckpt *k = doc->ckpt;
    if (!k)
        return;
    for (uint64_t i = 0; i < k->nents; i++)
        free(k->ents[i].mem);
    for (uint64_t i = 0; i < k->narrays; i++)
        free(k->arrays[i].summary);
    if (k->map)
        munmap((void *)(uintptr_t)k->map, (size_t)k->map_len);
    free(k->names);
    free(k->ents);
    free(k->arrays);
    free(k);
    doc->ckpt = NULL;
}

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

int pk_format_open(pk_doc *doc, pk_error *err)
{
    uint64_t skip;
    pk_zfmt fmt = pk_zfmt_of(doc->src, doc->src_len, &skip);
    if (fmt != PK_Z_NONE && decompress(doc, fmt, skip, err) < 0)
        return -1;
    return 0;
}

bool pk_format_stream_done(pk_doc *doc, uint64_t pos)
{
    (void)doc;
    (void)pos;
    return false;
}

int pk_format_finish(pk_doc *doc, pk_error *err)
{
    (void)doc;
    (void)err;
    return 0;
}
