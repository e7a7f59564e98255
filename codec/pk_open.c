/* pk_open.c: the coordinator: open a document's source, run the pickle machine over it with
 * the lifts as its hooks, lay out the tree, and close it all again. */
#include "ckpt_i.h"
#include "npy_i.h"
#include "pk_i.h"
#include "prefault_i.h"
#include "safetensors_i.h"
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

/* Run the pickle machine over the stream; or, for a format that is no pickle (a .npy file of
 * numbers, a .npz, a safetensors file, a zip of members), its builder, which makes its arrays from the header
 * format.c has read. 0, or -1 with err set. */
static int decode_stream(pk_doc *doc, pk_error *err)
{
    pk_ckpt *k = doc->ckpt;
    int rc;
    if (k && k->npy && !k->npy->object)
        rc = pk_decode_build(doc, &pk_lift_hooks, pk_npy_build, k->npy, err);
    else if (k && k->npz)
        rc = pk_decode_build(doc, &pk_lift_hooks, pk_npz_build, NULL, err);
    else if (k && k->members)
        rc = pk_decode_build(doc, &pk_lift_hooks, pk_zip_build, NULL, err);
    else if (k && k->st)
        rc = pk_decode_build(doc, &pk_lift_hooks, pk_st_build, k->st, err);
    else
        rc = pk_decode(doc, &pk_lift_hooks, err);
    return rc < 0 ? -1 : 0;
}

static int decode_and_lay_out(pk_doc *doc, pk_error *err)
{
    doc->prefault = pk_prefault_start(doc->src_len);
    watch_arrays(doc);
    int rc = decode_stream(doc, err);
    if (rc == 0)
        rc = pk_legacy_storages(doc, err);
    /* read without its central directory (-o partial): refused after all, with the line it is
     * refused with without -o partial, whatever the decode of its members met */
    if (pk_format_cut(doc, err))
        rc = -1;
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

/* A new document over FILE at path, or over buf[0..len) when path is NULL; NULL with err set. */
static pk_doc *open_source(const char *path, const void *buf, size_t len, const pk_limits *lim,
                           pk_error *err)
{
    pk_doc *doc = open_begin(lim, err);
    if (!doc)
        return NULL;
    if (!path) {
        pk_source_memory(doc, buf, len);
    } else if (pk_source_open(doc, path, err) < 0) {
        pk_close(doc);
        return NULL;
    }
    return doc;
}

/* The error of a file that fails at its first opcode as a raw pickle, and looks like something
 * else: text keeps what failed, in brackets. */
static void not_a_pickle(pk_error *err, const char *looks)
{
    char was[120]; /* what failed, cut to leave room for the rest */
    memcpy(was, err->what, sizeof was - 1);
    was[sizeof was - 1] = 0;
    if (strcmp(looks, "text") == 0) {
        snprintf(err->what, sizeof err->what, "not a pickle: the file looks like text (%s)", was);
        return;
    }
    snprintf(err->what, sizeof err->what, "not a pickle: the file looks like %s", looks);
    err->opcode = -1;
}

/* A document that failed to decode, kept (lim.partial) to show what decoded before the error:
 * its root gets the error's line as __error__. When the error came while laying out the tree
 * (a depth limit), no part of that tree can be trusted: the root then shows the error alone.
 * With PK_PARTIAL_CALLS, only the values are kept, for the calls a refusal lists: the root is
 * an empty directory. 0, or -1 when not even that can be laid out. */
static int keep_partial(pk_doc *doc, const pk_error *err)
{
    char line[sizeof err->what + 64];
    pk_error_format(err, line, sizeof line);
    pk_error scratch = {.opcode = -1};
    bool laid_out = doc->nentries != 0;
    if (laid_out)
        pk_build_reset(doc);
    doc->error_at = err->offset + 1;
    doc->error_line = pk_decode_new_text(doc, err->offset, line, strlen(line));
    if (!doc->error_line)
        return -1;
    if (doc->lim.partial == PK_PARTIAL_CALLS) { /* no tree: its root is an empty directory */
        doc->ntops = 0;
        doc->trailing = doc->error_line = 0;
        if (pk_build_tree(doc, &scratch) < 0)
            return -1;
    } else if (laid_out || pk_build_tree(doc, &scratch) < 0) {
        pk_build_reset(doc);
        doc->ntops = 0;
        doc->trailing = 0;
        memset(&scratch, 0, sizeof scratch);
        if (pk_build_tree(doc, &scratch) < 0)
            return -1;
    }
    pk_source_settle(doc);
    return 0;
}

/* Decode the source as each guess of what it is (format.c), in turn, until one decodes. When
 * none does, the error shown is the first guess's (a corrupt gzip stream, say), unless that guess
 * was weak (two bytes that a pickle can begin with too) and the raw pickle got past its first
 * opcode. A file that fails as a raw pickle and begins as a known other format does (a 7z
 * archive, a PDF), or fails at its first opcode and looks like text, is refused saying so.
 * With lim.partial, the document of the guess whose error is shown is kept in *out. */
static int open_doc(const char *path, const void *buf, size_t len, const pk_limits *lim,
                    pk_doc **out, pk_error *err)
{
    pk_guess guesses[PK_GUESS_MAX];
    pk_error first;
    const char *looks = NULL;
    bool partial = lim && lim->partial;
    pk_doc *kept_first = NULL, *kept_last = NULL; /* partial: the first guess's, the last's */
    int n = 1;
    if (partial)
        *out = NULL;
    for (int i = 0; i < n; i++) {
        pk_doc *doc = open_source(path, buf, len, lim, err);
        if (!doc) { /* the file cannot be read: no guess helps */
            pk_close(kept_first);
            return -1;
        }
        if (i == 0) {
            n = pk_format_guess(doc->src, doc->src_len, guesses);
            looks = pk_format_foreign(doc->src, doc->src_len);
        }
        if (pk_format_open(doc, &guesses[i], err) == 0 && decode_and_lay_out(doc, err) == 0) {
            pk_close(kept_first);
            pk_close(kept_last);
            *out = doc;
            return 0;
        }
        pk_format_cut(doc, err); /* what failed after reading an archive without its
                                    directory (-o partial): the directory's error stands */
        if (i == 0)
            first = *err;
        if (!partial)
            pk_close(doc);
        else if (i == 0)
            kept_first = doc;
        else {
            pk_close(kept_last);
            kept_last = doc;
        }
    }
    bool use_first = n > 1 && (!guesses[0].weak || err->offset == 0);
    if (use_first)
        *err = first;
    else if (n == 1 && looks && err->code != PK_E_IO &&
             (err->offset == 0 || strcmp(looks, "text") != 0))
        not_a_pickle(err, looks);
    if (partial) {
        pk_doc *keep = use_first || n == 1 ? kept_first : kept_last;
        pk_close(keep == kept_first ? kept_last : kept_first);
        if (keep && keep_partial(keep, err) == 0)
            *out = keep;
        else
            pk_close(keep);
    }
    return -1;
}

int pk_open(const char *path, const pk_limits *lim, pk_doc **out, pk_error *err)
{
    return open_doc(path, NULL, 0, lim, out, err);
}

int pk_open_memory(const void *buf, size_t len, const pk_limits *lim, pk_doc **out,
                   pk_error *err)
{
    return open_doc(NULL, buf, len, lim, out, err);
}

void pk_close(pk_doc *doc)
{
    if (!doc)
        return;
    pk_source_close(doc);
    pk_doc_free(doc);
}
