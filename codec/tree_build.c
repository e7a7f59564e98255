/* tree_build.c: lay the decoded values out as the mounted tree (docs/CONTRACT.md): the walk.
 *
 * One depth-first walk in preorder, with an explicit stack so that no nesting depth can
 * overflow the C stack. A container's children are laid out as one contiguous block of entries
 * when the container is first reached; each child then becomes a directory (first place of a
 * container), a symlink (a container reached again, cycles included) or a file (a leaf).
 *
 * Names are unique per directory: once a block is laid out, later duplicates get ~N (a scan for
 * small blocks, a scratch hash table for large ones). Lookups after the mount need no table for
 * most directories: a list's children are named by their index, so a decimal name is tried at
 * that index first, and a small directory is scanned. Only large directories whose names are
 * not their indices (wide dicts) go into the (parent, name) hash table, built once at the end.
 * Most names are not stored at all (pk_name_kind): a list item is named by its position in the
 * block, a dict item by its str key's bytes in the pool. Only the others (escaped keys, renamed
 * duplicates, names picklefs makes) keep a span in doc->names.
 *
 * Most entries are not stored either: a block of plain files named as their items are (a
 * record's fields, a list of numbers) is never laid out. Its names are checked for duplicates
 * on the container's items, and its directory is marked derived (PK_EF_DERIVED in entry_i.h):
 * its entries are read off the items.
 *
 * The walk is here; what it lays out at each place is in the files build_i.h lists: the
 * entries of a container or object (tree_add.c), of a set (tree_set.c), derived blocks
 * (tree_derived.c), names (tree_names.c) and name tables (tree_table.c). tree.c answers the
 * queries on the tree once it is laid out.
 */
#include "build_i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* Does the root show more than its value: the bytes after the stream, an error? */
static bool root_extras(const builder *bd)
{
    return bd->ncalls || bd->doc->trailing || bd->doc->error_line;
}

/* Those, after the root's own children: renamed like any other name when one is taken. */
static int add_root_extras(builder *bd)
{
    pk_doc *doc = bd->doc;
    /* the calls the tree does not reach otherwise */
    if (bd->ncalls && !pk_build_add_named(bd, PK_ROOT, "__calls__", 0, PK_R_CALLS))
        return -1;
    if (doc->trailing && !pk_build_add_named(bd, PK_ROOT, "__trailing__", doc->trailing,
                                             PK_R_VALUE))
        return -1;
    if (doc->error_line && !pk_build_add_named(bd, PK_ROOT, "__error__", doc->error_line,
                                               PK_R_VALUE))
        return -1;
    return 0;
}

/* Entry dir becomes a directory with a branch, its children laid out as one block. */
static __attribute__((noinline)) int lay_out_children(builder *bd, uint32_t dir)
{
    pk_doc *doc = bd->doc;
    uint32_t first = (uint32_t)doc->nentries;
    const pk_entry x = doc->entries[dir];
    int rc = 0;
    if (!pk_build_make_branch(bd, &doc->entries[dir], PK_DIR))
        return pk_build_oom(bd);
    /* the children's index names are counted from here, so it is set before they are made */
    pk_branch_of(doc, dir)->u.dir.first = first;
    if (!pk_doc_grow(doc, (void **)&doc->blocks, &doc->cap_blocks, doc->nblocks + 1,
                     sizeof(pk_block)))
        return pk_build_oom(bd);
    doc->blocks[doc->nblocks++] = (pk_block){first, dir};
    if (x.role == PK_R_STREAM || x.role == PK_R_CALLS) {
        bool stream = x.role == PK_R_STREAM;
        uint64_t n = stream ? doc->ntops : bd->ncalls;
        for (uint64_t i = 0; i < n && rc == 0; i++)
            if (!pk_build_add_indexed(bd, dir, first, i, stream ? doc->tops[i] : bd->calls[i]))
                rc = -1;
    } else {
        const pk_node *n = &doc->nodes[x.node];
        switch ((pk_kind)n->kind) {
        case PK_K_LIST:
        case PK_K_TUPLE: rc = pk_build_add_items(bd, dir, n); break;
        case PK_K_DICT: rc = pk_build_add_pairs(bd, dir, n); break;
        case PK_K_SET:
        case PK_K_FROZENSET: rc = pk_build_add_set(bd, dir, n); break;
        case PK_K_OBJECT: rc = pk_build_add_object(bd, dir, x.node); break;
        default: break;
        }
        /* BUILD state on a container that is not an object (an OrderedDict's, say) */
        const pk_call *c = pk_call_of(doc, n);
        if (rc == 0 && n->kind != PK_K_OBJECT && c && c->state &&
            !pk_build_add_named(bd, dir, "__state__", c->state, PK_R_VALUE))
            rc = -1;
        if (rc == 0 && n->kind != PK_K_OBJECT && c && c->setter &&
            !pk_build_add_named(bd, dir, "__setstate__", c->setter, PK_R_VALUE))
            rc = -1;
    }
    if (rc == 0 && dir == PK_ROOT)
        rc = add_root_extras(bd);
    if (rc == 0)
        rc = pk_build_add_hidden(bd, dir, first, doc->nentries - first);
    uint64_t n = doc->nentries - first;
    if (rc < 0 || pk_build_unique_block(bd, dir, first, n) < 0)
        return -1;
    pk_branch_of(doc, dir)->u.dir.count = (uint32_t)n;
    if (n == 0)
        doc->nblocks--; /* no children: no block to find a parent in */
    return 0;
}

