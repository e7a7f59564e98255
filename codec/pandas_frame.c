/* pandas_frame.c: a pickled DataFrame or Series shown as its table.
 *
 * Both are pickled as cls.__new__(cls) + BUILD(state), state a dict {'_mgr': manager, '_typ':
 * 'dataframe' or 'series', '_metadata': [...], 'attrs': {}, '_flags': {...}} (a Series adds
 * 'name'). pandas 1.5 writes a DataFrame's manager as
 *   BlockManager(blocks, axes)                  blocks a tuple of
 *   pandas._libs.internals._unpickle_block(values, placement, ndim)
 * and a Series's (and older pandas's frames) as SingleBlockManager.__new__() or
 * BlockManager.__new__() + BUILD((axes, values, items, {'0.14.1': {'axes': axes, 'blocks':
 * [{'values': values, 'mgr_locs': placement}, ...]}})). axes is [columns, index] for a frame,
 * [index] for a Series; a placement is a slice or an int64 array naming the columns a block
 * holds, its values a 2-D array (columns x rows) or a 1-D extension array.
 *
 * The frame becomes a dict, in place (so every reference sees it): one entry per column,
 * named by the column's name, then __index__, __dtypes__ and __table__; a Series a dict of
 * values, index, name and dtype. The call record stays, so user.pickle.class still names the
 * class. A layout that differs in any way (an unknown key or version, blocks whose placements
 * do not cover the columns exactly once, lengths that disagree) leaves the object as it is.
 */
#include "pandas_i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PD_MAX_BLOCKS 100000
#define PD_MAX_COLUMNS ((uint64_t)1 << 20) /* a wider frame stays objects */

typedef struct pd_block {
    uint32_t values, placement;
} pd_block;

typedef struct pd_mgr {
    uint32_t axes; /* the list of axes */
    pd_block *blocks;
    uint64_t nblocks, cap;
    int ndim;
} pd_mgr;

static bool add_block(pd_mgr *m, uint32_t values, uint32_t placement)
{
    if (m->nblocks >= PD_MAX_BLOCKS ||
        !pk_grow((void **)&m->blocks, &m->cap, m->nblocks + 1, sizeof *m->blocks))
        return false;
    m->blocks[m->nblocks++] = (pd_block){values, placement};
    return true;
}

/* BlockManager(blocks, axes) and SingleBlockManager(block, axis), pandas 1.5's __reduce__. */
static bool reduced_mgr(const pk_doc *doc, const pk_call *call, bool single, pd_mgr *m)
{
    uint32_t blocks = pk_tuple_item(doc, call->args, 0);
    uint64_t nb = single ? 1 : pk_arr_count(doc, blocks, PK_K_TUPLE);
    if (pk_tuple_len(doc, call->args) != 2 || nb == UINT64_MAX || single)
        return false; /* a SingleBlockManager so pickled has no list of axes: not read */
    m->axes = pk_tuple_item(doc, call->args, 1);
    for (uint64_t i = 0; i < nb; i++) {
        uint32_t b = pk_arr_item(doc, blocks, i);
        const pk_call *bc = pd_plain_call(doc, b, PK_HOW_REDUCE,
                                          "pandas._libs.internals._unpickle_block", false);
        int64_t ndim;
        if (!bc || pk_tuple_len(doc, bc->args) != 3 ||
            !pk_arr_int(doc, pk_tuple_item(doc, bc->args, 2), &ndim) || ndim != m->ndim ||
            !add_block(m, pk_tuple_item(doc, bc->args, 0), pk_tuple_item(doc, bc->args, 1)))
            return false;
    }
    return true;
}

/* Is every item of list node either a value read as data or one of the blocks' values? */
static bool known_items(const pk_doc *doc, uint32_t list, const pd_mgr *m)
{
    const pk_node *l = &doc->nodes[list];
    if (l->kind != PK_K_LIST || pk_node_call(doc, l))
        return false;
    pk_cursor cur = pk_items_of(doc, l);
    uint32_t it;
    while (pk_item_next(doc, &cur, &it)) {
        bool ok = doc->nodes[it].kind != PK_K_OBJECT && doc->nodes[it].kind != PK_K_GLOBAL;
        for (uint64_t i = 0; i < m->nblocks && !ok; i++)
            ok = m->blocks[i].values == it;
        if (!ok)
            return false;
    }
    return true;
}

