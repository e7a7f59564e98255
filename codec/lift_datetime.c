/* lift_datetime.c: datetime.date, time, datetime, timedelta and timezone, read from their
 * pickled arguments and shown as Python's str() of the value (repr() for keys and calls).
 *
 * What the pickler writes (CPython's Lib/datetime.py, _getstate and __reduce__; the C module
 * writes the same bytes):
 *   date(b'YYMD')              4 bytes: year high, year low, month 1..12, day
 *   time(b'hms\xUUUUUU'[, tz]) 6 bytes: hour (bit 7: fold), minute, second, microsecond as
 *                              3 big-endian bytes; tz a tzinfo or None
 *   datetime(b'YYMDhms\xUUUUUU'[, tz])  10 bytes: year high, year low, month (bit 7: fold), day,
 *                              then as time
 *   timedelta(days, seconds, microseconds)   ints, normalised
 *   timezone(timedelta[, name])              offset strictly within a day, name a str
 * Protocols 0 to 2 carry the bytes as _codecs.encode(str, 'latin1') (lifted to bytes by lift.c)
 * and Python 2 as a str, which Python 3 reads back as latin-1: both are accepted.
 *
 * Like CPython's C module, a state is accepted when its month (or hour, for time) is in range;
 * the other fields are shown as they are. A tzinfo other than a lifted timezone (pytz,
 * zoneinfo) has an offset only a call could compute, so such a datetime stays an opaque object.
 * Timedelta arguments are normalised as the constructor would; ones too large for that stay
 * opaque.
 */
#include "lift_i.h"
#include "source_i.h"

#include <stdio.h>
#include <string.h>

#define US_PER_SEC 1000000LL
#define SEC_PER_DAY 86400LL
#define MAX_DAYS 999999999LL

typedef struct tdval {
    int64_t days, seconds, us; /* normalised: 0 <= seconds < 86400, 0 <= us < 10^6 */
} tdval;

typedef struct dtval {
    int year, month, day;
    int hour, minute, second, us, fold;
    uint32_t tz; /* a lifted timezone, or 0 */
} dtval;

typedef struct tzval {
    tdval offset;
    uint32_t name; /* a str node, or 0 */
} tzval;

