/* pandas_lift.c: the values of pandas indexes and blocks, read from their pickled recipes.
 *
 * pandas 1.5 pickles an Index as _new_Index(cls, {'data': ndarray, 'name': name}) (a
 * DatetimeIndex through _new_DatetimeIndex, a RangeIndex with start, stop and step instead of
 * data, a MultiIndex with levels, codes, sortorder and names), and an extension array
 * (Categorical, DatetimeArray, TimedeltaArray) as
 * pandas._libs.arrays.__pyx_unpickle_NDArrayBacked(cls, checksum, None) + BUILD((dtype,
 * ndarray, {'_freq': freq})). A Categorical's dtype is CategoricalDtype() + BUILD({'categories':
 * Index, 'ordered': bool}), a timezone-aware DatetimeArray's DatetimeTZDtype() +
 * BUILD({'unit': 'ns', 'tz': tz}) with tz a datetime.timezone or pytz's _UTC() or
 * _p(zone, utcoffset, dstoffset, tzname).
 *
 * Each of these calls is read only when every argument is data of the expected shape (pytz's
 * and the frequency's calls are known reconstructors with plain arguments, read as their name);
 * anything else leaves the value the object it is. Nothing is imported or run.
 */
#include "pandas_i.h"

#include <stdio.h>
#include <string.h>

const pk_call *pd_plain_call(const pk_doc *doc, uint32_t node, pk_how how, const char *callable,
                             bool state_ok)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = node ? pk_call_of(doc, n) : NULL;
    if (!c || n->kind != PK_K_OBJECT || c->how != how || c->kwargs || c->items || c->dictitems ||
        c->setter || (c->state && !state_ok) || !pk_global_is(doc, c->callable, callable))
        return NULL;
    return c;
}

bool pd_known_call(const pk_doc *doc, uint32_t callable)
{
    char name[128];
    return pk_global_name(doc, callable, name, sizeof name) &&
           (strncmp(name, "pandas.", 7) == 0 || strncmp(name, "pytz.", 5) == 0 ||
            strcmp(name, "builtins.slice") == 0);
}

uint32_t pd_dict_get(const pk_doc *doc, uint32_t dict, const char *key)
{
    const pk_node *d = &doc->nodes[dict];
    if (!dict || d->kind != PK_K_DICT || pk_node_call(doc, d))
        return 0;
    pk_cursor cur = pk_items_of(doc, d);
    uint32_t k, v;
    while (pk_item_next(doc, &cur, &k) && pk_item_next(doc, &cur, &v))
        if (pk_str_is(doc, k, key))
            return v;
    return 0;
}

bool pd_dict_keys_in(const pk_doc *doc, uint32_t dict, const char *const *keys, size_t n)
{
    const pk_node *d = &doc->nodes[dict];
    if (!dict || d->kind != PK_K_DICT || pk_node_call(doc, d))
        return false;
    pk_cursor cur = pk_items_of(doc, d);
    uint32_t k, v;
    while (pk_item_next(doc, &cur, &k) && pk_item_next(doc, &cur, &v)) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = pk_str_is(doc, k, keys[i]);
        if (!known)
            return false;
    }
    return true;
}

uint32_t pd_new_str(pk_lift_ctx *c, const char *text, size_t len)
{
    uint32_t s = pk_lift_new_node(c, PK_K_STR);
    if (s && !pk_node_set_text(c->doc, s, text, len))
        return pk_lift_oom(c), 0;
    return s;
}

/* The bytes of element i of a 1-D array whose elements are in a bytes value, or NULL. */
static const uint8_t *elem_at(const pk_doc *doc, const pk_array *a, uint64_t i)
{
    if (a->ndim != 1 || i >= a->shape[0] || a->src != PK_AS_NODE || !a->in_range)
        return NULL;
    const uint8_t *p = pk_span_ptr(doc, &doc->nodes[a->src_node]);
    return p ? p + (a->offset + i * a->stride[0]) * a->dt.size : NULL;
}

