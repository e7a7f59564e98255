/* decode.c: the pickle machine, run once over the whole stream, executing nothing.
 *
 * It follows CPython's Modules/_pickle.c structurally: one dispatch switch, marks on their own
 * stack with a fence (values below the newest mark cannot be popped), a memo keyed by index,
 * FRAME discipline, and the same argument syntax for the text opcodes. Where CPython would
 * import or call something, we only record: GLOBAL makes a name, REDUCE/NEWOBJ/INST/OBJ make a
 * call record (or a lifted value, see lift.c), BUILD/APPEND/SETITEM on an opaque object are
 * noted on its call record.
 *
 * Every read goes through take(), which knows the bytes left in the stream and in the frame,
 * except an opcode's own byte, which the loop reads while pos is below op_limit (set_limits).
 */
#include "ckpt_i.h"
#include "machine_i.h"
#include "pk_i.h"
#include "prefault_i.h"
#include "source_i.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum pk_arg {
    ARG_NONE, ARG_DECIMALNL_SHORT, ARG_DECIMALNL_LONG, ARG_INT4, ARG_UINT1, ARG_UINT2, ARG_UINT4,
    ARG_UINT8, ARG_LONG1, ARG_LONG4, ARG_STRINGNL, ARG_STRING1, ARG_STRING4, ARG_BYTES1,
    ARG_BYTES4, ARG_BYTES8, ARG_UNICODENL, ARG_UNICODE1, ARG_UNICODE4, ARG_UNICODE8,
    ARG_FLOATNL, ARG_FLOAT8, ARG_NAMEPAIR, ARG_NAMENL,
};

enum pk_opcode {
#define PK_OP(name, byte, arg, proto) OP_##name = byte,
#include "opcodes.def"
#undef PK_OP
};

#define MAX_PROTOCOL 5

/* Small helpers of the opcode loops (push, top, fence; the fast path's readers) are inlined
 * whatever the compiler's budget for their callers: left to it, which of them stays a call
 * changed with changes elsewhere in run() (push or top became a call of 12-22M instructions on
 * the 1M-key dict). Forcing more (new_node, take) costs instructions. */
#define HOT static inline __attribute__((always_inline))

/* The memo: index -> node. Picklers number their PUTs 0, 1, 2...: those indices go to a dense
 * array, CPython's own layout, which costs no hashing and no cache miss per PUT. The array only
 * grows to twice the entries it holds (plus a little), so a file cannot make it big by naming a
 * huge index (the flaw of CPython's memo, CVE-2018-20406); sparse indices go to an open-addressing
 * table instead. An index lives in one of the two, never both. */
typedef struct memo {
    uint64_t *keys; /* key + 1; 0 marks an empty slot */
    uint32_t *vals;
    uint64_t cap, count; /* count: distinct indices in both parts (MEMOIZE's next index) */
    uint64_t nhashed;    /* of count, those in keys/vals */
    uint32_t *dense;     /* dense[idx]: the node, 0 when absent */
    uint64_t ndense;     /* the slots zeroed, and so in use */
    uint64_t cap_dense;  /* the slots allocated */
} memo;

#define MEMO_DENSE_SLACK 4096
/* The array's zeroed slots grow by this many at a time, not by doubling, so the prefault
 * thread readies their pages ahead of the memset instead of the decoder faulting them in. */
#define MEMO_ZERO_STEP ((uint64_t)16 << 10)

typedef struct dec {
    pk_doc *doc;
    const pk_hooks *hooks; /* the lifts; never NULL (pk_decode) */
    pk_error *err;
    const uint8_t *src;
    uint64_t pos, end;
    uint64_t frame_end; /* 0 when not inside a frame */
    uint64_t limit;     /* frame_end inside a frame, else end: what take() may reach */
    uint64_t op_limit;  /* the next opcode is read inline while pos is below it (set_limits) */
    uint64_t op_off;    /* offset of the opcode being decoded (its byte, if not the end) */
    uint32_t *stack;
    uint64_t sp, cap_stack;
    uint64_t *marks; /* stack heights */
    uint64_t nmarks, cap_marks;
    memo memo;
    bool nested; /* a pickle inside joblib's stream: no array wrappers of its own */
    int proto;   /* of the pickle being decoded: 0 until a PROTO says otherwise */
    uint64_t chores_at;  /* chores() when pos reaches this */
    uint64_t release_at; /* pk_source_release() the bytes behind when pos reaches this */
    uint32_t shape; /* the last plain run of a dict's first pairs (add_items), or 0: its keys
                       were checked hashable and pooled */
} dec;

/* How often the decoder tells the prefault thread how far it is, and how often it gives the
 * mapped bytes behind it back. */
#define CHORE_STEP ((uint64_t)64 << 10)
#define RELEASE_STEP ((uint64_t)2 << 20)

static int fail(dec *d, pk_code code, const char *what)
{
    int op = d->op_off < d->end ? d->src[d->op_off] : -1; /* -1: the stream ended before one */
    pk_set_error(d->err, code, d->op_off, op, what);
    return -1;
}

static int failf(dec *d, pk_code code, const char *fmt, unsigned long long a,
                 unsigned long long b)
{
    char what[sizeof d->err->what];
    snprintf(what, sizeof what, fmt, a, b);
    return fail(d, code, what);
}

/* ---- the cursor ---- */

/* take()'s one bound, limit: the end of the frame, or of the stream outside one. pos never
 * passes it. And op_limit: limit, or where chores are due if that comes first, past which the
 * next opcode is read by take_op_slow, which does them (chores_at starts at 0: at once). */
static void set_limits(dec *d)
{
    d->limit = d->frame_end ? d->frame_end : d->end;
    d->op_limit = d->limit < d->chores_at ? d->limit : d->chores_at;
}

/* Enter a frame that ends at frame_end, or leave it (0). */
static void set_frame(dec *d, uint64_t frame_end)
{
    d->frame_end = frame_end;
    set_limits(d);
}

/* n bytes at the cursor, or NULL (with the error set) when the stream or the frame ends first. */
static const uint8_t *take_checked(dec *d, uint64_t n)
{
    if (d->frame_end) {
        if (d->pos == d->frame_end) {
            set_frame(d, 0); /* the frame is used up: read unframed, as CPython does */
        } else if (n > d->frame_end - d->pos) {
            fail(d, PK_E_FRAME, "opcode straddles a frame boundary");
            return NULL;
        }
    }
    if (n > d->end - d->pos) {
        failf(d, PK_E_TRUNCATED, "truncated data: %llu bytes needed, %llu left", n,
              d->end - d->pos);
        return NULL;
    }
    const uint8_t *p = d->src + d->pos;
    d->pos += n;
    return p;
}

/* The n bytes at pos, which then moves past them; NULL (the error set) when they are not all
 * there, or not all in the current frame. Inline for the common case, which is every argument:
 * one comparison with limit. At the end of a frame it sends a read of 1 byte or more on to
 * take_checked, which leaves the frame (a read of 0 leaves it open, for the next to leave). */
static inline const uint8_t *take(dec *d, uint64_t n)
{
    if (n <= d->limit - d->pos) {
        const uint8_t *p = d->src + d->pos;
        d->pos += n;
        return p;
    }
    return take_checked(d, n);
}

static __attribute__((noinline)) const uint8_t *length_refused(dec *d, uint64_t n)
{
    failf(d, PK_E_LENGTH, "length %llu larger than the %llu bytes left", n, d->end - d->pos);
    return NULL;
}

/* A length read from the file, checked against what is left before anything is done with it. */
static inline const uint8_t *take_len(dec *d, uint64_t n)
{
    return n <= d->end - d->pos ? take(d, n) : length_refused(d, n);
}

/* One line, without its '\n'. */
static const uint8_t *take_line(dec *d, uint64_t *len)
{
    /* a frame used up is left (take_checked), so its line may run on to the stream's end */
    uint64_t bound = d->frame_end && d->pos < d->frame_end ? d->frame_end : d->end;
    const uint8_t *nl = memchr(d->src + d->pos, '\n', bound - d->pos);
    if (!nl) {
        if (bound != d->end)
            return fail(d, PK_E_FRAME, "opcode straddles a frame boundary"), NULL;
        return fail(d, PK_E_TRUNCATED, "truncated data: line without end"), NULL;
    }
    *len = (uint64_t)(nl - (d->src + d->pos));
    const uint8_t *p = take(d, *len + 1);
    return p;
}

/* ---- values ---- */

/* The last offset group (pk_off_group), NULL before the first; can it hold a value made at
 * off? */
static inline const pk_off_group *last_group(const pk_doc *doc)
{
    return doc->ngroups ? &doc->groups[doc->ngroups - 1] : NULL;
}
static inline bool group_holds(const pk_off_group *g, uint64_t off)
{
    return g && off - g->base <= UINT16_MAX; /* an off below base wraps to more */
}

