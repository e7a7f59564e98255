/* audit.c: the audit listing (picklefs --audit, pkdump --audit): every name the file looks up
 * and every call it would make, in stream order with their byte offsets, each marked "lifted"
 * (picklefs reads it as data) or "opaque" (anything else), so that CI can refuse a file that
 * would run code it does not know, without running anything.
 *
 * The machine keeps a log of these as it decodes (pk_event in pk_i.h): a call whose result the
 * pickle pops or never places in its value is in the log as much as one in the tree. The
 * verdicts are read off what each event's value became:
 *   call    lifted when its value is no opaque object (a dict, an array, a datetime...)
 *   build   lifted when its target is a value read as data, opaque on an object or a global
 *   persid  lifted when it became a torch storage
 *   global  opaque when it is the callable of an opaque call or the target of an opaque BUILD;
 *           else lifted when it is the callable or an argument of a lifted call, or a class
 *           read as part of data (builtins' plain types, numpy.ndarray, torch's storage
 *           classes); else opaque.
 * A call a lift read as data though its value is not shown (the manager and blocks of a
 * pandas frame, pk_call's read) is lifted too.
 * The events of a pickle nested in a pickle.loads call's argument (decode_nested.c) follow
 * that call's line, their OFFSET prefixed by the call's: "OUTER/INNER".
 */
#include "ckpt_i.h"
#include "pk_i.h"

#include <stdlib.h>
#include <string.h>

/* A line's text is cut here, with "...": a listing is for reading, the mount shows all. */
#define AUDIT_TEXT_MAX 4096
/* Nested pickles are no deeper than the machine's PK_NESTED_DEPTH (decode_i.h), which this
 * file, of a layer above the machine, does not see; the deeper levels would not be named. */
#define PK_NEST_MAX 16

/* Two bits a value, for the globals: used by a lifted call, used by an opaque one. */
enum { USE_LIFTED = 1, USE_OPAQUE = 2 };

static void mark(uint8_t *uses, const pk_doc *doc, uint32_t node, int use)
{
    if (node && doc->nodes[node].kind == PK_K_GLOBAL)
        uses[node / 4] |= (uint8_t)(use << (node % 4 * 2));
}

/* The classes a lifted call names among its arguments (numpy's _reconstruct(ndarray, ...),
 * pandas' _new_Index(Index, ...)) are read as part of its data: its lift let no other through. */
static void mark_class_args(uint8_t *uses, const pk_doc *doc, uint32_t args)
{
    const pk_node *n = &doc->nodes[args];
    if (!args || n->kind != PK_K_TUPLE)
        return;
    pk_cursor cur = pk_items_of(doc, n);
    uint32_t item;
    while (pk_item_next(doc, &cur, &item))
        mark(uses, doc, item, USE_LIFTED);
}

static int uses_of(const uint8_t *uses, uint32_t node)
{
    return uses[node / 4] >> (node % 4 * 2) & 3;
}

static pk_ev ev_what(const pk_event *e)
{
    return (pk_ev)(e->at & 0xff);
}

static bool ev_lifted(const pk_doc *doc, const pk_event *e)
{
    const pk_node *n = &doc->nodes[e->node];
    pk_kind k = (pk_kind)n->kind;
    const pk_call *c = pk_call_of(doc, n);
    if (k == PK_K_OBJECT && c && c->read && (ev_what(e) == PK_EV_CALL || ev_what(e) == PK_EV_BUILD))
        return true; /* read as data by the lift of a value it is part of (a pandas frame) */
    switch (ev_what(e)) {
    case PK_EV_CALL: return k != PK_K_OBJECT;
    case PK_EV_BUILD: return k != PK_K_OBJECT && k != PK_K_GLOBAL && k != PK_K_DESC;
    case PK_EV_PERSID: return k == PK_K_ARRAY;
    default: return false;
    }
}

