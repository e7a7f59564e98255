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
 * sum (Neumaier's) over the count; std is the population standard deviation (numpy's ddof=0),
 * from Welford's running sum of squared deviations, taken from the first finite value; both are written as Python's repr() of a
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

/* Add x to the part k of the real sums. */
static void add_real(pk_stats *s, int k, double x)
{
    double t = s->sum[k] + x; /* Neumaier: keep what the addition lost */
    s->comp[k] += fabs(s->sum[k]) >= fabs(x) ? (s->sum[k] - t) + x : (x - t) + s->sum[k];
    s->sum[k] = t;
    /* Welford (s->finite already counts x), on x less the first finite value: values far from
     * zero and close together then lose nothing to the running mean's rounding */
    if (s->finite == 1)
        s->shift[k] = x;
    double y = x - s->shift[k], d = y - s->wmean[k];
    s->wmean[k] += d / (double)s->finite;
    s->m2[k] += d * (y - s->wmean[k]);
}

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

/* Is (re, im) below (re2, im2) in numpy's order for complex: by real part, then imaginary? */
static bool complex_below(double re, double im, double re2, double im2)
{
    return re < re2 || (re == re2 && im < im2);
}

static void add_elem(pk_stats *s, const uint8_t *p)
{
    uint8_t v[16];
    uint32_t part = s->kind == 'c' ? s->size / 2 : s->size;
    for (uint32_t i = 0; i < s->size; i++) /* to little-endian, per part */
        v[i] = s->big ? p[(i / part) * part + part - 1 - i % part] : p[i];
    s->n++;
    if (strchr("biu", s->kind)) {
        add_int(s, v);
        return;
    }
    char kind = s->kind == 'c' ? 'f' : s->kind;
    double x[2] = {pk_array_real(v, kind, part), 0};
    if (s->kind == 'c')
        x[1] = pk_array_real(v + part, kind, part);
    bool nan = isnan(x[0]) || isnan(x[1]), inf = isinf(x[0]) || isinf(x[1]);
    s->nan += nan;
    s->inf += inf;
    if (nan || inf)
        return;
    s->finite++;
    if (s->finite == 1 || complex_below(x[0], x[1], s->min[0], s->min[1]))
        s->min[0] = x[0], s->min[1] = x[1];
    if (s->finite == 1 || complex_below(s->max[0], s->max[1], x[0], x[1]))
        s->max[0] = x[0], s->max[1] = x[1];
    add_real(s, 0, x[0]);
    if (s->kind == 'c')
        add_real(s, 1, x[1]);
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
        add_elem(s, s->carry);
        s->ncarry = 0;
    }
    for (; len >= s->size; p += s->size, len -= s->size)
        add_elem(s, p);
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
            mean[k] = (s->sum[k] + s->comp[k]) / (double)s->finite;
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
