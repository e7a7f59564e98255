/* tree.c: lay the decoded values out as the mounted tree (SPEC.md, "The tree").
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
 * on the container's items, and its directory is marked derived (PK_EF_DERIVED in pk_i.h):
 * its entries are read off the items.
 */
#include "pk_i.h"
#include "source_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

static size_t fmt_index(uint64_t i, char out[24]);

/* ---- entries and names, kept and derived ---- */

/* Child i of directory dir. */
static pk_ino child_of(const pk_doc *doc, uint32_t dir, uint64_t i)
{
    if (doc->entries[dir].flags & PK_EF_DERIVED)
        return (pk_ino)dir << PK_DERIVED_SHIFT | i;
    return pk_branch_of(doc, dir)->u.dir.first + i;
}

/* What entry x keeps of its name: a file and a derived directory in its aux, the others in
 * their branch. */
static uint32_t name_aux(const pk_doc *doc, const pk_entry *x)
{
    if (x->ftype == PK_FILE || (x->flags & PK_EF_DERIVED))
        return x->aux;
    return doc->branches[x->aux].name_aux;
}

uint32_t pk_entry_key(const pk_doc *doc, pk_ino e)
{
    const pk_entry x = pk_entry_get(doc, e);
    if (x.name_kind == PK_N_KEY)
        return name_aux(doc, &x);
    return x.name_kind == PK_N_OWN && e != PK_ROOT ? doc->names[name_aux(doc, &x)].key : 0;
}

/* The block of stored entry e, which is not the root: the last one that starts at or before it. */
static const pk_block *block_of(const pk_doc *doc, pk_ino e)
{
    uint64_t lo = 0, hi = doc->nblocks; /* blocks[lo].first <= e < blocks[hi].first */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->blocks[mid].first <= e)
            lo = mid;
        else
            hi = mid;
    }
    return &doc->blocks[lo];
}

/* The text of str key `key`, a valid name: in the pool (pk_key_check_name). */
static const char *key_text(const pk_doc *doc, uint32_t key, size_t *len)
{
    const pk_node *k = &doc->nodes[key];
    *len = (size_t)pk_span_len(doc, k);
    return doc->pool.data + pk_node_span(doc, k).pos;
}

const char *pk_entry_name(const pk_doc *doc, pk_ino e, char buf[PK_NAME_BUF], size_t *len)
{
    if (pk_is_derived(e)) { /* named by its dict key, or by its index */
        uint32_t key = pk_derived_item(doc, e, true);
        if (key)
            return key_text(doc, key, len);
        *len = fmt_index(e & PK_DERIVED_INDEX_MASK, buf);
        return buf;
    }
    const pk_entry ent = doc->entries[e], *x = &ent;
    if (e == PK_ROOT) {
        *len = 0;
        return "";
    }
    switch ((pk_name_kind)x->name_kind) {
    case PK_N_INDEX:
        *len = fmt_index(e - block_of(doc, e)->first, buf);
        return buf;
    case PK_N_KEY:
        return key_text(doc, name_aux(doc, x), len);
    case PK_N_OWN:
    default: {
        uint32_t name = name_aux(doc, x);
        *len = (size_t)doc->names[name].len;
        return doc->pool.data + doc->names[name].pos;
    }
    }
}

/* ---- the (parent, name) table ---- */

/* Eight bytes at a time, then mixed so that every bit of the hash depends on every byte. The
 * seed is random per tree, so a file cannot be made of names that all fall in one slot. */
static uint64_t name_hash(const pk_doc *doc, uint32_t parent, const char *name, size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15ULL;
    uint64_t h = (doc->hash_seed ^ len) + (uint64_t)parent * k;
    uint64_t w;
    for (; len >= 8; name += 8, len -= 8) {
        memcpy(&w, name, 8);
        h = (h ^ w) * k;
        h ^= h >> 32;
    }
    /* The last 1-7 bytes, read as two 4-byte words that may overlap, or as three bytes that
     * may be the same: either covers each byte (the length is in the seed). Copying them into
     * a zeroed word instead stalls the load that reads it back. */
    if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, name, 4);
        memcpy(&b, name + len - 4, 4);
        h = (h ^ ((uint64_t)a << 32 | b)) * k;
    } else if (len) {
        w = (uint64_t)(uint8_t)name[0] << 16 | (uint64_t)(uint8_t)name[len / 2] << 8 |
            (uint8_t)name[len - 1];
        h = (h ^ w) * k;
    }
    h ^= h >> 33; /* the finaliser of MurmurHash3 */
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

/* Is entry e named name? (Only entries of one directory are ever compared.) */
static bool entry_is(const pk_doc *doc, pk_ino e, const char *name, size_t len)
{
    char buf[PK_NAME_BUF];
    size_t n;
    const char *s = pk_entry_name(doc, e, buf, &n);
    return n == len && memcmp(s, name, len) == 0;
}

/* Where a name's probe starts in table t: from the high half of its hash. */
static uint64_t home_slot(const pk_table *t, uint64_t hash)
{
    return (hash >> 32) * t->size >> 32;
}

/* The bits of a slot above the position it holds (which is below size): they keep as many of
 * the low half of the name's hash. */
static uint32_t tag_mask(const pk_table *t)
{
    int bits = 32 - __builtin_clz(t->size);
    return bits >= 32 ? 0 : UINT32_MAX << bits;
}

/* The child of t->dir named name (whose hash is hash) in its table t, or 0; *end is then the
 * empty slot the name would take. */
