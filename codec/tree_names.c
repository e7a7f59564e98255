/* tree_names.c: the names of the entries the builder lays out (build_i.h).
 *
 * A dict item is named by its str key when that is a valid name, and kept as it is; any other
 * key is named by its repr, escaped where it is no valid name (pk_build_key_name). Names are
 * unique per directory: once a block is laid out, later duplicates get ~N. A small block is
 * checked here, name against name; a large one through its name table (tree_table.c), which
 * pk_build_rename then asks whether a new name is taken. Records pickled together share their
 * field names, so the keys of the last small block found unique are remembered, and a block
 * of the same keys is not compared again.
 *
 * Most names are not stored at all (pk_name_kind): only the others (escaped keys, renamed
 * duplicates, names picklefs makes) keep a span in doc->names (pk_build_own_name).
 */
#include "build_i.h"

#include <string.h>

#define NAME_CUT 240

static bool all_dots(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != '.')
            return false;
    return true;
}

/* A repr that is no valid name: '/' becomes \x2f and NUL \x00 (the repr of a global or of a
 * lifted value holds the raw name), "." and ".." (a global with empty names) become \x2e
 * each, and a long one is cut at a character boundary and marked with "...". */
static void escape_name(pk_buf *in, pk_buf *out)
{
    bool dots = (in->len == 1 || in->len == 2) && all_dots(in->data, in->len);
    if (in->len == 0)
        pk_buf_puts(out, "''");
    for (size_t i = 0; i < in->len; i++) {
        if (in->data[i] == '/')
            pk_buf_puts(out, "\\x2f");
        else if (in->data[i] == 0)
            pk_buf_puts(out, "\\x00");
        else if (dots)
            pk_buf_puts(out, "\\x2e");
        else
            pk_buf_put(out, &in->data[i], 1);
    }
    if (out->len > PK_NAME_MAX) {
        size_t cut = NAME_CUT;
        while (cut > 0 && ((uint8_t)out->data[cut] & 0xc0) == 0x80)
            cut--;
        out->len = cut;
        pk_buf_puts(out, "...");
    }
}

/* The name of a dict entry whose key is node `key`, into b. */
void pk_build_key_name(const pk_doc *doc, uint32_t key, pk_buf *b)
{
    const pk_node *k = &doc->nodes[key];
    size_t len = k->kind == PK_K_STR ? (size_t)pk_span_len(doc, k) : 0;
    if (k->kind == PK_K_STR && len <= PK_NAME_MAX) {
        const uint8_t *p = pk_span_ptr(doc, k);
        if (p && pk_valid_name((const char *)p, len)) {
            pk_buf_put(b, p, len);
            return;
        }
    }
    /* a name is cut to 240 bytes past 255, and escaping only lengthens: 1 KiB of repr is
     * enough to name any key, and keeps the walk of a huge key short */
    pk_buf r = {.max = 1024};
    pk_repr(doc, key, &r);
    if (r.failed)
        b->failed = true;
    else if (pk_valid_name(r.data, r.len))
        pk_buf_put(b, r.data, r.len);
    else
        escape_name(&r, b);
    pk_buf_free(&r);
}

/* Keep bd->name as entry x's own name (where pk_entry_name looks for it), with the key the
 * entry shows the value of (0 if none). */
bool pk_build_own_name(builder *bd, pk_entry *x, uint32_t key)
{
    pk_doc *doc = bd->doc;
    pk_span at;
    if (doc->nnames >= UINT32_MAX)
        return false;
    if (!pk_doc_grow(doc, (void **)&doc->names, &doc->cap_names, doc->nnames + 1,
                     sizeof(pk_own_name)) ||
        !pk_pool_add(&doc->pool, bd->name.data, bd->name.len, &at))
        return false;
    doc->names[doc->nnames] = (pk_own_name){at.pos, (uint32_t)at.len, key};
    if (x->ftype == PK_FILE)
        x->aux = (uint32_t)doc->nnames++;
    else
        doc->branches[x->aux].name_aux = (uint32_t)doc->nnames++;
    x->name_kind = PK_N_OWN;
    return true;
}

/* ---- unique names ---- */

/* Is `name` already the name of one of entries first..first+j-1? */
static bool taken(const builder *bd, pk_ino first, uint32_t j, const char *name, size_t len)
{
    const pk_doc *doc = bd->doc;
    if (!bd->table) {
        for (uint32_t i = 0; i < j; i++)
            if (entry_is(doc, first + i, name, len))
                return true;
        return false;
    }
    const pk_table *t = bd->table;
    return table_probe(doc, t, name, len, name_hash(doc, t->dir, name, len)) != 0;
}

