/* array_view_i.h: an array entry's files as the view shows them (the summary, the raw element
 * bytes, the one-line repr), private to the codec. The view's array files read the model of
 * array_i.h, which the lifts filled in, and never change it but for the summary they keep.
 */
#ifndef ARRAY_VIEW_I_H
#define ARRAY_VIEW_I_H

#include "array_i.h"

/* The summary file, computed on first use and then immutable (see array_text.c). */
struct pk_summary {
    uint64_t len;
    char text[];
};

/* Files of an array entry: the summary (raw false) or the raw element bytes. */
/* pk_array_size returns 0 or -errno (the summary could not be rendered: its data is gone). */
int pk_array_size(const pk_doc *doc, uint32_t node, bool raw, uint64_t *size);
ssize_t pk_array_read(const pk_doc *doc, uint32_t node, bool raw, void *buf, size_t size,
                      uint64_t off);
int pk_array_span(const pk_doc *doc, uint32_t node, int *fd, uint64_t *pos);
/* A one-line repr: array(dtype=float32, shape=(2, 3)) */
void pk_array_repr(const pk_doc *doc, uint32_t node, pk_buf *b);

/* ---- shared by the view's array files ---- */

/* array_raw.c: len bytes at byte off of the array's data (checked in range by the caller), or
 * -errno. */
ssize_t pk_array_data_read(const pk_doc *doc, const pk_array *a, uint64_t off, void *buf,
                           uint64_t len);
/* The size of the raw file: the elements' bytes, or 0 when they are not all in the data. */
uint64_t pk_array_raw_size(const pk_array *a);
/* Read the raw file: the elements in C order. */
ssize_t pk_array_raw_read(const pk_doc *doc, const pk_array *a, void *buf, size_t size,
                          uint64_t off);

/* array_elem.c: one element as numpy would print it in a repr. p holds the element as stored. */
void pk_array_put_elem(const pk_doc *doc, const pk_dtype *dt, const uint8_t *p, pk_buf *b);
/* array_time.c: a datetime64 or timedelta64 element (8 bytes, little-endian here) of a dtype
 * with a known unit, as numpy prints it; false when it cannot be written (then shown as bytes). */
bool pk_array_put_time(const pk_dtype *dt, const uint8_t v[8], pk_buf *b);

#endif
