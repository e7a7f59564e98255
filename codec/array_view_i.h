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
/* A real number of kind f or T and width size (2, 4, 8), little-endian at p, as a double. */
double pk_array_real(const uint8_t *p, char kind, uint32_t size);
/* v, a value of that kind and width, as the shortest decimal that reads back as v at that
 * width, written as Python's repr() writes it. */
void pk_array_put_real(pk_buf *b, double v, char kind, uint32_t size);
/* A complex of parts re and im, each of width part (4 or 8), as Python's complex repr:
 * (re+imj), a zero re as just imj. */
void pk_array_put_complex(pk_buf *b, double re, double im, uint32_t part);

/* array_stats.c: the statistics line of a numeric summary, from the raw bytes fed in C order
 * in pieces of any size. Integer sums are 128 bits wide (a GCC and Clang extension). */
__extension__ typedef __int128 pk_i128;
__extension__ typedef unsigned __int128 pk_u128;
typedef struct pk_stats {
    char kind;          /* b i u f c T, or 0: no statistics for this dtype */
    bool big;
    uint32_t size;
    uint8_t carry[16];  /* an element split between two pieces */
    uint32_t ncarry;
    uint64_t n, nan, inf, finite;
    /* integers and bools */
    bool any;
    int64_t imin, imax;   /* kind i */
    uint64_t umin, umax;  /* kinds u and b */
    pk_i128 isum;
    pk_u128 usum;
    /* reals, and complex by parts [0] real, [1] imaginary, over finite values */
    double min[2], max[2];
    double sum[2], comp[2];   /* Neumaier's compensated sum */
    double wmean[2], m2[2];   /* the running mean and sum of squared deviations from it */
} pk_stats;
/* Start on an array of dtype dt: false (and nothing to add) when it has no statistics. */
bool pk_stats_start(pk_stats *s, const pk_dtype *dt);
void pk_stats_add(pk_stats *s, const uint8_t *p, size_t len);
/* The line, with its newline; nothing when no element was added. */
void pk_stats_put(const pk_stats *s, pk_buf *b);
/* array_time.c: a datetime64 or timedelta64 element (8 bytes, little-endian here) of a dtype
 * with a known unit, as numpy prints it; false when it cannot be written (then shown as bytes). */
bool pk_array_put_time(const pk_dtype *dt, const uint8_t v[8], pk_buf *b);

#endif
