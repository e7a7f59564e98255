/* render.c: values as text, the way Python would write them.
 *
 * File contents of leaves (str(x) plus a newline, raw bytes), repr() for dict keys and call
 * arguments, float repr() (shortest round-trip digits), and big ints in decimal. All output goes
 * to a bounded pk_buf, so a huge or cyclic value costs at most buf->max bytes.
 *
 * The __reduce__ line of an object (pk_render_call) is rendered here too, not in a file of its
 * own: it and repr() call each other (an object inside a list, a list among an object's
 * arguments), so apart they would be two files calling each other in a circle.
 */
#include "ckpt_i.h"
#include "lift_i.h"
#include "pk_i.h"
#include "source_i.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- leaves ---- */

static void put_span(const pk_doc *doc, const pk_node *n, pk_buf *b)
{
    uint64_t len = pk_span_len(doc, n);
    if (len > pk_buf_room(b)) {
        len = pk_buf_room(b);
        b->truncated = true;
    }
    char chunk[4096];
    for (uint64_t off = 0; off < len && !b->failed;) {
        uint64_t k = len - off < sizeof chunk ? len - off : sizeof chunk;
        if (pk_span_read(doc, n, off, chunk, k) < 0) {
            b->failed = b->unreadable = true;
            return;
        }
        pk_buf_put(b, chunk, (size_t)k);
        off += k;
    }
}

static void put_int64(pk_buf *b, int64_t v)
{
    char t[24];
    int k = snprintf(t, sizeof t, "%lld", (long long)v);
    pk_buf_put(b, t, (size_t)k);
}

static void put_float(pk_buf *b, double f)
{
    char t[32];
    int k = pk_float_repr(f, t);
    pk_buf_put(b, t, (size_t)k);
}

void pk_render_leaf(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_node *n = &doc->nodes[node];
    switch ((pk_kind)n->kind) {
    case PK_K_NONE: pk_buf_puts(b, "None\n"); break;
    case PK_K_BOOL: pk_buf_puts(b, n->u.i ? "True\n" : "False\n"); break;
    case PK_K_INT: put_int64(b, n->u.i); pk_buf_put(b, "\n", 1); break;
    case PK_K_FLOAT: put_float(b, n->u.f); pk_buf_put(b, "\n", 1); break;
    case PK_K_BIGINT:
    case PK_K_STR:
    case PK_K_TEXT:
        put_span(doc, n, b);
        pk_buf_put(b, "\n", 1);
        break;
    case PK_K_BYTES:
    case PK_K_BYTEARRAY: put_span(doc, n, b); break;
    case PK_K_DESC:
        pk_repr(doc, node, b);
        pk_buf_put(b, "\n", 1);
        break;
    case PK_K_GLOBAL:
    case PK_K_OBJECT:
        pk_repr(doc, node, b);
        pk_buf_put(b, "\n", 1);
        break;
    default: break; /* containers are directories */
    }
}

/* ---- repr ---- */

/* Python prints nested values up to any depth; we stop at this one and write "...". */
#define REPR_DEPTH 64

/* One repr (or __reduce__ line) visits at most this many values per byte it may write, and
 * writes "..." where it runs out. Most of the work lands in the output, which is bounded; but
 * set elements are rendered apart to be sorted, and a value shared by reference is rendered at
 * each place, so without a count a few hundred bytes of pickle (a frozenset holding its
 * predecessor twice, 64 deep) would ask for 2^64 visits. */
#define REPR_STEPS_PER_BYTE 2
#define REPR_STEPS_MIN 64
#define REPR_STEPS_UNBOUNDED ((uint64_t)1 << 24) /* for a buffer without max */

typedef struct rctx {
    uint64_t steps; /* values that may still be visited */
} rctx;

static rctx rctx_for(const pk_buf *b)
{
    uint64_t max = b->max, steps = REPR_STEPS_UNBOUNDED;
    if (max && max < (UINT64_MAX - REPR_STEPS_MIN) / REPR_STEPS_PER_BYTE)
        steps = max * REPR_STEPS_PER_BYTE + REPR_STEPS_MIN;
    return (rctx){steps};
}

