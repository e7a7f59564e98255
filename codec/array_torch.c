/* array_torch.c: the torch lifts. A persistent id ('storage', torch.XStorage, key, location,
 * numel) becomes a storage over the archive member <top>/data/<key> (or, in a legacy file, its
 * raw storage of that key, which legacy.c finds after decoding); _rebuild_tensor(_v2) a tensor,
 * a strided view of its storage; _rebuild_parameter(_with_state) keeps the tensor and its
 * requires_grad; torch.Size a tuple; torch.device text such as "cuda:0". The arguments a tensor
 * does not show (backward hooks, metadata, a storage's location) are dropped only when they are
 * the plain values torch writes; anything else keeps the call opaque.
 */
#include "array_i.h"
#include "ckpt_i.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* torch storage classes and dtypes */
static const struct {
    const char *storage, *dtype;
    char kind;
    uint32_t size;
} torch_types[] = {
    {"FloatStorage", "torch.float32", 'f', 4},
    {"DoubleStorage", "torch.float64", 'f', 8},
    {"HalfStorage", "torch.float16", 'f', 2},
    {"BFloat16Storage", "torch.bfloat16", 'T', 2},
    {"LongStorage", "torch.int64", 'i', 8},
    {"IntStorage", "torch.int32", 'i', 4},
    {"ShortStorage", "torch.int16", 'i', 2},
    {"CharStorage", "torch.int8", 'i', 1},
    {"ByteStorage", "torch.uint8", 'u', 1},
    {"BoolStorage", "torch.bool", 'b', 1},
    {"ComplexFloatStorage", "torch.complex64", 'c', 8},
    {"ComplexDoubleStorage", "torch.complex128", 'c', 16},
    {"UntypedStorage", "torch.uint8", 'u', 1},
};

static bool torch_dtype(pk_doc *doc, uint32_t global, bool big, pk_dtype *dt)
{
    const pk_node *g = &doc->nodes[global];
    if (!global || g->kind != PK_K_GLOBAL)
        return false;
    const char *s = (const char *)pk_span_ptr(doc, g);
    size_t len = (size_t)pk_span_len(doc, g);
    if (len < 6 || memcmp(s, "torch.", 6) != 0)
        return false;
    const char *dot = s + len;
    while (dot > s && dot[-1] != '.')
        dot--;
    size_t blen = (size_t)(s + len - dot);
    for (size_t i = 0; i < sizeof torch_types / sizeof torch_types[0]; i++) {
        if (strlen(torch_types[i].storage) == blen &&
            memcmp(dot, torch_types[i].storage, blen) == 0) {
            memset(dt, 0, sizeof *dt);
            dt->kind = torch_types[i].kind;
            dt->size = torch_types[i].size;
            dt->big = big && dt->size > 1;
            return pk_arr_pool_text(doc, torch_types[i].dtype, strlen(torch_types[i].dtype),
                                    &dt->name);
        }
    }
    return false;
}

/* ('storage', storage_type, key, location, numel[, view_metadata]) */
int pk_array_persid(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    pk_ckpt *k = doc->ckpt;
    const pk_node *n = &doc->nodes[node];
    const pk_call *call = pk_call_of(doc, n);
    if (!k || !(k->is_zip || k->legacy) || n->kind != PK_K_DESC || !call)
        return 0;
    uint32_t pid = call->args;
    uint64_t len = pk_arr_count(doc, pid, PK_K_TUPLE);
    if (len != 5 && len != 6)
        return 0;
    uint32_t key = pk_arr_item(doc, pid, 2);
    const pk_node *kn = &doc->nodes[key];
    int64_t numel;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!pk_arr_str_is(doc, pk_arr_item(doc, pid, 0), "storage") || kn->kind != PK_K_STR ||
        doc->nodes[pk_arr_item(doc, pid, 3)].kind != PK_K_STR || /* the location, dropped */
        pk_span_len(doc, kn) >= sizeof tmp.key || !pk_span_ptr(doc, kn) ||
        !pk_arr_int(doc, pk_arr_item(doc, pid, 4), &numel) || numel < 0 ||
        !torch_dtype(doc, pk_arr_item(doc, pid, 1), k->big_endian, &tmp.dt))
        return 0;
    if (len == 6 && doc->nodes[pk_arr_item(doc, pid, 5)].kind != PK_K_NONE)
        return 0; /* a legacy view of a storage: not modelled */
    memcpy(tmp.key, pk_span_ptr(doc, kn), (size_t)pk_span_len(doc, kn));
    tmp.ndim = 1;
    tmp.shape[0] = (uint64_t)numel;
    tmp.stride[0] = 1;
    tmp.numel = (uint64_t)numel;
    tmp.what = PK_T_STORAGE;
    if (k->is_zip) {
        char rel[64];
        int rl = snprintf(rel, sizeof rel, "data/%s", tmp.key);
        pk_zent *z = pk_zip_find(doc, rel, (size_t)rl);
        if (z) {
            if (pk_zip_load(doc, z, k->map, k->map_len, NULL) < 0)
                return c->fail(c, PK_E_DECOMPRESS, "corrupt compressed data in a storage");
            if (z->mem)
                pk_array_set_source(&tmp, PK_AS_MEM, 0, z->mem, z->usize);
            else if (doc->fd >= 0)
                pk_array_set_source(&tmp, PK_AS_FILE, z->data, NULL, z->usize);
            else
                pk_array_set_source(&tmp, PK_AS_MEM, 0, k->map + z->data, z->usize);
        }
    }
    uint64_t idx;
    pk_array *a = pk_array_new_copy(c, &tmp, &idx);
    if (!a)
        return -1;
    if (a->src == PK_AS_NONE)
        pk_array_set_source(a, PK_AS_NONE, 0, NULL, 0);
    return pk_array_make_node(doc, node, idx, PK_T_STORAGE) ? 0 : pk_lift_oom(c);
}

