/* pandas_i.h: pandas DataFrame, Series and Index read as tables (pandas_lift.c reads the
 * values of an index or a block, pandas_frame.c the block managers and the frame, and
 * pandas_view.c renders the text files they leave), private to the codec.
 *
 * What the lift leaves behind:
 *   a column of numbers, bools, datetimes or timedeltas   an array (PK_K_ARRAY), a 1-D view of
 *       its block's elements
 *   a column of objects or categories, an object Index, a MultiIndex   a PK_K_DESC value of
 *       tname PK_T_PDCOLUMN whose call has args: a str naming the dtype ("object",
 *       "category"), and state: the list of its values, one node a row
 *   a RangeIndex   PK_K_TEXT of tname PK_T_PDRANGE: RangeIndex(start=0, stop=5, step=1); its
 *       call keeps _new_Index's arguments
 *   a frame's text table   PK_K_DESC of tname PK_T_PDTABLE whose call's state is a tuple
 *       (index, name0, column0, name1, column1, ...)
 */
#ifndef PANDAS_I_H
#define PANDAS_I_H

#include "array_i.h"

/* ---- pandas_lift.c ---- */

/* What an index or a block holds, read from the pickle. */
typedef struct pd_values {
    uint32_t node;     /* the array, the (nested) list, or the lifted index */
    uint64_t rows;     /* its length; for a 2-D block, along its second axis */
    uint64_t width;    /* a 2-D block's columns (first axis); 1 for 1-D values */
    bool two_d;
    uint32_t cats;     /* a Categorical: the list of its categories' values, else 0 */
    char dtype[96];    /* as pandas names it: int64, object, category, datetime64[ns, UTC] */
} pd_values;

/* Read a block's or an index's values: an array, an object array's list, or an extension
 * array (Categorical, DatetimeArray, TimedeltaArray), of ndim dimensions (2 in a frame's
 * block). False when they are not of a shape we know. */
bool pd_read_values(pk_lift_ctx *c, uint32_t node, int ndim, pd_values *v);
/* The column j (< v->width) of v as a new value (an array, or a column of objects); 0 when
 * it cannot be made (-1 sets *hard on a hard error). */
uint32_t pd_column(pk_lift_ctx *c, const pd_values *v, uint64_t j, bool *hard);
/* A lifted RangeIndex's start, step and length; false when node is none. */
bool pd_range(const pk_doc *doc, uint32_t node, int64_t *start, int64_t *step, uint64_t *len);
/* The length of a lifted index (an array, a column, a RangeIndex), UINT64_MAX if node is none. */
uint64_t pd_index_len(const pk_doc *doc, uint32_t node);
/* The name of a lifted index (a str, None, any plain value; a MultiIndex's list of names), or
 * 0 when it has none. */
uint32_t pd_index_name(const pk_doc *doc, uint32_t index);
/* The i-th value of a lifted index as a node (made for an array's element); 0 when it cannot
 * be one. */
uint32_t pd_index_item(pk_lift_ctx *c, uint32_t index, uint64_t i);
/* A new str value holding text. */
uint32_t pd_new_str(pk_lift_ctx *c, const char *text, size_t len);
/* Is callable one of those a frame's manager, blocks, arrays and dtypes are made by, which the
 * lifts read as data once each is checked (pandas', pytz's zones, slices)? pk_lift_mark_read. */
bool pd_known_call(const pk_doc *doc, uint32_t callable);
/* Is node an object built by calling `callable` as `how`, with nothing else done to it
 * (no items, no state unless state_ok)? */
const pk_call *pd_plain_call(const pk_doc *doc, uint32_t node, pk_how how, const char *callable,
                             bool state_ok);
/* The value of key `key` in a plain dict (no call), or 0. */
uint32_t pd_dict_get(const pk_doc *doc, uint32_t dict, const char *key);
/* Are all of a plain dict's keys among the n names of keys? */
bool pd_dict_keys_in(const pk_doc *doc, uint32_t dict, const char *const *keys, size_t n);
/* _new_Index(cls, d) and _new_DatetimeIndex(cls, d): the index's values (lift.c's table). */
int pk_lift_pandas_index(pk_lift_ctx *c, uint32_t callable, uint32_t args, uint32_t *out);

/* ---- pandas_frame.c ---- */

/* BUILD on a DataFrame or Series: the table, in place. 0, or -1 on a hard error. */
int pk_pandas_build(pk_lift_ctx *c, uint32_t node);

/* ---- pandas_view.c ---- */

/* Is node a PK_T_PDCOLUMN or PK_T_PDTABLE value, whose file pk_pandas_render writes? */
static inline bool pk_pandas_file(const pk_doc *doc, uint32_t node)
{
    const pk_node *n = &doc->nodes[node];
    uint16_t t = n->kind == PK_K_DESC ? pk_node_tname(doc, n) : 0;
    return t == PK_T_PDCOLUMN || t == PK_T_PDTABLE;
}
/* The file of a PK_T_PDCOLUMN or PK_T_PDTABLE value. */
void pk_pandas_render(const pk_doc *doc, uint32_t node, pk_buf *b);

#endif