/* Room for one more value, made at d->op_off: the limits checked, the value array grown, and
 * a new offset group started if the last cannot hold it. Its group, or NULL (d->err says why). */
static __attribute__((noinline)) const pk_off_group *node_room(dec *d)
{
    pk_doc *doc = d->doc;
    if (doc->nnodes >= doc->lim.max_nodes || doc->nnodes >= UINT32_MAX)
        return failf(d, PK_E_NODE_LIMIT, "more than %llu values (the limit)",
                     (unsigned long long)doc->lim.max_nodes, 0), NULL;
    if (!pk_doc_grow(doc, (void **)&doc->nodes, &doc->cap_nodes, doc->nnodes + 1, sizeof(pk_node)))
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), NULL;
    const pk_off_group *g = last_group(doc);
    if (!group_holds(g, d->op_off)) {
        if (!pk_doc_grow(doc, (void **)&doc->groups, &doc->cap_groups, doc->ngroups + 1,
                         sizeof(pk_off_group)))
            return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), NULL;
        doc->groups[doc->ngroups] = (pk_off_group){d->op_off, (uint32_t)doc->nnodes};
        g = &doc->groups[doc->ngroups++];
    }
    uint64_t end = doc->cap_nodes < doc->lim.max_nodes ? doc->cap_nodes : doc->lim.max_nodes;
    doc->nodes_end = end < UINT32_MAX ? end : UINT32_MAX;
    doc->group_base = g->base;
    return g;
}

static uint32_t new_node_slow(dec *d, pk_kind kind);

/* A new value of `kind`, made by the opcode at d->op_off; 0 on failure (d->err says why).
 * Values are made by the million: the common case, with room in the array and in the last
 * offset group, stays inline, and calls nothing (so saves no registers). */
static inline uint32_t new_node(dec *d, pk_kind kind)
{
    pk_doc *doc = d->doc;
    uint64_t i = doc->nnodes, off = d->op_off;
    /* an off below group_base wraps to more */
    if (i >= doc->nodes_end || off - doc->group_base > UINT16_MAX)
        return new_node_slow(d, kind);
    doc->nnodes = i + 1;
    pk_node *n = &doc->nodes[i];
    memset(n, 0, sizeof *n); /* a container starts with no items */
    n->kind = (uint8_t)kind;
    n->off_delta = (uint16_t)(off - doc->group_base);
    return (uint32_t)i;
}

/* new_node once node_room has made room for it, which new_node then finds. */
static __attribute__((noinline)) uint32_t new_node_slow(dec *d, pk_kind kind)
{
    return node_room(d) ? new_node(d, kind) : 0;
}

uint32_t pk_lift_new_node(pk_lift_ctx *c, pk_kind kind)
{
    return new_node((dec *)c->dec, kind);
}

static __attribute__((noinline)) int push_slow(dec *d, uint32_t node)
{
    if (!node)
        return -1;
    if (!pk_grow((void **)&d->stack, &d->cap_stack, d->sp + 1, sizeof(uint32_t)))
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
    d->stack[d->sp++] = node;
    return 0;
}

/* Push a value just made, or fail if making it failed (node 0). */
HOT int push(dec *d, uint32_t node)
{
    if (node && d->sp < d->cap_stack) {
        d->stack[d->sp++] = node;
        return 0;
    }
    return push_slow(d, node);
}

HOT uint64_t fence(const dec *d)
{
    return d->nmarks ? d->marks[d->nmarks - 1] : 0;
}

static int underflow(dec *d)
{
    if (d->nmarks)
        return fail(d, PK_E_MARK_MISPLACED, "unexpected MARK found");
    return fail(d, PK_E_STACK_UNDERFLOW, "stack underflow");
}

static uint32_t pop(dec *d)
{
    if (d->sp <= fence(d))
        return underflow(d), 0;
    return d->stack[--d->sp];
}

HOT uint32_t top(dec *d)
{
    if (d->sp <= fence(d))
        return underflow(d), 0;
    return d->stack[d->sp - 1];
}

/* Pop the newest mark and return the stack height it recorded. */
static int64_t marker(dec *d)
{
    if (!d->nmarks)
        return fail(d, PK_E_MARK_MISSING, "could not find MARK"), -1;
    return (int64_t)d->marks[--d->nmarks];
}

/* Are stack[from..sp) the first items of dict container, two pairs or more? Such items are a
 * shaped run (pk_chain in pk_i.h) if they can be (shape_of), else the next shape. */
static bool first_pairs(const dec *d, uint32_t container, uint64_t from)
{
    const pk_node *c = &d->doc->nodes[container];
    return c->kind == PK_K_DICT && c->u.c.items == 0 && !(c->flags & PK_NF_CHAINED) &&
           d->sp - from >= 4 && (d->sp - from) % 2 == 0;
}

/* The plain run that stack[from..sp), as container's first pairs, can take the shape of: the
 * last one made, if its keys are theirs (the same values, in the same order); else 0. */
static inline uint32_t shape_of(const dec *d, uint32_t container, uint64_t from)
{
    const uint32_t *it = d->doc->items;
    uint64_t n = d->sp - from;
    if (!d->shape || it[d->shape] != n || !first_pairs(d, container, from))
        return 0;
    for (uint64_t i = 0; i < n; i += 2)
        if (it[d->shape + 1 + i] != d->stack[from + i])
            return 0;
    return d->shape;
}

/* stack[from..sp) go into container's items, as a shaped run when shape (shape_of) is not 0.
 * A dict's first pairs that take no shape become the next shape if keys_checked (hashable, and
 * pooled), so that a dict taking the shape need not check them again. */
static inline int add_items(dec *d, uint32_t container, uint64_t from, uint32_t shape,
                            bool keys_checked)
{
    if (from == d->sp)
        return 0; /* nothing to add, and maybe no stack yet */
    pk_doc *doc = d->doc;
    bool next_shape = keys_checked && !shape && first_pairs(d, container, from);
    const uint32_t *items = d->stack + from;
    if ((shape ? pk_items_add_shaped(doc, container, items, d->sp - from, shape)
               : pk_items_add_run(doc, container, items, d->sp - from)) < 0)
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
    uint32_t run = doc->nodes[container].u.c.items;
    if (next_shape && pk_run_is_plain(doc, run))
        d->shape = run; /* its one run (a sequence has no keys to share) */
    return 0;
}

/* A new container holding stack[from..sp), which are popped. The caller has checked a dict's
 * keys (OP_DICT): hashable, and pooled. */
static int collect(dec *d, pk_kind kind, uint64_t from)
{
    uint32_t c = new_node(d, kind);
    if (!c || add_items(d, c, from, shape_of(d, c, from), true) < 0)
        return -1;
    d->sp = from;
    if (kind == PK_K_TUPLE || kind == PK_K_FROZENSET)
        d->doc->nodes[c].flags |= PK_NF_FROZEN;
    return push(d, c);
}

static int collect_n(dec *d, pk_kind kind, uint64_t n)
{
    if (d->sp - fence(d) < n)
        return underflow(d);
    return collect(d, kind, d->sp - n);
}

static uint32_t new_span(dec *d, pk_kind kind, const uint8_t *p, uint64_t len)
{
    uint32_t n = new_node(d, kind);
    if (!n)
        return 0;
    /* The bytes stay in the stream and are read from the file when shown (pk_span_read); a
     * str that keys a dict goes to the pool when it does (pool_keys). */
    d->doc->nodes[n].flags |= PK_NF_SRC;
    if (!pk_node_set_span(d->doc, n, (pk_span){(uint64_t)(p - d->src), len}))
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), 0;
    return n;
}

static uint32_t new_pooled(dec *d, pk_kind kind, const pk_buf *b)
{
    uint32_t n = new_node(d, kind);
    if (!n)
        return 0;
    if (b->failed || !pk_node_set_text(d->doc, n, b->data, b->len))
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), 0;
    return n;
}

static uint32_t new_int(dec *d, int64_t v)
{
    uint32_t n = new_node(d, PK_K_INT);
    if (n)
        d->doc->nodes[n].u.i = v;
    return n;
}

/* The len (at most 8) bytes at p, which are in the stream, as a little-endian number. Where
 * the stream has eight bytes from p, they are read as one word and those past len masked off
 * (a wide dict's ints are LONG1s of 5 or 6 bytes). */
HOT uint64_t le_bytes(const dec *d, const uint8_t *p, uint64_t len)
{
    if (len == 0)
        return 0;
    if (d->end - (uint64_t)(p - d->src) < 8)
        return pk_le(p, (int)len);
    return pk_le64(p) & (~(uint64_t)0 >> (64 - 8 * len));
}