/* A new array node copying array `from`, with a call record naming the callable. */
static pk_array *derive(pk_lift_ctx *c, uint32_t from, uint32_t callable, uint32_t args,
                        uint16_t what, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint32_t n = pk_lift_new_node(c, PK_K_ARRAY);
    if (!n)
        return NULL;
    if (!pk_lift_new_call(c, n, PK_HOW_REDUCE, callable, args, 0))
        return NULL;
    uint64_t idx;
    pk_array *a = pk_array_new_copy(c, &doc->ckpt->arrays[doc->nodes[from].u.i], &idx);
    if (!a)
        return NULL;
    a->what = (uint8_t)what;
    if (!pk_array_make_node(doc, n, idx, what))
        return pk_lift_oom(c), NULL;
    *out = n;
    return a;
}

/* The arguments a tensor drops: backward hooks, which torch.save writes as an empty
 * OrderedDict (hooks themselves are not saved), and metadata, None or an empty dict. Anything
 * else, a call above all, keeps the tensor an opaque object that shows it. */
static bool hooks_dropped(const pk_doc *doc, uint32_t hooks)
{
    return pk_lift_empty_dict(doc, hooks);
}

static bool metadata_dropped(const pk_doc *doc, uint32_t meta)
{
    return !meta || doc->nodes[meta].kind == PK_K_NONE || pk_lift_empty_dict(doc, meta);
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
 * [, metadata]) and _rebuild_tensor(storage, storage_offset, size, stride) */
static int rebuild_tensor(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = pk_arr_count(doc, args, PK_K_TUPLE);
    bool v2 = pk_global_is(doc, callable, "torch._utils._rebuild_tensor_v2");
    if (v2 ? n != 6 && n != 7 : n != 4)
        return 0;
    if (v2 && (!hooks_dropped(doc, pk_arr_item(doc, args, 5)) ||
               !metadata_dropped(doc, n == 7 ? pk_arr_item(doc, args, 6) : 0)))
        return 0;
    uint32_t storage = pk_arr_item(doc, args, 0);
    int64_t off, grad = 0;
    uint32_t size = pk_arr_item(doc, args, 2), stride = pk_arr_item(doc, args, 3);
    const pk_array *s = pk_array_of(doc, storage);
    uint64_t nd = pk_arr_count(doc, size, PK_K_TUPLE);
    if (n < 4 || n == UINT64_MAX || !s || s->what != PK_T_STORAGE ||
        !pk_arr_int(doc, pk_arr_item(doc, args, 1), &off) || off < 0 || nd > PK_ARR_MAXDIM ||
        pk_arr_count(doc, stride, PK_K_TUPLE) != nd ||
        (n >= 5 && !pk_arr_int(doc, pk_arr_item(doc, args, 4), &grad)))
        return 0;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.numel = 1;
    for (uint64_t i = 0; i < nd; i++) {
        int64_t sh, st;
        if (!pk_arr_int(doc, pk_arr_item(doc, size, i), &sh) ||
            !pk_arr_int(doc, pk_arr_item(doc, stride, i), &st) ||
            sh < 0 || st < 0 || __builtin_mul_overflow(tmp.numel, (uint64_t)sh, &tmp.numel))
            return 0;
        tmp.shape[i] = (uint64_t)sh;
        tmp.stride[i] = (uint64_t)st;
    }
    pk_array *a = derive(c, storage, callable, args, PK_T_TENSOR, out);
    if (!a)
        return -1;
    a->ndim = (uint8_t)nd;
    memcpy(a->shape, tmp.shape, sizeof a->shape);
    memcpy(a->stride, tmp.stride, sizeof a->stride);
    a->numel = tmp.numel;
    a->offset = (uint64_t)off;
    a->requires_grad = grad != 0;
    pk_array_set_source(a, (pk_asrc)a->src, a->src_pos, a->src_mem, a->src_len);
    return 0;
}

