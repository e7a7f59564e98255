/* content.c: what an entry holds: its attributes, a file's bytes, a symlink's target, the
 * xattrs.
 *
 * str and bytes are served from their span (pool or source file) without rendering; other
 * leaves are rendered on demand into a small buffer, which is cheap and keeps the tree compact.
 * A read renders such a file once and copies the range asked for out of it. Every public
 * function here takes any number: one that is no entry (pk_valid) gets -ENOENT.
 */
#include "ckpt_i.h"
#include "lift_i.h"
#include "pandas_i.h"
#include "pk_i.h"
#include "tree_i.h"
#include "source_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Leaves whose content is their span, plus a newline for text. */
static bool is_span_leaf(const pk_node *n, bool *newline)
{
    switch ((pk_kind)n->kind) {
    case PK_K_STR:
    case PK_K_BIGINT:
    case PK_K_TEXT: *newline = true; return true;
    case PK_K_BYTES:
    case PK_K_BYTEARRAY: *newline = false; return true;
    default: return false;
    }
}

/* An array's summary (PK_R_VALUE) or raw bytes (PK_R_RAW): array.c serves both. */
static bool is_array_file(const pk_doc *doc, const pk_entry *x)
{
    return doc->nodes[x->node].kind == PK_K_ARRAY && (x->role == PK_R_VALUE || x->role == PK_R_RAW);
}

/* A rendered file (a __reduce__ line: each argument is elided at 200 bytes, but there may be
 * millions) is cut here, so that serving one read never renders more. */
#define RENDER_MAX (1u << 20)

/* Render a file that is not a plain span. */
static void render_file(const pk_doc *doc, const pk_entry *x, pk_buf *b)
{
    b->max = RENDER_MAX;
    if (x->role == PK_R_REDUCE) {
        pk_render_call(doc, x->node, b);
        pk_buf_put(b, "\n", 1);
    } else if (pk_pandas_file(doc, x->node)) {
        pk_pandas_render(doc, x->node, b); /* a pandas column or table: its own lines */
    } else {
        pk_render_leaf(doc, x->node, b);
    }
}

static ssize_t link_target(const pk_doc *doc, pk_ino ino, pk_buf *b);

/* The size of entry x, numbered ino, as pk_size says it. */
static int size_of(const pk_doc *doc, pk_ino ino, const pk_entry *x, uint64_t *size)
{
    *size = 0;
    if (x->ftype == PK_LINK) {
        pk_buf b = {0};
        ssize_t n = link_target(doc, ino, &b);
        pk_buf_free(&b);
        if (n < 0)
            return (int)n;
        *size = (uint64_t)n;
        return 0;
    }
    if (x->ftype != PK_FILE)
        return 0;
    if (is_array_file(doc, x))
        return pk_array_size(doc, x->node, x->role == PK_R_RAW, size);
    const pk_node *n = &doc->nodes[x->node];
    bool nl;
    if (x->role == PK_R_VALUE && is_span_leaf(n, &nl)) {
        *size = pk_span_len(doc, n) + nl;
        return 0;
    }
    pk_buf b = {0};
    render_file(doc, x, &b);
    *size = b.len;
    int rc = b.failed ? pk_buf_error(&b) : 0;
    pk_buf_free(&b);
    return rc;
}

int pk_size(const pk_doc *doc, pk_ino ino, uint64_t *size)
{
    *size = 0;
    if (!pk_valid(doc, ino))
        return -ENOENT;
    const pk_entry x = pk_entry_get(doc, ino);
    return size_of(doc, ino, &x, size);
}

int pk_stat(const pk_doc *doc, pk_ino ino, pk_attr *attr)
{
    memset(attr, 0, sizeof *attr);
    if (!pk_valid(doc, ino))
        return -ENOENT;
    const pk_entry x = pk_entry_get(doc, ino);
    attr->type = (pk_ftype)x.ftype;
    if (x.ftype == PK_DIR)
        attr->nsubdirs = pk_nsubdirs(doc, ino);
    return size_of(doc, ino, &x, &attr->size);
}

static ssize_t copy_range(const char *data, uint64_t len, void *buf, size_t size, uint64_t off)
{
    if (off >= len)
        return 0;
    uint64_t k = len - off < size ? len - off : size;
    memcpy(buf, data + off, k);
    return (ssize_t)k;
}

