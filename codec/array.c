/* array.c: numpy arrays, torch tensors and storages, read from their pickled recipe and shown
 * as files, never by running the recipe.
 *
 * What is lifted (SPEC.md, "Lifted reconstructors"):
 *   numpy.dtype(...) + BUILD          a dtype: a text file, numpy's str(dtype)
 *   numpy.core.multiarray._reconstruct(cls, (0,), b'b') + BUILD((ver, shape, dtype, fortran,
 *       rawdata))                     an array; rawdata a list (dtype object): nested lists
 *   numpy.core.numeric._frombuffer(buf, dtype, shape, order)      (protocol 5) an array
 *   numpy.core.multiarray.scalar(dtype, bytes)   the matching Python int, float or bool
 *   (numpy 2 spells numpy.core as numpy._core; both are accepted)
 *   joblib.numpy_pickle.NumpyArrayWrapper + BUILD   an array whose bytes follow in the stream
 *   persistent id ('storage', torch.XStorage, key, location, numel)   a storage: the archive
 *       member <top>/data/<key>, or a legacy file's raw storage of that key
 *   torch._utils._rebuild_tensor_v2 / _rebuild_tensor (storage, offset, size, stride, ...)
 *       a tensor: a strided view of its storage; _rebuild_parameter(_with_state) keeps it
 *   torch.Size(t) a tuple; torch.device(type[, index]) text such as "cuda:0"
 *
 * An array entry NAME is a file, its summary, with NAME.raw beside it holding its element
 * bytes: array_text.c and array_raw.c, in the view, show what this file builds.
 */
#include "ckpt_i.h"
#include "source_i.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* ---- small readers of decoded values ---- */

static uint32_t item(const pk_doc *doc, uint32_t tuple, uint64_t i)
{
    const pk_node *t = &doc->nodes[tuple];
    if ((t->kind != PK_K_TUPLE && t->kind != PK_K_LIST) || i >= pk_count(doc, t))
        return 0;
    return pk_item_at(doc, t, i);
}

static uint64_t count_of(const pk_doc *doc, uint32_t node, pk_kind kind)
{
    const pk_node *t = &doc->nodes[node];
    return node && t->kind == kind ? pk_count(doc, t) : UINT64_MAX;
}

static bool str_is(const pk_doc *doc, uint32_t node, const char *text)
{
    const pk_node *n = &doc->nodes[node];
    size_t k = strlen(text);
    if (!node || n->kind != PK_K_STR || pk_span_len(doc, n) != k)
        return false;
    const uint8_t *p = pk_span_ptr(doc, n);
    return p && memcmp(p, text, k) == 0;
}

static bool int_of(const pk_doc *doc, uint32_t node, int64_t *v)
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

static bool called(const pk_doc *doc, uint32_t node, const char *name)
{
    size_t len;
    const char *s = callable_name(doc, node, &len);
    return len == strlen(name) && memcmp(s, name, len) == 0;
}

/* numpy.core.X or numpy._core.X */
static bool numpy_core(const char *name, const char *rest)
{
    const char *p = strncmp(name, "numpy.core.", 11) == 0    ? name + 11
                    : strncmp(name, "numpy._core.", 12) == 0 ? name + 12
                                                             : NULL;
    return p && strcmp(p, rest) == 0;
}

static bool called_numpy_core(const pk_doc *doc, uint32_t node, const char *rest)
{
    size_t len;
    const char *s = callable_name(doc, node, &len);
    char name[96];
    if (len >= sizeof name)
        return false;
    memcpy(name, s, len);
    name[len] = 0;
    return numpy_core(name, rest);
}

/* The value of key `key` in a dict node, or 0. */
static uint32_t dict_get(const pk_doc *doc, uint32_t dict, const char *key)
{
    const pk_node *d = &doc->nodes[dict];
    if (!dict || d->kind != PK_K_DICT)
        return 0;
    pk_cursor c = pk_items_of(doc, d);
    uint32_t k, v;
    while (pk_item_next(doc, &c, &k) && pk_item_next(doc, &c, &v))
        if (str_is(doc, k, key))
            return v;
    return 0;
}

