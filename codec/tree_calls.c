/* tree_calls.c: which calls the tree would not show, for the builder (build_i.h).
 *
 * Every call the stream makes must be visible in the mount. Most calls build a value that ends
 * up in the tree; a call whose value the pickle pops, keeps only in the memo, leaves on the
 * stack at STOP, or puts in a BUILD state that is then replaced, does not; nor does a call
 * used as a dict key, which names an entry and is no entry itself. The decoder notes
 * every value a call made (doc->made, in stream order) and whether anything was dropped at all
 * (doc->dropped); only then is the graph walked here, from the pickles' top values along the
 * edges the layout follows (items, an object's callable, arguments, nested pickle, state,
 * items, state setter), and the values made by calls that it does not reach are listed in the
 * root's __calls__ (tree_build.c), in stream order. An ordinary pickle drops nothing, and
 * costs nothing here.
 */
#include "build_i.h"

#include <stdlib.h>

typedef struct reach {
    const pk_doc *doc;
    uint64_t *seen; /* a bit per value: reached as an entry... */
    uint64_t *key;  /* ...or inside a dict key, which only names an entry */
    uint32_t *stack, *keys; /* to visit, as entries and inside keys */
    uint64_t sp, cap, kp, kcap;
} reach;

static bool bit(const uint64_t *bits, uint32_t node)
{
    return bits[node >> 6] >> (node & 63) & 1;
}
static void set_bit(uint64_t *bits, uint32_t node)
{
    bits[node >> 6] |= (uint64_t)1 << (node & 63);
}

/* Mark node reached as an entry; its children are visited later. false when out of memory. */
static bool visit(reach *r, uint32_t node)
{
    if (!node || bit(r->seen, node))
        return true;
    set_bit(r->seen, node);
    if (!pk_grow((void **)&r->stack, &r->cap, r->sp + 1, sizeof(uint32_t)))
        return false;
    r->stack[r->sp++] = node;
    return true;
}

/* A dict key, or a value inside one. Its text names an entry, which is enough for data (bytes
 * read from _codecs.encode, a frozenset), but not for an opaque call: that is left unreached,
 * so that __calls__ shows it as an entry (unless an entry shows it elsewhere). */
static bool visit_key(reach *r, uint32_t node)
{
    if (!node || bit(r->key, node))
        return true;
    set_bit(r->key, node);
    if (r->doc->nodes[node].kind == PK_K_OBJECT)
        return true;
    if (!pk_grow((void **)&r->keys, &r->kcap, r->kp + 1, sizeof(uint32_t)))
        return false;
    r->keys[r->kp++] = node;
    return true;
}

/* The values the tree shows as entries below node, as tree_build.c and tree_add.c lay them out:
 * a container's items (a dict's keys only name entries), an object's callable, arguments,
 * state and items, and a container's state and state setter. Inside a key (in_key), every
 * item is inside that key. */
static bool visit_children(reach *r, uint32_t node, bool in_key)
{
    const pk_doc *doc = r->doc;
    const pk_node *n = &doc->nodes[node];
    if (!PK_K_IS_CONTAINER(n->kind))
        return true;
    pk_cursor cur = pk_items_of(doc, n);
    uint32_t item;
    bool dict = n->kind == PK_K_DICT;
    for (uint64_t i = 0; pk_item_next(doc, &cur, &item); i++)
        if (!(in_key || (dict && i % 2 == 0) ? visit_key(r, item) : visit(r, item)))
            return false;
    const pk_call *c = pk_call_of(doc, n);
    if (!c || in_key)
        return true;
    if (n->kind == PK_K_OBJECT &&
        (!visit(r, c->callable) || !visit(r, c->args) || !visit(r, c->kwargs) ||
         !visit(r, pk_call_nested(doc, (uint32_t)(c - doc->calls))) || !visit(r, c->items) ||
         !visit(r, c->dictitems)))
        return false;
    return visit(r, c->state) && visit(r, c->setter);
}

/* Is a value inside a key shown by that key's name? Data is; an opaque call, or a value with
 * a BUILD state or state setter, has more than its name says. */
static bool named_by_key(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = pk_call_of(doc, n);
    return n->kind != PK_K_OBJECT && !(c && (c->state || c->setter));
}

int pk_build_find_calls(builder *bd)
{
    pk_doc *doc = bd->doc;
    bd->ncalls = 0;
    if (!doc->dropped || !doc->nmade)
        return 0;
    /* the scratch below counts in max_memory: two bitmaps, each value at most once on each
     * stack, and the list of values not reached */
    uint64_t scratch = doc->nnodes / 4 + 8 * (uint64_t)doc->nnodes + 4 * doc->nmade;
    if (!pk_doc_room(doc, scratch))
        return pk_build_oom(bd);
    reach r = {.doc = doc};
    int rc = -1;
    r.seen = calloc((size_t)(doc->nnodes / 64 + 1), sizeof(uint64_t));
    r.key = calloc((size_t)(doc->nnodes / 64 + 1), sizeof(uint64_t));
    bool ok = r.seen && r.key;
    for (uint64_t i = 0; ok && i < doc->ntops; i++)
        ok = visit(&r, doc->tops[i]);
    while (ok && (r.sp || r.kp))
        ok = r.sp ? visit_children(&r, r.stack[--r.sp], false)
                  : visit_children(&r, r.keys[--r.kp], true);
    if (!ok)
        goto out;
    /* the values not reached, in the order their calls were made; each once */
    for (uint64_t i = 0; i < doc->nmade; i++) {
        uint32_t n = doc->made[i];
        if (bit(r.seen, n) || (bit(r.key, n) && named_by_key(doc, n)))
            continue;
        set_bit(r.seen, n);
        if (!pk_grow((void **)&bd->calls, &bd->cap_calls, bd->ncalls + 1, sizeof(uint32_t)))
            goto out;
        bd->calls[bd->ncalls++] = n;
    }
    rc = 0;
out:
    free(r.seen);
    free(r.key);
    free(r.stack);
    free(r.keys);
    return rc < 0 ? pk_build_oom(bd) : 0;
}
