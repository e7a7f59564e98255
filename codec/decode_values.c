/* decode_values.c: the machine's scalar values and the opcodes that make them: ints of every
 * width and spelling, floats, None and the bools, and the counted bytes and strs.
 *
 * A value is a node of the document (new_node, decode_i.h), stamped with the offset of the
 * opcode that made it as a 16-bit delta from its offset group's base. A str or bytes keeps its
 * bytes in the stream (a span); only what had to be decoded (a big int's digits, an escaped
 * text) goes to the pool. The text opcodes' line arguments are parsed in decode_text.c.
 */
#include "decode_i.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t new_int(dec *d, int64_t v)
{
    uint32_t n = new_node(d, PK_K_INT);
    if (n)
        d->doc->nodes[n].u.i = v;
    return n;
}

/* An integer given as little-endian two's complement bytes (LONG1, LONG4). */
static uint32_t new_long(dec *d, const uint8_t *p, uint64_t len)
{
    if (len <= 8)
        return new_int(d, small_long(d, p, len));
    pk_buf b = {0};
    b.max = SIZE_MAX;
    if (!pk_long_to_decimal(p, len, &b, d->doc->lim.max_int_digits)) {
        pk_buf_free(&b);
        return dec_oom(d), 0;
    }
    uint32_t n = dec_new_pooled(d, PK_K_BIGINT, &b);
    pk_buf_free(&b);
    return n;
}