ssize_t pk_read(const pk_doc *doc, pk_ino ino, void *buf, size_t size, uint64_t off)
{
    if (!pk_valid(doc, ino))
        return -ENOENT;
    const pk_entry ent = pk_entry_get(doc, ino), *x = &ent;
    if (x->ftype != PK_FILE)
        return -EISDIR;
    if (is_array_file(doc, x))
        return pk_array_read(doc, x->node, x->role == PK_R_RAW, buf, size, off);
    const pk_node *n = &doc->nodes[x->node];
    bool nl;
    if (x->role == PK_R_VALUE && is_span_leaf(n, &nl)) {
        uint64_t len = pk_span_len(doc, n);
        if (off >= len + nl)
            return 0;
        uint64_t k = off < len ? (len - off < size ? len - off : size) : 0;
        if (k) {
            ssize_t r = pk_span_read(doc, n, off, buf, k);
            if (r < 0)
                return r;
        }
        if (nl && k < size && off + k == len)
            ((char *)buf)[k++] = '\n';
        return (ssize_t)k;
    }
    pk_buf b = {0};
    render_file(doc, x, &b);
    ssize_t r = b.failed ? pk_buf_error(&b) : copy_range(b.data, b.len, buf, size, off);
    pk_buf_free(&b);
    return r;
}

int pk_file_span(const pk_doc *doc, pk_ino ino, int *fd, uint64_t *pos)
{
    if (!pk_valid(doc, ino))
        return -1;
    const pk_entry ent = pk_entry_get(doc, ino), *x = &ent;
    const pk_node *n = &doc->nodes[x->node];
    bool nl;
    if (x->ftype == PK_FILE && x->role == PK_R_RAW && is_array_file(doc, x))
        return pk_array_span(doc, x->node, fd, pos);
    if (x->ftype != PK_FILE || x->role != PK_R_VALUE || !is_span_leaf(n, &nl) || nl ||
        !(n->flags & PK_NF_SRC) || doc->src || doc->fd < 0 || pk_source_changed(doc))
        return -1; /* a changed file is left to pk_read, which answers EIO */
    *fd = doc->fd;
    *pos = doc->fd_base + pk_node_span(doc, n).pos;
    return 0;
}

/* ---- symlinks ---- */

static uint64_t depth_of(const pk_doc *doc, pk_ino e)
{
    uint64_t d = 0;
    for (; e != PK_ROOT && e != 0; e = pk_parent(doc, e))
        d++;
    return d;
}

/* The path from the link's directory to its target: "../" up to the nearest common ancestor,
 * then down by name. */
static ssize_t link_target(const pk_doc *doc, pk_ino ino, pk_buf *b)
{
    const pk_entry ent = pk_entry_get(doc, ino), *x = &ent;
    if (x->ftype != PK_LINK)
        return -EINVAL;
    /* a symlink, its directory, its target and theirs are all stored entries */
    pk_ino from = pk_parent(doc, ino), to = doc->branches[x->aux].u.target;
    uint64_t df = depth_of(doc, from), dt = depth_of(doc, to);
    pk_ino a = from, c = to;
    uint64_t ups = 0;
    while (df > dt) {
        a = pk_parent(doc, a);
        df--;
        ups++;
    }
    uint64_t downs = 0;
    while (dt > df) {
        c = pk_parent(doc, c);
        dt--;
        downs++;
    }
    while (a != c) {
        a = pk_parent(doc, a);
        c = pk_parent(doc, c);
        ups++;
        downs++;
    }
    for (uint64_t i = 0; i < ups; i++)
        pk_buf_puts(b, i ? "/.." : "..");
    /* the names from the common ancestor down to the target, collected bottom-up */
    uint32_t *chain = malloc((downs ? downs : 1) * sizeof *chain);
    if (!chain)
        return -ENOMEM;
    pk_ino e = to;
    for (uint64_t i = downs; i-- > 0;) {
        chain[i] = (uint32_t)e;
        e = pk_parent(doc, e);
    }
    for (uint64_t i = 0; i < downs; i++) {
        if (b->len)
            pk_buf_put(b, "/", 1);
        char buf[PK_NAME_BUF];
        size_t len;
        const char *name = pk_entry_name(doc, chain[i], buf, &len);
        pk_buf_put(b, name, len);
    }
    free(chain);
    if (b->len == 0)
        pk_buf_put(b, ".", 1);
    return b->failed ? -ENOMEM : (ssize_t)b->len;
}