/* The len (at most 8) little-endian two's complement bytes at p, in the stream, as a number. */
HOT int64_t small_long(const dec *d, const uint8_t *p, uint64_t len)
{
    uint64_t v = le_bytes(d, p, len);
    if (len > 0 && len < 8 && (p[len - 1] & 0x80))
        v |= ~(uint64_t)0 << (8 * len); /* sign-extend */
    return (int64_t)v;
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
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), 0;
    }
    uint32_t n = new_pooled(d, PK_K_BIGINT, &b);
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
            return fail(d, PK_E_BAD_ARGUMENT, "invalid literal for int()"), 0;
        }
        any = true;
        if (leading && s[i] == '0')
            continue;
        leading = false;
        pk_buf_put(&b, &s[i], 1);
    }
    if (!any) {
        pk_buf_free(&b);
        return fail(d, PK_E_BAD_ARGUMENT, "invalid literal for int()"), 0;
    }
    if (leading) { /* all zeros */
        pk_buf_free(&b);
        return new_int(d, 0);
    }
    uint32_t n;
    size_t ndig = b.len - (neg ? 1 : 0);
    if (ndig <= 18) {
        n = new_int(d, strtoll(b.data, NULL, 10));
    } else {
        n = new_pooled(d, PK_K_BIGINT, &b);
    }
    pk_buf_free(&b);
    return n;
}

/* The INT opcode: "00"/"01" are False/True (protocol 0 bools), otherwise C's strtol with base
 * 0 (so "0x10" and "010" mean what they mean to CPython), falling back to a decimal big int. */
static uint32_t op_int(dec *d, const uint8_t *s, uint64_t len)
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

/* The LONG opcode: decimal digits, optionally followed by 'L'. */
static uint32_t op_long(dec *d, const uint8_t *s, uint64_t len)
{
    if (len > 0 && s[len - 1] == 'L')
        len--;
    return new_decimal(d, s, len);
}

static uint32_t op_floatnl(dec *d, const uint8_t *s, uint64_t len)
{
    char buf[512];
    if (len == 0 || len >= sizeof buf || memchr(s, 'x', len) || memchr(s, 'X', len) ||
        s[0] == ' ' || s[0] == '\t')
        return fail(d, PK_E_BAD_ARGUMENT, "could not convert string to float"), 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (end == buf || *end != 0)
        return fail(d, PK_E_BAD_ARGUMENT, "could not convert string to float"), 0;
    if (errno == ERANGE && isinf(v))
        return fail(d, PK_E_BAD_ARGUMENT, "value too large to convert to float"), 0;
    uint32_t n = new_node(d, PK_K_FLOAT);
    if (n)
        d->doc->nodes[n].u.f = v;
    return n;
}

/* BINFLOAT's 8 bytes at p: big-endian, unlike every other argument. */
HOT uint64_t float8_bits(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | p[7];
}

static uint32_t op_float8(dec *d, const uint8_t *p)
{
    uint64_t bits = float8_bits(p);
    uint32_t n = new_node(d, PK_K_FLOAT);
    if (n)
        memcpy(&d->doc->nodes[n].u.f, &bits, sizeof bits);
    return n;
}

/* Length of the UTF-8 sequence at s (surrogates allowed, as 'surrogatepass' does), 0 if bad. */
static int utf8_seq(const uint8_t *s, uint64_t left)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || c > 0xf4 || (uint64_t)n > left)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && c == 0xe0 && s[1] < 0xa0)
        return 0; /* overlong */
    if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
        return 0; /* overlong, or past U+10FFFF */
    return n;
}

static bool valid_utf8(const uint8_t *s, uint64_t len)
{
    uint64_t i = 0;
    while (i < len) {
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ULL) == 0)) {
            i += 8; /* eight ASCII bytes at once: most text is ASCII */
            /* fewer than eight left: if the last eight are ASCII, so is all that is left */
            if (len - i < 8 && i < len &&
                (memcpy(&w, s + len - 8, 8), (w & 0x8080808080808080ULL) == 0))
                return true;
            continue;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int n = utf8_seq(s + i, len - i);
        if (!n)
            return false;
        i += (uint64_t)n;
    }
    return true;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* UNICODE's argument is 'raw-unicode-escape': bytes are Latin-1 code points, except
 * \uXXXX and \UXXXXXXXX. */
static uint32_t op_unicodenl(dec *d, const uint8_t *s, uint64_t len)
{
    pk_buf b = {0};
    b.max = SIZE_MAX;
    for (uint64_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
            /* an odd run of backslashes escapes; raw-unicode-escape only looks at the one
             * before the u, as CPython does */
            int nd = s[i + 1] == 'u' ? 4 : 8;
            if (i + 2 + (uint64_t)nd > len) {
                pk_buf_free(&b);
                return fail(d, PK_E_BAD_ARGUMENT, "truncated \\uXXXX escape"), 0;
            }
            uint32_t cp = 0;
            for (int k = 0; k < nd; k++) {
                int h = hexval(s[i + 2 + (uint64_t)k]);
                if (h < 0) {
                    pk_buf_free(&b);
                    return fail(d, PK_E_BAD_ARGUMENT, "truncated \\uXXXX escape"), 0;
                }
                cp = cp << 4 | (uint32_t)h;
            }
            if (cp > 0x10ffff) {
                pk_buf_free(&b);
                return fail(d, PK_E_BAD_ARGUMENT, "\\Uxxxxxxxx out of range"), 0;
            }
            pk_buf_put_utf8(&b, cp);
            i += 1 + (uint64_t)nd;
        } else {
            pk_buf_put_utf8(&b, s[i]);
        }
    }
    uint32_t n = new_pooled(d, PK_K_STR, &b);
    pk_buf_free(&b);
    return n;
}

/* STRING's argument: a quoted Python 2 string literal, decoded as codecs.escape_decode does. */
static uint32_t op_stringnl(dec *d, const uint8_t *s, uint64_t len)
{
    if (len < 2 || s[0] != s[len - 1] || (s[0] != '\'' && s[0] != '"'))
        return fail(d, PK_E_BAD_ARGUMENT, "the STRING opcode argument must be quoted"), 0;
    s++;
    len -= 2;
    pk_buf b = {0};
    b.max = SIZE_MAX;
    for (uint64_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c != '\\') {
            pk_buf_put(&b, &c, 1);
            continue;
        }
        if (++i >= len) {
            pk_buf_free(&b);
            return fail(d, PK_E_BAD_ARGUMENT, "trailing \\ in string"), 0;
        }
        c = s[i];
        uint8_t out;
        switch (c) {
        case '\n': continue;
        case '\\': case '\'': case '"': out = c; break;
        case 'a': out = 7; break;
        case 'b': out = 8; break;
        case 't': out = 9; break;
        case 'n': out = 10; break;
        case 'v': out = 11; break;
        case 'f': out = 12; break;
        case 'r': out = 13; break;
        case 'x': {
            int h1 = i + 1 < len ? hexval(s[i + 1]) : -1;
            int h2 = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h1 < 0 || h2 < 0) {
                pk_buf_free(&b);
                return fail(d, PK_E_BAD_ARGUMENT, "invalid \\x escape"), 0;
            }
            out = (uint8_t)(h1 << 4 | h2);
            i += 2;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned v = c - '0';
                for (int k = 0; k < 2 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                    v = v * 8 + (unsigned)(s[++i] - '0');
                out = (uint8_t)v;
            } else {
                pk_buf_put(&b, "\\", 1); /* unknown escapes stay as they are */
                out = c;
            }
        }
        pk_buf_put(&b, &out, 1);
    }
    /* Python 3 loads Python 2 str as str when it is ASCII (the default encoding); other bytes
     * are shown as bytes, which is what they were. */
    bool ascii = true;
    for (size_t i = 0; i < b.len; i++)
        ascii &= (uint8_t)b.data[i] < 0x80;
    uint32_t n = new_pooled(d, ascii ? PK_K_STR : PK_K_BYTES, &b);
    pk_buf_free(&b);
    return n;
}

static uint32_t py2_string(dec *d, const uint8_t *p, uint64_t len)
{
    bool ascii = true;
    for (uint64_t i = 0; i < len && ascii; i++)
        ascii = p[i] < 0x80;
    return new_span(d, ascii ? PK_K_STR : PK_K_BYTES, p, len);
}

/* Is a short str (up to 32 bytes: field names and values) at p, in the stream, all ASCII? Read
 * eight bytes at a time, the last eight overlapping; under eight as one word where the stream
 * has eight bytes from p (le_bytes). false means "not known": valid_utf8 then reads it. */
HOT bool short_ascii(const dec *d, const uint8_t *p, uint64_t len)
{
    const uint64_t tops = 0x8080808080808080ULL;
    if (len < 8)
        return (le_bytes(d, p, len) & tops) == 0;
    if (len > 32)
        return false;
    uint64_t seen = pk_le64(p + len - 8);
    for (uint64_t i = 0; i + 8 < len; i += 8)
        seen |= pk_le64(p + i);
    return (seen & tops) == 0;
}

static uint32_t new_str_utf8(dec *d, const uint8_t *p, uint64_t len)
{
    if (!short_ascii(d, p, len) && !valid_utf8(p, len))
        return fail(d, PK_E_BAD_ARGUMENT, "invalid UTF-8 in string"), 0;
    return new_span(d, PK_K_STR, p, len);
}

