/* decode_i.h: the pickle machine's own state, shared by its files and by no one else.
 *
 * The machine (machine_i.h says what it does for its callers) is one decoder state, `dec`,
 * and a family of files that work on it, each calling only those before it in this list, never
 * in a circle (codec/LAYERS): the cursor over the stream and the errors (decode_cursor.c); new
 * values, the stack and call records (decode_node.c); text arguments (decode_text.c); scalar
 * values (decode_values.c); the memo (decode_memo.c); containers (decode_items.c); names and
 * calls (decode_calls.c); pickles nested in a pickle.loads call (decode_nested.c); the fast path
 * (decode_fast.c); and the dispatch loop (decode.c).
 *
 * The helpers that run for nearly every opcode (take, new_node, push, top...) are here as
 * static inline, so that splitting the machine into files costs no instructions; the rest are
 * the files' own, named dec_* where another file calls them, and the opcodes' handlers load_*,
 * after CPython's.
 */
#ifndef DECODE_I_H
#define DECODE_I_H

#include "machine_i.h"
#include "pk_i.h"

#include <string.h>

/* ---- the opcode table (opcodes.def) as the machine reads it ---- */

enum pk_opcode {
#define PK_OP(name, byte, arg, proto) OP_##name = byte,
#include "opcodes.def"
#undef PK_OP
};

/* opcodes.def's ARGUMENT column: for each kind, the bytes of its fixed-width part, which is
 * either the argument itself (UINT1, INT4, FLOAT8...) or the length of the bytes that follow
 * it (LONG1, STRING4, BYTES8, UNICODE1...). 0 for no argument and for the kinds read as
 * lines up to '\n' (the ...NL ones and NAMEPAIR). A kind missing here fails to compile.
 * The width does not say the sign, which surprises: INT4 (BININT, EXT4) and the counts of
 * LONG4 and STRING4 (BINSTRING) are signed, as CPython reads them, while their 1- and 2-byte
 * siblings, and UINT4, BYTES4 and UNICODE4, are not; the handlers of those families check
 * w == 4. */
enum pk_arg {
    ARG_NONE = 0,
    ARG_UINT1 = 1, ARG_UINT2 = 2, ARG_UINT4 = 4, ARG_UINT8 = 8, ARG_INT4 = 4, ARG_FLOAT8 = 8,
    ARG_LONG1 = 1, ARG_LONG4 = 4,
    ARG_STRING1 = 1, ARG_STRING4 = 4,
    ARG_BYTES1 = 1, ARG_BYTES4 = 4, ARG_BYTES8 = 8,
    ARG_UNICODE1 = 1, ARG_UNICODE4 = 4, ARG_UNICODE8 = 8,
    ARG_DECIMALNL_SHORT = 0, ARG_DECIMALNL_LONG = 0, ARG_STRINGNL = 0, ARG_UNICODENL = 0,
    ARG_FLOATNL = 0, ARG_NAMEPAIR = 0, ARG_NAMENL = 0,
};

/* Each opcode's width, from its argument kind: WIDTH(BININT2) is 2, WIDTH(BINBYTES8) 8. */
enum pk_op_width {
#define PK_OP(name, byte, arg, proto) OPW_##name = ARG_##arg,
#include "opcodes.def"
#undef PK_OP
};
#define WIDTH(name) ((int)OPW_##name)

#define MAX_PROTOCOL 5

/* Small helpers of the opcode loops (push, top, fence; the fast path's readers) are inlined
 * whatever the compiler's budget for their callers: left to it, which of them stays a call
 * changed with changes elsewhere in the loop (push or top became a call of 12-22M instructions
 * on the 1M-key dict). Forcing more (new_node, take) costs instructions. */
#define HOT static inline __attribute__((always_inline))
#define COLD __attribute__((noinline))