ssize_t pk_readlink(const pk_doc *doc, pk_ino ino, char *buf, size_t size)
{
    if (!pk_valid(doc, ino))
        return -ENOENT;
    pk_buf b = {0};
    ssize_t n = link_target(doc, ino, &b);
    if (n >= 0) {
        if ((size_t)n >= size) {
            n = -ENAMETOOLONG;
        } else {
            memcpy(buf, b.data, (size_t)n);
            buf[n] = 0;
        }
    }
    pk_buf_free(&b);
    return n;
}

/* ---- xattrs ---- */

const char *pk_xattr_name(pk_xattr which)
{
    static const char *const names[] = {"user.pickle.type", "user.pickle.class",
                                        "user.pickle.offset", "user.pickle.key",
                                        "user.pickle.reduce"};
    return (unsigned)which < PK_XA__COUNT ? names[which] : NULL;
}

/* Linux caps an xattr value at 64 KiB; a longer key repr is cut there. */
#define XATTR_MAX 65536

/* The dotted class name of a value built by a call, into b; false if it has none. The class
 * of copyreg._reconstructor(cls, ...) and its kin is cls (lift.c). */
static bool class_of(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_node *n = &doc->nodes[node];
    const pk_call *c = pk_call_of(doc, n);
    if (!c || n->kind == PK_K_DESC)
        return false;
    uint32_t callable = pk_call_class(doc, c);
    if (!callable)
        return false;
    const pk_node *g = &doc->nodes[callable]; /* a global: its name is in the pool */
    pk_buf_put(b, pk_span_ptr(doc, g), (size_t)pk_span_len(doc, g));
    return true;
}

ssize_t pk_getxattr(const pk_doc *doc, pk_ino ino, pk_xattr which, char *buf, size_t size)
{
    if (!pk_valid(doc, ino))
        return -ENOENT;
    const pk_entry ent = pk_entry_get(doc, ino), *x = &ent;
    pk_buf b = {.max = XATTR_MAX};
    bool has = true;
    switch (which) {
    case PK_XA_TYPE:
        if (x->role == PK_R_STREAM)
            pk_buf_puts(&b, "stream");
        else if (x->role == PK_R_CALLS)
            pk_buf_puts(&b, "calls");
        else if (x->role == PK_R_REDUCE)
            pk_buf_puts(&b, "reduce");
        else if (x->role == PK_R_RAW)
            pk_buf_puts(&b, "bytes"); /* an array's element bytes */
        else
            pk_buf_puts(&b, pk_value_type(doc, x->node));
        break;
    case PK_XA_CLASS:
        has = x->role == PK_R_VALUE && class_of(doc, x->node, &b);
        break;
    case PK_XA_OFFSET: {
        char t[24];
        bool nested = false;
        uint64_t off = x->role == PK_R_STREAM || x->role == PK_R_CALLS
                           ? 0 : pk_node_offset_in(doc, x->node, &nested), start;
        /* in a zip shown as its members: in the member's bytes, as in the audit */
        if (!nested && pk_zip_member_at(doc, off, &start))
            off -= start;
        int n = snprintf(t, sizeof t, "%llu", (unsigned long long)off);
        pk_buf_put(&b, t, (size_t)n);
        break;
    }
    case PK_XA_KEY: {
        uint32_t key = pk_entry_key(doc, ino);
        has = key != 0;
        if (has)
            pk_repr(doc, key, &b);
        break;
    }
    case PK_XA_REDUCE: { /* the call that built the value, as its __reduce__ file says it */
        const pk_node *n = x->role == PK_R_VALUE ? &doc->nodes[x->node] : NULL;
        const pk_call *c = n ? pk_call_of(doc, n) : NULL;
        has = c && n->kind != PK_K_DESC && c->callable;
        if (has)
            pk_render_call(doc, x->node, &b);
        break;
    }
    default: has = false;
    }
    ssize_t r;
    if (!has) {
        r = -ENODATA;
    } else if (b.failed) {
        r = pk_buf_error(&b);
    } else {
        r = (ssize_t)b.len;
        if (size && b.len)
            memcpy(buf, b.data, b.len < size ? b.len : size);
    }
    pk_buf_free(&b);
    return r;
}
