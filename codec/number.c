/* number.c: numbers as Python writes them: repr(float) in its shortest round-trip digits, and
 * ints of any size in decimal. */
#include "buf_i.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* repr(float): the shortest digits that read back as the same double, in fixed notation when
 * the decimal exponent is in [-4, 16), else as d.ddde+XX; integral values keep ".0". */
int pk_float_repr(double f, char out[32])
{
    if (isnan(f))
        return snprintf(out, 32, "nan");
    if (isinf(f))
        return snprintf(out, 32, f < 0 ? "-inf" : "inf");
    /* Round-tripping is monotonic in the number of digits (more digits are never further
     * from f), so the shortest count is found by bisection over 1..17. A normal double is
     * within 2^-53 of itself of any decimal that reads back as it, less than half a unit of
     * a 15th digit: when 15 or fewer digits read back, the 15 digits are those followed by
     * zeros, which are dropped below. So only 15, 16 and 17 need trying. */
    char sci[40];
    int lo = isnormal(f) ? 15 : 1, hi = 17;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        snprintf(sci, sizeof sci, "%.*e", mid - 1, f);
        if (strtod(sci, NULL) == f)
            hi = mid;
        else
            lo = mid + 1;
    }
    snprintf(sci, sizeof sci, "%.*e", lo - 1, f);
    /* sci is [-]D.DDDDe[+-]XX: pull out the digits and the exponent */
    const char *p = sci;
    bool neg = *p == '-';
    if (neg)
        p++;
    char digits[24];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    int n = 0;
    if (neg)
        out[n++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            out[n++] = '0';
            out[n++] = '.';
            for (int i = 0; i < -exp10 - 1; i++)
                out[n++] = '0';
            for (int i = 0; i < nd; i++)
                out[n++] = digits[i];
        } else {
            for (int i = 0; i <= exp10; i++)
                out[n++] = i < nd ? digits[i] : '0';
            out[n++] = '.';
            if (nd > exp10 + 1)
                for (int i = exp10 + 1; i < nd; i++)
                    out[n++] = digits[i];
            else
                out[n++] = '0';
        }
        out[n] = 0;
        return n;
    }
    out[n++] = digits[0];
    if (nd > 1) {
        out[n++] = '.';
        for (int i = 1; i < nd; i++)
            out[n++] = digits[i];
    }
    n += snprintf(out + n, (size_t)(32 - n), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    return n;
}

/* Digit groups d[n-1] (most significant) .. d[0]: the first as `first` prints it, the rest
 * zero-padded by `rest` ("%08x" for base 2^32, "%09u" for base 10^9). */
static void put_groups(pk_buf *b, const uint32_t *d, uint64_t n, const char *first,
                       const char *rest)
{
    char t[16];
    int k = snprintf(t, sizeof t, first, d[n - 1]);
    pk_buf_put(b, t, (size_t)k);
    for (uint64_t i = n - 1; i-- > 0;) {
        k = snprintf(t, sizeof t, rest, d[i]);
        pk_buf_put(b, t, (size_t)k);
    }
}

/* LONG1/LONG4 payloads: little-endian two's complement. Decimal conversion is quadratic, so
 * past max_digits the value is written in hexadecimal (0x...), which is linear. */
bool pk_long_to_decimal(const uint8_t *le, uint64_t n, pk_buf *b, uint64_t max_digits)
{
    while (n > 1 && ((le[n - 1] == 0 && !(le[n - 2] & 0x80)) ||
                     (le[n - 1] == 0xff && (le[n - 2] & 0x80))))
        n--; /* redundant sign bytes */
    bool neg = n > 0 && (le[n - 1] & 0x80);
    uint64_t nlimbs = (n + 3) / 4;
    uint32_t *limbs = calloc(nlimbs ? nlimbs : 1, sizeof *limbs);
    if (!limbs)
        return false;
    for (uint64_t i = 0; i < n; i++)
        limbs[i / 4] |= (uint32_t)(neg ? (uint8_t)~le[i] : le[i]) << (8 * (i % 4));
    if (neg) { /* magnitude = ~x + 1 */
        if (n % 4)
            limbs[nlimbs - 1] &= (1u << (8 * (n % 4))) - 1;
        for (uint64_t i = 0; i < nlimbs; i++)
            if (++limbs[i] != 0)
                break;
    }
    while (nlimbs > 0 && limbs[nlimbs - 1] == 0)
        nlimbs--;
    if (neg)
        pk_buf_put(b, "-", 1);
    if (nlimbs == 0) {
        pk_buf_put(b, "0", 1);
        free(limbs);
        return !b->failed;
    }
    if ((double)nlimbs * 32 * 0.30103 > (double)max_digits) {
        put_groups(b, limbs, nlimbs, "0x%x", "%08x");
        free(limbs);
        return !b->failed;
    }
    /* repeated division by 10^9, most significant limb first */
    uint64_t nchunks = 0, cap = nlimbs * 32 / 29 + 2;
    uint32_t *chunks = malloc(cap * sizeof *chunks);
    if (!chunks) {
        free(limbs);
        return false;
    }
    while (nlimbs > 0) {
        uint64_t rem = 0;
        for (uint64_t i = nlimbs; i-- > 0;) {
            uint64_t cur = rem << 32 | limbs[i];
            limbs[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        chunks[nchunks++] = (uint32_t)rem;
        while (nlimbs > 0 && limbs[nlimbs - 1] == 0)
            nlimbs--;
    }
    put_groups(b, chunks, nchunks, "%u", "%09u");
    free(chunks);
    free(limbs);
    return !b->failed;
}

