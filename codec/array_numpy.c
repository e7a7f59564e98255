/* array_numpy.c: the numpy lifts. numpy.dtype + BUILD becomes a text file naming the dtype;
 * multiarray._reconstruct + BUILD and numeric._frombuffer become arrays over the bytes node
 * that holds their elements (an object array becomes nested lists instead); multiarray.scalar
 * becomes the Python int, float or bool it stands for.
 */
#include "array_i.h"
#include "ckpt_i.h"
#include "npytime_i.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* numpy.dtype + BUILD: a text file naming the dtype; the call record stays for pk_dtype_parse.
 * The text drops the call's flags (align, copy) and the parts of the state it does not name
 * (version, alignment, flags): they must be plain data. The state's fields hold other dtypes,
 * lifted themselves: 4 levels reach (names, fields: {name: (dtype, offset)}). */
static int build_dtype(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    pk_dtype dt;
    const pk_call *call = pk_call_of(doc, &doc->nodes[node]);
    if (!call || !pk_lift_inert(doc, call->args, 1) || !pk_lift_inert(doc, call->state, 4) ||
        call->items || call->dictitems || !pk_dtype_parse(doc, node, &dt, 0))
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
    if (!pk_dtype_read(doc, dtype, &tmp.dt) || !pk_array_set_shape(doc, &tmp, shape, fortran))
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
    pk_array *a = pk_array_new_copy(c, &tmp, &idx);
    if (!a)
        return -1;
    a->what = PK_T_NDARRAY;
    a->src_node = data;
    pk_array_set_source(a, PK_AS_NODE, 0, NULL, pk_span_len(doc, dn));
    return pk_array_make_node(doc, node, idx, PK_T_NDARRAY) ? 0 : pk_lift_oom(c);
}

/* _reconstruct(cls, shape, dtype_char), whose arguments the array drops: cls a numpy class
 * (numpy.ndarray, or a subclass such as numpy.matrix), then numpy's placeholders (0,) and
 * b'b' (or their Python 2 spellings): plain data. Anything else keeps the call opaque. */
static bool reconstruct_args_dropped(const pk_doc *doc, const pk_call *call)
{
    uint32_t args = call->args, cls = pk_arr_item(doc, args, 0), code = pk_arr_item(doc, args, 2);
    char name[128];
    pk_kind ck = (pk_kind)doc->nodes[code].kind;
    if (call->items || call->dictitems)
        return false;
    if (pk_arr_count(doc, args, PK_K_TUPLE) == 0)
        return true; /* nothing to drop */
    return pk_arr_count(doc, args, PK_K_TUPLE) == 3 && pk_global_name(doc, cls, name, sizeof name) &&
           strncmp(name, "numpy.", 6) == 0 && pk_arr_count(doc, pk_arr_item(doc, args, 1),
                                                          PK_K_TUPLE) != UINT64_MAX &&
           pk_lift_inert(doc, pk_arr_item(doc, args, 1), 1) &&
           (ck == PK_K_BYTES || ck == PK_K_STR);
}

/* _reconstruct(...) + BUILD((version, shape, dtype, is_fortran, rawdata)); numpy before 1.0
 * wrote the state without its version. */
static int build_ndarray(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    const pk_call *call = &doc->calls[pk_node_call(doc, &doc->nodes[node])];
    uint32_t st = call->state;
    uint64_t n = pk_arr_count(doc, st, PK_K_TUPLE);
    if ((n != 5 && n != 4) || !reconstruct_args_dropped(doc, call))
        return 0;
    uint64_t b = n == 5 ? 1 : 0;
    int64_t fortran, version;
    if (!pk_arr_int(doc, pk_arr_item(doc, st, b + 2), &fortran) ||
        (b && !pk_arr_int(doc, pk_arr_item(doc, st, 0), &version)))
        return 0;
    return fill_array(c, node, pk_arr_item(doc, st, b), pk_arr_item(doc, st, b + 1), fortran != 0,
                      pk_arr_item(doc, st, b + 3));
}

