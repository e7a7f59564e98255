/* array_joblib.c: joblib's NumpyArrayWrapper. joblib.dump writes the wrapper, whose BUILD
 * state names the dtype, shape and order, and then the array's element bytes straight into the
 * stream (after padding when it aligns them), or a whole pickle for an object array. The
 * decoder asks here how many bytes to step over, and the wrapper becomes an array over them.
 */
#include "array_i.h"
#include "ckpt_i.h"
#include "npy_i.h"
#include "source_i.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- joblib before 0.10: each array in a side file beside the pickle (side.c) ---- */

/* Is node a joblib wrapper of before 0.10? *zipped for ZNDArrayWrapper (a .npy.z file). The
 * class was joblib.numpy_pickle's, and scikit-learn's copy of joblib's. */
static bool old_wrapper(const pk_doc *doc, uint32_t node, bool *zipped)
{
    static const char *const names[] = {
        "joblib.numpy_pickle.NDArrayWrapper", "joblib.numpy_pickle.ZNDArrayWrapper",
        "joblib.numpy_pickle_compat.NDArrayWrapper", "joblib.numpy_pickle_compat.ZNDArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (pk_arr_called(doc, node, names[i])) {
            *zipped = i % 2;
            return true;
        }
    return false;
}

/* Is node a GLOBAL naming a numpy class (numpy.ndarray, numpy.memmap, numpy.matrix)? */
static bool numpy_class(const pk_doc *doc, uint32_t node)
{
    char name[128];
    return pk_global_name(doc, node, name, sizeof name) && strncmp(name, "numpy.", 6) == 0;
}

/* Does the wrapper's state hold only what joblib writes, as plain data, so that lifting it
 * drops nothing? filename a str; subclass a numpy class, allow_mmap a bool (NDArrayWrapper);
 * init_args numpy's (cls, (0,), b'b'), state (version, shape, dtype, fortran)
 * (ZNDArrayWrapper), which read_zstate checks further. */
static bool state_plain(const pk_doc *doc, uint32_t st, bool zipped)
{
    pk_cursor cur = pk_items_of(doc, &doc->nodes[st]);
    uint32_t k, v;
    while (pk_item_next(doc, &cur, &k) && pk_item_next(doc, &cur, &v)) {
        pk_kind vk = (pk_kind)doc->nodes[v].kind;
        if (pk_arr_str_is(doc, k, "filename")) {
            if (vk != PK_K_STR)
                return false;
        } else if (!zipped && pk_arr_str_is(doc, k, "subclass")) {
            if (!numpy_class(doc, v))
                return false;
        } else if (!zipped && pk_arr_str_is(doc, k, "allow_mmap")) {
            if (vk != PK_K_BOOL && vk != PK_K_INT)
                return false;
        } else if (zipped && pk_arr_str_is(doc, k, "init_args")) {
            uint32_t code = pk_arr_item(doc, v, 2);
            pk_kind ck = (pk_kind)doc->nodes[code].kind;
            if (pk_arr_count(doc, v, PK_K_TUPLE) != 3 || !numpy_class(doc, pk_arr_item(doc, v, 0)) ||
                !pk_lift_inert(doc, pk_arr_item(doc, v, 1), 1) ||
                (ck != PK_K_BYTES && ck != PK_K_STR))
                return false;
        } else if (!zipped || !pk_arr_str_is(doc, k, "state")) {
            return false;
        }
    }
    return dict_get(doc, st, "filename") != 0;
}

/* The wrapper stays the object it is, its side file unread: the state it shows is a copy of
 * its BUILD state (the audit keeps the real one) with one more entry, __error__, saying why. */
static int leave_unread(pk_lift_ctx *c, uint32_t node, uint32_t st, const char *why)
{
    pk_doc *doc = c->doc;
    uint32_t d = pk_lift_new_node(c, PK_K_DICT);
    if (!d)
        return -1;
    pk_cursor cur = pk_items_of(doc, &doc->nodes[st]);
    uint32_t k, v;
    while (pk_item_next(doc, &cur, &k) && pk_item_next(doc, &cur, &v))
        if (pk_chain_add(doc, d, k) < 0 || pk_chain_add(doc, d, v) < 0)
            return pk_lift_oom(c);
    uint32_t key = pk_lift_name_key(c, "__error__", 9);
    uint32_t val = key ? pk_lift_name_key(c, why, strlen(why)) : 0;
    if (!val)
        return -1;
    if (pk_chain_add(doc, d, key) < 0 || pk_chain_add(doc, d, val) < 0)
        return pk_lift_oom(c);
    doc->calls[pk_node_call(doc, &doc->nodes[node])].state = d;
    return 0;
}

/* node becomes the array tmp describes, over the data src says. */
static int make_array(pk_lift_ctx *c, uint32_t node, const pk_array *tmp, pk_asrc src,
                      uint64_t side, uint64_t pos, const uint8_t *mem, uint64_t len)
{
    pk_doc *doc = c->doc;
    uint32_t st = doc->calls[pk_node_call(doc, &doc->nodes[node])].state;
    uint64_t idx;
    pk_array *a = pk_array_new_copy(c, tmp, &idx);
    if (!a)
        return -1;
    a->what = PK_T_NDARRAY;
    a->src_node = (uint32_t)side;
    pk_array_set_source(a, src, pos, mem, len);
    if (!pk_array_make_node(doc, node, idx, PK_T_NDARRAY))
        return pk_lift_oom(c);
    doc->calls[pk_node_call(doc, &doc->nodes[node])].state = st;
    return 0;
}