/* _rebuild_parameter(data, requires_grad, backward_hooks) and
 * _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state): the state, the
 * parameter's own attributes, is dropped only when there are none. */
static int rebuild_parameter(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint32_t data = pk_arr_item(doc, args, 0);
    const pk_array *t = pk_array_of(doc, data);
    uint64_t n = pk_arr_count(doc, args, PK_K_TUPLE);
    bool with_state = pk_global_is(doc, callable, "torch._utils._rebuild_parameter_with_state");
    int64_t grad;
    if (!t || t->what != PK_T_TENSOR || !pk_arr_int(doc, pk_arr_item(doc, args, 1), &grad) ||
        n != (with_state ? 4u : 3u) || !hooks_dropped(doc, pk_arr_item(doc, args, 2)) ||
        (with_state && !metadata_dropped(doc, pk_arr_item(doc, args, 3))))
        return 0;
    pk_array *a = derive(c, data, callable, args, PK_T_TENSOR, out);
    if (!a)
        return -1;
    a->requires_grad = grad != 0;
    return 0;
}

/* torch.Size(tuple): the tuple */
static int torch_size(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint32_t from = pk_arr_item(doc, args, 0);
    if (pk_arr_count(doc, args, PK_K_TUPLE) != 1 ||
        (pk_arr_count(doc, from, PK_K_TUPLE) == UINT64_MAX &&
         pk_arr_count(doc, from, PK_K_LIST) == UINT64_MAX))
        return 0;
    uint32_t t = pk_lift_new_node(c, PK_K_TUPLE);
    if (!t)
        return -1;
    if (pk_chain_copy(doc, t, from, 0) < 0)
        return pk_lift_oom(c);
    doc->nodes[t].flags |= PK_NF_FROZEN;
    *out = t;
    return 0;
}

/* torch.device('cuda', 0): text "cuda:0" */
static int torch_device(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = pk_arr_count(doc, args, PK_K_TUPLE);
    uint32_t type = pk_arr_item(doc, args, 0);
    const pk_node *tn = &doc->nodes[type];
    int64_t index = -1;
    if ((n != 1 && n != 2) || tn->kind != PK_K_STR || pk_span_len(doc, tn) > 64 ||
        !pk_span_ptr(doc, tn) || (n == 2 && !pk_arr_int(doc, pk_arr_item(doc, args, 1), &index)))
        return 0;
    char t[96];
    int k = snprintf(t, sizeof t, "%.*s", (int)pk_span_len(doc, tn),
                     (const char *)pk_span_ptr(doc, tn));
    if (index >= 0)
        k += snprintf(t + k, sizeof t - (size_t)k, ":%lld", (long long)index);
    uint32_t d = pk_lift_new_node(c, PK_K_TEXT);
    if (!d)
        return -1;
    if (!pk_node_set_text(doc, d, t, (size_t)k))
        return pk_lift_oom(c);
    *out = d;
    return 0;
}

/* The torch calls lifted (name normalised by lift.c); 0 and *out left 0 for any other name. */
int pk_torch_lift_call(pk_lift_ctx *c, const char *name, uint32_t callable, uint32_t args,
                       uint32_t *out)
{
    if (strcmp(name, "torch._utils._rebuild_tensor_v2") == 0 ||
        strcmp(name, "torch._utils._rebuild_tensor") == 0)
        return rebuild_tensor(c, callable, args, out);
    if (strcmp(name, "torch._utils._rebuild_parameter") == 0 ||
        strcmp(name, "torch._utils._rebuild_parameter_with_state") == 0)
        return rebuild_parameter(c, callable, args, out);
    if (strcmp(name, "torch.Size") == 0)
        return torch_size(c, args, out);
    if (strcmp(name, "torch.device") == 0)
        return torch_device(c, args, out);
    return 0;
}