static pk_ino table_find(const pk_doc *doc, const pk_table *t, const char *name, size_t len,
                         uint64_t hash, uint32_t **end)
{
    uint32_t *slot = doc->slots + t->start;
    uint32_t tags = tag_mask(t), tag = (uint32_t)hash & tags;
    uint64_t h = home_slot(t, hash);
    pk_ino e = 0;
    for (; slot[h]; h = h + 1 < t->size ? h + 1 : 0) {
        if ((slot[h] & tags) != tag)
            continue;
        e = child_of(doc, t->dir, (slot[h] & ~tags) - 1);
        if (entry_is(doc, e, name, len))
            break;
        e = 0;
    }
    *end = &slot[h];
    return e;
}

static pk_ino table_probe(const pk_doc *doc, const pk_table *t, const char *name, size_t len,
                          uint64_t hash)
{
    uint32_t *end;
    return table_find(doc, t, name, len, hash, &end);
}

/* Directory dir's table, or NULL (a directory named by index has none). */
static const pk_table *table_of(const pk_doc *doc, uint32_t dir)
{
    uint64_t lo = 0, hi = doc->ntables;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (doc->tables[mid].dir < dir)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < doc->ntables && doc->tables[lo].dir == dir ? &doc->tables[lo] : NULL;
}

/* Directories with more children than this are hashed (unless named by index); smaller ones
 * are scanned, which costs less than a cache miss into a big table (records of a few dozen
 * fields are common, and a lookup is a FUSE round trip anyway). */
#define SMALL_DIR 64

/* i in decimal, as list entries are named; returns the length. */
static size_t fmt_index(uint64_t i, char out[24])
{
    char t[24];
    size_t n = 0, k = 0;
    do
        t[n++] = (char)('0' + i % 10);
    while ((i /= 10) != 0);
    while (n)
        out[k++] = t[--n];
    return k;
}

/* A name that is an index as fmt_index writes it ("0", "17"; never "017" or "+1"). */
static bool parse_index(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Are entries first..first+n-1 named 0..n-1, in order (a list, a tuple, a set)? */
static bool indexed_block(const pk_doc *doc, pk_ino first, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if (pk_entry_get(doc, first + i).name_kind != PK_N_INDEX)
            return false;
    return true;
}

/* ---- names ---- */

#define NAME_CUT 240

/* Does one of the 8 bytes of w hold a NUL or a '/'? (A byte b is 0 exactly when b - 1 borrows
 * into its top bit while b's top bit was clear; x ^ '/' is 0 exactly when x is '/'.) */
static bool word_has_nul_or_slash(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, tops = 0x8080808080808080ULL;
    uint64_t v = w ^ (ones * '/');
    return (((w - ones) & ~w) | ((v - ones) & ~v)) & tops;
}

static inline bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len > PK_NAME_MAX || (len == 1 && s[0] == '.') ||
        (len == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    uint64_t w;
    if (len < 8) {
        for (size_t i = 0; i < len; i++)
            if (s[i] == '/' || s[i] == 0)
                return false;
        return true;
    }
    /* eight bytes at a time, the last eight read again where they overlap */
    for (size_t i = 0; i < len; i += 8) {
        memcpy(&w, s + (i + 8 <= len ? i : len - 8), 8);
        if (word_has_nul_or_slash(w))
            return false;
    }
    return true;
}

static bool all_dots(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != '.')
            return false;
    return true;
}

/* A repr that is no valid name: '/' becomes \x2f and NUL \x00 (the repr of a global or of a
 * lifted value holds the raw name), "." and ".." (a global with empty names) become \x2e
 * each, and a long one is cut at a character boundary and marked with "...". */
static void escape_name(pk_buf *in, pk_buf *out)
{
    bool dots = (in->len == 1 || in->len == 2) && all_dots(in->data, in->len);
    if (in->len == 0)
        pk_buf_puts(out, "''");
    for (size_t i = 0; i < in->len; i++) {
        if (in->data[i] == '/')
            pk_buf_puts(out, "\\x2f");
        else if (in->data[i] == 0)
            pk_buf_puts(out, "\\x00");
        else if (dots)
            pk_buf_puts(out, "\\x2e");
        else
            pk_buf_put(out, &in->data[i], 1);
    }
    if (out->len > PK_NAME_MAX) {
        size_t cut = NAME_CUT;
        while (cut > 0 && ((uint8_t)out->data[cut] & 0xc0) == 0x80)
            cut--;
        out->len = cut;
        pk_buf_puts(out, "...");
    }
}

/* The name of a dict entry whose key is node `key`, into b. */
static void key_name(const pk_doc *doc, uint32_t key, pk_buf *b)
{
    const pk_node *k = &doc->nodes[key];
    size_t len = k->kind == PK_K_STR ? (size_t)pk_span_len(doc, k) : 0;
    if (k->kind == PK_K_STR && len <= PK_NAME_MAX) {
        const uint8_t *p = pk_span_ptr(doc, k);
        if (p && valid_name((const char *)p, len)) {
            pk_buf_put(b, p, len);
            return;
        }
    }
    /* a name is cut to 240 bytes past 255, and escaping only lengthens: 1 KiB of repr is
     * enough to name any key, and keeps the walk of a huge key short */
    pk_buf r = {.max = 1024};
    pk_repr(doc, key, &r);
    if (r.failed)
        b->failed = true;
    else if (valid_name(r.data, r.len))
        pk_buf_put(b, r.data, r.len);
    else
        escape_name(&r, b);
    pk_buf_free(&r);
}

