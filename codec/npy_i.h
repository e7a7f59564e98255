/* npy_i.h: a numpy .npy file's header, as npy.c (input layer) reads it, and the builder that
 * makes its array (npy_lift.c, lift layer), which the coordinator runs through the machine's
 * pk_decode_build. An object array's header is read here too, but its elements are the pickle
 * after the header, which the machine decodes like any other. */
#ifndef NPY_I_H
#define NPY_I_H

#include "machine_i.h"
#include "pk_i.h"

#define PK_NPY_MAXDIM 32
#define PK_NPY_MAXFIELDS 64

#define PK_NPY_MAXDEPTH 8 /* nesting of structured dtypes */
#define PK_NPY_SUBDIM 8    /* dimensions of a sub-array field */

/* One field of a structured dtype, as the header's descr list gives it: (name, code), or
 * (name, [fields]) for a nested structured dtype, whose fields follow it in pk_npy.fields one
 * level deeper; either with a third item, a sub-array's shape: ('a', '<i4', (2, 3)). */
typedef struct pk_npy_field {
    char name[256];
    uint32_t name_len;
    char code[24];      /* "" for a nested structured dtype */
    uint8_t depth;      /* 0 for the fields of the array's own dtype */
    uint8_t sub_ndim;   /* 0 unless a sub-array field */
    uint32_t sub_shape[PK_NPY_SUBDIM];
} pk_npy_field;

typedef struct pk_npy {
    uint64_t at;        /* stream offset of the magic (0, or a zip member's start) */
    uint64_t data;      /* stream offset of the elements (or of the pickle of an object array) */
    uint64_t len;       /* bytes from data to the end of the file or member */
    char code[24];      /* descr when it is a str ("<f4", "|O"); "" for a structured dtype */
    pk_npy_field fields[PK_NPY_MAXFIELDS]; /* every level's, depth first */
    uint32_t nfields;
    bool fortran;
    bool object;        /* descr is "|O": the elements are a pickle */
    uint8_t ndim;
    uint64_t shape[PK_NPY_MAXDIM];
} pk_npy;

/* Does p[0..len) begin with the .npy magic, "\x93NUMPY"? */
bool pk_npy_looks_like(const uint8_t *p, uint64_t len);
/* Read the header of the .npy file at p[0..len), which lies at stream offset base. 0, or -1 with
 * err set (PK_E_CONTAINER or PK_E_LENGTH, at the stream offset of what is wrong). */
int pk_npy_parse(const uint8_t *p, uint64_t len, uint64_t base, pk_npy *h, pk_error *err);

/* npy_lift.c: the array the header describes, over the stream's bytes at h->data, as the top
 * value (a pk_build_fn; arg is the pk_npy). 0, or -1 with the error set. */
int pk_npy_build(pk_lift_ctx *c, void *arg, uint32_t *top);
struct pk_array;
/* The dtype and shape of the array h describes into *tmp, and the bytes of its elements into
 * *need (no more than h->len). PK_E_OK, or the code of what is wrong with what filled (an object
 * array, whose elements are a pickle, is PK_E_CONTAINER too). */
pk_code pk_npy_describe(pk_doc *doc, const pk_npy *h, struct pk_array *tmp, uint64_t *need,
                        char *what, size_t size);
/* The same array as a new value, for a caller that builds more than one (a .npz). */
uint32_t pk_npy_array(pk_lift_ctx *c, const pk_npy *h);
/* The arrays of a .npz (doc->ckpt's members, each a .npy), as a dict of NAME (the member's
 * name without .npy) to array, the top value (a pk_build_fn; arg is unused). */
int pk_npz_build(pk_lift_ctx *c, void *arg, uint32_t *top);

#endif
