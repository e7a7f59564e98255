/* st_lift.c: the tensors of a safetensors file (its header read by safetensors.c), made as the
 * same array model a torch checkpoint's tensors become, so that the two mount alike: a dict of
 * tensor name to tensor file (with its NAME.raw), in the header's order, and the header's
 * __metadata__, when there is one, as a dict of str to str. dtypes are named as torch names them
 * ("torch.float32"); the elements stay in the file, read when shown.
 */
#include "array_i.h"
#include "ckpt_i.h"
#include "safetensors_i.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* safetensors dtypes, as torch names them; kind 'V' for the float8 ones, which are shown as
 * bytes since no summary renders them */
static const struct {
    const char *st, *torch;
    char kind;
    uint32_t size;
} st_types[] = {
    {"BOOL", "torch.bool", 'b', 1},       {"U8", "torch.uint8", 'u', 1},
    {"I8", "torch.int8", 'i', 1},         {"I16", "torch.int16", 'i', 2},
    {"U16", "torch.uint16", 'u', 2},      {"F16", "torch.float16", 'f', 2},
    {"BF16", "torch.bfloat16", 'T', 2},   {"I32", "torch.int32", 'i', 4},
    {"U32", "torch.uint32", 'u', 4},      {"F32", "torch.float32", 'f', 4},
    {"F64", "torch.float64", 'f', 8},     {"I64", "torch.int64", 'i', 8},
    {"U64", "torch.uint64", 'u', 8},      {"C64", "torch.complex64", 'c', 8},
    {"F8_E4M3", "torch.float8_e4m3fn", 'V', 1}, {"F8_E5M2", "torch.float8_e5m2", 'V', 1},
};

static bool st_dtype(pk_doc *doc, const char *name, pk_dtype *dt)
{
    memset(dt, 0, sizeof *dt);
    for (size_t i = 0; i < sizeof st_types / sizeof st_types[0]; i++) {
        if (strcmp(name, st_types[i].st) == 0) {
            dt->kind = st_types[i].kind;
            dt->size = st_types[i].size;
            return pk_arr_pool_text(doc, st_types[i].torch, strlen(st_types[i].torch),
                                    &dt->name);
        }
    }
    return false;
}

static int st_bad(pk_lift_ctx *c, uint64_t at, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof msg, "malformed safetensors header: %s", what);
    pk_lift_at(c, at);
    return c->fail(c, PK_E_CONTAINER, msg);
}

/* One tensor of the header as a new value, or 0 (the error set). */
static uint32_t st_tensor(pk_lift_ctx *c, const pk_st_header *h, const pk_st_tensor *t)
{
    pk_doc *doc = c->doc;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    char what[160];
    if (!st_dtype(doc, t->dtype, &tmp.dt)) {
        snprintf(what, sizeof what, "unknown dtype %s", t->dtype);
        return st_bad(c, t->at, what), 0;
    }
    tmp.ndim = t->ndim;
    tmp.numel = 1;
    for (uint32_t i = 0; i < t->ndim; i++) {
        tmp.shape[i] = t->shape[i];
        if (__builtin_mul_overflow(tmp.numel, t->shape[i], &tmp.numel))
            return st_bad(c, t->at, "shape too large"), 0;
    }
    uint64_t s = 1;
    for (uint32_t j = 0; j < t->ndim; j++) {
        uint32_t i = t->ndim - 1 - j;
        tmp.stride[i] = s;
        s *= tmp.shape[i] ? tmp.shape[i] : 1;
    }
    uint64_t need;
    if (__builtin_mul_overflow(tmp.numel, tmp.dt.size, &need))
        return st_bad(c, t->at, "shape too large"), 0;
    if (need != t->end - t->begin) {
        snprintf(what, sizeof what, "data offsets of %llu bytes for a tensor of %llu bytes",
                 (unsigned long long)(t->end - t->begin), (unsigned long long)need);
        return st_bad(c, t->at, what), 0;
    }
    pk_lift_at(c, t->at);
    /* the file is the stream: read from FILE by offset once it is unmapped (zero-copy) */
    return pk_array_from_stream(c, &tmp, PK_T_TENSOR, h->data + t->begin, need);
}

/* A str value of the pool's span s; a name when it keys a dict. */
static uint32_t st_str(pk_lift_ctx *c, pk_span s, bool key)
{
    uint32_t n = pk_lift_new_node(c, PK_K_STR);
    if (!n)
        return 0;
    if (!pk_node_set_span(c->doc, n, s) || (key && pk_key_is_name(c->doc, n) < 0))
        return pk_lift_oom(c), 0;
    return n;
}

static int st_pair(pk_lift_ctx *c, uint32_t dict, uint32_t key, uint32_t value)
{
    if (!key || !value)
        return -1;
    if (pk_chain_add(c->doc, dict, key) < 0 || pk_chain_add(c->doc, dict, value) < 0)
        return pk_lift_oom(c);
    return 0;
}

/* __metadata__: a dict of str to str. */
static uint32_t st_metadata(pk_lift_ctx *c, const pk_st_header *h)
{
    uint32_t d = pk_lift_new_node(c, PK_K_DICT);
    for (uint64_t i = 0; d && i < h->nmeta; i++)
        if (st_pair(c, d, st_str(c, h->meta[i].key, true), st_str(c, h->meta[i].value, false)) < 0)
            return 0;
    return d;
}

int pk_st_build(pk_lift_ctx *c, void *arg, uint32_t *top)
{
    const pk_st_header *h = arg;
    uint32_t d = pk_lift_new_node(c, PK_K_DICT);
    if (!d)
        return -1;
    if (h->nmeta) {
        pk_span name;
        if (!pk_pool_add(&c->doc->pool, "__metadata__", 12, &name))
            return pk_lift_oom(c);
        if (st_pair(c, d, st_str(c, name, true), st_metadata(c, h)) < 0)
            return -1;
    }
    for (uint64_t i = 0; i < h->ntensors; i++) {
        const pk_st_tensor *t = &h->tensors[i];
        pk_lift_at(c, t->at);
        if (st_pair(c, d, st_str(c, t->name, true), st_tensor(c, h, t)) < 0)
            return -1;
    }
    *top = d;
    return 0;
}