/* ---- laying out ---- */

typedef struct builder {
    pk_doc *doc;
    pk_error *err;
    uint64_t set_steps; /* left of SET_STEPS */
    pk_buf name;      /* scratch: the next entry's name, when it is PK_N_OWN */
    const pk_table *table; /* the table of the block being made unique; NULL when it is small
                              and taken() scans it instead */
    uint32_t at;              /* the value whose children are being laid out (oom names it) */
    uint32_t keys[SMALL_DIR]; /* the keys of the last small block found unique as it was, when */
    uint64_t nkeys;           /* all its names were theirs (PK_N_KEY); 0 if none */
    uint32_t shape; /* the shape of the last small derived block found unique, or 0: a dict
                       of the same shape has the same names (block_shape) */
} builder;

static int opcode_at(const pk_doc *doc, uint64_t offset)
{
    return doc->src && offset < doc->src_len ? doc->src[offset] : -1;
}

/* Out of memory, or past max_memory (pk_open tells which), at the opcode that built the value
 * being laid out, if there is one yet. */
static int oom(builder *bd)
{
    uint64_t off = pk_node_offset(bd->doc, bd->at);
    pk_set_error(bd->err, PK_E_NOMEM, off, bd->at ? opcode_at(bd->doc, off) : -1,
                 "out of memory");
    return -1;
}

static inline uint32_t add_entry(builder *bd, uint32_t dir, uint32_t node, uint32_t key,
                                 pk_role role, pk_name_kind kind);

/* Refuse the tree with an error at the opcode that built node. */
static int refuse_at(builder *bd, uint32_t node, pk_code code, const char *what)
{
    uint64_t off = pk_node_offset(bd->doc, node);
    pk_set_error(bd->err, code, off, opcode_at(bd->doc, off), what);
    return -1;
}

/* An array or tensor NAME (a file: its summary) gets a sibling NAME.raw, its element bytes
 * (array.c); a NAME too long for the suffix is cut at a character boundary first. */
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
    return add_entry(bd, dir, bd->doc->entries[e].node, 0, PK_R_RAW, PK_N_OWN) != 0;
}

/* Keep bd->name as entry x's own name (where pk_entry_name looks for it), with the key the
 * entry shows the value of (0 if none). */
static bool own_name(builder *bd, pk_entry *x, uint32_t key)
{
    pk_doc *doc = bd->doc;
    pk_span at;
    if (doc->nnames >= UINT32_MAX)
        return false;
    if (!pk_doc_grow(doc, (void **)&doc->names, &doc->cap_names, doc->nnames + 1,
                     sizeof(pk_own_name)) ||
        !pk_pool_add(&doc->pool, bd->name.data, bd->name.len, &at))
        return false;
    doc->names[doc->nnames] = (pk_own_name){at.pos, (uint32_t)at.len, key};
    if (x->ftype == PK_FILE)
        x->aux = (uint32_t)doc->nnames++;
    else
        doc->branches[x->aux].name_aux = (uint32_t)doc->nnames++;
    x->name_kind = PK_N_OWN;
    return true;
}

/* Entry x becomes a directory or a symlink (ftype), with a branch to hold what that needs; what
 * its aux kept of its name moves there. */
static bool make_branch(builder *bd, pk_entry *x, pk_ftype ftype)
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
 * unique_block() once its block is complete). Returns its index or 0. */
static inline uint32_t add_entry(builder *bd, uint32_t dir, uint32_t node, uint32_t key,
                                 pk_role role, pk_name_kind kind)
{
    pk_doc *doc = bd->doc;
    if (bd->name.failed)
        return oom(bd), 0;
    if (doc->nentries >= UINT32_MAX - 1)
        return refuse_at(bd, node, PK_E_NODE_LIMIT, "more entries than the limit"), 0;
    if (!pk_doc_grow(doc, (void **)&doc->entries, &doc->cap_entries, doc->nentries + 1,
                     sizeof(pk_entry)))
        /* out of memory, or the memory limit (pk_open names it), at the value being laid out */
        return refuse_at(bd, node, PK_E_NOMEM, "out of memory"), 0;
    uint32_t e = (uint32_t)doc->nentries;
    if (e % 8192 == 0) /* every 96 KiB of entries */
        pk_prefault_hint(doc->prefault);
    pk_entry *x = &doc->entries[e];
    memset(x, 0, sizeof *x);
    x->ftype = PK_FILE; /* until walk() finds it is a directory or a symlink */
    /* duplicates within the directory are renamed once its block is complete (unique_block) */
    x->name_kind = (uint8_t)kind;
    if (kind == PK_N_OWN && !own_name(bd, x, key))
        return oom(bd), 0;
    if (kind == PK_N_KEY)
        x->aux = key;
    x->node = node;
    x->role = (uint8_t)role;
    doc->nentries++;
    bd->name.len = 0;
    if (role == PK_R_VALUE && doc->nodes[node].kind == PK_K_ARRAY && !add_raw(bd, dir, e))
        return 0;
    return e;
}

static uint32_t add_named(builder *bd, uint32_t dir, const char *name, uint32_t node, pk_role role)
{
    bd->name.len = 0;
    pk_buf_puts(&bd->name, name);
    return add_entry(bd, dir, node, 0, role, PK_N_OWN);
}

/* Item i is named i: that is its position in the block (whose first entry is first), unless
 * something came before it (an object's __reduce__, an array's NAME.raw), and then the name is
 * kept. */
