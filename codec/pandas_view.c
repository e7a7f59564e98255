/* pandas_view.c: the text files of a pandas table (pandas_i.h says what the lift leaves).
 *
 * A column of objects (or categories, or a MultiIndex's tuples) reads
 *     object length=3
 * then one value a line: a str as its text (a newline, tab or backslash in it written \n, \t,
 * \\), anything else as Python's repr(). Past COLUMN_ROWS rows it shows the first and the last
 * COLUMN_ROWS / 2 with a line "..." between, as an array summary elides its middle.
 *
 * __table__ is the frame as aligned text, a header of the column names and one line a row
 * starting with its index label, each column as wide as its widest cell, numbers right-aligned;
 * past TABLE_ROWS rows the first and last TABLE_ROWS / 2 with "..." between, as pandas prints
 * a long frame, and its first TABLE_COLS columns with a last line saying how many there are.
 * A cell is a str as its text, any other value as repr(), an array's element as
 * numpy prints it (datetimes without their quotes).
 */
#include "array_view_i.h"
#include "pandas_i.h"
#include "source_i.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLUMN_ROWS 1000
#define TABLE_ROWS 60
#define TABLE_COLS 100 /* columns shown in the table */
#define CELL_MAX 200 /* bytes of one cell of the table */

/* A str's text, its control characters and backslashes escaped so that it stays one line. */
static void put_str_line(const pk_doc *doc, const pk_node *n, pk_buf *b)
{
    uint8_t t[512];
    uint64_t len = pk_span_len(doc, n);
    for (uint64_t off = 0; off < len && !pk_buf_full(b);) {
        uint64_t k = len - off < sizeof t ? len - off : sizeof t;
        if (pk_span_read(doc, n, off, t, k) < 0) {
            b->failed = true;
            return;
        }
        for (uint64_t i = 0; i < k; i++) {
            char e[8];
            if (t[i] == '\n')
                pk_buf_puts(b, "\\n");
            else if (t[i] == '\t')
                pk_buf_puts(b, "\\t");
            else if (t[i] == '\\')
                pk_buf_puts(b, "\\\\");
            else if (t[i] < 0x20 || t[i] == 0x7f)
                snprintf(e, sizeof e, "\\x%02x", t[i]), pk_buf_puts(b, e);
            else
                pk_buf_put(b, &t[i], 1);
        }
        off += k;
    }
}

static void put_value(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_node *n = &doc->nodes[node];
    if (n->kind == PK_K_STR) {
        put_str_line(doc, n, b);
        return;
    }
    if (n->kind == PK_K_TEXT) {
        put_str_line(doc, n, b);
        return;
    }
    pk_buf r = {.max = 4096};
    pk_repr(doc, node, &r);
    for (size_t i = 0; i < r.len; i++) /* a repr is one line already; keep it so */
        pk_buf_put(b, r.data[i] == '\n' ? " " : &r.data[i], 1);
    pk_buf_free(&r);
}

static uint32_t column_values(const pk_doc *doc, uint32_t node)
{
    const pk_call *c = pk_call_of(doc, &doc->nodes[node]);
    return c ? c->state : 0;
}

static void render_column(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_call *c = pk_call_of(doc, &doc->nodes[node]);
    const pk_node *list = &doc->nodes[column_values(doc, node)];
    uint64_t n = pk_count(doc, list);
    char t[48];
    if (c && doc->nodes[c->args].kind == PK_K_STR)
        put_str_line(doc, &doc->nodes[c->args], b);
    snprintf(t, sizeof t, " length=%llu\n", (unsigned long long)n);
    pk_buf_puts(b, t);
    for (uint64_t i = 0; i < n && !pk_buf_full(b); i++) {
        if (n > COLUMN_ROWS && i == COLUMN_ROWS / 2) {
            pk_buf_puts(b, "...\n");
            i = n - COLUMN_ROWS / 2;
        }
        put_value(doc, pk_item_at(doc, list, i), b);
        pk_buf_put(b, "\n", 1);
    }
}

/* ---- the table ---- */

/* Cell i of a column (an array, a column of objects, a RangeIndex) into b. */
static void put_cell(const pk_doc *doc, uint32_t col, uint64_t i, pk_buf *b)
{
    const pk_node *n = &doc->nodes[col];
    const pk_array *a = pk_array_of(doc, col);
    if (a) {
        uint8_t e[16];
        uint64_t off = (a->offset + i * a->stride[0]) * a->dt.size;
        if (a->ndim != 1 || a->dt.size > sizeof e || !a->in_range ||
            pk_array_data_read(doc, a, off, e, a->dt.size) != (ssize_t)a->dt.size) {
            pk_buf_puts(b, "?");
            return;
        }
        pk_buf r = {0};
        pk_array_put_elem(doc, &a->dt, e, &r);
        bool quoted = r.len >= 2 && strchr("Mm", a->dt.kind) && r.data[0] == '\'';
        pk_buf_put(b, quoted ? r.data + 1 : r.data, quoted ? r.len - 2 : r.len);
        pk_buf_free(&r);
        return;
    }
    if (n->kind == PK_K_DESC) {
        put_value(doc, pk_item_at(doc, &doc->nodes[column_values(doc, col)], i), b);
        return;
    }
    char t[32];
    int64_t start = 0, step = 1; /* a RangeIndex: start + i * step */
    uint64_t len = 0;
    if (!pd_range(doc, col, &start, &step, &len) || i >= len) {
        pk_buf_puts(b, "?");
        return;
    }
    int k = snprintf(t, sizeof t, "%lld", (long long)(start + (int64_t)i * step));
    pk_buf_put(b, t, (size_t)k);
}

