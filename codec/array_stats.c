/* array_stats.c: the statistics line of a numeric array summary (array_text.c), so that a diff
 * of two checkpoints says how much a tensor moved, not only that it did.
 *
 *   float, half, bfloat16:  min=-2.5 max=5.0 mean=1.58 std=2.61 nan=0 inf=0
 *   complex:                min=(1-2j) max=(3+0.5j) mean=(2-0.75j) std=1.25 nan=0 inf=0
 *   int, uint:              min=-7 max=300 sum=1234
 *   bool:                   min=False max=True sum=2
 *
 * Everything is computed in one pass over the raw bytes, fed in C order as the checksum reads
 * them, in float64 for reals: min, max, mean and std over the finite values only (none: all
 * four are nan); nan and inf count the elements numpy's isnan and isinf call so. min and max
 * are elements, written as the values are (the shortest decimal at the element's width); a
 * complex is ordered as numpy orders it, by real part then imaginary. mean is a compensated
 * sum (Neumaier's, of sums of blocks of 512) over the count; std is the population standard
 * deviation (numpy's ddof=0): each block's squared deviations from its own mean, in two passes,
 * merged with the running sum by Chan's rule; both are written as Python's repr() of a
 * float64. An integer sum is exact (128 bits cannot overflow for any file a mount can hold).
 */
#include "array_view_i.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool pk_stats_start(pk_stats *s, const pk_dtype *dt)
{
    memset(s, 0, sizeof *s);
    uint32_t n = dt->size;
    bool ok = !dt->nfields &&
              ((dt->kind == 'b' && n == 1) ||
               ((dt->kind == 'i' || dt->kind == 'u') && (n == 1 || n == 2 || n == 4 || n == 8)) ||
               (dt->kind == 'f' && (n == 2 || n == 4 || n == 8)) || (dt->kind == 'T' && n == 2) ||
               (dt->kind == 'c' && (n == 8 || n == 16)));
    if (!ok)
        return false;
    s->kind = dt->kind;
    s->big = dt->big;
    s->size = n;
    for (int k = 0; k < 2; k++)
        s->min[k] = s->max[k] = NAN;
    return true;
}

#define BLOCK 512 /* finite reals gathered, then summed in two passes, per block */

/* One integer element, little-endian at v. */
static void add_int(pk_stats *s, const uint8_t *v)
{
    uint64_t u = 0;
    for (uint32_t i = s->size; i-- > 0;)
        u = u << 8 | v[i];
    if (s->kind == 'b')
        u = u != 0;
    if (s->kind == 'i') {
        if (s->size < 8 && (u >> (s->size * 8 - 1)) & 1)
            u |= ~(uint64_t)0 << (s->size * 8);
        int64_t x = (int64_t)u;
        s->imin = !s->any || x < s->imin ? x : s->imin;
        s->imax = !s->any || x > s->imax ? x : s->imax;
        s->isum += x;
    } else {
        s->umin = !s->any || u < s->umin ? u : s->umin;
        s->umax = !s->any || u > s->umax ? u : s->umax;
        s->usum += u;
    }
    s->any = true;
}

/* The element at p (as stored) to little-endian in v. */
static const uint8_t *to_le(const pk_stats *s, const uint8_t *p, uint8_t v[16])
{
    if (!s->big)
        return p;
    uint32_t part = s->kind == 'c' ? s->size / 2 : s->size;
    for (uint32_t i = 0; i < s->size; i++)
        v[i] = p[(i / part) * part + part - 1 - i % part];
    return v;
}

/* count little-endian int64s (the common case of a long integer tensor), without a call each */
static void add_i64s(pk_stats *s, const uint8_t *p, size_t count)
{
    int64_t lo = s->any ? s->imin : INT64_MAX, hi = s->any ? s->imax : INT64_MIN;
    pk_i128 sum = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t x;
        memcpy(&x, p + 8 * i, 8);
        lo = x < lo ? x : lo;
        hi = x > hi ? x : hi;
        sum += x;
    }
    s->imin = lo, s->imax = hi, s->isum += sum;
    s->any = s->any || count;
}

/* Is (re, im) below (re2, im2) in numpy's order for complex: by real part, then imaginary? */
static bool complex_below(double re, double im, double re2, double im2)
{
    return re < re2 || (re == re2 && im < im2);
}