/* A little-endian integer element (kinds i, u, b of 1 to 8 bytes) into *v. */
static bool int_elem(const pk_doc *doc, const pk_array *a, uint64_t i, int64_t *v)
{
    const uint8_t *p = elem_at(doc, a, i);
    uint32_t n = a->dt.size;
    if (!p || a->dt.big || !strchr("iub", a->dt.kind) || n < 1 || n > 8)
        return false;
    uint64_t u = pk_le(p, (int)n);
    if (a->dt.kind == 'i' && n < 8 && (u >> (n * 8 - 1)) & 1)
        u |= ~(uint64_t)0 << (n * 8);
    if (a->dt.kind == 'u' && u > INT64_MAX)
        return false;
    *v = (int64_t)u;
    return true;
}

/* ---- the frequency and the time zone, read as their names ---- */

/* A frequency: None, or pandas._libs.tslibs.offsets.X(n, normalize) with plain ints. */
static bool freq_ok(const pk_doc *doc, uint32_t f)
{
    char name[128];
    const pk_node *n = &doc->nodes[f];
    const pk_call *c = pk_call_of(doc, n);
    if (n->kind == PK_K_NONE)
        return true;
    if (!c || n->kind != PK_K_OBJECT || c->how != PK_HOW_REDUCE || c->state || c->items ||
        c->dictitems || c->setter || c->kwargs ||
        !pk_global_name(doc, c->callable, name, sizeof name) ||
        strncmp(name, "pandas._libs.tslibs.offsets.", 28) != 0)
        return false;
    int64_t v;
    return pk_tuple_len(doc, c->args) == 2 && pk_arr_int(doc, pk_tuple_item(doc, c->args, 0), &v) &&
           doc->nodes[pk_tuple_item(doc, c->args, 1)].kind == PK_K_BOOL;
}

/* A time zone's name into out: pytz's _UTC() and _p(zone, ...), or a lifted timezone. */
static bool tz_name(const pk_doc *doc, uint32_t tz, char *out, size_t size)
{
    const pk_node *n = &doc->nodes[tz];
    uint32_t zone = 0;
    const pk_call *c;
    if (n->kind == PK_K_TEXT && pk_node_tname(doc, n) == PK_T_TIMEZONE) {
        zone = tz;
    } else if ((c = pd_plain_call(doc, tz, PK_HOW_REDUCE, "pytz._UTC", false))) {
        if (pk_tuple_len(doc, c->args) != 0)
            return false;
        snprintf(out, size, "UTC");
        return true;
    } else if ((c = pd_plain_call(doc, tz, PK_HOW_REDUCE, "pytz._p", false))) {
        uint64_t k = pk_tuple_len(doc, c->args);
        if (k < 1 || k > 4 || !pk_lift_inert(doc, c->args, 1))
            return false;
        zone = pk_tuple_item(doc, c->args, 0);
        if (doc->nodes[zone].kind != PK_K_STR)
            return false;
    } else {
        return false;
    }
    const pk_node *z = &doc->nodes[zone];
    const uint8_t *p = pk_span_ptr(doc, z);
    uint64_t len = pk_span_len(doc, z);
    if (!p || len >= size || memchr(p, '\n', len))
        return false;
    memcpy(out, p, len);
    out[len] = 0;
    return true;
}

/* ---- values ---- */

static bool array_values(const pk_doc *doc, uint32_t node, pd_values *v)
{
    const pk_array *a = pk_array_of(doc, node);
    if (!a || a->what != PK_T_NDARRAY || a->ndim < 1 || a->ndim > 2 || a->dt.nfields ||
        a->dt.name.len >= sizeof v->dtype)
        return false;
    v->node = node;
    v->two_d = a->ndim == 2;
    v->width = v->two_d ? a->shape[0] : 1;
    v->rows = a->shape[a->ndim - 1];
    memcpy(v->dtype, doc->pool.data + a->dt.name.pos, a->dt.name.len);
    v->dtype[a->dt.name.len] = 0;
    return true;
}