/* Stored entry first+j's name is taken: it becomes NAME~K, the first K that is free. */
int pk_build_rename(builder *bd, uint32_t first, uint32_t j)
{
    pk_doc *doc = bd->doc;
    char buf[PK_NAME_BUF];
    size_t len;
    const char *name = pk_entry_name(doc, first + j, buf, &len);
    bd->name.len = 0;
    pk_buf_put(&bd->name, name, len);
    size_t base = bd->name.len;
    /* the same base renamed last in this block: every K up to the one it got is taken still
     * (names are only added), so the search goes on from there */
    bool again = bd->renamed_in == first && bd->renamed.len == len && !bd->renamed.failed &&
                 memcmp(bd->renamed.data, name, len) == 0;
    uint64_t k = again ? bd->renamed_k + 1 : 1;
    if (!again) {
        bd->renamed.len = 0;
        pk_buf_put(&bd->renamed, name, len);
        bd->renamed_in = first;
    }
    for (;; k++) {
        char suffix[25];
        suffix[0] = '~';
        size_t n = 1 + fmt_index(k, suffix + 1);
        /* the name with its suffix stays a valid name: cut the base if it must be */
        size_t keep = base;
        if (keep + n > PK_NAME_MAX) {
            keep = PK_NAME_MAX - n;
            while (keep > 0 && ((uint8_t)bd->name.data[keep] & 0xc0) == 0x80)
                keep--;
        }
        bd->name.len = keep;
        pk_buf_put(&bd->name, suffix, n);
        if (bd->name.failed)
            return pk_build_oom(bd);
        if (!taken(bd, first, j, bd->name.data, bd->name.len))
            break;
    }
    bd->renamed_k = k;
    if (!pk_build_own_name(bd, &doc->entries[first + j], pk_entry_key(doc, first + j)))
        return pk_build_oom(bd);
    bd->name.len = 0;
    return 0;
}

static bool same_name(const pk_doc *doc, pk_ino a, pk_ino b)
{
    char buf[PK_NAME_BUF];
    size_t len;
    const char *name = pk_entry_name(doc, a, buf, &len);
    return entry_is(doc, b, name, len);
}

/* Cheaper than a hash, and enough to tell most names in a small block apart: the length, the
 * first byte and the last two (field names tend to differ at their ends). */
static uint32_t name_sketch(const pk_doc *doc, pk_ino e)
{
    char buf[PK_NAME_BUF];
    size_t len;
    const uint8_t *s = (const uint8_t *)pk_entry_name(doc, e, buf, &len);
    return len == 0 ? 0 : (uint32_t)len << 24 ^ (uint32_t)s[0] << 16 ^ (uint32_t)s[len / 2] << 8 ^
                              (uint32_t)s[len - 1] ^ (uint32_t)s[len - 1 - (len > 1)] << 4;
}

/* Is the small block first..first+n-1 named by the same keys, in the same order, as the last
 * one found unique? Records pickled together share their field names (memoized), and those
 * need not be compared again for every record. */
static bool same_keys_as_last(const builder *bd, pk_ino first, uint64_t n)
{
    const pk_doc *doc = bd->doc;
    if (n != bd->nkeys)
        return false;
    for (uint64_t i = 0; i < n; i++) {
        pk_entry x = pk_entry_get(doc, first + i);
        if (x.name_kind != PK_N_KEY || x.aux != bd->keys[i])
            return false;
    }
    return true;
}

static void remember_keys(builder *bd, pk_ino first, uint64_t n)
{
    const pk_doc *doc = bd->doc;
    bd->nkeys = 0;
    for (uint64_t i = 0; i < n; i++) {
        pk_entry x = pk_entry_get(doc, first + i);
        if (x.name_kind != PK_N_KEY)
            return;
        bd->keys[i] = x.aux; /* PK_N_KEY: the key's node */
    }
    bd->nkeys = n;
}

/* A small block's names, compared pairwise, but only where their sketches (name_sketch) are
 * equal; a block named by the same keys as the last one found unique is not compared again. */
int pk_build_unique_small(builder *bd, pk_ino first, uint64_t n, uint32_t shape)
{
    pk_doc *doc = bd->doc;
    bool derived = pk_is_derived(first);
    if (same_keys_as_last(bd, first, n)) {
        bd->shape = shape;
        return 0;
    }
    bool renamed = false;
    uint32_t hash[SMALL_DIR];
    for (uint32_t j = 0; j < n; j++) {
        hash[j] = name_sketch(doc, first + j);
        for (uint32_t i = 0; i < j; i++) {
            if (hash[i] != hash[j] || !same_name(doc, first + i, first + j))
                continue;
            if (derived)
                return 1;
            if (pk_build_rename(bd, (uint32_t)first, j) < 0)
                return -1;
            renamed = true;
            hash[j] = name_sketch(doc, first + j);
            break;
        }
    }
    if (!renamed) {
        remember_keys(bd, first, n);
        bd->shape = shape;
    }
    return 0;
}
