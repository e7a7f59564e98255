/* lift.c: reconstructors shown as the value they build, by reading their arguments.
 *
 * Protocols 0 to 3 have no opcodes for some plain data, so the pickler writes calls:
 * builtins.set([...]), builtins.frozenset([...]), builtins.bytearray(b'...') and
 * _codecs.encode('text', 'latin1') for bytes. These are lifted to the value they stand for, so
 * plain data mounts the same at every protocol. Well-known classes are lifted too:
 * collections.OrderedDict, defaultdict and Counter become dicts, copyreg's object makers become
 * objects of the class they make, and the datetime family, Decimal and complex become text
 * (lift_datetime.c, lift_number.c). Names are compared as Python 3 spells them: the decoder
 * has already mapped Python 2 names (lift_names.c).
 *
 * Nothing is imported or called: a call whose arguments do not have the expected shape simply
 * stays an opaque object.
 */
#include "ckpt_i.h"
#include "lift_i.h"
#include "pandas_i.h"
#include "source_i.h"

#include <string.h>

/* ---- plain data of protocols 0 to 3 ---- */

/* set(iterable) / frozenset(iterable) with a list, tuple or set argument. */
static int lift_set(pk_lift_ctx *c, pk_kind kind, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = pk_tuple_len(doc, args);
    uint32_t from = n == 1 ? pk_tuple_item(doc, args, 0) : 0;
    if (n > 1 || (from && !PK_K_IS_CONTAINER(doc->nodes[from].kind)) ||
        (from && doc->nodes[from].kind == PK_K_DICT) || (from && doc->nodes[from].kind == PK_K_OBJECT) ||
        (from && !pk_lift_can_copy(doc, pk_count(doc, &doc->nodes[from]))))
        return 0;
    uint32_t s = pk_lift_new_node(c, kind);
    if (!s)
        return -1;
    if (from && pk_chain_copy(doc, s, from, 0) < 0)
        return pk_lift_oom(c);
    *out = s;
    return 0;
}

/* _codecs.encode(text, 'latin1'): every code point of text is below 256. */
static int lift_latin1(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    pk_doc *doc = c->doc;
    uint32_t text = pk_tuple_item(doc, args, 0);
    uint32_t enc = pk_tuple_item(doc, args, 1);
    if (pk_tuple_len(doc, args) != 2 || doc->nodes[text].kind != PK_K_STR ||
        !(pk_str_is(doc, enc, "latin1") || pk_str_is(doc, enc, "latin-1")))
        return 0;
    const pk_node *t = &doc->nodes[text];
    const uint8_t *p = pk_span_ptr(doc, t);
    if (!p)
        return 0;
    pk_buf b = {0};
    for (uint64_t i = 0; i < pk_span_len(doc, t); i++) {
        uint8_t ch = p[i];
        if (ch >= 0x80) { /* two-byte UTF-8 for U+0080..U+00FF */
            if (ch > 0xc3 || i + 1 >= pk_span_len(doc, t)) {
                pk_buf_free(&b);
                return 0;
            }
            ch = (uint8_t)((ch & 0x03) << 6 | (p[++i] & 0x3f));
        }
        pk_buf_put(&b, &ch, 1);
    }
    uint32_t n = pk_lift_new_node(c, PK_K_BYTES);
    if (!n || b.failed || !pk_node_set_text(doc, n, b.data, b.len)) {
        pk_buf_free(&b);
        return n ? pk_lift_oom(c) : -1;
    }
    pk_buf_free(&b);
    *out = n;
    return 0;
}

/* bytes() and bytearray(), empty or from bytes: protocols 0 to 2 write b'' as bytes(). */
static int lift_bytes_of(pk_lift_ctx *c, pk_kind kind, uint32_t args, uint32_t *out)
{
    pk_doc *doc = c->doc;
    uint64_t n = pk_tuple_len(doc, args);
    uint32_t from = n == 1 ? pk_tuple_item(doc, args, 0) : 0;
    if (n > 1 || (from && doc->nodes[from].kind != PK_K_BYTES))
        return 0;
    uint32_t b = pk_lift_new_node(c, kind);
    if (!b)
        return -1;
    if (from) { /* share the bytes: the span is immutable */
        doc->nodes[b].flags |= doc->nodes[from].flags & PK_NF_SRC;
        if (!pk_node_set_span(doc, b, pk_node_span(doc, &doc->nodes[from])))
            return pk_lift_oom(c);
    }
    *out = b;
    return 0;
}

static int lift_bytes(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    return lift_bytes_of(c, PK_K_BYTES, args, out);
}

static int lift_bytearray(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    return lift_bytes_of(c, PK_K_BYTEARRAY, args, out);
}

static int lift_set_call(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    return lift_set(c, PK_K_SET, args, out);
}

static int lift_frozenset_call(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out)
{
    (void)callable;
    return lift_set(c, PK_K_FROZENSET, args, out);
}

