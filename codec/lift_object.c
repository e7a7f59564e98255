/* lift_object.c: reconstructors of dicts and objects, lifted by reading their arguments.
 *
 * collections.OrderedDict, defaultdict and Counter become dicts; copyreg's object makers
 * (_reconstructor, __newobj__, __newobj_ex__) become the object NEWOBJ would make, named by its
 * class. The table that calls these is in lift.c.
 */
#include "lift_i.h"

#include <string.h>

/* ---- dicts: OrderedDict, defaultdict, Counter ----
 *
 * A lifted dict is a PK_K_DICT whose call record keeps the class (for user.pickle.class) and
 * the arguments that are not items (a defaultdict's default_factory), so the dict's repr reads
 * collections.defaultdict(builtins.list, {...}). Its items are snapshots of the argument's
 * items at the call, as Python copies them; SETITEMS after the call land in the dict itself,
 * and a BUILD state (torch's _metadata on an OrderedDict) stays on the call record, shown as
 * __state__ by tree.c. */

/* Can every item of the source be a dict key, as Python would require at the call? */
static bool pairs_ok(pk_lift_ctx *c, uint32_t from)
{
    const pk_doc *doc = c->doc;
    const pk_node *f = &doc->nodes[from];
    if (!pk_lift_can_copy(doc, 2 * pk_count(doc, f)))
        return false;
    if (f->kind == PK_K_DICT)
        return true; /* its keys were checked when they were set */
    if (f->kind != PK_K_LIST && f->kind != PK_K_TUPLE)
        return false;
    pk_cursor cur = pk_items_of(doc, f);
    uint32_t pair;
    while (pk_item_next(doc, &cur, &pair)) {
        const pk_node *p = &doc->nodes[pair];
        if ((p->kind != PK_K_TUPLE && p->kind != PK_K_LIST) || pk_count(doc, p) != 2 ||
            !pk_lift_hashable(c, pk_item_at(doc, p, 0)))
            return false;
    }
    return true;
}

/* Add the pairs of `from` (a dict, or a list or tuple of 2-item lists or tuples) to dict. */
static int add_pairs(pk_lift_ctx *c, uint32_t dict, uint32_t from)
{
    pk_doc *doc = c->doc;
    if (doc->nodes[from].kind == PK_K_DICT)
        return pk_chain_copy(doc, dict, from, 0) < 0 ? pk_lift_oom(c) : 0;
    pk_cursor cur = pk_items_of(doc, &doc->nodes[from]);
    uint32_t pair;
    while (pk_item_next(doc, &cur, &pair)) {
        const pk_node *p = &doc->nodes[pair];
        if (pk_chain_add(doc, dict, pk_item_at(doc, p, 0)) < 0 ||
            pk_chain_add(doc, dict, pk_item_at(doc, p, 1)) < 0)
            return pk_lift_oom(c);
    }
    return 0;
}

/* A dict of class callable, built from the pairs of `from` (0: none). `extra` is the tuple of
 * arguments that are not items, or 0. */
static int new_dict(pk_lift_ctx *c, uint32_t callable, uint32_t extra, uint32_t from,
                    uint32_t *out)
{
    if (from && !pairs_ok(c, from))
        return 0;
    uint32_t d = pk_lift_new_node(c, PK_K_DICT);
    if (!d)
        return -1;
    if (!pk_lift_new_call(c, d, PK_HOW_REDUCE, callable, extra, 0))
        return -1;
    if (from && add_pairs(c, d, from) < 0)
        return -1;
    *out = d;
    return 0;
}

/* OrderedDict(), OrderedDict(pairs) (Python 2 wrote a list of [key, value] lists), and
 * Counter(), Counter(dict): Counter.__reduce__ passes its counts as a dict. A Counter of an
 * iterable would count equal elements, which needs their equality: it stays opaque. */
