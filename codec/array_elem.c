/* array_elem.c: one array element as numpy prints it in a repr, from its bytes as stored.
 *
 * Each float is the shortest decimal that reads back as the same value at its own width (so a
 * float32 0.1 shows as 0.1), written as Python's repr() writes that decimal; ints in decimal,
 * bools as True/False, complex as Python does, bytes and str as their repr, a structured
 * element as a tuple of its fields; what numpy would print otherwise (datetimes, void) as the
 * bytes.
 */
#include "array_view_i.h"
#include "ckpt_i.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double half_to_double(uint16_t h)
{
    unsigned e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double d = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, (int)e - 25);
    return h & 0x8000 ? -d : d;
}

/* Does decimal d read back as v at the element's width? */
static bool same_at_width(double d, double v, char kind, uint32_t size)
{
    if (kind == 'f' && size == 8)
        return d == v;
    float f = (float)d;
    if (kind == 'T') { /* bfloat16: float32 rounded to its upper half, to nearest even */
        uint32_t w;
        memcpy(&w, &f, 4);
        w = (w + 0x7fff + ((w >> 16) & 1)) & 0xffff0000u;
        memcpy(&f, &w, 4);
        return (double)f == v;
    }
    if (size == 2) { /* half: d rounds to v when within half a unit in the last place of v */
        int e;
        frexp(v, &e);
        double ulp = ldexp(1, (e - 1 > -14 ? e - 1 : -14) - 10);
        return fabs(d - v) < ulp / 2;
    }
    return (double)f == v;
}

void pk_array_put_real(pk_buf *b, double v, char kind, uint32_t size)
{
    char out[48];
    if (isnan(v)) {
        pk_buf_puts(b, "nan");
        return;
    }
    if (isinf(v)) {
        pk_buf_puts(b, v < 0 ? "-inf" : "inf");
        return;
    }
    double d = v;
    if (!(kind == 'f' && size == 8)) {
        for (int p = 1; p <= 17; p++) {
            snprintf(out, sizeof out, "%.*g", p, v);
            d = strtod(out, NULL);
            if (same_at_width(d, v, kind, size))
                break;
        }
    }
    pk_float_repr(d, out);
    pk_buf_puts(b, out);
}

double pk_array_real(const uint8_t *p, char kind, uint32_t size)
{
    if (kind == 'T') {
        uint32_t w = (uint32_t)(p[0] | p[1] << 8) << 16;
        float f;
        memcpy(&f, &w, 4);
        return f;
    }
    if (size == 2)
        return half_to_double((uint16_t)(p[0] | p[1] << 8));
    if (size == 4) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    double d;
    memcpy(&d, p, 8);
    return d;
}

static void put_hex(pk_buf *b, const uint8_t *p, uint32_t n)
{
    pk_repr_text(b, p, n, true);
}

/* A structured element: its fields as a tuple. */
/* A sub-array field's elements from p, as nested lists: [1, 2], [[1, 2], [3, 4]]. */
static void put_subarray(const pk_doc *doc, const pk_field *f, const uint8_t *p, pk_buf *b)
{
    uint64_t count = 1, idx[PK_FIELD_SUBDIM] = {0};
    for (uint8_t d = 0; d < f->sub_ndim; d++)
        count *= f->sub_shape[d]; /* checked when the dtype was read */
    for (uint8_t d = 0; d < f->sub_ndim; d++)
        pk_buf_puts(b, "[");
    for (uint64_t i = 0; i < count && !pk_buf_full(b); i++) {
        pk_array_put_elem(doc, &f->dt, p + i * f->dt.size, b);
        int d = f->sub_ndim - 1, closed = 0; /* step the last index, closing full dimensions */
        while (d >= 0 && ++idx[d] == f->sub_shape[d]) {
            idx[d--] = 0;
            closed++;
        }
        for (int c = 0; c < closed; c++)
            pk_buf_puts(b, "]");
        if (d >= 0) {
            pk_buf_puts(b, ", ");
            for (int c = 0; c < closed; c++)
                pk_buf_puts(b, "[");
        }
    }
    if (count == 0) /* an empty dimension: numpy writes [] for each level */
        for (uint8_t d = 0; d < f->sub_ndim; d++)
            pk_buf_puts(b, "]");
}

static void put_fields(const pk_doc *doc, const pk_dtype *dt, const uint8_t *p, pk_buf *b)
{
    pk_buf_puts(b, "(");
    for (uint32_t i = 0; i < dt->nfields; i++) {
        const pk_field *f = &doc->ckpt->fields[dt->field0 + i];
        if (i)
            pk_buf_puts(b, ", ");
        if (f->sub_ndim)
            put_subarray(doc, f, p + f->offset, b);
        else
            pk_array_put_elem(doc, &f->dt, p + f->offset, b);
    }
    pk_buf_puts(b, dt->nfields == 1 ? ",)" : ")");
}

