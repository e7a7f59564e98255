/* npy.c: the header of a numpy .npy file, read and checked, nothing else.
 *
 * The file is the magic "\x93NUMPY", a major and a minor version byte, the header's length
 * (2 bytes little-endian in version 1, 4 bytes in versions 2 and 3), the header, then the
 * elements. The header is the text of a Python dict literal, padded with spaces and ended by a
 * newline: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. Only that shape of
 * literal is accepted (numpy's own reader evaluates it as a literal, never as code): descr a
 * str, or a list of (name, str) pairs for a structured dtype, where a str may be another such
 * list (a nested dtype) and a pair may have a third item, a sub-array's shape tuple
 * (('a', '<i4', (2,))); fortran_order True or False;
 * shape a tuple of non-negative ints (Python 2's `3L` included). Version 3 only allows the
 * header to be UTF-8, which changes nothing here. A bad header is refused with the byte offset
 * of what is wrong. The magic's first byte is also the STACK_GLOBAL opcode, which is why such a
 * file used to be refused as a pickle that underflows at byte 0.
 */
#include "npy_i.h"

#include <stdio.h>
#include <string.h>

typedef struct npr {
    const uint8_t *p;
    uint64_t pos, end, base;
    pk_error *err;
} npr;

static int npy_fail(npr *r, const char *what)
{
    char msg[sizeof r->err->what];
    snprintf(msg, sizeof msg, "malformed .npy header: %s", what);
    pk_set_error(r->err, PK_E_CONTAINER, r->base + r->pos, -1, msg);
    return -1;
}

static void npy_space(npr *r)
{
    while (r->pos < r->end && (r->p[r->pos] == ' ' || r->p[r->pos] == '\n' ||
                               r->p[r->pos] == '\t' || r->p[r->pos] == '\r'))
        r->pos++;
}

/* Is the next thing c? (consumed if so) */
static bool npy_next_is(npr *r, char c)
{
    npy_space(r);
    if (r->pos < r->end && r->p[r->pos] == (uint8_t)c) {
        r->pos++;
        return true;
    }
    return false;
}

static int npy_expect(npr *r, char c)
{
    if (npy_next_is(r, c))
        return 0;
    char what[32];
    snprintf(what, sizeof what, "'%c' expected", c);
    return npy_fail(r, what);
}

/* A quoted str without escapes, into out[0..cap) (NUL-terminated); its length in *len. */
static int npy_str(npr *r, char *out, size_t cap, uint32_t *len)
{
    npy_space(r);
    if (r->pos >= r->end || (r->p[r->pos] != '\'' && r->p[r->pos] != '"'))
        return npy_fail(r, "a quoted str expected");
    uint8_t q = r->p[r->pos++];
    uint64_t start = r->pos;
    while (r->pos < r->end && r->p[r->pos] != q) {
        if (r->p[r->pos] == '\\')
            return npy_fail(r, "an escape in a str (not read)");
        r->pos++;
    }
    if (r->pos >= r->end)
        return npy_fail(r, "unterminated str");
    uint64_t n = r->pos - start;
    if (n >= cap) {
        r->pos = start;
        return npy_fail(r, "str too long");
    }
    memcpy(out, r->p + start, (size_t)n);
    out[n] = 0;
    *len = (uint32_t)n;
    r->pos++;
    return 0;
}

/* A word such as True: consumed when it is next. */
static bool npy_word(npr *r, const char *w)
{
    npy_space(r);
    size_t n = strlen(w);
    if (r->end - r->pos < n || memcmp(r->p + r->pos, w, n) != 0)
        return false;
    r->pos += n;
    return true;
}

/* A tuple of at most max non-negative ints: (), (3,), (2, 3) (Python 2's 3L too), each at most
 * limit. */
static int npy_tuple(npr *r, uint64_t *dims, uint8_t *n, uint32_t max, uint64_t limit)
{
    if (npy_expect(r, '(') < 0)
        return -1;
    *n = 0;
    while (!npy_next_is(r, ')')) {
        if (*n > 0 && npy_expect(r, ',') < 0)
            return -1;
        if (npy_next_is(r, ')'))
            break;
        if (*n >= max) {
            char what[48];
            snprintf(what, sizeof what, "more than %u dimensions", max);
            return npy_fail(r, what);
        }
        uint64_t v = 0;
        bool any = false;
        while (r->pos < r->end && r->p[r->pos] >= '0' && r->p[r->pos] <= '9') {
            if (v > (limit - 9) / 10)
                return npy_fail(r, "a dimension too large");
            v = v * 10 + (uint64_t)(r->p[r->pos++] - '0');
            any = true;
        }
        if (!any)
            return npy_fail(r, "a dimension expected");
        if (r->pos < r->end && r->p[r->pos] == 'L')
            r->pos++; /* Python 2's long */
        dims[(*n)++] = v;
    }
    return 0;
}

/* The fields of a structured dtype, after its '[', at nesting depth depth:
 * [('x', '<i4'), ('y', [('z', '<f8')]), ('a', '<i2', (2,))] */
