/* decode_nested.c: pickles inside pickles. A call of pickle.loads (or _pickle.loads,
 * pickle._loads; Python 2's cPickle.loads is named pickle.loads by then, lift_names.c) on bytes
 * would unpickle those bytes when the file is loaded, and run every call they hold: a payload
 * wrapped so that the outer pickle shows one innocent-looking call and a blob. So the machine
 * decodes that argument too, as inert as the stream itself, and keeps the value beside the
 * call (pk_call_nested), which the tree shows as __pickle__ beside __args__. This file says
 * which calls those are and makes a copy of their bytes; decode.c runs the pickle on it.
 *
 * The copy is needed because the bytes may be in the pool (a protocol 0 STRING with escapes, a
 * _codecs.encode(...) lifted to bytes), which grows while the nested pickle is decoded; its
 * strs and bytes go to the pool too (dec_new_span), and offsets in it count from its first byte.
 *
 * Bounds, besides the document's own limits, which the nested values count in: PK_NESTED_DEPTH
 * levels, and, in all, PK_NESTED_DEPTH times the stream's length of nested bytes decoded (a
 * stream can name one memoized blob in a million calls); past either, the argument stays
 * bytes, as it always is besides.
 */
#include "decode_i.h"

#include <stdlib.h>
#include <string.h>

/* The callables that unpickle their first argument. Asked of every call the stream makes, so
 * the length of the name rules out nearly all of them first. */
static bool is_loads(const pk_doc *doc, uint32_t callable)
{
    static const struct {
        const char *name;
        uint64_t len;
    } loads[] = {{"pickle.loads", 12}, {"_pickle.loads", 13}, {"pickle._loads", 13}};
    const pk_node *n = &doc->nodes[callable];
    if (!callable || n->kind != PK_K_GLOBAL)
        return false;
    pk_span s = pk_node_span(doc, n); /* a global's name is in the pool */
    if (s.len != 12 && s.len != 13)
        return false;
    for (size_t i = 0; i < sizeof loads / sizeof loads[0]; i++)
        if (s.len == loads[i].len && memcmp(doc->pool.data + s.pos, loads[i].name, s.len) == 0)
            return true;
    return false;
}

/* The bytes pickle.loads would read from its first argument: bytes, a bytearray, or a str of
 * ASCII, as a Python 2 STRING holding a protocol 0 pickle is (Python 2's str is bytes). NULL
 * for anything else; NULL also when the stream is no longer mapped (never while decoding). */
static const uint8_t *loads_bytes(const pk_doc *doc, uint32_t args, uint64_t *len)
{
    const pk_node *a = &doc->nodes[args];
    if (!args || a->kind != PK_K_TUPLE || pk_count(doc, a) < 1)
        return NULL;
    uint32_t first = pk_item_at(doc, a, 0);
    const pk_node *b = &doc->nodes[first];
    if (b->kind != PK_K_BYTES && b->kind != PK_K_BYTEARRAY && b->kind != PK_K_STR)
        return NULL;
    const uint8_t *p = pk_span_ptr(doc, b);
    *len = pk_span_len(doc, b);
    if (!p || *len == 0)
        return NULL;
    if (b->kind == PK_K_STR)
        for (uint64_t i = 0; i < *len; i++)
            if (p[i] & 0x80)
                return NULL;
    return p;
}

int dec_nested_source(dec *d, uint32_t obj, uint8_t **copy, uint64_t *len)
{
    pk_doc *doc = d->doc;
    const pk_node *n = &doc->nodes[obj];
    if (d->depth >= PK_NESTED_DEPTH || n->kind != PK_K_OBJECT || !is_loads(doc, d->callable))
        return 0;
    const pk_call *c = pk_call_of(doc, n);
    if (!c || c->callable != d->callable)
        return 0;
    const uint8_t *p = loads_bytes(doc, c->args, len);
    if (!p)
        return 0;
    uint64_t budget = (uint64_t)PK_NESTED_DEPTH * doc->src_len;
    if (*len > budget || doc->nested_bytes > budget - *len)
        return 0;
    /* the copy, and at most as much again in the pool for its strs and bytes */
    if (*len > UINT64_MAX / 2 || !pk_doc_room(doc, 2 * *len) || !(*copy = malloc(*len)))
        return dec_oom(d);
    memcpy(*copy, p, *len);
    doc->nested_bytes += *len;
    return 1;
}

bool dec_nested_failed(dec *d, const pk_error *was)
{
    switch (was->code) {
    case PK_E_IO: case PK_E_NOMEM: case PK_E_MEMO_LIMIT: case PK_E_DEPTH_LIMIT:
    case PK_E_NODE_LIMIT: case PK_E_MEMORY_LIMIT: case PK_E_DECOMPRESS_LIMIT:
        /* named at the call, whose offset is in the stream; its text keeps what was past */
        memset(d->err, 0, sizeof *d->err);
        pk_set_error(d->err, was->code, d->op_off, d->src[d->op_off], was->what);
        return true;
    default:
        memset(d->err, 0, sizeof *d->err);
        d->err->opcode = -1;
        return false;
    }
}