/* ---- the arrays ---- */

/* A new array record; its index in *idx. Pointers into k->arrays move when it grows. */
static pk_array *new_array(pk_lift_ctx *c, uint64_t *idx)
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

const pk_array *pk_array_of(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind != PK_K_ARRAY || !doc->ckpt || (uint64_t)n->u.i >= doc->ckpt->narrays)
        return NULL;
    return &doc->ckpt->arrays[n->u.i];
}

/* shape, numel, C-order strides (or Fortran order), from a tuple of ints. */
static bool set_shape(const pk_doc *doc, pk_array *a, uint32_t shape, bool fortran)
{
    uint64_t nd = count_of(doc, shape, PK_K_TUPLE);
    if (nd == UINT64_MAX)
        nd = count_of(doc, shape, PK_K_LIST);
    if (nd > PK_ARR_MAXDIM)
        return false;
    a->ndim = (uint8_t)nd;
    a->numel = 1;
    for (uint64_t i = 0; i < nd; i++) {
        int64_t v;
        if (!int_of(doc, item(doc, shape, i), &v) || v < 0 ||
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
static bool make_array_node(pk_doc *doc, uint32_t node, uint64_t idx, uint16_t what)
{
    if (!pk_node_set_tname(doc, node, what))
        return false;
    pk_node *n = &doc->nodes[node];
    n->kind = PK_K_ARRAY;
    n->flags &= PK_NF_EXTRA;
    n->u.i = (int64_t)idx;
    return true;
}

/* ---- dtypes ---- */

/* Add text to the pool; text may lie in the pool itself, which moves when it grows. */
static bool pool_text(pk_doc *doc, const char *s, size_t len, pk_span *out)
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

/* numpy's dtype.str: byte order, kind, size: "<f8", "|b1", "<U5" (U counts characters) */
static void descr_str(const pk_dtype *dt, pk_buf *b)
{
    char t[32];
    char order = dt->size == 1 || dt->kind == 'S' || dt->kind == 'V' || dt->kind == 'b' ||
                         dt->kind == 'O'
                     ? '|'
                     : dt->big ? '>' : '<';
    snprintf(t, sizeof t, "%c%c%u", order, dt->kind, dt->kind == 'U' ? dt->size / 4 : dt->size);
    pk_buf_puts(b, t);
}

/* numpy's str(dtype) */
static void dtype_name(const pk_doc *doc, const pk_dtype *dt, pk_buf *b)
{
    char t[32];
    const char *word = NULL;
    switch (dt->kind) {
    case 'b': word = "bool"; break;
    case 'i': word = "int"; break;
    case 'u': word = "uint"; break;
    case 'f': word = "float"; break;
    case 'c': word = "complex"; break;
    case 'O': pk_buf_puts(b, "object"); return;
    default: break;
    }
    if (dt->nfields) {
        pk_buf_puts(b, "[");
        for (uint32_t i = 0; i < dt->nfields; i++) {
            const pk_field *f = &doc->ckpt->fields[dt->field0 + i];
            pk_buf_puts(b, i ? ", (" : "(");
            pk_repr_text(b, (const uint8_t *)doc->pool.data + f->name.pos, f->name.len, false);
            pk_buf_puts(b, ", ");
            if (f->dt.nfields) {
                dtype_name(doc, &f->dt, b);
            } else {
                pk_buf_puts(b, "'");
                descr_str(&f->dt, b);
                pk_buf_puts(b, "'");
            }
            pk_buf_puts(b, ")");
        }
        pk_buf_puts(b, "]");
        return;
    }
    if (word && !(dt->big && dt->size > 1)) {
        snprintf(t, sizeof t, "%s%u", word, dt->kind == 'b' ? 0 : dt->size * 8);
        if (dt->kind == 'b')
            t[4] = 0;
        pk_buf_puts(b, t);
        return;
    }
    descr_str(dt, b);
}

#define DTYPE_DEPTH 8

/* Read a numpy.dtype call (args (str, align, copy), BUILD state (version, byteorder, subdescr,
 * names, fields, elsize, alignment, flags[, metadata])). Returns false for what we do not
 * model (sub-array dtypes, too deep nesting). */
static bool parse_dtype(pk_doc *doc, uint32_t node, pk_dtype *dt, int depth)
{
    memset(dt, 0, sizeof *dt);
    if (depth > DTYPE_DEPTH || !node || !called(doc, node, "numpy.dtype"))
        return false;
    const pk_call *c = &doc->calls[pk_node_call(doc, &doc->nodes[node])];
    uint32_t code = item(doc, c->args, 0);
    const pk_node *cn = &doc->nodes[code];
    const uint8_t *cp = code ? pk_span_ptr(doc, cn) : NULL;
    uint64_t len = code ? pk_span_len(doc, cn) : 0;
    if (!cp || cn->kind != PK_K_STR || len < 1 || len > 12)
        return false;
    char s[16];
    memcpy(s, cp, (size_t)len);
    s[len] = 0;
    dt->kind = s[0];
    dt->size = (uint32_t)strtoul(s + 1, NULL, 10);
    if (!strchr("biufcSUVOMm", dt->kind))
        return false;
    uint32_t st = c->state;
    uint64_t nst = count_of(doc, st, PK_K_TUPLE);
    if (st && nst >= 8 && nst != UINT64_MAX) {
        uint32_t order = item(doc, st, 1);
        dt->big = str_is(doc, order, ">");
        if (doc->nodes[item(doc, st, 2)].kind != PK_K_NONE)
            return false; /* a sub-array dtype */
        int64_t elsize;
        if (int_of(doc, item(doc, st, 5), &elsize) && elsize > 0 && elsize < (1 << 30))
            dt->size = (uint32_t)elsize;
        uint32_t names = item(doc, st, 3), fields = item(doc, st, 4);
        uint64_t nn = count_of(doc, names, PK_K_TUPLE);
        if (nn != UINT64_MAX && nn > 0) {
            pk_ckpt *k = pk_ckpt_get(doc);
            if (!k || nn > 4096)
                return false;
            pk_field tmp[64];
            if (nn > 64)
                return false;
            for (uint64_t i = 0; i < nn; i++) {
                uint32_t name = item(doc, names, i);
                const pk_node *nm = &doc->nodes[name];
                if (nm->kind != PK_K_STR || pk_span_len(doc, nm) > 255 || !pk_span_ptr(doc, nm))
                    return false;
                const char *nmp = (const char *)pk_span_ptr(doc, nm);
                size_t nml = (size_t)pk_span_len(doc, nm);
                /* fields[name] = (dtype, offset[, title]) */
                uint32_t ft = 0;
                const pk_node *fd = &doc->nodes[fields];
                if (fd->kind != PK_K_DICT)
                    return false;
                pk_cursor cur = pk_items_of(doc, fd);
                uint32_t key, value;
                while (pk_item_next(doc, &cur, &key) && pk_item_next(doc, &cur, &value)) {
                    const pk_node *kn = &doc->nodes[key];
                    const uint8_t *knp = kn->kind == PK_K_STR ? pk_span_ptr(doc, kn) : NULL;
                    if (knp && pk_span_len(doc, kn) == nml && memcmp(knp, nmp, nml) == 0)
                        ft = value;
                }
                int64_t off;
                if (!ft || !int_of(doc, item(doc, ft, 1), &off) || off < 0 ||
                    !parse_dtype(doc, item(doc, ft, 0), &tmp[i].dt, depth + 1) ||
                    (uint64_t)off + tmp[i].dt.size > dt->size)
                    return false;
                tmp[i].offset = (uint64_t)off;
                if (!pool_text(doc, nmp, nml, &tmp[i].name))
                    return false;
            }
            if (!pk_grow((void **)&k->fields, &k->cap_fields, k->nfields + nn, sizeof *k->fields))
                return false;
            memcpy(k->fields + k->nfields, tmp, (size_t)nn * sizeof *tmp);
            dt->field0 = (uint32_t)k->nfields;
            dt->nfields = (uint32_t)nn;
            k->nfields += nn;
        }
    }
    if (dt->kind == 'O')
        dt->size = 8;
    if (dt->size == 0 && dt->kind != 'V' && dt->kind != 'S' && dt->kind != 'U')
        return false;
    pk_buf b = {0};
    dtype_name(doc, dt, &b);
    bool ok = !b.failed && pool_text(doc, b.data, b.len, &dt->name);
    pk_buf_free(&b);
    return ok;
}

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
        if (strlen(torch_types[i].storage) == blen && memcmp(dot, torch_types[i].storage, blen) == 0) {
            memset(dt, 0, sizeof *dt);
            dt->kind = torch_types[i].kind;
            dt->size = torch_types[i].size;
            dt->big = big && dt->size > 1;
            return pool_text(doc, torch_types[i].dtype, strlen(torch_types[i].dtype), &dt->name);
        }
    }
    return false;
}

/* ---- lifting ---- */

/* numpy.dtype + BUILD: a text file naming the dtype; the call record stays for parse_dtype. */
static int build_dtype(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    pk_dtype dt;
    if (!parse_dtype(doc, node, &dt, 0))
        return 0;
    if (!pk_node_set_tname(doc, node, PK_T_DTYPE))
        return pk_lift_oom(c);
    pk_node *n = &doc->nodes[node];
    n->kind = PK_K_TEXT;
    n->flags &= PK_NF_EXTRA;
    return pk_node_set_span(doc, node, dt.name) ? 0 : pk_lift_oom(c);
}

/* An object array's flat list of elements, as lists nested by shape (like tolist()). */
static uint32_t nest(pk_lift_ctx *c, const pk_array *a, pk_cursor *elems, uint64_t dim)
{
    pk_doc *doc = c->doc;
    uint32_t l = pk_lift_new_node(c, PK_K_LIST);
    if (!l)
        return 0;
    for (uint64_t i = 0; i < a->shape[dim]; i++) {
        uint32_t v;
        if (dim + 1 < a->ndim) {
            if (!(v = nest(c, a, elems, dim + 1)))
                return 0;
        } else if (!pk_item_next(doc, elems, &v)) {
            return pk_lift_oom(c), 0; /* not reached: the list has numel items */
        }
        if (pk_chain_add(doc, l, v) < 0)
            return pk_lift_oom(c), 0;
    }
    return l;
}

static int object_array(pk_lift_ctx *c, uint32_t node, const pk_array *shape_of, uint32_t list)
{
    pk_doc *doc = c->doc;
    const pk_node *ln = &doc->nodes[list];
    if (ln->kind != PK_K_LIST || pk_count(doc, ln) != shape_of->numel)
        return 0;
    pk_node *n = &doc->nodes[node];
    if (n->kind != PK_K_OBJECT)
        return 0; /* not reached: arrays are made of objects, whose chain the list takes */
    if (shape_of->ndim <= 1) {
        n->kind = PK_K_LIST;
        pk_items_clear(n);
        if (pk_chain_copy(doc, node, list, 0) < 0)
            return pk_lift_oom(c);
    } else {
        /* nested lists of at most 32 levels; the top one is node itself */
        pk_cursor elems = pk_items_of(doc, ln);
        n->kind = PK_K_LIST;
        pk_items_clear(n);
        for (uint64_t i = 0; i < shape_of->shape[0]; i++) {
            uint32_t v = nest(c, shape_of, &elems, 1);
            if (!v)
                return -1;
            if (pk_chain_add(doc, node, v) < 0)
                return pk_lift_oom(c);
        }
    }
    if (!pk_node_set_tname(doc, node, 0))
        return pk_lift_oom(c);
    n = &doc->nodes[node];
    n->flags &= PK_NF_EXTRA | PK_NF_CHAINED; /* a list now, whose items may be a chain */
    uint32_t call = pk_node_call(doc, n);
    if (call)
        doc->calls[call].state = 0; /* consumed: the elements are the items */
    return 0;
}

/* Fill an array from (shape, dtype node, fortran, data node), and make node show it. */
static int fill_array(pk_lift_ctx *c, uint32_t node, uint32_t shape, uint32_t dtype,
                      bool fortran, uint32_t data)
{
    pk_doc *doc = c->doc;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!parse_dtype(doc, dtype, &tmp.dt, 0) || !set_shape(doc, &tmp, shape, fortran))
        return 0;
    const pk_node *dn = &doc->nodes[data];
    if (tmp.dt.kind == 'O')
        return object_array(c, node, &tmp, data);
    if (dn->kind != PK_K_BYTES && dn->kind != PK_K_BYTEARRAY && dn->kind != PK_K_STR)
        return 0;
    uint64_t need;
    if (__builtin_mul_overflow(tmp.numel, tmp.dt.size, &need) || need != pk_span_len(doc, dn))
        return 0;
    uint64_t idx;
    pk_array *a = new_array(c, &idx);
    if (!a)
        return -1;
    *a = tmp;
    atomic_init(&a->summary, NULL);
    a->what = PK_T_NDARRAY;
    a->src_node = data;
    pk_array_set_source(a, PK_AS_NODE, 0, NULL, pk_span_len(doc, dn));
    return make_array_node(doc, node, idx, PK_T_NDARRAY) ? 0 : pk_lift_oom(c);
}