/* Are the items of list plain data, which a column may show as text? An opaque call among
 * them (or a global, an array, a descriptor) keeps the column the list it is, where the call
 * stays a directory of its own. */
static bool plain_items(const pk_doc *doc, const pk_node *list)
{
    pk_cursor cur = pk_items_of(doc, list);
    uint32_t it;
    while (pk_item_next(doc, &cur, &it)) {
        switch ((pk_kind)doc->nodes[it].kind) {
        case PK_K_NONE: case PK_K_BOOL: case PK_K_INT: case PK_K_BIGINT: case PK_K_FLOAT:
        case PK_K_STR: case PK_K_BYTES: case PK_K_BYTEARRAY: case PK_K_TEXT:
            break;
        case PK_K_TUPLE: case PK_K_LIST: case PK_K_DICT: case PK_K_SET: case PK_K_FROZENSET:
            if (!pk_lift_inert(doc, it, 4))
                return false;
            break;
        default: return false;
        }
    }
    return true;
}

/* An object array's list (nested for 2-D: as many lists of equal length). */
static bool list_values(const pk_doc *doc, uint32_t node, bool two_d, pd_values *v)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind != PK_K_LIST || pk_node_call(doc, n) == 0)
        return false; /* a list an array lift made keeps its call */
    v->node = node;
    v->two_d = two_d;
    v->width = two_d ? pk_count(doc, n) : 1;
    v->rows = two_d ? 0 : pk_count(doc, n);
    if (!two_d && !plain_items(doc, n))
        return false;
    for (uint64_t j = 0; two_d && j < v->width; j++) {
        const pk_node *row = &doc->nodes[pk_item_at(doc, n, j)];
        if (row->kind != PK_K_LIST || (j && pk_count(doc, row) != v->rows) ||
            !plain_items(doc, row))
            return false;
        v->rows = pk_count(doc, row);
    }
    snprintf(v->dtype, sizeof v->dtype, "object");
    return true;
}

/* A Categorical: codes into the categories, whose values become a list. */
static bool categorical(pk_lift_ctx *c, uint32_t dtype, uint32_t codes, pd_values *v)
{
    pk_doc *doc = c->doc;
    const pk_call *dc = pd_plain_call(doc, dtype, PK_HOW_NEWOBJ,
                                      "pandas.core.dtypes.dtypes.CategoricalDtype", true);
    static const char *const keys[] = {"categories", "ordered"};
    if (!dc || pk_tuple_len(doc, dc->args) != 0 || !pd_dict_keys_in(doc, dc->state, keys, 2))
        return false;
    uint32_t cats = pd_dict_get(doc, dc->state, "categories");
    uint32_t ordered = pd_dict_get(doc, dc->state, "ordered");
    uint64_t ncats = pd_index_len(doc, cats);
    if (doc->nodes[ordered].kind != PK_K_BOOL || ncats == UINT64_MAX ||
        !pk_lift_can_copy(doc, ncats) || !array_values(doc, codes, v) ||
        !strchr("iu", pk_array_of(doc, codes)->dt.kind))
        return false;
    uint32_t list = pk_lift_new_node(c, PK_K_LIST);
    if (!list)
        return false;
    for (uint64_t i = 0; i < ncats; i++) {
        uint32_t item = pd_index_item(c, cats, i);
        if (!item || pk_chain_add(doc, list, item) < 0)
            return false;
    }
    v->cats = list;
    snprintf(v->dtype, sizeof v->dtype, "category");
    return true;
}