/* NDArrayWrapper: a .npy file (np.save), its elements read from it when read. 1 when node is
 * the array, 0 with why filled. */
static int npy_side(pk_lift_ctx *c, uint32_t node, const pk_side_view *v, char *why, size_t size)
{
    pk_npy *h = malloc(sizeof *h);
    if (!h)
        return pk_lift_oom(c);
    pk_error e = {.code = PK_E_OK, .opcode = -1};
    pk_array tmp;
    uint64_t need;
    char what[200];
    int r = 0;
    if (pk_npy_parse(v->p, v->len, 0, h, &e) < 0)
        snprintf(why, size, "%s at byte %llu", e.what, (unsigned long long)e.offset);
    else if (h->object)
        snprintf(why, size, "an array of dtype object, whose elements are a pickle: not read");
    else if (pk_npy_describe(c->doc, h, &tmp, &need, what, sizeof what) != PK_E_OK)
        snprintf(why, size, "%s", what);
    else
        r = make_array(c, node, &tmp, PK_AS_SIDE, v->idx, h->data, NULL, need) < 0 ? -1 : 1;
    free(h);
    return r;
}

/* ZNDArrayWrapper: the dtype, shape and order are in its state (numpy's array state without
 * its data), the elements in joblib's zlib file, inflated now (within max_decompressed, for
 * all the side files together) and kept. 1 when node is the array, 0 with why filled. */
static int zfile_side(pk_lift_ctx *c, uint32_t node, uint32_t st, const pk_side_view *v,
                      char *why, size_t size)
{
    pk_doc *doc = c->doc;
    pk_ckpt *k = doc->ckpt;
    uint32_t zst = dict_get(doc, st, "state");
    int64_t version, fortran;
    pk_array tmp;
    memset(&tmp, 0, sizeof tmp);
    if (pk_arr_count(doc, zst, PK_K_TUPLE) != 4 ||
        !pk_arr_int(doc, pk_arr_item(doc, zst, 0), &version) ||
        !pk_arr_int(doc, pk_arr_item(doc, zst, 3), &fortran) ||
        !pk_dtype_read(doc, pk_arr_item(doc, zst, 2), &tmp.dt) ||
        !pk_array_set_shape(doc, &tmp, pk_arr_item(doc, zst, 1), fortran != 0)) {
        snprintf(why, size, "its state is not numpy's (version, shape, dtype, fortran)");
        return 0;
    }
    if (tmp.dt.kind == 'O') {
        snprintf(why, size, "an array of dtype object: not read");
        return 0;
    }
    uint8_t *out;
    uint64_t outlen, need;
    pk_error e = {.code = PK_E_OK, .opcode = -1};
    if (pk_zfile_inflate(v->p, v->len, doc->lim.max_decompressed - k->side_inflated, &out,
                         &outlen, &e) < 0) {
        if (e.code == PK_E_DECOMPRESS_LIMIT) /* the limit is for all of them, not what is left */
            snprintf(e.what, sizeof e.what, "decompressed size past the limit of %llu bytes",
                     (unsigned long long)doc->lim.max_decompressed);
        if (e.code == PK_E_DECOMPRESS_LIMIT || e.code == PK_E_NOMEM)
            return c->fail(c, e.code, e.what);
        snprintf(why, size, "%s at byte %llu", e.what, (unsigned long long)e.offset);
        return 0;
    }
    k->side_inflated += outlen;
    k->sides[v->idx].mem = out;
    if (__builtin_mul_overflow(tmp.numel, tmp.dt.size, &need) || need != outlen) {
        snprintf(why, size, "it holds %llu bytes, the array %llu", (unsigned long long)outlen,
                 (unsigned long long)need);
        return 0;
    }
    return make_array(c, node, &tmp, PK_AS_MEM, 0, 0, out, outlen) < 0 ? -1 : 1;
}

int pk_joblib_side_build(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    bool zipped;
    if (doc->nodes[node].kind != PK_K_OBJECT || !old_wrapper(doc, node, &zipped))
        return 0;
    const pk_call *call = &doc->calls[pk_node_call(doc, &doc->nodes[node])];
    uint32_t st = call->state;
    if (doc->nodes[st].kind != PK_K_DICT || call->items || call->dictitems ||
        !pk_lift_inert(doc, call->args, 1) || !state_plain(doc, st, zipped))
        return 0; /* not what joblib writes: an object like any other */
    const pk_node *fn = &doc->nodes[dict_get(doc, st, "filename")];
    char name[PK_SIDE_NAME_MAX], why[PK_SIDE_NAME_MAX + 300], reason[280];
    uint64_t len = pk_span_len(doc, fn);
    if (len >= sizeof name || pk_span_read(doc, fn, 0, name, len) < 0 ||
        !pk_side_name_ok(name, len))
        return leave_unread(c, node, st, "side file not read: its name is no plain file name "
                                         "in the pickle's directory");
    name[len] = 0;
    pk_side_view v;
    int r = 0;
    if (pk_side_map(doc, name, &v, reason, sizeof reason) == 0) {
        r = zipped ? zfile_side(c, node, st, &v, reason, sizeof reason)
                   : npy_side(c, node, &v, reason, sizeof reason);
        pk_side_unmap(&v);
    }
    if (r != 0)
        return r < 0 ? -1 : 0;
    snprintf(why, sizeof why, "side file %s not read: %s", name, reason);
    return leave_unread(c, node, st, why);
}
