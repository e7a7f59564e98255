/* array_dtype.c: numpy dtypes read from their pickled recipe, numpy.dtype(code, align, copy)
 * with its BUILD state: kind, size, byte order and the fields of a structured dtype, and the
 * name numpy's str(dtype) gives it, which the array files show.
 */
#include "array_i.h"
#include "ckpt_i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* numpy's dtype.str: byte order ('|' where there is none), kind, size: "<f8", "|S3", "<U5" (U
 * counts characters). As a field's dtype (field), the way numpy's str() of a structured dtype
 * writes it (numpy's _scalar_str, short): no '|', "?" for bool, "O" for object, and a
 * datetime's unit, "<M8[ns]" (none for the generic one). */
static void descr_str(const pk_dtype *dt, pk_buf *b, bool field)
{
    char t[48];
    bool no_order = dt->size == 1 || dt->kind == 'S' || dt->kind == 'V' || dt->kind == 'b' ||
                    dt->kind == 'O';
    const char *order = no_order ? (field ? "" : "|") : dt->big ? ">" : "<";
    if (field && (dt->kind == 'b' || dt->kind == 'O')) {
        pk_buf_puts(b, dt->kind == 'b' ? "?" : "O");
        return;
    }
    snprintf(t, sizeof t, "%s%c%u", order, dt->kind, dt->kind == 'U' ? dt->size / 4 : dt->size);
    pk_buf_puts(b, t);
    if (field && (dt->kind == 'M' || dt->kind == 'm') && dt->unit[0] &&
        strcmp(dt->unit, "g") != 0) {
        if (dt->unit_n != 1)
            snprintf(t, sizeof t, "[%u%s]", dt->unit_n, dt->unit);
        else
            snprintf(t, sizeof t, "[%s]", dt->unit);
        pk_buf_puts(b, t);
    }
}

static void dtype_name(const pk_doc *doc, const pk_dtype *dt, pk_buf *b);

/* A field's type as numpy's str() of a structured dtype writes it: '<i4', a nested dtype's
 * fields, and a sub-array's shape after it: '<i4', (2, 3). */
static void field_type(const pk_doc *doc, const pk_field *f, pk_buf *b)
{
    char t[32];
    if (f->dt.nfields) {
        dtype_name(doc, &f->dt, b);
    } else {
        pk_buf_puts(b, "'");
        descr_str(&f->dt, b, true);
        pk_buf_puts(b, "'");
    }
    for (uint8_t d = 0; d < f->sub_ndim; d++) {
        snprintf(t, sizeof t, "%s%u", d ? ", " : ", (", f->sub_shape[d]);
        pk_buf_puts(b, t);
    }
    if (f->sub_ndim)
        pk_buf_puts(b, f->sub_ndim == 1 ? ",)" : ")");
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
            field_type(doc, f, b);
            pk_buf_puts(b, ")");
        }
        pk_buf_puts(b, "]");
        return;
    }
    if ((dt->kind == 'M' || dt->kind == 'm') && strcmp(dt->unit, "g") == 0) {
        if (dt->big) /* numpy's generic unit: 'M8' */
            pk_buf_puts(b, dt->kind == 'M' ? ">M8" : ">m8");
        else
            pk_buf_puts(b, dt->kind == 'M' ? "datetime64" : "timedelta64");
        return;
    }
    if ((dt->kind == 'M' || dt->kind == 'm') && dt->unit[0]) {
        if (dt->big)
            pk_buf_puts(b, dt->kind == 'M' ? ">M8[" : ">m8[");
        else
            pk_buf_puts(b, dt->kind == 'M' ? "datetime64[" : "timedelta64[");
        if (dt->unit_n != 1) {
            snprintf(t, sizeof t, "%u", dt->unit_n);
            pk_buf_puts(b, t);
        }
        pk_buf_puts(b, dt->unit);
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
    descr_str(dt, b, false);
}

bool pk_dtype_set_unit(pk_dtype *dt, const char *s, size_t len)
{
    static const char *const units[] = {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns",
                                        "ps", "fs", "as"};
    uint32_t n = 0;
    size_t i = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9' && n < 100000000)
        n = n * 10 + (uint32_t)(s[i++] - '0');
    if (len - i == 7 && memcmp(s + i, "generic", 7) == 0) { /* no unit: "g", count 1 */
        memcpy(dt->unit, "g", 2);
        dt->unit_n = 1;
        return true;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        if (len - i == strlen(units[u]) && memcmp(s + i, units[u], len - i) == 0) {
            memcpy(dt->unit, units[u], len - i + 1);
            dt->unit_n = i ? n : 1;
            return dt->unit_n > 0;
        }
    }
    return false;
}

