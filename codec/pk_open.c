/* pk_open.c: the life of a pk_doc (open, decode, lay out, close), its limits, its errors, and
 * the small growable arrays everything else is built from. */
#include "pk_i.h"
#include "source_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const code_names[] = {
#define PK_ERROR(name, text) #name,
#include "pk_errors.def"
#undef PK_ERROR
};

const char *pk_code_name(pk_code code)
{
    return (unsigned)code < PK_E__COUNT ? code_names[code] : "?";
}

/* The defaults are documented in the README and picklefs.1; change them together. */
void pk_limits_default(pk_limits *lim)
{
    lim->max_depth = 100000;
    lim->max_nodes = 200000000;
    lim->max_memo = 100000000;
    lim->max_decompressed = (uint64_t)8 << 30;
    lim->max_int_digits = 100000;
    lim->max_memory = (uint64_t)16 << 30;
}

void pk_set_error(pk_error *err, pk_code code, uint64_t offset, int opcode, const char *what)
{
    if (!err || err->code != PK_E_OK)
        return; /* the first error is the one that counts */
    err->code = code;
    err->offset = offset;
    err->opcode = opcode;
    snprintf(err->what, sizeof err->what, "%s", what);
}

void pk_error_format(const pk_error *err, char *buf, size_t size)
{
    if (err->code == PK_E_IO) { /* the file could not be read at all: no byte to name */
        snprintf(buf, size, "%s", err->what);
        return;
    }
    const char *name = pk_opcode_name(err->opcode);
    char op[16];
    if (!name) {
        snprintf(op, sizeof op, err->opcode < 0 ? "no opcode" : "0x%02x", err->opcode);
        name = op;
    }
    snprintf(buf, size, "%s at byte %llu (%s)", err->what, (unsigned long long)err->offset, name);
}

/* The capacity pk_grow gives for need elements: cap doubled (16 to start) until it holds them;
 * 0 when that overflows. */
static uint64_t grown_cap(uint64_t cap, uint64_t need, size_t elem)
{
    uint64_t ncap = cap ? cap : 16;
    while (ncap < need) {
        if (ncap > UINT64_MAX / 2)
            return 0;
        ncap *= 2;
    }
    return ncap > SIZE_MAX / elem ? 0 : ncap;
}