/* __new__() + BUILD((axes, values, items, {'0.14.1': {'axes': ..., 'blocks': [...]}})). */
static bool state_mgr(const pk_doc *doc, const pk_call *call, pd_mgr *m)
{
    uint32_t st = call->state, extra = pk_tuple_item(doc, st, 3);
    static const char *const vkeys[] = {"0.14.1"}, *const keys[] = {"axes", "blocks"},
                             *const bkeys[] = {"values", "mgr_locs"};
    uint32_t v = pd_dict_get(doc, extra, "0.14.1");
    uint32_t blocks = pd_dict_get(doc, v, "blocks");
    uint64_t nb = pk_arr_count(doc, blocks, PK_K_LIST);
    if (pk_tuple_len(doc, call->args) != 0 || pk_tuple_len(doc, st) != 4 ||
        !pd_dict_keys_in(doc, extra, vkeys, 1) || !pd_dict_keys_in(doc, v, keys, 2) ||
        nb == UINT64_MAX || pk_node_call(doc, &doc->nodes[blocks]))
        return false;
    m->axes = pd_dict_get(doc, v, "axes");
    for (uint64_t i = 0; i < nb; i++) {
        uint32_t b = pk_arr_item(doc, blocks, i);
        if (!pd_dict_keys_in(doc, b, bkeys, 2) ||
            !add_block(m, pd_dict_get(doc, b, "values"), pd_dict_get(doc, b, "mgr_locs")))
            return false;
    }
    /* the first three items repeat the axes and values for pandas before 0.14.1 */
    for (uint64_t i = 0; i < 3; i++)
        if (!known_items(doc, pk_tuple_item(doc, st, i), m))
            return false;
    return true;
}

static bool read_mgr(const pk_doc *doc, uint32_t node, bool frame, pd_mgr *m)
{
    const char *name = frame ? "pandas.core.internals.managers.BlockManager"
                             : "pandas.core.internals.managers.SingleBlockManager";
    const pk_call *call;
    memset(m, 0, sizeof *m);
    m->ndim = frame ? 2 : 1;
    if ((call = pd_plain_call(doc, node, PK_HOW_REDUCE, name, false)))
        return reduced_mgr(doc, call, !frame, m);
    if ((call = pd_plain_call(doc, node, PK_HOW_NEWOBJ, name, true)))
        return state_mgr(doc, call, m);
    return false;
}

/* The columns a block's placement names, in order, into cols (room for n): a slice(start,
 * stop, step) of plain ints or an int64 array. How many, or -1 when it names any outside
 * 0..ncols-1 or more than n. */
static int64_t placement(pk_lift_ctx *c, uint32_t p, uint64_t ncols, uint64_t *cols, uint64_t n)
{
    const pk_doc *doc = c->doc;
    const pk_call *s = pd_plain_call(doc, p, PK_HOW_REDUCE, "builtins.slice", false);
    uint64_t k = 0;
    if (s) {
        int64_t start, stop, step = 1;
        uint32_t st = pk_tuple_item(doc, s->args, 2);
        if (pk_tuple_len(doc, s->args) != 3 || !pk_arr_int(doc, pk_tuple_item(doc, s->args, 0), &start) ||
            !pk_arr_int(doc, pk_tuple_item(doc, s->args, 1), &stop) ||
            (doc->nodes[st].kind != PK_K_NONE && !pk_arr_int(doc, st, &step)) || step <= 0 ||
            start < 0 || stop < start)
            return -1;
        /* pandas's slices may stop past the last column: slice(0, 18, 9) names 0 and 9 */
        for (int64_t i = start; i < stop;) {
            if (k >= n || (uint64_t)i >= ncols)
                return (uint64_t)i >= ncols ? (int64_t)k : -1;
            cols[k++] = (uint64_t)i;
            if (__builtin_add_overflow(i, step, &i))
                break;
        }
        return (int64_t)k;
    }
    const pk_array *a = pk_array_of(doc, p);
    if (!a || a->ndim != 1 || a->dt.kind != 'i' || a->dt.size != 8 || a->shape[0] > n)
        return -1;
    for (uint64_t i = 0; i < a->shape[0]; i++) {
        uint32_t item = pd_index_item(c, p, i);
        if (!item || doc->nodes[item].kind != PK_K_INT || doc->nodes[item].u.i < 0 ||
            (uint64_t)doc->nodes[item].u.i >= ncols)
            return -1;
        cols[i] = (uint64_t)doc->nodes[item].u.i;
    }
    return (int64_t)a->shape[0];
}