/* GLOBAL and INST name a callable by two lines, module and name: "module.name" in the pool.
 * Below protocol 3, Python 2 names are spelled as Python 3 would import them (lift_names.c). */
static uint32_t new_global(dec *d, const uint8_t *mod, uint64_t mlen, const uint8_t *name,
                           uint64_t nlen)
{
    if (!valid_utf8(mod, mlen) || !valid_utf8(name, nlen))
        return fail(d, PK_E_BAD_ARGUMENT, "invalid UTF-8 in module or name"), 0;
    const char *nmod, *nname;
    if (d->proto < 3 && pk_compat_name(mod, mlen, name, nlen, &nmod, &nname)) {
        mod = (const uint8_t *)nmod;
        mlen = strlen(nmod);
        if (nname) {
            name = (const uint8_t *)nname;
            nlen = strlen(nname);
        }
    }
    pk_buf b = {0};
    b.max = SIZE_MAX;
    pk_buf_put(&b, mod, mlen);
    pk_buf_put(&b, ".", 1);
    pk_buf_put(&b, name, nlen);
    uint32_t n = new_pooled(d, PK_K_GLOBAL, &b);
    pk_buf_free(&b);
    return n;
}

static int read_namepair(dec *d, uint32_t *out)
{
    uint64_t mlen, nlen;
    const uint8_t *mod = take_line(d, &mlen);
    if (!mod)
        return -1;
    const uint8_t *name = take_line(d, &nlen);
    if (!name)
        return -1;
    *out = new_global(d, mod, mlen, name, nlen);
    return *out ? 0 : -1;
}

/* ---- the memo ---- */

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static __attribute__((noinline)) int memo_put_slow(dec *d, uint64_t idx, uint32_t node)
{
    if (idx >= d->doc->lim.max_memo)
        return failf(d, PK_E_MEMO_LIMIT, "memo index %llu past the limit of %llu", idx,
                     (unsigned long long)d->doc->lim.max_memo);
    memo *m = &d->memo;
    uint64_t h;
    if (idx >= m->ndense && idx <= 2 * m->count + MEMO_DENSE_SLACK) {
        uint64_t n = idx + 1 > m->ndense + MEMO_ZERO_STEP ? idx + 1 : m->ndense + MEMO_ZERO_STEP;
        if (n > m->cap_dense) {
            uint64_t cap = m->cap_dense ? m->cap_dense : MEMO_DENSE_SLACK;
            while (cap < n)
                cap *= 2;
            uint32_t *nd = realloc(m->dense, cap * sizeof *nd);
            if (!nd)
                return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
            m->dense = nd;
            m->cap_dense = cap;
        }
        memset(m->dense + m->ndense, 0, (n - m->ndense) * sizeof *m->dense);
        m->ndense = n;
    }
    if (idx < m->ndense) {
        if (!m->dense[idx] && m->nhashed) {
            /* put in the table before the array reached it: it stays there */
            for (h = hash64(idx + 1) & (m->cap - 1); m->keys[h]; h = (h + 1) & (m->cap - 1))
                if (m->keys[h] == idx + 1) {
                    m->vals[h] = node;
                    return 0;
                }
        }
        if (!m->dense[idx])
            m->count++;
        m->dense[idx] = node;
        return 0;
    }
    if ((m->nhashed + 1) * 2 > m->cap) {
        uint64_t ncap = m->cap ? m->cap * 2 : 64;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        uint32_t *nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
        }
        for (uint64_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            uint64_t j = hash64(m->keys[i]) & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    h = hash64(idx + 1) & (m->cap - 1);
    while (m->keys[h] && m->keys[h] != idx + 1)
        h = (h + 1) & (m->cap - 1);
    if (!m->keys[h]) {
        m->keys[h] = idx + 1;
        m->count++;
        m->nhashed++;
    }
    m->vals[h] = node;
    return 0;
}

/* Memoize node at idx. Inline for the common case: a slot of the array, and no earlier entry
 * of the table to update (memo_put_slow). */
static inline int memo_put(dec *d, uint64_t idx, uint32_t node)
{
    memo *m = &d->memo;
    if (idx < m->ndense && idx < d->doc->lim.max_memo && (m->dense[idx] || !m->nhashed)) {
        m->count += !m->dense[idx];
        m->dense[idx] = node;
        return 0;
    }
    return memo_put_slow(d, idx, node);
}

static __attribute__((noinline)) uint32_t memo_get_slow(dec *d, uint64_t idx)
{
    memo *m = &d->memo;
    if (m->cap && idx < UINT64_MAX) {
        uint64_t h = hash64(idx + 1) & (m->cap - 1);
        while (m->keys[h]) {
            if (m->keys[h] == idx + 1)
                return m->vals[h];
            h = (h + 1) & (m->cap - 1);
        }
    }
    return failf(d, PK_E_MEMO_MISSING, "memo value not found at index %llu", idx, 0), 0;
}

/* The value memoized at idx, or 0 (the error set). Inline for a slot of the array. */
static inline uint32_t memo_get(dec *d, uint64_t idx)
{
    const memo *m = &d->memo;
    if (idx < m->ndense && m->dense[idx])
        return m->dense[idx];
    return memo_get_slow(d, idx);
}

static void memo_clear(memo *m)
{
    free(m->keys);
    free(m->vals);
    free(m->dense);
    memset(m, 0, sizeof *m);
}

/* A decimal memo index (GET, PUT). */
static int read_index_line(dec *d, uint64_t *idx)
{
    uint64_t len;
    const uint8_t *s = take_line(d, &len);
    if (!s)
        return -1;
    uint64_t v = 0, i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < len && s[i] == '+')
        i++;
    uint64_t start = i;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return fail(d, PK_E_MEMO_LIMIT, "memo index past the limit");
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == start)
        return fail(d, PK_E_BAD_ARGUMENT, "invalid memo index");
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i != len)
        return fail(d, PK_E_BAD_ARGUMENT, "invalid memo index");
    *idx = v;
    return 0;
}

/* ---- calls ---- */

static uint32_t new_call(dec *d, uint32_t node)
{
    pk_doc *doc = d->doc;
    if (doc->ncalls == 0)
        doc->ncalls = 1; /* call 0 means "none" */
    if (doc->ncalls >= UINT32_MAX ||
        !pk_doc_grow(doc, (void **)&doc->calls, &doc->cap_calls, doc->ncalls + 1, sizeof(pk_call)))
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), 0;
    uint32_t c = (uint32_t)doc->ncalls++;
    memset(&doc->calls[c], 0, sizeof(pk_call));
    if (!pk_node_set_call(doc, node, c))
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), 0;
    return c;
}

/* A call record for node: callable(*args, **kwargs), made by how. */
static uint32_t record_call(dec *d, uint32_t node, pk_how how, uint32_t callable, uint32_t args,
                            uint32_t kwargs)
{
    uint32_t c = new_call(d, node);
    if (c) {
        pk_call *call = &d->doc->calls[c];
        call->callable = callable;
        call->args = args;
        call->kwargs = kwargs;
        call->how = (uint8_t)how;
    }
    return c;
}

uint32_t pk_lift_new_call(pk_lift_ctx *c, uint32_t node, pk_how how, uint32_t callable,
                          uint32_t args, uint32_t kwargs)
{
    return record_call((dec *)c->dec, node, how, callable, args, kwargs);
}

static int lift_fail(pk_lift_ctx *c, pk_code code, const char *what)
{
    return fail((dec *)c->dec, code, what);
}

/* REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ: a lifted value, or an opaque object. */
static int make_call(dec *d, pk_how how, uint32_t callable, uint32_t args, uint32_t kwargs)
{
    pk_lift_ctx lc = {.doc = d->doc, .dec = d, .offset = d->op_off, .fail = lift_fail};
    uint32_t lifted = 0;
    if (d->hooks->call && d->hooks->call(&lc, how, callable, args, kwargs, &lifted) < 0)
        return -1;
    if (lifted)
        return push(d, lifted);
    uint32_t n = new_node(d, PK_K_OBJECT);
    if (!n)
        return -1;
    if (!record_call(d, n, how, callable, args, kwargs))
        return -1;
    return push(d, n);
}

/* The call record of a value, made on first use (BUILD on a lifted OrderedDict, say). */
static pk_call *call_of(dec *d, uint32_t node)
{
    uint32_t c = pk_node_call(d->doc, &d->doc->nodes[node]);
    if (!c && !(c = new_call(d, node)))
        return NULL;
    return &d->doc->calls[c];
}

/* Would CPython's dict or set refuse this value as a key? list, dict, set and bytearray are
 * unhashable, and so is a tuple or frozenset holding one. Objects are not judged: their hash
 * would be a call. Tuples and frozensets are built from values that existed before them, so
 * they hold no cycles; the verdict is cached on them since they never change. */
