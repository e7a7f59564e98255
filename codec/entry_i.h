/* entry_i.h: the records of the mounted tree (tree.c lays them out, content.c serves them):
 * entries, their names, the blocks of a directory's children, and the name tables of large
 * directories. Types only: what reads them is in tree_i.h. */
#ifndef ENTRY_I_H
#define ENTRY_I_H

#include <stdbool.h>
#include <stdint.h>

#include "pk.h"

/* How an entry's name is kept. Most names are not stored: a list item's is its position, a
 * dict item's is its str key. */
typedef enum pk_name_kind {
    PK_N_INDEX, /* its position in the parent's block, in decimal (lists, tuples, sets) */
    PK_N_KEY,   /* the bytes of its str key (pk_entry_key), in the pool */
    PK_N_OWN,   /* a span of the pool kept in doc->names (escaped, renamed, made by picklefs):
                   its index is a file's entry.aux, or a directory's or symlink's
                   branch.name_aux */
} pk_name_kind;

/* A name an entry keeps itself (PK_N_OWN), and the key of the dict item it names, if any. */
typedef struct pk_own_name {
    uint64_t pos; /* in the pool */
    uint32_t len; /* at most 255 */
    uint32_t key; /* the key's node, or 0 */
} pk_own_name;

/* An entry of the mounted tree: 12 bytes, and one per place in the tree is stored. What only
 * directories and symlinks need is in their pk_branch. A dict item's key (for its name and
 * user.pickle.key) is found by pk_entry_key, and its parent by pk_parent (doc->blocks). */
typedef struct pk_entry {
    uint32_t node;     /* the value shown here; 0 for synthetic entries (see role) */
    uint32_t aux;      /* PK_FILE and PK_EF_DERIVED directories: its key's node (PK_N_KEY), or
                          its name's index in doc->names (PK_N_OWN); other directories and
                          PK_LINK: its index in doc->branches */
    uint8_t ftype;     /* pk_ftype */
    uint8_t role;      /* pk_role */
    uint8_t name_kind; /* pk_name_kind */
    uint8_t flags;     /* PK_EF_* */
} pk_entry;

enum {
    PK_EF_DERIVED = 1, /* a directory whose children are derived: it has no branch */
};

/* The children of a directory are one block of entries, first..first+count-1, and blocks are
 * laid out one after another: doc->blocks lists the non-empty ones in that order, so the
 * parent of an entry is the dir of the last block that starts at or before it. */
typedef struct pk_block {
    uint32_t first;
    uint32_t dir;
} pk_block;

/* A DERIVED block stores no entries. Its directory is a list, tuple or dict whose items are one
 * run, and whose children are all plain files named by their index or str key, in item order:
 * child i is numbered (dir << 32) | i, above every stored entry, and pk_entry_get reads it off
 * the items. Such a directory has PK_EF_DERIVED and no branch: its count of children is its
 * items' (pk_derived_count), and it has no subdirectory. */
#define PK_DERIVED_SHIFT 32
static inline bool pk_is_derived(pk_ino e)
{
    return e >> PK_DERIVED_SHIFT != 0;
}

/* The rest of a directory or symlink entry: 16 bytes. */
typedef struct pk_branch {
    uint32_t name_aux; /* what a file keeps in its entry's aux: the key's node (PK_N_KEY), or
                          the name's index in doc->names (PK_N_OWN) */
    union {
        struct {
            uint32_t first; /* children are entries first .. first+count-1, the hidden ones
                               (PK_R_RAW) last */
            uint32_t count;
            uint32_t nsubdirs; /* children that are directories */
        } dir;              /* PK_DIR */
        uint32_t target;    /* PK_LINK: the entry it points to */
    } u;
} pk_branch;

/* The name table of a directory of more than SMALL_DIR children not named by index (tree.c),
 * made when its names were made unique and kept for lookups: `size` slots of doc->slots from
 * start on, at most three quarters full, 0 when empty. A slot is 4 bytes: the child's
 * position + 1 in its low bits (as many as size has), and above them as many bits of the
 * name's hash as are left, which spare most comparisons of names. */
typedef struct pk_table {
    uint64_t start;
    uint32_t dir;
    uint32_t size;
} pk_table;

/* Why an entry exists: most show a value; a few are made by picklefs. */
typedef enum pk_role {
    PK_R_VALUE,   /* shows entry.node */
    PK_R_REDUCE,  /* the __reduce__ line of object entry.node (text in entry.name's sibling) */
    PK_R_STREAM,  /* the root of a multi-pickle file */
    PK_R_RAW,     /* NAME.raw beside an array NAME: its element bytes (array_raw.c). Hidden:
                     these come last in their block, and a directory lists its children only
                     up to the first of them; pk_lookup finds them by name */
    PK_R_CALLS,   /* __calls__ at the root: the calls whose values the tree does not reach
                     (tree_calls.c) */
} pk_role;


#endif