static uint32_t add_indexed(builder *bd, uint32_t dir, uint32_t first, uint64_t i, uint32_t node)
{
    if (i == bd->doc->nentries - first)
        return add_entry(bd, dir, node, 0, PK_R_VALUE, PK_N_INDEX);
    char t[24];
    size_t n = fmt_index(i, t);
    bd->name.len = 0;
    pk_buf_put(&bd->name, t, n);
    return add_entry(bd, dir, node, 0, PK_R_VALUE, PK_N_OWN);
}

static int add_items(builder *bd, uint32_t dir, const pk_node *c)
{
    pk_cursor cur = pk_items_of(bd->doc, c);
    uint32_t first = pk_branch_of(bd->doc, dir)->u.dir.first, item;
    for (uint64_t i = 0; pk_item_next(bd->doc, &cur, &item); i++)
        if (!add_indexed(bd, dir, first, i, item))
            return -1;
    return 0;
}

int pk_key_check_name(pk_doc *doc, uint32_t key)
{
    pk_node *k = &doc->nodes[key];
    uint64_t len = pk_span_len(doc, k);
    if (len <= PK_NAME_MAX && !pk_node_to_pool(doc, key))
        return -1;
    const char *p = (const char *)pk_span_ptr(doc, k);
    k->flags |= PK_NF_NAMED;
    if (p && valid_name(p, (size_t)len))
        k->flags |= PK_NF_NAME_OK;
    return (k->flags & PK_NF_NAME_OK) != 0;
}

/* Decoding checked the keys it saw (pool_keys); one that a lift made a key is checked now,
 * while the source is mapped. Out of memory, it is not a name: making it one fails too. */
static bool key_is_name(pk_doc *doc, uint32_t key)
{
    return pk_key_is_name(doc, key) > 0;
}

static int add_pairs(builder *bd, uint32_t dir, const pk_node *c)
{
    pk_doc *doc = bd->doc;
    pk_cursor cur = pk_items_of(doc, c);
    uint32_t key, value;
    while (pk_item_next(doc, &cur, &key) && pk_item_next(doc, &cur, &value)) {
        pk_name_kind kind = PK_N_KEY;
        bd->name.len = 0;
        if (!key_is_name(doc, key)) {
            key_name(doc, key, &bd->name);
            kind = PK_N_OWN;
        }
        if (!add_entry(bd, dir, value, key, PK_R_VALUE, kind))
            return -1;
    }
    return 0;
}

/* Sets: elements sorted by the bytes of their rendering (file content for leaves, repr for
 * the rest), then by type name, then in pickled order, so that equal sets mount equal. */
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
/* The values visited to render the set elements of one tree, all sets together: a file can
 * hold many sets whose elements are costly to render (shared many times over). Past it, the
 * elements of further sets sort by what little they render ("..."), then by type and order. */
#define SET_STEPS ((uint64_t)16 << 20)

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

static int add_set(builder *bd, uint32_t dir, const pk_node *c)
{
    const pk_doc *doc = bd->doc;
    uint64_t count = pk_count(doc, c);
    set_elem *el = calloc(count ? count : 1, sizeof *el);
    if (!el)
        return oom(bd);
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
                !add_indexed(bd, dir, first, shown++, el[i].node))
                rc = -1;
    } else {
        oom(bd);
    }
    for (i = 0; i < count; i++)
        pk_buf_free(&el[i].text);
    free(el);
    return rc;
}

/* An object's directory: __reduce__, __args__, its state, then its items. */
static int add_object(builder *bd, uint32_t dir, uint32_t node)
{
    const pk_doc *doc = bd->doc;
    const pk_call call = doc->calls[pk_node_call(doc, &doc->nodes[node])];
    if (!add_named(bd, dir, "__reduce__", node, PK_R_REDUCE))
        return -1;
    /* a callable the pickle built (getattr(...), a functools.partial) has its own state */
    if (call.callable && doc->nodes[call.callable].kind != PK_K_GLOBAL &&
        !add_named(bd, dir, "__callable__", call.callable, PK_R_VALUE))
        return -1;
    const pk_node *args = call.args ? &doc->nodes[call.args] : NULL;
    if (args && !(args->kind == PK_K_TUPLE && pk_count(doc, args) == 0))
        if (!add_named(bd, dir, "__args__", call.args, PK_R_VALUE))
            return -1;
    if (call.kwargs && pk_count(doc, &doc->nodes[call.kwargs]))
        if (!add_named(bd, dir, "__kwargs__", call.kwargs, PK_R_VALUE))
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
            if ((dict && add_pairs(bd, dir, &doc->nodes[dict]) < 0) ||
                (slots && add_pairs(bd, dir, &doc->nodes[slots]) < 0))
                return -1;
        } else if (!add_named(bd, dir, "__state__", call.state, PK_R_VALUE)) {
            return -1;
        }
    }
    if (call.items && add_items(bd, dir, &doc->nodes[call.items]) < 0)
        return -1;
    if (call.dictitems && add_pairs(bd, dir, &doc->nodes[call.dictitems]) < 0)
        return -1;
    return 0;
}

static bool taken(const builder *bd, pk_ino first, uint32_t j, const char *name, size_t len);