static int npy_fields(npr *r, pk_npy *h, uint8_t depth)
{
    uint32_t len, count = 0;
    if (depth >= PK_NPY_MAXDEPTH)
        return npy_fail(r, "structured dtypes nested more than 8 deep");
    while (!npy_next_is(r, ']')) {
        if (count > 0 && npy_expect(r, ',') < 0)
            return -1;
        if (npy_next_is(r, ']'))
            break;
        if (h->nfields >= PK_NPY_MAXFIELDS)
            return npy_fail(r, "more than 64 fields");
        uint32_t at = h->nfields++;
        pk_npy_field *f = &h->fields[at];
        count++;
        f->depth = depth;
        if (npy_expect(r, '(') < 0 || npy_str(r, f->name, sizeof f->name, &f->name_len) < 0 ||
            npy_expect(r, ',') < 0)
            return -1;
        if (npy_next_is(r, '[')) {
            f->code[0] = 0;
            if (npy_fields(r, h, (uint8_t)(depth + 1)) < 0)
                return -1;
            f = &h->fields[at];
        } else if (npy_str(r, f->code, sizeof f->code, &len) < 0) {
            return -1;
        }
        bool closed = false; /* (name, code,) */
        if (npy_next_is(r, ',') && !(closed = npy_next_is(r, ')'))) {
            uint64_t dims[PK_NPY_SUBDIM];
            if (npy_tuple(r, dims, &f->sub_ndim, PK_NPY_SUBDIM, UINT32_MAX) < 0)
                return -1;
            for (uint8_t i = 0; i < f->sub_ndim; i++)
                f->sub_shape[i] = (uint32_t)dims[i];
        }
        if (!closed && npy_expect(r, ')') < 0)
            return -1;
    }
    if (count == 0)
        return npy_fail(r, "a structured dtype without fields");
    return 0;
}

/* descr: '<f4', or a list of fields: [('x', '<i4'), ('y', '<f8')] */
static int npy_descr(npr *r, pk_npy *h)
{
    uint32_t len;
    if (!npy_next_is(r, '['))
        return npy_str(r, h->code, sizeof h->code, &len);
    h->code[0] = 0;
    return npy_fields(r, h, 0);
}

bool pk_npy_looks_like(const uint8_t *p, uint64_t len)
{
    return len >= 6 && memcmp(p, "\x93NUMPY", 6) == 0;
}

/* The dict literal in r: its three keys, each once. */
static int npy_dict(npr *r, pk_npy *h)
{
    bool seen[3] = {false, false, false};
    if (npy_expect(r, '{') < 0)
        return -1;
    while (!npy_next_is(r, '}')) {
        char key[16];
        uint32_t klen;
        uint64_t at = r->pos;
        if (npy_str(r, key, sizeof key, &klen) < 0 || npy_expect(r, ':') < 0)
            return -1;
        int k = strcmp(key, "descr") == 0 ? 0 : strcmp(key, "fortran_order") == 0 ? 1
                : strcmp(key, "shape") == 0 ? 2 : -1;
        if (k < 0 || seen[k]) {
            r->pos = at;
            return npy_fail(r, k < 0 ? "a key other than descr, fortran_order and shape"
                                     : "a key given twice");
        }
        seen[k] = true;
        if (k == 0 && npy_descr(r, h) < 0)
            return -1;
        if (k == 1 && !(h->fortran = npy_word(r, "True")) && !npy_word(r, "False"))
            return npy_fail(r, "fortran_order is neither True nor False");
        if (k == 2 && npy_tuple(r, h->shape, &h->ndim, PK_NPY_MAXDIM, UINT64_MAX >> 1) < 0)
            return -1;
        if (!npy_next_is(r, ',') && npy_expect(r, '}') < 0)
            return -1;
        if (r->p[r->pos - 1] == '}')
            break;
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return npy_fail(r, "descr, fortran_order or shape missing");
    npy_space(r);
    if (r->pos != r->end)
        return npy_fail(r, "bytes after the dict");
    return 0;
}

int pk_npy_parse(const uint8_t *p, uint64_t len, uint64_t base, pk_npy *h, pk_error *err)
{
    memset(h, 0, sizeof *h);
    npr r = {.p = p, .pos = 0, .end = len, .base = base, .err = err};
    if (!pk_npy_looks_like(p, len) || len < 10)
        return npy_fail(&r, "no .npy magic");
    r.pos = 6;
    if (p[6] < 1 || p[6] > 3) {
        char what[64];
        snprintf(what, sizeof what, "format version %u.%u (1.0 to 3.0 are read)", p[6], p[7]);
        return npy_fail(&r, what);
    }
    uint64_t start = p[6] == 1 ? 10 : 12, hlen;
    r.pos = 8;
    if (len < start)
        return npy_fail(&r, "truncated header length");
    hlen = p[8] | (uint64_t)p[9] << 8;
    if (p[6] > 1)
        hlen |= (uint64_t)p[10] << 16 | (uint64_t)p[11] << 24;
    if (hlen > len - start) {
        char what[120];
        snprintf(what, sizeof what, "header length %llu larger than the %llu bytes left",
                 (unsigned long long)hlen, (unsigned long long)(len - start));
        pk_set_error(err, PK_E_LENGTH, base + 8, -1, what);
        return -1;
    }
    r.pos = start;
    r.end = start + hlen;
    if (npy_dict(&r, h) < 0)
        return -1;
    h->at = base;
    h->data = base + start + hlen;
    h->len = len - start - hlen;
    h->object = h->code[0] && h->code[1] == 'O';
    return 0;
}