bool pk_grow_slow(void **arr, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t ncap = grown_cap(*cap, need, elem);
    if (!ncap)
        return false;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static pk_doc *doc_new(const pk_limits *lim)
{
    pk_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return NULL;
    doc->fd = -1;
    if (lim)
        doc->lim = *lim;
    else
        pk_limits_default(&doc->lim);
    /* node 0 stands for "absent" everywhere; the pool exists from the start, so that
     * pool.data + pos is a valid pointer even for the empty spans of an empty pool */
    if (!pk_grow((void **)&doc->nodes, &doc->cap_nodes, 1024, sizeof(pk_node)) ||
        !pk_grow((void **)&doc->pool.data, &doc->pool.cap, 4096, 1)) {
        free(doc->nodes);
        free(doc);
        return NULL;
    }
    memset(&doc->nodes[0], 0, sizeof(pk_node));
    doc->nnodes = 1;
    return doc;
}

uint64_t pk_node_offset(const pk_doc *doc, uint32_t node)
{
    uint64_t lo = 0, hi = doc->ngroups; /* the last group that starts at node or before it */
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->groups[mid].first <= node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? doc->groups[lo - 1].base + doc->nodes[node].off_delta : 0;
}

/* The bytes held by the arrays that a file can make grow: values and their offsets, chains,
 * items, spans, calls, entries, names, branches, blocks, name tables. */
static uint64_t memory_used(const pk_doc *doc)
{
    return doc->cap_nodes * sizeof(pk_node) + doc->cap_groups * sizeof(pk_off_group) +
           doc->cap_chains * sizeof(pk_chain) +
           doc->cap_items * sizeof(uint32_t) + doc->cap_spans * sizeof(pk_span) +
           doc->cap_calls * sizeof(pk_call) + doc->cap_entries * sizeof(pk_entry) +
           doc->cap_names * sizeof(pk_own_name) + doc->cap_branches * sizeof(pk_branch) +
           doc->cap_blocks * sizeof(pk_block) +
           doc->cap_slots * sizeof(uint32_t) + doc->cap_tables * sizeof(pk_table) +
           (doc->extras ? (doc->extras_mask + 1) * sizeof(pk_extra) : 0) + doc->pool.cap;
}

/* May doc's arrays grow by `more` bytes within max_memory? If not, that is noted for pk_open's
 * error. */
static bool within_memory(pk_doc *doc, uint64_t more)
{
    if (memory_used(doc) + more <= doc->lim.max_memory)
        return true;
    doc->over_memory = true;
    return false;
}

bool pk_doc_grow_slow(pk_doc *doc, void **arr, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    uint64_t ncap = grown_cap(*cap, need, elem);
    return ncap && within_memory(doc, (ncap - *cap) * elem) && pk_grow_slow(arr, cap, need, elem);
}

/* ---- the calls and type names of the values that have them ---- */

/* Node's slot in doc->extras: its own, or the empty one where it would go. */
static pk_extra *extra_find(const pk_doc *doc, uint32_t node)
{
    uint64_t h = (uint64_t)node * 0x9e3779b97f4a7c15ULL;
    for (uint64_t i = (h ^ h >> 32) & doc->extras_mask;; i = (i + 1) & doc->extras_mask)
        if (doc->extras[i].node == node || doc->extras[i].node == 0)
            return &doc->extras[i];
}

const pk_extra *pk_extra_of(const pk_doc *doc, const pk_node *n)
{
    return extra_find(doc, (uint32_t)(n - doc->nodes));
}

/* Room in doc->extras for one more value, keeping it at most half full. */
static bool extras_room(pk_doc *doc)
{
    uint64_t cap = doc->extras ? doc->extras_mask + 1 : 0;
    if (2 * (doc->nextras + 1) <= cap)
        return true;
    uint64_t ncap = cap ? 2 * cap : 64;
    if (!within_memory(doc, (ncap - cap) * sizeof(pk_extra)))
        return false;
    pk_extra *old = doc->extras, *t = calloc(ncap, sizeof *t);
    if (!t)
        return false;
    doc->extras = t;
    doc->extras_mask = ncap - 1;
    for (uint64_t i = 0; i < cap; i++)
        if (old[i].node)
            *extra_find(doc, old[i].node) = old[i];
    free(old);
    return true;
}

/* Node's entry in doc->extras: the one it has, or a new one if make; NULL when it has none
 * and make is false, or when out of memory. */
static pk_extra *extra_for(pk_doc *doc, uint32_t node, bool make)
{
    if (doc->nodes[node].flags & PK_NF_EXTRA)
        return extra_find(doc, node);
    if (!make || !extras_room(doc))
        return NULL;
    pk_extra *x = extra_find(doc, node);
    *x = (pk_extra){.node = node};
    doc->nextras++;
    doc->nodes[node].flags |= PK_NF_EXTRA;
    return x;
}

bool pk_node_set_call(pk_doc *doc, uint32_t node, uint32_t call)
{
    pk_extra *x = extra_for(doc, node, call != 0);
    if (x)
        x->call = call;
    return x || !call;
}

bool pk_node_set_tname(pk_doc *doc, uint32_t node, uint16_t tname)
{
    pk_extra *x = extra_for(doc, node, tname != 0);
    if (x)
        x->tname = tname;
    return x || !tname;
}

bool pk_node_set_wide_span(pk_doc *doc, uint32_t node, pk_span s)
{
    if (!pk_doc_grow(doc, (void **)&doc->spans, &doc->cap_spans, doc->nspans + 1, sizeof(pk_span)))
        return false;
    doc->spans[doc->nspans] = s;
    pk_node *n = &doc->nodes[node];
    n->flags |= PK_NF_WIDE;
    n->u.i = (int64_t)doc->nspans++;
    return true;
}

/* The arrays decoding and layout fill, for the prefault thread to keep ahead of. */
static void watch_arrays(pk_doc *doc)
{
#define WATCH(arr, n, cap) \
    pk_prefault_watch(doc->prefault, (void *const *)&doc->arr, &doc->n, &doc->cap, sizeof *doc->arr)
    WATCH(nodes, nnodes, cap_nodes);
    WATCH(chains, nchains, cap_chains);
    WATCH(items, nitems, cap_items);
    WATCH(calls, ncalls, cap_calls);
    WATCH(pool.data, pool.len, pool.cap);
    WATCH(entries, nentries, cap_entries);
    WATCH(names, nnames, cap_names);
    WATCH(branches, nbranches, cap_branches);
    WATCH(blocks, nblocks, cap_blocks);
#undef WATCH
}

static int decode_and_lay_out(pk_doc *doc, pk_error *err)
{
    doc->prefault = pk_prefault_start(doc->src_len);
    watch_arrays(doc);
    int rc = pk_decode(doc, err) < 0 ? -1 : 0;
    /* laying out reads few of the decoded bytes again: the mapped ones go back first */
    pk_source_release(doc, doc->src_len);
    if (rc == 0)
        rc = pk_build_tree(doc, err) < 0 ? -1 : 0;
    pk_prefault_stop(doc->prefault);
    doc->prefault = NULL;
    if (rc < 0) {
        /* a growth refused by pk_doc_grow surfaces as out of memory: say which */
        if (doc->over_memory && err->code == PK_E_NOMEM) {
            err->code = PK_E_MEMORY_LIMIT;
            snprintf(err->what, sizeof err->what, "memory past the limit of %llu bytes",
                     (unsigned long long)doc->lim.max_memory);
        }
        return -1;
    }
    /* From here on the source is read only through pk_span_read. */
    pk_source_settle(doc);
    return 0;
}

/* A new document with err cleared, or NULL with err set. */
static pk_doc *open_begin(const pk_limits *lim, pk_error *err)
{
    memset(err, 0, sizeof *err);
    err->opcode = -1;
    pk_doc *doc = doc_new(lim);
    if (!doc)
        pk_set_error(err, PK_E_NOMEM, 0, -1, "out of memory");
    return doc;
}

/* Decode doc once its source is set (source_rc 0), or close it. */
static int open_finish(pk_doc *doc, int source_rc, pk_doc **out, pk_error *err)
{
    if (source_rc < 0 || decode_and_lay_out(doc, err) < 0) {
        pk_close(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

int pk_open(const char *path, const pk_limits *lim, pk_doc **out, pk_error *err)
{
    pk_doc *doc = open_begin(lim, err);
    return doc ? open_finish(doc, pk_source_open(doc, path, err), out, err) : -1;
}

int pk_open_memory(const void *buf, size_t len, const pk_limits *lim, pk_doc **out,
                   pk_error *err)
{
    pk_doc *doc = open_begin(lim, err);
    return doc ? open_finish(doc, pk_source_memory(doc, buf, len, err), out, err) : -1;
}

void pk_close(pk_doc *doc)
{
    if (!doc)
        return;
    pk_source_close(doc);
    free(doc->nodes);
    free(doc->groups);
    free(doc->chains);
    free(doc->items);
    free(doc->spans);
    free(doc->calls);
    free(doc->extras);
    free(doc->pool.data);
    free(doc->tops);
    free(doc->entries);
    free(doc->names);
    free(doc->branches);
    free(doc->blocks);
    free(doc->slots);
    free(doc->tables);
    free(doc);
}
