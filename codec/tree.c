/* tree.c: the queries on the mounted tree that tree_build.c and its helpers lay out (the
 * records are in entry_i.h): an entry's name and key, and the public functions of pk.h that
 * walk the tree, which take any inode number.
 *
 * Most names are not stored (pk_name_kind): a list item is named by its position in its block,
 * found from doc->blocks, a dict item by its str key's bytes in the pool. Entries of a derived
 * directory are not stored either: they are read off its items (pk_entry_get in tree_i.h).
 * pk_lookup tries a decimal name at that index first, scans a small directory, and probes the
 * name table of a large one (lookup_i.h).
 */
#include "pk_i.h"
#include "tree_i.h"
#include "lookup_i.h"

#include <string.h>

/* ---- entries and names, kept and derived ---- */

/* What entry x keeps of its name: a file and a derived directory in its aux, the others in
 * their branch. */
static uint32_t name_aux(const pk_doc *doc, const pk_entry *x)
{
    if (x->ftype == PK_FILE || (x->flags & PK_EF_DERIVED))
        return x->aux;
    return doc->branches[x->aux].name_aux;
}

uint32_t pk_entry_key(const pk_doc *doc, pk_ino e)
{
    const pk_entry x = pk_entry_get(doc, e);
    if (x.name_kind == PK_N_KEY)
        return name_aux(doc, &x);
    return x.name_kind == PK_N_OWN && e != PK_ROOT ? doc->names[name_aux(doc, &x)].key : 0;
}

/* The block of stored entry e, which is not the root: the last one that starts at or before it. */
static const pk_block *block_of(const pk_doc *doc, pk_ino e)
{
    uint64_t lo = 0, hi = doc->nblocks; /* blocks[lo].first <= e < blocks[hi].first */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->blocks[mid].first <= e)
            lo = mid;
        else
            hi = mid;
    }
    return &doc->blocks[lo];
}

/* The text of str key `key`, a valid name: in the pool (pk_key_check_name). */
static const char *key_text(const pk_doc *doc, uint32_t key, size_t *len)
{
    const pk_node *k = &doc->nodes[key];
    *len = (size_t)pk_span_len(doc, k);
    return doc->pool.data + pk_node_span(doc, k).pos;
}

const char *pk_entry_name(const pk_doc *doc, pk_ino e, char buf[PK_NAME_BUF], size_t *len)
{
    if (pk_is_derived(e)) { /* named by its dict key, or by its index */
        uint32_t key = pk_derived_item(doc, e, true);
        if (key)
            return key_text(doc, key, len);
        *len = fmt_index(e & PK_DERIVED_INDEX_MASK, buf);
        return buf;
    }
    const pk_entry ent = doc->entries[e], *x = &ent;
    if (e == PK_ROOT) {
        *len = 0;
        return "";
    }
    switch ((pk_name_kind)x->name_kind) {
    case PK_N_INDEX:
        *len = fmt_index(e - block_of(doc, e)->first, buf);
        return buf;
    case PK_N_KEY:
        return key_text(doc, name_aux(doc, x), len);
    case PK_N_OWN:
    default: {
        uint32_t name = name_aux(doc, x);
        *len = (size_t)doc->names[name].len;
        return doc->pool.data + doc->names[name].pos;
    }
    }
}

/* ---- the (parent, name) table ---- */

/* Directory dir's table, or NULL (a directory named by index has none). */
static const pk_table *table_of(const pk_doc *doc, uint32_t dir)
{
    uint64_t lo = 0, hi = doc->ntables;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->tables[mid].dir < dir)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < doc->ntables && doc->tables[lo].dir == dir ? &doc->tables[lo] : NULL;
}

