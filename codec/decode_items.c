/* decode_items.c: the containers built from the stack (lists, tuples, dicts, sets and
 * frozensets), what APPEND, SETITEM and ADDITEMS add to them, and the opcodes that move the
 * stack and its marks (POP, DUP, MARK, POP_MARK).
 *
 * As in CPython's _pickle.c, marks live on their own stack, and the newest is a fence: values
 * below it cannot be popped (fence, pop and top in decode_i.h), so an underflow is found in
 * O(1) and named for what it is. A dict's keys are checked hashable as Python would check
 * them, and the strs among them pooled while their bytes are at hand (pool_keys); a dict whose
 * first keys are those of the dict before it (a record) shares their run (a shape) and skips
 * both.
 */
#include "decode_i.h"

#include <stdlib.h>

/* Are stack[from..sp) the first items of dict container, two pairs or more? Such items are a
 * shaped run (pk_chain in pk_i.h) if they can be (shape_of), else the next shape. */
static bool first_pairs(const dec *d, uint32_t container, uint64_t from)
{
    const pk_node *c = &d->doc->nodes[container];
    return c->kind == PK_K_DICT && c->u.c.items == 0 && !(c->flags & PK_NF_CHAINED) &&
           d->sp - from >= 4 && (d->sp - from) % 2 == 0;
}

/* The plain run that stack[from..sp), as container's first pairs, can take the shape of: the
 * last one made, if its keys are theirs (the same values, in the same order); else 0. */
static inline uint32_t shape_of(const dec *d, uint32_t container, uint64_t from)
{
    const uint32_t *it = d->doc->items;
    uint64_t n = d->sp - from;
    if (!d->shape || it[d->shape] != n || !first_pairs(d, container, from))
        return 0;
    for (uint64_t i = 0; i < n; i += 2)
        if (it[d->shape + 1 + i] != d->stack[from + i])
            return 0;
    return d->shape;
}

/* stack[from..sp) go into container's items, as a shaped run when shape (shape_of) is not 0.
 * A dict's first pairs that take no shape become the next shape if keys_checked (hashable, and
 * pooled), so that a dict taking the shape need not check them again. */
static inline int put_items(dec *d, uint32_t container, uint64_t from, uint32_t shape,
                            bool keys_checked)
{
    if (from == d->sp)
        return 0; /* nothing to add, and maybe no stack yet */
    pk_doc *doc = d->doc;
    bool next_shape = keys_checked && !shape && first_pairs(d, container, from);
    const uint32_t *items = d->stack + from;
    if ((shape ? pk_items_add_shaped(doc, container, items, d->sp - from, shape)
               : pk_items_add_run(doc, container, items, d->sp - from)) < 0)
        return dec_oom(d);
    uint32_t run = doc->nodes[container].u.c.items;
    if (next_shape && pk_run_is_plain(doc, run))
        d->shape = run; /* its one run (a sequence has no keys to share) */
    return 0;
}

/* A new container holding stack[from..sp), which are popped. The caller has checked a dict's
 * keys (OP_DICT): hashable, and pooled. */
int dec_collect(dec *d, pk_kind kind, uint64_t from)
{
    uint32_t c = new_node(d, kind);
    if (!c || put_items(d, c, from, shape_of(d, c, from), true) < 0)
        return -1;
    d->sp = from;
    if (kind == PK_K_TUPLE || kind == PK_K_FROZENSET)
        d->doc->nodes[c].flags |= PK_NF_FROZEN;
    return push(d, c);
}

static int collect_n(dec *d, pk_kind kind, uint64_t n)
{
    if (d->sp - fence(d) < n)
        return dec_underflow(d);
    return dec_collect(d, kind, d->sp - n);
}

