/* decode.c: the pickle machine, run once over the whole stream, executing nothing: its
 * dispatch loop, and pk_decode, which runs it over each pickle of the stream.
 *
 * It follows CPython's Modules/_pickle.c structurally: one dispatch switch with one short case
 * per opcode, calling its family's handler (load_*, in the decode_*.c files decode_i.h lists)
 * with the width of its argument, taken from opcodes.def's ARGUMENT column (WIDTH); marks on
 * their own stack with a fence (values below the newest mark cannot be popped); a memo keyed
 * by index; FRAME discipline; and the same argument syntax for the text opcodes. Where CPython
 * would import or call something, we only record: GLOBAL makes a name, REDUCE/NEWOBJ/INST/OBJ
 * make a call record (or a lifted value, see lift.c), BUILD/APPEND/SETITEM on an opaque object
 * are noted on its call record.
 *
 * Before the switch, the fast path (decode_fast.c) takes the common opcodes of records and
 * wide dicts while it can; a build with -Dfast_path=false leaves it out, and this switch then
 * decodes every opcode, to the same result.
 */
#include "ckpt_i.h"
#include "decode_i.h"
#include "prefault_i.h"

#include <stdlib.h>
#include <string.h>

static int run_pickle(dec *d, uint32_t *out);

/* BUILD; and when joblib's array data after it is a whole pickle (an object array's, see
 * after_build in decode_calls.c), that pickle, run here by a machine of its own, whose value
 * takes the wrapper's place on the stack, as joblib's unpickler does. */
static int build_then_nested(dec *d)
{
    int r = load_build(d);
    if (r <= 0)
        return r;
    dec sub = {.doc = d->doc, .hooks = d->hooks, .err = d->err, .src = d->src, .pos = d->pos,
               .end = d->end, .nested = true, .depth = d->depth};
    set_limits(&sub);
    uint32_t value = 0;
    r = run_pickle(&sub, &value);
    if (sub.holding) { /* a frame cut short: its error is the pickle's */
        d->held = sub.held;
        d->holding = true;
    }
    free(sub.stack);
    free(sub.marks);
    dec_memo_clear(&sub.memo);
    if (r < 0)
        return -1;
    d->pos = sub.pos;
    d->stack[d->sp - 1] = value;
    /* the pickle's values may have started an offset group: new_node's cache is sub's now */
    d->nodes_end = sub.nodes_end;
    d->group_base = sub.group_base;
    return 0;
}

/* After a call opcode (r its result): when the call is pickle.loads of bytes, the pickle those
 * bytes hold, run here by a machine of its own over a copy of them (decode_nested.c), with
 * their values and calls kept on the call's record, and its events in the audit log between
 * a NEST_IN and a NEST_OUT. When they are no pickle, they stay bytes, and the values made
 * before the error are left unreached (the tree lists their calls in __calls__, as CPython
 * would have run them); a limit met in them is the stream's error. */
static int call_then_nested(dec *d, int r)
{
    uint8_t *copy = NULL;
    uint64_t len = 0;
    uint32_t obj = r == 0 ? d->stack[d->sp - 1] : 0;
    if (r < 0 || (r = dec_nested_source(d, obj, &copy, &len)) <= 0)
        return r;
    if (!dec_event(d, PK_EV_NEST_IN, obj, 0, 0)) {
        free(copy);
        return -1;
    }
    dec sub = {.doc = d->doc, .hooks = d->hooks, .err = d->err, .src = copy, .end = len,
               .nested = true, .copied = true, .depth = (uint8_t)(d->depth + 1),
               .chores_at = UINT64_MAX, .release_at = UINT64_MAX};
    set_limits(&sub);
    uint32_t value = 0;
    r = run_pickle(&sub, &value);
    if (sub.holding) { /* a frame cut short (lim.partial): the nested pickle fails */
        *d->err = sub.held;
        r = -1;
    }
    free(copy);
    free(sub.stack);
    free(sub.marks);
    dec_memo_clear(&sub.memo);
    /* the nested pickle's values are in offset groups of their own (node_room): the next
     * value made here starts a group of the stream's again */
    d->nodes_end = 0;
    d->group_base = 0;
    if (r < 0) {
        pk_error was = *d->err;
        if (dec_nested_failed(d, &was))
            return -1;
        d->doc->dropped = true; /* the values it made show nowhere: their calls in __calls__ */
    } else if (!pk_call_set_nested(d->doc, pk_node_call(d->doc, &d->doc->nodes[obj]),
                                   value)) {
        return dec_oom(d);
    }
    return dec_event(d, PK_EV_NEST_OUT, obj, 0, 0) ? 0 : -1;
}

