/* decode_node.c: the moves every opcode makes, below the opcodes' own files: a new value, a
 * push, a pop to a mark, and a value's call record.
 *
 * The inline halves of these (new_node, push, pop, top: decode_i.h) handle the common case;
 * what is here is the rest: room for more values and a new offset group, a bigger stack, the
 * errors of an underflow, and the call records that calls, BUILD and the descriptors keep on
 * their values (pk_call). The lifts make their values and calls through the services here
 * (pk_lift_new_node, pk_lift_new_call), so they keep the machine's limits.
 */
#include "decode_i.h"

/* Room for one more value, made at d->op_off: the limits checked, the value array grown, and
 * a new offset group started if the last cannot hold it. Its group, or NULL (d->err says why). */
static COLD const pk_off_group *node_room(dec *d)
{
    pk_doc *doc = d->doc;
    if (doc->nnodes >= doc->lim.max_nodes || doc->nnodes >= UINT32_MAX)
        return dec_failf(d, PK_E_NODE_LIMIT, "more than %llu values (the limit)",
                         (unsigned long long)doc->lim.max_nodes, 0), NULL;
    if (!pk_doc_grow(doc, (void **)&doc->nodes, &doc->cap_nodes, doc->nnodes + 1, sizeof(pk_node)))
        return dec_oom(d), NULL;
    const pk_off_group *g = last_group(doc);
    bool nested = d->depth > 0; /* its offsets count in a nested pickle's bytes */
    if (!group_holds(g, d->op_off, nested)) {
        if (!pk_doc_grow(doc, (void **)&doc->groups, &doc->cap_groups, doc->ngroups + 1,
                         sizeof(pk_off_group)))
            return dec_oom(d), NULL;
        doc->groups[doc->ngroups] = (pk_off_group){d->op_off | (nested ? PK_GROUP_NESTED : 0),
                                                   (uint32_t)doc->nnodes};
        g = &doc->groups[doc->ngroups++];
    }
    uint64_t end = doc->cap_nodes < doc->lim.max_nodes ? doc->cap_nodes : doc->lim.max_nodes;
    d->nodes_end = end < UINT32_MAX ? end : UINT32_MAX;
    d->group_base = g->base & ~PK_GROUP_NESTED;
    return g;
}

/* new_node once node_room has made room for it, which new_node then finds. */
COLD uint32_t dec_new_node_slow(dec *d, pk_kind kind)
{
    return node_room(d) ? new_node(d, kind) : 0;
}

void pk_lift_at(pk_lift_ctx *c, uint64_t offset)
{
    c->offset = offset;
    ((dec *)c->dec)->op_off = offset;
}

uint32_t pk_lift_new_node(pk_lift_ctx *c, pk_kind kind)
{
    return new_node((dec *)c->dec, kind);
}

uint32_t dec_new_span(dec *d, pk_kind kind, const uint8_t *p, uint64_t len)
{
    uint32_t n = new_node(d, kind);
    if (!n)
        return 0;
    /* The bytes stay in the stream and are read from the file when shown (pk_span_read); a
     * str that keys a dict goes to the pool when it does (pool_keys, decode_items.c). */
    if (d->copied) /* a nested pickle's bytes, which go once it is decoded */
        return pk_node_set_text(d->doc, n, p, len) ? n : (dec_oom(d), 0);
    d->doc->nodes[n].flags |= PK_NF_SRC;
    if (!pk_node_set_span(d->doc, n, (pk_span){(uint64_t)(p - d->src), len}))
        return dec_oom(d), 0;
    return n;
}

uint32_t dec_new_pooled(dec *d, pk_kind kind, const pk_buf *b)
{
    uint32_t n = new_node(d, kind);
    if (!n)
        return 0;
    if (b->failed || !pk_node_set_text(d->doc, n, b->data, b->len))
        return dec_oom(d), 0;
    return n;
}

COLD int dec_push_slow(dec *d, uint32_t node)
{
    if (!node)
        return -1;
    if (!pk_grow((void **)&d->stack, &d->cap_stack, d->sp + 1, sizeof(uint32_t)))
        return dec_oom(d);
    d->stack[d->sp++] = node;
    return 0;
}

int dec_underflow(dec *d)
{
    if (d->nmarks)
        return dec_fail(d, PK_E_MARK_MISPLACED, "unexpected MARK found");
    return dec_fail(d, PK_E_STACK_UNDERFLOW, "stack underflow");
}

/* marker() without a mark. -1. */
COLD int64_t dec_no_mark(dec *d)
{
    return dec_fail(d, PK_E_MARK_MISSING, "could not find MARK");
}

