/* tree_i.h: reading the laid-out tree (tree.c), for the files of the view that serve it; and
 * pk_build_tree (tree_build.c), which lays it out, for pk_open. */
#ifndef TREE_I_H
#define TREE_I_H

#include "pk_i.h"

/* tree_build.c: lay out the entries and the name tables. */
int pk_build_tree(pk_doc *doc, pk_error *err);
/* Forget a tree laid out (or half laid out, by a pk_build_tree that failed), to lay out
 * another of the same values. */
void pk_build_reset(pk_doc *doc);
static inline pk_branch *pk_branch_of(const pk_doc *doc, uint32_t dir_or_link)
{
    return &doc->branches[doc->entries[dir_or_link].aux];
}
/* The children of a PK_EF_DERIVED directory x: one per item, or per two of a dict's. */
static inline uint64_t pk_derived_count(const pk_doc *doc, const pk_entry *x)
{
    const pk_node *c = &doc->nodes[x->node];
    return pk_count(doc, c) / (c->kind == PK_K_DICT ? 2 : 1);
}
/* Derived entry e's item in its directory's one run: the value it shows, or (key) the dict key
 * that names it, 0 for a list's or a tuple's, named by its index. A dict's items are key,
 * value, key, value...: child i of a derived dict shows item 2i + 1. */
#define PK_DERIVED_INDEX_MASK (((pk_ino)1 << PK_DERIVED_SHIFT) - 1)
static inline uint32_t pk_derived_item(const pk_doc *doc, pk_ino e, bool key)
{
    const pk_node *c = &doc->nodes[doc->entries[e >> PK_DERIVED_SHIFT].node];
    uint64_t i = e & PK_DERIVED_INDEX_MASK;
    if (c->kind != PK_K_DICT)
        return key ? 0 : pk_run_item(doc, c->u.c.items, i);
    return pk_run_item(doc, c->u.c.items, key ? 2 * i : 2 * i + 1);
}
/* Entry e, stored or derived (a valid entry: pk_valid). */
static inline pk_entry pk_entry_get(const pk_doc *doc, pk_ino e)
{
    if (!pk_is_derived(e))
        return doc->entries[e];
    bool dict = doc->nodes[doc->entries[e >> PK_DERIVED_SHIFT].node].kind == PK_K_DICT;
    return (pk_entry){.ftype = PK_FILE,
                      .role = PK_R_VALUE,
                      .name_kind = dict ? PK_N_KEY : PK_N_INDEX,
                      .node = pk_derived_item(doc, e, false),
                      .aux = pk_derived_item(doc, e, true)};
}
/* The node of the dict key entry e shows the value of, or 0 (tree.c). */
uint32_t pk_entry_key(const pk_doc *doc, pk_ino e);
/* Entry e's name: in the pool, or written into buf (an index name). */
const char *pk_entry_name(const pk_doc *doc, pk_ino e, char buf[PK_NAME_BUF], size_t *len);


#endif
