/* lift_args.c: what every lift reads its arguments with (the items of a tuple, a str or a
 * GLOBAL compared with a name), and the text value a lifted scalar becomes. */
#include "lift_i.h"
#include "source_i.h"

#include <string.h>

/* The dotted name of a GLOBAL into out; false if node is no GLOBAL or the name does not fit. */
bool pk_global_name(const pk_doc *doc, uint32_t node, char *out, size_t size)
{
    const pk_node *n = &doc->nodes[node];
    uint64_t len = n->kind == PK_K_GLOBAL ? pk_span_len(doc, n) : 0;
    if (n->kind != PK_K_GLOBAL || len >= size)
        return false;
    memcpy(out, pk_span_ptr(doc, n), (size_t)len);
    out[len] = 0;
    return true;
}

bool pk_global_is(const pk_doc *doc, uint32_t node, const char *dotted)
{
    const pk_node *n = &doc->nodes[node];
    size_t k = strlen(dotted);
    return n->kind == PK_K_GLOBAL && pk_span_len(doc, n) == k &&
           memcmp(pk_span_ptr(doc, n), dotted, k) == 0;
}

uint32_t pk_tuple_item(const pk_doc *doc, uint32_t tuple, uint64_t i)
{
    const pk_node *t = &doc->nodes[tuple];
    if (t->kind != PK_K_TUPLE || i >= pk_count(doc, t))
        return 0;
    return pk_item_at(doc, t, i);
}

uint64_t pk_tuple_len(const pk_doc *doc, uint32_t tuple)
{
    const pk_node *t = &doc->nodes[tuple];
    return t->kind == PK_K_TUPLE ? pk_count(doc, t) : UINT64_MAX;
}

bool pk_str_is(const pk_doc *doc, uint32_t node, const char *text)
{
    const pk_node *n = &doc->nodes[node];
    size_t k = strlen(text);
    if (n->kind != PK_K_STR || pk_span_len(doc, n) != k)
        return false;
    const uint8_t *p = pk_span_ptr(doc, n);
    return p && memcmp(p, text, k) == 0;
}

/* A pickle's own containers take at most a few item slots per byte of it; a lifted value
 * copies the items of its argument, and a pickle can ask for the same big copy again and again
 * for a few bytes each (builtins.set(L) after a GET of L). Copies stop, and the calls stay
 * opaque, once the item slots would pass this many per byte of the stream. */
#define LIFT_ITEMS_PER_BYTE 4
#define LIFT_ITEMS_MIN 65536

bool pk_lift_can_copy(const pk_doc *doc, uint64_t count)
{
    uint64_t budget = doc->src_len * LIFT_ITEMS_PER_BYTE + LIFT_ITEMS_MIN;
    return doc->nitems <= budget && count <= budget - doc->nitems;
}

int pk_lift_oom(pk_lift_ctx *c)
{
    return c->fail(c, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
}

int pk_lift_text(pk_lift_ctx *c, uint16_t tname, uint32_t callable, uint32_t args,
                 const pk_buf *text, uint32_t *out)
{
    pk_doc *doc = c->doc;
    if (text->failed)
        return pk_lift_oom(c);
    uint32_t n = pk_lift_new_node(c, PK_K_TEXT);
    if (!n)
        return -1;
    if (!pk_node_set_tname(doc, n, tname) ||
        !pk_node_set_text(doc, n, text->data, text->len))
        return pk_lift_oom(c);
    if (!pk_lift_new_call(c, n, PK_HOW_REDUCE, callable, args, 0))
        return -1;
    *out = n;
    return 0;
}


/* ---- what a lift may drop ----
 *
 * A lift that shows a call as the value it builds drops the arguments that do not show in that
 * value (a tensor's backward hooks, the dummy arguments of numpy's _reconstruct). It may drop
 * one only when it is plain data: a call, a global or a persistent id in it would then be
 * nowhere in the mount. Otherwise the call stays an opaque object, whose __reduce__ shows it
 * all. */

#define INERT_VISITS 256 /* values looked at; past this a value counts as not inert */

static bool inert_at(const pk_doc *doc, uint32_t node, int depth, int *visits)
{
    if (!node || --*visits < 0)
        return false;
    const pk_node *n = &doc->nodes[node];
    switch ((pk_kind)n->kind) {
    case PK_K_OBJECT:
    case PK_K_GLOBAL:
    case PK_K_DESC: return false;
    case PK_K_LIST:
    case PK_K_TUPLE:
    case PK_K_DICT:
    case PK_K_SET:
    case PK_K_FROZENSET: {
        const pk_call *c = pk_call_of(doc, n); /* a lifted dict's class, state, factory */
        if ((c && (c->args || c->state || c->items || c->dictitems)) ||
            (pk_count(doc, n) && depth <= 0))
            return false;
        pk_cursor cur = pk_items_of(doc, n);
        uint32_t item;
        while (pk_item_next(doc, &cur, &item))
            if (!inert_at(doc, item, depth - 1, visits))
                return false;
        return true;
    }
    default: return true; /* scalars, and values lifted from calls whose lifts checked them */
    }
}

bool pk_lift_inert(const pk_doc *doc, uint32_t node, int depth)
{
    int visits = INERT_VISITS;
    return inert_at(doc, node, depth, &visits);
}

#define MARK_DEPTH 64 /* deeper than any frame's layout; sharing is bounded by the visits */

static void mark_at(pk_doc *doc, uint32_t node, int depth, uint64_t *visits,
                    bool (*known)(const pk_doc *doc, uint32_t callable))
{
    if (!node || depth <= 0 || *visits == 0)
        return;
    --*visits;
    const pk_node *n = &doc->nodes[node];
    pk_call *c = pk_call_of(doc, n);
    if (c && n->kind == PK_K_OBJECT) {
        if (!known(doc, c->callable))
            return; /* never a call the lift did not check, whatever the lift let through */
        c->read = 1;
        uint32_t parts[] = {c->args, c->kwargs, c->state, c->items, c->dictitems};
        for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
            mark_at(doc, parts[i], depth - 1, visits, known);
        return;
    }
    if (!PK_K_IS_CONTAINER(n->kind))
        return;
    pk_cursor cur = pk_items_of(doc, n);
    uint32_t item;
    while (pk_item_next(doc, &cur, &item))
        mark_at(doc, item, depth - 1, visits, known);
}

void pk_lift_mark_read(pk_doc *doc, uint32_t node,
                       bool (*known)(const pk_doc *doc, uint32_t callable))
{
    uint64_t visits = 4 * (uint64_t)doc->nnodes + 1024;
    mark_at(doc, node, MARK_DEPTH, &visits, known);
}

bool pk_lift_empty_dict(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = pk_call_of(doc, n);
    return n->kind == PK_K_DICT && pk_count(doc, n) == 0 &&
           (!c || (pk_global_is(doc, c->callable, "collections.OrderedDict") && !c->args &&
                   !c->state && !c->items && !c->dictitems));
}

uint32_t pk_lift_name_key(pk_lift_ctx *c, const char *name, uint64_t len)
{
    bool text = pk_lift_valid_utf8((const uint8_t *)name, len);
    uint32_t k = pk_lift_new_node(c, text ? PK_K_STR : PK_K_BYTES);
    if (!k)
        return 0;
    if (!pk_node_set_text(c->doc, k, name, len) || (text && pk_key_is_name(c->doc, k) < 0))
        return pk_lift_oom(c), 0;
    return k;
}
