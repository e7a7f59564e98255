/* build_i.h: the builder, the state of the walk that lays the decoded values out as the
 * mounted tree (tree_build.c), shared with the files it calls for each part of the job:
 * entries and the children of a container (tree_add.c), the calls it would not reach
 * (tree_calls.c), sets (tree_set.c), derived blocks
 * (tree_derived.c), names (tree_names.c) and the name tables of large blocks (tree_table.c).
 * Each lays out entries of doc (entry_i.h) and reports its errors in bd->err.
 *
 * What is asked once a block or once an item (whether the names of a block need a look at
 * all) is inline here, so that the split costs no call on the way.
 */
#ifndef BUILD_I_H
#define BUILD_I_H

#include "pk_i.h"
#include "tree_i.h"
#include "lookup_i.h"

/* The values visited to render the set elements of one tree, all sets together: a file can
 * hold many sets whose elements are costly to render (shared many times over). Past it, the
 * elements of further sets sort by what little they render ("..."), then by type and order. */
#define SET_STEPS ((uint64_t)16 << 20)

typedef struct builder {
    pk_doc *doc;
    pk_error *err;
    uint64_t set_steps; /* left of SET_STEPS */
    pk_buf name;      /* scratch: the next entry's name, when it is PK_N_OWN */
    const pk_table *table; /* the table of the block being made unique; NULL when it is small
                              and taken() scans it instead */
    uint32_t at;              /* the value whose children are being laid out (pk_build_oom
                                 names it) */
    uint32_t keys[SMALL_DIR]; /* the keys of the last small block found unique as it was, when */
    uint64_t nkeys;           /* all its names were theirs (PK_N_KEY); 0 if none */
    uint32_t shape; /* the shape of the last small derived block found unique, or 0: a dict
                       of the same shape has the same names (pk_build_block_shape) */
    pk_buf renamed;    /* the base name last given a suffix ~K, in the block starting at */
    pk_ino renamed_in; /* renamed_in (0 if none), and that K: a name that comes n times is */
    uint64_t renamed_k; /* renamed in O(n) probes, not O(n^2) (pk_build_rename) */
    uint32_t *calls; /* the values made by calls that the tree does not reach otherwise, in */
    uint64_t ncalls, cap_calls; /* stream order: __calls__ at the root, when there are any */
} builder;

static inline int pk_build_opcode_at(const pk_doc *doc, uint64_t offset)
{
    return doc->src && offset < doc->src_len ? doc->src[offset] : -1;
}

/* Out of memory, or past max_memory (pk_open tells which), at the opcode that built the value
 * being laid out, if there is one yet. */
static inline int pk_build_oom(builder *bd)
{
    uint64_t off = pk_node_offset(bd->doc, bd->at);
    pk_set_error(bd->err, PK_E_NOMEM, off, bd->at ? pk_build_opcode_at(bd->doc, off) : -1,
                 pk_code_text(PK_E_NOMEM));
    return -1;
}

/* Refuse the tree with an error at the opcode that built node. */
static inline int pk_build_refuse(builder *bd, uint32_t node, pk_code code, const char *what)
{
    uint64_t off = pk_node_offset(bd->doc, node);
    pk_set_error(bd->err, code, off, pk_build_opcode_at(bd->doc, off), what);
    return -1;
}

/* Decoding checked the keys it saw (pool_keys); one that a lift made a key is checked now,
 * while the source is mapped. Out of memory, it is not a name: making it one fails too. */
static inline bool pk_build_key_is_name(pk_doc *doc, uint32_t key)
{
    return pk_key_is_name(doc, key) > 0;
}

/* ---- tree_add.c: entries, and the children of containers and objects ---- */

/* Entry x becomes a directory or a symlink (ftype), with a branch to hold what that needs; what
 * its aux kept of its name moves there. */
bool pk_build_make_branch(builder *bd, pk_entry *x, pk_ftype ftype);
/* A child of dir named name (a name picklefs makes: __reduce__, __state__...). Returns its
 * index or 0. */
uint32_t pk_build_add_named(builder *bd, uint32_t dir, const char *name, uint32_t node,
                            pk_role role);
/* Item i of the block whose first entry is first, named i. Returns its index or 0. */
uint32_t pk_build_add_indexed(builder *bd, uint32_t dir, uint32_t first, uint64_t i,
                              uint32_t node);
/* The items of list or tuple c, named by index; the values of dict c, named by their keys; an
 * object's directory. Each returns 0, or -1 on an error. */