static bool hashable(dec *d, uint32_t node, const char **type)
{
    pk_doc *doc = d->doc;
    const pk_node *n = &doc->nodes[node];
    if (n->kind == PK_K_LIST || n->kind == PK_K_DICT || n->kind == PK_K_SET ||
        n->kind == PK_K_BYTEARRAY) {
        *type = pk_value_type(doc, node);
        return false;
    }
    if ((n->kind != PK_K_TUPLE && n->kind != PK_K_FROZENSET) || (n->flags & PK_NF_HASHABLE))
        return true;
    /* an explicit stack: a key may be a tuple nested a million deep */
    uint32_t *todo = NULL;
    uint64_t len = 0, cap = 0;
    bool ok = true;
    if (!pk_grow((void **)&todo, &cap, 1, sizeof *todo))
        return true; /* out of memory is reported by the next allocation */
    todo[len++] = node;
    while (ok && len > 0) {
        uint32_t t = todo[--len];
        pk_cursor cur = pk_items_of(doc, &doc->nodes[t]);
        uint32_t item;
        while (ok && pk_item_next(doc, &cur, &item)) {
            const pk_node *x = &doc->nodes[item];
            if (x->kind == PK_K_LIST || x->kind == PK_K_DICT || x->kind == PK_K_SET ||
                x->kind == PK_K_BYTEARRAY) {
                *type = pk_value_type(doc, item);
                ok = false;
            } else if ((x->kind == PK_K_TUPLE || x->kind == PK_K_FROZENSET) &&
                       !(x->flags & PK_NF_HASHABLE)) {
                if (!pk_grow((void **)&todo, &cap, len + 1, sizeof *todo))
                    break;
                todo[len++] = item;
                /* marked now, so that a tuple shared many times below is walked once (a
                 * chain holding its predecessor twice has 2^depth paths); if it turns out
                 * unhashable, the whole file is refused and the mark never counts */
                doc->nodes[item].flags |= PK_NF_HASHABLE;
            }
        }
    }
    free(todo);
    if (ok)
        doc->nodes[node].flags |= PK_NF_HASHABLE;
    return ok;
}

bool pk_lift_hashable(pk_lift_ctx *c, uint32_t node)
{
    const char *type;
    return hashable((dec *)c->dec, node, &type);
}

/* Check the keys (every other item from `from`, or every item) of stack[from..sp). */
static int check_hashable(dec *d, uint64_t from, uint64_t step)
{
    for (uint64_t i = from; i < d->sp; i += step) {
        const char *type = "?";
        pk_kind k = (pk_kind)d->doc->nodes[d->stack[i]].kind;
        if (k != PK_K_BYTEARRAY && !PK_K_IS_CONTAINER(k))
            continue; /* a str, an int...: hashable, the common case */
        if (!hashable(d, d->stack[i], &type)) {
            char what[64];
            snprintf(what, sizeof what, "unhashable type: '%s'", type);
            return fail(d, PK_E_BAD_TYPE, what);
        }
    }
    return 0;
}

/* The list (or, for set items, the dict) where an opaque object records what is added to it,
 * made on first use. 0 on failure. */
static uint32_t object_items(dec *d, uint32_t obj, bool dict)
{
    pk_call *call = call_of(d, obj);
    if (!call)
        return 0;
    uint32_t have = dict ? call->dictitems : call->items;
    if (have)
        return have;
    uint32_t n = new_node(d, dict ? PK_K_DICT : PK_K_LIST);
    if (!n)
        return 0;
    call = &d->doc->calls[pk_node_call(d->doc, &d->doc->nodes[obj])]; /* as new_node left it */
    if (dict)
        call->dictitems = n;
    else
        call->items = n;
    return n;
}

/* Check the keys of stack[from..sp) (every other item) as names, while their bytes are at
 * hand: pk_key_is_name copies those that could be names into the pool. */
static int pool_keys(dec *d, uint64_t from)
{
    for (uint64_t i = from; i < d->sp; i += 2)
        if (pk_key_is_name(d->doc, d->stack[i]) < 0)
            return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
    return 0;
}

/* APPEND(S), SETITEM(S) and ADDITEMS: stack[at..sp) go into stack[at-1]. A value of `kind`
 * takes them; an opaque object records them; anything else has no method CPython could call
 * for it (`refusal`). Keys are checked for hashability: every item (key_step 1), every other
 * one (2), or none (0); a dict's, or an object's dict items', go to the pool (pool_keys). */
static int add_to(dec *d, uint64_t at, pk_kind kind, int key_step, const char *refusal)
{
    if (at == 0 || at > d->sp)
        return underflow(d);
    uint32_t target = d->stack[at - 1];
    uint32_t into = target;
    pk_kind tk = (pk_kind)d->doc->nodes[target].kind;
    bool object = tk == PK_K_OBJECT;
    if (object) {
        if (!(into = object_items(d, target, kind == PK_K_DICT)))
            return -1;
    } else if (tk != kind) {
        return fail(d, PK_E_BAD_TYPE, refusal);
    }
    /* a shape's keys were checked when it was made; an object's dict items (whose hashing its
     * __setitem__ would judge) are not checked hashable, so they never become one */
    uint32_t shape = shape_of(d, into, at);
    if ((key_step && !object && !shape && check_hashable(d, at, (uint64_t)key_step) < 0) ||
        (kind == PK_K_DICT && !shape && pool_keys(d, at) < 0) ||
        add_items(d, into, at, shape, !object) < 0)
        return -1;
    d->sp = at;
    return 0;
}

static int do_append(dec *d, uint64_t at)
{
    return add_to(d, at, PK_K_LIST, 0, "APPEND to a value that is not a list or object");
}

static int do_setitems(dec *d, uint64_t at)
{
    if (at > 0 && at <= d->sp && (d->sp - at) % 2)
        return fail(d, PK_E_ODD_SETITEMS, "odd number of items for SETITEMS");
    return add_to(d, at, PK_K_DICT, 2, "SETITEM on a value that is not a dict or object");
}

static int do_additems(dec *d, uint64_t at)
{
    return add_to(d, at, PK_K_SET, 1, "ADDITEMS on a value that is not a set or object");
}

static uint32_t new_desc(dec *d, uint16_t tname, uint32_t arg, int64_t code)
{
    uint32_t n = new_node(d, PK_K_DESC);
    if (!n)
        return 0;
    if (!pk_node_set_tname(d->doc, n, tname))
        return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), 0;
    d->doc->nodes[n].u.i = code;
    if (arg) {
        uint32_t c = new_call(d, n);
        if (!c)
            return 0;
        d->doc->calls[c].args = arg;
    }
    return n;
}

/* ---- the machine ---- */

static int run(dec *d, uint32_t *out);

/* A persistent id naming a torch storage in the archive becomes that storage (array.c). */
static int persid(dec *d, uint32_t node)
{
    pk_lift_ctx lc = {.doc = d->doc, .dec = d, .offset = d->op_off, .fail = lift_fail};
    return d->hooks->persid ? d->hooks->persid(&lc, node) : 0;
}

/* After BUILD on node: numpy dtypes and arrays take their value here (array.c). And joblib
 * writes each array's bytes right after the BUILD of its NumpyArrayWrapper, outside the opcode
 * stream and after the frame, which it commits first: pk_joblib_build() says how many bytes
 * to step over, or that a whole pickle (an object array's) follows, whose value then takes the
 * wrapper's place on the stack, as joblib's unpickler does. */
static int after_build(dec *d, uint32_t node)
{
    pk_lift_ctx lc = {.doc = d->doc, .dec = d, .offset = d->op_off, .fail = lift_fail};
    pk_kind was = (pk_kind)d->doc->nodes[node].kind;
    if (d->hooks->build && d->hooks->build(&lc, node) < 0)
        return -1;
    if (d->doc->nodes[node].kind != was)
        d->shape = 0; /* an object array became a list, which may key the shape */
    if (d->nested || !d->hooks->joblib_build)
        return 0;
    uint64_t used = 0;
    bool nested = false;
    int r = d->hooks->joblib_build(&lc, node, d->src + d->pos, d->end - d->pos, d->pos, &used, &nested);
    if (r <= 0)
        return r;
    if (d->frame_end && d->pos != d->frame_end)
        return fail(d, PK_E_FRAME, "joblib array data inside a frame");
    set_frame(d, 0);
    if (!nested) {
        d->pos += used; /* checked against the bytes left by pk_joblib_build */
        return 0;
    }
    dec sub = {.doc = d->doc, .hooks = d->hooks, .err = d->err, .src = d->src, .pos = d->pos, .end = d->end,
               .nested = true};
    set_limits(&sub);
    uint32_t value = 0;
    r = run(&sub, &value);
    free(sub.stack);
    free(sub.marks);
    memo_clear(&sub.memo);
    if (r < 0)
        return -1;
    d->pos = sub.pos;
    d->stack[d->sp - 1] = value;
    return 0;
}

