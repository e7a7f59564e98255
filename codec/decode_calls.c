/* decode_calls.c: names and calls, recorded and never resolved or run: GLOBAL and
 * STACK_GLOBAL make a name; REDUCE, NEWOBJ, NEWOBJ_EX, INST and OBJ a call; BUILD sets a
 * call's state; PERSID and BINPERSID, EXT and NEXT_BUFFER make descriptors.
 *
 * Where CPython would import or call something, the machine only records it, unless a lift
 * (reached through the pk_hooks table, machine_i.h) turns the call into the value it builds:
 * a datetime, a numpy array, an OrderedDict. Joblib's arrays are the one place where a lift
 * moves the cursor: their bytes follow their BUILD outside the opcode stream (after_build).
 */
#include "decode_i.h"

#include <stdlib.h>

static int lift_fail(pk_lift_ctx *c, pk_code code, const char *what)
{
    return dec_fail((dec *)c->dec, code, what);
}

/* What a hook returned (r), or -1 if the error is set even so: a service it called failed
 * in a way that gives no -1 to pass on (pk_lift_hashable, out of memory, answers false). */
static int hook_done(const dec *d, int r)
{
    return d->err->code != PK_E_OK ? -1 : r;
}

/* REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ: a lifted value, or an opaque object. */
static int make_call(dec *d, pk_how how, uint32_t callable, uint32_t args, uint32_t kwargs)
{
    pk_lift_ctx lc = {.doc = d->doc, .dec = d, .offset = d->op_off, .fail = lift_fail};
    uint32_t lifted = 0;
    if (d->hooks->call &&
        hook_done(d, d->hooks->call(&lc, how, callable, args, kwargs, &lifted)) < 0)
        return -1;
    uint32_t n = lifted;
    if (!n && (!(n = new_node(d, PK_K_OBJECT)) ||
               !dec_record_call(d, n, how, callable, args, kwargs)))
        return -1;
    if (!dec_event(d, PK_EV_CALL, n, callable, args))
        return -1;
    d->callable = callable;
    return dec_note_made(d, n) < 0 ? -1 : push(d, n);
}

static uint32_t new_desc(dec *d, uint16_t tname, uint32_t arg, int64_t code)
{
    uint32_t n = new_node(d, PK_K_DESC);
    if (!n)
        return 0;
    if (!pk_node_set_tname(d->doc, n, tname))
        return dec_oom(d), 0;
    d->doc->nodes[n].u.i = code;
    if (arg) {
        uint32_t c = dec_new_call(d, n);
        if (!c)
            return 0;
        d->doc->calls[c].args = arg;
    }
    return n;
}

/* A persistent id naming a torch storage in the archive becomes that storage (array.c). */
static int lift_persid(dec *d, uint32_t node)
{
    const pk_call *call = pk_call_of(d->doc, &d->doc->nodes[node]);
    if (!dec_event(d, PK_EV_PERSID, node, call ? call->args : 0, 0))
        return -1;
    pk_lift_ctx lc = {.doc = d->doc, .dec = d, .offset = d->op_off, .fail = lift_fail};
    return d->hooks->persid ? hook_done(d, d->hooks->persid(&lc, node)) : 0;
}

/* After BUILD on node: numpy dtypes and arrays take their value here (array.c). And joblib
 * writes each array's bytes right after the BUILD of its NumpyArrayWrapper, outside the opcode
 * stream and after the frame, which it commits first: pk_joblib_build() says how many bytes
 * to step over, or that a whole pickle (an object array's) follows. Then 1: the loop runs
 * that pickle (run_nested, decode.c), whose value takes the wrapper's place on the stack, as
 * joblib's unpickler does. */
