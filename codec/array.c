/* array.c: the array model the lifts share: a new array record and the node that shows it,
 * its shape and strides, where its element bytes are, and the small readers of decoded
 * values (tuple items, ints, str and callable names) that the array lifts read their
 * arguments with. The lifts themselves are array_numpy.c, array_joblib.c and array_torch.c,
 * reached through array_lift.c; the view shows their arrays as files (array_view_i.h).
 */
#include "array_i.h"
#include "ckpt_i.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- small readers of decoded values ---- */

uint32_t pk_arr_item(const pk_doc *doc, uint32_t tuple, uint64_t i)
{
    const pk_node *t = &doc->nodes[tuple];
    if ((t->kind != PK_K_TUPLE && t->kind != PK_K_LIST) || i >= pk_count(doc, t))
        return 0;
    return pk_item_at(doc, t, i);
}

uint64_t pk_arr_count(const pk_doc *doc, uint32_t node, pk_kind kind)
{
    const pk_node *t = &doc->nodes[node];
    return node && t->kind == kind ? pk_count(doc, t) : UINT64_MAX;
}

bool pk_arr_str_is(const pk_doc *doc, uint32_t node, const char *text)
{
    const pk_node *n = &doc->nodes[node];
    size_t k = strlen(text);
    if (!node || n->kind != PK_K_STR || pk_span_len(doc, n) != k)
        return false;
    const uint8_t *p = pk_span_ptr(doc, n);
    return p && memcmp(p, text, k) == 0;
}

bool pk_arr_int(const pk_doc *doc, uint32_t node, int64_t *v)
{
    const pk_node *n = &doc->nodes[node];
    if (!node || (n->kind != PK_K_INT && n->kind != PK_K_BOOL))
        return false;
    *v = n->u.i;
    return true;
}

/* The dotted name of the callable that built node, or "". */
static const char *callable_name(const pk_doc *doc, uint32_t node, size_t *len)
{
    const pk_node *n = &doc->nodes[node];
    *len = 0;
    const pk_call *call = pk_call_of(doc, n);
    if (!call)
        return "";
    uint32_t c = call->callable;
    if (!c || doc->nodes[c].kind != PK_K_GLOBAL)
        return "";
    *len = (size_t)pk_span_len(doc, &doc->nodes[c]);
    return (const char *)pk_span_ptr(doc, &doc->nodes[c]);
}

bool pk_arr_called(const pk_doc *doc, uint32_t node, const char *name)
{
    size_t len;
    const char *s = callable_name(doc, node, &len);
    return len == strlen(name) && memcmp(s, name, len) == 0;
}

/* numpy.core.X or numpy._core.X */
bool pk_numpy_core(const char *name, const char *rest)
{
    const char *p = strncmp(name, "numpy.core.", 11) == 0    ? name + 11
                    : strncmp(name, "numpy._core.", 12) == 0 ? name + 12
                                                             : NULL;
    return p && strcmp(p, rest) == 0;
}

bool pk_arr_called_numpy(const pk_doc *doc, uint32_t node, const char *rest)
{
    size_t len;
    const char *s = callable_name(doc, node, &len);
    char name[96];
    if (len >= sizeof name)
        return false;
    memcpy(name, s, len);
    name[len] = 0;
    return pk_numpy_core(name, rest);
}


/* ---- the arrays ---- */

/* A new array record; its index in *idx. Pointers into k->arrays move when it grows. */
pk_array *pk_array_new(pk_lift_ctx *c, uint64_t *idx)
{
    pk_ckpt *k = pk_ckpt_get(c->doc);
    if (!k || !pk_grow((void **)&k->arrays, &k->cap_arrays, k->narrays + 1, sizeof *k->arrays))
        return pk_lift_oom(c), NULL;
    *idx = k->narrays++;
    pk_array *a = &k->arrays[*idx];
    memset(a, 0, sizeof *a);
    atomic_init(&a->summary, NULL);
    return a;
}

pk_array *pk_array_new_copy(pk_lift_ctx *c, const pk_array *from, uint64_t *idx)
{
    pk_array copy = *from; /* from may be in k->arrays, which pk_array_new may move */
    pk_array *a = pk_array_new(c, idx);
    if (!a)
        return NULL;
    *a = copy;
    atomic_init(&a->summary, NULL); /* a summary of its own, rendered when first read */
    return a;
}