static int lift_dict_like(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out,
                          bool counter)
{
    const pk_doc *doc = c->doc;
    uint64_t n = pk_tuple_len(doc, args);
    uint32_t from = n == 1 ? pk_tuple_item(doc, args, 0) : 0;
    if (n > 1 || (from && counter && doc->nodes[from].kind != PK_K_DICT))
        return 0;
    return new_dict(c, callable, 0, from, out);
}

int pk_lift_ordereddict(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    return lift_dict_like(c, callable, args, out, false);
}

int pk_lift_counter(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    return lift_dict_like(c, callable, args, out, true);
}

/* The factories a defaultdict may have and still be a dict: None, or a builtin type, whose
 * call makes an empty value and runs nothing else. */
static const char *const plain_factories[] = {
    "builtins.list", "builtins.dict", "builtins.set", "builtins.frozenset", "builtins.tuple",
    "builtins.int", "builtins.float", "builtins.complex", "builtins.str", "builtins.bytes",
    "builtins.bytearray", "builtins.bool", "builtins.object",
};

static bool plain_factory(const pk_doc *doc, uint32_t f)
{
    if (doc->nodes[f].kind == PK_K_NONE)
        return true;
    for (size_t i = 0; i < sizeof plain_factories / sizeof plain_factories[0]; i++)
        if (pk_global_is(doc, f, plain_factories[i]))
            return true;
    return false;
}

/* defaultdict(), defaultdict(factory), defaultdict(factory, pairs). The factory is kept as
 * the call's only argument, shown only in user.pickle.reduce and in repr(); so any factory
 * but a plain one keeps the defaultdict an opaque object, whose __reduce__ shows it. The items
 * come from SETITEMS after the call. */
int pk_lift_defaultdict(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = pk_tuple_len(doc, args);
    if (n > 2 || (n >= 1 && !plain_factory(doc, pk_tuple_item(doc, args, 0))))
        return 0;
    if (n < 2)
        return new_dict(c, callable, n == 1 ? args : 0, 0, out);
    uint32_t extra = pk_lift_new_node(c, PK_K_TUPLE);
    if (!extra)
        return -1;
    doc->nodes[extra].flags |= PK_NF_FROZEN;
    if (pk_chain_add(doc, extra, pk_tuple_item(doc, args, 0)) < 0)
        return pk_lift_oom(c);
    return new_dict(c, callable, extra, pk_tuple_item(doc, args, 1), out);
}

/* ---- objects made by copyreg ----
 *
 * copyreg.__newobj__(cls, *args) is cls.__new__(cls, *args), what NEWOBJ does;
 * copyreg.__newobj_ex__(cls, args, kwargs) is NEWOBJ_EX; copyreg._reconstructor(cls, object,
 * None), which protocols 0 and 1 write for plain instances, is object.__new__(cls). Each becomes
 * the object NEWOBJ would make, whose __reduce__ line names the class: __main__.User(). */

/* A new object cls(*args, **kwargs) made by how; args and kwargs may be 0. */
static int new_object(pk_lift_ctx *c, pk_how how, uint32_t cls, uint32_t args, uint32_t kwargs,
                      uint32_t *out)
{
    uint32_t o = pk_lift_new_node(c, PK_K_OBJECT);
    if (!o)
        return -1;
    if (!pk_lift_new_call(c, o, how, cls, args, kwargs))
        return -1;
    *out = o;
    return 0;
}

/* A new container of kind holding the items of src from index `from` on; the caller has asked
 * pk_lift_can_copy(). */
static uint32_t copy_items(pk_lift_ctx *c, pk_kind kind, uint32_t src, uint64_t from)
{
    pk_doc *doc = c->doc;
    uint32_t n = pk_lift_new_node(c, kind);
    if (!n)
        return 0;
    if (kind == PK_K_TUPLE)
        doc->nodes[n].flags |= PK_NF_FROZEN;
    if (pk_chain_copy(doc, n, src, from) < 0)
        return pk_lift_oom(c), 0;
    return n;
}