int pk_array_build(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    if (doc->nodes[node].kind != PK_K_OBJECT)
        return 0;
    if (pk_arr_called(doc, node, "numpy.dtype"))
        return build_dtype(c, node);
    if (pk_arr_called_numpy(doc, node, "multiarray._reconstruct"))
        return build_ndarray(c, node);
    return pk_joblib_side_build(c, node);
}

/* A datetime64 or timedelta64 scalar: numpy's str() of it, "2024-01-02T03:04:05", "45 seconds",
 * "NaT"; left opaque when numpy could not write it either. */
static int time_scalar(pk_lift_ctx *c, const pk_dtype *dt, int64_t t, uint32_t *out)
{
    pk_doc *doc = c->doc;
    pk_buf b = {0};
    if (!pk_npytime_put_scalar(&b, dt->kind, dt->unit, dt->unit_n, t)) {
        pk_buf_free(&b);
        return 0;
    }
    int rc = 0;
    uint32_t n = b.failed ? 0 : pk_lift_new_node(c, PK_K_TEXT);
    if (b.failed)
        rc = pk_lift_oom(c);
    else if (!n)
        rc = -1;
    else if (!pk_node_set_tname(doc, n, dt->kind == 'M' ? PK_T_DATETIME64 : PK_T_TIMEDELTA64) ||
             !pk_node_set_text(doc, n, b.data, b.len))
        rc = pk_lift_oom(c);
    else
        *out = n;
    pk_buf_free(&b);
    return rc;
}

/* numpy scalar(dtype, bytes): the Python int, float or bool it stands for; a datetime64 or
 * timedelta64 as numpy's str() of it. */
static int numpy_scalar(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    pk_dtype dt;
    uint32_t data = pk_arr_item(doc, args, 1);
    const pk_node *dn = &doc->nodes[data];
    if (pk_arr_count(doc, args, PK_K_TUPLE) != 2 ||
        !pk_dtype_read(doc, pk_arr_item(doc, args, 0), &dt) ||
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
            d = e == 0 ? ldexp(m, -24)
                : e == 31 ? (m ? NAN : INFINITY)
                          : ldexp(m + 1024, (int)e - 25);
            if (u & 0x8000)
                d = -d;
        }
        if (!(n = pk_lift_new_node(c, PK_K_FLOAT)))
            return -1;
        doc->nodes[n].u.f = d;
    } else if ((dt.kind == 'M' || dt.kind == 'm') && dt.size == 8 && dt.unit[0]) {
        return time_scalar(c, &dt, (int64_t)u, out);
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
    if (pk_arr_count(doc, args, PK_K_TUPLE) != 4 ||
        doc->nodes[pk_arr_item(doc, args, 3)].kind != PK_K_STR) /* the order, 'C' or 'F' */
        return 0;
    uint32_t n = pk_lift_new_node(c, PK_K_OBJECT);
    if (!n)
        return -1;
    if (fill_array(c, n, pk_arr_item(doc, args, 2), pk_arr_item(doc, args, 1),
                   pk_arr_str_is(doc, pk_arr_item(doc, args, 3), "F"),
                   pk_arr_item(doc, args, 0)) < 0)
        return -1;
    if (doc->nodes[n].kind != PK_K_ARRAY) {
        doc->nodes[n].kind = PK_K_NONE; /* an orphan: the call stays opaque */
        return 0;
    }
    *out = n;
    return 0;
}

/* The numpy calls lifted without a BUILD (name normalised by lift.c); 0 and *out left 0 for
 * any other name. */
int pk_numpy_lift_call(pk_lift_ctx *c, const char *name, uint32_t args, uint32_t *out)
{
    if (pk_numpy_core(name, "multiarray.scalar"))
        return numpy_scalar(c, args, out);
    if (pk_numpy_core(name, "numeric._frombuffer"))
        return numpy_frombuffer(c, args, out);
    return 0;
}