/* A datetime dtype's unit, from the last item of its BUILD state: ({}, (b'ns', 1, 1, 1)). */
static void state_unit(const pk_doc *doc, pk_dtype *dt, uint32_t meta)
{
    uint32_t u = pk_arr_item(doc, meta, 1);
    uint32_t name = pk_arr_item(doc, u, 0);
    int64_t count;
    const pk_node *nn = &doc->nodes[name];
    const uint8_t *p = name && (nn->kind == PK_K_BYTES || nn->kind == PK_K_STR)
                           ? pk_span_ptr(doc, nn) : NULL;
    uint64_t len = p ? pk_span_len(doc, nn) : 0;
    char t[16];
    if (!p || len > 7 || !pk_arr_int(doc, pk_arr_item(doc, u, 1), &count) || count < 1 ||
        count > 100000000)
        return;
    int k = snprintf(t, sizeof t, "%lld%.*s", (long long)count, (int)len, (const char *)p);
    if (!pk_dtype_set_unit(dt, t, (size_t)k))
        dt->unit[0] = 0;
}

#define DTYPE_DEPTH 8

/* The value of the str key name[0..len) in a dict node, or 0 (the last one, as Python's dict
 * keeps it). */
static uint32_t field_value(const pk_doc *doc, uint32_t dict, const char *name, size_t len)
{
    uint32_t ft = 0;
    pk_cursor cur = pk_items_of(doc, &doc->nodes[dict]);
    uint32_t key, value;
    while (pk_item_next(doc, &cur, &key) && pk_item_next(doc, &cur, &value)) {
        const pk_node *kn = &doc->nodes[key];
        const uint8_t *knp = kn->kind == PK_K_STR ? pk_span_ptr(doc, kn) : NULL;
        if (knp && pk_span_len(doc, kn) == len && memcmp(knp, name, len) == 0)
            ft = value;
    }
    return ft;
}

/* A structured dtype's nn fields, from the BUILD state's names (a tuple) and fields (a dict of
 * name: (dtype, offset[, title])), appended to pk_ckpt.fields. False for what we do not model. */
/* Has the dtype node become a dtype (build_dtype, array_numpy.c), or is it a numpy.dtype call
 * of plain arguments that no BUILD followed? One whose call had a call in it stays an opaque
 * object, and an array of it must stay opaque too, to show that call. */
static bool dtype_lifted(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind == PK_K_TEXT)
        return pk_node_tname(doc, n) == PK_T_DTYPE;
    const pk_call *c = n->kind == PK_K_OBJECT ? pk_call_of(doc, n) : NULL;
    return c && !c->state && !c->items && !c->dictitems && pk_lift_inert(doc, c->args, 1);
}

/* A sub-array dtype, numpy.dtype('V8') whose BUILD state's subdescr is (base dtype, shape), as
 * numpy pickles the dtype of a field ('a', '<i4', (2,)): its base into f->dt and its shape
 * into f->sub_shape, and its size in bytes into *size. 0 when node is no sub-array dtype, 1
 * when read, -1 for one not modelled (more than 8 dimensions, a base that is not plain). */
static int subarray_field(pk_doc *doc, uint32_t node, pk_field *f, uint64_t *size, int depth)
{
    const pk_call *c = pk_call_of(doc, &doc->nodes[node]);
    uint32_t sub = c ? pk_arr_item(doc, c->state, 2) : 0;
    if (pk_arr_count(doc, sub, PK_K_TUPLE) != 2)
        return 0;
    uint32_t base = pk_arr_item(doc, sub, 0), shape = pk_arr_item(doc, sub, 1);
    uint64_t nd = pk_arr_count(doc, shape, PK_K_TUPLE);
    if (nd == UINT64_MAX || nd > PK_FIELD_SUBDIM || !dtype_lifted(doc, base) ||
        !pk_dtype_parse(doc, base, &f->dt, depth + 1))
        return -1;
    *size = f->dt.size;
    for (uint64_t d = 0; d < nd; d++) {
        int64_t v;
        if (!pk_arr_int(doc, pk_arr_item(doc, shape, d), &v) || v < 0 || v > UINT32_MAX ||
            __builtin_mul_overflow(*size, (uint64_t)v, size) || *size > (1u << 30))
            return -1;
        f->sub_shape[d] = (uint32_t)v;
    }
    f->sub_ndim = (uint8_t)nd;
    return 1;
}

