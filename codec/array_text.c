/* array_text.c: the files of an array entry NAME as a user reads them: NAME, the summary, and
 * the one-line repr that stands for the array in its container's text (NAME.raw's bytes come
 * from array_raw.c). The summary is
 *
 *   tensor dtype=torch.float32 shape=(2, 3) crc32=0x8d2f31e4
 *   [[ 0.1, -2.5,  3.0],
 *    [ 4.0,  5.0,  6.0]]
 *
 * first word ndarray, tensor or storage; stride=(...) in elements when not C-contiguous;
 * requires_grad=True for parameters that require it; crc32 (zlib's, as Python's zlib.crc32) of
 * the raw bytes. A numeric array's second line is its statistics (array_stats.c), computed in
 * the same pass over the bytes as the checksum. The dtype and the raw bytes are as stored, byte order included (numpy's own
 * loader converts a big-endian array to native order; the values are the same). The values
 * follow numpy's repr layout: numbers right-aligned to a common width (strings and records
 * are not aligned, each keeps its own width), rows wrapped at 75 columns, and past 1000
 * elements only the first and last 3 of each axis, with "...". Each element is written as
 * array_elem.c says. A structured array wraps at 75 columns too: its header between the
 * dtype's fields (continuation lines start with spaces; joined with one space each they are
 * the header's one line), and a record wider than a line between its fields.
 *
 * Rendering a summary reads every element once (for the checksum), so it happens on first use
 * (stat or read) and is kept: the text is published with one atomic compare-and-swap, so
 * threads need no lock and a summary never changes once seen. st_size is then exact.
 */
#include "array_view_i.h"
#include "ckpt_i.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- the summary ---- */

#define SUMMARY_THRESHOLD 1000 /* numpy's print threshold */
#define EDGE 3                 /* numpy's edgeitems */
#define LINE_WIDTH 75          /* numpy's linewidth */
#define SHOWN_MAX 100000       /* more elements than this shown: values left out */

typedef struct shown {
    pk_buf *cells; /* the text of each shown element, in order */
    uint64_t n, cap;
    size_t width;
} shown;

static bool summarise(const pk_array *a)
{
    return a->numel > SUMMARY_THRESHOLD;
}

/* The indices shown along an axis of length len: all, or the first and last EDGE. */
static uint64_t axis_shown(const pk_array *a, uint64_t len)
{
    return summarise(a) && len > 2 * EDGE ? 2 * EDGE : len;
}

static uint64_t axis_index(const pk_array *a, uint64_t len, uint64_t j)
{
    return summarise(a) && len > 2 * EDGE && j >= EDGE ? len - 2 * EDGE + j : j;
}

/* Collect the shown elements in order (dimension d, storage element base). */
static int collect(const pk_doc *doc, const pk_array *a, shown *s, uint64_t d, uint64_t base)
{
    if (d == a->ndim) {
        uint8_t el[256];
        uint8_t *p = a->dt.size <= sizeof el ? el : malloc(a->dt.size);
        if (!p)
            return -ENOMEM;
        ssize_t r = pk_array_data_read(doc, a, base * a->dt.size, p, a->dt.size);
        if (r < 0) {
            if (p != el)
                free(p);
            return (int)r;
        }
        if (!pk_grow((void **)&s->cells, &s->cap, s->n + 1, sizeof *s->cells)) {
            if (p != el)
                free(p);
            return -ENOMEM;
        }
        pk_buf *c = &s->cells[s->n++];
        memset(c, 0, sizeof *c);
        pk_array_put_elem(doc, &a->dt, p, c);
        if (p != el)
            free(p);
        if (c->failed)
            return -ENOMEM;
        if (c->len > s->width)
            s->width = c->len;
        return 0;
    }
    uint64_t m = axis_shown(a, a->shape[d]);
    for (uint64_t j = 0; j < m; j++) {
        int r = collect(doc, a, s, d + 1, base + axis_index(a, a->shape[d], j) * a->stride[d]);
        if (r < 0)
            return r;
    }
    return 0;
}

static void put_cell(pk_buf *b, const shown *s, uint64_t *next)
{
    const pk_buf *c = &s->cells[(*next)++];
    for (size_t i = c->len; i < s->width; i++)
        pk_buf_put(b, " ", 1);
    pk_buf_put(b, c->data, c->len);
}