int pk_lift_newobj(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    pk_doc *doc = c->doc;
    uint64_t n = pk_tuple_len(doc, args);
    uint32_t cls = pk_tuple_item(doc, args, 0);
    if (n == UINT64_MAX || n < 1 || doc->nodes[cls].kind != PK_K_GLOBAL || !pk_lift_can_copy(doc, n))
        return 0;
    uint32_t rest = 0;
    if (n > 1 && !(rest = copy_items(c, PK_K_TUPLE, args, 1)))
        return -1;
    return new_object(c, PK_HOW_NEWOBJ, cls, rest, 0, out);
}

int pk_lift_newobj_ex(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    pk_doc *doc = c->doc;
    uint32_t cls = pk_tuple_item(doc, args, 0);
    uint32_t a = pk_tuple_item(doc, args, 1);
    uint32_t kw = pk_tuple_item(doc, args, 2);
    if (pk_tuple_len(doc, args) != 3 || doc->nodes[cls].kind != PK_K_GLOBAL ||
        doc->nodes[a].kind != PK_K_TUPLE || doc->nodes[kw].kind != PK_K_DICT)
        return 0;
    return new_object(c, PK_HOW_NEWOBJ_EX, cls, a, kw, out);
}

/* Bases whose __new__ and __init__ only store the state: _reconstructor(cls, base, state)
 * makes cls(state), like NEWOBJ would for these. A list or dict state becomes the object's
 * items, as protocol 2 would append or set them. Any other base stays opaque. */
static const char *const plain_bases[] = {
    "builtins.int", "builtins.float", "builtins.complex", "builtins.str", "builtins.bytes",
    "builtins.tuple", "builtins.frozenset",
};

int pk_lift_reconstructor(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    pk_doc *doc = c->doc;
    uint32_t cls = pk_tuple_item(doc, args, 0);
    uint32_t base = pk_tuple_item(doc, args, 1);
    uint32_t state = pk_tuple_item(doc, args, 2);
    if (pk_tuple_len(doc, args) != 3 || doc->nodes[cls].kind != PK_K_GLOBAL)
        return 0;
    pk_kind sk = (pk_kind)doc->nodes[state].kind;
    if (pk_global_is(doc, base, "builtins.object"))
        return sk == PK_K_NONE ? new_object(c, PK_HOW_NEWOBJ, cls, 0, 0, out) : 0;
    if ((pk_global_is(doc, base, "builtins.list") && sk == PK_K_LIST) ||
        (pk_global_is(doc, base, "builtins.dict") && sk == PK_K_DICT)) {
        if (!pk_lift_can_copy(doc, pk_count(doc, &doc->nodes[state])))
            return 0;
        uint32_t items = copy_items(c, sk, state, 0);
        if (!items || new_object(c, PK_HOW_NEWOBJ, cls, 0, 0, out) < 0)
            return -1;
        pk_call *k = &doc->calls[pk_node_call(doc, &doc->nodes[*out])];
        if (sk == PK_K_LIST)
            k->items = items;
        else
            k->dictitems = items;
        return 0;
    }
    for (size_t i = 0; i < sizeof plain_bases / sizeof plain_bases[0]; i++)
        if (pk_global_is(doc, base, plain_bases[i])) {
            uint32_t a = pk_lift_new_node(c, PK_K_TUPLE);
            if (!a)
                return -1;
            doc->nodes[a].flags |= PK_NF_FROZEN;
            if (pk_chain_add(doc, a, state) < 0)
                return pk_lift_oom(c);
            return new_object(c, PK_HOW_NEWOBJ, cls, a, 0, out);
        }
    return 0;
}

uint32_t pk_call_class(const pk_doc *doc, const pk_call *call)
{
    uint32_t f = call->callable;
    if (!f || doc->nodes[f].kind != PK_K_GLOBAL)
        return 0;
    if (call->args && (pk_global_is(doc, f, "copyreg._reconstructor") ||
                       pk_global_is(doc, f, "copyreg.__newobj__") ||
                       pk_global_is(doc, f, "copyreg.__newobj_ex__"))) {
        uint32_t cls = pk_tuple_item(doc, call->args, 0);
        if (cls && doc->nodes[cls].kind == PK_K_GLOBAL)
            return cls;
    }
    return f;
}