/* Part k of n finite values x into the sums: the block's sum and its squared deviations from
 * its own mean (two passes, exact enough), then merged with the running ones (Chan's rule). */
static void add_part(pk_stats *s, int k, const double *x, size_t n, uint64_t before)
{
    double sum = 0, dev = 0, m2 = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    double mean = sum / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - mean;
        dev += d;
        m2 += d * d;
    }
    mean += dev / (double)n; /* the second pass corrects the first's rounding */
    double fix = dev * dev / (double)n;
    if (isfinite(m2) && isfinite(fix)) /* squares past float64 stay inf, as numpy's std */
        m2 -= fix;
    double t = s->sum[k] + sum; /* Neumaier: keep what the addition lost */
    s->comp[k] += fabs(s->sum[k]) >= fabs(sum) ? (s->sum[k] - t) + sum : (sum - t) + s->sum[k];
    s->sum[k] = t;
    double all = (double)(before + n), delta = mean - s->wmean[k];
    s->wmean[k] += delta * ((double)n / all);
    s->m2[k] += m2;
    if (before) /* never inf * 0 = nan when the first part's mean squares past float64 */
        s->m2[k] += delta * delta * ((double)before * (double)n / all);
}

/* n finite values (re, and im for complex) into min, max and the sums. */
static void add_block(pk_stats *s, const double *re, const double *im, size_t n)
{
    if (n == 0)
        return;
    if (!im) { /* reals: no order of parts to keep */
        double lo = s->finite ? s->min[0] : re[0], hi = s->finite ? s->max[0] : re[0];
        for (size_t i = 0; i < n; i++) {
            lo = re[i] < lo ? re[i] : lo;
            hi = re[i] > hi ? re[i] : hi;
        }
        s->min[0] = lo, s->max[0] = hi, s->min[1] = s->max[1] = 0;
    }
    for (size_t i = 0; im && i < n; i++) {
        double y = im[i];
        if (s->finite + i == 0 || complex_below(re[i], y, s->min[0], s->min[1]))
            s->min[0] = re[i], s->min[1] = y;
        if (s->finite + i == 0 || complex_below(s->max[0], s->max[1], re[i], y))
            s->max[0] = re[i], s->max[1] = y;
    }
    add_part(s, 0, re, n, s->finite);
    if (im)
        add_part(s, 1, im, n, s->finite);
    s->finite += n;
}

/* count whole elements of a real or complex array: the finite ones gathered a block at a time. */
static void add_reals(pk_stats *s, const uint8_t *p, size_t count)
{
    double re[BLOCK], im[BLOCK];
    bool cplx = s->kind == 'c';
    uint32_t part = cplx ? s->size / 2 : s->size;
    char kind = cplx ? 'f' : s->kind;
    size_t n = 0;
    if (kind == 'f' && part == 4 && !cplx && !s->big) { /* float32, the common case */
        for (size_t i = 0; i < count; i++, p += 4) {
            float f;
            memcpy(&f, p, 4);
            if (f - f != 0) {
                s->nan += isnan(f) != 0;
                s->inf += isinf(f) != 0;
                continue;
            }
            re[n] = f;
            if (++n == BLOCK) {
                add_block(s, re, NULL, n);
                n = 0;
            }
        }
        add_block(s, re, NULL, n);
        return;
    }
    for (size_t i = 0; i < count; i++, p += s->size) {
        uint8_t v[16];
        const uint8_t *q = to_le(s, p, v);
        double x, y = 0;
        if (kind == 'f' && part == 4) {
            float f;
            memcpy(&f, q, 4);
            x = f;
            if (cplx)
                memcpy(&f, q + 4, 4), y = f;
        } else if (kind == 'f' && part == 8) {
            memcpy(&x, q, 8);
            if (cplx)
                memcpy(&y, q + 8, 8);
        } else {
            x = pk_array_real(q, kind, part);
        }
        if (x - x != 0 || y - y != 0) { /* NaN or inf */
            s->nan += isnan(x) || isnan(y);
            s->inf += isinf(x) || isinf(y);
            continue;
        }
        re[n] = x, im[n] = y;
        if (++n == BLOCK) {
            add_block(s, re, cplx ? im : NULL, n);
            n = 0;
        }
    }
    add_block(s, re, cplx ? im : NULL, n);
}