/* The end of the chunk of t that starts at `from`: just after the next ", " at nesting depth
 * 1 (inside the record's parentheses or the dtype's brackets, outside any quoted text), or len. */
static size_t chunk_end(const char *t, size_t len, size_t from, size_t *next)
{
    int depth = 0;
    char quote = 0;
    /* one scan from the start, since the depth at `from` depends on all before it; chunks
     * start at depth 1 */
    for (size_t i = 0; i < len; i++) {
        if (quote) {
            if (t[i] == '\\')
                i++;
            else if (t[i] == quote)
                quote = 0;
        } else if (t[i] == '\'' || t[i] == '"') {
            quote = t[i];
        } else if (i >= from && t[i] == ',' && i + 1 < len && t[i + 1] == ' ' && depth == 1) {
            *next = i + 2;
            return i + 1;
        } else {
            depth += strchr("([{", t[i]) ? 1 : strchr(")]}", t[i]) ? -1 : 0;
        }
    }
    *next = len;
    return len;
}

/* Write t[0..len) from column *col, wrapped at LINE_WIDTH between its fields (after a ", " at
 * depth 1), each new line indented to `indent`; `tail` columns are kept free after the last
 * field (the "," or "]" that follows). A structured dtype and a record are written so. */
static void put_wrapped(pk_buf *b, const char *t, size_t len, size_t *col, size_t indent,
                        size_t tail)
{
    size_t at = 0, next;
    bool first = true;
    while (at < len) {
        size_t end = chunk_end(t, len, at, &next);
        size_t w = end - at + (first ? 0 : 1) + (next >= len ? tail : 0);
        if (!first && *col + w > LINE_WIDTH && *col > indent) {
            pk_buf_put(b, "\n", 1);
            for (size_t i = 0; i < indent; i++)
                pk_buf_put(b, " ", 1);
            *col = indent;
        } else if (!first) {
            pk_buf_put(b, " ", 1);
            (*col)++;
        }
        pk_buf_put(b, t + at, end - at);
        *col += end - at;
        at = next;
        first = false;
    }
}

/* numpy's layout: "[" items "]", innermost rows wrapped at LINE_WIDTH, outer blocks one per
 * line, separated by ndim - d - 1 newlines; elided items as "...". col is the current column. */
static void layout(pk_buf *b, const pk_array *a, const shown *s, uint64_t d, uint64_t *next,
                   size_t *col)
{
    uint64_t len = a->shape[d], m = axis_shown(a, len);
    bool elide = m < len;
    pk_buf_put(b, "[", 1);
    (*col)++;
    size_t indent = d + 1;
    for (uint64_t j = 0; j < m; j++) {
        bool gap = elide && j == EDGE;
        if (d + 1 == a->ndim) {
            if (gap) {
                pk_buf_puts(b, j ? ", ..." : "...");
                *col += j ? 5 : 3;
            }
            size_t cw = s->width ? s->width : s->cells[*next].len; /* unaligned: its own */
            size_t w = cw + (j ? 2 : 0);
            if (j && *col + w + 1 > LINE_WIDTH) {
                pk_buf_puts(b, ",\n");
                for (size_t i = 0; i < indent; i++)
                    pk_buf_put(b, " ", 1);
                *col = indent;
                w -= 2;
            } else if (j) {
                pk_buf_puts(b, ", ");
                *col += 2;
            }
            if (a->dt.nfields && *col + cw + 1 > LINE_WIDTH) {
                /* a record wider than the line: wrapped between its fields, under its "(" */
                const pk_buf *c = &s->cells[(*next)++];
                put_wrapped(b, c->data, c->len, col, *col + 1, a->ndim - d);
                continue;
            }
            put_cell(b, s, next);
            *col += cw;
        } else {
            if (j) {
                pk_buf_put(b, ",", 1);
                for (uint64_t i = 0; i < a->ndim - d - 1; i++)
                    pk_buf_put(b, "\n", 1);
                for (size_t i = 0; i < indent; i++)
                    pk_buf_put(b, " ", 1);
                *col = indent;
            }
            if (gap) {
                pk_buf_puts(b, "...,");
                for (uint64_t i = 0; i < a->ndim - d - 1; i++)
                    pk_buf_put(b, "\n", 1);
                for (size_t i = 0; i < indent; i++)
                    pk_buf_put(b, " ", 1);
            }
            layout(b, a, s, d + 1, next, col);
        }
    }
    pk_buf_put(b, "]", 1);
    (*col)++;
}