/* Stop adding to b: it is full, or the walk has used its steps. */
static bool repr_done(const pk_buf *b, const rctx *r)
{
    return pk_buf_full(b) || r->steps == 0;
}

/* A buffer for a part rendered apart (a set element, an elided argument): at most max bytes,
 * and never more than b can still take, so that the work stays in proportion to b's room. */
static pk_buf sub_buf(const pk_buf *b, size_t max)
{
    size_t r = pk_buf_room(b);
    return (pk_buf){.max = max && max < r ? max : r ? r : 1};
}

static void repr_at(const pk_doc *doc, uint32_t node, pk_buf *b, int depth, rctx *r);
static void render_call_at(const pk_doc *doc, uint32_t node, pk_buf *b, int depth, rctx *r);

static void repr_items(const pk_doc *doc, const pk_node *n, pk_buf *b, int depth, bool pairs,
                       rctx *r)
{
    pk_cursor cur = pk_items_of(doc, n);
    uint32_t item;
    for (uint64_t i = 0; !repr_done(b, r) && pk_item_next(doc, &cur, &item); i++) {
        if (i > 0)
            pk_buf_puts(b, pairs && i % 2 ? ": " : ", ");
        repr_at(doc, item, b, depth + 1, r);
    }
}

typedef struct sort_item {
    char *text;
    size_t len;
} sort_item;

static int cmp_items(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->text, y->text, n) : 0; /* an empty text may be NULL */
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Sets in sorted order of their elements' reprs, so equal sets print equal. */
static void repr_set(const pk_doc *doc, const pk_node *n, pk_buf *b, int depth, rctx *r)
{
    uint64_t count = pk_count(doc, n);
    sort_item *items = calloc(count ? count : 1, sizeof *items);
    if (!items) {
        b->failed = true;
        return;
    }
    uint64_t i = 0;
    pk_cursor cur = pk_items_of(doc, n);
    uint32_t item;
    /* every element up to what b can take: a longer tail could not show anyway */
    for (; r->steps && pk_item_next(doc, &cur, &item); i++) {
        pk_buf e = sub_buf(b, 0);
        repr_at(doc, item, &e, depth + 1, r);
        items[i].text = e.data;
        items[i].len = e.len;
        b->failed |= e.failed;
        b->unreadable |= e.unreadable;
    }
    count = i;
    qsort(items, count, sizeof *items, cmp_items);
    for (i = 0; i < count; i++) {
        if (i > 0)
            pk_buf_puts(b, ", ");
        pk_buf_put(b, items[i].text, items[i].len);
        free(items[i].text);
    }
    free(items);
}

