/* tree_add.c: the entries the builder (build_i.h) lays out, one at a time: the children of a
 * list or tuple (named by index), of a dict (named by their keys), of an object (__reduce__,
 * __args__, its state, its items), and the names picklefs makes, with the hidden NAME.raw of
 * an array, at the end of its block.
 *
 * Each child is added to the end of doc->entries, so a container's children are one block;
 * their names are made unique once the block is complete (pk_build_unique_block). new_entry is
 * inline: it runs once for every stored entry.
 */
#include "build_i.h"
#include "prefault_i.h"

#include <string.h>

static inline uint32_t new_entry(builder *bd, uint32_t dir, uint32_t node, uint32_t key,
                                 pk_role role, pk_name_kind kind);

/* An array or tensor NAME (a file: its summary) gets a hidden sibling NAME.raw, its element
 * bytes (array_raw.c); a NAME too long for the suffix is cut at a character boundary first. */
static bool add_raw(builder *bd, uint32_t dir, uint32_t e)
{
    char buf[PK_NAME_BUF];
    size_t full, len;
    const char *name = pk_entry_name(bd->doc, e, buf, &full);
    len = full;
    while (len > PK_NAME_MAX - 4 ||
           (len > 0 && len < full && ((uint8_t)name[len] & 0xc0) == 0x80))
        len--;
    bd->name.len = 0;
    pk_buf_put(&bd->name, name, len);
    pk_buf_puts(&bd->name, ".raw");
    return new_entry(bd, dir, bd->doc->entries[e].node, 0, PK_R_RAW, PK_N_OWN) != 0;
}

/* Entry x becomes a directory or a symlink (ftype), with a branch to hold what that needs; what
 * its aux kept of its name moves there. */
bool pk_build_make_branch(builder *bd, pk_entry *x, pk_ftype ftype)
{
    pk_doc *doc = bd->doc;
    if (doc->nbranches >= UINT32_MAX ||
        !pk_doc_grow(doc, (void **)&doc->branches, &doc->cap_branches, doc->nbranches + 1,
                     sizeof(pk_branch)))
        return false;
    pk_branch *b = &doc->branches[doc->nbranches];
    memset(b, 0, sizeof *b);
    b->name_aux = x->aux;
    x->aux = (uint32_t)doc->nbranches++;
    x->ftype = (uint8_t)ftype;
    return true;
}

/* Add a child entry of dir, its name given by kind: for PK_N_OWN, bd->name (made unique by
 * pk_build_unique_block() once its block is complete). Returns its index or 0. */
static inline uint32_t new_entry(builder *bd, uint32_t dir, uint32_t node, uint32_t key,
                                 pk_role role, pk_name_kind kind)
{
    (void)dir; /* the block being laid out is dir's */
    pk_doc *doc = bd->doc;
    if (bd->name.failed)
        return pk_build_oom(bd), 0;
    if (doc->nentries >= UINT32_MAX - 1)
        return pk_build_refuse(bd, node, PK_E_NODE_LIMIT, "more entries than the limit"), 0;
    if (!pk_doc_grow(doc, (void **)&doc->entries, &doc->cap_entries, doc->nentries + 1,
                     sizeof(pk_entry)))
        /* out of memory, or the memory limit (pk_open names it), at the value being laid out */
        return pk_build_refuse(bd, node, PK_E_NOMEM, pk_code_text(PK_E_NOMEM)), 0;
    uint32_t e = (uint32_t)doc->nentries;
    if (e % 8192 == 0) /* every 96 KiB of entries */
        pk_prefault_hint(doc->prefault);
    pk_entry *x = &doc->entries[e];
    memset(x, 0, sizeof *x);
    x->ftype = PK_FILE; /* until walk() finds it is a directory or a symlink */
    /* duplicates within the directory are renamed once its block is complete
     * (pk_build_unique_block) */
    x->name_kind = (uint8_t)kind;
    if (kind == PK_N_OWN && !pk_build_own_name(bd, x, key))
        return pk_build_oom(bd), 0;
    if (kind == PK_N_KEY)
        x->aux = key;
    x->node = node;
    x->role = (uint8_t)role;
    doc->nentries++;
    bd->name.len = 0;
    return e;
}

/* The hidden NAME.raw of each array among entries first..first+n-1 of dir, after them: a
 * directory lists its children up to the first PK_R_RAW entry (entry_i.h), and pk_lookup finds
 * the rest. Added before the names are made unique, so a listed name always wins over a hidden
 * one: a real key NAME.raw keeps its name, and the hidden one becomes NAME.raw~1. */
int pk_build_add_hidden(builder *bd, uint32_t dir, uint32_t first, uint64_t n)
{
    for (uint64_t j = 0; j < n; j++) {
        const pk_entry *x = &bd->doc->entries[first + j];
        if (x->role == PK_R_VALUE && bd->doc->nodes[x->node].kind == PK_K_ARRAY &&
            !add_raw(bd, dir, (uint32_t)(first + j)))
            return -1;
    }
    return 0;
}

