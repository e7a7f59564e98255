/* npy_lift.c: the array of a .npy file (its header read by npy.c), made as the same array
 * model a pickled numpy array becomes, so the two mount the same: the same summary file and
 * the same NAME.raw. Its elements stay in the file, read when shown (zero-copy, as a pickled
 * array's bytes are). The dtype comes from the header's descr, numpy's dtype.str ("<f4",
 * "|b1", "<U5", "<M8[ns]") or a list of (name, descr) fields, and is named as numpy's
 * str(dtype) names it.
 */
#include "array_i.h"
#include "ckpt_i.h"
#include "npy_i.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* numpy's dtype.str: byte order, kind, size in bytes (characters for U), and a unit in
 * brackets for datetimes. False for anything else. */
static bool descr_code(const char *s, pk_dtype *dt)
{
    memset(dt, 0, sizeof *dt);
    if (!s[0] || !s[1] || !strchr("<>|=", s[0]) || !strchr("biufcSUVOMm", s[1]))
        return false;
    dt->big = s[0] == '>';
    dt->kind = s[1];
    const char *p = s + 2;
    uint64_t size = 0;
    bool digits = false;
    while (*p >= '0' && *p <= '9') {
        size = size * 10 + (uint64_t)(*p++ - '0');
        digits = true;
        if (size > (1u << 28))
            return false;
    }
    if (*p == '[' && (dt->kind == 'M' || dt->kind == 'm')) {
        const char *end = strchr(p, ']');
        if (!end || end[1] || !pk_dtype_set_unit(dt, p + 1, (size_t)(end - p - 1)))
            return false;
        p = end + 1;
    }
    if (*p)
        return false;
    if ((dt->kind == 'M' || dt->kind == 'm') && !dt->unit[0])
    {
        memcpy(dt->unit, "g", 2); /* "<M8": numpy's generic unit */
        dt->unit_n = 1;
    }
    if (dt->kind == 'O') {
        size = 8;
    } else if (!digits) {
        return false;
    }
    if (dt->kind == 'U')
        size *= 4;
    dt->size = (uint32_t)size;
    return size > 0 || dt->kind == 'S' || dt->kind == 'U' || dt->kind == 'V';
}

/* A structured dtype from the fields h->fields[*at ...] of one nesting level (a nested dtype's
 * fields first, so that each level's lie together in k->fields), laid out one after another as
 * numpy packs them; fields named '' are padding (numpy's aligned dtypes write them so), skipped
 * but counted. *at ends past the level's fields. */
static bool fields_dtype(pk_doc *doc, const pk_npy *h, uint32_t *at, pk_dtype *dt)
{
    pk_ckpt *k = pk_ckpt_get(doc);
    if (!k)
        return false;
    pk_field tmp[PK_NPY_MAXFIELDS];
    uint32_t n = 0;
    uint64_t off = 0;
    uint8_t depth = h->fields[*at].depth;
    while (*at < h->nfields && h->fields[*at].depth == depth) {
        const pk_npy_field *nf = &h->fields[(*at)++];
        pk_dtype f;
        if (nf->code[0] ? !descr_code(nf->code, &f) || f.kind == 'O'
                        : *at >= h->nfields || h->fields[*at].depth != depth + 1 ||
                              !fields_dtype(doc, h, at, &f))
            return false;
        uint64_t size = f.size;
        for (uint8_t d = 0; d < nf->sub_ndim; d++)
            if (__builtin_mul_overflow(size, nf->sub_shape[d], &size) || size > (1u << 28))
                return false;
        if (nf->name_len) {
            memset(&tmp[n], 0, sizeof tmp[n]);
            tmp[n].offset = off;
            tmp[n].dt = f;
            tmp[n].sub_ndim = nf->sub_ndim;
            memcpy(tmp[n].sub_shape, nf->sub_shape, sizeof tmp[n].sub_shape);
            if (!pk_dtype_set_name(doc, &tmp[n].dt) ||
                !pk_arr_pool_text(doc, nf->name, nf->name_len, &tmp[n].name))
                return false;
            n++;
        }
        off += size;
        if (off > (1u << 28))
            return false;
    }
    if (n == 0 ||
        !pk_grow((void **)&k->fields, &k->cap_fields, k->nfields + n, sizeof *k->fields))
        return false;
    memcpy(k->fields + k->nfields, tmp, n * sizeof *tmp);
    memset(dt, 0, sizeof *dt);
    dt->kind = 'V';
    dt->size = (uint32_t)off;
    dt->field0 = (uint32_t)k->nfields;
    dt->nfields = n;
    k->nfields += n;
    return true;
}

/* Shape and strides (C or Fortran order) from the header; false when numel overflows. */
static bool npy_shape_of(const pk_npy *h, pk_array *a)
{
    a->ndim = h->ndim;
    a->numel = 1;
    for (uint32_t i = 0; i < h->ndim; i++) {
        a->shape[i] = h->shape[i];
        if (__builtin_mul_overflow(a->numel, h->shape[i], &a->numel))
            return false;
    }
    uint64_t s = 1;
    for (uint32_t j = 0; j < h->ndim; j++) {
        uint32_t i = h->fortran ? j : h->ndim - 1 - j;
        a->stride[i] = s;
        s *= a->shape[i] ? a->shape[i] : 1;
    }
    return true;
}

