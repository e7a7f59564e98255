/* lift_number.c: decimal.Decimal and builtins.complex, read from their pickled arguments and
 * shown as Python's str() of the value.
 *
 * Decimal.__reduce__ writes Decimal('<str of the value>'); a hand-written string is put in the
 * same canonical form here, as Decimal.__str__ would print it: whitespace stripped, leading
 * zeros dropped, scientific notation with 'E' once the exponent is positive or the adjusted
 * exponent is below -6, 'Infinity', 'NaN' and 'sNaN' with their payloads. Strings with
 * underscores, non-ASCII digits or exponents beyond 10^17 stay opaque objects rather than be
 * guessed at.
 *
 * complex.__reduce__ writes complex(real, imag) with two floats. Python prints a complex with
 * float repr()s that drop a trailing ".0": (1+2j), 2j when the real part is +0.0, (nan+infj).
 */
#include "lift_i.h"
#include "source_i.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Decimal ---- */

/* Python's str.strip() whitespace, ASCII part. */
static bool is_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

/* Does s[0..len) spell word, ignoring ASCII case? */
static bool word_is(const uint8_t *s, size_t len, const char *word)
{
    if (strlen(word) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        if (c != (uint8_t)word[i])
            return false;
    }
    return true;
}

static void put_digits_stripped(pk_buf *b, const uint8_t *s, size_t len)
{
    while (len > 0 && *s == '0')
        s++, len--;
    pk_buf_put(b, s, len);
}

/* Decimal's largest exponents are about 10^18; ours stop well short of them. */
#define EXP_LIMIT 100000000000000000LL

/* str(Decimal(s)) into b; false when s is not a string we are sure Decimal() reads. */
static bool decimal_str(const uint8_t *s, size_t len, pk_buf *b)
{
    while (len > 0 && is_space(s[0]))
        s++, len--;
    while (len > 0 && is_space(s[len - 1]))
        len--;
    bool neg = len > 0 && s[0] == '-';
    if (len > 0 && (s[0] == '-' || s[0] == '+'))
        s++, len--;
    if (word_is(s, len, "inf") || word_is(s, len, "infinity")) {
        pk_buf_puts(b, neg ? "-Infinity" : "Infinity");
        return true;
    }
    size_t nan = len >= 3 && word_is(s, 3, "nan") ? 3 : len >= 4 && word_is(s, 4, "snan") ? 4 : 0;
    if (nan) {
        for (size_t i = nan; i < len; i++)
            if (!is_digit(s[i]))
                return false;
        if (neg)
            pk_buf_put(b, "-", 1);
        pk_buf_puts(b, nan == 3 ? "NaN" : "sNaN");
        put_digits_stripped(b, s + nan, len - nan); /* the payload, without leading zeros */
        return true;
    }
    /* digits [. digits] [e [sign] digits], at least one digit in the coefficient */
    size_t i = 0, int_start = 0, int_len, frac_start, frac_len = 0;
    while (i < len && is_digit(s[i]))
        i++;
    int_len = i;
    frac_start = i;
    if (i < len && s[i] == '.') {
        frac_start = ++i;
        while (i < len && is_digit(s[i]))
            i++;
        frac_len = i - frac_start;
    }
    if (int_len + frac_len == 0)
        return false;
    long long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        bool eneg = i < len && s[i] == '-';
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        if (i == len)
            return false;
        for (; i < len; i++) {
            if (!is_digit(s[i]))
                return false;
            exp = exp * 10 + (s[i] - '0');
            if (exp > EXP_LIMIT)
                return false;
        }
        if (eneg)
            exp = -exp;
    }
    if (i != len || frac_len > (size_t)EXP_LIMIT)
        return false;
    exp -= (long long)frac_len;
    /* the coefficient's digits without leading zeros ("0" when all are zeros) */
    pk_buf coef = {0};
    bool lead = true;
    for (size_t k = int_start; k < frac_start + frac_len; k++) {
        if (s[k] == '.' || (lead && s[k] == '0'))
            continue;
        lead = false;
        pk_buf_put(&coef, &s[k], 1);
    }
    if (coef.len == 0)
        pk_buf_put(&coef, "0", 1);
    if (coef.failed || coef.len > (size_t)EXP_LIMIT) {
        pk_buf_free(&coef);
        return false;
    }
    long long ndig = (long long)coef.len;
    long long left = exp + ndig; /* digits left of the point */
    long long dot = exp <= 0 && left > -6 ? left : 1;
    if (neg)
        pk_buf_put(b, "-", 1);
    if (dot <= 0) {
        pk_buf_puts(b, "0.");
        for (long long z = 0; z < -dot; z++)
            pk_buf_put(b, "0", 1);
        pk_buf_put(b, coef.data, coef.len);
    } else if (dot >= ndig) {
        pk_buf_put(b, coef.data, coef.len);
        for (long long z = 0; z < dot - ndig; z++)
            pk_buf_put(b, "0", 1);
    } else {
        pk_buf_put(b, coef.data, (size_t)dot);
        pk_buf_put(b, ".", 1);
        pk_buf_put(b, coef.data + dot, coef.len - (size_t)dot);
    }
    if (left != dot) {
        char t[32];
        int n = snprintf(t, sizeof t, "E%+lld", left - dot);
        pk_buf_put(b, t, (size_t)n);
    }
    pk_buf_free(&coef);
    return true;
}