/* NDArrayBacked(cls) + BUILD((dtype, ndarray, attrs)). */
static bool backed_values(pk_lift_ctx *c, uint32_t node, pd_values *v)
{
    pk_doc *doc = c->doc;
    const pk_call *call = pd_plain_call(doc, node, PK_HOW_REDUCE,
                                        "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked", true);
    static const char *const attr_keys[] = {"_freq"};
    int64_t checksum;
    if (!call || pk_tuple_len(doc, call->args) != 3 || pk_tuple_len(doc, call->state) != 3 ||
        !pk_arr_int(doc, pk_tuple_item(doc, call->args, 1), &checksum) ||
        doc->nodes[pk_tuple_item(doc, call->args, 2)].kind != PK_K_NONE)
        return false;
    uint32_t cls = pk_tuple_item(doc, call->args, 0), st = call->state;
    uint32_t dtype = pk_tuple_item(doc, st, 0), data = pk_tuple_item(doc, st, 1);
    uint32_t attrs = pk_tuple_item(doc, st, 2), freq = pd_dict_get(doc, attrs, "_freq");
    if (!pd_dict_keys_in(doc, attrs, attr_keys, 1) || (freq && !freq_ok(doc, freq)))
        return false;
    if (pk_global_is(doc, cls, "pandas.core.arrays.categorical.Categorical"))
        return categorical(c, dtype, data, v);
    bool dt = pk_global_is(doc, cls, "pandas.core.arrays.datetimes.DatetimeArray");
    bool td = pk_global_is(doc, cls, "pandas.core.arrays.timedeltas.TimedeltaArray");
    const pk_array *a = pk_array_of(doc, data);
    if ((!dt && !td) || !a || a->dt.kind != (dt ? 'M' : 'm') || !array_values(doc, data, v))
        return false;
    pk_dtype nd;
    if (pk_dtype_read(doc, dtype, &nd))
        return nd.kind == a->dt.kind; /* naive: the ndarray's own dtype names it */
    const pk_call *tc = pd_plain_call(doc, dtype, PK_HOW_NEWOBJ,
                                      "pandas.core.dtypes.dtypes.DatetimeTZDtype", true);
    static const char *const tz_keys[] = {"unit", "tz"};
    char zone[64];
    uint32_t unit = tc ? pd_dict_get(doc, tc->state, "unit") : 0;
    if (!dt || !tc || pk_tuple_len(doc, tc->args) != 0 || !pd_dict_keys_in(doc, tc->state, tz_keys, 2) ||
        !pk_str_is(doc, unit, "ns") || !tz_name(doc, pd_dict_get(doc, tc->state, "tz"), zone, sizeof zone))
        return false;
    snprintf(v->dtype, sizeof v->dtype, "datetime64[ns, %s]", zone);
    return true;
}

bool pd_read_values(pk_lift_ctx *c, uint32_t node, int ndim, pd_values *v)
{
    memset(v, 0, sizeof *v);
    const pk_doc *doc = c->doc;
    switch (doc->nodes[node].kind) {
    case PK_K_ARRAY: return array_values(doc, node, v) && (v->two_d ? 2 : 1) == ndim;
    case PK_K_LIST: return list_values(doc, node, ndim == 2, v);
    case PK_K_OBJECT: /* extension arrays: 1-D, or 2-D of one row in a frame's block */
        return backed_values(c, node, v) && (!v->two_d || (ndim == 2 && v->width == 1));
    default: return false;
    }
}

/* A column of objects: values is a list, one node a row. */
static uint32_t object_column(pk_lift_ctx *c, const char *dtype, uint32_t values)
{
    uint32_t d = pd_new_str(c, dtype, strlen(dtype));
    uint32_t col = d ? pk_lift_new_node(c, PK_K_DESC) : 0;
    if (!col || !pk_node_set_tname(c->doc, col, PK_T_PDCOLUMN))
        return col ? pk_lift_oom(c), 0 : 0;
    if (!pk_lift_new_call(c, col, PK_HOW_REDUCE, 0, d, 0))
        return 0;
    pk_call_of(c->doc, &c->doc->nodes[col])->state = values;
    return col;
}