/* A name that is an index as fmt_index writes it ("0", "17"; never "017" or "+1"). */
static bool parse_index(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* ---- queries ----
 *
 * The public functions below take any number at all (pk.h): each asks pk_valid first, and
 * answers a number that is no entry with 0 (or NULL) before anything is read with it. */

uint64_t pk_entry_count(const pk_doc *doc)
{
    return doc->nentries - 1 + doc->nderived;
}

bool pk_valid(const pk_doc *doc, pk_ino ino)
{
    if (!pk_is_derived(ino))
        return ino >= PK_ROOT && ino < doc->nentries;
    pk_ino dir = ino >> PK_DERIVED_SHIFT; /* at least 1: ino is derived */
    if (dir >= doc->nentries)
        return false;
    const pk_entry *x = &doc->entries[dir];
    return x->ftype == PK_DIR && (x->flags & PK_EF_DERIVED) &&
           (ino & PK_DERIVED_INDEX_MASK) < pk_derived_count(doc, x);
}

pk_ftype pk_type(const pk_doc *doc, pk_ino ino)
{
    if (!pk_valid(doc, ino))
        return PK_FILE; /* as pk.h says: the other functions then refuse it */
    return pk_is_derived(ino) ? PK_FILE : (pk_ftype)doc->entries[ino].ftype;
}

static bool is_dir(const pk_doc *doc, pk_ino ino)
{
    return pk_valid(doc, ino) && !pk_is_derived(ino) && doc->entries[ino].ftype == PK_DIR;
}

pk_ino pk_parent(const pk_doc *doc, pk_ino ino)
{
    if (!pk_valid(doc, ino))
        return 0;
    if (pk_is_derived(ino))
        return ino >> PK_DERIVED_SHIFT;
    return ino == PK_ROOT ? PK_ROOT : block_of(doc, ino)->dir;
}

/* Directory dir's children, the hidden ones included. */
static uint64_t all_children(const pk_doc *doc, pk_ino dir)
{
    const pk_entry *x = &doc->entries[dir];
    return x->flags & PK_EF_DERIVED ? pk_derived_count(doc, x) : doc->branches[x->aux].u.dir.count;
}

/* The children dir lists: those before its first hidden one (PK_R_RAW), which all come last
 * in its block; found by a binary search, as a directory of arrays has as many hidden. */
static uint64_t listed_children(const pk_doc *doc, pk_ino dir)
{
    const pk_entry *x = &doc->entries[dir];
    if (x->flags & PK_EF_DERIVED) /* holds no array, so nothing hidden */
        return pk_derived_count(doc, x);
    const pk_branch *b = &doc->branches[x->aux];
    uint64_t lo = 0, hi = b->u.dir.count; /* listed below lo, hidden from hi on */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->entries[b->u.dir.first + mid].role == PK_R_RAW)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

uint64_t pk_nchildren(const pk_doc *doc, pk_ino dir)
{
    return is_dir(doc, dir) ? listed_children(doc, dir) : 0;
}

pk_ino pk_child(const pk_doc *doc, pk_ino dir, uint64_t i)
{
    return i < pk_nchildren(doc, dir) ? child_of(doc, (uint32_t)dir, i) : 0;
}

uint64_t pk_nhidden(const pk_doc *doc, pk_ino dir)
{
    return is_dir(doc, dir) ? all_children(doc, dir) - listed_children(doc, dir) : 0;
}

pk_ino pk_hidden(const pk_doc *doc, pk_ino dir, uint64_t i)
{
    if (i >= pk_nhidden(doc, dir))
        return 0;
    return child_of(doc, (uint32_t)dir, listed_children(doc, dir) + i);
}

uint64_t pk_nsubdirs(const pk_doc *doc, pk_ino dir)
{
    if (!is_dir(doc, dir) || (doc->entries[dir].flags & PK_EF_DERIVED))
        return 0; /* a derived directory holds only files */
    return pk_branch_of(doc, (uint32_t)dir)->u.dir.nsubdirs;
}

const char *pk_name(const pk_doc *doc, pk_ino ino, char buf[PK_NAME_BUF], size_t *len)
{
    if (!pk_valid(doc, ino)) {
        *len = 0;
        return NULL;
    }
    return pk_entry_name(doc, ino, buf, len);
}

pk_ino pk_lookup(const pk_doc *doc, pk_ino dir, const char *name, size_t len)
{
    uint64_t i;
    if (!is_dir(doc, dir))
        return 0;
    /* names are unique in a directory, hidden children included: a child with this name is
     * the one */
    uint64_t count = all_children(doc, dir);
    if (parse_index(name, len, &i) && i < count &&
        entry_is(doc, child_of(doc, (uint32_t)dir, i), name, len))
        return child_of(doc, (uint32_t)dir, i);
    if (count <= SMALL_DIR) {
        for (i = 0; i < count; i++)
            if (entry_is(doc, child_of(doc, (uint32_t)dir, i), name, len))
                return child_of(doc, (uint32_t)dir, i);
        return 0;
    }
    const pk_table *t = table_of(doc, (uint32_t)dir);
    return t ? table_probe(doc, t, name, len, name_hash(doc, (uint32_t)dir, name, len)) : 0;
}

const struct stat *pk_source_stat(const pk_doc *doc)
{
    return &doc->st;
}