static void putf(pk_buf *b, const char *fmt, long long a, long long c, long long d)
{
    char t[96];
    int n = snprintf(t, sizeof t, fmt, a, c, d);
    if (n > 0)
        pk_buf_put(b, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
}

/* ---- reading the arguments ---- */

static bool is_text(const pk_doc *doc, uint32_t node, uint16_t tname)
{
    const pk_node *n = &doc->nodes[node];
    return node && n->kind == PK_K_TEXT && pk_node_tname(doc, n) == tname && pk_node_call(doc, n);
}

/* The state bytes: bytes of exactly `want` bytes, or a str of `want` code points below 256. */
static bool state_bytes(const pk_doc *doc, uint32_t node, uint8_t *out, size_t want)
{
    const pk_node *n = &doc->nodes[node];
    uint8_t raw[32];
    if (n->kind != PK_K_BYTES && n->kind != PK_K_STR)
        return false;
    uint64_t len = pk_span_len(doc, n);
    if (n->kind == PK_K_BYTES)
        return len == want && pk_span_read(doc, n, 0, out, want) == (ssize_t)want;
    if (len > 2 * want || len > sizeof raw || pk_span_read(doc, n, 0, raw, len) != (ssize_t)len)
        return false;
    size_t k = 0;
    for (uint64_t i = 0; i < len; i++) {
        uint8_t ch = raw[i];
        if (ch >= 0x80) { /* U+0080..U+00FF as two-byte UTF-8 */
            if ((ch != 0xc2 && ch != 0xc3) || i + 1 >= len)
                return false;
            ch = (uint8_t)((ch & 0x03) << 6 | (raw[++i] & 0x3f));
        }
        if (k == want)
            return false;
        out[k++] = ch;
    }
    return k == want;
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* timedelta(days=0, seconds=0, microseconds=0), ints only, normalised as Python does. */
static bool read_td(const pk_doc *doc, uint32_t args, tdval *td)
{
    uint64_t n = pk_tuple_len(doc, args);
    int64_t v[3] = {0, 0, 0};
    if (n > 3)
        return false;
    for (uint64_t i = 0; i < n; i++) {
        const pk_node *x = &doc->nodes[pk_tuple_item(doc, args, i)];
        /* small enough that the carries below cannot overflow */
        if (x->kind != PK_K_INT || x->u.i > (1LL << 52) || x->u.i < -(1LL << 52))
            return false;
        v[i] = x->u.i;
    }
    int64_t carry = floordiv(v[2], US_PER_SEC);
    td->us = v[2] - carry * US_PER_SEC;
    int64_t secs = v[1] + carry;
    carry = floordiv(secs, SEC_PER_DAY);
    td->seconds = secs - carry * SEC_PER_DAY;
    td->days = v[0] + carry;
    return td->days >= -MAX_DAYS && td->days <= MAX_DAYS;
}

/* The value of a lifted timedelta node. */
static bool td_of(const pk_doc *doc, uint32_t node, tdval *td)
{
    return is_text(doc, node, PK_T_TIMEDELTA) &&
           read_td(doc, doc->calls[pk_node_call(doc, &doc->nodes[node])].args, td);
}

/* timezone(offset[, name]): offset a timedelta strictly within a day, name a str. */
static bool read_tz(const pk_doc *doc, uint32_t args, tzval *tz)
{
    uint64_t n = pk_tuple_len(doc, args);
    if (n != 1 && n != 2)
        return false;
    if (!td_of(doc, pk_tuple_item(doc, args, 0), &tz->offset))
        return false;
    const tdval *o = &tz->offset;
    if (o->days < -1 || o->days >= 1 || (o->days == -1 && o->seconds == 0 && o->us == 0))
        return false;
    tz->name = n == 2 ? pk_tuple_item(doc, args, 1) : 0;
    return !tz->name || doc->nodes[tz->name].kind == PK_K_STR;
}

static bool tz_of(const pk_doc *doc, uint32_t node, tzval *tz)
{
    return is_text(doc, node, PK_T_TIMEZONE) &&
           read_tz(doc, doc->calls[pk_node_call(doc, &doc->nodes[node])].args, tz);
}

/* The optional tzinfo argument: absent or None (tz 0), or a lifted timezone. */
static bool read_tzinfo(const pk_doc *doc, uint32_t args, uint64_t i, uint32_t *tz)
{
    uint64_t n = pk_tuple_len(doc, args);
    *tz = 0;
    if (n == i + 1)
        return true;
    if (n != i + 2)
        return false;
    uint32_t t = pk_tuple_item(doc, args, i + 1);
    if (doc->nodes[t].kind == PK_K_NONE)
        return true;
    tzval v;
    if (!tz_of(doc, t, &v))
        return false;
    *tz = t;
    return true;
}

static bool read_date(const pk_doc *doc, uint32_t args, dtval *v)
{
    uint8_t s[4];
    memset(v, 0, sizeof *v);
    if (pk_tuple_len(doc, args) != 1 || !state_bytes(doc, pk_tuple_item(doc, args, 0), s, 4) ||
        s[2] < 1 || s[2] > 12)
        return false;
    v->year = s[0] << 8 | s[1];
    v->month = s[2];
    v->day = s[3];
    return true;
}

static void read_clock(const uint8_t *s, dtval *v)
{
    v->hour = s[0];
    v->minute = s[1];
    v->second = s[2];
    v->us = s[3] << 16 | s[4] << 8 | s[5];
}

static bool read_time(const pk_doc *doc, uint32_t args, dtval *v)
{
    uint8_t s[6];
    memset(v, 0, sizeof *v);
    if (pk_tuple_len(doc, args) < 1 || !state_bytes(doc, pk_tuple_item(doc, args, 0), s, 6) ||
        (s[0] & 0x7f) >= 24 || !read_tzinfo(doc, args, 0, &v->tz))
        return false;
    v->fold = s[0] >> 7;
    s[0] &= 0x7f;
    read_clock(s, v);
    return true;
}

static bool read_datetime(const pk_doc *doc, uint32_t args, dtval *v)
{
    uint8_t s[10];
    memset(v, 0, sizeof *v);
    if (pk_tuple_len(doc, args) < 1 || !state_bytes(doc, pk_tuple_item(doc, args, 0), s, 10) ||
        (s[2] & 0x7f) < 1 || (s[2] & 0x7f) > 12 || !read_tzinfo(doc, args, 0, &v->tz))
        return false;
    v->year = s[0] << 8 | s[1];
    v->fold = s[2] >> 7;
    v->month = s[2] & 0x7f;
    v->day = s[3];
    read_clock(s + 4, v);
    return true;
}

/* ---- str() ---- */

/* A UTC offset less than a day: +HH<sep>MM, then <sep>SS and .ffffff when not zero. */
static void put_offset(pk_buf *b, const tdval *o, const char *sep)
{
    int64_t us = (o->days * SEC_PER_DAY + o->seconds) * US_PER_SEC + o->us;
    char sign = us < 0 ? '-' : '+';
    if (us < 0)
        us = -us;
    int64_t secs = us / US_PER_SEC;
    us %= US_PER_SEC;
    pk_buf_put(b, &sign, 1);
    putf(b, "%02lld", secs / 3600, 0, 0);
    pk_buf_puts(b, sep);
    putf(b, "%02lld", secs / 60 % 60, 0, 0);
    if (secs % 60 || us) {
        pk_buf_puts(b, sep);
        putf(b, "%02lld", secs % 60, 0, 0);
        if (us)
            putf(b, ".%06lld", us, 0, 0);
    }
}

static bool td_zero(const tdval *t)
{
    return t->days == 0 && t->seconds == 0 && t->us == 0;
}

static void str_tz(const pk_doc *doc, const tzval *tz, pk_buf *b)
{
    if (tz->name) {
        const pk_node *n = &doc->nodes[tz->name];
        uint8_t chunk[256];
        uint64_t len = pk_span_len(doc, n);
        for (uint64_t off = 0; off < len && !b->failed;) {
            uint64_t k = len - off < sizeof chunk ? len - off : sizeof chunk;
            if (pk_span_read(doc, n, off, chunk, k) != (ssize_t)k) {
                b->failed = true;
                return;
            }
            pk_buf_put(b, chunk, (size_t)k);
            off += k;
        }
        return;
    }
    pk_buf_puts(b, "UTC");
    if (!td_zero(&tz->offset))
        put_offset(b, &tz->offset, ":");
}

static void str_td(const tdval *t, pk_buf *b)
{
    if (t->days) {
        putf(b, "%lld day", t->days, 0, 0);
        pk_buf_puts(b, t->days == 1 || t->days == -1 ? ", " : "s, ");
    }
    putf(b, "%lld:%02lld:%02lld", t->seconds / 3600, t->seconds / 60 % 60, t->seconds % 60);
    if (t->us)
        putf(b, ".%06lld", t->us, 0, 0);
}

static void str_clock(const pk_doc *doc, const dtval *v, pk_buf *b)
{
    putf(b, "%02lld:%02lld:%02lld", v->hour, v->minute, v->second);
    if (v->us)
        putf(b, ".%06lld", v->us, 0, 0);
    tzval tz;
    if (v->tz && tz_of(doc, v->tz, &tz))
        put_offset(b, &tz.offset, ":");
}

static void str_date(const dtval *v, pk_buf *b)
{
    putf(b, "%04lld-%02lld-%02lld", v->year, v->month, v->day);
}

/* ---- repr() ---- */

static void repr_td(const tdval *t, pk_buf *b)
{
    pk_buf_puts(b, "datetime.timedelta(");
    const char *sep = "";
    if (t->days) {
        putf(b, "days=%lld", t->days, 0, 0);
        sep = ", ";
    }
    if (t->seconds) {
        pk_buf_puts(b, sep);
        putf(b, "seconds=%lld", t->seconds, 0, 0);
        sep = ", ";
    }
    if (t->us) {
        pk_buf_puts(b, sep);
        putf(b, "microseconds=%lld", t->us, 0, 0);
    }
    if (td_zero(t))
        pk_buf_puts(b, "0");
    pk_buf_puts(b, ")");
}

static void repr_tz(const pk_doc *doc, const tzval *tz, pk_buf *b)
{
    if (!tz->name && td_zero(&tz->offset)) { /* timezone(timedelta(0)) is timezone.utc */
        pk_buf_puts(b, "datetime.timezone.utc");
        return;
    }
    pk_buf_puts(b, "datetime.timezone(");
    repr_td(&tz->offset, b);
    if (tz->name) {
        pk_buf_puts(b, ", ");
        pk_span_repr(doc, &doc->nodes[tz->name], b, false);
    }
    pk_buf_puts(b, ")");
}

/* h, m[, s[, us]]: trailing zero seconds and microseconds are left out, as Python does. */
static void repr_clock(const dtval *v, pk_buf *b)
{
    putf(b, "%lld, %lld", v->hour, v->minute, 0);
    if (v->us)
        putf(b, ", %lld, %lld", v->second, v->us, 0);
    else if (v->second)
        putf(b, ", %lld", v->second, 0, 0);
}

static void repr_tzinfo(const pk_doc *doc, const dtval *v, pk_buf *b)
{
    tzval tz;
    if (v->tz && tz_of(doc, v->tz, &tz)) {
        pk_buf_puts(b, ", tzinfo=");
        repr_tz(doc, &tz, b);
    }
}

bool pk_lift_repr_datetime(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = pk_call_of(doc, n);
    uint32_t args = c ? c->args : 0;
    dtval v;
    tdval td;
    tzval tz;
    if (!args)
        return false;
    switch (pk_node_tname(doc, n)) {
    case PK_T_DATE:
        if (!read_date(doc, args, &v))
            return false;
        putf(b, "datetime.date(%lld, %lld, %lld)", v.year, v.month, v.day);
        return true;
    case PK_T_TIME:
        if (!read_time(doc, args, &v))
            return false;
        pk_buf_puts(b, "datetime.time(");
        repr_clock(&v, b);
        repr_tzinfo(doc, &v, b);
        if (v.fold)
            pk_buf_puts(b, ", fold=1");
        pk_buf_puts(b, ")");
        return true;
    case PK_T_DATETIME:
        if (!read_datetime(doc, args, &v))
            return false;
        putf(b, "datetime.datetime(%lld, %lld, %lld, ", v.year, v.month, v.day);
        repr_clock(&v, b);
        if (v.fold)
            pk_buf_puts(b, ", fold=1");
        repr_tzinfo(doc, &v, b);
        pk_buf_puts(b, ")");
        return true;
    case PK_T_TIMEDELTA:
        if (!read_td(doc, args, &td))
            return false;
        repr_td(&td, b);
        return true;
    case PK_T_TIMEZONE:
        if (!read_tz(doc, args, &tz))
            return false;
        repr_tz(doc, &tz, b);
        return true;
    default: return false;
    }
}

/* ---- lifting ---- */

static int lift(pk_lift_ctx *c, uint16_t tname, uint32_t callable, uint32_t args, pk_buf *text,
                uint32_t *out)
{
    int rc = pk_lift_text(c, tname, callable, args, text, out);
    pk_buf_free(text);
    return rc;
}

int pk_lift_date(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    dtval v;
    pk_buf b = {0};
    if (!read_date(c->doc, args, &v))
        return 0;
    str_date(&v, &b);
    return lift(c, PK_T_DATE, callable, args, &b, out);
}

int pk_lift_time(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    dtval v;
    pk_buf b = {0};
    if (!read_time(c->doc, args, &v))
        return 0;
    str_clock(c->doc, &v, &b);
    return lift(c, PK_T_TIME, callable, args, &b, out);
}

int pk_lift_datetime(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    dtval v;
    pk_buf b = {0};
    if (!read_datetime(c->doc, args, &v))
        return 0;
    str_date(&v, &b);
    pk_buf_put(&b, " ", 1);
    str_clock(c->doc, &v, &b);
    return lift(c, PK_T_DATETIME, callable, args, &b, out);
}

int pk_lift_timedelta(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    tdval t;
    pk_buf b = {0};
    if (!read_td(c->doc, args, &t))
        return 0;
    str_td(&t, &b);
    return lift(c, PK_T_TIMEDELTA, callable, args, &b, out);
}

int pk_lift_timezone(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    tzval tz;
    pk_buf b = {0};
    if (!read_tz(c->doc, args, &tz))
        return 0;
    str_tz(c->doc, &tz, &b);
    return lift(c, PK_T_TIMEZONE, callable, args, &b, out);
}