/* Stored entry first+j's name is taken: it becomes NAME~K, the first K that is free. */
static int rename_entry(builder *bd, uint32_t first, uint32_t j)
{
    pk_doc *doc = bd->doc;
    char buf[PK_NAME_BUF];
    size_t len;
    const char *name = pk_entry_name(doc, first + j, buf, &len);
    bd->name.len = 0;
    pk_buf_put(&bd->name, name, len);
    size_t base = bd->name.len;
    for (uint64_t k = 1;; k++) {
        char suffix[25];
        suffix[0] = '~';
        size_t n = 1 + fmt_index(k, suffix + 1);
        /* the name with its suffix stays a valid name: cut the base if it must be */
        size_t keep = base;
        if (keep + n > PK_NAME_MAX) {
            keep = PK_NAME_MAX - n;
            while (keep > 0 && ((uint8_t)bd->name.data[keep] & 0xc0) == 0x80)
                keep--;
        }
        bd->name.len = keep;
        pk_buf_put(&bd->name, suffix, n);
        if (bd->name.failed)
            return oom(bd);
        if (!taken(bd, first, j, bd->name.data, bd->name.len))
            break;
    }
    if (!own_name(bd, &doc->entries[first + j], pk_entry_key(doc, first + j)))
        return oom(bd);
    bd->name.len = 0;
    return 0;
}

/* Is `name` already the name of one of entries first..first+j-1? */
static bool taken(const builder *bd, pk_ino first, uint32_t j, const char *name, size_t len)
{
    const pk_doc *doc = bd->doc;
    if (!bd->table) {
        for (uint32_t i = 0; i < j; i++)
            if (entry_is(doc, first + i, name, len))
                return true;
        return false;
    }
    const pk_table *t = bd->table;
    return table_probe(doc, t, name, len, name_hash(doc, t->dir, name, len)) != 0;
}

static bool same_name(const pk_doc *doc, pk_ino a, pk_ino b)
{
    char buf[PK_NAME_BUF];
    size_t len;
    const char *name = pk_entry_name(doc, a, buf, &len);
    return entry_is(doc, b, name, len);
}

/* Cheaper than a hash, and enough to tell most names in a small block apart: the length, the
 * first byte and the last two (field names tend to differ at their ends). */
static uint32_t name_sketch(const pk_doc *doc, pk_ino e)
{
    char buf[PK_NAME_BUF];
    size_t len;
    const uint8_t *s = (const uint8_t *)pk_entry_name(doc, e, buf, &len);
    return len == 0 ? 0 : (uint32_t)len << 24 ^ (uint32_t)s[0] << 16 ^ (uint32_t)s[len / 2] << 8 ^
                              (uint32_t)s[len - 1] ^ (uint32_t)s[len - 1 - (len > 1)] << 4;
}

/* How far ahead the table slots of a large block are prefetched: a slot is a cache miss, and
 * a wide dict's table is far bigger than the caches. */
#define PREFETCH_AHEAD 16

/* A name of a large block whose slot is being prefetched. */
typedef struct ahead_name {
    const char *name; /* in the pool, or in buf (an index name) */
    size_t len;
    uint64_t hash;
    char buf[PK_NAME_BUF];
} ahead_name;

static void look_ahead(const pk_doc *doc, const pk_table *t, pk_ino e, ahead_name *a)
{
    a->name = pk_entry_name(doc, e, a->buf, &a->len);
    a->hash = name_hash(doc, t->dir, a->name, a->len);
    __builtin_prefetch(&doc->slots[t->start + home_slot(t, a->hash)]);
}

/* A wide directory's table is probed at random, one slot per name, and on a virtual machine a
 * TLB miss costs more than the cache miss it comes with. Back its 2 MiB-aligned part by huge
 * pages where the kernel allows it (transparent huge pages in "madvise" mode); the table is
 * zeroed whole right after, so this takes no more memory. */
static void advise_huge(void *p, size_t len)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t from = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t to = ((uintptr_t)p + len) & ~(huge - 1);
    if (to > from)
        madvise((void *)from, to - from, MADV_HUGEPAGE); /* advice: failing changes nothing */
#else
    (void)p;
    (void)len;
#endif
}

/* A new empty table for directory dir of n children, at most three quarters full, as
 * bd->table. */
static bool new_table(builder *bd, uint32_t dir, uint64_t n)
{
    pk_doc *doc = bd->doc;
    uint64_t start = doc->nslots, size = n + n / 3 + 1;
    if (size > UINT32_MAX ||
        !pk_doc_grow(doc, (void **)&doc->slots, &doc->cap_slots, start + size, sizeof(uint32_t)) ||
        !pk_doc_grow(doc, (void **)&doc->tables, &doc->cap_tables, doc->ntables + 1,
                     sizeof(pk_table)))
        return false;
    advise_huge(doc->slots + start, size * sizeof(uint32_t));
    memset(doc->slots + start, 0, size * sizeof(uint32_t));
    doc->nslots = start + size;
    doc->tables[doc->ntables] = (pk_table){start, dir, (uint32_t)size};
    bd->table = &doc->tables[doc->ntables++];
    return true;
}

/* Is the small block first..first+n-1 named by the same keys, in the same order, as the last
 * one found unique? Records pickled together share their field names (memoized), and those
 * need not be compared again for every record. */
static bool same_keys_as_last(const builder *bd, pk_ino first, uint64_t n)
{
    const pk_doc *doc = bd->doc;
    if (n != bd->nkeys)
        return false;
    for (uint64_t i = 0; i < n; i++) {
        pk_entry x = pk_entry_get(doc, first + i);
        if (x.name_kind != PK_N_KEY || x.aux != bd->keys[i])
            return false;
    }
    return true;
}

