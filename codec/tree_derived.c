/* tree_derived.c: derived blocks, for the builder (build_i.h).
 *
 * Most entries are not stored: a block of plain files named as their items are (a record's
 * fields, a list of numbers) is never laid out. Its names are checked for duplicates on the
 * container's items, and its directory is marked derived (PK_EF_DERIVED in entry_i.h): its
 * entries are read off the items (pk_entry_get in tree_i.h). A record of the shape of the last
 * unique one needs no check of its names at all.
 */
#include "build_i.h"

/* Is the item a plain file, with no children and no NAME.raw sibling? */
static bool plain_file(const pk_doc *doc, uint32_t item)
{
    pk_kind k = (pk_kind)doc->nodes[item].kind;
    return !PK_K_IS_CONTAINER(k) && k != PK_K_ARRAY;
}

/* Would every child of directory dir be a plain file of the item at its position, named by
 * its index or its str key as it is? Then the block is made derived (pk_entry_get) rather than
 * laid out: a list, tuple or dict whose items are one run, with no BUILD state or state setter,
 * and no item a container or an array (which gets a NAME.raw sibling). Its n children are set in *n, and
 * *unique says whether their names are known to be unique already. */
static bool derivable(builder *bd, uint32_t dir, uint64_t *n, bool *unique)
{
    pk_doc *doc = bd->doc;
    const pk_entry *d = &doc->entries[dir];
    if (d->role != PK_R_VALUE)
        return false;
    const pk_node *c = &doc->nodes[d->node];
    bool dict = c->kind == PK_K_DICT;
    const pk_call *call = pk_call_of(doc, c);
    if (!(dict || c->kind == PK_K_LIST || c->kind == PK_K_TUPLE) || (call && (call->state || call->setter)))
        return false;
    uint32_t count = pk_count(doc, c);
    if (count == 0 || (c->flags & PK_NF_CHAINED) || (dict && count % 2))
        return false; /* not one run, or a dict with a key and no value */
    uint32_t run = c->u.c.items;
    uint64_t files = dict ? count / 2 : count;
    *n = files;
    uint32_t shape = dict ? pk_run_shape(doc, run) : 0;
    /* a list's or a tuple's names are their indices, unique as they are; a record of the last
     * unique shape (pk_build_unique_block) has its names, found names when that shape was laid
     * out */
    bool last_shape = shape && shape == bd->shape;
    *unique = !dict || last_shape;
    if (last_shape) {
        const uint32_t *values = pk_shaped_values(doc, run);
        for (uint64_t i = 0; i < files; i++)
            if (!plain_file(doc, values[i]))
                return false;
        return true;
    }
    for (uint64_t i = 0; i < files; i++) {
        if (!plain_file(doc, pk_run_item(doc, run, dict ? 2 * i + 1 : i)))
            return false;
        if (dict && !pk_build_key_is_name(doc, pk_run_item(doc, run, 2 * i)))
            return false;
    }
    return true;
}

/* Make entry dir a directory of derived children (PK_EF_DERIVED, no branch), if they can be
 * one and their names are unique as they are. Returns 0 when it did, 1 when they must be laid
 * out, -1 on an error. */
int pk_build_add_derived(builder *bd, uint32_t dir)
{
    pk_doc *doc = bd->doc;
    pk_entry *x = &doc->entries[dir];
    uint64_t count;
    bool unique;
    if (!derivable(bd, dir, &count, &unique))
        return 1;
    x->flags |= PK_EF_DERIVED; /* its children's numbers, while their names are checked */
    int rc = unique ? 0 : pk_build_unique_block(bd, dir, (pk_ino)dir << PK_DERIVED_SHIFT, count);
    if (rc != 0) {
        x->flags &= (uint8_t)~PK_EF_DERIVED;
        return rc;
    }
    x->ftype = PK_DIR;
    doc->nderived += count;
    return 0;
}
