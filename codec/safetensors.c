/* safetensors.c: the header of a safetensors file, read and checked, nothing else.
 *
 * The file is an 8-byte little-endian header length N, N bytes of JSON, then the tensors'
 * bytes. The JSON is one object: each member is a tensor, {"dtype": "F32", "shape": [2, 3],
 * "data_offsets": [begin, end]} with offsets from the start of the data, except "__metadata__",
 * an object of str to str. Only that shape of JSON is accepted (a JSON reader of just what the
 * format needs: objects, arrays, strings, non-negative integers), with a depth of three, and
 * every offset and size is checked against the file: a bad header is refused with the byte
 * offset of what is wrong. The tensors become arrays in st_lift.c.
 */
#include "safetensors_i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The format's own bound on the header (safetensors refuses larger ones). */
#define ST_HEADER_MAX ((uint64_t)100 << 20)

typedef struct jr {
    const uint8_t *p;
    uint64_t pos, end;
    pk_doc *doc;
    pk_error *err;
} jr;

static bool st_fail(jr *r, const char *what)
{
    char msg[sizeof r->err->what];
    snprintf(msg, sizeof msg, "malformed safetensors header: %s", what);
    pk_set_error(r->err, PK_E_CONTAINER, r->pos, -1, msg);
    return false;
}

static void skip_space(jr *r)
{
    while (r->pos < r->end && (r->p[r->pos] == ' ' || r->p[r->pos] == '\n' ||
                               r->p[r->pos] == '\r' || r->p[r->pos] == '\t'))
        r->pos++;
}

static bool expect(jr *r, char c)
{
    skip_space(r);
    if (r->pos >= r->end || r->p[r->pos] != (uint8_t)c) {
        char what[32];
        snprintf(what, sizeof what, "'%c' expected", c);
        return st_fail(r, what);
    }
    r->pos++;
    return true;
}

/* Is the next thing c? (consumed if so) */
static bool next_is(jr *r, char c)
{
    skip_space(r);
    if (r->pos < r->end && r->p[r->pos] == (uint8_t)c) {
        r->pos++;
        return true;
    }
    return false;
}

