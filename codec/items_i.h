/* items_i.h: how a container's items are kept and walked: runs in doc->items, chained when a
 * container grows after other values were made (pk_chain, in pk_i.h), and the cursor every
 * reader of a container uses. Included at the end of pk_i.h, whose types it needs. */
#ifndef PK_ITEMS_I_H
#define PK_ITEMS_I_H

#include "pk_i.h"

/* The position of the first run of a container or object (PK_K_IS_CONTAINER), 0 if none. */
static inline uint32_t pk_items_head(const pk_doc *doc, const pk_node *n)
{
    return n->flags & PK_NF_CHAINED ? doc->chains[n->u.c.items].head : n->u.c.items;
}
/* Which of the three forms the run at r has: plain (its count first, never 0), shaped (a 0, then
 * the plain run it takes its keys from) or a sequence (two 0s). */
static inline bool pk_run_is_plain(const pk_doc *doc, uint32_t r)
{
    return doc->items[r] != 0;
}
static inline uint32_t pk_run_shape(const pk_doc *doc, uint32_t r) /* 0 unless shaped */
{
    return doc->items[r] ? 0 : doc->items[r + 1];
}
static inline bool pk_run_is_sequence(const pk_doc *doc, uint32_t r)
{
    return !doc->items[r] && !doc->items[r + 1];
}
/* The values of the shaped run at r, in order (its count / 2 of them). */
static inline const uint32_t *pk_shaped_values(const pk_doc *doc, uint32_t r)
{
    return &doc->items[r + 2];
}
/* The items in the run at r, and where its next-run slot is. */
static inline uint32_t pk_run_count(const pk_doc *doc, uint32_t r)
{
    if (pk_run_is_plain(doc, r))
        return doc->items[r];
    uint32_t shape = pk_run_shape(doc, r);
    return shape ? doc->items[shape] : doc->items[r + 2];
}
static inline uint32_t pk_run_end(const pk_doc *doc, uint32_t r)
{
    if (pk_run_is_plain(doc, r))
        return r + doc->items[r] + 1;
    return pk_run_shape(doc, r) ? r + 2 + pk_run_count(doc, r) / 2 : r + 4;
}
/* Item i (< its count) of the run at r. */
static inline uint32_t pk_run_item(const pk_doc *doc, uint32_t r, uint64_t i)
{
    const uint32_t *it = doc->items;
    if (pk_run_is_plain(doc, r))
        return it[r + 1 + i];
    uint32_t shape = pk_run_shape(doc, r);
    if (!shape)
        return it[r + 3] + (uint32_t)i; /* a sequence */
    /* a value, or its shape's key */
    return i % 2 ? pk_shaped_values(doc, r)[i / 2] : it[shape + 1 + i];
}
/* The items of a container (a dict has 2 per item); 0 for any other value. */
static inline uint32_t pk_count(const pk_doc *doc, const pk_node *n)
{
    if (!PK_K_IS_CONTAINER(n->kind))
        return 0;
    if (n->flags & PK_NF_CHAINED)
        return doc->chains[n->u.c.items].count;
    return n->u.c.items ? pk_run_count(doc, n->u.c.items) : 0;
}
/* Make container or object n empty (its old items stay where they are, unused). */
static inline void pk_items_clear(pk_node *n)
{
    n->flags &= (uint8_t)~PK_NF_CHAINED;
    n->u.c.items = 0;
}

/* Walking a container's items in order: pk_cursor c = pk_items_of(doc, n); then
 * pk_item_next(doc, &c, &item) until it gives false. A cursor keeps positions, not pointers,
 * so items may be added to other containers while one walks. */
typedef struct pk_cursor {
    uint32_t at;   /* the next item's position (in a shaped run, the next value's), or the
                      next-run slot once left is 0 (in a sequence, always) */
    uint32_t left; /* items left in the current run */
    uint32_t key;  /* in a shaped run, the position of the next key in its shape; else 0 */
    uint32_t next; /* in a sequence, the next item; else 0 */
} pk_cursor;
static inline void pk_cursor_enter(const pk_doc *doc, pk_cursor *c, uint32_t r)
{
    const uint32_t *it = doc->items;
    uint32_t shape = pk_run_shape(doc, r);
    if (pk_run_is_plain(doc, r))
        *c = (pk_cursor){r + 1, it[r], 0, 0};
    else if (shape)
        *c = (pk_cursor){r + 2, it[shape], shape + 1, 0};
    else
        *c = (pk_cursor){r + 4, it[r + 2], 0, it[r + 3]};
}
static inline pk_cursor pk_items_of(const pk_doc *doc, const pk_node *n)
{
    uint32_t r = pk_items_head(doc, n);
    pk_cursor c = {0, 0, 0, 0};
    if (r)
        pk_cursor_enter(doc, &c, r);
    return c;
}
static inline bool pk_item_next(const pk_doc *doc, pk_cursor *c, uint32_t *item)
{
    if (!c->left) {
        uint32_t r = c->at ? doc->items[c->at] : 0;
        if (!r)
            return false;
        pk_cursor_enter(doc, c, r);
    }
    c->left--;
    if (c->next) {
        *item = c->next++;
        return true;
    }
    if (c->key && c->left % 2) { /* a shaped run's key (its count is even): from its shape */
        *item = doc->items[c->key];
        c->key += 2;
        return true;
    }
    *item = doc->items[c->at++];
    return true;
}
/* ---- items.c ---- */
/* Item i of a container (i < its count), 0 if it has fewer. */
uint32_t pk_item_at(const pk_doc *doc, const pk_node *n, uint64_t i);
/* Append one item to a container's items; -1 when out of memory. */
int pk_chain_add(pk_doc *doc, uint32_t container, uint32_t item);
/* Append the items of from, skipping its first `skip`, to container's items. */
int pk_chain_copy(pk_doc *doc, uint32_t container, uint32_t from, uint64_t skip);
/* Append items[0..n) to container's items, in the form that keeps them smallest; -1 when out
 * of memory. */
int pk_items_add_run(pk_doc *doc, uint32_t container, const uint32_t *items, uint64_t n);
/* The first items of dict container, n key, value... pairs whose keys are those of the plain
 * run at shape, as a shaped run; -1 when out of memory. */
int pk_items_add_shaped(pk_doc *doc, uint32_t container, const uint32_t *items, uint64_t n,
                        uint32_t shape);

#endif