const pk_array *pk_array_of(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind != PK_K_ARRAY || !doc->ckpt || (uint64_t)n->u.i >= doc->ckpt->narrays)
        return NULL;
    return &doc->ckpt->arrays[n->u.i];
}

/* shape, numel, C-order strides (or Fortran order), from a tuple of ints. */
bool pk_array_set_shape(const pk_doc *doc, pk_array *a, uint32_t shape, bool fortran)
{
    uint64_t nd = pk_arr_count(doc, shape, PK_K_TUPLE);
    if (nd == UINT64_MAX)
        nd = pk_arr_count(doc, shape, PK_K_LIST);
    if (nd > PK_ARR_MAXDIM)
        return false;
    a->ndim = (uint8_t)nd;
    a->numel = 1;
    for (uint64_t i = 0; i < nd; i++) {
        int64_t v;
        if (!pk_arr_int(doc, pk_arr_item(doc, shape, i), &v) || v < 0 ||
            __builtin_mul_overflow(a->numel, (uint64_t)v, &a->numel))
            return false;
        a->shape[i] = (uint64_t)v;
    }
    uint64_t s = 1;
    for (uint64_t j = 0; j < nd; j++) {
        uint64_t i = fortran ? j : nd - 1 - j;
        a->stride[i] = s;
        s *= a->shape[i] ? a->shape[i] : 1;
    }
    return true;
}

static void check_contiguous(pk_array *a)
{
    uint64_t s = 1;
    a->contiguous = true;
    for (uint64_t j = a->ndim; j-- > 0;) {
        if (a->shape[j] != 1 && a->stride[j] != s)
            a->contiguous = false;
        s *= a->shape[j];
    }
    if (a->numel == 0)
        a->contiguous = true;
}

void pk_array_set_source(pk_array *a, pk_asrc src, uint64_t pos, const uint8_t *mem, uint64_t len)
{
    a->src = (uint8_t)src;
    a->src_pos = pos;
    a->src_mem = mem;
    a->src_len = len;
    /* the last element reached, in elements from the data's start */
    uint64_t last = a->offset, t;
    bool ok = src != PK_AS_NONE;
    for (uint64_t i = 0; i < a->ndim && ok && a->numel; i++)
        ok = !__builtin_mul_overflow(a->shape[i] - 1, a->stride[i], &t) &&
             !__builtin_add_overflow(last, t, &last);
    uint64_t need = 0;
    if (ok && a->numel)
        ok = !__builtin_add_overflow(last, 1, &need) &&
             !__builtin_mul_overflow(need, a->dt.size, &need);
    a->in_range = ok && need <= len;
    check_contiguous(a);
}

/* Turn node into an array (in place, so every reference to it, memo included, sees it). */
bool pk_array_make_node(pk_doc *doc, uint32_t node, uint64_t idx, uint16_t what)
{
    if (!pk_node_set_tname(doc, node, what))
        return false;
    pk_node *n = &doc->nodes[node];
    n->kind = PK_K_ARRAY;
    n->flags &= PK_NF_EXTRA;
    n->u.i = (int64_t)idx;
    return true;
}

/* ---- text in the pool (dtype names) ---- */

/* Add text to the pool; text may lie in the pool itself, which moves when it grows. */
bool pk_arr_pool_text(pk_doc *doc, const char *s, size_t len, pk_span *out)
{
    const pk_pool *p = &doc->pool;
    if (!(p->data && s >= p->data && s < p->data + p->len))
        return pk_pool_add(&doc->pool, s, len, out);
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return false;
    memcpy(copy, s, len);
    bool ok = pk_pool_add(&doc->pool, copy, len, out);
    free(copy);
    return ok;
}

uint32_t pk_array_from_stream(pk_lift_ctx *c, const pk_array *tmp, uint8_t what, uint64_t pos,
                              uint64_t need)
{
    uint32_t n = pk_lift_new_node(c, PK_K_OBJECT);
    uint64_t idx;
    pk_array *a = n ? pk_array_new_copy(c, tmp, &idx) : NULL;
    if (!a)
        return 0;
    a->what = what;
    pk_array_set_source(a, PK_AS_STREAM, pos, NULL, need);
    if (!pk_array_make_node(c->doc, n, idx, what))
        return pk_lift_oom(c), 0;
    return n;
}