/* STOP: the pickle's value is the one on top. 1, the pickle done. */
static int stop(dec *d, uint32_t *out)
{
    uint32_t a = pop(d);
    if (!a)
        return -1;
    if (d->sp)
        d->doc->dropped = true; /* values left on the stack: the tree looks for calls there */
    *out = a;
    return 1;
}

/* One opcode, the one at d->op_off, whose byte has been read: 0, 1 after STOP (its value in
 * *out), or -1 with the error set. */
static inline int dispatch(dec *d, int op, uint32_t *out)
{
    switch (op) {
    /* -- ints -- */
    case OP_INT: return load_int(d);
    case OP_BININT: return load_binint(d, WIDTH(BININT));
    case OP_BININT1: return load_binint(d, WIDTH(BININT1));
    case OP_BININT2: return load_binint(d, WIDTH(BININT2));
    case OP_LONG: return load_long(d);
    case OP_LONG1: return load_long_bin(d, WIDTH(LONG1));
    case OP_LONG4: return load_long_bin(d, WIDTH(LONG4));
    /* -- strings and bytes -- */
    case OP_STRING: return load_string(d);
    case OP_BINSTRING: return load_binstring(d, WIDTH(BINSTRING));
    case OP_SHORT_BINSTRING: return load_binstring(d, WIDTH(SHORT_BINSTRING));
    case OP_BINBYTES: return load_binbytes(d, WIDTH(BINBYTES), PK_K_BYTES);
    case OP_SHORT_BINBYTES: return load_binbytes(d, WIDTH(SHORT_BINBYTES), PK_K_BYTES);
    case OP_BINBYTES8: return load_binbytes(d, WIDTH(BINBYTES8), PK_K_BYTES);
    case OP_BYTEARRAY8: return load_binbytes(d, WIDTH(BYTEARRAY8), PK_K_BYTEARRAY);
    case OP_UNICODE: return load_unicode(d);
    case OP_SHORT_BINUNICODE: return load_binunicode(d, WIDTH(SHORT_BINUNICODE));
    case OP_BINUNICODE: return load_binunicode(d, WIDTH(BINUNICODE));
    case OP_BINUNICODE8: return load_binunicode(d, WIDTH(BINUNICODE8));
    /* -- other scalars -- */
    case OP_NONE: return load_const(d, PK_K_NONE, 0);
    case OP_NEWTRUE: return load_const(d, PK_K_BOOL, 1);
    case OP_NEWFALSE: return load_const(d, PK_K_BOOL, 0);
    case OP_FLOAT: return load_float(d);
    case OP_BINFLOAT: return load_binfloat(d, WIDTH(BINFLOAT));
    /* -- containers -- */
    case OP_EMPTY_LIST: return load_empty(d, PK_K_LIST);
    case OP_EMPTY_DICT: return load_empty(d, PK_K_DICT);
    case OP_EMPTY_SET: return load_empty(d, PK_K_SET);
    case OP_EMPTY_TUPLE: return load_empty_tuple(d);
    case OP_LIST: return load_collect(d, PK_K_LIST);
    case OP_TUPLE: return load_collect(d, PK_K_TUPLE);
    case OP_FROZENSET: return load_collect(d, PK_K_FROZENSET);
    case OP_DICT: return load_dict(d);
    case OP_TUPLE1: return load_tuple_n(d, 1);
    case OP_TUPLE2: return load_tuple_n(d, 2);
    case OP_TUPLE3: return load_tuple_n(d, 3);
    case OP_APPEND: return load_append(d);
    case OP_APPENDS: return load_appends(d);
    case OP_SETITEM: return load_setitem(d);
    case OP_SETITEMS: return load_setitems(d);
    case OP_ADDITEMS: return load_additems(d);
    /* -- stack -- */
    case OP_POP: return load_pop(d);
    case OP_DUP: return load_dup(d);
    case OP_MARK: return load_mark(d);
    case OP_POP_MARK: return load_pop_mark(d);
    /* -- memo -- */
    case OP_GET: return load_get(d);
    case OP_BINGET: return load_binget(d, WIDTH(BINGET));
    case OP_LONG_BINGET: return load_binget(d, WIDTH(LONG_BINGET));
    case OP_PUT: return load_put(d);
    case OP_BINPUT: return load_binput(d, WIDTH(BINPUT));
    case OP_LONG_BINPUT: return load_binput(d, WIDTH(LONG_BINPUT));
    case OP_MEMOIZE: return load_memoize(d);
    /* -- names and calls: recorded, never resolved or run -- */
    case OP_GLOBAL: return load_global(d);
    case OP_STACK_GLOBAL: return load_stack_global(d);
    case OP_REDUCE: return call_then_nested(d, load_reduce(d));
    case OP_NEWOBJ: return load_newobj(d);
    case OP_NEWOBJ_EX: return load_newobj_ex(d);
    case OP_INST: return call_then_nested(d, load_inst(d));
    case OP_OBJ: return call_then_nested(d, load_obj(d));
    case OP_BUILD: return build_then_nested(d);
    case OP_PERSID: return load_persid(d);
    case OP_BINPERSID: return load_binpersid(d);
    case OP_EXT1: return load_ext(d, WIDTH(EXT1));
    case OP_EXT2: return load_ext(d, WIDTH(EXT2));
    case OP_EXT4: return load_ext(d, WIDTH(EXT4));
    case OP_NEXT_BUFFER: return load_next_buffer(d);
    case OP_READONLY_BUFFER: return load_readonly_buffer(d);
    /* -- framing and protocol -- */
    case OP_PROTO: return load_proto(d, WIDTH(PROTO));
    case OP_FRAME: return load_frame(d, WIDTH(FRAME));
    case OP_STOP: return stop(d, out);
    default:
        return dec_failf(d, PK_E_UNKNOWN_OPCODE, "invalid load key, '\\x%02llx'", (unsigned)op, 0);
    }
}