/* A column's name as pandas' df.dtypes prints it: str as it is, a few plain kinds by repr. */
static void put_name(const pk_doc *doc, uint32_t node, pk_buf *b, int depth)
{
    const pk_node *n = &doc->nodes[node];
    char t[32];
    int k;
    switch ((pk_kind)n->kind) {
    case PK_K_STR: {
        const uint8_t *p = pk_span_ptr(doc, n);
        if (p)
            pk_buf_put(b, p, (size_t)pk_span_len(doc, n));
        return;
    }
    case PK_K_INT: k = snprintf(t, sizeof t, "%lld", (long long)n->u.i); break;
    case PK_K_FLOAT: k = pk_float_repr(n->u.f, t); break;
    case PK_K_BOOL: k = snprintf(t, sizeof t, "%s", n->u.i ? "True" : "False"); break;
    case PK_K_NONE: k = snprintf(t, sizeof t, "None"); break;
    case PK_K_TUPLE: {
        pk_buf_puts(b, "(");
        pk_cursor cur = pk_items_of(doc, n);
        uint32_t it;
        for (uint64_t i = 0; depth < 8 && pk_item_next(doc, &cur, &it); i++) {
            pk_buf_puts(b, i ? ", " : "");
            put_name(doc, it, b, depth + 1);
        }
        pk_buf_puts(b, pk_count(doc, n) == 1 ? ",)" : ")");
        return;
    }
    default: k = snprintf(t, sizeof t, "?"); break;
    }
    pk_buf_put(b, t, (size_t)k);
}

/* The columns of a frame (ncols of them, one block for a Series), each made from its block:
 * col[i] and dtype[i]. 1 when every column is covered exactly once by blocks of nrows rows,
 * 0 when not, -1 on a hard error. */
static int make_columns(pk_lift_ctx *c, const pd_mgr *m, uint64_t ncols, uint64_t nrows,
                        uint32_t *col, uint32_t *dtype)
{
    uint64_t *cols = malloc((ncols ? ncols : 1) * sizeof *cols);
    if (!cols)
        return pk_lift_oom(c);
    int rc = 1;
    for (uint64_t b = 0; b < m->nblocks && rc == 1; b++) {
        pd_values v;
        int64_t k;
        if (m->ndim == 1) { /* a Series's one block: its placement is a slice over its rows */
            const pk_call *s = pd_plain_call(c->doc, m->blocks[b].placement, PK_HOW_REDUCE,
                                             "builtins.slice", false);
            k = m->nblocks == 1 && s && pk_lift_inert(c->doc, s->args, 1) ? 1 : -1;
            cols[0] = 0;
        } else {
            k = placement(c, m->blocks[b].placement, ncols, cols, ncols);
        }
        if (k < 0 || !pd_read_values(c, m->blocks[b].values, m->ndim, &v) || v.rows != nrows ||
            v.width != (uint64_t)k) {
            rc = 0;
            break;
        }
        uint32_t dn = pd_new_str(c, v.dtype, strlen(v.dtype)); /* the block's dtype, a str */
        if (!dn) {
            rc = -1;
            break;
        }
        for (uint64_t j = 0; j < (uint64_t)k && rc == 1; j++) {
            bool hard;
            if (col[cols[j]]) { /* a column two blocks claim */
                rc = 0;
                break;
            }
            col[cols[j]] = pd_column(c, &v, j, &hard);
            if (!col[cols[j]])
                rc = hard ? -1 : 0;
            dtype[cols[j]] = dn;
        }
    }
    for (uint64_t i = 0; i < ncols && rc == 1; i++)
        if (!col[i])
            rc = 0; /* a column no block holds */
    free(cols);
    return rc;
}

/* Add key: value to dict d. */
static int add_pair(pk_lift_ctx *c, uint32_t d, uint32_t key, uint32_t value)
{
    if (!key || !value)
        return -1;
    if (pk_chain_add(c->doc, d, key) < 0 || pk_chain_add(c->doc, d, value) < 0)
        return pk_lift_oom(c);
    return 0;
}