static void put_tuple(pk_buf *b, const uint64_t *v, uint64_t n)
{
    char t[24];
    pk_buf_puts(b, "(");
    for (uint64_t i = 0; i < n; i++) {
        snprintf(t, sizeof t, i ? ", %llu" : "%llu", (unsigned long long)v[i]);
        pk_buf_puts(b, t);
    }
    pk_buf_puts(b, n == 1 ? ",)" : ")");
}

/* One more part of the header, " shape=(2, 3)": a structured array's header wraps at
 * LINE_WIDTH, its continuation lines indented by HEADER_INDENT (join them with one space each
 * to read it as one line); any other header is one line. */
#define HEADER_INDENT 4
static void put_part(pk_buf *b, const pk_buf *part, size_t *col, bool wrap)
{
    if (wrap && *col + part->len > LINE_WIDTH && *col > HEADER_INDENT) {
        pk_buf_put(b, "\n", 1);
        for (size_t i = 0; i < HEADER_INDENT; i++)
            pk_buf_put(b, " ", 1);
        *col = HEADER_INDENT;
        pk_buf_put(b, part->data + 1, part->len - 1); /* without its leading space */
        *col += part->len - 1;
        return;
    }
    pk_buf_put(b, part->data, part->len);
    *col += part->len;
}

/* The header up to its crc32, which render_summary adds with put_part; the column it ends at. */
static size_t put_header(const pk_doc *doc, const pk_array *a, pk_buf *b)
{
    const char *what = a->what == PK_T_TENSOR ? "tensor" : a->what == PK_T_STORAGE ? "storage"
                                                                                    : "ndarray";
    const char *dtype = doc->pool.data + a->dt.name.pos;
    bool wrap = a->dt.nfields != 0;
    size_t col = strlen(what) + strlen(" dtype=");
    pk_buf_puts(b, what);
    pk_buf_puts(b, " dtype=");
    if (wrap) /* a structured dtype: wrapped between its fields, under its "[" */
        put_wrapped(b, dtype, (size_t)a->dt.name.len, &col, col + 1, 0);
    else
        pk_buf_put(b, dtype, (size_t)a->dt.name.len), col += (size_t)a->dt.name.len;
    pk_buf part = {0};
    pk_buf_puts(&part, " shape=");
    put_tuple(&part, a->shape, a->ndim);
    put_part(b, &part, &col, wrap);
    if (!a->contiguous) {
        part.len = 0;
        pk_buf_puts(&part, " stride=");
        put_tuple(&part, a->stride, a->ndim);
        put_part(b, &part, &col, wrap);
    }
    if (a->requires_grad) {
        part.len = 0;
        pk_buf_puts(&part, " requires_grad=True");
        put_part(b, &part, &col, wrap);
    }
    b->failed |= part.failed;
    pk_buf_free(&part);
    return col;
}