/* Would CPython's dict or set accept this value as a key? list, dict, set and bytearray are
 * unhashable, and so is a tuple or frozenset holding one. Objects are not judged: their hash
 * would be a call. Tuples and frozensets are built from values that existed before them, so
 * they hold no cycles; the verdict is cached on them since they never change. 1 when it is
 * hashable; 0 when not, *type naming the unhashable type; -1 when the walk runs out of memory
 * (the error set): never a guess, since a guess of "hashable" would let a file through that
 * Python refuses. No test provokes that: the walk's stack is scratch, grown by pk_grow and
 * freed at once, which max_memory does not count, so only a failing realloc reaches it. */
static int hashable(dec *d, uint32_t node, const char **type)
{
    pk_doc *doc = d->doc;
    const pk_node *n = &doc->nodes[node];
    if (n->kind == PK_K_OBJECT)
        doc->dropped = true; /* a call as a key shows in no entry: the tree lists it */
    if (n->kind == PK_K_LIST || n->kind == PK_K_DICT || n->kind == PK_K_SET ||
        n->kind == PK_K_BYTEARRAY) {
        *type = pk_value_type(doc, node);
        return 0;
    }
    if ((n->kind != PK_K_TUPLE && n->kind != PK_K_FROZENSET) || (n->flags & PK_NF_HASHABLE))
        return 1;
    /* an explicit stack: a key may be a tuple nested a million deep */
    uint32_t *todo = NULL;
    uint64_t len = 0, cap = 0;
    int ok = 1;
    if (!pk_grow((void **)&todo, &cap, 1, sizeof *todo))
        return dec_oom(d);
    todo[len++] = node;
    while (ok > 0 && len > 0) {
        uint32_t t = todo[--len];
        pk_cursor cur = pk_items_of(doc, &doc->nodes[t]);
        uint32_t item;
        while (ok > 0 && pk_item_next(doc, &cur, &item)) {
            const pk_node *x = &doc->nodes[item];
            if (x->kind == PK_K_OBJECT)
                doc->dropped = true;
            if (x->kind == PK_K_LIST || x->kind == PK_K_DICT || x->kind == PK_K_SET ||
                x->kind == PK_K_BYTEARRAY) {
                *type = pk_value_type(doc, item);
                ok = 0;
            } else if ((x->kind == PK_K_TUPLE || x->kind == PK_K_FROZENSET) &&
                       !(x->flags & PK_NF_HASHABLE)) {
                if (!pk_grow((void **)&todo, &cap, len + 1, sizeof *todo)) {
                    ok = dec_oom(d);
                    break;
                }
                todo[len++] = item;
                /* marked now, so that a tuple shared many times below is walked once (a
                 * chain holding its predecessor twice has 2^depth paths); if it turns out
                 * unhashable, or the walk runs out of memory, the whole file is refused and
                 * the mark never counts */
                doc->nodes[item].flags |= PK_NF_HASHABLE;
            }
        }
    }
    free(todo);
    if (ok > 0)
        doc->nodes[node].flags |= PK_NF_HASHABLE;
    return ok;
}

/* False also when out of memory: the error is then set, and the machine stops when the hook
 * that asked returns (hook_done, decode_calls.c), whatever the hook made of the answer. */
bool pk_lift_hashable(pk_lift_ctx *c, uint32_t node)
{
    const char *type;
    return hashable((dec *)c->dec, node, &type) > 0;
}

/* Check the keys (every other item from `from`, or every item) of stack[from..sp). */
int dec_check_hashable(dec *d, uint64_t from, uint64_t step)
{
    for (uint64_t i = from; i < d->sp; i += step) {
        const char *type = "?";
        pk_kind k = (pk_kind)d->doc->nodes[d->stack[i]].kind;
        if (k != PK_K_BYTEARRAY && !PK_K_IS_CONTAINER(k))
            continue; /* a str, an int...: hashable, the common case */
        int h = hashable(d, d->stack[i], &type);
        if (h < 0)
            return -1;
        if (!h) {
            char what[64];
            snprintf(what, sizeof what, "unhashable type: '%s'", type);
            return dec_fail(d, PK_E_BAD_TYPE, what);
        }
    }
    return 0;
}

