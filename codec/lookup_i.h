/* lookup_i.h: finding a child of a directory by its name, for tree.c's pk_lookup and for the
 * files that lay the tree out (build_i.h), which make each block's names unique on the way.
 *
 * A list's children are named by their index (fmt_index), and a small directory is scanned.
 * A large directory whose names are not its indices (a wide dict) has a name table (pk_table in
 * entry_i.h): hashed names in open addressing, probed here and made by tree_table.c. These are
 * inline: the layout probes a table once for every name of a wide dict.
 */
#ifndef LOOKUP_I_H
#define LOOKUP_I_H

#include "pk_i.h"
#include "tree_i.h"

#include <string.h>

/* Directories with more children than this are hashed (unless named by index); smaller ones
 * are scanned, which costs less than a cache miss into a big table (records of a few dozen
 * fields are common, and a lookup is a FUSE round trip anyway). */
#define SMALL_DIR 64

/* i in decimal, as list entries are named; returns the length. */
static inline size_t fmt_index(uint64_t i, char out[24])
{
    char t[24];
    size_t n = 0, k = 0;
    do
        t[n++] = (char)('0' + i % 10);
    while ((i /= 10) != 0);
    while (n)
        out[k++] = t[--n];
    return k;
}

/* Child i of directory dir. */
static inline pk_ino child_of(const pk_doc *doc, uint32_t dir, uint64_t i)
{
    if (doc->entries[dir].flags & PK_EF_DERIVED)
        return (pk_ino)dir << PK_DERIVED_SHIFT | i;
    return pk_branch_of(doc, dir)->u.dir.first + i;
}

/* Is entry e named name? (Only entries of one directory are ever compared.) */
static inline bool entry_is(const pk_doc *doc, pk_ino e, const char *name, size_t len)
{
    char buf[PK_NAME_BUF];
    size_t n;
    const char *s = pk_entry_name(doc, e, buf, &n);
    return n == len && memcmp(s, name, len) == 0;
}

/* Eight bytes at a time, then mixed so that every bit of the hash depends on every byte. The
 * seed is random per tree, so a file cannot be made of names that all fall in one slot. */
static inline uint64_t name_hash(const pk_doc *doc, uint32_t parent, const char *name,
                                 size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint64_t h = (doc->hash_seed ^ len) + (uint64_t)parent * k;
    uint64_t w;
    for (; len >= 8; name += 8, len -= 8) {
        memcpy(&w, name, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    /* The last 1-7 bytes, read as two 4-byte words that may overlap, or as three bytes that
     * may be the same: either covers each byte (the length is in the seed). Copying them into
     * a zeroed word instead stalls the load that reads it back. */
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, name, 4);
        memcpy(&b, name + len - 4, 4);
        h = (h ^ ((uint64_t)a << 32 | b)) * k;
    } else if (len) {
        w = (uint64_t)(uint8_t)name[0] << 16 | (uint64_t)(uint8_t)name[len / 2] << 8 |
            (uint8_t)name[len - 1];
        h = (h ^ w) * k;
    }
    h ^= h >> 33; /* the finaliser of MurmurHash3 */
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* Where a name's probe starts in table t: from the high half of its hash. */
static inline uint64_t home_slot(const pk_table *t, uint64_t hash)
{
    return (hash >> 32) * t->size >> 32;
}

/* The bits of a slot above the position it holds (which is below size): they keep as many of
 * the low half of the name's hash. */
static inline uint32_t tag_mask(const pk_table *t)
{
    int bits = 32 - __builtin_clz(t->size);
    return bits >= 32 ? 0 : UINT32_MAX << bits;
}

/* The child of t->dir named name (whose hash is hash) in its table t, or 0; *end is then the
 * empty slot the name would take. */
static inline pk_ino table_find(const pk_doc *doc, const pk_table *t, const char *name,
                                size_t len, uint64_t hash, uint32_t **end)
{
    uint32_t *slot = doc->slots + t->start;
    uint32_t tags = tag_mask(t), tag = (uint32_t)hash & tags;
    uint64_t h = home_slot(t, hash);
    pk_ino e = 0;
    for (; slot[h]; h = h + 1 < t->size ? h + 1 : 0) {
        if ((slot[h] & tags) != tag)
            continue;
        e = child_of(doc, t->dir, (slot[h] & ~tags) - 1);
        if (entry_is(doc, e, name, len))
            break;
        e = 0;
    }
    *end = &slot[h];
    return e;
}

static inline pk_ino table_probe(const pk_doc *doc, const pk_table *t, const char *name,
                                 size_t len, uint64_t hash)
{
    uint32_t *end;
    return table_find(doc, t, name, len, hash, &end);
}

#endif