/* An integer of n <= 8 bytes, little-endian at v, in decimal. */
static void put_int(pk_buf *b, const uint8_t *v, uint32_t n, bool is_signed)
{
    char t[32];
    uint64_t u = 0;
    for (uint32_t i = n; i-- > 0;)
        u = u << 8 | v[i];
    if (is_signed && n < 8 && (u >> (n * 8 - 1)) & 1)
        u |= ~(uint64_t)0 << (n * 8);
    if (is_signed)
        snprintf(t, sizeof t, "%lld", (long long)(int64_t)u);
    else
        snprintf(t, sizeof t, "%llu", (unsigned long long)u);
    pk_buf_puts(b, t);
}

/* A complex of n (8 or 16) bytes, each part little-endian at v. */
static void put_complex(pk_buf *b, const uint8_t *v, uint32_t n)
{
    pk_array_put_complex(b, pk_array_real(v, 'f', n / 2), pk_array_real(v + n / 2, 'f', n / 2),
                         n / 2);
}

void pk_array_put_complex(pk_buf *b, double re, double im, uint32_t n)
{
    pk_buf rb = {0}, ib = {0};
    pk_array_put_real(&rb, re, 'f', n);
    pk_array_put_real(&ib, im, 'f', n);
    if (rb.len >= 2 && memcmp(rb.data + rb.len - 2, ".0", 2) == 0)
        rb.len -= 2;
    if (ib.len >= 2 && memcmp(ib.data + ib.len - 2, ".0", 2) == 0)
        ib.len -= 2;
    bool bare = re == 0 && !signbit(re);
    if (!bare)
        pk_buf_puts(b, "(");
    if (!bare) {
        pk_buf_put(b, rb.data, rb.len);
        if (ib.len && ib.data[0] != '-')
            pk_buf_puts(b, "+");
    }
    pk_buf_put(b, ib.data, ib.len);
    pk_buf_puts(b, bare ? "j" : "j)");
    pk_buf_free(&rb);
    pk_buf_free(&ib);
}

/* numpy's U: UTF-32 code points of the element's byte order, trailing NULs dropped; shown as a
 * str repr, or as the bytes when a code point is out of range. */
static void put_unicode(pk_buf *b, const uint8_t *p, uint32_t n, bool big)
{
    pk_buf u = {0};
    uint32_t k = n / 4;
    while (k > 0 && !(p[4 * k - 4] | p[4 * k - 3] | p[4 * k - 2] | p[4 * k - 1]))
        k--;
    bool ok = true;
    for (uint32_t i = 0; i < k && ok; i++) {
        const uint8_t *q = p + 4 * i;
        uint32_t cp = big ? (uint32_t)q[0] << 24 | q[1] << 16 | q[2] << 8 | q[3]
                          : (uint32_t)q[3] << 24 | q[2] << 16 | q[1] << 8 | q[0];
        if (cp > 0x10ffff) {
            ok = false;
            break;
        }
        pk_buf_put_utf8(&u, cp);
    }
    if (ok && !u.failed)
        pk_repr_text(b, (const uint8_t *)u.data, u.len, false);
    else
        put_hex(b, p, n);
    pk_buf_free(&u);
}

/* One element as numpy would print it in a repr. p holds the element as stored. */
void pk_array_put_elem(const pk_doc *doc, const pk_dtype *dt, const uint8_t *p, pk_buf *b)
{
    uint8_t v[16];
    uint32_t n = dt->size;
    if (dt->nfields) {
        put_fields(doc, dt, p, b);
        return;
    }
    if (strchr("biufcTMm", dt->kind) && n <= 16) {
        uint32_t part = dt->kind == 'c' ? n / 2 : n;
        for (uint32_t i = 0; i < n; i++) /* to little-endian, per part */
            v[i] = dt->big ? p[(i / part) * part + part - 1 - i % part] : p[i];
    }
    switch (dt->kind) {
    case 'b':
        if (n >= 1 && n <= 16) { /* else v was not filled: shown as bytes below */
            pk_buf_puts(b, v[0] ? "True" : "False");
            return;
        }
        break;
    case 'i':
    case 'u':
        if (n <= 8) {
            put_int(b, v, n, dt->kind == 'i');
            return;
        }
        break;
    case 'f':
    case 'T':
        if (n == 2 || n == 4 || n == 8) {
            pk_array_put_real(b, pk_array_real(v, dt->kind, n), dt->kind, n);
            return;
        }
        break;
    case 'c':
        if (n == 8 || n == 16) {
            put_complex(b, v, n);
            return;
        }
        break;
    case 'S': {
        uint32_t k = n;
        while (k > 0 && p[k - 1] == 0)
            k--;
        pk_repr_text(b, p, k, true);
        return;
    }
    case 'U': put_unicode(b, p, n, dt->big); return;
    case 'M':
    case 'm':
        if (n == 8 && dt->unit[0] && pk_array_put_time(dt, v, b))
            return;
        break;
    default: break;
    }
    put_hex(b, p, n); /* what numpy would print otherwise (void, datetimes of no unit): bytes */
}