static uint32_t category_column(pk_lift_ctx *c, const pd_values *v, uint64_t j, bool *hard)
{
    pk_doc *doc = c->doc;
    const pk_array *a = pk_array_of(doc, v->node);
    uint64_t ncats = pk_count(doc, &doc->nodes[v->cats]);
    if (a->ndim != 1 || j != 0 || !pk_lift_can_copy(doc, v->rows))
        return 0;
    uint32_t list = pk_lift_new_node(c, PK_K_LIST), nan = pk_lift_new_node(c, PK_K_FLOAT);
    if (!list || !nan)
        return *hard = true, 0;
    doc->nodes[nan].u.f = __builtin_nan("");
    for (uint64_t i = 0; i < v->rows; i++) {
        int64_t code;
        if (!int_elem(doc, a, i, &code) || code < -1 || (code >= 0 && (uint64_t)code >= ncats))
            return 0;
        uint32_t item = code < 0 ? nan : pk_item_at(doc, &doc->nodes[v->cats], (uint64_t)code);
        if (pk_chain_add(doc, list, item) < 0)
            return *hard = true, pk_lift_oom(c), 0;
    }
    uint32_t col = object_column(c, "category", list);
    *hard = !col;
    return col;
}

uint32_t pd_column(pk_lift_ctx *c, const pd_values *v, uint64_t j, bool *hard)
{
    pk_doc *doc = c->doc;
    *hard = false;
    if (j >= v->width)
        return 0;
    if (v->cats)
        return category_column(c, v, j, hard);
    const pk_node *n = &doc->nodes[v->node];
    if (n->kind == PK_K_LIST) {
        uint32_t list = v->two_d ? pk_item_at(doc, n, j) : v->node;
        uint32_t col = object_column(c, v->dtype, list);
        *hard = !col;
        return col;
    }
    const pk_array *from = pk_array_of(doc, v->node);
    if (!from)
        return 0;
    pk_array a = *from;
    if (a.ndim == 2) { /* row j of a block: a 1-D view of its elements */
        a.offset += j * a.stride[0];
        a.shape[0] = a.shape[1];
        a.stride[0] = a.stride[1];
        a.ndim = 1;
        a.numel = a.shape[0];
    }
    uint32_t col = pk_lift_new_node(c, PK_K_OBJECT);
    uint64_t idx;
    pk_array *na = col ? pk_array_new_copy(c, &a, &idx) : NULL;
    if (!na)
        return *hard = true, 0;
    pk_array_set_source(na, (pk_asrc)a.src, a.src_pos, a.src_mem, a.src_len);
    if (!pk_array_make_node(doc, col, idx, PK_T_NDARRAY))
        return *hard = true, pk_lift_oom(c), 0;
    return col;
}

/* ---- indexes ---- */

/* RangeIndex's start, stop, step from _new_Index's dict; each bounded so that the length and
 * every label are computed without overflow. */
#define RANGE_BOUND ((int64_t)1 << 60)
static bool range_of(const pk_doc *doc, uint32_t d, int64_t *start, int64_t *stop, int64_t *step)
{
    return pk_arr_int(doc, pd_dict_get(doc, d, "start"), start) &&
           pk_arr_int(doc, pd_dict_get(doc, d, "stop"), stop) &&
           pk_arr_int(doc, pd_dict_get(doc, d, "step"), step) && *step != 0 &&
           *start > -RANGE_BOUND && *start < RANGE_BOUND && *stop > -RANGE_BOUND &&
           *stop < RANGE_BOUND && *step > -RANGE_BOUND && *step < RANGE_BOUND;
}

bool pd_range(const pk_doc *doc, uint32_t node, int64_t *start, int64_t *step, uint64_t *len)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = node ? pk_call_of(doc, n) : NULL;
    int64_t stop;
    if (n->kind != PK_K_TEXT || pk_node_tname(doc, n) != PK_T_PDRANGE || !c ||
        !range_of(doc, pk_tuple_item(doc, c->args, 1), start, &stop, step))
        return false;
    int64_t span = *step > 0 ? stop - *start : *start - stop, by = *step > 0 ? *step : -*step;
    *len = span > 0 ? (uint64_t)(span - 1) / (uint64_t)by + 1 : 0;
    return true;
}