/* ---- the decoder's state ---- */

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
    bool nested; /* a pickle inside joblib's stream, or the bytes of a pickle.loads call:
                    no array wrappers of its own */
    bool copied; /* src is a copy of a nested pickle's bytes (decode_nested.c), not the
                    document's stream: its strs and bytes go to the pool (dec_new_span), and
                    the fast path, which keeps them in the stream, is not taken */
    uint32_t callable; /* of the last call made (make_call), for dec_nested_source */
    uint8_t depth; /* of nested pickles: 0 in the document's stream, 1 in a pickle.loads
                      argument's bytes, 2 in one inside that... */
    int proto;   /* of the pickle being decoded: 0 until a PROTO says otherwise */
    uint64_t buffers;    /* NEXT_BUFFERs of the pickle being decoded: the next one's number */
    uint64_t chores_at;  /* chores() when pos reaches this */
    uint64_t release_at; /* pk_source_release() the bytes behind when pos reaches this */
    /* new_node's cache of the document (node_room, decode_node.c): it takes a value without a
     * call while doc->nnodes is below nodes_end (the array has room, and max_nodes allows
     * it) and its offset is within 2^16 of group_base, the last offset group's. The fast path
     * reads them too. */
    uint64_t nodes_end, group_base;
    uint32_t shape; /* the last plain run of a dict's first pairs (put_items, decode_items.c),
                       or 0: its keys were checked hashable and pooled */
    /* lim.partial: a frame cut short is read as far as it goes, for the values in it; its
     * error is held here until the pickle fails or stops, and is then the pickle's error */
    pk_error held;
    bool holding;
} dec;

/* How often the decoder tells the prefault thread how far it is, and how often it gives the
 * mapped bytes behind it back. */
#define CHORE_STEP ((uint64_t)64 << 10)
#define RELEASE_STEP ((uint64_t)2 << 20)

/* ---- errors (decode_cursor.c) ---- */

/* Set the error at the opcode being decoded; -1. */
int dec_fail(dec *d, pk_code code, const char *what);
/* dec_fail with what formatted from fmt and two numbers. */
int dec_failf(dec *d, pk_code code, const char *fmt, unsigned long long a, unsigned long long b);
/* dec_fail(PK_E_NOMEM). */
int dec_oom(dec *d);

/* ---- the cursor (decode_cursor.c) ---- */

/* take()'s one bound, limit: the end of the frame, or of the stream outside one. pos never
 * passes it. And op_limit: limit, or where chores are due if that comes first, past which the
 * next opcode is read by dec_take_op_slow, which does them (chores_at starts at 0: at once). */
static inline void set_limits(dec *d)
{
    d->limit = d->frame_end ? d->frame_end : d->end;
    d->op_limit = d->limit < d->chores_at ? d->limit : d->chores_at;
}

/* Enter a frame that ends at frame_end, or leave it (0). */
static inline void set_frame(dec *d, uint64_t frame_end)
{
    d->frame_end = frame_end;
    set_limits(d);
}

const uint8_t *dec_take_checked(dec *d, uint64_t n);
const uint8_t *dec_length_refused(dec *d, uint64_t n);

/* The n bytes at pos, which then moves past them; NULL (the error set) when they are not all
 * there, or not all in the current frame. Inline for the common case, which is every argument:
 * one comparison with limit. At the end of a frame it sends a read of 1 byte or more on to
 * dec_take_checked, which leaves the frame (a read of 0 leaves it open, for the next to
 * leave). */
static inline const uint8_t *take(dec *d, uint64_t n)
{
    if (n <= d->limit - d->pos) {
        const uint8_t *p = d->src + d->pos;
        d->pos += n;
        return p;
    }
    return dec_take_checked(d, n);
}

/* A length read from the file, checked against what is left before anything is done with it. */
static inline const uint8_t *take_len(dec *d, uint64_t n)
{
    return n <= d->end - d->pos ? take(d, n) : dec_length_refused(d, n);
}

/* One line, without its '\n'. */
const uint8_t *dec_take_line(dec *d, uint64_t *len);

/* The byte of the next opcode once pos has reached op_limit: chores are done if they are due,
 * and the stream must not end here. NULL (the error set) if it does. */
const uint8_t *dec_take_op_slow(dec *d);

/* ---- values (decode_node.c; new_node here) ---- */

/* The last offset group (pk_off_group), NULL before the first; can it hold a value made at
 * off? */
static inline const pk_off_group *last_group(const pk_doc *doc)
{
    return doc->ngroups ? &doc->groups[doc->ngroups - 1] : NULL;
}
/* ...and is it of the same kind, in a nested pickle (nested) or in the stream? */
static inline bool group_holds(const pk_off_group *g, uint64_t off, bool nested)
{
    /* an off below base wraps to more, and so does one of the other kind */
    return g && off - (g->base ^ (nested ? PK_GROUP_NESTED : 0)) <= UINT16_MAX;
}

uint32_t dec_new_node_slow(dec *d, pk_kind kind);

/* A new value of `kind`, made by the opcode at d->op_off; 0 on failure (d->err says why).
 * Values are made by the million: the common case, with room in the array and in the last
 * offset group, stays inline, and calls nothing (so saves no registers). */