/* count whole elements at p. */
static void add_run(pk_stats *s, const uint8_t *p, size_t count)
{
    s->n += count;
    if (!strchr("biu", s->kind)) {
        add_reals(s, p, count);
    } else if (s->kind == 'i' && s->size == 8 && !s->big) {
        add_i64s(s, p, count);
    } else {
        for (size_t i = 0; i < count; i++, p += s->size) {
            uint8_t v[16];
            add_int(s, to_le(s, p, v));
        }
    }
}

void pk_stats_add(pk_stats *s, const uint8_t *p, size_t len)
{
    if (!s->kind)
        return;
    if (s->ncarry) { /* complete the element the last piece began */
        size_t k = s->size - s->ncarry < len ? s->size - s->ncarry : len;
        memcpy(s->carry + s->ncarry, p, k);
        s->ncarry += (uint32_t)k;
        p += k;
        len -= k;
        if (s->ncarry < s->size)
            return;
        add_run(s, s->carry, 1);
        s->ncarry = 0;
    }
    add_run(s, p, len / s->size);
    p += len / s->size * s->size;
    len %= s->size;
    memcpy(s->carry, p, len);
    s->ncarry = (uint32_t)len;
}

/* v in decimal, 128 bits, signed or not. */
static void put_int128(pk_buf *b, pk_u128 v, bool negative)
{
    char t[48];
    size_t n = sizeof t;
    do
        t[--n] = (char)('0' + (int)(v % 10));
    while ((v /= 10) != 0);
    if (negative)
        t[--n] = '-';
    pk_buf_put(b, t + n, sizeof t - n);
}

static void put_signed(pk_buf *b, pk_i128 v)
{
    put_int128(b, v < 0 ? -(pk_u128)v : (pk_u128)v, v < 0);
}

/* A value (both parts of a complex): at the array's own width (min, max), or a float64 (mean). */
static void put_value(pk_buf *b, const pk_stats *s, const double v[2], bool own_width)
{
    uint32_t part = s->kind == 'c' ? s->size / 2 : s->size;
    char kind = s->kind == 'c' ? 'f' : s->kind;
    if (!own_width)
        kind = 'f', part = 8;
    if (s->kind == 'c')
        pk_array_put_complex(b, v[0], v[1], part);
    else
        pk_array_put_real(b, v[0], kind, part);
}

void pk_stats_put(const pk_stats *s, pk_buf *b)
{
    char t[64];
    if (!s->kind || s->n == 0)
        return;
    if (strchr("biu", s->kind)) {
        pk_buf_puts(b, "min=");
        if (s->kind == 'b') {
            pk_buf_puts(b, s->umin ? "True max=" : "False max=");
            pk_buf_puts(b, s->umax ? "True" : "False");
        } else if (s->kind == 'i') {
            put_signed(b, s->imin);
            pk_buf_puts(b, " max=");
            put_signed(b, s->imax);
        } else {
            put_int128(b, s->umin, false);
            pk_buf_puts(b, " max=");
            put_int128(b, s->umax, false);
        }
        pk_buf_puts(b, " sum=");
        if (s->kind == 'i')
            put_signed(b, s->isum);
        else
            put_int128(b, s->usum, false);
        pk_buf_puts(b, "\n");
        return;
    }
    double mean[2] = {NAN, NAN}, var = NAN;
    if (s->finite) {
        for (int k = 0; k < 2; k++)
            mean[k] = (s->sum[k] + (isfinite(s->sum[k]) ? s->comp[k] : 0)) / (double)s->finite;
        var = (s->m2[0] + s->m2[1]) / (double)s->finite;
    }
    pk_buf_puts(b, "min=");
    put_value(b, s, s->min, true);
    pk_buf_puts(b, " max=");
    put_value(b, s, s->max, true);
    pk_buf_puts(b, " mean=");
    put_value(b, s, mean, false);
    pk_buf_puts(b, " std=");
    pk_array_put_real(b, sqrt(var), 'f', 8);
    snprintf(t, sizeof t, " nan=%llu inf=%llu\n", (unsigned long long)s->nan,
             (unsigned long long)s->inf);
    pk_buf_puts(b, t);
}