/* Check the keys of stack[from..sp) (every other item) as names, while their bytes are at
 * hand: pk_key_is_name copies those that could be names into the pool. */
static int pool_keys(dec *d, uint64_t from)
{
    for (uint64_t i = from; i < d->sp; i += 2)
        if (pk_key_is_name(d->doc, d->stack[i]) < 0)
            return dec_oom(d);
    return 0;
}

/* APPEND(S), SETITEM(S) and ADDITEMS: stack[at..sp) go into stack[at-1]. A value of `kind`
 * takes them; an opaque object records them, and so does a global, which becomes one
 * (dec_global_to_object); anything else has no method CPython could call
 * for it (`refusal`). Keys are checked for hashability: every item (key_step 1), every other
 * one (2), or none (0); a dict's, or an object's dict items', go to the pool (pool_keys).
 * Inlined into each opcode's handler, so that the loop's call of the handler is the only call
 * a record's APPENDS or SETITEMS costs. */
HOT int add_to(dec *d, uint64_t at, pk_kind kind, int key_step, const char *refusal)
{
    if (at == 0 || at > d->sp)
        return dec_underflow(d);
    uint32_t target = d->stack[at - 1];
    uint32_t into = target;
    pk_kind tk = (pk_kind)d->doc->nodes[target].kind;
    bool object = tk == PK_K_OBJECT || tk == PK_K_GLOBAL;
    if (object) {
        if (tk == PK_K_GLOBAL && dec_global_to_object(d, target) < 0)
            return -1;
        if (!(into = dec_object_items(d, target, kind == PK_K_DICT)))
            return -1;
    } else if (tk != kind) {
        return dec_fail(d, PK_E_BAD_TYPE, refusal);
    }
    /* a shape's keys were checked when it was made; an object's dict items (whose hashing its
     * __setitem__ would judge) are not checked hashable, so they never become one */
    if (object && key_step) /* keys its __setitem__ takes unchecked: a call among them */
        for (uint64_t i = at; i < d->sp; i += (uint64_t)key_step)
            if (PK_K_IS_CONTAINER(d->doc->nodes[d->stack[i]].kind))
                d->doc->dropped = true;
    uint32_t shape = shape_of(d, into, at);
    if ((key_step && !object && !shape && dec_check_hashable(d, at, (uint64_t)key_step) < 0) ||
        (kind == PK_K_DICT && !shape && pool_keys(d, at) < 0) ||
        put_items(d, into, at, shape, !object) < 0)
        return -1;
    d->sp = at;
    return 0;
}

HOT int do_append(dec *d, uint64_t at)
{
    return add_to(d, at, PK_K_LIST, 0, "APPEND to a value that is not a list or object");
}

HOT int do_setitems(dec *d, uint64_t at)
{
    if (at > 0 && at <= d->sp && (d->sp - at) % 2)
        return dec_fail(d, PK_E_ODD_SETITEMS, "odd number of items for SETITEMS");
    return add_to(d, at, PK_K_DICT, 2, "SETITEM on a value that is not a dict or object");
}

HOT int do_additems(dec *d, uint64_t at)
{
    return add_to(d, at, PK_K_SET, 1, "ADDITEMS on a value that is not a set or object");
}

/* ---- the opcodes ---- */

/* EMPTY_LIST, EMPTY_DICT, EMPTY_SET: a new value has no items. */
int load_empty(dec *d, pk_kind kind)
{
    return push(d, new_node(d, kind));
}

int load_empty_tuple(dec *d)
{
    return dec_collect(d, PK_K_TUPLE, d->sp); /* frozen, as any tuple */
}

