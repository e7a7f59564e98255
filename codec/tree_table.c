/* tree_table.c: the name tables of large blocks, made as the builder (build_i.h) makes their
 * names unique, and kept for lookups (lookup_i.h probes them).
 *
 * Lookups after the mount need no table for most directories: a list's children are named by
 * their index, so a decimal name is tried at that index first, and a small directory is
 * scanned. Only large directories whose names are not their indices (wide dicts) get a table:
 * its names go in one by one, in pickled order, each found free or renamed (pk_build_rename)
 * on the way, with the slots of the next few names prefetched. The tables are sorted by
 * directory once the tree is laid out.
 */
#include "build_i.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* How far ahead the table slots of a large block are prefetched: a slot is a cache miss, and
 * a wide dict's table is far bigger than the caches. */
#define PREFETCH_AHEAD 16

/* A name of a large block whose slot is being prefetched. */
typedef struct ahead_name {
    const char *name; /* in the pool, or in buf (an index name) */
    size_t len;
    uint64_t hash;
    char buf[PK_NAME_BUF];
} ahead_name;

static void look_ahead(const pk_doc *doc, const pk_table *t, pk_ino e, ahead_name *a)
{
    a->name = pk_entry_name(doc, e, a->buf, &a->len);
    a->hash = name_hash(doc, t->dir, a->name, a->len);
    __builtin_prefetch(&doc->slots[t->start + home_slot(t, a->hash)]);
}

/* A wide directory's table is probed at random, one slot per name, and on a virtual machine a
 * TLB miss costs more than the cache miss it comes with. Back its 2 MiB-aligned part by huge
 * pages where the kernel allows it (transparent huge pages in "madvise" mode); the table is
 * zeroed whole right after, so this takes no more memory. */
static void advise_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t from = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t to = ((uintptr_t)p + len) & ~(huge - 1);
    if (to > from)
        madvise((void *)from, to - from, MADV_HUGEPAGE); /* advice: failing changes nothing */
#else
    (void)p;
    (void)len;
#endif
}

/* A new empty table for directory dir of n children, at most three quarters full, as
 * bd->table. */
static bool new_table(builder *bd, uint32_t dir, uint64_t n)
{
    pk_doc *doc = bd->doc;
    uint64_t start = doc->nslots, size = n + n / 3 + 1;
    if (size > UINT32_MAX ||
        !pk_doc_grow(doc, (void **)&doc->slots, &doc->cap_slots, start + size, sizeof(uint32_t)) ||
        !pk_doc_grow(doc, (void **)&doc->tables, &doc->cap_tables, doc->ntables + 1,
                     sizeof(pk_table)))
        return false;
    advise_huge(doc->slots + start, size * sizeof(uint32_t));
    memset(doc->slots + start, 0, size * sizeof(uint32_t));
    doc->nslots = start + size;
    doc->tables[doc->ntables] = (pk_table){start, dir, (uint32_t)size};
    bd->table = &doc->tables[doc->ntables++];
    return true;
}

/* A new table for the block, filled with its names in pickled order: a name already in it is
 * renamed (or, in a derived block, which cannot be, the table is given back). */
int pk_build_unique_large(builder *bd, uint32_t dir, pk_ino first, uint64_t n)
{
    pk_doc *doc = bd->doc;
    bool derived = pk_is_derived(first);
    if (!new_table(bd, dir, n))
        return pk_build_oom(bd);
    const pk_table *t = bd->table;
    /* the next PREFETCH_AHEAD names and hashes, so that their slots are fetched early */
    ahead_name ahead[PREFETCH_AHEAD];
    for (uint32_t j = 0; j < PREFETCH_AHEAD && j < n; j++)
        look_ahead(doc, t, first + j, &ahead[j]);
    for (uint32_t j = 0; j < n; j++) {
        ahead_name *a = &ahead[j % PREFETCH_AHEAD];
        uint32_t *slot;
        uint64_t hash = a->hash;
        if (table_find(doc, t, a->name, a->len, hash, &slot)) {
            if (derived) { /* give the table back: it is the last one made */
                doc->nslots = t->start;
                doc->ntables--;
                bd->table = NULL;
                return 1;
            }
            if (pk_build_rename(bd, (uint32_t)first, j) < 0)
                return -1;
            /* its new name is not taken; the pool it went to may have moved the names ahead */
            for (uint64_t k = j; k < (uint64_t)j + PREFETCH_AHEAD && k < n; k++)
                look_ahead(doc, t, first + k, &ahead[k % PREFETCH_AHEAD]);
            hash = a->hash;
            table_find(doc, t, a->name, a->len, hash, &slot);
        }
        *slot = ((uint32_t)hash & tag_mask(t)) | (j + 1);
        if ((uint64_t)j + PREFETCH_AHEAD < n)
            look_ahead(doc, t, first + j + PREFETCH_AHEAD, a);
    }
    return 0;
}

/* Tables in the order of their directories, which table_of (tree.c) searches. */
static int by_dir(const void *a, const void *b)
{
    uint32_t x = ((const pk_table *)a)->dir, y = ((const pk_table *)b)->dir;
    return (x > y) - (x < y);
}

void pk_build_sort_tables(pk_doc *doc)
{
    if (doc->ntables)
        qsort(doc->tables, doc->ntables, sizeof *doc->tables, by_dir);
}