bool dec_event(dec *d, pk_ev what, uint32_t node, uint32_t a, uint32_t b)
{
    pk_doc *doc = d->doc;
    if (!pk_doc_grow(doc, (void **)&doc->events, &doc->cap_events, doc->nevents + 1,
                     sizeof(pk_event)))
        return dec_oom(d), false;
    pk_event *e = &doc->events[doc->nevents++];
    e->at = d->op_off << 8 | (uint64_t)what; /* offsets are below 2^48 (PK_OFFSET_LIMIT) */
    e->node = node;
    e->a = a;
    e->b = b;
    return true;
}

uint32_t dec_new_call(dec *d, uint32_t node)
{
    pk_doc *doc = d->doc;
    if (doc->ncalls == 0)
        doc->ncalls = 1; /* call 0 means "none" */
    if (doc->ncalls >= UINT32_MAX ||
        !pk_doc_grow(doc, (void **)&doc->calls, &doc->cap_calls, doc->ncalls + 1, sizeof(pk_call)))
        return dec_oom(d), 0;
    uint32_t c = (uint32_t)doc->ncalls++;
    memset(&doc->calls[c], 0, sizeof(pk_call));
    if (!pk_node_set_call(doc, node, c))
        return dec_oom(d), 0;
    return c;
}

uint32_t dec_record_call(dec *d, uint32_t node, pk_how how, uint32_t callable, uint32_t args,
                            uint32_t kwargs)
{
    uint32_t c = dec_new_call(d, node);
    if (c) {
        pk_call *call = &d->doc->calls[c];
        call->callable = callable;
        call->args = args;
        call->kwargs = kwargs;
        call->how = (uint8_t)how;
    }
    return c;
}

uint32_t pk_lift_new_call(pk_lift_ctx *c, uint32_t node, pk_how how, uint32_t callable,
                          uint32_t args, uint32_t kwargs)
{
    return dec_record_call((dec *)c->dec, node, how, callable, args, kwargs);
}

pk_call *dec_call_of(dec *d, uint32_t node)
{
    uint32_t c = pk_node_call(d->doc, &d->doc->nodes[node]);
    if (!c && !(c = dec_new_call(d, node)))
        return NULL;
    return &d->doc->calls[c];
}

uint32_t dec_object_items(dec *d, uint32_t obj, bool dict)
{
    pk_call *call = dec_call_of(d, obj);
    if (!call)
        return 0;
    uint32_t have = dict ? call->dictitems : call->items;
    if (have)
        return have;
    uint32_t n = new_node(d, dict ? PK_K_DICT : PK_K_LIST);
    if (!n)
        return 0;
    call = &d->doc->calls[pk_node_call(d->doc, &d->doc->nodes[obj])]; /* as new_node left it */
    if (dict)
        call->dictitems = n;
    else
        call->items = n;
    return n;
}

int dec_note_made(dec *d, uint32_t n)
{
    pk_doc *doc = d->doc;
    if (!pk_doc_grow(doc, (void **)&doc->made, &doc->cap_made, doc->nmade + 1, sizeof(uint32_t)))
        return dec_oom(d);
    doc->made[doc->nmade++] = n;
    return 0;
}

/* A global that the pickle mutates (BUILD, SETITEM(S), APPEND(S), ADDITEMS on it, as CPython
 * accepts on any object: sys.modules, os.environ, sys.path) becomes, in place, an object whose
 * call record names it (PK_HOW_GLOBAL), so that what is done to it is recorded as it is on any
 * object, and shows where the global is. Every reference to it sees the change, as every
 * reference to the one module object in CPython would. 0, or -1 (the error set). */
int dec_global_to_object(dec *d, uint32_t node)
{
    uint32_t name = new_node(d, PK_K_GLOBAL); /* the name, kept: a copy of the span */
    if (!name)
        return -1;
    pk_node *n = &d->doc->nodes[node], *g = &d->doc->nodes[name];
    g->flags = n->flags & (PK_NF_WIDE | PK_NF_SRC);
    g->u = n->u;
    n->kind = PK_K_OBJECT;
    n->flags &= (uint8_t)~(PK_NF_WIDE | PK_NF_SRC);
    n->u.c.items = 0;
    n->u.c.home = 0;
    pk_call *call = dec_call_of(d, node);
    if (!call)
        return -1;
    call->callable = name;
    call->how = PK_HOW_GLOBAL;
    return dec_note_made(d, node); /* shown in __calls__ if it is nowhere else */
}

/* A str value made after decoding, as if by the opcode at offset (machine_i.h). */
uint32_t pk_decode_new_text(pk_doc *doc, uint64_t offset, const char *text, size_t len)
{
    pk_error err = {.opcode = -1};
    dec d = {.doc = doc, .err = &err, .op_off = offset};
    uint32_t n = new_node(&d, PK_K_STR);
    if (n && !pk_node_set_text(doc, n, text, len))
        return 0;
    return n;
}