pk_code pk_npy_describe(pk_doc *doc, const pk_npy *h, pk_array *tmp, uint64_t *need,
                        char *what, size_t size)
{
    memset(tmp, 0, sizeof *tmp);
    uint32_t at = 0;
    bool dt_ok = h->code[0] ? descr_code(h->code, &tmp->dt) : fields_dtype(doc, h, &at, &tmp->dt);
    dt_ok = dt_ok && pk_dtype_set_name(doc, &tmp->dt);
    if (!dt_ok || tmp->dt.kind == 'O') {
        /* the header's text, which may hold a newline: the refusal stays one line */
        char code[4 * sizeof h->code];
        size_t n = 0;
        for (const char *p = h->code; *p && n + 5 < sizeof code; p++) {
            unsigned char ch = (unsigned char)*p;
            if (ch < 0x20 || ch == 0x7f || ch == '\\')
                n += (size_t)snprintf(code + n, sizeof code - n, "\\x%02x", ch);
            else
                code[n++] = (char)ch;
        }
        code[n] = 0;
        snprintf(what, size, "malformed .npy header: dtype %s not read",
                 h->code[0] ? code : "of these fields");
        return PK_E_CONTAINER;
    }
    if (!npy_shape_of(h, tmp) || __builtin_mul_overflow(tmp->numel, tmp->dt.size, need)) {
        snprintf(what, size, "malformed .npy header: shape too large");
        return PK_E_CONTAINER;
    }
    if (*need > h->len) {
        snprintf(what, size, "array data of %llu bytes larger than the %llu bytes left",
                 (unsigned long long)*need, (unsigned long long)h->len);
        return PK_E_LENGTH;
    }
    return PK_E_OK;
}

uint32_t pk_npy_array(pk_lift_ctx *c, const pk_npy *h)
{
    pk_array tmp;
    uint64_t need;
    char what[200];
    pk_lift_at(c, h->at);
    pk_code code = pk_npy_describe(c->doc, h, &tmp, &need, what, sizeof what);
    if (code != PK_E_OK) {
        if (code == PK_E_LENGTH)
            pk_lift_at(c, h->data);
        return c->fail(c, code, what), 0;
    }
    /* the elements are the stream's own bytes: read from FILE by offset once it is unmapped
     * (or from memory, when the stream is inflated) */
    return pk_array_from_stream(c, &tmp, PK_T_NDARRAY, h->data, need);
}

int pk_npy_build(pk_lift_ctx *c, void *arg, uint32_t *top)
{
    *top = pk_npy_array(c, arg);
    return *top ? 0 : -1;
}

/* A .npz member's name without its .npy, as a str key (bytes when it is no UTF-8). */
static uint32_t member_key(pk_lift_ctx *c, const char *name, uint64_t len)
{
    return pk_lift_name_key(c, name, len >= 4 ? len - 4 : len);
}

/* One member: its header read into h, and its array as a new value, or 0 (error set). */
static uint32_t member_array(pk_lift_ctx *c, const pk_zent *z, pk_npy *h)
{
    pk_doc *doc = c->doc;
    /* in the file, or gathered into memory with the other members (format.c) */
    uint64_t at = doc->ckpt->gathered ? z->at : z->data;
    pk_error e = {.code = PK_E_OK, .opcode = -1};
    if (pk_npy_parse(doc->src + at, z->usize, at, h, &e) < 0) {
        pk_lift_at(c, e.offset);
        return c->fail(c, e.code, e.what), 0;
    }
    uint32_t v = 0;
    if (h->object) /* its pickle, after the header, as any other (inert) */
        return pk_lift_pickle(c, h->data, at + z->usize, &v, NULL) < 0 ? 0 : v;
    return pk_npy_array(c, h);
}

int pk_npz_build(pk_lift_ctx *c, void *arg, uint32_t *top)
{
    (void)arg;
    pk_doc *doc = c->doc;
    pk_ckpt *k = doc->ckpt;
    pk_npy *h = malloc(sizeof *h);
    uint32_t d = h ? pk_lift_new_node(c, PK_K_DICT) : 0;
    if (!d) {
        free(h);
        return h ? -1 : pk_lift_oom(c);
    }
    for (uint64_t i = 0; i < k->nents; i++) {
        const pk_zent *z = &k->ents[i];
        pk_lift_at(c, k->gathered ? z->at : z->data);
        /* names is NULL when every member's name is empty */
        uint32_t key = member_key(c, k->names ? k->names + z->name_pos : "", z->name_len);
        uint32_t v = key ? member_array(c, z, h) : 0;
        if (!v) {
            free(h);
            return -1;
        }
        if (pk_chain_add(doc, d, key) < 0 || pk_chain_add(doc, d, v) < 0) {
            free(h);
            return pk_lift_oom(c);
        }
    }
    free(h);
    *top = d;
    return 0;
}
