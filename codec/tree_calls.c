/* tree_calls.c: which calls the tree would not show, for the builder (build_i.h).
 *
 * Every call the stream makes must be visible in the mount. Most calls build a value that ends
 * up in the tree; a call whose value the pickle pops, keeps only in the memo, leaves on the
 * stack at STOP, or puts in a BUILD state that is then replaced, does not. The decoder notes
 * every value a call made (doc->made, in stream order) and whether anything was dropped at all
 * (doc->dropped); only then is the graph walked here, from the pickles' top values along the
 * edges the layout follows (items, an object's callable, arguments, state, items, state
 * setter), and the values made by calls that it does not reach are listed in the root's
 * __calls__ (tree_build.c), in stream order. An ordinary pickle drops nothing, and costs
 * nothing here.
 */
#include "build_i.h"

#include <stdlib.h>

typedef struct reach {
    const pk_doc *doc;
    uint64_t *seen; /* a bit per value */
    uint32_t *stack;
    uint64_t sp, cap;
} reach;

static bool seen(const reach *r, uint32_t node)
{
    return r->seen[node >> 6] >> (node & 63) & 1;
}

/* Mark node reached; its children are visited later. false when out of memory. */
static bool visit(reach *r, uint32_t node)
{
    if (!node || seen(r, node))
        return true;
    r->seen[node >> 6] |= (uint64_t)1 << (node & 63);
    if (!pk_grow((void **)&r->stack, &r->cap, r->sp + 1, sizeof(uint32_t)))
        return false;
    r->stack[r->sp++] = node;
    return true;
}

/* The values the tree shows below node, as tree_build.c and tree_add.c lay them out: a
 * container's items (a dict's keys too: they name its entries), an object's callable,
 * arguments, state and items, and a container's state and state setter. */
static bool visit_children(reach *r, uint32_t node)
{
    const pk_doc *doc = r->doc;
    const pk_node *n = &doc->nodes[node];
    if (!PK_K_IS_CONTAINER(n->kind))
        return true;
    pk_cursor cur = pk_items_of(doc, n);
    uint32_t item;
    while (pk_item_next(doc, &cur, &item))
        if (!visit(r, item))
            return false;
    const pk_call *c = pk_call_of(doc, n);
    if (!c)
        return true;
    if (n->kind == PK_K_OBJECT &&
        (!visit(r, c->callable) || !visit(r, c->args) || !visit(r, c->kwargs) ||
         !visit(r, c->items) || !visit(r, c->dictitems)))
        return false;
    return visit(r, c->state) && visit(r, c->setter);
}

int pk_build_find_calls(builder *bd)
{
    pk_doc *doc = bd->doc;
    bd->ncalls = 0;
    if (!doc->dropped || !doc->nmade)
        return 0;
    reach r = {.doc = doc};
    int rc = -1;
    r.seen = calloc((size_t)(doc->nnodes / 64 + 1), sizeof(uint64_t));
    if (!r.seen)
        return pk_build_oom(bd);
    bool ok = true;
    for (uint64_t i = 0; ok && i < doc->ntops; i++)
        ok = visit(&r, doc->tops[i]);
    while (ok && r.sp)
        ok = visit_children(&r, r.stack[--r.sp]);
    if (!ok)
        goto out;
    /* the values not reached, in the order their calls were made; each once */
    for (uint64_t i = 0; i < doc->nmade; i++) {
        uint32_t n = doc->made[i];
        if (seen(&r, n))
            continue;
        r.seen[n >> 6] |= (uint64_t)1 << (n & 63);
        if (!pk_grow((void **)&bd->calls, &bd->cap_calls, bd->ncalls + 1, sizeof(uint32_t)))
            goto out;
        bd->calls[bd->ncalls++] = n;
    }
    rc = 0;
out:
    free(r.seen);
    free(r.stack);
    return rc < 0 ? pk_build_oom(bd) : 0;
}
