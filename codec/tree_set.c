/* tree_set.c: the directory of a set or frozenset, for the builder (build_i.h).
 *
 * A set's elements have no order in Python, and a pickle lists them as the writing process
 * hashed them. They are sorted here by the bytes of their rendering (file content for leaves,
 * repr for the rest), then by type name, then in pickled order, so that equal sets mount
 * equal; elements listed twice become one; and they are then named by their index.
 */
#include "build_i.h"

#include <stdlib.h>
#include <string.h>

/* An element, and what it sorts by. */
typedef struct set_elem {
    uint32_t node;
    uint64_t order;
    const char *type;
    pk_buf text;
} set_elem;

static int cmp_elems(const void *a, const void *b)
{
    const set_elem *x = a, *y = b;
    size_t n = x->text.len < y->text.len ? x->text.len : y->text.len;
    int c = n ? memcmp(x->text.data, y->text.data, n) : 0;
    if (c)
        return c;
    if (x->text.len != y->text.len)
        return x->text.len < y->text.len ? -1 : 1;
    c = strcmp(x->type, y->type);
    if (c)
        return c;
    return (x->order > y->order) - (x->order < y->order);
}

/* Each element is rendered up to SET_KEY_MAX bytes, and all of a set's elements together up
 * to SET_TOTAL_MAX (a set of a million references to one long string must not take a terabyte):
 * a large set sorts by shorter prefixes, its ties then broken by type and pickled order. */
#define SET_KEY_MAX (4u << 10)
#define SET_TOTAL_MAX (4u << 20)
#define SET_KEY_MIN 32
/* The reprs of all sets of a tree share one budget of visited values: SET_STEPS (build_i.h). */

/* A set holds one of equal elements, but a stream can list one twice (written by hand, or a
 * set built from a list with repeats). Adjacent after sorting, these are one element: the same
 * value reached twice, or scalars of one type with the same whole rendering (except NaN, never
 * equal to itself). Objects and containers are compared by identity only: their equality is
 * Python code. */
static bool same_element(const pk_doc *doc, const set_elem *a, const set_elem *b)
{
    if (a->node == b->node)
        return true;
    pk_kind k = (pk_kind)doc->nodes[a->node].kind;
    bool scalar = k == PK_K_NONE || k == PK_K_BOOL || k == PK_K_INT || k == PK_K_BIGINT ||
                  k == PK_K_FLOAT || k == PK_K_STR || k == PK_K_BYTES;
    return scalar && k == (pk_kind)doc->nodes[b->node].kind && !a->text.truncated &&
           !b->text.truncated && a->text.len == b->text.len &&
           (a->text.len == 0 || memcmp(a->text.data, b->text.data, a->text.len) == 0) &&
           !(k == PK_K_FLOAT && a->text.len == 4 && memcmp(a->text.data, "nan\n", 4) == 0);
}

/* The set's elements, rendered, sorted, without repeats, as the children of dir. */
int pk_build_add_set(builder *bd, uint32_t dir, const pk_node *c)
{
    const pk_doc *doc = bd->doc;
    uint64_t count = pk_count(doc, c);
    set_elem *el = calloc(count ? count : 1, sizeof *el);
    if (!el)
        return pk_build_oom(bd);
    uint64_t i = 0;
    int rc = 0;
    uint64_t key_max = count ? SET_TOTAL_MAX / count : SET_KEY_MAX;
    key_max = key_max > SET_KEY_MAX ? SET_KEY_MAX : key_max < SET_KEY_MIN ? SET_KEY_MIN : key_max;
    pk_cursor cur = pk_items_of(doc, c);
    uint32_t item;
    for (; i < count && pk_item_next(doc, &cur, &item); i++) {
        set_elem *e = &el[i];
        e->node = item;
        e->order = i;
        e->type = pk_value_type(doc, e->node);
        e->text.max = (size_t)key_max;
        if (pk_is_dir_value(doc, e->node) && doc->nodes[e->node].kind != PK_K_OBJECT)
            pk_repr_steps(doc, e->node, &e->text, &bd->set_steps);
        else
            pk_render_leaf(doc, e->node, &e->text);
        if (e->text.failed)
            rc = -1;
    }
    if (rc == 0) {
        qsort(el, count, sizeof *el, cmp_elems);
        uint64_t shown = 0;
        uint32_t first = pk_branch_of(doc, dir)->u.dir.first;
        for (i = 0; i < count && rc == 0; i++)
            if (!(i > 0 && same_element(doc, &el[i - 1], &el[i])) &&
                !pk_build_add_indexed(bd, dir, first, shown++, el[i].node))
                rc = -1;
    } else {
        pk_build_oom(bd);
    }
    for (i = 0; i < count; i++)
        pk_buf_free(&el[i].text);
    free(el);
    return rc;
}