static inline uint32_t new_node(dec *d, pk_kind kind)
{
    pk_doc *doc = d->doc;
    uint64_t i = doc->nnodes, off = d->op_off;
    /* an off below group_base wraps to more */
    if (i >= d->nodes_end || off - d->group_base > UINT16_MAX)
        return dec_new_node_slow(d, kind);
    doc->nnodes = i + 1;
    pk_node *n = &doc->nodes[i];
    memset(n, 0, sizeof *n); /* a container starts with no items */
    n->kind = (uint8_t)kind;
    n->off_delta = (uint16_t)(off - d->group_base);
    return (uint32_t)i;
}

/* A str, bytes or bytearray of the len bytes at p, which stay in the stream. */
uint32_t dec_new_span(dec *d, pk_kind kind, const uint8_t *p, uint64_t len);
/* A value of kind holding b's text in the pool. */
uint32_t dec_new_pooled(dec *d, pk_kind kind, const pk_buf *b);

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

/* BINFLOAT's 8 bytes at p: big-endian, unlike every other argument. */
HOT uint64_t float8_bits(const uint8_t *p)
{
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
           (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
           (uint64_t)p[6] << 8 | p[7];
}

/* Is a short str (up to 32 bytes: field names and values) at p, in the stream, all ASCII? Read
 * eight bytes at a time, the last eight overlapping; under eight as one word where the stream
 * has eight bytes from p (le_bytes). false means "not known": dec_valid_utf8 then reads it. */
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

/* ---- text (decode_text.c) ---- */

/* Is s valid UTF-8 (surrogates allowed, as 'surrogatepass' does)? */
bool dec_valid_utf8(const uint8_t *s, uint64_t len);
/* GLOBAL's and INST's callable: "module.name" in the pool (decode_text.c). */
uint32_t dec_new_global(dec *d, const uint8_t *mod, uint64_t mlen, const uint8_t *name,
                        uint64_t nlen);
/* Read GLOBAL's and INST's two lines into a new global. 0, or -1 (the error set). */
int dec_read_namepair(dec *d, uint32_t *out);

/* ---- the stack (decode_node.c; push, pop, top here) ---- */

int dec_push_slow(dec *d, uint32_t node);

/* Push a value just made, or fail if making it failed (node 0). */
HOT int push(dec *d, uint32_t node)
{
    if (node && d->sp < d->cap_stack) {
        d->stack[d->sp++] = node;
        return 0;
    }
    return dec_push_slow(d, node);
}

/* The stack height of the newest mark: values below it cannot be popped. */
HOT uint64_t fence(const dec *d)
{
    return d->nmarks ? d->marks[d->nmarks - 1] : 0;
}

/* A pop or a top past the fence: a MARK in the way, or an empty stack. -1. */
int dec_underflow(dec *d);

/* Pop the top value; 0 on underflow (the error set). */
static inline uint32_t pop(dec *d)
{
    if (d->sp <= fence(d))
        return dec_underflow(d), 0;
    return d->stack[--d->sp];
}

/* The top value; 0 on underflow (the error set). */
HOT uint32_t top(dec *d)
{
    if (d->sp <= fence(d))
        return dec_underflow(d), 0;
    return d->stack[d->sp - 1];
}

int64_t dec_no_mark(dec *d);

/* Pop the newest mark and return the stack height it recorded; -1 without one (the error
 * set). Inline: APPENDS and SETITEMS run it for every record. */
HOT int64_t marker(dec *d)
{
    if (!d->nmarks)
        return dec_no_mark(d);
    return (int64_t)d->marks[--d->nmarks];
}

/* ---- call records (decode_node.c) ---- */

/* A new, empty call record for node; its number, or 0 (the error set). */
/* Append an event for the audit (pk_event, pk_i.h) at the opcode being decoded; false when out
 * of memory (the error is set). */
bool dec_event(dec *d, pk_ev what, uint32_t node, uint32_t a, uint32_t b);
uint32_t dec_new_call(dec *d, uint32_t node);
/* A call record for node: callable(*args, **kwargs), made by how. */
uint32_t dec_record_call(dec *d, uint32_t node, pk_how how, uint32_t callable, uint32_t args,
                         uint32_t kwargs);
/* The call record of a value, made on first use (BUILD on a lifted OrderedDict, say); NULL on
 * failure. */
pk_call *dec_call_of(dec *d, uint32_t node);
/* Note value n, made by a call (or a global made an object), in doc->made: the tree shows in
 * __calls__ those it does not reach otherwise. 0, or -1. */
int dec_note_made(dec *d, uint32_t n);
/* A global the pickle mutates becomes an object that names it (decode_node.c). 0, or -1. */
int dec_global_to_object(dec *d, uint32_t node);
/* The list (or, for set items, the dict) where opaque object obj records what APPEND, SETITEM
 * and ADDITEMS add to it, made on first use. 0 on failure. */
uint32_t dec_object_items(dec *d, uint32_t obj, bool dict);

/* ---- containers (decode_items.c) ---- */

/* A new container of kind holding stack[from..sp), which are popped, and pushed. */
int dec_collect(dec *d, pk_kind kind, uint64_t from);
/* Check the keys (every other item from `from`, or every item) of stack[from..sp). */
int dec_check_hashable(dec *d, uint64_t from, uint64_t step);

/* ---- nested pickles (decode_nested.c) ---- */

/* Nested pickles are decoded this many levels deep; deeper ones stay bytes. */
#define PK_NESTED_DEPTH 8
/* Is value obj, just made by a call, pickle.loads (or _pickle.loads, pickle._loads) of bytes
 * that may hold a pickle to decode? 1 with a copy of those bytes in *copy (to free) and their
 * length in *len; 0 when not, or when past PK_NESTED_DEPTH or the budget of nested bytes; -1
 * with the error set (out of memory, past max_memory). */
int dec_nested_source(dec *d, uint32_t obj, uint8_t **copy, uint64_t *len);
/* What the nested pickle's error means for the pickle around it: a limit (values, memory,
 * memo, depth) or out of memory stays its error, at the call's opcode (true); any other
 * failure is forgotten, the argument staying bytes (false). */
bool dec_nested_failed(dec *d, const pk_error *was);

/* ---- the memo (decode_memo.c) ---- */

void dec_memo_clear(memo *m);

/* ---- the fast path (decode_fast.c) ---- */

/* Built with the fast path unless -Dfast_path=false (meson_options.txt) says 0. */
#ifndef PK_FAST_PATH
#define PK_FAST_PATH 1
#endif

/* The opcodes the fast path takes (FAST_OPS; none when it is off); and the fast path, which
 * takes them from pos on for as long as it can (decode_fast.c says its contract). */
extern bool dec_fast_op[256];
void dec_fast_ops(dec *d);


/* ---- the opcodes' handlers, one per family, for decode.c's dispatch: each returns 0, or -1
 * with the error set. w is the width of the opcode's argument (WIDTH(name), from opcodes.def).
 * ---- */

/* decode_values.c */
int load_int(dec *d);
int load_binint(dec *d, int w);
int load_long(dec *d);
int load_long_bin(dec *d, int w);
int load_binstring(dec *d, int w);
int load_binbytes(dec *d, int w, pk_kind kind);
int load_binunicode(dec *d, int w);
int load_const(dec *d, pk_kind kind, int64_t value);
int load_float(dec *d);
int load_binfloat(dec *d, int w);
/* decode_text.c */
int load_string(dec *d);
int load_unicode(dec *d);
/* decode_items.c */
int load_empty(dec *d, pk_kind kind);
int load_empty_tuple(dec *d);
int load_collect(dec *d, pk_kind kind);
int load_dict(dec *d);
int load_tuple_n(dec *d, uint64_t n);
int load_append(dec *d);
int load_appends(dec *d);
int load_setitem(dec *d);
int load_setitems(dec *d);
int load_additems(dec *d);
int load_pop(dec *d);
int load_dup(dec *d);
int load_mark(dec *d);
int load_pop_mark(dec *d);
/* decode_memo.c */
int load_get(dec *d);
int load_binget(dec *d, int w);
int load_put(dec *d);
int load_binput(dec *d, int w);
int load_memoize(dec *d);
/* decode_calls.c (BUILD: 1 when a joblib array's pickle follows, which decode.c runs) */
int load_global(dec *d);
int load_stack_global(dec *d);
int load_reduce(dec *d);
int load_newobj(dec *d);
int load_newobj_ex(dec *d);
int load_inst(dec *d);
int load_obj(dec *d);
int load_build(dec *d);
int load_persid(dec *d);
int load_binpersid(dec *d);
int load_ext(dec *d, int w);
int load_next_buffer(dec *d);
int load_readonly_buffer(dec *d);
/* decode_cursor.c */
int load_proto(dec *d, int w);
int load_frame(dec *d, int w);

#endif