static void repr_at(const pk_doc *doc, uint32_t node, pk_buf *b, int depth, rctx *r)
{
    if (pk_buf_full(b))
        return;
    if (depth > REPR_DEPTH || r->steps == 0) {
        pk_buf_puts(b, "...");
        return;
    }
    r->steps--;
    const pk_node *n = &doc->nodes[node];
    switch ((pk_kind)n->kind) {
    case PK_K_NONE: pk_buf_puts(b, "None"); break;
    case PK_K_BOOL: pk_buf_puts(b, n->u.i ? "True" : "False"); break;
    case PK_K_INT: put_int64(b, n->u.i); break;
    case PK_K_FLOAT: put_float(b, n->u.f); break;
    case PK_K_BIGINT:
    case PK_K_GLOBAL: put_span(doc, n, b); break;
    case PK_K_TEXT: /* datetime.date(2024, 1, 2), Decimal('1.5'): see lift.c */
        if (!pk_lift_repr(doc, node, b))
            put_span(doc, n, b);
        break;
    case PK_K_STR: pk_span_repr(doc, n, b, false); break;
    case PK_K_BYTES: pk_span_repr(doc, n, b, true); break;
    case PK_K_BYTEARRAY:
        pk_buf_puts(b, "bytearray(");
        pk_span_repr(doc, n, b, true);
        pk_buf_puts(b, ")");
        break;
    case PK_K_DESC:
    case PK_K_OBJECT: render_call_at(doc, node, b, depth, r); break;
    case PK_K_ARRAY: pk_array_repr(doc, node, b); break;
    case PK_K_LIST:
        pk_buf_puts(b, "[");
        repr_items(doc, n, b, depth, false, r);
        pk_buf_puts(b, "]");
        break;
    case PK_K_TUPLE:
        pk_buf_puts(b, "(");
        repr_items(doc, n, b, depth, false, r);
        pk_buf_puts(b, pk_count(doc, n) == 1 ? ",)" : ")");
        break;
    case PK_K_DICT: {
        /* a lifted dict names its class and its arguments that are not items (lift_object.c):
         * collections.defaultdict(builtins.list, {'a': [1]}) */
        const pk_call *c = pk_call_of(doc, n);
        bool named = c && c->callable && doc->nodes[c->callable].kind == PK_K_GLOBAL;
        if (named) {
            put_span(doc, &doc->nodes[c->callable], b);
            pk_buf_puts(b, "(");
            const pk_node *a = c->args ? &doc->nodes[c->args] : NULL;
            if (a && a->kind == PK_K_TUPLE && pk_count(doc, a)) {
                repr_items(doc, a, b, depth, false, r);
                pk_buf_puts(b, ", ");
            }
        }
        pk_buf_puts(b, "{");
        repr_items(doc, n, b, depth, true, r);
        pk_buf_puts(b, named ? "})" : "}");
        break;
    }
    case PK_K_SET:
    case PK_K_FROZENSET: {
        bool frozen = n->kind == PK_K_FROZENSET;
        if (pk_count(doc, n) == 0) {
            pk_buf_puts(b, frozen ? "frozenset()" : "set()");
            break;
        }
        pk_buf_puts(b, frozen ? "frozenset({" : "{");
        repr_set(doc, n, b, depth, r);
        pk_buf_puts(b, frozen ? "})" : "}");
        break;
    }
    }
}

void pk_repr(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    rctx r = rctx_for(b);
    repr_at(doc, node, b, 0, &r);
}

void pk_repr_steps(const pk_doc *doc, uint32_t node, pk_buf *b, uint64_t *steps)
{
    rctx r = rctx_for(b);
    if (r.steps > *steps)
        r.steps = *steps;
    uint64_t given = r.steps;
    repr_at(doc, node, b, 0, &r);
    *steps -= given - r.steps;
}

/* ---- calls ---- */

/* Arguments longer than this are elided with "..." in a __reduce__ line, and arguments past
 * CALL_MAX bytes of it are left out as ", ...", so that reading the line stays cheap. */
#define ARG_MAX 200
#define CALL_MAX 4096

/* One argument, elided past ARG_MAX bytes. depth counts every nesting, calls within calls too,
 * so that a chain of a million nested calls cannot exhaust the stack. */
static void repr_arg(const pk_doc *doc, uint32_t node, pk_buf *b, int depth, rctx *r)
{
    if (repr_done(b, r))
        return;
    pk_buf a = sub_buf(b, ARG_MAX);
    repr_at(doc, node, &a, depth + 1, r);
    pk_buf_put(b, a.data, a.len);
    if (a.truncated)
        pk_buf_puts(b, "...");
    b->failed |= a.failed;
    b->unreadable |= a.unreadable;
    pk_buf_free(&a);
}

