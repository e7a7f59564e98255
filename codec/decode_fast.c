/* decode_fast.c: the fast path, a second decoder of the 13 opcodes that make up most of a
 * stream of records or of a wide dict, for the common case of each.
 *
 * The contract. run_pickle() (decode.c) calls dec_fast_ops when the next opcode is one of
 * FAST_OPS. It decodes that opcode and the ones after it for as long as each is in its common
 * case: its argument lies wholly before op_limit (no frame ends and no chores fall due inside
 * it), no array must grow, and no check can fail. At the first opcode that is not, it returns
 * before it, having changed nothing of it, and run_pickle()'s own handler decodes that one
 * from the same byte. For every opcode it does decode, it leaves exactly what the handler
 * would have left: the same values with the same offsets, the same stack, marks and memo. So
 * it may stop anywhere, and never fails: an error is always run_pickle()'s to report. Without
 * it (-Dfast_path=false, or pk_decode_fast_path(false)) every input decodes to the same
 * document and the same error; the fastpath test (tests/meson.build) and fuzz_fastpath check
 * that.
 *
 * It is fast because it keeps the cursor, the stack top and the value array in registers
 * (struct fast) instead of reloading them from d at every opcode, reads arguments without
 * bounds checks inside a margin (FAST_ARG_MAX), and jumps from opcode to opcode through a
 * table of labels.
 */
#include "decode_i.h"

/* The opcodes dec_fast_ops decodes, in their common case: those of records and of wide dicts. */
#define FAST_OPS(X)                                                                                \
    X(BINGET) X(MEMOIZE) X(BINPUT) X(MARK) X(EMPTY_DICT) X(EMPTY_LIST) X(BININT) X(BININT1)      \
    X(BININT2) X(LONG1) X(BINFLOAT) X(SHORT_BINUNICODE) X(BINUNICODE)

/* A LONG1 of up to this many bytes is an int (small_long), as new_long makes it; a longer one
 * is a big int, left to run_pickle(). */
#define FAST_LONG1_MAX 8

/* The most bytes after an opcode's own that a fast opcode reads before it knows where its
 * argument ends: LONG1's count and an int's bytes. While p is below stop, the opcode and this
 * many bytes lie before op_limit, so they are read unchecked. */
#define FAST_ARG_MAX (WIDTH(LONG1) + FAST_LONG1_MAX)
_Static_assert(WIDTH(BINFLOAT) <= FAST_ARG_MAX && WIDTH(BININT) <= FAST_ARG_MAX &&
                   WIDTH(BINUNICODE) <= FAST_ARG_MAX,
               "a fast opcode's argument must fit in the margin");

#if PK_FAST_PATH
#define FAST_OP_FLAG(name) [OP_##name] = true,
bool dec_fast_op[256] = {FAST_OPS(FAST_OP_FLAG)};
#else
bool dec_fast_op[256]; /* none: the loop decodes every opcode */
#endif

void pk_decode_fast_path(bool on)
{
#if PK_FAST_PATH
    static const bool ops[256] = {FAST_OPS(FAST_OP_FLAG)};
#undef FAST_OP_FLAG
    for (int i = 0; i < 256; i++)
        dec_fast_op[i] = on && ops[i];
#else
    (void)on;
#endif
}

/* What dec_fast_ops keeps in registers while it decodes: run_pickle() reloads all of it from
 * d and doc at every opcode, since its handlers' calls may change any of it. */
typedef struct fast {
    const uint8_t *src, *p, *stop; /* the stream, the next opcode, FAST_ARG_MAX before op_limit */
    uint32_t *top, *stack_end;     /* the stack's next slot, and its end */
    pk_node *nodes;
    uint64_t nnodes, nodes_end;    /* as new_node has them... */
    const uint8_t *group_at;       /* ...and the stream at group_base */
    uint32_t *dense;               /* the memo's array... */
    uint64_t memo_count, memo_end; /* ...its count, and where memo_put's common case ends */
} fast;

/* A new value of kind k, made by the opcode at f->p and pushed; NULL, with nothing changed,
 * when it would need room (dec_new_node_slow, dec_push_slow). */
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

/* A new container of kind k, with no items (EMPTY_DICT, EMPTY_LIST), and pushed; false, with
 * nothing changed, when it would need room. */
HOT bool fast_empty(fast *f, pk_kind k)
{
    if (!fast_push_new(f, k))
        return false;
    f->p += 1;
    return true;
}

/* A value of kind k with payload bits (an int's value, or a float's), made by an opcode of
 * size bytes in all, and pushed; false, with nothing changed, when it would need room. */
HOT bool fast_scalar(fast *f, pk_kind k, uint64_t bits, uint64_t size)
{
    pk_node *n = fast_push_new(f, k);
    if (!n)
        return false;
    memcpy(&n->u, &bits, sizeof bits);
    f->p += size;
    return true;
}

/* A str of len bytes after the opcode and its length (head bytes), as new_str_utf8 and
 * dec_new_span make it when it is short and ASCII, and pushed; false, with nothing changed,
 * when it is not, or does not lie wholly before op_limit. */
HOT bool fast_ascii_str(fast *f, const dec *d, uint64_t head, uint64_t len)
{
    pk_node *n;
    if (len > (uint64_t)(f->stop + FAST_ARG_MAX - f->p) - head ||
        !short_ascii(d, f->p + head, len) || !(n = fast_push_new(f, PK_K_STR)))
        return false;
    n->flags = PK_NF_SRC;
    n->u.span = len << (64 - PK_SPAN_LEN_BITS) | (uint64_t)(f->p + head - f->src);
    f->p += head + len;
    return true;
}