/* The shape of the run of derived dict block first (pk_chain in pk_i.h), or 0 if it has
 * none: a dict whose keys are those of the plain run it names, in the same order. */
static uint32_t block_shape(const pk_doc *doc, pk_ino first)
{
    if (!pk_is_derived(first))
        return 0;
    const pk_node *c = &doc->nodes[doc->entries[first >> PK_DERIVED_SHIFT].node];
    uint32_t r = c->u.c.items; /* a derived block's one run */
    return c->kind == PK_K_DICT ? pk_run_shape(doc, r) : 0;
}

static void remember_keys(builder *bd, pk_ino first, uint64_t n)
{
    const pk_doc *doc = bd->doc;
    bd->nkeys = 0;
    for (uint64_t i = 0; i < n; i++) {
        pk_entry x = pk_entry_get(doc, first + i);
        if (x.name_kind != PK_N_KEY)
            return;
        bd->keys[i] = x.aux; /* PK_N_KEY: the key's node */
    }
    bd->nkeys = n;
}

/* unique_block for all but a record of the last unique shape (shape, or 0 for none). */
static int unique_names(builder *bd, uint32_t dir, pk_ino first, uint64_t n, uint32_t shape)
{
    pk_doc *doc = bd->doc;
    bool derived = pk_is_derived(first);
    if (n < 2 || indexed_block(doc, first, n))
        return 0;
    if (n <= SMALL_DIR) {
        if (same_keys_as_last(bd, first, n)) {
            bd->shape = shape;
            return 0;
        }
        bool renamed = false;
        /* names are compared only where their sketches are equal */
        uint32_t hash[SMALL_DIR];
        for (uint32_t j = 0; j < n; j++) {
            hash[j] = name_sketch(doc, first + j);
            for (uint32_t i = 0; i < j; i++) {
                if (hash[i] != hash[j] || !same_name(doc, first + i, first + j))
                    continue;
                if (derived)
                    return 1;
                if (rename_entry(bd, (uint32_t)first, j) < 0)
                    return -1;
                renamed = true;
                hash[j] = name_sketch(doc, first + j);
                break;
            }
        }
        if (!renamed) {
            remember_keys(bd, first, n);
            bd->shape = shape;
        }
        return 0;
    }
    if (!new_table(bd, dir, n))
        return oom(bd);
    const pk_table *t = bd->table;
    /* the next PREFETCH_AHEAD names and hashes, so that their slots are fetched early */
    ahead_name ahead[PREFETCH_AHEAD];
    for (uint32_t j = 0; j < PREFETCH_AHEAD && j < n; j++)
        look_ahead(doc, t, first + j, &ahead[j]);
    for (uint32_t j = 0; j < n; j++) {
        ahead_name *a = &ahead[j % PREFETCH_AHEAD];
        uint32_t *slot;
        uint64_t hash = a->hash;
        if (table_find(doc, t, a->name, a->len, hash, &slot)) {
            if (derived) { /* give the table back: it is the last one made */
                doc->nslots = t->start;
                doc->ntables--;
                bd->table = NULL;
                return 1;
            }
            if (rename_entry(bd, (uint32_t)first, j) < 0)
                return -1;
            /* its new name is not taken; the pool it went to may have moved the names ahead */
            for (uint64_t k = j; k < (uint64_t)j + PREFETCH_AHEAD && k < n; k++)
                look_ahead(doc, t, first + k, &ahead[k % PREFETCH_AHEAD]);
            hash = a->hash;
            table_find(doc, t, a->name, a->len, hash, &slot);
        }
        *slot = ((uint32_t)hash & tag_mask(t)) | (j + 1);
        if ((uint64_t)j + PREFETCH_AHEAD < n)
            look_ahead(doc, t, first + j + PREFETCH_AHEAD, a);
    }
    return 0;
}

/* Make the names of the block first..first+n-1 unique: in pickled order, a name taken by an
 * earlier entry gets ~1, ~2, ... (the first of those not taken). A large block not named by
 * index gets a table of its names on the way, which pk_lookup uses afterwards. Entries of a
 * derived block cannot be renamed: for one whose names are not unique, it makes no table and
 * returns 1 (the caller then stores the block). Otherwise it returns 0, or -1 on an error. */
static inline int unique_block(builder *bd, uint32_t dir, pk_ino first, uint64_t n)
{
    bd->table = NULL;
    /* the fields of one more record: the same names, unique as before; inline, as it is asked
     * once a record */
    uint32_t shape = n <= SMALL_DIR ? block_shape(bd->doc, first) : 0;
    if (shape && shape == bd->shape)
        return 0;
    return unique_names(bd, dir, first, n, shape);
}

/* Is the item a plain file, with no children and no NAME.raw sibling? */
static bool plain_file(const pk_doc *doc, uint32_t item)
{
    pk_kind k = (pk_kind)doc->nodes[item].kind;
    return !PK_K_IS_CONTAINER(k) && k != PK_K_ARRAY;
}

/* Would every child of directory dir be a plain file of the item at its position, named by
 * its index or its str key as it is? Then the block is made derived (pk_entry_get) rather than
 * laid out: a list, tuple or dict whose items are one run, with no BUILD state, and no item a
 * container or an array (which gets a NAME.raw sibling). Its n children are set in *n, and
 * *unique says whether their names are known to be unique already. */