static bool parse_fields(pk_doc *doc, pk_dtype *dt, uint32_t names, uint32_t fields, uint64_t nn,
                         int depth)
{
    pk_ckpt *k = pk_ckpt_get(doc);
    if (!k || nn > 4096)
        return false;
    pk_field tmp[64];
    if (nn > 64)
        return false;
    memset(tmp, 0, sizeof tmp);
    for (uint64_t i = 0; i < nn; i++) {
        uint32_t name = pk_arr_item(doc, names, i);
        const pk_node *nm = &doc->nodes[name];
        if (nm->kind != PK_K_STR || pk_span_len(doc, nm) > 255 || !pk_span_ptr(doc, nm))
            return false;
        const char *nmp = (const char *)pk_span_ptr(doc, nm);
        size_t nml = (size_t)pk_span_len(doc, nm);
        /* fields[name] = (dtype, offset[, title]) */
        if (doc->nodes[fields].kind != PK_K_DICT)
            return false;
        uint32_t ft = field_value(doc, fields, nmp, nml), fdt = pk_arr_item(doc, ft, 0);
        int64_t off;
        uint64_t size = 0;
        if (!ft || !pk_arr_int(doc, pk_arr_item(doc, ft, 1), &off) || off < 0 ||
            !dtype_lifted(doc, fdt) || !pk_dtype_parse(doc, fdt, &tmp[i].dt, depth + 1))
            return false;
        size = tmp[i].dt.size; /* a sub-array's own, as pk_dtype_parse read it */
        if (subarray_field(doc, fdt, &tmp[i], &size, depth) < 0 ||
            (uint64_t)off + size > dt->size)
            return false;
        tmp[i].offset = (uint64_t)off;
        if (!pk_arr_pool_text(doc, nmp, nml, &tmp[i].name))
            return false;
    }
    if (!pk_grow((void **)&k->fields, &k->cap_fields, k->nfields + nn, sizeof *k->fields))
        return false;
    memcpy(k->fields + k->nfields, tmp, (size_t)nn * sizeof *tmp);
    dt->field0 = (uint32_t)k->nfields;
    dt->nfields = (uint32_t)nn;
    k->nfields += nn;
    return true;
}

/* Read a numpy.dtype call (args (str, align, copy), BUILD state (version, byteorder, subdescr,
 * names, fields, elsize, alignment, flags[, metadata])). Returns false for what we do not
 * model (too deep nesting, a sub-array of more than 8 dimensions). A sub-array dtype, which
 * numpy only makes for a structured dtype's field, reads as a void of its size; the field
 * reads its base and shape (subarray_field). */
bool pk_dtype_parse(pk_doc *doc, uint32_t node, pk_dtype *dt, int depth)
{
    memset(dt, 0, sizeof *dt);
    if (depth > DTYPE_DEPTH || !node || !pk_arr_called(doc, node, "numpy.dtype"))
        return false;
    const pk_call *c = &doc->calls[pk_node_call(doc, &doc->nodes[node])];
    uint32_t code = pk_arr_item(doc, c->args, 0);
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
    uint64_t nst = pk_arr_count(doc, st, PK_K_TUPLE);
    if (st && nst >= 8 && nst != UINT64_MAX) {
        uint32_t order = pk_arr_item(doc, st, 1);
        dt->big = pk_arr_str_is(doc, order, ">");
        pk_field sub;
        uint64_t subsize;
        memset(&sub, 0, sizeof sub);
        int r = subarray_field(doc, node, &sub, &subsize, depth);
        if (r < 0 || (r == 0 && doc->nodes[pk_arr_item(doc, st, 2)].kind != PK_K_NONE))
            return false;
        if (r > 0) { /* a field's dtype: named as numpy names it, ('<i4', (2,)) */
            memset(dt, 0, sizeof *dt);
            dt->kind = 'V';
            dt->size = (uint32_t)subsize;
            pk_buf b = {0};
            pk_buf_puts(&b, "(");
            field_type(doc, &sub, &b);
            pk_buf_puts(&b, ")");
            bool ok = !b.failed && pk_arr_pool_text(doc, b.data, b.len, &dt->name);
            pk_buf_free(&b);
            return ok;
        }
        int64_t elsize;
        if (pk_arr_int(doc, pk_arr_item(doc, st, 5), &elsize) && elsize > 0 && elsize < (1 << 30))
            dt->size = (uint32_t)elsize;
        uint32_t names = pk_arr_item(doc, st, 3), fields = pk_arr_item(doc, st, 4);
        uint64_t nn = pk_arr_count(doc, names, PK_K_TUPLE);
        if (nn != UINT64_MAX && nn > 0 && !parse_fields(doc, dt, names, fields, nn, depth))
            return false;
        if ((dt->kind == 'M' || dt->kind == 'm') && nst == 9)
            state_unit(doc, dt, pk_arr_item(doc, st, 8));
    }
    if (dt->kind == 'O')
        dt->size = 8;
    if (dt->size == 0 && dt->kind != 'V' && dt->kind != 'S' && dt->kind != 'U')
        return false;
    return pk_dtype_set_name(doc, dt);
}

bool pk_dtype_set_name(pk_doc *doc, pk_dtype *dt)
{
    pk_buf b = {0};
    dtype_name(doc, dt, &b);
    bool ok = !b.failed && pk_arr_pool_text(doc, b.data, b.len, &dt->name);
    pk_buf_free(&b);
    return ok;
}

bool pk_dtype_read(pk_doc *doc, uint32_t node, pk_dtype *dt)
{
    memset(dt, 0, sizeof *dt);
    return dtype_lifted(doc, node) && pk_dtype_parse(doc, node, dt, 0);
}
