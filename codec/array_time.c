/* array_time.c: the elements of datetime64 and timedelta64 arrays, as numpy prints them in a
 * repr: a datetime as its ISO 8601 text in its own unit, quoted ('2024-01-02T03:04:05.000000000',
 * '2024-01-02' for days, '2024' for years, written by npytime.c), a timedelta as its count of
 * units; 'NaT' for the smallest int64, numpy's not-a-time. A datetime of numpy's generic unit
 * (dtype 'M8', no unit) that is not NaT, which numpy refuses to print, is its count.
 */
#include "array_view_i.h"
#include "npytime_i.h"

#include <stdio.h>
#include <string.h>

bool pk_array_put_time(const pk_dtype *dt, const uint8_t v[8], pk_buf *b)
{
    uint64_t u = 0;
    for (int i = 8; i-- > 0;)
        u = u << 8 | v[i];
    int64_t t = (int64_t)u;
    char s[32];
    if (t == INT64_MIN) {
        pk_buf_puts(b, "'NaT'");
        return true;
    }
    if (dt->kind == 'm' || strcmp(dt->unit, "g") == 0) {
        snprintf(s, sizeof s, "%lld", (long long)t);
        pk_buf_puts(b, s);
        return true;
    }
    pk_buf tmp = {0};
    bool ok = !__builtin_mul_overflow(t, (int64_t)dt->unit_n, &t) &&
              pk_npytime_put_datetime(&tmp, dt->unit, t) && !tmp.failed;
    if (ok) {
        pk_buf_puts(b, "'");
        pk_buf_put(b, tmp.data, tmp.len);
        pk_buf_puts(b, "'");
    }
    pk_buf_free(&tmp);
    return ok;
}
