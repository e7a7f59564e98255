/* pk_i.h: the codec's private data model, shared by its source files and by nobody else.
 *
 * Decoding produces VALUES (pk_node): one fixed-size record per value the pickle builds, in
 * one growable array. Containers keep their items as a chain of runs in one shared item array
 * (pk_chain), so APPEND on a list that was memoized long ago is O(1) and allocates nothing per
 * node, and the items a SETITEMS or APPENDS adds at once take four bytes each (or, when they
 * are values made one after another, a few bytes in all).
 * Text that picklefs renders itself (escaped names, big ints, repr lines) goes to one byte pool.
 *
 * tree.c then lays out ENTRIES (pk_entry): one per place in the mounted tree. A value reached
 * twice is one entry for its first place and symlink entries elsewhere, so the number of entries
 * is at most the number of container items plus the synthetic entries of objects. Most entries
 * are files in a directory of nothing else (the fields of a record, a list of numbers), and
 * those are not stored: they are derived from their directory's items (pk_entry_get).
 *
 * Everything is built once by pk_open() and never changes afterwards.
 */
#ifndef PK_I_H
#define PK_I_H

#include "buf_i.h"
#include "entry_i.h"
#include "pk.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* What a value is. The order matters only for PK_K_IS_CONTAINER. */
typedef enum pk_kind {
    PK_K_NONE,
    PK_K_BOOL,      /* u.i is 0 or 1 */
    PK_K_INT,       /* u.i */
    PK_K_BIGINT,    /* span: decimal text (with '-') in the pool */
    PK_K_FLOAT,     /* u.f */
    PK_K_STR,       /* span: UTF-8 (surrogates as surrogatepass writes them) */
    PK_K_BYTES,     /* span */
    PK_K_BYTEARRAY, /* span */
    PK_K_TEXT,      /* a lifted value shown as text (datetime, Decimal...): span, no newline;
                       tname names its type */
    PK_K_DESC,      /* an inert descriptor file (persistent id, extension code, buffer):
                       shown from its call's args, or u.i (an extension code); tname names
                       its type */
    PK_K_GLOBAL,    /* span: "module.name" in the pool; never resolved */
    PK_K_ARRAY,     /* a numpy array, torch tensor or storage, shown as a summary file and a
                       raw sibling: u.i indexes doc->ckpt->arrays (ckpt_i.h) */
    PK_K_LIST,      /* chain: items */
    PK_K_TUPLE,     /* chain: items */
    PK_K_DICT,      /* chain: key, value, key, value... */
    PK_K_SET,       /* chain: items */
    PK_K_FROZENSET, /* chain: items */
    PK_K_OBJECT,    /* an opaque call: everything is in doc->calls[call] (its home aside); its
                       chain is empty until an array lift makes it a list (array.c) */
} pk_kind;

/* Kinds with items (pk_items_of) and a home (u.c): the containers, and objects. */
#define PK_K_IS_CONTAINER(k) ((k) >= PK_K_LIST)

/* A span of bytes: in the pool, or (PK_NF_SRC) in the decoded stream. A value keeps its span
 * in 8 bytes when it fits (pk_node_span), else in doc->spans. */
typedef struct pk_span {
    uint64_t pos;
    uint64_t len;
} pk_span;

#define PK_SPAN_LEN_BITS 16 /* a span kept in a value: len in the top 16 bits, pos below */
#define PK_SPAN_POS_MASK (((uint64_t)1 << (64 - PK_SPAN_LEN_BITS)) - 1)

/* A container's items: runs in doc->items. A run at position r holds its length n at
 * items[r], its n item values at items[r+1..r+n], and the position of the next run at
 * items[r+n+1] (0 after the last). Most containers have one run (or none): the value keeps
 * its position (u.c.items). One whose items came in runs that could not be joined (a list
 * appended to after other values were built) has PK_NF_CHAINED and a chain in doc->chains,
 * whose head and tail are run positions.
 *
 * A SHAPED run is a dict's first run whose keys are those of an earlier plain run s, in the
 * same order (records pickled together share their field names): items[r] is 0 (no plain run is
 * empty), items[r+1] is s, the n/2 values follow, then the next-run slot. Its count n is s's,
 * and its readers (pk_cursor, pk_run_item) take each key from s.
 *
 * A SEQUENCE run holds items made one after another, first, first + 1, ... (a wide dict's
 * keys and values, a list of numbers): items[r] and items[r+1] are 0, items[r+2] is n,
 * items[r+3] is first, and its next-run slot is items[r+4]. */