int pk_build_add_items(builder *bd, uint32_t dir, const pk_node *c);
int pk_build_add_pairs(builder *bd, uint32_t dir, const pk_node *c);
int pk_build_add_object(builder *bd, uint32_t dir, uint32_t node);
/* The hidden NAME.raw of each array among entries first..first+n-1 of dir, after them. Returns
 * 0, or -1 on an error. */
int pk_build_add_hidden(builder *bd, uint32_t dir, uint32_t first, uint64_t n);

/* ---- tree_calls.c ---- */

/* Find the values made by calls that the tree would not reach from the top values (popped,
 * left on the stack, kept only in the memo), in stream order, into bd->calls. 0, or -1 on an
 * error. */
int pk_build_find_calls(builder *bd);

/* ---- tree_set.c ---- */

/* The elements of set c, sorted, named by index. Returns 0, or -1 on an error. */
int pk_build_add_set(builder *bd, uint32_t dir, const pk_node *c);

/* ---- tree_derived.c ---- */

/* Make entry dir a directory of derived children (PK_EF_DERIVED, no branch), if they can be
 * one and their names are unique as they are. Returns 0 when it did, 1 when they must be laid
 * out, -1 on an error. */
int pk_build_add_derived(builder *bd, uint32_t dir);

/* ---- tree_names.c: names of entries, unique in a block ---- */

/* The name of a dict entry whose key is node `key`, into b. */
void pk_build_key_name(const pk_doc *doc, uint32_t key, pk_buf *b);
/* Keep bd->name as entry x's own name (where pk_entry_name looks for it), with the key the
 * entry shows the value of (0 if none). */
bool pk_build_own_name(builder *bd, pk_entry *x, uint32_t key);
/* Stored entry first+j's name is taken: it becomes NAME~K, the first K that is free. */
int pk_build_rename(builder *bd, uint32_t first, uint32_t j);
/* pk_build_unique_block for a small block (of at most SMALL_DIR entries) that is not a record
 * of the last unique shape (shape, or 0 for none), nor named by index. */
int pk_build_unique_small(builder *bd, pk_ino first, uint64_t n, uint32_t shape);

/* ---- tree_table.c: the name tables of large blocks ---- */

/* pk_build_unique_block for a large block (of more than SMALL_DIR entries) not named by
 * index: it gets a table of its names, which pk_lookup uses afterwards. */
int pk_build_unique_large(builder *bd, uint32_t dir, pk_ino first, uint64_t n);
/* Sort the tables, made in the order directories were laid out, by directory for table_of. */
void pk_build_sort_tables(pk_doc *doc);

/* ---- whether the names of a block need a look ---- */

/* Are entries first..first+n-1 named 0..n-1, in order (a list, a tuple, a set)? */
static inline bool pk_build_indexed_block(const pk_doc *doc, pk_ino first, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (pk_entry_get(doc, first + i).name_kind != PK_N_INDEX)
            return false;
    return true;
}

/* The shape of the run of derived dict block first (pk_chain in pk_i.h), or 0 if it has
 * none: a dict whose keys are those of the plain run it names, in the same order. */
static inline uint32_t pk_build_block_shape(const pk_doc *doc, pk_ino first)
{
    if (!pk_is_derived(first))
        return 0;
    const pk_node *c = &doc->nodes[doc->entries[first >> PK_DERIVED_SHIFT].node];
    uint32_t r = c->u.c.items; /* a derived block's one run */
    return c->kind == PK_K_DICT ? pk_run_shape(doc, r) : 0;
}

/* Make the names of the block first..first+n-1 unique: in pickled order, a name taken by an
 * earlier entry gets ~1, ~2, ... (the first of those not taken). A large block not named by
 * index gets a table of its names on the way, which pk_lookup uses afterwards. Entries of a
 * derived block cannot be renamed: for one whose names are not unique, it makes no table and
 * returns 1 (the caller then stores the block). Otherwise it returns 0, or -1 on an error. */
static inline int pk_build_unique_block(builder *bd, uint32_t dir, pk_ino first, uint64_t n)
{
    bd->table = NULL;
    /* the fields of one more record: the same names, unique as before; inline, as it is asked
     * once a record */
    uint32_t shape = n <= SMALL_DIR ? pk_build_block_shape(bd->doc, first) : 0;
    if (shape && shape == bd->shape)
        return 0;
    if (n < 2 || pk_build_indexed_block(bd->doc, first, n))
        return 0;
    if (n <= SMALL_DIR)
        return pk_build_unique_small(bd, first, n, shape);
    return pk_build_unique_large(bd, dir, first, n);
}

#endif