uint64_t pd_index_len(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = node ? pk_call_of(doc, n) : NULL;
    const pk_array *a = pk_array_of(doc, node);
    int64_t start, step;
    uint64_t len;
    if (a)
        return a->ndim == 1 ? a->shape[0] : UINT64_MAX;
    if (n->kind == PK_K_DESC && pk_node_tname(doc, n) == PK_T_PDCOLUMN && c)
        return pk_count(doc, &doc->nodes[c->state]);
    return pd_range(doc, node, &start, &step, &len) ? len : UINT64_MAX;
}

uint32_t pd_index_item(pk_lift_ctx *c, uint32_t index, uint64_t i)
{
    pk_doc *doc = c->doc;
    const pk_node *n = &doc->nodes[index];
    const pk_call *call = pk_call_of(doc, n);
    if (n->kind == PK_K_DESC)
        return call ? pk_item_at(doc, &doc->nodes[call->state], i) : 0;
    int64_t v, start, step;
    uint64_t len;
    if (n->kind == PK_K_TEXT) {
        if (!pd_range(doc, index, &start, &step, &len) || i >= len)
            return 0;
        v = start + (int64_t)i * step; /* within the bounds of range_of: no overflow */
    } else {
        const pk_array *a = pk_array_of(doc, index);
        const uint8_t *p = a ? elem_at(doc, a, i) : NULL;
        if (a && p && a->dt.kind == 'f' && a->dt.size == 8 && !a->dt.big) {
            uint32_t f = pk_lift_new_node(c, PK_K_FLOAT);
            if (f)
                memcpy(&doc->nodes[f].u.f, p, 8);
            return f;
        }
        if (!a || !int_elem(doc, a, i, &v))
            return 0;
        if (a->dt.kind == 'b') {
            uint32_t b = pk_lift_new_node(c, PK_K_BOOL);
            if (b)
                doc->nodes[b].u.i = v != 0;
            return b;
        }
    }
    uint32_t k = pk_lift_new_node(c, PK_K_INT);
    if (k)
        doc->nodes[k].u.i = v;
    return k;
}

/* A MultiIndex: one tuple a row, of its levels' values. */
static int multi_index(pk_lift_ctx *c, uint32_t d, uint32_t *out)
{
    pk_doc *doc = c->doc;
    static const char *const keys[] = {"levels", "codes", "sortorder", "names"};
    uint32_t levels = pd_dict_get(doc, d, "levels"), codes = pd_dict_get(doc, d, "codes");
    uint64_t nl = pk_arr_count(doc, levels, PK_K_LIST);
    if (!pd_dict_keys_in(doc, d, keys, 4) || nl == UINT64_MAX || nl == 0 || nl > 64 ||
        pk_arr_count(doc, codes, PK_K_LIST) != nl ||
        !pk_lift_inert(doc, pd_dict_get(doc, d, "sortorder"), 1) ||
        !pk_lift_inert(doc, pd_dict_get(doc, d, "names"), 2))
        return 0;
    const pk_array *code[64];
    uint64_t rows = 0;
    for (uint64_t l = 0; l < nl; l++) {
        code[l] = pk_array_of(doc, pk_arr_item(doc, codes, l));
        if (!code[l] || code[l]->ndim != 1 || (l && code[l]->shape[0] != rows) ||
            pd_index_len(doc, pk_arr_item(doc, levels, l)) == UINT64_MAX)
            return 0;
        rows = code[l]->shape[0];
    }
    if (!pk_lift_can_copy(doc, rows * (nl + 1)))
        return 0;
    uint32_t list = pk_lift_new_node(c, PK_K_LIST);
    if (!list)
        return -1;
    for (uint64_t i = 0; i < rows; i++) {
        uint32_t t = pk_lift_new_node(c, PK_K_TUPLE);
        if (!t || pk_chain_add(doc, list, t) < 0)
            return pk_lift_oom(c);
        for (uint64_t l = 0; l < nl; l++) {
            int64_t k;
            uint32_t level = pk_arr_item(doc, levels, l), item;
            if (!int_elem(doc, code[l], i, &k) || k < -1 ||
                (k >= 0 && (uint64_t)k >= pd_index_len(doc, level)))
                return 0;
            if (k < 0) {
                if ((item = pk_lift_new_node(c, PK_K_FLOAT)))
                    doc->nodes[item].u.f = __builtin_nan("");
            } else {
                item = pd_index_item(c, level, (uint64_t)k);
            }
            if (!item)
                return 0;
            if (pk_chain_add(doc, t, item) < 0)
                return pk_lift_oom(c);
        }
        doc->nodes[t].flags |= PK_NF_FROZEN;
    }
    *out = object_column(c, "object", list);
    return *out ? 0 : -1;
}