/* BINPUT of the top value at index idx, as memo_put does it in the array; false when the stack
 * is empty above the fence, or idx is not in the array. */
HOT bool fast_binput(fast *f, const dec *d, uint64_t idx)
{
    if ((uint64_t)(f->top - d->stack) <= fence(d) || idx >= f->memo_end)
        return false;
    f->memo_count += !f->dense[idx];
    f->dense[idx] = f->top[-1];
    f->p += 1 + WIDTH(BINPUT);
    return true;
}

/* MEMOIZE: the same at the next index, which must be free (else memo_put updates the table). */
HOT bool fast_memoize(fast *f, const dec *d)
{
    if ((uint64_t)(f->top - d->stack) <= fence(d) || f->memo_count >= f->memo_end ||
        f->dense[f->memo_count])
        return false;
    f->dense[f->memo_count++] = f->top[-1];
    f->p += 1;
    return true;
}

COLD void dec_fast_ops(dec *d)
{
    pk_doc *doc = d->doc;
    if (!d->stack || d->copied)
        return; /* the first push makes it; a nested pickle's strs go to the pool */
    /* pos may have passed op_limit: the chores are due */
    uint64_t stop = d->op_limit > d->pos + FAST_ARG_MAX ? d->op_limit - FAST_ARG_MAX : d->pos;
    fast f = {d->src, d->src + d->pos, d->src + stop, d->stack + d->sp, d->stack + d->cap_stack,
              doc->nodes, doc->nnodes, d->nodes_end, d->src + d->group_base, d->memo.dense,
              d->memo.count,
              /* MEMOIZE and BINPUT put an index below this in the array */
              d->memo.nhashed ? 0
              : d->memo.ndense < doc->lim.max_memo ? d->memo.ndense
                                                   : doc->lim.max_memo};
    /* Labels as values (GNU C, which GCC and Clang speak): each opcode jumps to the next one's
     * code through a table of all 256 bytes, where a switch would check the range first. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Woverride-init"
#define FAST_OP_LABEL(name) [OP_##name] = &&fast_##name,
    static const void *const handler[256] = {[0 ... 255] = &&out, FAST_OPS(FAST_OP_LABEL)};
#undef FAST_OP_LABEL
/* on to the next opcode if this one was decoded (ok), else out */
#define NEXT_IF(ok)                                                                                \
    do {                                                                                           \
        if (!(ok) || f.p >= f.stop)                                                                \
            goto out;                                                                              \
        goto *handler[*f.p];                                                                       \
    } while (0)

    NEXT_IF(true);
fast_BINGET: {
    uint32_t v = f.p[1] < d->memo.ndense ? f.dense[f.p[1]] : 0;
    if (!v || f.top == f.stack_end)
        goto out;
    *f.top++ = v;
    f.p += 1 + WIDTH(BINGET);
    NEXT_IF(true);
}
fast_MEMOIZE:
    NEXT_IF(fast_memoize(&f, d));
fast_BINPUT:
    NEXT_IF(fast_binput(&f, d, f.p[1]));
fast_MARK:
    if (d->nmarks >= d->cap_marks)
        goto out;
    d->marks[d->nmarks++] = (uint64_t)(f.top - d->stack);
    f.p += 1;
    NEXT_IF(true);
fast_EMPTY_DICT:
    NEXT_IF(fast_empty(&f, PK_K_DICT));
fast_EMPTY_LIST:
    NEXT_IF(fast_empty(&f, PK_K_LIST));
fast_BININT: /* signed; the 1- and 2-byte forms are not */
    NEXT_IF(fast_scalar(&f, PK_K_INT, (uint64_t)(int64_t)(int32_t)(uint32_t)pk_le(f.p + 1, 4),
                        1 + WIDTH(BININT)));
fast_BININT1:
    NEXT_IF(fast_scalar(&f, PK_K_INT, f.p[1], 1 + WIDTH(BININT1)));
fast_BININT2:
    NEXT_IF(fast_scalar(&f, PK_K_INT, pk_le(f.p + 1, 2), 1 + WIDTH(BININT2)));
fast_LONG1:
    NEXT_IF(f.p[1] <= FAST_LONG1_MAX &&
            fast_scalar(&f, PK_K_INT, (uint64_t)small_long(d, f.p + 2, f.p[1]),
                        1 + WIDTH(LONG1) + f.p[1]));
fast_BINFLOAT:
    NEXT_IF(fast_scalar(&f, PK_K_FLOAT, float8_bits(f.p + 1), 1 + WIDTH(BINFLOAT)));
fast_SHORT_BINUNICODE:
    NEXT_IF(fast_ascii_str(&f, d, 1 + WIDTH(SHORT_BINUNICODE), f.p[1]));
fast_BINUNICODE: /* its length in 4 bytes (protocols 1 to 3) */
    NEXT_IF(fast_ascii_str(&f, d, 1 + WIDTH(BINUNICODE), pk_le(f.p + 1, 4)));
#undef NEXT_IF
#pragma GCC diagnostic pop
out:
    d->pos = (uint64_t)(f.p - f.src);
    d->sp = (uint64_t)(f.top - d->stack);
    doc->nnodes = f.nnodes;
    d->memo.count = f.memo_count;
}