int pk_lift_decimal(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    const pk_doc *doc = c->doc;
    uint32_t v = pk_tuple_item(doc, args, 0);
    if (pk_tuple_len(doc, args) != 1)
        return 0;
    pk_buf b = {0};
    const pk_node *n = &doc->nodes[v];
    if (n->kind == PK_K_INT) { /* Decimal(7) */
        char t[24];
        int k = snprintf(t, sizeof t, "%lld", (long long)n->u.i);
        pk_buf_put(&b, t, (size_t)k);
    } else if (n->kind == PK_K_STR) {
        uint64_t len = pk_span_len(doc, n);
        uint8_t *s = malloc(len ? len : 1);
        if (!s)
            return pk_lift_oom(c);
        bool ok = pk_span_read(doc, n, 0, s, len) == (ssize_t)len &&
                  decimal_str(s, (size_t)len, &b);
        free(s);
        if (!ok) {
            pk_buf_free(&b);
            return 0;
        }
    } else {
        return 0;
    }
    int rc = pk_lift_text(c, PK_T_DECIMAL, callable, args, &b, out);
    pk_buf_free(&b);
    return rc;
}

/* ---- complex ---- */

static bool number_of(const pk_doc *doc, uint32_t node, double *x)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind == PK_K_FLOAT)
        *x = n->u.f;
    else if (n->kind == PK_K_INT)
        *x = (double)n->u.i;
    else
        return false;
    return true;
}

/* repr(float) as complex's repr writes it: no ".0" on integral values; a sign when asked. */
static void put_part(pk_buf *b, double x, bool sign)
{
    char t[40];
    int n = pk_float_repr(x, t);
    if (n >= 2 && t[n - 2] == '.' && t[n - 1] == '0')
        n -= 2;
    if (sign && t[0] != '-')
        pk_buf_put(b, "+", 1);
    pk_buf_put(b, t, (size_t)n);
}

/* complex(), complex(real), complex(real, imag), with int or float arguments. */
int pk_lift_complex(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    const pk_doc *doc = c->doc;
    uint64_t n = pk_tuple_len(doc, args);
    double re = 0.0, im = 0.0;
    if (n > 2 || (n >= 1 && !number_of(doc, pk_tuple_item(doc, args, 0), &re)) ||
        (n == 2 && !number_of(doc, pk_tuple_item(doc, args, 1), &im)))
        return 0;
    pk_buf b = {0};
    if (re == 0.0 && !signbit(re)) {
        put_part(&b, im, false);
        pk_buf_put(&b, "j", 1);
    } else {
        pk_buf_put(&b, "(", 1);
        put_part(&b, re, false);
        put_part(&b, im, true);
        pk_buf_put(&b, "j)", 2);
    }
    int rc = pk_lift_text(c, PK_T_COMPLEX, callable, args, &b, out);
    pk_buf_free(&b);
    return rc;
}
