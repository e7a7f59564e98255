/* decode_fast.c: the fast path, a second decoder of the 13 opcodes that make up most of a
 * stream of records or of a wide dict, for the common case of each.
 *
 * The contract: run_pickle() (decode.c) calls dec_fast_ops when the next opcode is one of FAST_OPS.
 * It decodes that opcode and the ones after it for as long as each is in its common case, and
 * returns before the first that is not, having changed nothing of it; run_pickle()'s own handler then
 * decodes that one from the same byte. For every opcode it does decode, it leaves exactly what
 * run_pickle()'s handler would have left: the same values with the same offsets, the same stack and
 * memo. So it may stop anywhere, and a build without it (-Dfast_path=false, decode.c)
 * decodes every input to the same document and the same errors; tests/meson.build's
 * fastpath test and fuzz/fuzz_fastpath.c check that.
 *
 * It is fast because it keeps the cursor, the stack top and the value array in registers
 * (struct fast) instead of reloading them from d at every opcode, and jumps from opcode to
 * opcode through a table of labels. It never fails: anything that would need an error, a
 * check it cannot make from what it holds, or an array to grow, is left to run_pickle().
 */
#include "decode_i.h"

/* The opcodes fast_ops decodes, in their common case: those of records and of wide dicts. */
#define FAST_OPS(X)                                                                                \
    X(BINGET) X(MEMOIZE) X(BINPUT) X(MARK) X(EMPTY_DICT) X(EMPTY_LIST) X(BININT) X(BININT1)      \
    X(BININT2) X(LONG1) X(BINFLOAT) X(SHORT_BINUNICODE) X(BINUNICODE)

#define FAST_OP_FLAG(name) [OP_##name] = true,
const bool dec_fast_op[256] = {FAST_OPS(FAST_OP_FLAG)};
#undef FAST_OP_FLAG

/* What fast_ops keeps in registers while it decodes: run_pickle() reloads all of it from d and doc at
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
 * opcode that is not, return before it, having changed nothing of it: run_pickle()'s own handler
 * then decodes it from the same byte. Each case does what that handler does. */
COLD void dec_fast_ops(dec *d)
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
