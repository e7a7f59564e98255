/* calls.c: what a program over the codec says beside the tree: the bytes after the last
 * pickle of the stream (pk_trailing), and the list of calls a file decoded, in stream order,
 * that follows a refusal (pk_print_calls): what CPython would already have run when it met the
 * error.
 */
#include "ckpt_i.h"
#include "pk_i.h"

#include <inttypes.h>

bool pk_trailing(const pk_doc *doc, uint64_t *offset, uint64_t *len)
{
    if (!doc || !doc->trailing)
        return false;
    const pk_node *n = &doc->nodes[doc->trailing];
    *offset = pk_node_offset(doc, doc->trailing);
    *len = pk_span_len(doc, n);
    return true;
}

/* Was value node built by a call that it would run (not a persistent id, nor a BUILD alone)? */
static bool is_call(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    if (!(n->flags & PK_NF_EXTRA) || n->kind == PK_K_DESC)
        return false;
    const pk_call *c = pk_call_of(doc, n);
    return c && c->callable;
}

int pk_print_calls(const pk_doc *doc, FILE *out, uint64_t most)
{
    pk_error cut;
    /* an archive read without its central directory: torch.load fails before unpickling */
    if (!doc || pk_format_cut(doc, &cut))
        return 0;
    uint64_t shown = 0, more = 0;
    pk_buf b = {0};
    int rc = 0;
    /* values are made in stream order, each call's when its opcode runs; in a document kept
     * after an error, those after the error's offset were decoded past a frame cut short, and
     * CPython would not have run them */
    uint64_t until = doc->error_at ? doc->error_at - 1 : UINT64_MAX;
    for (uint64_t i = 1; i < doc->nnodes && i < doc->stream_nodes; i++) {
        /* a call in a nested pickle (pickle.loads of bytes) counts in those bytes: it ran
         * when the call that unpickled them did, which is listed before it */
        bool nested = false;
        uint64_t at = pk_node_offset_in(doc, (uint32_t)i, &nested);
        if (!is_call(doc, (uint32_t)i) || (!nested && at >= until))
            continue;
        if (shown == most) {
            more++;
            continue;
        }
        b.len = 0;
        b.truncated = b.failed = b.unreadable = false;
        b.max = 4096;
        pk_render_call(doc, (uint32_t)i, &b);
        if (b.failed && !b.unreadable) {
            rc = -ENOMEM;
            break;
        }
        fprintf(out, "  call at byte %" PRIu64 "%s: %.*s\n", at,
                nested ? " of a nested pickle" : "", (int)b.len,
                b.unreadable ? "(unreadable: FILE changed)" : b.data);
        shown++;
    }
    if (more)
        fprintf(out, "  and %" PRIu64 " more call%s\n", more, more == 1 ? "" : "s");
    pk_buf_free(&b);
    return rc;
}