static bool derivable(builder *bd, uint32_t dir, uint64_t *n, bool *unique)
{
    pk_doc *doc = bd->doc;
    const pk_entry *d = &doc->entries[dir];
    if (d->role != PK_R_VALUE)
        return false;
    const pk_node *c = &doc->nodes[d->node];
    bool dict = c->kind == PK_K_DICT;
    const pk_call *call = pk_call_of(doc, c);
    if (!(dict || c->kind == PK_K_LIST || c->kind == PK_K_TUPLE) || (call && call->state))
        return false;
    uint32_t count = pk_count(doc, c);
    if (count == 0 || (c->flags & PK_NF_CHAINED) || (dict && count % 2))
        return false; /* not one run, or a dict with a key and no value */
    uint32_t run = c->u.c.items;
    uint64_t files = dict ? count / 2 : count;
    *n = files;
    uint32_t shape = dict ? pk_run_shape(doc, run) : 0;
    /* a list's or a tuple's names are their indices, unique as they are; a record of the last
     * unique shape (unique_block) has its names, found names when that shape was laid out */
    bool last_shape = shape && shape == bd->shape;
    *unique = !dict || last_shape;
    if (last_shape) {
        const uint32_t *values = pk_shaped_values(doc, run);
        for (uint64_t i = 0; i < files; i++)
            if (!plain_file(doc, values[i]))
                return false;
        return true;
    }
    for (uint64_t i = 0; i < files; i++) {
        if (!plain_file(doc, pk_run_item(doc, run, dict ? 2 * i + 1 : i)))
            return false;
        if (dict && !key_is_name(doc, pk_run_item(doc, run, 2 * i)))
            return false;
    }
    return true;
}

/* Make entry dir a directory of derived children (PK_EF_DERIVED, no branch), if they can be
 * one and their names are unique as they are. Returns 0 when it did, 1 when they must be laid
 * out, -1 on an error. */
static int add_derived(builder *bd, uint32_t dir)
{
    pk_doc *doc = bd->doc;
    pk_entry *x = &doc->entries[dir];
    uint64_t count;
    bool unique;
    if (!derivable(bd, dir, &count, &unique))
        return 1;
    x->flags |= PK_EF_DERIVED; /* its children's numbers, while their names are checked */
    int rc = unique ? 0 : unique_block(bd, dir, (pk_ino)dir << PK_DERIVED_SHIFT, count);
    if (rc != 0) {
        x->flags &= (uint8_t)~PK_EF_DERIVED;
        return rc;
    }
    x->ftype = PK_DIR;
    doc->nderived += count;
    return 0;
}

/* Entry dir becomes a directory with a branch, its children laid out as one block. */
static __attribute__((noinline)) int lay_out_children(builder *bd, uint32_t dir)
{
    pk_doc *doc = bd->doc;
    uint32_t first = (uint32_t)doc->nentries;
    const pk_entry x = doc->entries[dir];
    int rc = 0;
    if (!make_branch(bd, &doc->entries[dir], PK_DIR))
        return oom(bd);
    /* the children's index names are counted from here, so it is set before they are made */
    pk_branch_of(doc, dir)->u.dir.first = first;
    if (!pk_doc_grow(doc, (void **)&doc->blocks, &doc->cap_blocks, doc->nblocks + 1,
                     sizeof(pk_block)))
        return oom(bd);
    doc->blocks[doc->nblocks++] = (pk_block){first, dir};
    if (x.role == PK_R_STREAM) {
        for (uint64_t i = 0; i < doc->ntops && rc == 0; i++)
            if (!add_indexed(bd, dir, first, i, doc->tops[i]))
                rc = -1;
    } else {
        const pk_node *n = &doc->nodes[x.node];
        switch ((pk_kind)n->kind) {
        case PK_K_LIST:
        case PK_K_TUPLE: rc = add_items(bd, dir, n); break;
        case PK_K_DICT: rc = add_pairs(bd, dir, n); break;
        case PK_K_SET:
        case PK_K_FROZENSET: rc = add_set(bd, dir, n); break;
        case PK_K_OBJECT: rc = add_object(bd, dir, x.node); break;
        default: break;
        }
        /* BUILD state on a container that is not an object (an OrderedDict's, say) */
        const pk_call *c = pk_call_of(doc, n);
        if (rc == 0 && n->kind != PK_K_OBJECT && c && c->state &&
            !add_named(bd, dir, "__state__", c->state, PK_R_VALUE))
            rc = -1;
    }
    uint64_t n = doc->nentries - first;
    if (rc < 0 || unique_block(bd, dir, first, n) < 0)
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
    int rc = add_derived(bd, dir);
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
        if (x->role != PK_R_VALUE || !pk_is_dir_value(doc, x->node))
            continue; /* a file */
        bd->at = x->node;
        uint32_t *home = &doc->nodes[x->node].u.c.home;
        if (*home) {
            if (!make_branch(bd, x, PK_LINK)) {
                rc = oom(bd);
                break;
            }
            doc->branches[x->aux].u.target = *home;
            continue;
        }
        d->u.dir.nsubdirs++; /* before add_children, which may move the branches */
        *home = e;
        if (depth >= doc->lim.max_depth) {
            char what[96];
            snprintf(what, sizeof what, "nesting deeper than %llu (the limit)",
                     (unsigned long long)doc->lim.max_depth);
            rc = refuse_at(bd, x->node, PK_E_DEPTH_LIMIT, what);
            break;
        }
        if (add_children(bd, e) < 0) {
            if (bd->err->code == PK_E_OK)
                oom(bd);
            rc = -1;
            break;
        }
        if (doc->entries[e].flags & PK_EF_DERIVED) /* which holds no directory */
            continue;
        if (!pk_grow((void **)&stack, &cap, depth + 1, sizeof(frame))) {
            rc = oom(bd);
            break;
        }
        stack[depth++] = (frame){e, 0};
    }
    free(stack);
    return rc;
}