static void chores(dec *d)
{
    pk_prefault_hint(d->doc->prefault);
    if (d->pos >= d->release_at) {
        if (d->src == d->doc->src)
            pk_source_release(d->doc, d->pos);
        d->release_at = d->pos + RELEASE_STEP;
    }
    d->chores_at = d->pos + CHORE_STEP;
    set_limits(d);
}

/* The byte of the next opcode once pos has reached op_limit: chores are done if they are due,
 * and the stream must not end here. NULL (the error set) if it does. */
static __attribute__((noinline)) const uint8_t *take_op_slow(dec *d)
{
    if (d->pos >= d->chores_at)
        chores(d);
    if (d->pos == d->end)
        return fail(d, PK_E_NO_STOP, "pickle ends without STOP"), NULL;
    return take(d, 1);
}

/* ---- the common opcodes' fast path ---- */

/* The opcodes fast_ops decodes, in their common case: those of records and of wide dicts. */
#define FAST_OPS(X)                                                                                \
    X(BINGET) X(MEMOIZE) X(BINPUT) X(MARK) X(EMPTY_DICT) X(EMPTY_LIST) X(BININT) X(BININT1)      \
    X(BININT2) X(LONG1) X(BINFLOAT) X(SHORT_BINUNICODE) X(BINUNICODE)

#define FAST_OP_FLAG(name) [OP_##name] = true,
static const bool fast_op[256] = {FAST_OPS(FAST_OP_FLAG)};
#undef FAST_OP_FLAG

/* What fast_ops keeps in registers while it decodes: run() reloads all of it from d and doc at
 * every opcode, since its handlers' calls may change any of it. */
typedef struct fast {
    const uint8_t *src, *p, *stop; /* the stream, the next opcode, and 9 bytes before op_limit */
    uint32_t *top, *stack_end;     /* the stack's next slot, and its end */
    pk_node *nodes;
    uint64_t nnodes, nodes_end;    /* as new_node has them... */
    const uint8_t *group_at;       /* ...and the stream at group_base */
} fast;

/* A new value of kind k, made by the opcode at f->p and pushed; NULL, with nothing changed,
 * when it would need room (new_node_slow, push_slow). */
HOT pk_node *fast_push_new(fast *f, pk_kind k)
{
    uint64_t delta = (uint64_t)(f->p - f->group_at);
    if (f->nnodes >= f->nodes_end || delta > UINT16_MAX || f->top == f->stack_end)
        return NULL;
    pk_node *n = &f->nodes[f->nnodes];
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)k;
    n->off_delta = (uint16_t)delta;
    *f->top++ = (uint32_t)f->nnodes++;
    return n;
}

/* A str of len bytes after the opcode and its length (head bytes), as new_str_utf8 and
 * new_span make it when it is short and ASCII, and pushed; false, with nothing changed, when
 * it is not, or does not lie wholly before op_limit. */
HOT bool fast_ascii_str(fast *f, const dec *d, uint64_t head, uint64_t len)
{
    pk_node *n;
    if (len > (uint64_t)(f->stop - f->p) + 9 - head || !short_ascii(d, f->p + head, len) ||
        !(n = fast_push_new(f, PK_K_STR)))
        return false;
    n->flags = PK_NF_SRC;
    n->u.span = len << (64 - PK_SPAN_LEN_BITS) | (uint64_t)(f->p + head - f->src);
    f->p += head + len;
    return true;
}

/* Decode the opcodes that make up most of a stream of records or of a wide dict, for as long
 * as each is in its common case: its argument lies wholly before op_limit (no frame ends and
 * no chores fall due inside it), no array must grow, and no check can fail. At the first
 * opcode that is not, return before it, having changed nothing of it: run()'s own handler
 * then decodes it from the same byte. Each case does what that handler does. */
static __attribute__((noinline)) void fast_ops(dec *d)
{
    pk_doc *doc = d->doc;
    if (!d->stack)
        return; /* the first push makes it */
    /* an opcode and up to 9 bytes of argument fit before op_limit while p < stop (pos may
     * have passed op_limit: the chores are due) */
    uint64_t stop = d->op_limit > d->pos + 9 ? d->op_limit - 9 : d->pos;
    fast f = {d->src, d->src + d->pos, d->src + stop, d->stack + d->sp, d->stack + d->cap_stack,
              doc->nodes, doc->nnodes, doc->nodes_end, d->src + doc->group_base};
    uint32_t *dense = d->memo.dense;
    uint64_t memo_count = d->memo.count;
    /* MEMOIZE and BINPUT put an index below this in the array (memo_put's common case) */
    uint64_t memo_end = d->memo.nhashed ? 0
                        : d->memo.ndense < doc->lim.max_memo ? d->memo.ndense
                                                             : doc->lim.max_memo;
    pk_node *n;
    /* Labels as values (GNU C, which GCC and Clang speak): each opcode jumps to the next one's
     * code through a table of all 256 bytes, where a switch would check the range first. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Woverride-init"
#define FAST_OP_LABEL(name) [OP_##name] = &&fast_##name,
    static const void *const handler[256] = {[0 ... 255] = &&out, FAST_OPS(FAST_OP_LABEL)};
#undef FAST_OP_LABEL
#define NEXT()                                                                                     \
    do {                                                                                           \
        if (f.p >= f.stop)                                                                         \
            goto out;                                                                              \
        goto *handler[*f.p];                                                                       \
    } while (0)

    NEXT();
fast_BINGET: {
    uint32_t v = f.p[1] < d->memo.ndense ? dense[f.p[1]] : 0;
    if (!v || f.top == f.stack_end)
        goto out;
    *f.top++ = v;
    f.p += 2;
    NEXT();
}
fast_MEMOIZE:
    if ((uint64_t)(f.top - d->stack) <= fence(d) || memo_count >= memo_end || dense[memo_count])
        goto out;
    dense[memo_count++] = f.top[-1];
    f.p += 1;
    NEXT();
fast_BINPUT: { /* as memo_put does it, in the array */
    uint64_t idx = f.p[1];
    if ((uint64_t)(f.top - d->stack) <= fence(d) || idx >= memo_end)
        goto out;
    memo_count += !dense[idx];
    dense[idx] = f.top[-1];
    f.p += 2;
    NEXT();
}
fast_MARK:
    if (d->nmarks >= d->cap_marks)
        goto out;
    d->marks[d->nmarks++] = (uint64_t)(f.top - d->stack);
    f.p += 1;
    NEXT();
fast_EMPTY_DICT:
    if (!fast_push_new(&f, PK_K_DICT))
        goto out;
    f.p += 1;
    NEXT();
fast_EMPTY_LIST:
    if (!fast_push_new(&f, PK_K_LIST))
        goto out;
    f.p += 1;
    NEXT();
fast_BININT: /* signed; the 1- and 2-byte forms are not */
    if (!(n = fast_push_new(&f, PK_K_INT)))
        goto out;
    n->u.i = (int32_t)(uint32_t)pk_le(f.p + 1, 4);
    f.p += 5;
    NEXT();
fast_BININT1:
    if (!(n = fast_push_new(&f, PK_K_INT)))
        goto out;
    n->u.i = f.p[1];
    f.p += 2;
    NEXT();
fast_BININT2:
    if (!(n = fast_push_new(&f, PK_K_INT)))
        goto out;
    n->u.i = (int64_t)pk_le(f.p + 1, 2);
    f.p += 3;
    NEXT();
fast_LONG1: { /* of up to 8 bytes, as new_long makes it */
    uint64_t len = f.p[1];
    if (len > 8 || !(n = fast_push_new(&f, PK_K_INT)))
        goto out;
    n->u.i = small_long(d, f.p + 2, len);
    f.p += 2 + len;
    NEXT();
}
fast_BINFLOAT: {
    uint64_t bits = float8_bits(f.p + 1);
    if (!(n = fast_push_new(&f, PK_K_FLOAT)))
        goto out;
    memcpy(&n->u.f, &bits, sizeof bits);
    f.p += 9;
    NEXT();
}
fast_SHORT_BINUNICODE:
    if (!fast_ascii_str(&f, d, 2, f.p[1]))
        goto out;
    NEXT();
fast_BINUNICODE: /* its length in 4 bytes (protocols 1 to 3) */
    if (!fast_ascii_str(&f, d, 5, pk_le(f.p + 1, 4)))
        goto out;
    NEXT();
#undef NEXT
#pragma GCC diagnostic pop
out:
    d->pos = (uint64_t)(f.p - f.src);
    d->sp = (uint64_t)(f.top - d->stack);
    doc->nnodes = f.nnodes;
    d->memo.count = memo_count;
}