/* LIST, TUPLE, FROZENSET: the values above the mark. A frozenset's must be hashable. */
int load_collect(dec *d, pk_kind kind)
{
    int64_t m = marker(d);
    if (m < 0 || (kind == PK_K_FROZENSET && dec_check_hashable(d, (uint64_t)m, 1) < 0))
        return -1;
    return dec_collect(d, kind, (uint64_t)m);
}

int load_dict(dec *d)
{
    int64_t m = marker(d);
    if (m < 0)
        return -1;
    if ((d->sp - (uint64_t)m) % 2)
        return dec_fail(d, PK_E_ODD_SETITEMS, "odd number of items for DICT");
    if (dec_check_hashable(d, (uint64_t)m, 2) < 0 || pool_keys(d, (uint64_t)m) < 0)
        return -1;
    return dec_collect(d, PK_K_DICT, (uint64_t)m);
}

/* TUPLE1, TUPLE2, TUPLE3: the top n values. */
int load_tuple_n(dec *d, uint64_t n)
{
    return collect_n(d, PK_K_TUPLE, n);
}

int load_append(dec *d)
{
    if (d->sp < fence(d) + 2)
        return dec_underflow(d);
    return do_append(d, d->sp - 1);
}

int load_appends(dec *d)
{
    int64_t m = marker(d);
    return m < 0 ? -1 : do_append(d, (uint64_t)m);
}

int load_setitem(dec *d)
{
    if (d->sp < fence(d) + 3)
        return dec_underflow(d);
    return do_setitems(d, d->sp - 2);
}

int load_setitems(dec *d)
{
    int64_t m = marker(d);
    return m < 0 ? -1 : do_setitems(d, (uint64_t)m);
}

int load_additems(dec *d)
{
    int64_t m = marker(d);
    return m < 0 ? -1 : do_additems(d, (uint64_t)m);
}

/* A call popped as soon as it is made may be a state setter: CPython's pickler writes
 * setter(obj, state), REDUCE, POP for a __reduce__ that returns one (its 6-tuple form). A
 * popped call of two arguments whose first is an object or a container is kept as that value's
 * setter, so that the state shows with it (__setstate__); anything else popped is left for the
 * tree to find (pk_doc.dropped). */
static int popped(dec *d, uint32_t node)
{
    pk_doc *doc = d->doc;
    doc->dropped = true;
    const pk_call *c = pk_call_of(doc, &doc->nodes[node]);
    if (doc->nodes[node].kind != PK_K_OBJECT || !c || c->how != PK_HOW_REDUCE || !c->args)
        return 0;
    const pk_node *args = &doc->nodes[c->args];
    if (args->kind != PK_K_TUPLE || pk_count(doc, args) != 2)
        return 0;
    uint32_t of = pk_item_at(doc, args, 0);
    if (!PK_K_IS_CONTAINER(doc->nodes[of].kind) || of == node)
        return 0;
    pk_call *oc = dec_call_of(d, of);
    if (!oc)
        return -1;
    if (!oc->setter)
        oc->setter = node;
    return 0;
}

int load_pop(dec *d)
{
    uint32_t a;
    if (d->nmarks && d->marks[d->nmarks - 1] == d->sp)
        d->nmarks--; /* POP of a MARK: CPython keeps marks apart and pops the mark */
    else if (!(a = pop(d)) || popped(d, a) < 0)
        return -1;
    return 0;
}

int load_dup(dec *d)
{
    uint32_t a = top(d);
    return a ? push(d, a) : -1;
}

int load_mark(dec *d)
{
    if (!pk_grow((void **)&d->marks, &d->cap_marks, d->nmarks + 1, sizeof(uint64_t)))
        return dec_oom(d);
    d->marks[d->nmarks++] = d->sp;
    return 0;
}

int load_pop_mark(dec *d)
{
    int64_t m = marker(d);
    if (m < 0)
        return -1;
    if (d->sp > (uint64_t)m)
        d->doc->dropped = true; /* values dropped: the tree looks for calls among them */
    d->sp = (uint64_t)m;
    return 0;
}