/* functools.partial(f) pickles its arguments in its BUILD state, (f, args, kwargs, dict):
 * the call it stands for is f(*args, **kwargs). True when the call is such a partial, with
 * *func, *args (a tuple) and *kwargs (a dict, or 0) read from the state. */
bool pk_partial_state(const pk_doc *doc, const pk_call *call, uint32_t *func, uint32_t *args,
                      uint32_t *kwargs)
{
    if (!call->callable || !call->state || !pk_global_is(doc, call->callable, "functools.partial") ||
        pk_tuple_len(doc, call->state) != 4)
        return false;
    uint32_t a = pk_tuple_item(doc, call->state, 1), k = pk_tuple_item(doc, call->state, 2);
    uint32_t d = pk_tuple_item(doc, call->state, 3); /* the partial's __dict__, not shown */
    if (doc->nodes[a].kind != PK_K_TUPLE ||
        (doc->nodes[k].kind != PK_K_DICT && doc->nodes[k].kind != PK_K_NONE) ||
        (doc->nodes[d].kind != PK_K_NONE && !pk_lift_empty_dict(doc, d)))
        return false;
    *func = pk_tuple_item(doc, call->state, 0);
    *args = a;
    *kwargs = doc->nodes[k].kind == PK_K_DICT ? k : 0;
    return true;
}

static bool same_global(const pk_doc *doc, uint32_t a, uint32_t b)
{
    const pk_node *x = &doc->nodes[a], *y = &doc->nodes[b];
    return x->kind == PK_K_GLOBAL && y->kind == PK_K_GLOBAL &&
           pk_span_len(doc, x) == pk_span_len(doc, y) &&
           memcmp(pk_span_ptr(doc, x), pk_span_ptr(doc, y), (size_t)pk_span_len(doc, x)) == 0;
}

/* Protocols 2 and 3 cannot write NEWOBJ_EX, so the pickler writes cls.__new__(cls, *args,
 * **kwargs) as functools.partial(getattr(cls, '__new__'), cls, *args, **kwargs)() instead:
 * a REDUCE with no arguments on a partial whose state holds the call. Lifted to the object
 * NEWOBJ_EX would make. */
int pk_lift_partial_new(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    const pk_node *p = &doc->nodes[callable];
    const pk_call *pc = pk_call_of(doc, p);
    uint32_t func, pargs, kwargs;
    if (p->kind != PK_K_OBJECT || !pc || pk_tuple_len(doc, args) != 0 ||
        !pk_partial_state(doc, pc, &func, &pargs, &kwargs))
        return 0;
    const pk_node *f = &doc->nodes[func];
    const pk_call *g = pk_call_of(doc, f);
    if (f->kind != PK_K_OBJECT || !g)
        return 0;
    /* getattr(owner, '__new__'): the class's own __new__, or object's it inherits */
    uint32_t owner = pk_tuple_item(doc, g->args, 0);
    uint32_t attr = pk_tuple_item(doc, g->args, 1);
    uint32_t cls = pk_tuple_item(doc, pargs, 0);
    if (g->how != PK_HOW_REDUCE || !pk_global_is(doc, g->callable, "builtins.getattr") ||
        g->state || g->items || g->dictitems || pk_tuple_len(doc, g->args) != 2 ||
        !pk_str_is(doc, attr, "__new__") || pk_tuple_len(doc, pargs) < 1 ||
        doc->nodes[cls].kind != PK_K_GLOBAL ||
        !(same_global(doc, owner, cls) || pk_global_is(doc, owner, "builtins.object")) ||
        !pk_lift_can_copy(doc, pk_tuple_len(doc, pargs)))
        return 0;
    uint32_t rest = 0;
    if (pk_tuple_len(doc, pargs) > 1 && !(rest = copy_items(c, PK_K_TUPLE, pargs, 1)))
        return -1;
    return new_object(c, PK_HOW_NEWOBJ_EX, cls, rest, kwargs, out);
}