/* Decimal text (INT's fallback, LONG): optional sign, digits, '_' between digits. */
static uint32_t new_decimal(dec *d, const uint8_t *s, uint64_t len)
{
    uint64_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    pk_buf b = {0};
    b.max = SIZE_MAX;
    if (neg)
        pk_buf_put(&b, "-", 1);
    bool any = false, leading = true;
    for (; i < len; i++) {
        if (s[i] == '_' && any && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')
            continue;
        if (s[i] < '0' || s[i] > '9') {
            pk_buf_free(&b);
            return dec_fail(d, PK_E_BAD_ARGUMENT, "invalid literal for int()"), 0;
        }
        any = true;
        if (leading && s[i] == '0')
            continue;
        leading = false;
        pk_buf_put(&b, &s[i], 1);
    }
    if (!any) {
        pk_buf_free(&b);
        return dec_fail(d, PK_E_BAD_ARGUMENT, "invalid literal for int()"), 0;
    }
    if (leading) { /* all zeros */
        pk_buf_free(&b);
        return new_int(d, 0);
    }
    uint32_t n;
    size_t ndig = b.len - (neg ? 1 : 0);
    if (ndig <= 18) { /* fits in an int64; strtoll needs the digits NUL-terminated */
        char digits[24];
        memcpy(digits, b.data, b.len);
        digits[b.len] = 0;
        n = new_int(d, strtoll(digits, NULL, 10));
    } else {
        n = dec_new_pooled(d, PK_K_BIGINT, &b);
    }
    pk_buf_free(&b);
    return n;
}

/* INT's line: "00"/"01" are False/True (protocol 0 bools), otherwise C's strtol with base 0
 * (so "0x10" and "010" mean what they mean to CPython), falling back to a decimal big int. */
static uint32_t int_line(dec *d, const uint8_t *s, uint64_t len)
{
    if (len == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1')) {
        uint32_t n = new_node(d, PK_K_BOOL);
        if (n)
            d->doc->nodes[n].u.i = s[1] == '1';
        return n;
    }
    char buf[64];
    if (len > 0 && len < sizeof buf) {
        memcpy(buf, s, len);
        buf[len] = 0;
        char *end;
        errno = 0;
        long long v = strtoll(buf, &end, 0);
        if (errno == 0 && end != buf && *end == 0)
            return new_int(d, v);
    }
    return new_decimal(d, s, len);
}

int load_int(dec *d)
{
    uint64_t len;
    const uint8_t *s = dec_take_line(d, &len);
    return s ? push(d, int_line(d, s, len)) : -1;
}

/* BININT, BININT1, BININT2: the 4-byte form is signed; the 1- and 2-byte forms are not. */
int load_binint(dec *d, int w)
{
    const uint8_t *s = take(d, (uint64_t)w);
    if (!s)
        return -1;
    int64_t v = w == 4 ? (int32_t)(uint32_t)pk_le(s, 4) : (int64_t)pk_le(s, w);
    return push(d, new_int(d, v));
}

/* LONG: decimal digits, optionally followed by 'L'. */
int load_long(dec *d)
{
    uint64_t len;
    const uint8_t *s = dec_take_line(d, &len);
    if (!s)
        return -1;
    if (len > 0 && s[len - 1] == 'L')
        len--;
    return push(d, new_decimal(d, s, len));
}

/* A count of w bytes, then that many bytes: where they are, or NULL with the error set. The
 * count is signed when w is 4 and opname is given (a negative one refused as CPython words it,
 * with opname), unsigned when opname is NULL. */
static const uint8_t *take_counted(dec *d, int w, const char *opname, uint64_t *len)
{
    const uint8_t *s = take(d, (uint64_t)w);
    if (!s)
        return NULL;
    if (opname && w == 4 && (int32_t)(uint32_t)pk_le(s, 4) < 0) {
        char what[64];
        snprintf(what, sizeof what, "%s pickle has negative byte count", opname);
        return dec_fail(d, PK_E_BAD_ARGUMENT, what), NULL;
    }
    *len = pk_le(s, w);
    return take_len(d, *len);
}

/* LONG1, LONG4: a count of bytes, then the number in them. LONG4's count is signed. */
int load_long_bin(dec *d, int w)
{
    uint64_t n;
    const uint8_t *p = take_counted(d, w, "LONG", &n);
    return p ? push(d, new_long(d, p, n)) : -1;
}

/* A Python 2 str of the stream's bytes: a str when it is ASCII (Python 3 loads it so with its
 * default encoding), else bytes, which is what it was. */
static uint32_t py2_string(dec *d, const uint8_t *p, uint64_t len)
{
    bool ascii = true;
    for (uint64_t i = 0; i < len && ascii; i++)
        ascii = p[i] < 0x80;
    return dec_new_span(d, ascii ? PK_K_STR : PK_K_BYTES, p, len);
}

/* SHORT_BINSTRING, BINSTRING: BINSTRING's count is signed. */
int load_binstring(dec *d, int w)
{
    uint64_t n;
    const uint8_t *p = take_counted(d, w, "BINSTRING", &n);
    return p ? push(d, py2_string(d, p, n)) : -1;
}

/* SHORT_BINBYTES, BINBYTES, BINBYTES8 (bytes) and BYTEARRAY8 (a bytearray): the counts are
 * unsigned. */
int load_binbytes(dec *d, int w, pk_kind kind)
{
    uint64_t len;
    const uint8_t *p = take_counted(d, w, NULL, &len);
    if (!p)
        return -1;
    return push(d, dec_new_span(d, kind, p, len));
}

static uint32_t new_str_utf8(dec *d, const uint8_t *p, uint64_t len)
{
    if (!short_ascii(d, p, len) && !dec_valid_utf8(p, len))
        return dec_fail(d, PK_E_BAD_ARGUMENT, "invalid UTF-8 in string"), 0;
    return dec_new_span(d, PK_K_STR, p, len);
}

/* SHORT_BINUNICODE, BINUNICODE, BINUNICODE8: UTF-8, surrogates allowed. */
int load_binunicode(dec *d, int w)
{
    uint64_t len;
    const uint8_t *p = take_counted(d, w, NULL, &len);
    if (!p)
        return -1;
    return push(d, new_str_utf8(d, p, len));
}

/* NONE, NEWTRUE, NEWFALSE: a value of kind (None or a bool) with no argument. */
int load_const(dec *d, pk_kind kind, int64_t value)
{
    uint32_t n = new_node(d, kind);
    if (n)
        d->doc->nodes[n].u.i = value;
    return push(d, n);
}

/* FLOAT's line, as float() reads it, except hex floats, which Python's float() refuses. */
int load_float(dec *d)
{
    uint64_t len;
    const uint8_t *s = dec_take_line(d, &len);
    if (!s)
        return -1;
    char buf[512];
    if (len == 0 || len >= sizeof buf || memchr(s, 'x', len) || memchr(s, 'X', len) ||
        s[0] == ' ' || s[0] == '\t')
        return dec_fail(d, PK_E_BAD_ARGUMENT, "could not convert string to float");
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != 0)
        return dec_fail(d, PK_E_BAD_ARGUMENT, "could not convert string to float");
    if (errno == ERANGE && isinf(v))
        return dec_fail(d, PK_E_BAD_ARGUMENT, "value too large to convert to float");
    uint32_t n = new_node(d, PK_K_FLOAT);
    if (n)
        d->doc->nodes[n].u.f = v;
    return push(d, n);
}

/* BINFLOAT: w (8) bytes, big-endian (float8_bits). */
int load_binfloat(dec *d, int w)
{
    const uint8_t *p = take(d, (uint64_t)w);
    if (!p)
        return -1;
    uint64_t bits = float8_bits(p);
    uint32_t n = new_node(d, PK_K_FLOAT);
    if (n)
        memcpy(&d->doc->nodes[n].u.f, &bits, sizeof bits);
    return push(d, n);
}