/* The rows shown: all, or the first and last TABLE_ROWS / 2. Row r of the shown ones. */
static uint64_t shown_row(uint64_t rows, uint64_t r)
{
    return rows > TABLE_ROWS && r >= TABLE_ROWS / 2 ? rows - TABLE_ROWS + r : r;
}

/* One cell's text, cut at CELL_MAX bytes. */
static void cell_text(const pk_doc *doc, uint32_t col, uint64_t row, bool header, pk_buf *c)
{
    c->len = 0;
    c->max = CELL_MAX;
    c->truncated = false;
    if (header)
        put_value(doc, col, c);
    else
        put_cell(doc, col, row, c);
}

/* The index's name for the line under the header, as pandas prints it: 0 when it has none
 * (None, or a MultiIndex's names all None). */
static uint32_t index_name(const pk_doc *doc, uint32_t table)
{
    const pk_call *c = pk_call_of(doc, &doc->nodes[table]);
    uint32_t name = c ? c->kwargs : 0;
    const pk_node *n = &doc->nodes[name];
    if (!name || n->kind == PK_K_NONE)
        return 0;
    if (n->kind != PK_K_LIST)
        return name;
    pk_cursor cur = pk_items_of(doc, n);
    uint32_t item;
    while (pk_item_next(doc, &cur, &item))
        if (doc->nodes[item].kind != PK_K_NONE)
            return name;
    return 0;
}

static void render_table(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    const pk_node *t = &doc->nodes[column_values(doc, node)];
    uint64_t items = pk_count(doc, t), ncols = items ? (items - 1) / 2 + 1 : 0;
    uint32_t index = pk_item_at(doc, t, 0);
    uint64_t rows = pd_index_len(doc, index);
    if (rows == UINT64_MAX)
        rows = 0;
    if (ncols > TABLE_COLS + 1)
        ncols = TABLE_COLS + 1; /* the index and the first TABLE_COLS columns */
    uint64_t shown = rows > TABLE_ROWS ? TABLE_ROWS : rows;
    size_t *width = calloc(ncols ? ncols : 1, sizeof *width);
    pk_buf c = {0};
    if (!width) {
        b->failed = true;
        return;
    }
    uint32_t name = index_name(doc, node);
    if (name) {
        cell_text(doc, name, 0, true, &c);
        width[0] = c.len;
    }
    /* column 0 is the index (no header; its name, if any, on the line under the header),
     * column j the j-th of the frame */
    for (uint64_t j = 0; j < ncols; j++) {
        uint32_t col = j ? pk_item_at(doc, t, 2 * j) : index;
        if (j) {
            cell_text(doc, pk_item_at(doc, t, 2 * j - 1), 0, true, &c);
            width[j] = c.len;
        }
        for (uint64_t r = 0; r < shown; r++) {
            cell_text(doc, col, shown_row(rows, r), false, &c);
            width[j] = c.len > width[j] ? c.len : width[j];
        }
    }
    for (uint64_t r = 0; r <= shown && !pk_buf_full(b); r++) {
        if (r > 0 && rows > TABLE_ROWS && r - 1 == TABLE_ROWS / 2)
            pk_buf_puts(b, "...\n");
        for (uint64_t j = 0; j < ncols; j++) {
            uint32_t col = j ? pk_item_at(doc, t, 2 * j) : index;
            if (r == 0 && j == 0)
                c.len = 0;
            else if (r == 0)
                cell_text(doc, pk_item_at(doc, t, 2 * j - 1), 0, true, &c);
            else
                cell_text(doc, col, shown_row(rows, r - 1), false, &c);
            if (j)
                pk_buf_puts(b, "  ");
            for (size_t k = c.len; k < width[j] && j; k++) /* right-aligned, the index left */
                pk_buf_put(b, " ", 1);
            pk_buf_put(b, c.data ? c.data : "", c.len);
            for (size_t k = c.len; k < width[j] && !j; k++)
                pk_buf_put(b, " ", 1);
        }
        pk_buf_put(b, "\n", 1);
        if (r == 0 && name) {
            cell_text(doc, name, 0, true, &c);
            pk_buf_put(b, c.data ? c.data : "", c.len);
            pk_buf_put(b, "\n", 1);
        }
    }
    uint64_t all = items ? (items - 1) / 2 : 0;
    if (all > TABLE_COLS) {
        char line[80];
        snprintf(line, sizeof line, "(%llu columns, the first %d shown)\n",
                 (unsigned long long)all, TABLE_COLS);
        pk_buf_puts(b, line);
    }
    pk_buf_free(&c);
    free(width);
}

void pk_pandas_render(const pk_doc *doc, uint32_t node, pk_buf *b)
{
    if (pk_node_tname(doc, &doc->nodes[node]) == PK_T_PDTABLE)
        render_table(doc, node, b);
    else
        render_column(doc, node, b);
}