/* Entry dir becomes a directory: of derived children (a record's, by the million: kept short),
 * or with a branch and its children laid out as one block. */
static int add_children(builder *bd, uint32_t dir)
{
    bd->at = bd->doc->entries[dir].node;
    /* a root with entries of picklefs' own (__calls__, __trailing__, __error__) is laid out,
     * whatever its items */
    int rc = dir == PK_ROOT && root_extras(bd) ? 1 : pk_build_add_derived(bd, dir);
    return rc <= 0 ? rc : lay_out_children(bd, dir);
}

/* The walk's stack: each frame is a directory and the next of its children to visit. */
typedef struct frame {
    uint32_t dir;
    uint32_t next;
} frame;

static int walk(builder *bd, uint32_t root)
{
    pk_doc *doc = bd->doc;
    frame *stack = NULL;
    uint64_t depth = 0, cap = 0;
    int rc = 0;
    if (add_children(bd, root) < 0 || !pk_grow((void **)&stack, &cap, 1, sizeof(frame)))
        rc = -1;
    else if (!(doc->entries[root].flags & PK_EF_DERIVED))
        stack[depth++] = (frame){root, 0};
    while (rc == 0 && depth > 0) {
        frame *f = &stack[depth - 1];
        pk_branch *d = pk_branch_of(doc, f->dir);
        if (f->next >= d->u.dir.count) {
            depth--;
            continue;
        }
        uint32_t e = d->u.dir.first + f->next++;
        pk_entry *x = &doc->entries[e];
        bool calls = x->role == PK_R_CALLS;
        if (!calls && (x->role != PK_R_VALUE || !pk_is_dir_value(doc, x->node)))
            continue; /* a file */
        bd->at = x->node;
        uint32_t *home = calls ? NULL : &doc->nodes[x->node].u.c.home;
        if (home && *home) {
            if (!pk_build_make_branch(bd, x, PK_LINK)) {
                rc = pk_build_oom(bd);
                break;
            }
            doc->branches[x->aux].u.target = *home;
            continue;
        }
        d->u.dir.nsubdirs++; /* before add_children, which may move the branches */
        if (home)
            *home = e;
        if (depth >= doc->lim.max_depth) {
            char what[96];
            snprintf(what, sizeof what, "nesting deeper than %llu (the limit)",
                     (unsigned long long)doc->lim.max_depth);
            rc = pk_build_refuse(bd, x->node, PK_E_DEPTH_LIMIT, what);
            break;
        }
        if (add_children(bd, e) < 0) {
            if (bd->err->code == PK_E_OK)
                pk_build_oom(bd);
            rc = -1;
            break;
        }
        if (doc->entries[e].flags & PK_EF_DERIVED) /* which holds no directory */
            continue;
        if (!pk_grow((void **)&stack, &cap, depth + 1, sizeof(frame))) {
            rc = pk_build_oom(bd);
            break;
        }
        stack[depth++] = (frame){e, 0};
    }
    free(stack);
    return rc;
}

int pk_build_tree(pk_doc *doc, pk_error *err)
{
    /* until the root's children are laid out, errors name the (first) pickle's top value */
    builder bd = {.doc = doc, .err = err, .set_steps = SET_STEPS};
    bd.at = doc->ntops ? doc->tops[0] : 0;
    if (getrandom(&doc->hash_seed, sizeof doc->hash_seed, GRND_NONBLOCK) != sizeof doc->hash_seed)
        doc->hash_seed = (uint64_t)(uintptr_t)doc ^ (uint64_t)time(NULL); /* enough for a seed */
    if (!pk_grow((void **)&doc->entries, &doc->cap_entries, 2, sizeof(pk_entry)))
        return pk_build_oom(&bd);
    memset(doc->entries, 0, 2 * sizeof(pk_entry));
    doc->nentries = 2;
    pk_entry *root = &doc->entries[PK_ROOT];
    root->ftype = PK_FILE; /* until walk() makes it a directory */
    root->name_kind = PK_N_OWN; /* pk_entry_name answers "" for the root */
    /* One pickle whose top is a container or object is the root; anything else (several
     * pickles, one scalar) is shown as an indexed folder of pickles. */
    if (doc->ntops == 1 && pk_is_dir_value(doc, doc->tops[0])) {
        root->node = doc->tops[0];
        doc->nodes[root->node].u.c.home = PK_ROOT;
    } else {
        root->role = PK_R_STREAM;
    }
    int rc = pk_build_find_calls(&bd) < 0 ? -1 : walk(&bd, PK_ROOT);
    /* tables were made in the order directories were laid out; lookups search them by entry */
    pk_build_sort_tables(doc);
    pk_buf_free(&bd.name);
    pk_buf_free(&bd.renamed);
    free(bd.calls);
    return rc;
}

void pk_build_reset(pk_doc *doc)
{
    for (uint64_t i = 1; i < doc->nnodes; i++)
        if (PK_K_IS_CONTAINER(doc->nodes[i].kind))
            doc->nodes[i].u.c.home = 0;
    doc->nentries = doc->nderived = doc->nnames = doc->nbranches = doc->nblocks = 0;
    doc->nslots = doc->ntables = 0;
}