static int add_named(pk_lift_ctx *c, uint32_t d, const char *name, uint32_t value)
{
    return add_pair(c, d, pd_new_str(c, name, strlen(name)), value);
}

/* The text of __dtypes__: one line a column, its name then its dtype, aligned as pandas
 * prints df.dtypes (names padded to the widest, four spaces, dtypes to the right). */
/* The text of a str made by pd_new_str (in the pool). */
static const char *str_text(const pk_doc *doc, uint32_t s, size_t *len)
{
    const pk_node *n = &doc->nodes[s];
    *len = (size_t)pk_span_len(doc, n);
    return (const char *)pk_span_ptr(doc, n);
}

static uint32_t dtypes_text(pk_lift_ctx *c, const uint32_t *names, const uint32_t *dtype,
                            uint64_t n)
{
    pk_buf b = {0}, name = {0};
    size_t wn = 0, wd = 0;
    for (uint64_t i = 0; i < n; i++) {
        name.len = 0;
        put_name(c->doc, names[i], &name, 0);
        wn = name.len > wn ? name.len : wn;
        size_t dl;
        str_text(c->doc, dtype[i], &dl);
        wd = dl > wd ? dl : wd;
    }
    for (uint64_t i = 0; i < n && !b.failed; i++) {
        name.len = 0;
        put_name(c->doc, names[i], &name, 0);
        pk_buf_put(&b, name.data, name.len);
        size_t dl;
        const char *d = str_text(c->doc, dtype[i], &dl);
        for (size_t k = name.len; k < wn + 4 + wd - dl; k++)
            pk_buf_put(&b, " ", 1);
        pk_buf_put(&b, d, dl);
        if (i + 1 < n)
            pk_buf_put(&b, "\n", 1);
    }
    uint32_t s = b.failed || name.failed ? 0 : pd_new_str(c, b.len ? b.data : "", b.len);
    if (b.failed || name.failed)
        pk_lift_oom(c);
    pk_buf_free(&b);
    pk_buf_free(&name);
    return s;
}

/* __table__: a text rendering of the whole frame (pandas_view.c). */
static uint32_t table_of(pk_lift_ctx *c, uint32_t index, const uint32_t *names, const uint32_t *col,
                         uint64_t n)
{
    pk_doc *doc = c->doc;
    uint32_t t = pk_lift_new_node(c, PK_K_TUPLE), d = t ? pk_lift_new_node(c, PK_K_DESC) : 0;
    if (!d || !pk_node_set_tname(doc, d, PK_T_PDTABLE))
        return d ? pk_lift_oom(c), 0 : 0;
    if (pk_chain_add(doc, t, index) < 0)
        return pk_lift_oom(c), 0;
    for (uint64_t i = 0; i < n; i++)
        if (pk_chain_add(doc, t, names[i]) < 0 || pk_chain_add(doc, t, col[i]) < 0)
            return pk_lift_oom(c), 0;
    doc->nodes[t].flags |= PK_NF_FROZEN;
    if (!pk_lift_new_call(c, d, PK_HOW_REDUCE, 0, 0, 0))
        return 0;
    pk_call_of(doc, &doc->nodes[d])->state = t;
    pk_call_of(doc, &doc->nodes[d])->kwargs = pd_index_name(doc, index); /* its header line */
    return d;
}

/* The state's keys other than _mgr: plain data of the shapes pandas writes. */
static bool state_ok(const pk_doc *doc, uint32_t st, bool frame)
{
    static const char *const keys[] = {"_mgr", "_typ", "_metadata", "attrs", "_flags", "name"};
    uint32_t name = pd_dict_get(doc, st, "name");
    return pd_dict_keys_in(doc, st, keys, frame ? 5 : 6) &&
           pk_str_is(doc, pd_dict_get(doc, st, "_typ"), frame ? "dataframe" : "series") &&
           pk_arr_count(doc, pd_dict_get(doc, st, "_metadata"), PK_K_LIST) != UINT64_MAX &&
           pk_lift_inert(doc, pd_dict_get(doc, st, "_metadata"), 1) &&
           pk_lift_empty_dict(doc, pd_dict_get(doc, st, "attrs")) &&
           pk_arr_count(doc, pd_dict_get(doc, st, "_flags"), PK_K_DICT) != UINT64_MAX &&
           pk_lift_inert(doc, pd_dict_get(doc, st, "_flags"), 1) &&
           (frame || (name && pk_lift_inert(doc, name, 2)));
}

