/* legacy.c: torch.save's legacy (pre-zip) format, after the machine has decoded its five
 * pickles: the raw storages that follow them in the stream become the data of the tensors that
 * name them. */
#include "ckpt_i.h"

#include <stdio.h>
#include <string.h>

/* Legacy torch.save: after the five pickles, each storage of the keys list (the fifth) in
 * order: its element count (8 bytes, little-endian), then its elements. The element size comes
 * from the storage's type, known from the persistent ids that named it. */
static int legacy_storages(pk_doc *doc, pk_error *err)
{
    pk_ckpt *k = doc->ckpt;
    const pk_node *keys = &doc->nodes[doc->tops[4]];
    if (keys->kind != PK_K_LIST) {
        k->legacy = false; /* five pickles, but not torch's: show them as they are */
        return 0;
    }
    uint64_t pos = k->legacy_data;
    pk_cursor cur = pk_items_of(doc, keys);
    uint32_t item;
    while (pk_item_next(doc, &cur, &item)) {
        const pk_node *key = &doc->nodes[item];
        const uint8_t *kp = pk_span_ptr(doc, key);
        if (key->kind != PK_K_STR || !kp)
            break;
        size_t klen = (size_t)pk_span_len(doc, key);
        uint32_t elsize = 0;
        for (uint64_t i = 0; i < k->narrays && !elsize; i++)
            if (strlen(k->arrays[i].key) == klen && memcmp(k->arrays[i].key, kp, klen) == 0)
                elsize = k->arrays[i].dt.size;
        if (!elsize)
            break; /* no tensor uses it: its size, and so the next ones', is unknown */
        if (doc->src_len - pos < 8) {
            pk_set_error(err, PK_E_TRUNCATED, pos, -1, "truncated data: legacy torch storage");
            return -1;
        }
        uint64_t numel = pk_le64(doc->src + pos);
        pos += 8;
        if (numel > (doc->src_len - pos) / elsize) {
            char what[sizeof err->what];
            snprintf(what, sizeof what, "length %llu of a legacy torch storage larger than the "
                     "%llu bytes left", (unsigned long long)numel * elsize,
                     (unsigned long long)(doc->src_len - pos));
            pk_set_error(err, PK_E_LENGTH, pos - 8, -1, what);
            return -1;
        }
        for (uint64_t i = 0; i < k->narrays; i++) {
            pk_array *a = &k->arrays[i];
            if (strlen(a->key) == klen && memcmp(a->key, kp, klen) == 0)
                pk_array_set_source(a, PK_AS_STREAM, pos, NULL, numel * elsize);
        }
        pos += numel * elsize;
    }
    doc->tops[0] = doc->tops[3]; /* the object saved; the rest is bookkeeping */
    doc->ntops = 1;
    return 0;
}

int pk_legacy_storages(pk_doc *doc, pk_error *err)
{
    pk_ckpt *k = doc->ckpt;
    if (k && k->legacy && doc->ntops == 5)
        return legacy_storages(doc, err);
    return 0;
}
