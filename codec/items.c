/* items.c: adding to a container's items, kept as runs in doc->items (pk_chain in pk_i.h): a
 * plain run, a shaped run that takes its keys from an earlier one, or a sequence of values made
 * one after another; and finding an item by position. */
#include "pk_i.h"

/* Runs of at least this many items made one after another are kept as a sequence. */
#define SEQUENCE_MIN 4

/* Are items[0..n) first, first + 1, ...? */
static bool in_sequence(const uint32_t *items, uint64_t n, uint64_t first)
{
    for (uint64_t i = 0; i < n; i++)
        if (items[i] != first + i)
            return false;
    return true;
}

/* Room for need slots in the item array, whose positions are 32-bit. */
static bool items_room(pk_doc *doc, uint64_t need)
{
    return need <= UINT32_MAX &&
           pk_doc_grow(doc, (void **)&doc->items, &doc->cap_items, need, sizeof(uint32_t));
}

/* Count n more items added to containers, fewer than 2^32 in all (so a chain's count fits);
 * false past that. */
static bool count_items(pk_doc *doc, uint64_t n)
{
    if (n > UINT32_MAX - 1 - doc->items_added)
        return false;
    doc->items_added += n;
    return true;
}

/* The sequence at r, the array's last run, becomes a plain run of the same items. */
static int unfold_sequence(pk_doc *doc, uint32_t r)
{
    uint32_t n = doc->items[r + 2], first = doc->items[r + 3];
    uint64_t need = (uint64_t)r + n + 2;
    if (!items_room(doc, need))
        return -1;
    uint32_t *it = doc->items;
    it[r] = n;
    for (uint32_t i = 0; i < n; i++)
        it[r + 1 + i] = first + i;
    it[need - 1] = 0;
    doc->nitems = need;
    return 0;
}

/* The first items of container, n key, value... pairs whose keys are those of the plain run
 * at shape, as a shaped run of their values alone (pk_chain in pk_i.h). */
int pk_items_add_shaped(pk_doc *doc, uint32_t container, const uint32_t *items, uint64_t n,
                          uint32_t shape)
{
    uint64_t r = doc->nitems ? doc->nitems : 1, slots = n / 2 + 3; /* no run is at 0 */
    if (!count_items(doc, n) || !items_room(doc, r + slots))
        return -1;
    uint32_t *it = doc->items;
    it[r] = 0;
    it[r + 1] = shape;
    for (uint64_t i = 1; i < n; i += 2)
        it[r + 2 + i / 2] = items[i];
    it[r + slots - 1] = 0;
    doc->nitems = r + slots;
    doc->nodes[container].u.c.items = (uint32_t)r; /* its one run */
    return 0;
}

/* Append items[0..n) to container's items (pk_chain in pk_i.h). Its last run grows in place
 * when nothing has been added after it (a list APPENDed to one item at a time), else a new run
 * of all n is linked on (a SETITEMS of a thousand items grows the array once): a sequence when
 * they are one. A sequence grows in place by the items that continue it, and becomes a plain
 * run for those that do not. A container gets a chain only when it comes to have a second
 * run. */
int pk_items_add_run(pk_doc *doc, uint32_t container, const uint32_t *items, uint64_t n)
{
    if (n == 0)
        return 0;
    if (!count_items(doc, n))
        return -1;
    pk_node *node = &doc->nodes[container];
    bool chained = node->flags & PK_NF_CHAINED;
    pk_chain *c = chained ? &doc->chains[node->u.c.items] : NULL;
    uint32_t tail = chained ? c->tail : node->u.c.items;
    uint64_t end = doc->nitems ? doc->nitems : 1; /* position 0 is the end of every chain */
    uint64_t tail_next = tail ? pk_run_end(doc, tail) : 0;
    bool last = tail && tail_next == end - 1; /* its tail may grow in place */
    if (last && pk_run_is_sequence(doc, tail)) {
        if (in_sequence(items, n, (uint64_t)doc->items[tail + 3] + doc->items[tail + 2])) {
            doc->items[tail + 2] += (uint32_t)n;
            if (c)
                c->count += (uint32_t)n;
            return 0;
        }
        if (unfold_sequence(doc, tail) < 0)
            return -1;
        end = doc->nitems;
        tail_next = end - 1;
    }
    bool in_place = last && pk_run_is_plain(doc, tail);
    bool sequence = !in_place && n >= SEQUENCE_MIN && items[0] &&
                    in_sequence(items, n, items[0]);
    uint64_t need = in_place ? end + n : sequence ? end + 5 : end + n + 2;
    if (!items_room(doc, need))
        return -1;
    if (!in_place && tail && !chained) { /* a second run: the container needs a chain now */
        if (doc->nchains >= UINT32_MAX ||
            !pk_doc_grow(doc, (void **)&doc->chains, &doc->cap_chains, doc->nchains + 1,
                         sizeof(pk_chain)))
            return -1;
        doc->chains[doc->nchains] = (pk_chain){tail, tail, pk_run_count(doc, tail)};
        node->u.c.items = (uint32_t)doc->nchains++;
        node->flags |= PK_NF_CHAINED;
        chained = true;
    }
    c = chained ? &doc->chains[node->u.c.items] : NULL;
    uint32_t *it = doc->items;
    if (in_place) {
        memcpy(it + tail_next, items, n * sizeof *items);
        it[tail] += (uint32_t)n;
    } else {
        if (sequence) {
            it[end] = 0;
            it[end + 1] = 0;
            it[end + 2] = (uint32_t)n;
            it[end + 3] = items[0];
        } else {
            it[end] = (uint32_t)n;
            memcpy(it + end + 1, items, n * sizeof *items);
        }
        if (tail)
            it[tail_next] = (uint32_t)end;
        if (c)
            c->tail = (uint32_t)end;
        else
            node->u.c.items = (uint32_t)end; /* its first run */
    }
    it[need - 1] = 0;
    doc->nitems = need;
    if (c)
        c->count += (uint32_t)n;
    return 0;
}

int pk_chain_add(pk_doc *doc, uint32_t container, uint32_t item)
{
    return pk_items_add_run(doc, container, &item, 1);
}

int pk_chain_copy(pk_doc *doc, uint32_t container, uint32_t from, uint64_t skip)
{
    pk_cursor c = pk_items_of(doc, &doc->nodes[from]);
    uint32_t item;
    for (uint64_t i = 0; pk_item_next(doc, &c, &item); i++)
        if (i >= skip && pk_chain_add(doc, container, item) < 0)
            return -1;
    return 0;
}

uint32_t pk_item_at(const pk_doc *doc, const pk_node *n, uint64_t i)
{
    for (uint32_t r = pk_items_head(doc, n); r; r = doc->items[pk_run_end(doc, r)]) {
        uint32_t k = pk_run_count(doc, r);
        if (i < k)
            return pk_run_item(doc, r, i);
        i -= k;
    }
    return 0;
}