typedef struct pk_chain {
    uint32_t head, tail;
    uint32_t count; /* items in the chain: a dict has 2 per item (there are < 2^32 in all) */
} pk_chain;

/* Strings and bytes stay in the source (PK_NF_SRC) and are read from the file when a user
 * reads them. A str that keys a dict and can be a name (at most PK_NAME_MAX bytes) is copied
 * into the pool instead, so that every name stays readable whatever happens to the file. */
#define PK_NAME_MAX 255 /* bytes in a name (Linux's NAME_MAX) */

enum {
    PK_NF_SRC = 1,      /* its span lies in the source stream, not in the pool */
    PK_NF_FROZEN = 2,   /* a tuple: no more items may be added */
    PK_NF_HASHABLE = 4, /* a tuple or frozenset already found hashable (they never change) */
    PK_NF_NAMED = 8,    /* a str key already checked to be a valid name as it is... */
    PK_NF_NAME_OK = 16, /* ...and found so: dict items it keys are named by it (PK_N_KEY) */
    PK_NF_EXTRA = 32,   /* the value has a call or a type name, kept in doc->extras */
    PK_NF_WIDE = 64,    /* its span did not fit in u.span: u.i indexes doc->spans */
    PK_NF_CHAINED = 128, /* a container whose items are more than one run: u.c.items indexes
                            doc->chains */
};

/* A value: 12 bytes. A container's items are in doc->items (pk_chain), a span too long or
 * too far for 8 bytes is in doc->spans, and the call that built a value and its type name,
 * which few values have, are in doc->extras (pk_node_call, pk_node_tname). The struct is
 * packed, its 8-byte union 4-aligned: its members are read and written in place, never
 * through a pointer of their own. */
typedef struct __attribute__((packed, aligned(4))) pk_node {
    uint8_t kind;       /* pk_kind */
    uint8_t flags;      /* PK_NF_* */
    uint16_t off_delta; /* where the opcode that built it is, from its group's base
                           (pk_node_offset) */
    union {
        int64_t i;     /* ints, bools; arrays; PK_NF_WIDE spans */
        double f;
        uint64_t span; /* len << 48 | pos (pk_node_span) */
        struct {
            uint32_t items; /* containers and objects: the position of their one run, 0
                               if they have no items, or (PK_NF_CHAINED) their chain */
            uint32_t home;  /* tree.c: the entry of their first place in the tree, once laid
                               out, else 0 */
        } c;
    } u;
} pk_node;
_Static_assert(sizeof(pk_node) == 12, "a value is 12 bytes");

#define PK_OFFSET_LIMIT ((uint64_t)1 << 48) /* streams are shorter (pk_decode) */

/* Values are made in stream order, so each keeps the offset of the opcode that built it as a
 * 16-bit delta from the base of its group: a run of values from `first` on, with a new group
 * wherever the delta would not fit (after a long str or bytes). A group every few thousand
 * values on a pickle of records. */
typedef struct pk_off_group {
    uint64_t base;  /* the offset of its first value; PK_GROUP_NESTED set in a nested pickle */
    uint32_t first; /* its first value */
} pk_off_group;
/* The top bit of a group's base (offsets are below 2^48): its values were made by a pickle
 * nested in a pickle.loads call (decode_nested.c), and their offsets count in its bytes. */
#define PK_GROUP_NESTED ((uint64_t)1 << 63)
/* The byte offset in the stream of the opcode that built value node (doc.c); 0 for 0. In a
 * nested pickle, the offset in its bytes, and *nested (when not NULL) set. */
uint64_t pk_node_offset_in(const pk_doc *doc, uint32_t node, bool *nested);
static inline uint64_t pk_node_offset(const pk_doc *doc, uint32_t node)
{
    return pk_node_offset_in(doc, node, NULL);
}

/* What a value with PK_NF_EXTRA has, in an open-addressing table keyed by its node. */
typedef struct pk_extra {
    uint32_t node;  /* 0 in an empty slot */
    uint32_t call;  /* doc->calls index of the call that built the value, 0 if none */
    uint16_t tname; /* PK_K_TEXT, PK_K_DESC, arrays: index in pk_type_names, 0 if none */
} pk_extra;