static int render_summary(const pk_doc *doc, const pk_array *a, pk_buf *b)
{
    size_t col = put_header(doc, a, b);
    if (!a->in_range) {
        pk_buf_puts(b, a->src == PK_AS_NONE ? "\n<element bytes not in the file>\n"
                                            : "\n<element bytes past the end of their data>\n");
        return b->failed ? -ENOMEM : 0;
    }
    /* the checksum of the raw bytes, read in 1 MiB pieces */
    uint64_t total = pk_array_raw_size(a);
    uLong crc = crc32(0L, Z_NULL, 0);
    pk_stats st;
    bool stats = pk_stats_start(&st, &a->dt);
    size_t piece = 1 << 20;
    uint8_t *tmp = malloc(total < piece ? (total ? total : 1) : piece);
    if (!tmp)
        return -ENOMEM;
    for (uint64_t off = 0; off < total;) {
        ssize_t r = pk_array_raw_read(doc, a, tmp, piece, off);
        if (r <= 0) {
            free(tmp);
            return r < 0 ? (int)r : -EIO;
        }
        crc = crc32(crc, tmp, (uInt)r);
        if (stats)
            pk_stats_add(&st, tmp, (size_t)r);
        off += (uint64_t)r;
    }
    free(tmp);
    char t[32];
    pk_buf part = {0};
    snprintf(t, sizeof t, " crc32=0x%08lx", (unsigned long)crc);
    pk_buf_puts(&part, t);
    put_part(b, &part, &col, a->dt.nfields != 0);
    b->failed |= part.failed;
    pk_buf_free(&part);
    pk_buf_puts(b, "\n");
    if (stats)
        pk_stats_put(&st, b);
    /* the values */
    uint64_t nshown = 1;
    for (uint64_t d = 0; d < a->ndim; d++)
        if (__builtin_mul_overflow(nshown, axis_shown(a, a->shape[d]), &nshown))
            nshown = UINT64_MAX;
    if (nshown > SHOWN_MAX) {
        pk_buf_puts(b, "[...]\n");
        return b->failed ? -ENOMEM : 0;
    }
    if (a->numel == 0) {
        pk_buf_puts(b, "[]\n");
        return b->failed ? -ENOMEM : 0;
    }
    shown s = {0};
    int r = collect(doc, a, &s, 0, a->offset);
    if (a->dt.nfields || strchr("SUV", a->dt.kind))
        s.width = 0; /* numpy aligns numbers only */
    if (r == 0) {
        uint64_t next = 0;
        size_t vcol = 0;
        if (a->ndim == 0)
            put_cell(b, &s, &next);
        else
            layout(b, a, &s, 0, &next, &vcol);
        pk_buf_puts(b, "\n");
    }
    for (uint64_t i = 0; i < s.n; i++)
        pk_buf_free(&s.cells[i]);
    free(s.cells);
    return r < 0 ? r : b->failed ? -ENOMEM : 0;
}

/* The summary, rendered by the first caller and shared from then on. */
static const pk_summary *summary_of(const pk_doc *doc, const pk_array *a, int *err)
{
    pk_summary *s = atomic_load_explicit(&((pk_array *)a)->summary, memory_order_acquire);
    if (s)
        return s;
    pk_buf b = {0};
    *err = render_summary(doc, a, &b);
    if (*err < 0) {
        pk_buf_free(&b);
        return NULL; /* not kept: the next try may succeed */
    }
    s = malloc(sizeof *s + b.len);
    if (!s) {
        pk_buf_free(&b);
        *err = -ENOMEM;
        return NULL;
    }
    s->len = b.len;
    if (b.len)
        memcpy(s->text, b.data, b.len);
    pk_buf_free(&b);
    pk_summary *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&((pk_array *)a)->summary, &none, s,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        free(s); /* another thread was first: its text is the same */
        s = none;
    }
    return s;
}

int pk_array_size(const pk_doc *doc, uint32_t node, bool raw, uint64_t *size)
{
    const pk_array *a = pk_array_of(doc, node);
    *size = 0;
    if (!a)
        return -EIO;
    if (raw) {
        *size = pk_array_raw_size(a);
        return 0;
    }
    int err = 0;
    const pk_summary *s = summary_of(doc, a, &err);
    if (!s)
        return err ? err : -EIO;
    *size = s->len;
    return 0;
}

ssize_t pk_array_read(const pk_doc *doc, uint32_t node, bool raw, void *buf, size_t size,
                      uint64_t off)
{
    const pk_array *a = pk_array_of(doc, node);
    if (!a)
        return -EIO;
    if (raw)
        return pk_array_raw_read(doc, a, buf, size, off);
    int err = 0;
    const pk_summary *s = summary_of(doc, a, &err);
    if (!s)
        return err;
    if (off >= s->len)
        return 0;
    uint64_t k = s->len - off < size ? s->len - off : size;
    memcpy(buf, s->text + off, (size_t)k);
    return (ssize_t)k;
}

void pk_array_repr(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_array *a = pk_array_of(doc, node);
    if (!a) {
        pk_buf_puts(b, "array(...)");
        return;
    }
    pk_buf_puts(b, a->what == PK_T_TENSOR ? "tensor(" : a->what == PK_T_STORAGE ? "storage("
                                                                                   : "array(");
    pk_buf_puts(b, "dtype=");
    pk_buf_put(b, doc->pool.data + a->dt.name.pos, (size_t)a->dt.name.len);
    pk_buf_puts(b, ", shape=");
    put_tuple(b, a->shape, a->ndim);
    pk_buf_puts(b, ")");
}