/* An ASCII Python identifier, usable as key= in a call. */
static bool is_identifier(const pk_doc *doc, const pk_node *k)
{
    char t[64];
    uint64_t len = pk_span_len(doc, k);
    if (len == 0 || len > sizeof t || pk_span_read(doc, k, 0, t, len) < 0)
        return false;
    for (uint64_t i = 0; i < len; i++) {
        char c = t[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* "module.name(arg, ..., key=value)": a call written as Python syntax, never resolved. */
static void render_call_at(const pk_doc *doc, uint32_t node, pk_buf *b, int depth, rctx *r)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = pk_call_of(doc, n);
    if (n->kind == PK_K_DESC) {
        static const char *const what[] = {[PK_T_PERSID] = "persistent_id",
                                           [PK_T_EXT] = "extension_code",
                                           [PK_T_BUFFER] = "out_of_band_buffer"};
        uint16_t t = pk_node_tname(doc, n);
        pk_buf_puts(b, t < PK_T__BUILTIN_COUNT && what[t] ? what[t] : "?");
        pk_buf_puts(b, "(");
        if (c && c->args)
            repr_arg(doc, c->args, b, depth, r);
        else
            put_int64(b, n->u.i);
        pk_buf_puts(b, ")");
        return;
    }
    if (!c)
        return;
    if (c->how == PK_HOW_BUILD) { /* a BUILD on a value that shows no state: (1).__setstate__ */
        pk_buf_puts(b, "(");
        repr_arg(doc, c->args, b, depth, r);
        pk_buf_puts(b, ").__setstate__(");
        repr_arg(doc, c->state, b, depth, r);
        pk_buf_puts(b, ")");
        return;
    }
    if (c->callable && doc->nodes[c->callable].kind == PK_K_GLOBAL)
        put_span(doc, &doc->nodes[c->callable], b);
    else if (c->callable)
        repr_arg(doc, c->callable, b, depth, r);
    if (c->how == PK_HOW_GLOBAL)
        return; /* a global the pickle mutated: only its name, never called */
    pk_buf_puts(b, "(");
    bool first = true;
    size_t start = b->len;
    /* a functools.partial shows the call it stands for, from its BUILD state (lift_object.c) */
    uint32_t func = 0, a_node = c->args, kw_node = c->kwargs;
    if (pk_partial_state(doc, c, &func, &a_node, &kw_node)) {
        repr_arg(doc, func, b, depth, r);
        first = false;
    }
    const pk_node *args = a_node ? &doc->nodes[a_node] : NULL;
    if (args && args->kind == PK_K_TUPLE) {
        pk_cursor cur = pk_items_of(doc, args);
        uint32_t arg;
        while (!repr_done(b, r) && pk_item_next(doc, &cur, &arg)) {
            if (b->len - start > CALL_MAX) {
                pk_buf_puts(b, ", ...");
                break;
            }
            if (!first)
                pk_buf_puts(b, ", ");
            first = false;
            repr_arg(doc, arg, b, depth, r);
        }
    } else if (args) {
        pk_buf_puts(b, "*");
        repr_arg(doc, a_node, b, depth, r);
        first = false;
    }
    const pk_node *kw = kw_node ? &doc->nodes[kw_node] : NULL;
    if (kw && kw->kind == PK_K_DICT) {
        pk_cursor cur = pk_items_of(doc, kw);
        uint32_t key, value;
        while (!repr_done(b, r) && pk_item_next(doc, &cur, &key) && pk_item_next(doc, &cur, &value)) {
            if (b->len - start > CALL_MAX) {
                pk_buf_puts(b, first ? "..." : ", ...");
                break;
            }
            if (!first)
                pk_buf_puts(b, ", ");
            first = false;
            /* key=value, or **{key: value} for a key that is no identifier */
            const pk_node *k = &doc->nodes[key];
            bool ident = k->kind == PK_K_STR && is_identifier(doc, k);
            if (ident) {
                put_span(doc, k, b);
                pk_buf_puts(b, "=");
            } else {
                pk_buf_puts(b, "**{");
                repr_arg(doc, key, b, depth, r);
                pk_buf_puts(b, ": ");
            }
            repr_arg(doc, value, b, depth, r);
            if (!ident)
                pk_buf_puts(b, "}");
        }
    }
    pk_buf_puts(b, ")");
}

/* A __reduce__ line is cut near CALL_MAX bytes whatever room b has, so it never gets more steps
 * than a 64 KiB buffer (the most an xattr holds, so that file and xattr agree). It used to
 * get those of an unbounded buffer, 2^24: a few KiB of pickle sharing one set many times over
 * took a second per line (a fuzzer found it). The margin over CALL_MAX leaves room for sets,
 * whose elements are all rendered to be sorted. */
#define CALL_STEPS_BYTES (64u << 10)

void pk_render_call(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    rctx r = rctx_for(b);
    uint64_t most = (uint64_t)CALL_STEPS_BYTES * REPR_STEPS_PER_BYTE + REPR_STEPS_MIN;
    if (r.steps > most)
        r.steps = most;
    render_call_at(doc, node, b, 0, &r);
}