static int hex4(const uint8_t *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = s[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                          c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

/* A \uXXXX escape (with its low surrogate when it is a high one) as a code point, or -1. */
static long unicode_escape(jr *r)
{
    if (r->end - r->pos < 4)
        return -1;
    long cp = hex4(r->p + r->pos);
    r->pos += 4;
    if (cp >= 0xd800 && cp < 0xdc00 && r->end - r->pos >= 6 && r->p[r->pos] == '\\' &&
        r->p[r->pos + 1] == 'u') {
        int lo = hex4(r->p + r->pos + 2);
        if (lo >= 0xdc00 && lo < 0xe000) {
            r->pos += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
    }
    return cp;
}

/* A JSON string, unescaped into b (UTF-8 as it stands, escapes decoded). */
static bool read_string(jr *r, pk_buf *b)
{
    if (!expect(r, '"'))
        return false;
    while (r->pos < r->end) {
        uint8_t c = r->p[r->pos++];
        if (c == '"')
            return !b->failed || st_fail(r, "out of memory");
        if (c < 0x20)
            return st_fail(r, "control character in a string");
        if (c != '\\') {
            pk_buf_put(b, &c, 1);
            continue;
        }
        if (r->pos >= r->end)
            break;
        c = r->p[r->pos++];
        static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
        const char *k = c ? strchr(from, c) : NULL;
        if (k) {
            pk_buf_put(b, &to[k - from], 1);
        } else if (c == 'u') {
            long cp = unicode_escape(r);
            if (cp < 0)
                return st_fail(r, "bad \\u escape");
            pk_buf_put_utf8(b, (uint32_t)cp);
        } else {
            return st_fail(r, "bad escape in a string");
        }
    }
    return st_fail(r, "string without its closing quote");
}

static bool read_uint(jr *r, uint64_t *v)
{
    skip_space(r);
    uint64_t start = r->pos;
    *v = 0;
    while (r->pos < r->end && r->p[r->pos] >= '0' && r->p[r->pos] <= '9') {
        if (*v > (UINT64_MAX - 9) / 10)
            return st_fail(r, "number too large");
        *v = *v * 10 + (r->p[r->pos++] - '0');
    }
    return r->pos > start || st_fail(r, "non-negative integer expected");
}

/* [n, n, ...] into out (at most max of them); *n their count. */
static bool read_uints(jr *r, uint64_t *out, uint64_t max, uint64_t *n)
{
    *n = 0;
    if (!expect(r, '['))
        return false;
    if (next_is(r, ']'))
        return true;
    do {
        if (*n == max)
            return st_fail(r, "too many dimensions");
        if (!read_uint(r, &out[(*n)++]))
            return false;
    } while (next_is(r, ','));
    return expect(r, ']');
}

static bool pool_text(jr *r, const pk_buf *b, pk_span *out)
{
    return pk_pool_add(&r->doc->pool, b->data ? b->data : "", b->len, out) ||
           st_fail(r, "out of memory");
}

/* {"k": "v", ...}: the metadata. */
static bool read_metadata(jr *r, pk_st_header *h)
{
    if (!expect(r, '{'))
        return false;
    if (next_is(r, '}'))
        return true;
    do {
        pk_buf k = {0}, v = {0};
        pk_st_meta m;
        bool ok = read_string(r, &k) && expect(r, ':') && read_string(r, &v) &&
                  pool_text(r, &k, &m.key) && pool_text(r, &v, &m.value);
        pk_buf_free(&k);
        pk_buf_free(&v);
        if (!ok)
            return false;
        if (!pk_grow((void **)&h->meta, &h->cap_meta, h->nmeta + 1, sizeof m))
            return st_fail(r, "out of memory");
        h->meta[h->nmeta++] = m;
    } while (next_is(r, ','));
    return expect(r, '}');
}

/* One tensor's object: its three members, in any order, each once. */
static bool read_tensor(jr *r, pk_st_tensor *t)
{
    bool dtype = false, shape = false, offsets = false;
    if (!expect(r, '{'))
        return false;
    do {
        pk_buf k = {0};
        bool ok = read_string(r, &k) && expect(r, ':');
        size_t kl = k.len;
        bool is_dtype = ok && kl == 5 && memcmp(k.data, "dtype", 5) == 0;
        bool is_shape = ok && kl == 5 && memcmp(k.data, "shape", 5) == 0;
        bool is_off = ok && kl == 12 && memcmp(k.data, "data_offsets", 12) == 0;
        pk_buf_free(&k);
        if (!ok)
            return false;
        uint64_t two[2], n;
        if (is_dtype && !dtype) {
            pk_buf d = {0};
            ok = read_string(r, &d) && (d.len < sizeof t->dtype || st_fail(r, "unknown dtype"));
            if (ok) {
                memcpy(t->dtype, d.data ? d.data : "", d.len);
                t->dtype[d.len] = 0;
            }
            pk_buf_free(&d);
            dtype = true;
        } else if (is_shape && !shape) {
            ok = read_uints(r, t->shape, PK_ST_MAXDIM, &n);
            t->ndim = (uint8_t)n;
            shape = true;
        } else if (is_off && !offsets) {
            ok = read_uints(r, two, 2, &n) && (n == 2 || st_fail(r, "two data offsets expected"));
            t->begin = two[0];
            t->end = two[1];
            offsets = true;
        } else {
            return st_fail(r, "unexpected member of a tensor");
        }
        if (!ok)
            return false;
    } while (next_is(r, ','));
    return expect(r, '}') && ((dtype && shape && offsets) || st_fail(r, "tensor lacks a member"));
}

/* The header object, member by member. */
static bool read_header(jr *r, pk_st_header *h)
{
    if (!expect(r, '{'))
        return false;
    if (next_is(r, '}'))
        return true;
    do {
        pk_buf name = {0};
        uint64_t at = r->pos;
        bool ok = read_string(r, &name) && expect(r, ':');
        bool meta = ok && name.len == 12 && memcmp(name.data, "__metadata__", 12) == 0;
        if (ok && meta) {
            ok = read_metadata(r, h);
        } else if (ok) {
            pk_st_tensor t = {.at = at};
            ok = read_tensor(r, &t) && pool_text(r, &name, &t.name);
            if (ok && !pk_grow((void **)&h->tensors, &h->cap_tensors, h->ntensors + 1, sizeof t))
                ok = st_fail(r, "out of memory");
            if (ok)
                h->tensors[h->ntensors++] = t;
        }
        pk_buf_free(&name);
        if (!ok)
            return false;
    } while (next_is(r, ','));
    if (!expect(r, '}'))
        return false;
    skip_space(r);
    return r->pos == r->end || st_fail(r, "bytes after the header's object");
}

bool pk_st_looks_like(const uint8_t *p, uint64_t len)
{
    if (len < 10)
        return false;
    uint64_t n = pk_le64(p);
    return n >= 2 && n <= ST_HEADER_MAX && n <= len - 8 && p[8] == '{';
}

int pk_st_parse(pk_doc *doc, pk_st_header *h, pk_error *err)
{
    const uint8_t *p = doc->src;
    uint64_t len = doc->src_len;
    memset(h, 0, sizeof *h);
    if (!pk_st_looks_like(p, len)) {
        pk_set_error(err, PK_E_CONTAINER, 0, -1, "malformed safetensors header length");
        return -1;
    }
    jr r = {.p = p, .pos = 8, .end = 8 + pk_le64(p), .doc = doc, .err = err};
    if (!read_header(&r, h))
        return -1;
    h->data = r.end;
    uint64_t data_len = len - h->data;
    for (uint64_t i = 0; i < h->ntensors; i++) {
        pk_st_tensor *t = &h->tensors[i];
        r.pos = t->at;
        if (t->begin > t->end || t->end > data_len) {
            st_fail(&r, "data offsets outside the file");
            return -1;
        }
    }
    return 0;
}

void pk_st_free(pk_st_header *h)
{
    free(h->tensors);
    free(h->meta);
    memset(h, 0, sizeof *h);
}