static const char *const index_classes[] = {
    "pandas.core.indexes.base.Index", "pandas.core.indexes.numeric.Int64Index",
    "pandas.core.indexes.numeric.UInt64Index", "pandas.core.indexes.numeric.Float64Index",
    "pandas.core.indexes.numeric.NumericIndex", "pandas.core.indexes.datetimes.DatetimeIndex",
    "pandas.core.indexes.timedeltas.TimedeltaIndex",
};

uint32_t pd_index_name(const pk_doc *doc, uint32_t index)
{
    const pk_node *n = &doc->nodes[index];
    const pk_call *c = pk_call_of(doc, n);
    if (!c)
        return 0;
    if (n->kind == PK_K_DESC)
        return c->kwargs; /* an index of objects or tuples keeps it there (below) */
    uint32_t d = pk_tuple_item(doc, c->args, 1); /* _new_Index(cls, {'name': ...}) */
    return d && doc->nodes[d].kind == PK_K_DICT ? pd_dict_get(doc, d, "name") : 0;
}

int pk_lift_pandas_index(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint32_t cls = pk_tuple_item(doc, args, 0), d = pk_tuple_item(doc, args, 1);
    uint32_t name = pd_dict_get(doc, d, "name");
    if (pk_tuple_len(doc, args) != 2 || (name && !pk_lift_inert(doc, name, 2)))
        return 0;
    uint32_t value = 0;
    int64_t start, stop, step;
    if (pk_global_is(doc, cls, "pandas.core.indexes.multi.MultiIndex")) {
        if (multi_index(c, d, &value) < 0)
            return -1;
    } else if (pk_global_is(doc, cls, "pandas.core.indexes.range.RangeIndex")) {
        static const char *const keys[] = {"name", "start", "stop", "step"};
        if (!pd_dict_keys_in(doc, d, keys, 4) || !range_of(doc, d, &start, &stop, &step))
            return 0;
        char t[128];
        int k = snprintf(t, sizeof t, "RangeIndex(start=%lld, stop=%lld, step=%lld)",
                         (long long)start, (long long)stop, (long long)step);
        pk_buf b = {0};
        pk_buf_put(&b, t, (size_t)k);
        int rc = pk_lift_text(c, PK_T_PDRANGE, callable, args, &b, out);
        pk_buf_free(&b);
        return rc;
    } else {
        static const char *const keys[] = {"data", "name"};
        bool known = false;
        for (size_t i = 0; i < sizeof index_classes / sizeof index_classes[0]; i++)
            known = known || pk_global_is(doc, cls, index_classes[i]);
        pd_values v;
        if (!known || !pd_dict_keys_in(doc, d, keys, 2) ||
            !pd_read_values(c, pd_dict_get(doc, d, "data"), 1, &v))
            return 0;
        bool hard;
        if (!(value = pd_column(c, &v, 0, &hard)))
            return hard ? -1 : 0;
    }
    if (!value)
        return 0;
    const pk_node *vn = &doc->nodes[value];
    if (vn->kind == PK_K_ARRAY && !pk_lift_new_call(c, value, PK_HOW_REDUCE, callable, args, 0))
        return -1;
    if (vn->kind == PK_K_DESC) /* the name, or a MultiIndex's names, for pd_index_name */
        pk_call_of(doc, vn)->kwargs = name ? name : pd_dict_get(doc, d, "names");
    pk_lift_mark_read(doc, args, pd_known_call); /* its arrays' calls: the audit lists them lifted */
    *out = value;
    return 0;
}
