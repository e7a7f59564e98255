/* doc.c: the document's growable arrays and what every layer asks of them: growth within
 * max_memory, the byte offset of each value, the calls and type names that few values have,
 * and the name of each kind of value (user.pickle.type). */
#include "pk_i.h"

#include <stdlib.h>
#include <string.h>

/* The capacity pk_grow gives for need elements: cap doubled (16 to start) until it holds them;
 * 0 when that overflows. */
static uint64_t grown_cap(uint64_t cap, uint64_t need, size_t elem)
{
    uint64_t ncap = cap ? cap : 16;
    while (ncap < need) {
        if (ncap > UINT64_MAX / 2)
            return 0;
        ncap *= 2;
    }
    return ncap > SIZE_MAX / elem ? 0 : ncap;
}

bool pk_grow_slow(void **arr, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t ncap = grown_cap(*cap, need, elem);
    if (!ncap)
        return false;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

pk_doc *pk_doc_new(const pk_limits *lim)
{
    pk_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return NULL;
    doc->fd = -1;
    doc->dir_fd = -1;
    if (lim)
        doc->lim = *lim;
    else
        pk_limits_default(&doc->lim);
    /* node 0 stands for "absent" everywhere; the pool exists from the start, so that
     * pool.data + pos is a valid pointer even for the empty spans of an empty pool */
    if (!pk_grow((void **)&doc->nodes, &doc->cap_nodes, 1024, sizeof(pk_node)) ||
        !pk_grow((void **)&doc->pool.data, &doc->pool.cap, 4096, 1)) {
        free(doc->nodes);
        free(doc);
        return NULL;
    }
    memset(&doc->nodes[0], 0, sizeof(pk_node));
    doc->nnodes = 1;
    return doc;
}

uint64_t pk_node_offset_in(const pk_doc *doc, uint32_t node, bool *nested)
{
    uint64_t lo = 0, hi = doc->ngroups; /* the last group that starts at node or before it */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->groups[mid].first <= node)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t base = lo ? doc->groups[lo - 1].base : 0;
    if (nested)
        *nested = (base & PK_GROUP_NESTED) != 0;
    return lo ? (base & ~PK_GROUP_NESTED) + doc->nodes[node].off_delta : 0;
}

/* The first of doc->nested whose call is call or after it. */
static uint64_t nested_at(const pk_doc *doc, uint32_t call)
{
    uint64_t lo = 0, hi = doc->nnested;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->nested[mid].call < call)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t pk_call_nested(const pk_doc *doc, uint32_t call)
{
    if (!doc->nnested || !call)
        return 0;
    uint64_t i = nested_at(doc, call);
    return i < doc->nnested && doc->nested[i].call == call ? doc->nested[i].value : 0;
}

bool pk_call_set_nested(pk_doc *doc, uint32_t call, uint32_t value)
{
    /* a pickle nested in a nested one is set first: its call comes later, so this is an
     * insertion, not an append, but only as far back as the pickles it holds */
    if (!pk_doc_grow(doc, (void **)&doc->nested, &doc->cap_nested, doc->nnested + 1,
                     sizeof(pk_nested)))
        return false;
    uint64_t i = nested_at(doc, call);
    memmove(&doc->nested[i + 1], &doc->nested[i], (doc->nnested - i) * sizeof(pk_nested));
    doc->nested[i] = (pk_nested){call, value};
    doc->nnested++;
    return true;
}

/* The bytes held by the arrays that a file can make grow: values and their offsets, chains,
 * items, spans, calls, events, entries, names, branches, blocks, name tables. */
static uint64_t memory_used(const pk_doc *doc)
{
    return doc->cap_nodes * sizeof(pk_node) + doc->cap_groups * sizeof(pk_off_group) +
           doc->cap_chains * sizeof(pk_chain) +
           doc->cap_items * sizeof(uint32_t) + doc->cap_spans * sizeof(pk_span) +
           doc->cap_calls * sizeof(pk_call) + doc->cap_events * sizeof(pk_event) +
           doc->cap_nested * sizeof(pk_nested) +
           doc->cap_made * sizeof(uint32_t) +
           doc->cap_entries * sizeof(pk_entry) +
           doc->cap_names * sizeof(pk_own_name) + doc->cap_branches * sizeof(pk_branch) +
           doc->cap_blocks * sizeof(pk_block) +
           doc->cap_slots * sizeof(uint32_t) + doc->cap_tables * sizeof(pk_table) +
           (doc->extras ? (doc->extras_mask + 1) * sizeof(pk_extra) : 0) + doc->pool.cap;
}

/* May doc's arrays grow by `more` bytes within max_memory? If not, that is noted for pk_open's
 * error. */
static bool within_memory(pk_doc *doc, uint64_t more)
{
    if (memory_used(doc) + more <= doc->lim.max_memory)
        return true;
    doc->over_memory = true;
    return false;
}

bool pk_doc_room(pk_doc *doc, uint64_t more)
{
    return within_memory(doc, more);
}

bool pk_doc_grow_slow(pk_doc *doc, void **arr, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t ncap = grown_cap(*cap, need, elem);
    return ncap && within_memory(doc, (ncap - *cap) * elem) && pk_grow_slow(arr, cap, need, elem);
}

/* ---- the calls and type names of the values that have them ---- */