/* How an object came to be. */
typedef enum pk_how {
    PK_HOW_REDUCE, PK_HOW_NEWOBJ, PK_HOW_NEWOBJ_EX, PK_HOW_INST, PK_HOW_OBJ,
    PK_HOW_GLOBAL, /* no call: a global the pickle mutated (BUILD, SETITEM, APPEND on it), which
                      became an object so that what was done to it shows; callable is its name */
    PK_HOW_BUILD,  /* BUILD on a value that cannot show a state (an int, a lifted datetime):
                      args is that value, state the state, shown as (value).__setstate__(state) */
} pk_how;

/* A recorded call: callable(*args, **kwargs), then BUILD(state), APPENDs and SETITEMs.
 * Node index 0 means "absent" in every field. */
typedef struct pk_call {
    uint32_t callable; /* usually a PK_K_GLOBAL */
    uint32_t args;     /* a tuple, or whatever the pickle put there */
    uint32_t kwargs;   /* NEWOBJ_EX only */
    uint32_t state;    /* the last BUILD argument */
    uint32_t items;    /* a PK_K_LIST made on the first APPEND(S) to an opaque object */
    uint32_t dictitems; /* a PK_K_DICT made on the first SETITEM(S) */
    uint32_t setter;   /* a call setter(value, state) whose result the pickle popped: the
                          state setter of a 6-tuple __reduce__, shown as __setstate__ */
    uint8_t how;       /* pk_how */
    uint8_t read;      /* a lift read the call as data (a pandas frame's manager and blocks):
                          the audit lists it lifted, though its value is no longer shown */
} pk_call;

/* pickle.loads(b'...'): the value of the pickle its argument holds, decoded as inert as any
 * (decode_nested.c) and shown as __pickle__, kept beside the calls (few have one, and a field
 * of pk_call would cost every call of a big file its 4 bytes): doc->nested, sorted by call. */
typedef struct pk_nested {
    uint32_t call;  /* doc->calls index of the pickle.loads call */
    uint32_t value; /* the nested pickle's value */
} pk_nested;
/* The nested pickle's value of call, 0 if it has none (doc.c). */
uint32_t pk_call_nested(const pk_doc *doc, uint32_t call);
/* Give call the nested pickle's value; false when out of memory or past max_memory. */
bool pk_call_set_nested(pk_doc *doc, uint32_t call, uint32_t value);

/* What the audit lists (audit.c): each name the stream looks up and each call, state and
 * persistent id it would have run, in stream order, whether or not the value ends up in the
 * tree (a call whose result is popped is still here). The machine appends one per GLOBAL,
 * STACK_GLOBAL and INST name, per REDUCE, NEWOBJ, NEWOBJ_EX, INST and OBJ, per BUILD and per
 * PERSID and BINPERSID; nothing in the tree refers to them. */
typedef enum pk_ev {
    PK_EV_GLOBAL, PK_EV_CALL, PK_EV_BUILD, PK_EV_PERSID,
    /* the events of a nested pickle (pickle.loads of bytes, decode_nested.c) come between an
     * IN and an OUT, both at the offset of the call whose argument it is (node); their own
     * offsets are in that argument's bytes */
    PK_EV_NEST_IN, PK_EV_NEST_OUT,
} pk_ev;
typedef struct __attribute__((packed, aligned(4))) pk_event {
    uint64_t at;   /* the opcode's byte offset << 8 | pk_ev */
    uint32_t node; /* the global, the call's value (lifted or an object), BUILD's target, the
                      persistent id's value */
    uint32_t a;    /* a call's callable, BUILD's state, a persistent id's argument */
    uint32_t b;    /* a call's arguments */
} pk_event;

/* Extra names for user.pickle.type, indexed by a value's tname (0 means "use the kind's"). */
extern const char *const pk_type_names[];
enum { PK_T_DEFAULT, PK_T_STREAM, PK_T_PERSID, PK_T_EXT, PK_T_BUFFER, PK_T_NDARRAY, PK_T_TENSOR,
       PK_T_STORAGE, PK_T_DTYPE, PK_T__BUILTIN_COUNT };
/* The lifted scalar types (PK_K_TEXT values made in lift_datetime.c and lift_number.c). */
enum { PK_T_DATETIME = PK_T__BUILTIN_COUNT, PK_T_DATE, PK_T_TIME, PK_T_TIMEDELTA, PK_T_TIMEZONE,
       PK_T_DECIMAL, PK_T_COMPLEX, PK_T_DATETIME64, PK_T_TIMEDELTA64, PK_T__LIFTED_END };