uint32_t pk_build_add_named(builder *bd, uint32_t dir, const char *name, uint32_t node,
                            pk_role role)
{
    bd->name.len = 0;
    pk_buf_puts(&bd->name, name);
    return new_entry(bd, dir, node, 0, role, PK_N_OWN);
}

/* Item i is named i: that is its position in the block (whose first entry is first), unless
 * something came before it (an object's __reduce__), and then the name is kept. */
uint32_t pk_build_add_indexed(builder *bd, uint32_t dir, uint32_t first, uint64_t i, uint32_t node)
{
    if (i == bd->doc->nentries - first)
        return new_entry(bd, dir, node, 0, PK_R_VALUE, PK_N_INDEX);
    char t[24];
    size_t n = fmt_index(i, t);
    bd->name.len = 0;
    pk_buf_put(&bd->name, t, n);
    return new_entry(bd, dir, node, 0, PK_R_VALUE, PK_N_OWN);
}

int pk_build_add_items(builder *bd, uint32_t dir, const pk_node *c)
{
    pk_cursor cur = pk_items_of(bd->doc, c);
    uint32_t first = pk_branch_of(bd->doc, dir)->u.dir.first, item;
    for (uint64_t i = 0; pk_item_next(bd->doc, &cur, &item); i++)
        if (!pk_build_add_indexed(bd, dir, first, i, item))
            return -1;
    return 0;
}

int pk_build_add_pairs(builder *bd, uint32_t dir, const pk_node *c)
{
    pk_doc *doc = bd->doc;
    pk_cursor cur = pk_items_of(doc, c);
    uint32_t key, value;
    while (pk_item_next(doc, &cur, &key) && pk_item_next(doc, &cur, &value)) {
        pk_name_kind kind = PK_N_KEY;
        bd->name.len = 0;
        if (!pk_build_key_is_name(doc, key)) {
            pk_build_key_name(doc, key, &bd->name);
            kind = PK_N_OWN;
        }
        if (!new_entry(bd, dir, value, key, PK_R_VALUE, kind))
            return -1;
    }
    return 0;
}

/* An object's directory: __reduce__, __args__, __pickle__, its state and state setter, then its items. */
int pk_build_add_object(builder *bd, uint32_t dir, uint32_t node)
{
    const pk_doc *doc = bd->doc;
    uint32_t call_index = pk_node_call(doc, &doc->nodes[node]);
    const pk_call call = doc->calls[call_index];
    if (!pk_build_add_named(bd, dir, "__reduce__", node, PK_R_REDUCE))
        return -1;
    /* a callable the pickle built (getattr(...), a functools.partial) has its own state */
    if (call.callable && doc->nodes[call.callable].kind != PK_K_GLOBAL &&
        !pk_build_add_named(bd, dir, "__callable__", call.callable, PK_R_VALUE))
        return -1;
    const pk_node *args = call.args ? &doc->nodes[call.args] : NULL;
    if (args && !(args->kind == PK_K_TUPLE && pk_count(doc, args) == 0))
        if (!pk_build_add_named(bd, dir, "__args__", call.args, PK_R_VALUE))
            return -1;
    if (call.kwargs && pk_count(doc, &doc->nodes[call.kwargs]))
        if (!pk_build_add_named(bd, dir, "__kwargs__", call.kwargs, PK_R_VALUE))
            return -1;
    /* pickle.loads(b'...'): the pickle its argument holds, decoded */
    uint32_t nested = pk_call_nested(doc, call_index);
    if (nested && !pk_build_add_named(bd, dir, "__pickle__", nested, PK_R_VALUE))
        return -1;
    if (call.state) {
        const pk_node *st = &doc->nodes[call.state];
        uint32_t dict = 0, slots = 0;
        if (st->kind == PK_K_DICT) {
            dict = call.state;
        } else if (st->kind == PK_K_TUPLE && pk_count(doc, st) == 2) {
            /* (dict or None, slots dict): both become entries */
            uint32_t a = pk_item_at(doc, st, 0), b = pk_item_at(doc, st, 1);
            if ((doc->nodes[a].kind == PK_K_DICT || doc->nodes[a].kind == PK_K_NONE) &&
                doc->nodes[b].kind == PK_K_DICT) {
                dict = doc->nodes[a].kind == PK_K_DICT ? a : 0;
                slots = b;
            }
        }
        if (dict || slots) {
            if ((dict && pk_build_add_pairs(bd, dir, &doc->nodes[dict]) < 0) ||
                (slots && pk_build_add_pairs(bd, dir, &doc->nodes[slots]) < 0))
                return -1;
        } else if (!pk_build_add_named(bd, dir, "__state__", call.state, PK_R_VALUE)) {
            return -1;
        }
    }
    /* the call setter(self, state) that a 6-tuple __reduce__ set its state with */
    if (call.setter && !pk_build_add_named(bd, dir, "__setstate__", call.setter, PK_R_VALUE))
        return -1;
    if (call.items && pk_build_add_items(bd, dir, &doc->nodes[call.items]) < 0)
        return -1;
    if (call.dictitems && pk_build_add_pairs(bd, dir, &doc->nodes[call.dictitems]) < 0)
        return -1;
    return 0;
}