/* Decode one pickle starting at d->pos. Leaves its value in *out. */
static int run(dec *d, uint32_t *out)
{
    uint64_t buffers = 0;
    d->proto = 0; /* as a new Unpickler.load() starts */
    for (;;) {
        if (d->pos < d->op_limit && fast_op[d->src[d->pos]])
            fast_ops(d); /* this opcode and the next ones, as long as it can */
        d->op_off = d->pos;
        const uint8_t *p;
        if (d->pos < d->op_limit)
            p = d->src + d->pos++;
        else if (!(p = take_op_slow(d)))
            return -1;
        int op = *p;
        uint64_t len, idx;
        const uint8_t *s;
        uint32_t a, b, c;
        int64_t m;
        switch (op) {
        /* -- ints -- */
        case OP_INT:
            if (!(s = take_line(d, &len)) || push(d, op_int(d, s, len)) < 0)
                return -1;
            break;
        case OP_BININT:
            if (!(s = take(d, 4)) || push(d, new_int(d, (int32_t)(uint32_t)pk_le(s, 4))) < 0)
                return -1; /* the 4-byte form is signed; the 1- and 2-byte forms are not */
            break;
        case OP_BININT1:
            if (!(s = take(d, 1)) || push(d, new_int(d, s[0])) < 0)
                return -1;
            break;
        case OP_BININT2:
            if (!(s = take(d, 2)) || push(d, new_int(d, (int64_t)pk_le(s, 2))) < 0)
                return -1;
            break;
        case OP_LONG:
            if (!(s = take_line(d, &len)) || push(d, op_long(d, s, len)) < 0)
                return -1;
            break;
        case OP_LONG1:
            if (!(s = take(d, 1)) || !(p = take_len(d, s[0])) || push(d, new_long(d, p, s[0])) < 0)
                return -1;
            break;
        case OP_LONG4: {
            if (!(s = take(d, 4)))
                return -1;
            int32_t n = (int32_t)(uint32_t)pk_le(s, 4);
            if (n < 0)
                return fail(d, PK_E_BAD_ARGUMENT, "LONG pickle has negative byte count");
            if (!(p = take_len(d, (uint64_t)n)) || push(d, new_long(d, p, (uint64_t)n)) < 0)
                return -1;
            break;
        }
        /* -- strings and bytes -- */
        case OP_STRING:
            if (!(s = take_line(d, &len)) || push(d, op_stringnl(d, s, len)) < 0)
                return -1;
            break;
        case OP_BINSTRING: {
            if (!(s = take(d, 4)))
                return -1;
            int32_t n = (int32_t)(uint32_t)pk_le(s, 4);
            if (n < 0)
                return fail(d, PK_E_BAD_ARGUMENT, "BINSTRING pickle has negative byte count");
            if (!(p = take_len(d, (uint64_t)n)) || push(d, py2_string(d, p, (uint64_t)n)) < 0)
                return -1;
            break;
        }
        case OP_SHORT_BINSTRING:
            if (!(s = take(d, 1)) || !(p = take_len(d, s[0])) || push(d, py2_string(d, p, s[0])) < 0)
                return -1;
            break;
        case OP_BINBYTES:
        case OP_SHORT_BINBYTES:
        case OP_BINBYTES8:
        case OP_BYTEARRAY8: {
            int w = op == OP_SHORT_BINBYTES ? 1 : op == OP_BINBYTES ? 4 : 8;
            if (!(s = take(d, (uint64_t)w)))
                return -1;
            len = pk_le(s, w);
            if (!(p = take_len(d, len)) ||
                push(d, new_span(d, op == OP_BYTEARRAY8 ? PK_K_BYTEARRAY : PK_K_BYTES, p, len)) < 0)
                return -1;
            break;
        }
        case OP_UNICODE:
            if (!(s = take_line(d, &len)) || push(d, op_unicodenl(d, s, len)) < 0)
                return -1;
            break;
        case OP_SHORT_BINUNICODE:
        case OP_BINUNICODE:
        case OP_BINUNICODE8: {
            int w = op == OP_SHORT_BINUNICODE ? 1 : op == OP_BINUNICODE ? 4 : 8;
            if (!(s = take(d, (uint64_t)w)))
                return -1;
            len = pk_le(s, w);
            if (!(p = take_len(d, len)) || push(d, new_str_utf8(d, p, len)) < 0)
                return -1;
            break;
        }
        /* -- other scalars -- */
        case OP_NONE:
            if (push(d, new_node(d, PK_K_NONE)) < 0)
                return -1;
            break;
        case OP_NEWTRUE:
        case OP_NEWFALSE:
            if (!(a = new_node(d, PK_K_BOOL)))
                return -1;
            d->doc->nodes[a].u.i = op == OP_NEWTRUE;
            if (push(d, a) < 0)
                return -1;
            break;
        case OP_FLOAT:
            if (!(s = take_line(d, &len)) || push(d, op_floatnl(d, s, len)) < 0)
                return -1;
            break;
        case OP_BINFLOAT:
            if (!(s = take(d, 8)) || push(d, op_float8(d, s)) < 0)
                return -1;
            break;
        /* -- containers -- */
        case OP_EMPTY_LIST: /* a new value has no items */
        case OP_EMPTY_DICT:
        case OP_EMPTY_SET:
            if (push(d, new_node(d, op == OP_EMPTY_LIST   ? PK_K_LIST
                                    : op == OP_EMPTY_DICT ? PK_K_DICT
                                                          : PK_K_SET)) < 0)
                return -1;
            break;
        case OP_EMPTY_TUPLE:
            if (collect(d, PK_K_TUPLE, d->sp) < 0) /* frozen, as any tuple */
                return -1;
            break;
        case OP_LIST:
        case OP_TUPLE:
        case OP_FROZENSET:
            if ((m = marker(d)) < 0 ||
                (op == OP_FROZENSET && check_hashable(d, (uint64_t)m, 1) < 0) ||
                collect(d, op == OP_LIST ? PK_K_LIST : op == OP_TUPLE ? PK_K_TUPLE : PK_K_FROZENSET,
                        (uint64_t)m) < 0)
                return -1;
            break;
        case OP_DICT:
            if ((m = marker(d)) < 0)
                return -1;
            if ((d->sp - (uint64_t)m) % 2)
                return fail(d, PK_E_ODD_SETITEMS, "odd number of items for DICT");
            if (check_hashable(d, (uint64_t)m, 2) < 0 || pool_keys(d, (uint64_t)m) < 0 ||
                collect(d, PK_K_DICT, (uint64_t)m) < 0)
                return -1;
            break;
        case OP_TUPLE1:
        case OP_TUPLE2:
        case OP_TUPLE3:
            if (collect_n(d, PK_K_TUPLE, (uint64_t)(op - OP_TUPLE1 + 1)) < 0)
                return -1;
            break;
        case OP_APPEND:
            if (d->sp < fence(d) + 2)
                return underflow(d);
            if (do_append(d, d->sp - 1) < 0)
                return -1;
            break;
        case OP_APPENDS:
            if ((m = marker(d)) < 0 || do_append(d, (uint64_t)m) < 0)
                return -1;
            break;
        case OP_SETITEM:
            if (d->sp < fence(d) + 3)
                return underflow(d);
            if (do_setitems(d, d->sp - 2) < 0)
                return -1;
            break;
        case OP_SETITEMS:
            if ((m = marker(d)) < 0 || do_setitems(d, (uint64_t)m) < 0)
                return -1;
            break;
        case OP_ADDITEMS:
            if ((m = marker(d)) < 0 || do_additems(d, (uint64_t)m) < 0)
                return -1;
            break;
        /* -- stack -- */
        case OP_POP:
            if (d->nmarks && d->marks[d->nmarks - 1] == d->sp)
                d->nmarks--; /* POP of a MARK: CPython keeps marks apart and pops the mark */
            else if (!pop(d))
                return -1;
            break;
        case OP_DUP:
            if (!(a = top(d)) || push(d, a) < 0)
                return -1;
            break;
        case OP_MARK:
            if (!pk_grow((void **)&d->marks, &d->cap_marks, d->nmarks + 1, sizeof(uint64_t)))
                return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
            d->marks[d->nmarks++] = d->sp;
            break;
        case OP_POP_MARK:
            if ((m = marker(d)) < 0)
                return -1;
            d->sp = (uint64_t)m;
            break;
        /* -- memo -- */
        case OP_GET:
            if (read_index_line(d, &idx) < 0 || push(d, memo_get(d, idx)) < 0)
                return -1;
            break;
        case OP_BINGET:
        case OP_LONG_BINGET:
            if (!(s = take(d, op == OP_BINGET ? 1 : 4)) ||
                push(d, memo_get(d, pk_le(s, op == OP_BINGET ? 1 : 4))) < 0)
                return -1;
            break;
        case OP_PUT:
            if (read_index_line(d, &idx) < 0 || !(a = top(d)) || memo_put(d, idx, a) < 0)
                return -1;
            break;
        case OP_BINPUT:
        case OP_LONG_BINPUT:
            if (!(s = take(d, op == OP_BINPUT ? 1 : 4)) || !(a = top(d)) ||
                memo_put(d, pk_le(s, op == OP_BINPUT ? 1 : 4), a) < 0)
                return -1;
            break;
        case OP_MEMOIZE:
            if (!(a = top(d)) || memo_put(d, d->memo.count, a) < 0)
                return -1;
            break;
        /* -- names and calls: recorded, never resolved or run -- */
        case OP_GLOBAL:
            if (read_namepair(d, &a) < 0 || push(d, a) < 0)
                return -1;
            break;
        case OP_STACK_GLOBAL:
            if (!(b = pop(d)) || !(a = pop(d)))
                return -1;
            if (d->doc->nodes[a].kind != PK_K_STR || d->doc->nodes[b].kind != PK_K_STR)
                return fail(d, PK_E_BAD_TYPE, "STACK_GLOBAL requires str");
            {
                const pk_node *mn = &d->doc->nodes[a], *nn = &d->doc->nodes[b];
                const uint8_t *mp = pk_span_ptr(d->doc, mn), *np = pk_span_ptr(d->doc, nn);
                /* copy first: the pool may move while the new name is added */
                pk_buf tmp = {0};
                tmp.max = SIZE_MAX;
                pk_buf_put(&tmp, mp, pk_span_len(d->doc, mn));
                size_t split = tmp.len;
                pk_buf_put(&tmp, np, pk_span_len(d->doc, nn));
                if (tmp.failed) {
                    pk_buf_free(&tmp);
                    return fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
                }
                /* two empty names leave tmp.data NULL, and NULL + 0 is undefined */
                const uint8_t *t = tmp.data ? (const uint8_t *)tmp.data : (const uint8_t *)"";
                c = new_global(d, t, split, t + split, tmp.len - split);
                pk_buf_free(&tmp);
                if (push(d, c) < 0)
                    return -1;
            }
            break;
        case OP_REDUCE:
            if (!(b = pop(d)) || !(a = pop(d)) || make_call(d, PK_HOW_REDUCE, a, b, 0) < 0)
                return -1;
            break;
        case OP_NEWOBJ:
            if (!(b = pop(d)) || !(a = pop(d)))
                return -1;
            if (d->doc->nodes[b].kind != PK_K_TUPLE)
                return fail(d, PK_E_BAD_TYPE, "NEWOBJ expected an arg tuple");
            if (make_call(d, PK_HOW_NEWOBJ, a, b, 0) < 0)
                return -1;
            break;
        case OP_NEWOBJ_EX:
            if (!(c = pop(d)) || !(b = pop(d)) || !(a = pop(d)))
                return -1;
            if (d->doc->nodes[b].kind != PK_K_TUPLE)
                return fail(d, PK_E_BAD_TYPE, "NEWOBJ_EX args argument must be a tuple");
            if (d->doc->nodes[c].kind != PK_K_DICT)
                return fail(d, PK_E_BAD_TYPE, "NEWOBJ_EX kwargs argument must be a dict");
            if (make_call(d, PK_HOW_NEWOBJ_EX, a, b, c) < 0)
                return -1;
            break;
        case OP_INST:
            if (read_namepair(d, &a) < 0 || (m = marker(d)) < 0 ||
                collect(d, PK_K_TUPLE, (uint64_t)m) < 0 || !(b = pop(d)) ||
                make_call(d, PK_HOW_INST, a, b, 0) < 0)
                return -1;
            break;
        case OP_OBJ:
            if ((m = marker(d)) < 0)
                return -1;
            if (d->sp - (uint64_t)m < 1)
                return underflow(d);
            a = d->stack[m];
            /* the class sits right after the mark; the rest are its arguments */
            if (collect(d, PK_K_TUPLE, (uint64_t)m + 1) < 0 || !(b = pop(d)))
                return -1;
            d->sp--; /* the class */
            if (make_call(d, PK_HOW_OBJ, a, b, 0) < 0)
                return -1;
            break;
        case OP_BUILD: {
            if (!(b = pop(d)) || !(a = top(d)))
                return -1;
            pk_call *call = call_of(d, a);
            if (!call)
                return -1;
            call->state = b;
            if (after_build(d, a) < 0)
                return -1;
            break;
        }
        case OP_PERSID:
            if (!(s = take_line(d, &len)) || !valid_utf8(s, len))
                return d->err->code ? -1 : fail(d, PK_E_BAD_ARGUMENT, "persistent IDs must be ASCII");
            if (!(a = new_span(d, PK_K_STR, s, len)) || push(d, new_desc(d, PK_T_PERSID, a, 0)) < 0 ||
                persid(d, d->stack[d->sp - 1]) < 0)
                return -1;
            break;
        case OP_BINPERSID:
            if (!(a = pop(d)) || push(d, new_desc(d, PK_T_PERSID, a, 0)) < 0 ||
                persid(d, d->stack[d->sp - 1]) < 0)
                return -1;
            break;
        case OP_EXT1:
        case OP_EXT2:
        case OP_EXT4: {
            int w = op == OP_EXT1 ? 1 : op == OP_EXT2 ? 2 : 4;
            if (!(s = take(d, (uint64_t)w)))
                return -1;
            int64_t code = w == 4 ? (int32_t)(uint32_t)pk_le(s, 4) : (int64_t)pk_le(s, w);
            if (code <= 0)
                return fail(d, PK_E_BAD_ARGUMENT, "EXT specifies code <= 0");
            if (push(d, new_desc(d, PK_T_EXT, 0, code)) < 0)
                return -1;
            break;
        }
        case OP_NEXT_BUFFER:
            if (push(d, new_desc(d, PK_T_BUFFER, 0, (int64_t)buffers++)) < 0)
                return -1;
            break;
        case OP_READONLY_BUFFER:
            if (!top(d))
                return -1;
            break;
        /* -- framing and protocol -- */
        case OP_PROTO:
            if (!(s = take(d, 1)))
                return -1;
            if (s[0] > MAX_PROTOCOL)
                return failf(d, PK_E_PROTOCOL, "unsupported pickle protocol: %llu", s[0], 0);
            d->proto = s[0];
            break;
        case OP_FRAME:
            if (!(s = take(d, 8)))
                return -1;
            len = pk_le(s, 8);
            if (d->frame_end && d->pos != d->frame_end)
                return fail(d, PK_E_FRAME, "beginning of a new frame before end of current frame");
            if (len > d->end - d->pos)
                return failf(d, PK_E_LENGTH, "frame length %llu larger than the %llu bytes left",
                             len, d->end - d->pos);
            set_frame(d, len ? d->pos + len : 0);
            break;
        case OP_STOP:
            if (!(a = pop(d)))
                return -1;
            *out = a;
            return 0;
        default:
            return failf(d, PK_E_UNKNOWN_OPCODE, "invalid load key, '\\x%02llx'", (unsigned)op, 0);
        }
    }
}