static int after_build(dec *d, uint32_t node)
{
    pk_lift_ctx lc = {.doc = d->doc, .dec = d, .offset = d->op_off, .fail = lift_fail};
    pk_kind was = (pk_kind)d->doc->nodes[node].kind;
    if (d->hooks->build && hook_done(d, d->hooks->build(&lc, node)) < 0)
        return -1;
    if (d->doc->nodes[node].kind != was)
        d->shape = 0; /* an object array became a list, which may key the shape */
    if (d->nested || !d->hooks->joblib_build)
        return 0;
    uint64_t used = 0;
    bool nested = false;
    int r = hook_done(d, d->hooks->joblib_build(&lc, node, d->src + d->pos, d->end - d->pos,
                                                 d->pos, &used, &nested));
    if (r <= 0)
        return r;
    if (d->frame_end && d->pos != d->frame_end)
        return dec_fail(d, PK_E_FRAME, "joblib array data inside a frame");
    set_frame(d, 0);
    if (nested)
        return 1;
    d->pos += used; /* checked against the bytes left by pk_joblib_build */
    return 0;
}

/* ---- the opcodes ---- */

int load_global(dec *d)
{
    uint32_t a;
    return dec_read_namepair(d, &a) < 0 ? -1 : push(d, a);
}

/* STACK_GLOBAL: module and name are the two strs on top of the stack. */
int load_stack_global(dec *d)
{
    uint32_t a, b;
    if (!(b = pop(d)) || !(a = pop(d)))
        return -1;
    const pk_node *mn = &d->doc->nodes[a], *nn = &d->doc->nodes[b];
    if (mn->kind != PK_K_STR || nn->kind != PK_K_STR)
        return dec_fail(d, PK_E_BAD_TYPE, "STACK_GLOBAL requires str");
    const uint8_t *mp = pk_span_ptr(d->doc, mn), *np = pk_span_ptr(d->doc, nn);
    /* copy first: the pool may move while the new name is added */
    pk_buf tmp = {0};
    tmp.max = SIZE_MAX;
    pk_buf_put(&tmp, mp, pk_span_len(d->doc, mn));
    size_t split = tmp.len;
    pk_buf_put(&tmp, np, pk_span_len(d->doc, nn));
    if (tmp.failed) {
        pk_buf_free(&tmp);
        return dec_oom(d);
    }
    /* two empty names leave tmp.data NULL, and NULL + 0 is undefined */
    const uint8_t *t = tmp.data ? (const uint8_t *)tmp.data : (const uint8_t *)"";
    uint32_t c = dec_new_global(d, t, split, t + split, tmp.len - split);
    pk_buf_free(&tmp);
    return push(d, c);
}

int load_reduce(dec *d)
{
    uint32_t a, b;
    if (!(b = pop(d)) || !(a = pop(d)))
        return -1;
    return make_call(d, PK_HOW_REDUCE, a, b, 0);
}

int load_newobj(dec *d)
{
    uint32_t a, b;
    if (!(b = pop(d)) || !(a = pop(d)))
        return -1;
    if (d->doc->nodes[b].kind != PK_K_TUPLE)
        return dec_fail(d, PK_E_BAD_TYPE, "NEWOBJ expected an arg tuple");
    return make_call(d, PK_HOW_NEWOBJ, a, b, 0);
}

int load_newobj_ex(dec *d)
{
    uint32_t a, b, c;
    if (!(c = pop(d)) || !(b = pop(d)) || !(a = pop(d)))
        return -1;
    if (d->doc->nodes[b].kind != PK_K_TUPLE)
        return dec_fail(d, PK_E_BAD_TYPE, "NEWOBJ_EX args argument must be a tuple");
    if (d->doc->nodes[c].kind != PK_K_DICT)
        return dec_fail(d, PK_E_BAD_TYPE, "NEWOBJ_EX kwargs argument must be a dict");
    return make_call(d, PK_HOW_NEWOBJ_EX, a, b, c);
}

/* INST: the class named by two lines, its arguments the values above the mark. */
int load_inst(dec *d)
{
    uint32_t a, b;
    int64_t m;
    if (dec_read_namepair(d, &a) < 0 || (m = marker(d)) < 0 ||
        dec_collect(d, PK_K_TUPLE, (uint64_t)m) < 0 || !(b = pop(d)))
        return -1;
    return make_call(d, PK_HOW_INST, a, b, 0);
}