/* Make node (the frame's object) the dict of its table. */
static int fill_frame(pk_lift_ctx *c, uint32_t node, bool frame, uint32_t index,
                      const uint32_t *names, const uint32_t *col, const uint32_t *dtype, uint64_t ncols,
                      uint32_t series_name)
{
    pk_doc *doc = c->doc;
    uint32_t dtypes = frame ? dtypes_text(c, names, dtype, ncols) : dtype[0];
    uint32_t table = frame && dtypes ? table_of(c, index, names, col, ncols) : 0;
    if (!dtypes || (frame && !table))
        return -1;
    pk_node *n = &doc->nodes[node];
    n->kind = PK_K_DICT;
    n->flags &= PK_NF_EXTRA;
    pk_items_clear(n);
    pk_lift_mark_read(doc, pk_call_of(doc, n)->state, pd_known_call); /* the audit: lifted */
    pk_call_of(doc, n)->state = 0; /* consumed: the table shows it */
    if (!frame)
        return add_named(c, node, "values", col[0]) || add_named(c, node, "index", index) ||
                       add_named(c, node, "name", series_name) || add_named(c, node, "dtype", dtypes)
                   ? -1 : 0;
    for (uint64_t i = 0; i < ncols; i++)
        if (add_pair(c, node, names[i], col[i]) < 0)
            return -1;
    if (add_named(c, node, "__index__", index) || add_named(c, node, "__dtypes__", dtypes) ||
        add_named(c, node, "__table__", table))
        return -1;
    return 0;
}

int pk_pandas_build(pk_lift_ctx *c, uint32_t node)
{
    pk_doc *doc = c->doc;
    bool frame = pd_plain_call(doc, node, PK_HOW_NEWOBJ, "pandas.core.frame.DataFrame", true);
    if (!frame && !pd_plain_call(doc, node, PK_HOW_NEWOBJ, "pandas.core.series.Series", true))
        return 0;
    const pk_call *call = pk_call_of(doc, &doc->nodes[node]);
    uint32_t st = call->state;
    pd_mgr m = {0};
    if (pk_tuple_len(doc, call->args) != 0 || !state_ok(doc, st, frame) ||
        !read_mgr(doc, pd_dict_get(doc, st, "_mgr"), frame, &m)) {
        free(m.blocks); /* the blocks read before the manager turned out unknown */
        return 0;
    }
    uint64_t naxes = pk_arr_count(doc, m.axes, PK_K_LIST);
    uint32_t columns = frame ? pk_arr_item(doc, m.axes, 0) : 0;
    uint32_t index = pk_arr_item(doc, m.axes, frame ? 1 : 0);
    uint64_t ncols = frame ? pd_index_len(doc, columns) : 1, nrows = pd_index_len(doc, index);
    int rc = 0;
    uint32_t *names = NULL, *col = NULL;
    uint32_t *dtype = NULL;
    if (naxes != (frame ? 2u : 1u) || ncols > PD_MAX_COLUMNS || nrows == UINT64_MAX ||
        pk_node_call(doc, &doc->nodes[m.axes]) || !pk_lift_can_copy(doc, 4 * ncols + 8))
        goto out;
    names = calloc(ncols + 1, sizeof *names);
    col = calloc(ncols + 1, sizeof *col);
    dtype = calloc(ncols + 1, sizeof *dtype);
    if (!names || !col || !dtype) {
        rc = pk_lift_oom(c);
        goto out;
    }
    for (uint64_t i = 0; frame && i < ncols; i++) {
        names[i] = pd_index_item(c, columns, i);
        if (!names[i] || !pk_lift_hashable(c, names[i]))
            goto out; /* a column name that cannot name an entry */
    }
    rc = make_columns(c, &m, ncols, nrows, col, dtype);
    if (rc == 1)
        rc = fill_frame(c, node, frame, index, names, col, dtype, ncols, pd_dict_get(doc, st, "name"));
out:
    free(m.blocks);
    free(names);
    free(col);
    free(dtype);
    return rc < 0 ? -1 : 0;
}