/* _reconstruct(...) + BUILD((version, shape, dtype, is_fortran, rawdata)); numpy before 1.0
 * wrote the state without its version. */
static int build_ndarray(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    uint32_t st = doc->calls[pk_node_call(doc, &doc->nodes[node])].state;
    uint64_t n = count_of(doc, st, PK_K_TUPLE);
    if (n != 5 && n != 4)
        return 0;
    uint64_t b = n == 5 ? 1 : 0;
    int64_t fortran;
    if (!int_of(doc, item(doc, st, b + 2), &fortran))
        return 0;
    return fill_array(c, node, item(doc, st, b), item(doc, st, b + 1), fortran != 0,
                      item(doc, st, b + 3));
}

int pk_array_build(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    if (doc->nodes[node].kind != PK_K_OBJECT)
        return 0;
    if (called(doc, node, "numpy.dtype"))
        return build_dtype(c, node);
    if (called_numpy_core(doc, node, "multiarray._reconstruct"))
        return build_ndarray(c, node);
    return 0;
}

/* joblib: the wrapper's BUILD state says what array follows; see decode.c's after_build(). */
int pk_joblib_build(pk_lift_ctx *c, uint32_t node, const uint8_t *at, uint64_t left,
                    uint64_t at_pos, uint64_t *consumed, bool *nested)
{
    pk_doc *doc = c->doc;
    if (doc->nodes[node].kind != PK_K_OBJECT ||
        !called(doc, node, "joblib.numpy_pickle.NumpyArrayWrapper"))
        return 0;
    uint32_t st = doc->calls[pk_node_call(doc, &doc->nodes[node])].state;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    uint32_t order = dict_get(doc, st, "order");
    if (!parse_dtype(doc, dict_get(doc, st, "dtype"), &tmp.dt, 0) ||
        !set_shape(doc, &tmp, dict_get(doc, st, "shape"), str_is(doc, order, "F")))
        return c->fail(c, PK_E_BAD_ARGUMENT, "joblib array of a dtype or shape picklefs cannot "
                       "read, so its bytes cannot be skipped");
    if (tmp.dt.kind == 'O') {
        *nested = true;
        return 1;
    }
    uint64_t skip = 0;
    uint32_t align = dict_get(doc, st, "numpy_array_alignment_bytes");
    if (align && doc->nodes[align].kind != PK_K_NONE) {
        if (left < 1)
            return c->fail(c, PK_E_TRUNCATED, "truncated data: joblib array padding");
        skip = 1 + (uint64_t)at[0]; /* a length byte, then that many 0xff */
    }
    uint64_t need;
    if (__builtin_mul_overflow(tmp.numel, tmp.dt.size, &need) || skip > left ||
        need > left - skip) {
        char what[160];
        snprintf(what, sizeof what, "length %llu of a joblib array larger than the %llu bytes left",
                 (unsigned long long)need, (unsigned long long)(left > skip ? left - skip : 0));
        return c->fail(c, PK_E_LENGTH, what);
    }
    uint64_t idx;
    pk_array *a = new_array(c, &idx);
    if (!a)
        return -1;
    *a = tmp;
    atomic_init(&a->summary, NULL);
    a->what = PK_T_NDARRAY;
    pk_array_set_source(a, PK_AS_STREAM, at_pos + skip, NULL, need);
    if (!make_array_node(doc, node, idx, PK_T_NDARRAY))
        return pk_lift_oom(c);
    doc->calls[pk_node_call(doc, &doc->nodes[node])].state = st;
    *consumed = skip + need;
    return 1;
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
    uint64_t len = count_of(doc, pid, PK_K_TUPLE);
    if (len != 5 && len != 6)
        return 0;
    uint32_t key = item(doc, pid, 2);
    const pk_node *kn = &doc->nodes[key];
    int64_t numel;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!str_is(doc, item(doc, pid, 0), "storage") || kn->kind != PK_K_STR ||
        pk_span_len(doc, kn) >= sizeof tmp.key || !pk_span_ptr(doc, kn) ||
        !int_of(doc, item(doc, pid, 4), &numel) || numel < 0 ||
        !torch_dtype(doc, item(doc, pid, 1), k->big_endian, &tmp.dt))
        return 0;
    if (len == 6 && doc->nodes[item(doc, pid, 5)].kind != PK_K_NONE)
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
    pk_array *a = new_array(c, &idx);
    if (!a)
        return -1;
    *a = tmp;
    atomic_init(&a->summary, NULL);
    if (a->src == PK_AS_NONE)
        pk_array_set_source(a, PK_AS_NONE, 0, NULL, 0);
    return make_array_node(doc, node, idx, PK_T_STORAGE) ? 0 : pk_lift_oom(c);
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
    pk_array *a = new_array(c, &idx);
    if (!a)
        return NULL;
    *a = doc->ckpt->arrays[doc->nodes[from].u.i];
    atomic_init(&a->summary, NULL);
    a->what = (uint8_t)what;
    if (!make_array_node(doc, n, idx, what))
        return pk_lift_oom(c), NULL;
    *out = n;
    return a;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks
 * [, metadata]) and _rebuild_tensor(storage, storage_offset, size, stride) */