/* OBJ: the class sits right after the mark; the rest are its arguments. */
int load_obj(dec *d)
{
    uint32_t a, b;
    int64_t m = marker(d);
    if (m < 0)
        return -1;
    if (d->sp - (uint64_t)m < 1)
        return dec_underflow(d);
    a = d->stack[m];
    if (dec_collect(d, PK_K_TUPLE, (uint64_t)m + 1) < 0 || !(b = pop(d)))
        return -1;
    d->sp--; /* the class */
    return make_call(d, PK_HOW_OBJ, a, b, 0);
}

/* BUILD on a value that shows no state (an int, a str, a lifted datetime, a persistent id),
 * which CPython would try to set anyway: the value stays as it is, and the BUILD is a value of
 * its own, an object that reads (value).__setstate__(state), for the tree to list in __calls__. */
static int build_on_leaf(dec *d, uint32_t value, uint32_t state)
{
    uint32_t n = new_node(d, PK_K_OBJECT);
    if (!n || !dec_record_call(d, n, PK_HOW_BUILD, 0, value, 0))
        return -1;
    d->doc->calls[pk_node_call(d->doc, &d->doc->nodes[n])].state = state;
    d->doc->dropped = true;
    return dec_note_made(d, n);
}

/* BUILD: the state on top goes to the call record of the value below it, which stays. 1 when
 * a joblib array's whole pickle follows (after_build). */
int load_build(dec *d)
{
    uint32_t a, b;
    if (!(b = pop(d)) || !(a = top(d)) || !dec_event(d, PK_EV_BUILD, a, b, 0))
        return -1;
    pk_kind k = (pk_kind)d->doc->nodes[a].kind;
    if (k == PK_K_GLOBAL && dec_global_to_object(d, a) < 0) /* a module's, say: shown */
        return -1;
    if (!PK_K_IS_CONTAINER(k) && k != PK_K_GLOBAL && k != PK_K_ARRAY)
        return build_on_leaf(d, a, b);
    pk_call *call = dec_call_of(d, a);
    if (!call)
        return -1;
    if (call->state) /* a state replaced: the tree looks for the calls the first one held */
        d->doc->dropped = true;
    call->state = b;
    /* a container's state shows with it, unless the container shows nowhere (a dict key):
     * then the tree lists it with the calls it does not reach */
    if (k != PK_K_OBJECT && dec_note_made(d, a) < 0)
        return -1;
    return after_build(d, a);
}

/* PERSID: the id is a line, which must be UTF-8 (CPython says ASCII, and decodes it so). */
int load_persid(dec *d)
{
    uint64_t len;
    uint32_t a;
    const uint8_t *s = dec_take_line(d, &len);
    if (!s || !dec_valid_utf8(s, len))
        return d->err->code ? -1 : dec_fail(d, PK_E_BAD_ARGUMENT, "persistent IDs must be ASCII");
    if (!(a = dec_new_span(d, PK_K_STR, s, len)) || push(d, new_desc(d, PK_T_PERSID, a, 0)) < 0)
        return -1;
    return lift_persid(d, d->stack[d->sp - 1]);
}

int load_binpersid(dec *d)
{
    uint32_t a = pop(d);
    if (!a || push(d, new_desc(d, PK_T_PERSID, a, 0)) < 0)
        return -1;
    return lift_persid(d, d->stack[d->sp - 1]);
}

/* EXT1, EXT2, EXT4: an extension code, which names a registered callable we do not have.
 * EXT4's is signed, and a code must be positive. */
int load_ext(dec *d, int w)
{
    const uint8_t *s = take(d, (uint64_t)w);
    if (!s)
        return -1;
    int64_t code = w == 4 ? (int32_t)(uint32_t)pk_le(s, 4) : (int64_t)pk_le(s, w);
    if (code <= 0)
        return dec_fail(d, PK_E_BAD_ARGUMENT, "EXT specifies code <= 0");
    return push(d, new_desc(d, PK_T_EXT, 0, code));
}

/* NEXT_BUFFER: an out-of-band buffer, which a file cannot hold: a descriptor numbered in the
 * order of the pickle's buffers. */
int load_next_buffer(dec *d)
{
    return push(d, new_desc(d, PK_T_BUFFER, 0, (int64_t)d->buffers++));
}

/* READONLY_BUFFER: the top value stays as it is. */
int load_readonly_buffer(dec *d)
{
    return top(d) ? 0 : -1;
}