/* pandas (pandas_lift.c): a column of objects (PK_K_DESC), a frame's text table (PK_K_DESC),
 * a RangeIndex (PK_K_TEXT). */
enum { PK_T_PDCOLUMN = PK_T__LIFTED_END, PK_T_PDTABLE, PK_T_PDRANGE, PK_T__PANDAS_END };

/* The byte pool: rendered text, names. Grows by doubling with overflow checks. */
typedef struct pk_pool {
    char *data;
    uint64_t len, cap;
} pk_pool;

struct pk_doc {
    /* the decoded stream: an mmap of the file, or a decompressed buffer */
    const uint8_t *src;
    uint64_t src_len;
    int fd;                 /* the source file, for serving large raw spans; -1 if none */
    uint64_t fd_base;       /* stream offset 0 is this file offset (raw pickles: 0) */
    int dir_fd;             /* FILE's directory, for joblib's side files; -1 if none */
    uint64_t src_start;     /* the pickles start here (after a .npy file's header), else 0 */
    bool src_mapped;        /* src is an mmap to unmap; else malloc'ed (or borrowed) */
    uint64_t src_released;  /* bytes of the mapping given back while decoding */
    bool src_owned;
    struct stat st;

    pk_node *nodes;
    uint64_t nnodes, cap_nodes;
    pk_off_group *groups;   /* of the values' offsets, in order (pk_node_offset) */
    uint64_t ngroups, cap_groups;
    pk_chain *chains;       /* of containers with PK_NF_CHAINED, indexed by their u.c.items */
    uint64_t nchains, cap_chains;
    uint32_t *items;        /* the runs of every container (pk_chain); items[0] is unused */
    uint64_t nitems, cap_items;
    uint64_t items_added; /* to every container, in all: below 2^32, however they are kept */
    pk_span *spans;         /* the spans that did not fit in their value (PK_NF_WIDE) */
    uint64_t nspans, cap_spans;
    pk_call *calls;
    uint64_t ncalls, cap_calls;
    pk_event *events;     /* in stream order (pk_event) */
    uint64_t nevents, cap_events;
    pk_extra *extras;     /* the calls and type names of values with PK_NF_EXTRA */
    uint64_t nextras, extras_mask; /* extras_mask + 1 slots, at most half full; 0 if none */
    pk_pool pool;

    uint32_t *tops; /* the top value of each pickle in the file */
    uint64_t ntops, cap_tops;
    /* every value a call opcode (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ) made, lifted or not, in
     * stream order; and whether the stream may have dropped one from the tree (a POP, values
     * left at STOP, a BUILD state replaced or set where it does not show): the tree then lists
     * those it does not reach in __calls__ (tree_calls.c) */
    uint32_t *made;
    uint64_t nmade, cap_made;
    bool dropped;
    uint64_t nested_bytes; /* of the nested pickles decoded so far (decode_nested.c) */
    pk_nested *nested;     /* sorted by call (pk_call_nested) */
    uint64_t nnested, cap_nested;
    /* Where the stream ended (pk_decode): values below stream_nodes were made by the pickles
     * in tops; those from it on by a failed attempt at one more, never shown (trailing aside) */
    uint64_t stream_nodes;
    uint32_t trailing;   /* the bytes after the last pickle that are no pickle: a bytes value
                            shown at the root as __trailing__; 0 if none */
    uint32_t error_line; /* a document kept after an error (partial): the error's one line, a
                            str shown at the root as __error__; 0 otherwise */
    uint64_t error_at;   /* a document kept after an error: the error's offset + 1; else 0 */

    pk_entry *entries; /* the stored entries; entries[0] is unused; PK_ROOT is 1 */
    uint64_t nentries, cap_entries;
    uint64_t nderived; /* entries of derived blocks, not stored */
    pk_own_name *names;   /* the names entries keep themselves (PK_N_OWN) */
    uint64_t nnames, cap_names;
    pk_branch *branches; /* of directory and symlink entries */
    uint64_t nbranches, cap_branches;
    pk_block *blocks;    /* the non-empty blocks of children, in order (pk_parent) */
    uint64_t nblocks, cap_blocks;
    uint32_t *slots;   /* the name tables of large directories, one after another */
    uint64_t nslots, cap_slots;
    pk_table *tables;  /* which directory owns which table, sorted by directory */
    uint64_t ntables, cap_tables;
    uint64_t hash_seed; /* of the names' hashes (tree.c), random per tree */