static int by_dir(const void *a, const void *b)
{
    uint32_t x = ((const pk_table *)a)->dir, y = ((const pk_table *)b)->dir;
    return (x > y) - (x < y);
}

int pk_build_tree(pk_doc *doc, pk_error *err)
{
    /* until the root's children are laid out, errors name the (first) pickle's top value */
    builder bd = {.doc = doc, .err = err, .set_steps = SET_STEPS};
    bd.at = doc->ntops ? doc->tops[0] : 0;
    if (getrandom(&doc->hash_seed, sizeof doc->hash_seed, GRND_NONBLOCK) != sizeof doc->hash_seed)
        doc->hash_seed = (uint64_t)(uintptr_t)doc ^ (uint64_t)time(NULL); /* enough for a seed */
    if (!pk_grow((void **)&doc->entries, &doc->cap_entries, 2, sizeof(pk_entry)))
        return oom(&bd);
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
    int rc = walk(&bd, PK_ROOT);
    /* tables were made in the order directories were laid out; lookups search them by entry */
    if (doc->ntables)
        qsort(doc->tables, doc->ntables, sizeof *doc->tables, by_dir);
    pk_buf_free(&bd.name);
    return rc;
}

/* ---- queries ----
 *
 * The public functions below take any number at all (pk.h): each asks pk_valid first, and
 * answers a number that is no entry with 0 (or NULL) before anything is read with it. */

uint64_t pk_entry_count(const pk_doc *doc)
{
    return doc->nentries - 1 + doc->nderived;
}

bool pk_valid(const pk_doc *doc, pk_ino ino)
{
    if (!pk_is_derived(ino))
        return ino >= PK_ROOT && ino < doc->nentries;
    pk_ino dir = ino >> PK_DERIVED_SHIFT; /* at least 1: ino is derived */
    if (dir >= doc->nentries)
        return false;
    const pk_entry *x = &doc->entries[dir];
    return x->ftype == PK_DIR && (x->flags & PK_EF_DERIVED) &&
           (ino & PK_DERIVED_INDEX_MASK) < pk_derived_count(doc, x);
}

pk_ftype pk_type(const pk_doc *doc, pk_ino ino)
{
    if (!pk_valid(doc, ino))
        return PK_FILE; /* as pk.h says: the other functions then refuse it */
    return pk_is_derived(ino) ? PK_FILE : (pk_ftype)doc->entries[ino].ftype;
}

static bool is_dir(const pk_doc *doc, pk_ino ino)
{
    return pk_valid(doc, ino) && !pk_is_derived(ino) && doc->entries[ino].ftype == PK_DIR;
}

pk_ino pk_parent(const pk_doc *doc, pk_ino ino)
{
    if (!pk_valid(doc, ino))
        return 0;
    if (pk_is_derived(ino))
        return ino >> PK_DERIVED_SHIFT;
    return ino == PK_ROOT ? PK_ROOT : block_of(doc, ino)->dir;
}

uint64_t pk_nchildren(const pk_doc *doc, pk_ino dir)
{
    if (!is_dir(doc, dir))
        return 0;
    const pk_entry *x = &doc->entries[dir];
    return x->flags & PK_EF_DERIVED ? pk_derived_count(doc, x) : doc->branches[x->aux].u.dir.count;
}

pk_ino pk_child(const pk_doc *doc, pk_ino dir, uint64_t i)
{
    return i < pk_nchildren(doc, dir) ? child_of(doc, (uint32_t)dir, i) : 0;
}

uint64_t pk_nsubdirs(const pk_doc *doc, pk_ino dir)
{
    if (!is_dir(doc, dir) || (doc->entries[dir].flags & PK_EF_DERIVED))
        return 0; /* a derived directory holds only files */
    return pk_branch_of(doc, (uint32_t)dir)->u.dir.nsubdirs;
}

const char *pk_name(const pk_doc *doc, pk_ino ino, char buf[PK_NAME_BUF], size_t *len)
{
    if (!pk_valid(doc, ino)) {
        *len = 0;
        return NULL;
    }
    return pk_entry_name(doc, ino, buf, len);
}

pk_ino pk_lookup(const pk_doc *doc, pk_ino dir, const char *name, size_t len)
{
    uint64_t i;
    if (!is_dir(doc, dir))
        return 0;
    /* names are unique in a directory: a child with this name is the one */
    uint64_t count = pk_nchildren(doc, dir);
    if (parse_index(name, len, &i) && i < count &&
        entry_is(doc, child_of(doc, (uint32_t)dir, i), name, len))
        return child_of(doc, (uint32_t)dir, i);
    if (count <= SMALL_DIR) {
        for (i = 0; i < count; i++)
            if (entry_is(doc, child_of(doc, (uint32_t)dir, i), name, len))
                return child_of(doc, (uint32_t)dir, i);
        return 0;
    }
    const pk_table *t = table_of(doc, (uint32_t)dir);
    return t ? table_probe(doc, t, name, len, name_hash(doc, (uint32_t)dir, name, len)) : 0;
}

const struct stat *pk_source_stat(const pk_doc *doc)
{
    return &doc->st;
}
