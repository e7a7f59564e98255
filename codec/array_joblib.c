/* array_joblib.c: joblib's NumpyArrayWrapper. joblib.dump writes the wrapper, whose BUILD
 * state names the dtype, shape and order, and then the array's element bytes straight into the
 * stream (after padding when it aligns them), or a whole pickle for an object array. The
 * decoder asks here how many bytes to step over, and the wrapper becomes an array over them.
 */
#include "array_i.h"
#include "ckpt_i.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* The value of key `key` in a dict node, or 0. */
static uint32_t dict_get(const pk_doc *doc, uint32_t dict, const char *key)
{
    const pk_node *d = &doc->nodes[dict];
    if (!dict || d->kind != PK_K_DICT)
        return 0;
    pk_cursor c = pk_items_of(doc, d);
    uint32_t k, v;
    while (pk_item_next(doc, &c, &k) && pk_item_next(doc, &c, &v))
        if (pk_arr_str_is(doc, k, key))
            return v;
    return 0;
}

/* joblib: the wrapper's BUILD state says what array follows; see decode.c's after_build(). */
int pk_joblib_build(pk_lift_ctx *c, uint32_t node, const uint8_t *at, uint64_t left,
                    uint64_t at_pos, uint64_t *consumed, bool *nested)
{
    pk_doc *doc = c->doc;
    if (doc->nodes[node].kind != PK_K_OBJECT ||
        !pk_arr_called(doc, node, "joblib.numpy_pickle.NumpyArrayWrapper"))
        return 0;
    uint32_t st = doc->calls[pk_node_call(doc, &doc->nodes[node])].state;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    uint32_t order = dict_get(doc, st, "order");
    if (!pk_dtype_read(doc, dict_get(doc, st, "dtype"), &tmp.dt) ||
        !pk_array_set_shape(doc, &tmp, dict_get(doc, st, "shape"), pk_arr_str_is(doc, order, "F")))
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
    pk_array *a = pk_array_new_copy(c, &tmp, &idx);
    if (!a)
        return -1;
    a->what = PK_T_NDARRAY;
    pk_array_set_source(a, PK_AS_STREAM, at_pos + skip, NULL, need);
    if (!pk_array_make_node(doc, node, idx, PK_T_NDARRAY))
        return pk_lift_oom(c);
    doc->calls[pk_node_call(doc, &doc->nodes[node])].state = st;
    *consumed = skip + need;
    return 1;
}