    pk_limits lim;
    bool over_memory;     /* a growth was refused by pk_doc_grow (max_memory) */
    struct pk_ckpt *ckpt; /* archives and arrays (ckpt_i.h); NULL for a plain pickle */
    struct pk_prefault *prefault; /* while decoding and laying out a big file (prefault.c) */
};

/* Little-endian integers of a file (pickle arguments, zip headers, legacy torch storages),
 * spelled out byte by byte so that they read right on any machine; compilers turn the 4- and
 * 8-byte ones into a single load. */
static inline uint32_t pk_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pk_le64(const uint8_t *p)
{
    return (uint64_t)pk_le32(p) | (uint64_t)pk_le32(p + 4) << 32;
}
/* The n (at most 8) bytes at p. */
static inline uint64_t pk_le(const uint8_t *p, int n)
{
    switch (n) {
    case 1: return p[0];
    case 4: return pk_le32(p);
    case 8: return pk_le64(p);
    default: break;
    }
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Make room for need elements of *arr, doubling *cap; false when that cannot be done. Inline
 * because it runs for nearly every value decoded and every entry laid out, and almost always
 * finds the room already there. */
bool pk_grow_slow(void **arr, uint64_t *cap, uint64_t need, size_t elem);
static inline bool pk_grow(void **arr, uint64_t *cap, uint64_t need, size_t elem)
{
    return need <= *cap || pk_grow_slow(arr, cap, need, elem);
}
/* Append data[0..len) to pool p, its place in *out; false when out of memory. */
static inline bool pk_pool_add(pk_pool *p, const void *data, uint64_t len, pk_span *out)
{
    if (len > UINT64_MAX - p->len || !pk_grow((void **)&p->data, &p->cap, p->len + len, 1))
        return false;
    if (len)
        memcpy(p->data + p->len, data, len);
    out->pos = p->len;
    out->len = len;
    p->len += len;
    return true;
}
/* pk_grow for the arrays of doc that max_memory counts (values, chains, items, spans, calls,
 * entries, names, branches, name tables): a growth past the limit is refused and noted, and
 * pk_open then names the limit in its error. */
bool pk_doc_grow_slow(pk_doc *doc, void **arr, uint64_t *cap, uint64_t need, size_t elem);
/* May the document hold `more` bytes besides its arrays within max_memory (a copy of a nested
 * pickle's bytes)? If not, that is noted, as for a growth refused. */
bool pk_doc_room(pk_doc *doc, uint64_t more);
static inline bool pk_doc_grow(pk_doc *doc, void **arr, uint64_t *cap, uint64_t need,
                               size_t elem)
{
    return need <= *cap || pk_doc_grow_slow(doc, arr, cap, need, elem);
}

/* The span of a str, bytes, bytearray, big int, text, descriptor or global. */
static inline pk_span pk_node_span(const pk_doc *doc, const pk_node *n)
{
    if (n->flags & PK_NF_WIDE)
        return doc->spans[n->u.i];
    return (pk_span){n->u.span & PK_SPAN_POS_MASK, n->u.span >> (64 - PK_SPAN_LEN_BITS)};
}
static inline uint64_t pk_span_len(const pk_doc *doc, const pk_node *n)
{
    return pk_node_span(doc, n).len;
}
/* Where the bytes of a span are while they can be read in place: the source while it is mapped
 * (NULL after), or the pool. */
static inline const uint8_t *pk_span_ptr(const pk_doc *doc, const pk_node *n)
{
    uint64_t pos = pk_node_span(doc, n).pos;
    if (n->flags & PK_NF_SRC)
        return doc->src ? doc->src + pos : NULL;
    return (const uint8_t *)doc->pool.data + pos;
}
/* Give value node the span s, or a copy of data[0..len) added to the pool; false when out of
 * memory or past max_memory. A span that does not fit in the value goes to doc->spans
 * (pk_node_set_wide_span, in pk_open.c). */
bool pk_node_set_wide_span(pk_doc *doc, uint32_t node, pk_span s);
static inline bool pk_node_set_span(pk_doc *doc, uint32_t node, pk_span s)
{
    pk_node *n = &doc->nodes[node];
    if (s.pos > PK_SPAN_POS_MASK || s.len >> PK_SPAN_LEN_BITS)
        return pk_node_set_wide_span(doc, node, s);
    n->flags &= (uint8_t)~PK_NF_WIDE;
    n->u.span = s.len << (64 - PK_SPAN_LEN_BITS) | s.pos;
    return true;
}
static inline bool pk_node_set_text(pk_doc *doc, uint32_t node, const void *data, uint64_t len)
{
    pk_span s;
    return pk_pool_add(&doc->pool, data, len, &s) && pk_node_set_span(doc, node, s);
}
/* Copy the span of value node from the source into the pool, while the source is there (a
 * dict key that names an entry, PK_NAME_MAX); false when out of memory or past max_memory. */
static inline bool pk_node_to_pool(pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    if (!(n->flags & PK_NF_SRC))
        return true;
    const uint8_t *p = pk_span_ptr(doc, n);
    if (!p || !pk_node_set_text(doc, node, p, pk_span_len(doc, n)))
        return false;
    doc->nodes[node].flags &= (uint8_t)~PK_NF_SRC;
    return true;
}
/* Can s[0..len) be an entry's name as it is? (names.c) */
bool pk_valid_name(const char *s, size_t len);
/* Is dict key `key` a str that names its entry as it is? 1 if so, 0 if not, -1 when out of
 * memory. A str key is checked once (a key that many dicts share, the memoized field names of
 * records, at its first dict: pk_key_check_name in names.c), and copied into the pool if it is
 * at most PK_NAME_MAX bytes, so that what shows it stays readable whatever happens to the
 * file. */
int pk_key_check_name(pk_doc *doc, uint32_t key);
static inline int pk_key_is_name(pk_doc *doc, uint32_t key)
{
    const pk_node *k = &doc->nodes[key];
    if (k->kind != PK_K_STR)
        return 0;
    if (!(k->flags & PK_NF_NAMED))
        return pk_key_check_name(doc, key);
    return (k->flags & PK_NF_NAME_OK) != 0;
}
/* A value's call and type name (pk_open.c), 0 when it has none. The setters add the value to
 * doc->extras, and fail only when that is out of memory or past max_memory. */
const pk_extra *pk_extra_of(const pk_doc *doc, const pk_node *n);
static inline uint32_t pk_node_call(const pk_doc *doc, const pk_node *n)
{
    return n->flags & PK_NF_EXTRA ? pk_extra_of(doc, n)->call : 0;
}
static inline uint16_t pk_node_tname(const pk_doc *doc, const pk_node *n)
{
    return n->flags & PK_NF_EXTRA ? pk_extra_of(doc, n)->tname : 0;
}
/* The record of the call that built a value, NULL if none did. */
static inline pk_call *pk_call_of(const pk_doc *doc, const pk_node *n)
{
    uint32_t c = pk_node_call(doc, n);
    return c ? &doc->calls[c] : NULL;
}
bool pk_node_set_call(pk_doc *doc, uint32_t node, uint32_t call);
bool pk_node_set_tname(pk_doc *doc, uint32_t node, uint16_t tname);
/* Set err, unless it holds an error already (the first one counts); what NULL: the code's own
 * text from pk_errors.def. */
void pk_set_error(pk_error *err, pk_code code, uint64_t offset, int opcode, const char *what);
/* The default text of an error code ("out of memory"). */
const char *pk_code_text(pk_code code);
/* A new, empty document (node 0 and the pool made), or NULL; pk_doc_free frees its arrays. */
pk_doc *pk_doc_new(const pk_limits *lim);
void pk_doc_free(pk_doc *doc);
/* user.pickle.type of a value */
const char *pk_value_type(const pk_doc *doc, uint32_t node);

/* render.c */
/* Render a value's file content (leaf values only) into b. */
void pk_render_leaf(const pk_doc *doc, uint32_t node, pk_buf *b);
/* Python's repr() of a value, elided past b->max. */
void pk_repr(const pk_doc *doc, uint32_t node, pk_buf *b);
/* The same, visiting at most *steps values (fewer when b->max asks for fewer), which are taken
 * off *steps: a budget shared by many reprs (the set elements of a whole tree). */
void pk_repr_steps(const pk_doc *doc, uint32_t node, pk_buf *b, uint64_t *steps);
/* The __reduce__ line of an object. */
void pk_render_call(const pk_doc *doc, uint32_t node, pk_buf *b);
/* Is the value shown as a directory? */
static inline bool pk_is_dir_value(const pk_doc *doc, uint32_t node)
{
    return PK_K_IS_CONTAINER(doc->nodes[node].kind);
}

/* A container's items as runs, and walking them (items_i.h) */
#include "items_i.h"

#endif
