/* lift.c: reconstructors shown as the value they build, by reading their arguments.
 *
 * Protocols 0 to 3 have no opcodes for some plain data, so the pickler writes calls:
 * builtins.set([...]), builtins.frozenset([...]), builtins.bytearray(b'...') and
 * _codecs.encode('text', 'latin1') for bytes. Python 2 writes __builtin__ for builtins.
 * These are lifted to the value they stand for, so plain data mounts the same at every
 * protocol. Nothing is imported or called: a call whose arguments do not have the expected
 * shape simply stays an opaque object.
 */
#include "ckpt_i.h"
#include "lift_i.h"

#include <string.h>

/* Python 2 module names that CPython's _compat_pickle maps to their Python 3 homes. */
static const char *const module_aliases[][2] = {
    {"__builtin__.", "builtins."},
    {"copy_reg.", "copyreg."},
    {"exceptions.", "builtins."},
};

/* Write the Python 3 spelling of a dotted name into out; false if it does not fit. */
static bool normalised_name(const pk_doc *doc, uint32_t node, char *out, size_t size)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind != PK_K_GLOBAL || n->u.s.len >= size)
        return false;
    const char *s = doc->pool.data + n->u.s.pos;
    size_t len = (size_t)n->u.s.len;
    for (size_t i = 0; i < sizeof module_aliases / sizeof module_aliases[0]; i++) {
        size_t k = strlen(module_aliases[i][0]);
        if (len >= k && memcmp(s, module_aliases[i][0], k) == 0) {
            size_t r = strlen(module_aliases[i][1]);
            if (r + len - k >= size)
                return false;
            memcpy(out, module_aliases[i][1], r);
            memcpy(out + r, s + k, len - k);
            out[r + len - k] = 0;
            return true;
        }
    }
    memcpy(out, s, len);
    out[len] = 0;
    return true;
}

/* The i-th element of a tuple, or 0. */
static uint32_t tuple_item(const pk_doc *doc, uint32_t tuple, uint64_t i)
{
    const pk_node *t = &doc->nodes[tuple];
    if (t->kind != PK_K_TUPLE || i >= t->u.c.count)
        return 0;
    uint32_t l = t->u.c.head;
    while (i-- > 0)
        l = doc->links[l].next;
    return doc->links[l].node;
}

static uint64_t tuple_len(const pk_doc *doc, uint32_t tuple)
{
    const pk_node *t = &doc->nodes[tuple];
    return t->kind == PK_K_TUPLE ? t->u.c.count : UINT64_MAX;
}

static bool str_is(const pk_doc *doc, uint32_t node, const char *text)
{
    const pk_node *n = &doc->nodes[node];
    size_t k = strlen(text);
    if (n->kind != PK_K_STR || n->u.s.len != k)
        return false;
    const uint8_t *p = pk_span_ptr(doc, n);
    return p && memcmp(p, text, k) == 0;
}

/* set(iterable) / frozenset(iterable) with a list, tuple or set argument. */
static int lift_set(pk_lift_ctx *c, pk_kind kind, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = tuple_len(doc, args);
    uint32_t from = n == 1 ? tuple_item(doc, args, 0) : 0;
    if (n > 1 || (from && !PK_K_IS_CONTAINER(doc->nodes[from].kind)) ||
        (from && doc->nodes[from].kind == PK_K_DICT) || (from && doc->nodes[from].kind == PK_K_OBJECT))
        return 0;
    uint32_t s = pk_lift_new_node(c, kind);
    if (!s)
        return -1;
    if (from)
        for (uint32_t l = doc->nodes[from].u.c.head; l; l = doc->links[l].next)
            if (pk_chain_add(doc, s, doc->links[l].node) < 0)
                return c->fail(c, PK_E_NOMEM, "out of memory");
    *out = s;
    return 0;
}

/* _codecs.encode(text, 'latin1'): every code point of text is below 256. */
static int lift_latin1(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint32_t text = tuple_item(doc, args, 0);
    uint32_t enc = tuple_item(doc, args, 1);
    if (tuple_len(doc, args) != 2 || doc->nodes[text].kind != PK_K_STR ||
        !(str_is(doc, enc, "latin1") || str_is(doc, enc, "latin-1")))
        return 0;
    const pk_node *t = &doc->nodes[text];
    const uint8_t *p = pk_span_ptr(doc, t);
    if (!p)
        return 0;
    pk_buf b = {0};
    for (uint64_t i = 0; i < t->u.s.len; i++) {
        uint8_t ch = p[i];
        if (ch >= 0x80) { /* two-byte UTF-8 for U+0080..U+00FF */
            if (ch > 0xc3 || i + 1 >= t->u.s.len) {
                pk_buf_free(&b);
                return 0;
            }
            ch = (uint8_t)((ch & 0x03) << 6 | (p[++i] & 0x3f));
        }
        pk_buf_put(&b, &ch, 1);
    }
    uint32_t n = pk_lift_new_node(c, PK_K_BYTES);
    if (!n || b.failed || !pk_pool_add(&doc->pool, b.data, b.len, &doc->nodes[n].u.s)) {
        pk_buf_free(&b);
        return n ? c->fail(c, PK_E_NOMEM, "out of memory") : -1;
    }
    pk_buf_free(&b);
    *out = n;
    return 0;
}

/* bytes() and bytearray(), empty or from bytes: protocols 0 to 2 write b'' as bytes(). */
static int lift_bytes_of(pk_lift_ctx *c, pk_kind kind, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = tuple_len(doc, args);
    uint32_t from = n == 1 ? tuple_item(doc, args, 0) : 0;
    if (n > 1 || (from && doc->nodes[from].kind != PK_K_BYTES))
        return 0;
    uint32_t b = pk_lift_new_node(c, kind);
    if (!b)
        return -1;
    if (from) { /* share the bytes: the span is immutable */
        doc->nodes[b].flags = doc->nodes[from].flags & PK_NF_SRC;
        doc->nodes[b].u.s = doc->nodes[from].u.s;
    }
    *out = b;
    return 0;
}

/* The lifted callables, by their Python 3 dotted names. */
typedef int (*lift_fn)(pk_lift_ctx *c, uint32_t args, uint32_t *out);

static int lift_bytes(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    return lift_bytes_of(c, PK_K_BYTES, args, out);
}

static int lift_bytearray(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    return lift_bytes_of(c, PK_K_BYTEARRAY, args, out);
}

static int lift_set_call(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    return lift_set(c, PK_K_SET, args, out);
}

static int lift_frozenset_call(pk_lift_ctx *c, uint32_t args, uint32_t *out)
{
    return lift_set(c, PK_K_FROZENSET, args, out);
}

static const struct {
    const char *name;
    lift_fn fn;
} lifted[] = {
    {"builtins.set", lift_set_call},
    {"builtins.frozenset", lift_frozenset_call},
    {"builtins.bytes", lift_bytes},
    {"builtins.bytearray", lift_bytearray},
    {"_codecs.encode", lift_latin1},
};

int pk_lift_call(pk_lift_ctx *c, pk_how how, uint32_t callable, uint32_t args, uint32_t kwargs,
                 uint32_t *out)
{
    char name[128];
    *out = 0;
    if (how != PK_HOW_REDUCE || kwargs || !normalised_name(c->doc, callable, name, sizeof name))
        return 0;
    for (size_t i = 0; i < sizeof lifted / sizeof lifted[0]; i++)
        if (strcmp(name, lifted[i].name) == 0)
            return lifted[i].fn(c, args, out);
    return pk_array_lift_call(c, name, callable, args, out); /* numpy, torch: array.c */
}