/* Is the text s[0..len) the name of a class read as part of data, never called by itself? */
static bool inert_class(const char *s, size_t len)
{
    static const char *const names[] = {
        "builtins.object", "builtins.list", "builtins.dict", "builtins.set",
        "builtins.frozenset", "builtins.tuple", "builtins.int", "builtins.float",
        "builtins.complex", "builtins.str", "builtins.bytes", "builtins.bytearray",
        "builtins.bool", "numpy.ndarray",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
            return true;
    /* torch.FloatStorage, torch.cuda.HalfStorage...: module names and a class name */
    if (len < 6 + 7 || memcmp(s, "torch.", 6) != 0 || memcmp(s + len - 7, "Storage", 7) != 0)
        return false;
    for (size_t i = 6; i < len; i++) {
        char c = s[i];
        if (!(c == '.' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static bool global_lifted(const pk_doc *doc, const uint8_t *uses, uint32_t node)
{
    int u = uses_of(uses, node);
    if (u & USE_OPAQUE)
        return false;
    if (u & USE_LIFTED)
        return true;
    pk_span s = pk_node_span(doc, &doc->nodes[node]); /* globals are in the pool */
    return inert_class(doc->pool.data + s.pos, (size_t)s.len);
}

/* callable(arg, ...) from the call's own callable and arguments, as the stream gave them. */
static void call_text(const pk_doc *doc, const pk_event *e, pk_buf *b)
{
    const pk_node *n = &doc->nodes[e->node];
    if (n->kind == PK_K_OBJECT) { /* as its __reduce__ file shows it, for grep */
        pk_render_call(doc, e->node, b);
        return;
    }
    pk_repr(doc, e->a, b);
    pk_buf_puts(b, "(");
    const pk_node *args = &doc->nodes[e->b];
    if (args->kind == PK_K_TUPLE) {
        pk_cursor cur = pk_items_of(doc, args);
        uint32_t arg;
        for (bool first = true; !pk_buf_full(b) && pk_item_next(doc, &cur, &arg); first = false) {
            if (!first)
                pk_buf_puts(b, ", ");
            pk_repr(doc, arg, b);
        }
    } else {
        pk_buf_puts(b, "*");
        pk_repr(doc, e->b, b);
    }
    pk_buf_puts(b, ")");
}

/* BUILD: the class of its target (the callable that made it, or its type), then the state. */
static void build_text(const pk_doc *doc, const pk_event *e, pk_buf *b)
{
    const pk_node *t = &doc->nodes[e->node];
    const pk_call *c = t->kind == PK_K_DESC ? NULL : pk_call_of(doc, t);
    if (t->kind == PK_K_GLOBAL)
        pk_repr(doc, e->node, b);
    else if (c && c->callable && doc->nodes[c->callable].kind == PK_K_GLOBAL)
        pk_repr(doc, c->callable, b);
    else
        pk_buf_puts(b, pk_value_type(doc, e->node));
    pk_buf_puts(b, " ");
    pk_repr(doc, e->a, b);
}

/* The text as it is but for control characters (a STACK_GLOBAL name may hold a newline), which
 * are written \xNN, so that each item is one line. The rest is already repr() text. */
static void put_text(FILE *out, const pk_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

/* The offsets of the calls whose nested pickles the log is in (NEST_IN, NEST_OUT): a line of
 * one reads "OUTER/INNER kind ...", INNER counted in that call's argument. */
typedef struct nest {
    uint64_t at[PK_NEST_MAX];
    int depth;
} nest;

/* A member's name, as one word: its control characters, spaces and backslashes written
 * \xNN. */
static void put_member(FILE *out, const char *name, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c == 0x7f || c == '\\')
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

/* OFFSET: in a zip shown as its members, MEMBER:N, N in the member's bytes; then the nested
 * pickles' /INNER. */
static void put_offset(FILE *out, const pk_doc *doc, const nest *ns, const pk_event *e)
{
    uint64_t off = ns->depth ? ns->at[0] : e->at >> 8, start;
    const pk_zent *z = pk_zip_member_at(doc, off, &start);
    if (z) {
        const pk_ckpt *k = doc->ckpt;
        put_member(out, k->names ? k->names + z->name_pos : "", z->name_len);
        fputc(':', out);
    }
    for (int i = 0; i < ns->depth && i < PK_NEST_MAX; i++)
        fprintf(out, "%llu/", (unsigned long long)(ns->at[i] - (i == 0 && z ? start : 0)));
    fprintf(out, "%llu", (unsigned long long)((e->at >> 8) - (!ns->depth && z ? start : 0)));
}

static int put_line(const pk_doc *doc, const nest *ns, const pk_event *e, bool lifted, FILE *out)
{
    static const char *const what[] = {
        [PK_EV_GLOBAL] = "global", [PK_EV_CALL] = "call", [PK_EV_BUILD] = "build",
        [PK_EV_PERSID] = "persid",
    };
    pk_buf b = {0};
    b.max = AUDIT_TEXT_MAX;
    switch (ev_what(e)) {
    case PK_EV_GLOBAL: pk_repr(doc, e->node, &b); break;
    case PK_EV_CALL: call_text(doc, e, &b); break;
    case PK_EV_BUILD: build_text(doc, e, &b); break;
    case PK_EV_PERSID: pk_repr(doc, e->a, &b); break;
    default: return 0; /* NEST_IN and NEST_OUT: no line of their own */
    }
    if (b.failed) {
        int r = pk_buf_error(&b);
        pk_buf_free(&b);
        return r;
    }
    put_offset(out, doc, ns, e);
    fprintf(out, " %s ", what[ev_what(e)]);
    put_text(out, &b);
    if (b.truncated)
        fputs("...", out);
    fprintf(out, " %s\n", lifted ? "lifted" : "opaque");
    pk_buf_free(&b);
    return 0;
}

int64_t pk_audit(const pk_doc *doc, FILE *out)
{
    uint8_t *uses = calloc(doc->nnodes / 4 + 1, 1);
    if (!uses)
        return -ENOMEM;
    /* first what each global is used for, since a global comes before its calls */
    for (uint64_t i = 0; i < doc->nevents; i++) {
        const pk_event *e = &doc->events[i];
        bool lifted = ev_lifted(doc, e);
        if (ev_what(e) == PK_EV_CALL) {
            mark(uses, doc, e->a, lifted ? USE_LIFTED : USE_OPAQUE);
            if (lifted)
                mark_class_args(uses, doc, e->b);
        } else if (ev_what(e) == PK_EV_BUILD && !lifted) {
            mark(uses, doc, e->node, USE_OPAQUE);
        }
    }
    int64_t opaque = 0;
    nest ns = {.depth = 0};
    for (uint64_t i = 0; i < doc->nevents; i++) {
        const pk_event *e = &doc->events[i];
        if (ev_what(e) == PK_EV_NEST_IN || ev_what(e) == PK_EV_NEST_OUT) {
            if (ev_what(e) == PK_EV_NEST_OUT)
                ns.depth -= ns.depth > 0;
            else if (ns.depth++ < PK_NEST_MAX)
                ns.at[ns.depth - 1] = e->at >> 8;
            continue;
        }
        bool lifted = ev_what(e) == PK_EV_GLOBAL ? global_lifted(doc, uses, e->node)
                                                 : ev_lifted(doc, e);
        int r = put_line(doc, &ns, e, lifted, out);
        if (r < 0) {
            free(uses);
            return r;
        }
        opaque += !lifted;
    }
    free(uses);
    return opaque;
}