static int rebuild_tensor(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = count_of(doc, args, PK_K_TUPLE);
    uint32_t storage = item(doc, args, 0);
    int64_t off, grad = 0;
    uint32_t size = item(doc, args, 2), stride = item(doc, args, 3);
    const pk_array *s = pk_array_of(doc, storage);
    uint64_t nd = count_of(doc, size, PK_K_TUPLE);
    if (n < 4 || n == UINT64_MAX || !s || s->what != PK_T_STORAGE ||
        !int_of(doc, item(doc, args, 1), &off) || off < 0 || nd > PK_ARR_MAXDIM ||
        count_of(doc, stride, PK_K_TUPLE) != nd || (n >= 5 && !int_of(doc, item(doc, args, 4), &grad)))
        return 0;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.numel = 1;
    for (uint64_t i = 0; i < nd; i++) {
        int64_t sh, st;
        if (!int_of(doc, item(doc, size, i), &sh) || !int_of(doc, item(doc, stride, i), &st) ||
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

/* _rebuild_parameter(data, requires_grad, backward_hooks[, state]) */
static int rebuild_parameter(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint32_t data = item(doc, args, 0);
    const pk_array *t = pk_array_of(doc, data);
    int64_t grad;
    if (!t || t->what != PK_T_TENSOR || !int_of(doc, item(doc, args, 1), &grad))
        return 0;
    pk_array *a = derive(c, data, callable, args, PK_T_TENSOR, out);
    if (!a)
        return -1;
    a->requires_grad = grad != 0;
    return 0;
}

/* numpy scalar(dtype, bytes): the Python int, float or bool it stands for. */
static int numpy_scalar(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    pk_dtype dt;
    uint32_t data = item(doc, args, 1);
    const pk_node *dn = &doc->nodes[data];
    if (count_of(doc, args, PK_K_TUPLE) != 2 || !parse_dtype(doc, item(doc, args, 0), &dt, 0) ||
        (dn->kind != PK_K_BYTES && dn->kind != PK_K_STR) || pk_span_len(doc, dn) != dt.size ||
        dt.size > 8 || !pk_span_ptr(doc, dn))
        return 0;
    uint8_t v[8];
    const uint8_t *p = pk_span_ptr(doc, dn);
    for (uint32_t i = 0; i < dt.size; i++)
        v[i] = dt.big ? p[dt.size - 1 - i] : p[i];
    uint64_t u = 0;
    for (uint32_t i = dt.size; i-- > 0;)
        u = u << 8 | v[i];
    uint32_t n = 0;
    if (dt.kind == 'b' || dt.kind == 'i' || (dt.kind == 'u' && u <= INT64_MAX)) {
        if (!(n = pk_lift_new_node(c, dt.kind == 'b' ? PK_K_BOOL : PK_K_INT)))
            return -1;
        int64_t s = (int64_t)u;
        if (dt.kind == 'i' && dt.size < 8 && (u >> (dt.size * 8 - 1)) & 1)
            s = (int64_t)(u | ~(uint64_t)0 << (dt.size * 8));
        doc->nodes[n].u.i = dt.kind == 'b' ? u != 0 : s;
    } else if (dt.kind == 'u') {
        char t[24];
        int k = snprintf(t, sizeof t, "%llu", (unsigned long long)u);
        if (!(n = pk_lift_new_node(c, PK_K_BIGINT)))
            return -1;
        if (!pk_node_set_text(doc, n, t, (size_t)k))
            return pk_lift_oom(c);
    } else if (dt.kind == 'f' && (dt.size == 4 || dt.size == 8 || dt.size == 2)) {
        double d;
        if (dt.size == 8) {
            memcpy(&d, &u, 8);
        } else if (dt.size == 4) {
            float f;
            uint32_t w = (uint32_t)u;
            memcpy(&f, &w, 4);
            d = f;
        } else {
            unsigned e = (u >> 10) & 0x1f, m = u & 0x3ff;
            d = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, (int)e - 25);
            if (u & 0x8000)
                d = -d;
        }
        if (!(n = pk_lift_new_node(c, PK_K_FLOAT)))
            return -1;
        doc->nodes[n].u.f = d;
    } else {
        return 0;
    }
    *out = n;
    return 0;
}

/* _frombuffer(buffer, dtype, shape, order) */
static int numpy_frombuffer(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    if (count_of(doc, args, PK_K_TUPLE) != 4)
        return 0;
    uint32_t n = pk_lift_new_node(c, PK_K_OBJECT);
    if (!n)
        return -1;
    if (fill_array(c, n, item(doc, args, 2), item(doc, args, 1),
                   str_is(doc, item(doc, args, 3), "F"), item(doc, args, 0)) < 0)
        return -1;
    if (doc->nodes[n].kind != PK_K_ARRAY) {
        doc->nodes[n].kind = PK_K_NONE; /* an orphan: the call stays opaque */
        return 0;
    }
    *out = n;
    return 0;
}

/* torch.Size(tuple): the tuple */
static int torch_size(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint32_t from = item(doc, args, 0);
    if (count_of(doc, args, PK_K_TUPLE) != 1 ||
        (count_of(doc, from, PK_K_TUPLE) == UINT64_MAX && count_of(doc, from, PK_K_LIST) == UINT64_MAX))
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
    uint64_t n = count_of(doc, args, PK_K_TUPLE);
    uint32_t type = item(doc, args, 0);
    const pk_node *tn = &doc->nodes[type];
    int64_t index = -1;
    if ((n != 1 && n != 2) || tn->kind != PK_K_STR || pk_span_len(doc, tn) > 64 ||
        !pk_span_ptr(doc, tn) || (n == 2 && !int_of(doc, item(doc, args, 1), &index)))
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

int pk_array_lift_call(pk_lift_ctx *c, const char *name, uint32_t callable, uint32_t args,
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
    if (numpy_core(name, "multiarray.scalar"))
        return numpy_scalar(c, args, out);
    if (numpy_core(name, "numeric._frombuffer"))
        return numpy_frombuffer(c, args, out);
    return 0;
}