/* Node's slot in doc->extras: its own, or the empty one where it would go. */
static pk_extra *extra_find(const pk_doc *doc, uint32_t node)
{
    uint64_t h = (uint64_t)node * 0x9e3779b97f4a7c15ULL;
    for (uint64_t i = (h ^ h >> 32) & doc->extras_mask;; i = (i + 1) & doc->extras_mask)
        if (doc->extras[i].node == node || doc->extras[i].node == 0)
            return &doc->extras[i];
}

const pk_extra *pk_extra_of(const pk_doc *doc, const pk_node *n)
{
    return extra_find(doc, (uint32_t)(n - doc->nodes));
}

/* Room in doc->extras for one more value, keeping it at most half full. */
static bool extras_room(pk_doc *doc)
{
    uint64_t cap = doc->extras ? doc->extras_mask + 1 : 0;
    if (2 * (doc->nextras + 1) <= cap)
        return true;
    uint64_t ncap = cap ? 2 * cap : 64;
    if (!within_memory(doc, (ncap - cap) * sizeof(pk_extra)))
        return false;
    pk_extra *old = doc->extras, *t = calloc(ncap, sizeof *t);
    if (!t)
        return false;
    doc->extras = t;
    doc->extras_mask = ncap - 1;
    for (uint64_t i = 0; i < cap; i++)
        if (old[i].node)
            *extra_find(doc, old[i].node) = old[i];
    free(old);
    return true;
}

/* Node's entry in doc->extras: the one it has, or a new one if make; NULL when it has none
 * and make is false, or when out of memory. */
static pk_extra *extra_for(pk_doc *doc, uint32_t node, bool make)
{
    if (doc->nodes[node].flags & PK_NF_EXTRA)
        return extra_find(doc, node);
    if (!make || !extras_room(doc))
        return NULL;
    pk_extra *x = extra_find(doc, node);
    *x = (pk_extra){.node = node};
    doc->nextras++;
    doc->nodes[node].flags |= PK_NF_EXTRA;
    return x;
}

bool pk_node_set_call(pk_doc *doc, uint32_t node, uint32_t call)
{
    pk_extra *x = extra_for(doc, node, call != 0);
    if (x)
        x->call = call;
    return x || !call;
}

bool pk_node_set_tname(pk_doc *doc, uint32_t node, uint16_t tname)
{
    pk_extra *x = extra_for(doc, node, tname != 0);
    if (x)
        x->tname = tname;
    return x || !tname;
}

bool pk_node_set_wide_span(pk_doc *doc, uint32_t node, pk_span s)
{
    if (!pk_doc_grow(doc, (void **)&doc->spans, &doc->cap_spans, doc->nspans + 1, sizeof(pk_span)))
        return false;
    doc->spans[doc->nspans] = s;
    pk_node *n = &doc->nodes[node];
    n->flags |= PK_NF_WIDE;
    n->u.i = (int64_t)doc->nspans++;
    return true;
}

/* ---- types ---- */

const char *const pk_type_names[] = {
    [PK_T_DEFAULT] = NULL, [PK_T_STREAM] = "stream", [PK_T_PERSID] = "persistent_id",
    [PK_T_EXT] = "extension", [PK_T_BUFFER] = "buffer", [PK_T_NDARRAY] = "ndarray",
    [PK_T_TENSOR] = "tensor", [PK_T_STORAGE] = "storage", [PK_T_DTYPE] = "dtype",
    [PK_T_DATETIME] = "datetime", [PK_T_DATE] = "date", [PK_T_TIME] = "time",
    [PK_T_TIMEDELTA] = "timedelta", [PK_T_TIMEZONE] = "timezone", [PK_T_DECIMAL] = "decimal",
    [PK_T_COMPLEX] = "complex", [PK_T_DATETIME64] = "datetime64",
    [PK_T_TIMEDELTA64] = "timedelta64", [PK_T_PDCOLUMN] = "column", [PK_T_PDTABLE] = "table",
    [PK_T_PDRANGE] = "range_index",
};

const char *pk_value_type(const pk_doc *doc, uint32_t node)
{
    static const char *const kinds[] = {
        [PK_K_NONE] = "none", [PK_K_BOOL] = "bool", [PK_K_INT] = "int",
        [PK_K_BIGINT] = "int", [PK_K_FLOAT] = "float", [PK_K_STR] = "str",
        [PK_K_BYTES] = "bytes", [PK_K_BYTEARRAY] = "bytearray", [PK_K_TEXT] = "text",
        [PK_K_DESC] = "descriptor", [PK_K_GLOBAL] = "global", [PK_K_ARRAY] = "ndarray",
        [PK_K_LIST] = "list",
        [PK_K_TUPLE] = "tuple", [PK_K_DICT] = "dict", [PK_K_SET] = "set",
        [PK_K_FROZENSET] = "frozenset", [PK_K_OBJECT] = "object",
    };
    const pk_node *n = &doc->nodes[node];
    uint16_t t = pk_node_tname(doc, n);
    if (t && pk_type_names[t])
        return pk_type_names[t];
    return kinds[n->kind];
}

void pk_doc_free(pk_doc *doc)
{
    free(doc->nodes);
    free(doc->groups);
    free(doc->chains);
    free(doc->items);
    free(doc->spans);
    free(doc->calls);
    free(doc->nested);
    free(doc->events);
    free(doc->extras);
    free(doc->pool.data);
    free(doc->tops);
    free(doc->made);
    free(doc->entries);
    free(doc->names);
    free(doc->branches);
    free(doc->blocks);
    free(doc->slots);
    free(doc->tables);
    free(doc);
}