/* Decode one pickle starting at d->pos. Leaves its value in *out. 0, or -1 (the error set). */
static int run_pickle(dec *d, uint32_t *out)
{
    d->proto = 0; /* as a new Unpickler.load() starts */
    d->buffers = 0;
    for (;;) {
#if PK_FAST_PATH
        if (d->pos < d->op_limit && dec_fast_op[d->src[d->pos]])
            dec_fast_ops(d); /* this opcode and the next ones, as long as it can */
#endif
        d->op_off = d->pos;
        const uint8_t *p;
        if (d->pos < d->op_limit)
            p = d->src + d->pos++;
        else if (!(p = dec_take_op_slow(d)))
            return -1;
        int r = dispatch(d, *p, out);
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
}

/* Could the error just met be the end of the stream, the bytes from the pickle's start on
 * being no pickle (junk, a newline, a cut pickle) rather than a pickle past a limit? Only after
 * a complete pickle, and not in a format that wants more pickles (legacy torch's five). */
static bool no_pickle(const pk_doc *doc, const pk_error *err)
{
    if (doc->ntops == 0 || doc->over_memory || pk_format_wants_more(doc))
        return false;
    switch (err->code) {
    case PK_E_IO: case PK_E_NOMEM: case PK_E_MEMO_LIMIT: case PK_E_DEPTH_LIMIT:
    case PK_E_NODE_LIMIT: case PK_E_MEMORY_LIMIT: case PK_E_DECOMPRESS_LIMIT:
        return false;
    default:
        return true;
    }
}

/* The pickle that began at start failed (the error is set). When its bytes are no pickle,
 * they become doc->trailing, a bytes value that the tree shows at its root, and the stream
 * ends there: the values the attempt made are left unreachable (doc->stream_nodes is where
 * they begin), and the error is forgotten. Otherwise, when the document is opened to keep what
 * decoded before an error (lim.partial), the values on the failed pickle's stack become one
 * more top, a list, bottom first. 0 when the stream ends well, else -1 with the error set. */
static int stream_ends(dec *d, uint64_t start, uint64_t nodes_at_start)
{
    pk_doc *doc = d->doc;
    doc->stream_nodes = nodes_at_start;
    if (no_pickle(doc, d->err)) {
        pk_error was = *d->err;
        memset(d->err, 0, sizeof *d->err);
        d->err->opcode = -1;
        d->op_off = start;
        doc->trailing = dec_new_span(d, PK_K_BYTES, d->src + start, d->end - start);
        if (doc->trailing)
            return 0;
        if (d->err->code == PK_E_OK)
            *d->err = was;
        return -1;
    }
    doc->stream_nodes = doc->nnodes; /* the failed pickle's calls are before the error */
    if (!doc->lim.partial)
        return -1;
    pk_error was = *d->err;
    memset(d->err, 0, sizeof *d->err);
    d->op_off = start;
    d->nmarks = 0; /* every value on the stack, whatever the marks fence off */
    if (dec_collect(d, PK_K_LIST, 0) == 0 &&
        pk_grow((void **)&doc->tops, &doc->cap_tops, doc->ntops + 1, sizeof(uint32_t))) {
        doc->tops[doc->ntops++] = d->stack[--d->sp];
        doc->stream_nodes = doc->nnodes;
    }
    *d->err = was;
    return -1;
}

int pk_decode(pk_doc *doc, const pk_hooks *hooks, pk_error *err)
{
    static const pk_hooks none;
    dec d = {.doc = doc, .hooks = hooks ? hooks : &none, .err = err, .src = doc->src,
             .pos = doc->src_start, .end = doc->src_len};
    set_limits(&d);
    if (doc->src_len == 0) {
        pk_set_error(err, PK_E_EMPTY, 0, -1, "empty file");
        return -1;
    }
    if (doc->src_len >= PK_OFFSET_LIMIT) { /* beyond any file or max_decompressed */
        pk_set_error(err, PK_E_LENGTH, 0, -1, "a stream of 2^48 bytes or more");
        return -1;
    }
    if (doc->src_start && doc->src_start >= doc->src_len) {
        pk_set_error(err, PK_E_TRUNCATED, doc->src_len, -1,
                     "truncated data: no pickle after the .npy header");
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
        uint64_t start = d.pos, nodes_at_start = doc->nnodes;
        int r = run_pickle(&d, &value);
        if (d.holding) { /* a frame was cut short: the pickle fails, with its values kept */
            if (r == 0 && push(&d, value) < 0)
                d.held = *err;
            *err = d.held;
            r = -1;
        }
        if (r < 0) {
            rc = stream_ends(&d, start, nodes_at_start);
            break;
        }
        if (!pk_grow((void **)&doc->tops, &doc->cap_tops, doc->ntops + 1, sizeof(uint32_t))) {
            rc = dec_oom(&d);
            break;
        }
        doc->tops[doc->ntops++] = value;
        if (pk_format_stream_done(doc, d.pos))
            break; /* a legacy torch file: raw storages follow the pickles */
        /* the next pickle starts afresh, as a new Unpickler on the same file would */
        d.sp = 0;
        d.nmarks = 0;
        set_frame(&d, 0);
        dec_memo_clear(&d.memo);
    }
    if (rc == 0 && !doc->trailing)
        doc->stream_nodes = doc->nnodes;
    pk_prefault_unwatch(doc->prefault, (void *const *)&d.src);
    pk_prefault_unwatch(doc->prefault, (void *const *)&d.memo.dense);
    free(d.stack);
    free(d.marks);
    dec_memo_clear(&d.memo);
    return rc;
}

static int builder_fail(pk_lift_ctx *c, pk_code code, const char *what)
{
    return dec_fail((dec *)c->dec, code, what);
}

int pk_decode_build(pk_doc *doc, const pk_hooks *hooks, pk_build_fn build, void *arg,
                    pk_error *err)
{
    static const pk_hooks none;
    /* no stream to read: end 0 makes every error name no opcode, at op_off */
    dec d = {.doc = doc, .hooks = hooks ? hooks : &none, .err = err, .src = doc->src,
             .end = 0, .op_off = 0};
    set_limits(&d);
    pk_lift_ctx lc = {.doc = doc, .dec = &d, .offset = 0, .fail = builder_fail};
    uint32_t top = 0;
    int rc = build(&lc, arg, &top);
    if (rc == 0 && !top)
        rc = dec_oom(&d); /* not reached: a builder without a value sets the error */
    if (rc == 0 &&
        !pk_grow((void **)&doc->tops, &doc->cap_tops, doc->ntops + 1, sizeof(uint32_t)))
        rc = dec_oom(&d);
    if (rc == 0)
        doc->tops[doc->ntops++] = top;
    free(d.stack);
    free(d.marks);
    dec_memo_clear(&d.memo);
    return rc < 0 ? -1 : 0;
}

int pk_lift_pickle(pk_lift_ctx *c, uint64_t pos, uint64_t end, uint32_t *value, uint64_t *stop)
{
    dec *d = c->dec;
    if (end > d->doc->src_len || pos >= end)
        return dec_fail(d, PK_E_TRUNCATED, "truncated data: no pickle where one should be");
    dec sub = {.doc = d->doc, .hooks = d->hooks, .err = d->err, .src = d->doc->src, .pos = pos,
               .end = end};
    set_limits(&sub);
    int r = run_pickle(&sub, value);
    if (stop)
        *stop = sub.pos;
    free(sub.stack);
    free(sub.marks);
    dec_memo_clear(&sub.memo);
    /* new_node's cache of the document is sub's now */
    d->nodes_end = sub.nodes_end;
    d->group_base = sub.group_base;
    return r < 0 ? -1 : 0;
}

bool pk_lift_valid_utf8(const uint8_t *s, uint64_t len)
{
    return dec_valid_utf8(s, len);
}