bool pk_lift_repr(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind != PK_K_TEXT)
        return false;
    switch (pk_node_tname(doc, n)) {
    case PK_T_DECIMAL: { /* Decimal('1.50'): the text has no quote or backslash in it */
        uint8_t t[512];
        pk_buf_puts(b, "Decimal('");
        uint64_t len = pk_span_len(doc, n);
        for (uint64_t off = 0; off < len && !b->failed && !b->truncated;) {
            uint64_t k = len - off < sizeof t ? len - off : sizeof t;
            if (pk_span_read(doc, n, off, t, k) < 0) {
                b->failed = true;
                break;
            }
            pk_buf_put(b, t, (size_t)k);
            off += k;
        }
        pk_buf_puts(b, "')");
        return true;
    }
    case PK_T_COMPLEX: return false; /* repr() is str(): the text itself */
    default: return pk_lift_repr_datetime(doc, node, b);
    }
}

/* ---- the table ---- */

typedef int (*lift_fn)(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);

enum {
    BY_REDUCE = 1,   /* callable(*args) */
    BY_NEWOBJ = 2,   /* cls.__new__(cls, *args), the same as the call for these types */
    BY_NEWOBJ0 = 4,  /* cls.__new__(cls) with no arguments: an empty container */
};

/* The lifted callables, by their Python 3 dotted names. */
static const struct {
    const char *name;
    lift_fn fn;
    unsigned how;
} lifted[] = {
    {"builtins.set", lift_set_call, BY_REDUCE},
    {"builtins.frozenset", lift_frozenset_call, BY_REDUCE},
    {"builtins.bytes", lift_bytes, BY_REDUCE},
    {"builtins.bytearray", lift_bytearray, BY_REDUCE},
    {"_codecs.encode", lift_latin1, BY_REDUCE},
    {"collections.OrderedDict", pk_lift_ordereddict, BY_REDUCE | BY_NEWOBJ0},
    {"collections.defaultdict", pk_lift_defaultdict, BY_REDUCE | BY_NEWOBJ0},
    {"collections.Counter", pk_lift_counter, BY_REDUCE | BY_NEWOBJ0},
    {"copyreg._reconstructor", pk_lift_reconstructor, BY_REDUCE},
    {"copyreg.__newobj__", pk_lift_newobj, BY_REDUCE},
    {"copyreg.__newobj_ex__", pk_lift_newobj_ex, BY_REDUCE},
    {"datetime.date", pk_lift_date, BY_REDUCE | BY_NEWOBJ},
    {"datetime.time", pk_lift_time, BY_REDUCE | BY_NEWOBJ},
    {"datetime.datetime", pk_lift_datetime, BY_REDUCE | BY_NEWOBJ},
    {"datetime.timedelta", pk_lift_timedelta, BY_REDUCE | BY_NEWOBJ},
    {"datetime.timezone", pk_lift_timezone, BY_REDUCE | BY_NEWOBJ},
    {"decimal.Decimal", pk_lift_decimal, BY_REDUCE | BY_NEWOBJ},
    {"builtins.complex", pk_lift_complex, BY_REDUCE | BY_NEWOBJ},
    {"pandas.core.indexes.base._new_Index", pk_lift_pandas_index, BY_REDUCE},
    {"pandas.core.indexes.datetimes._new_DatetimeIndex", pk_lift_pandas_index, BY_REDUCE},
};

int pk_lift_call(pk_lift_ctx *c, pk_how how, uint32_t callable, uint32_t args, uint32_t kwargs,
                 uint32_t *out)
{
    char name[128];
    *out = 0;
    if (how == PK_HOW_REDUCE && !kwargs && c->doc->nodes[callable].kind == PK_K_OBJECT)
        return pk_lift_partial_new(c, callable, args, out);
    if (kwargs || (how != PK_HOW_REDUCE && how != PK_HOW_NEWOBJ) ||
        !pk_global_name(c->doc, callable, name, sizeof name))
        return 0;
    for (size_t i = 0; i < sizeof lifted / sizeof lifted[0]; i++) {
        if (strcmp(name, lifted[i].name) != 0)
            continue;
        bool ok = how == PK_HOW_REDUCE ? (lifted[i].how & BY_REDUCE) != 0
                                       : (lifted[i].how & BY_NEWOBJ) != 0 ||
                                             ((lifted[i].how & BY_NEWOBJ0) != 0 &&
                                              pk_tuple_len(c->doc, args) == 0);
        return ok ? lifted[i].fn(c, callable, args, out) : 0;
    }
    if (how != PK_HOW_REDUCE)
        return 0;
    return pk_array_lift_call(c, name, callable, args, out); /* numpy, torch: array.c */
}

/* BUILD: numpy's dtypes and arrays, pandas's frames and series. */
static int lift_build(pk_lift_ctx *c, uint32_t node)
{
    if (pk_array_build(c, node) < 0)
        return -1;
    return c->doc->nodes[node].kind == PK_K_OBJECT ? pk_pandas_build(c, node) : 0;
}

const pk_hooks pk_lift_hooks = {
    .call = pk_lift_call,
    .build = lift_build,
    .persid = pk_array_persid,
    .joblib_build = pk_joblib_build,
};