int pk_decode(pk_doc *doc, const pk_hooks *hooks, pk_error *err)
{
    static const pk_hooks none;
    dec d = {.doc = doc, .hooks = hooks ? hooks : &none, .err = err, .src = doc->src,
             .end = doc->src_len};
    set_limits(&d);
    if (doc->src_len == 0) {
        pk_set_error(err, PK_E_EMPTY, 0, -1, "empty file");
        return -1;
    }
    if (doc->src_len >= PK_OFFSET_LIMIT) { /* beyond any file or max_decompressed */
        pk_set_error(err, PK_E_LENGTH, 0, -1, "a stream of 2^48 bytes or more");
        return -1;
    }
    /* the source is read ahead of pos (and given back behind it, by the thread if it can); and
     * the memo's array grows by the million on a big pickle of records, as the doc's do */
    if (pk_prefault_read(doc->prefault, &d.src, &d.pos, &d.end, doc->src_mapped))
        d.release_at = UINT64_MAX;
    pk_prefault_watch(doc->prefault, (void *const *)&d.memo.dense, &d.memo.ndense,
                      &d.memo.cap_dense, sizeof *d.memo.dense);
    int rc = 0;
    while (d.pos < d.end) {
        uint32_t value = 0;
        if (run(&d, &value) < 0) {
            rc = -1;
            break;
        }
        if (!pk_grow((void **)&doc->tops, &doc->cap_tops, doc->ntops + 1, sizeof(uint32_t))) {
            rc = fail(&d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
            break;
        }
        doc->tops[doc->ntops++] = value;
        if (pk_format_stream_done(doc, d.pos))
            break; /* a legacy torch file: raw storages follow the pickles */
        /* the next pickle starts afresh, as a new Unpickler on the same file would */
        d.sp = 0;
        d.nmarks = 0;
        set_frame(&d, 0);
        memo_clear(&d.memo);
    }
    pk_prefault_unwatch(doc->prefault, (void *const *)&d.src);
    pk_prefault_unwatch(doc->prefault, (void *const *)&d.memo.dense);
    free(d.stack);
    free(d.marks);
    memo_clear(&d.memo);
    return rc;
}
