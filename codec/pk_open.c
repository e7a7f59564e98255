/* pk_open.c: the coordinator: open a document's source, run the pickle machine over it with
 * the lifts as its hooks, lay out the tree, and close it all again. */
#include "ckpt_i.h"
#include "pk_i.h"
#include "prefault_i.h"
#include "tree_i.h"
#include "source_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
    int rc = pk_decode(doc, &pk_lift_hooks, err) < 0 ? -1 : 0;
    if (rc == 0)
        rc = pk_legacy_storages(doc, err);
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
    pk_doc *doc = pk_doc_new(lim);
    if (!doc)
        pk_set_error(err, PK_E_NOMEM, 0, -1, pk_code_text(PK_E_NOMEM));
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
    pk_doc_free(doc);
}
