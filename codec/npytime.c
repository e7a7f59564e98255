/* npytime.c: numpy's datetime64 and timedelta64 values as numpy writes them: a datetime as
 * ISO 8601 text in its own unit ('2024-01-02T03:04:05.000000000', '2024-01-02' for days, '2024'
 * for years) on the proleptic Gregorian calendar numpy uses, and a timedelta scalar as its str()
 * ("45 seconds"). Base layer: the array files (array_time.c) and the lifted numpy scalars
 * (array_numpy.c) both write them.
 */
#include "npytime_i.h"

#include <stdio.h>
#include <string.h>

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* a - floor_div(a, b) * b for b > 0, without the product, which overflows near INT64_MIN. */
static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

/* Year, month, day of days since 1970-01-01 (proleptic Gregorian): count 400-year eras of
 * 146097 days from 0000-03-01, years within the era from its day, and the month from a year
 * that starts in March, so that the leap day comes last. */
static void civil(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468; /* days from 0000-03-01 */
    int64_t era = floor_div(z, 146097);
    int64_t doe = floor_mod(z, 146097);                               /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);            /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                 /* March is 0 */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* false for a day too far for civil()'s arithmetic (past 2^62 days; numpy cannot print it) */
static bool put_date(pk_buf *b, int64_t days)
{
    int64_t y;
    int m, d;
    char t[48];
    if (days > ((int64_t)1 << 62) || days < -((int64_t)1 << 62))
        return false;
    civil(days, &y, &m, &d);
    snprintf(t, sizeof t, "%04lld-%02d-%02d", (long long)y, m, d);
    pk_buf_puts(b, t);
    return true;
}

/* The sub-second units and their digits. */
static int frac_digits(const char *unit)
{
    static const char *const u[] = {"ms", "us", "ns", "ps", "fs", "as"};
    for (int i = 0; i < 6; i++)
        if (strcmp(unit, u[i]) == 0)
            return 3 * (i + 1);
    return 0;
}

bool pk_npytime_put_datetime(pk_buf *b, const char *unit, int64_t t)
{
    char s[64];
    if (strcmp(unit, "Y") == 0) {
        int64_t year;
        if (__builtin_add_overflow(t, 1970, &year))
            return false;
        snprintf(s, sizeof s, "%04lld", (long long)year);
        pk_buf_puts(b, s);
        return true;
    }
    if (strcmp(unit, "M") == 0) {
        snprintf(s, sizeof s, "%04lld-%02d", (long long)(1970 + floor_div(t, 12)),
                 (int)floor_mod(t, 12) + 1);
        pk_buf_puts(b, s);
        return true;
    }
    if (strcmp(unit, "W") == 0 || strcmp(unit, "D") == 0) {
        if (unit[0] == 'W' && __builtin_mul_overflow(t, 7, &t))
            return false;
        return put_date(b, t);
    }
    int digits = frac_digits(unit);
    int64_t sec = t, frac = 0, scale = 1;
    for (int i = 0; i < digits; i++)
        scale *= 10;
    if (digits) {
        sec = floor_div(t, scale);
        frac = floor_mod(t, scale);
    } else if (__builtin_mul_overflow(t, unit[0] == 'h' ? 3600 : unit[0] == 'm' ? 60 : 1, &sec)) {
        return false;
    }
    int64_t days = floor_div(sec, 86400), sod = floor_mod(sec, 86400);
    if (!put_date(b, days))
        return false;
    snprintf(s, sizeof s, "T%02d", (int)(sod / 3600));
    pk_buf_puts(b, s);
    if (unit[0] != 'h') {
        snprintf(s, sizeof s, ":%02d", (int)(sod / 60 % 60));
        pk_buf_puts(b, s);
    }
    if (unit[0] != 'h' && strcmp(unit, "m") != 0) {
        snprintf(s, sizeof s, ":%02d", (int)(sod % 60));
        pk_buf_puts(b, s);
    }
    if (digits) {
        snprintf(s, sizeof s, ".%0*lld", digits, (long long)frac);
        pk_buf_puts(b, s);
    }
    return true;
}

/* numpy's words for its units, as str() of a timedelta64 scalar uses them (always plural) */
static const char *unit_word(const char *unit)
{
    static const char *const u[][2] = {
        {"Y", "years"}, {"M", "months"}, {"W", "weeks"}, {"D", "days"}, {"h", "hours"},
        {"m", "minutes"}, {"s", "seconds"}, {"ms", "milliseconds"}, {"us", "microseconds"},
        {"ns", "nanoseconds"}, {"ps", "picoseconds"}, {"fs", "femtoseconds"},
        {"as", "attoseconds"}, {"g", "generic time units"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (strcmp(unit, u[i][0]) == 0)
            return u[i][1];
    return NULL;
}

bool pk_npytime_put_scalar(pk_buf *b, char kind, const char *unit, uint32_t unit_n, int64_t t)
{
    char s[64];
    if (t == INT64_MIN) {
        pk_buf_puts(b, "NaT");
        return true;
    }
    if (strcmp(unit, "g") == 0 && kind == 'M')
        return false; /* numpy itself cannot write a datetime of no unit that is not NaT */
    if (__builtin_mul_overflow(t, (int64_t)unit_n, &t))
        return false;
    if (kind == 'M')
        return pk_npytime_put_datetime(b, unit, t);
    const char *word = unit_word(unit);
    if (!word)
        return false;
    snprintf(s, sizeof s, "%lld ", (long long)t);
    pk_buf_puts(b, s);
    pk_buf_puts(b, word);
    return true;
}
