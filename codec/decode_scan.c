/* decode_scan.c: do bytes that begin with no PROTO hold pickles of protocol 0 or 1, one or
 * several back to back?
 *
 * A pickle of protocol 2 to 5 announces itself with PROTO; one of protocol 0 or 1 begins with
 * any opcode, so a zip member of one is told from text or data only by reading it through. The
 * scan steps over each opcode and its argument as pickletools does, keeping only the depth of
 * the stack and of its marks, and says yes when every opcode is one of protocols 0 and 1 with a
 * well-formed argument, every pop has something to pop, and the bytes end exactly at a STOP.
 * It builds nothing, so a member that is no pickle costs nothing but the scan; one that passes
 * is then decoded for real (pk_lift_pickle), which may still refuse it (a memo index never put,
 * a string literal with a bad escape), as for any pickle.
 */
#include "decode_i.h"
#include "machine_i.h"

#define SCAN_MARKS 1024 /* deeper nesting: no pickle picklefs recognises by scanning */

typedef struct scan {
    const uint8_t *p;
    uint64_t pos, end;
    uint64_t depth;  /* values on the stack */
    uint32_t nmarks; /* marks, each the depth when it was set */
    uint64_t marks[SCAN_MARKS];
} scan;

/* The protocol of each opcode byte, 0xff for no opcode. */
static uint8_t protocol_of(uint8_t op)
{
    switch (op) {
#define PK_OP(name, byte, arg, proto) \
    case byte: return proto;
#include "opcodes.def"
#undef PK_OP
    default: return 0xff;
    }
}

/* The line at pos (up to '\n'): its length in *n, and pos past the '\n'. */
static bool scan_line(scan *s, uint64_t *n)
{
    const uint8_t *at = s->p + s->pos;
    const uint8_t *nl = memchr(at, '\n', (size_t)(s->end - s->pos));
    if (!nl)
        return false;
    *n = (uint64_t)(nl - at);
    s->pos += *n + 1;
    return true;
}

/* Is every byte of p[0..n) in set? (and n not 0) */
static bool all_in(const uint8_t *p, uint64_t n, const char *set)
{
    for (uint64_t i = 0; i < n; i++)
        if (!p[i] || !strchr(set, p[i]))
            return false;
    return n > 0;
}

/* Step over n bytes. */
static bool scan_skip(scan *s, uint64_t n)
{
    if (n > s->end - s->pos)
        return false;
    s->pos += n;
    return true;
}

/* A little-endian count of w bytes, then that many bytes; a 4-byte one signed when is_signed. */
static bool scan_counted(scan *s, int w, bool is_signed)
{
    if ((uint64_t)w > s->end - s->pos)
        return false;
    uint64_t n = 0;
    for (int i = w; i-- > 0;)
        n = n << 8 | s->p[s->pos + (uint64_t)i];
    if (is_signed && w == 4 && (n & 0x80000000u))
        return false;
    s->pos += (uint64_t)w;
    return scan_skip(s, n);
}

/* The argument of op, after its byte: stepped over when well formed. */
static bool scan_arg(scan *s, uint8_t op)
{
    const uint8_t *a = s->p + s->pos;
    uint64_t n, m;
    switch (op) {
    case OP_INT:
    case OP_GET:
    case OP_PUT: return scan_line(s, &n) && all_in(a, n, "+-0123456789");
    case OP_LONG: return scan_line(s, &n) && all_in(a, n, "+-0123456789L");
    case OP_FLOAT: return scan_line(s, &n) && all_in(a, n, "+-.0123456789eEinfatyINFATY");
    case OP_STRING: /* a quoted literal, as repr() writes it */
        return scan_line(s, &n) && n >= 2 && (a[0] == '\'' || a[0] == '"') && a[n - 1] == a[0];
    case OP_UNICODE:
    case OP_PERSID: return scan_line(s, &n);
    case OP_GLOBAL:
    case OP_INST: return scan_line(s, &n) && n > 0 && scan_line(s, &m) && m > 0;
    case OP_BININT:
    case OP_LONG_BINGET:
    case OP_LONG_BINPUT: return scan_skip(s, 4);
    case OP_BININT1:
    case OP_BINGET:
    case OP_BINPUT: return scan_skip(s, 1);
    case OP_BININT2: return scan_skip(s, 2);
    case OP_BINFLOAT: return scan_skip(s, 8);
    case OP_BINSTRING: return scan_counted(s, 4, true);
    case OP_SHORT_BINSTRING: return scan_counted(s, 1, false);
    case OP_BINUNICODE: return scan_counted(s, 4, false);
    default: return true;
    }
}

/* The values above the last mark. */
static uint64_t above_mark(const scan *s)
{
    return s->depth - (s->nmarks ? s->marks[s->nmarks - 1] : 0);
}

/* Back to the last mark: false when there is none. */
static bool pop_mark(scan *s)
{
    if (!s->nmarks)
        return false;
    s->depth = s->marks[--s->nmarks];
    return true;
}

/* What op does to the stack, as CPython's unpickler does it; false on an underflow. */
static bool scan_effect(scan *s, uint8_t op)
{
    uint64_t k = above_mark(s);
    switch (op) {
    case OP_MARK:
        if (s->nmarks == SCAN_MARKS)
            return false;
        s->marks[s->nmarks++] = s->depth;
        return true;
    case OP_POP_MARK: return pop_mark(s);
    case OP_LIST:
    case OP_TUPLE:
    case OP_INST: return pop_mark(s) && (++s->depth, true);
    case OP_DICT: return k % 2 == 0 && pop_mark(s) && (++s->depth, true);
    case OP_APPENDS:
    case OP_SETITEMS: /* onto the list or dict below the mark */
        return (op == OP_APPENDS || k % 2 == 0) && pop_mark(s) && above_mark(s) >= 1;
    case OP_OBJ: return k >= 1 && pop_mark(s) && (++s->depth, true);
    case OP_APPEND:
    case OP_REDUCE:
    case OP_BUILD: return k >= 2 && (--s->depth, true);
    case OP_SETITEM: return k >= 3 && (s->depth -= 2, true);
    case OP_POP: return k >= 1 ? (--s->depth, true) : pop_mark(s);
    case OP_DUP: return k >= 1 && (++s->depth, true);
    case OP_PUT:
    case OP_BINPUT:
    case OP_LONG_BINPUT:
    case OP_BINPERSID: return k >= 1;
    default: ++s->depth; return true; /* every other opcode of protocols 0 and 1 pushes one */
    }
}

bool pk_scan_old_pickles(const uint8_t *p, uint64_t len)
{
    static __thread scan s; /* 8 KiB of marks: not on the stack */
    if (len < 2 || p[len - 1] != OP_STOP)
        return false;
    s.p = p;
    s.pos = 0;
    s.end = len;
    while (s.pos < s.end) { /* one pickle */
        s.depth = 0;
        s.nmarks = 0;
        for (;;) {
            uint8_t op = s.p[s.pos++];
            if (protocol_of(op) > 1)
                return false;
            if (op == OP_STOP) {
                if (above_mark(&s) < 1)
                    return false;
                break;
            }
            if (!scan_arg(&s, op) || !scan_effect(&s, op) || s.pos >= s.end)
                return false;
        }
    }
    return true;
}
