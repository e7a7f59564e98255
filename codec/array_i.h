/* array_i.h: the array model (numpy arrays, torch tensors and storages: a dtype, a shape and
 * strides over element bytes that stay where the file has them) and the lifts that build it,
 * private to the codec. The lift layer's array files fill it in while the pickle is decoded;
 * array_view_i.h declares how the view reads it back as files.
 */
#ifndef ARRAY_I_H
#define ARRAY_I_H

#include "lift_i.h"
#include "pk_i.h"

#define PK_ARR_MAXDIM 32

/* Where an array's element bytes are. */
typedef enum pk_asrc {
    PK_AS_NONE,   /* not available (a storage key with no member): summary says so */
    PK_AS_NODE,   /* the span of a bytes node (numpy rawdata, joblib's bytes in the stream) */
    PK_AS_STREAM, /* at stream offset src_pos (legacy torch storages) */
    PK_AS_FILE,   /* at an absolute offset of FILE (a stored zip member, legacy torch data) */
    PK_AS_MEM,    /* in memory owned by doc->ckpt (an inflated zip member) */
    PK_AS_SIDE,   /* at offset src_pos of joblib's side file doc->ckpt->sides[src_node] */
} pk_asrc;

typedef struct pk_dtype {
    char kind;        /* numpy's dtype.kind: b i u f c S U V O M m; 'T' for bfloat16 */
    bool big;         /* big-endian elements */
    uint32_t size;    /* bytes per element */
    uint32_t field0, nfields; /* structured: pk_ckpt.fields[field0 .. field0 + nfields) */
    pk_span name;     /* as numpy's str(dtype) or torch's: "float32", "torch.float32"; pool */
    char unit[3];     /* datetime64 and timedelta64 (M, m): "ns", "D", "Y"...; "g" for numpy's
                         generic unit (dtype 'M8', no unit); "" if not known */
    uint32_t unit_n;  /* ...and its count: 15 for "15s" */
} pk_dtype;

#define PK_FIELD_SUBDIM 8
typedef struct pk_field {
    pk_span name;     /* pool */
    uint64_t offset;
    pk_dtype dt;
    uint8_t sub_ndim; /* a sub-array field ('a', '<i4', (2, 3)): the shape of its elements of dt */
    uint32_t sub_shape[PK_FIELD_SUBDIM];
} pk_field;

/* The summary file, rendered by the view on first use and then immutable (array_view_i.h). */
typedef struct pk_summary pk_summary;

typedef struct pk_array {
    uint8_t what;       /* PK_T_NDARRAY, PK_T_TENSOR, PK_T_STORAGE */
    bool requires_grad;
    bool contiguous;    /* C order from offset: the raw bytes are one span */
    bool in_range;      /* every element lies within the src_len bytes of the data */
    uint8_t ndim;
    uint8_t src;        /* pk_asrc */
    pk_dtype dt;
    uint64_t shape[PK_ARR_MAXDIM];
    uint64_t stride[PK_ARR_MAXDIM]; /* in elements */
    uint64_t offset;    /* first element, in elements from the start of the data */
    uint64_t numel;
    uint32_t src_node;  /* PK_AS_NODE; PK_AS_SIDE: the side file's index */
    uint64_t src_pos;   /* PK_AS_FILE: file offset; PK_AS_STREAM: stream offset */
    const uint8_t *src_mem; /* PK_AS_MEM */
    uint64_t src_len;   /* bytes available from the start of the data */
    char key[40];       /* torch storage key, for legacy files resolved after decoding */
    pk_summary *_Atomic summary; /* set once, by the first thread to render it */
} pk_array;

/* ---- array.c: the model's records, shared by the array lifts and read by the view ---- */

/* The array node stands for, or NULL when node is no array. */
const pk_array *pk_array_of(const pk_doc *doc, uint32_t node);
/* Point an array at its data, and check that all its elements lie there. */
void pk_array_set_source(pk_array *a, pk_asrc src, uint64_t pos, const uint8_t *mem,
                         uint64_t len);
/* A new array record; its index in *idx. Pointers into k->arrays move when it grows. */
pk_array *pk_array_new(pk_lift_ctx *c, uint64_t *idx);
/* A new array record holding a copy of *from (its summary not shared); NULL with the error set. */
pk_array *pk_array_new_copy(pk_lift_ctx *c, const pk_array *from, uint64_t *idx);
/* shape, numel, C-order strides (or Fortran order), from a tuple (or list) of ints. */
bool pk_array_set_shape(const pk_doc *doc, pk_array *a, uint32_t shape, bool fortran);
/* Turn node into an array (in place, so every reference to it, memo included, sees it). */
bool pk_array_make_node(pk_doc *doc, uint32_t node, uint64_t idx, uint16_t what);
/* A new array value of kind what (PK_T_NDARRAY, PK_T_TENSOR) described by tmp (its dtype and
 * shape set), whose need bytes of elements start at stream offset pos (a .npy's, a safetensors
 * file's); 0 with the error set. */
uint32_t pk_array_from_stream(pk_lift_ctx *c, const pk_array *tmp, uint8_t what, uint64_t pos,
                              uint64_t need);
/* Add text to the pool; text may lie in the pool itself, which moves when it grows. */
bool pk_arr_pool_text(pk_doc *doc, const char *s, size_t len, pk_span *out);

/* Small readers of decoded values; node 0 (none) reads as nothing. */
/* The i-th item of a tuple or list, or 0. */
uint32_t pk_arr_item(const pk_doc *doc, uint32_t tuple, uint64_t i);
/* The item count of a node of this kind, or UINT64_MAX when node is none or of another kind. */
uint64_t pk_arr_count(const pk_doc *doc, uint32_t node, pk_kind kind);
/* Is node the str text? */
bool pk_arr_str_is(const pk_doc *doc, uint32_t node, const char *text);
/* An int or bool's value into *v; false for any other node. */
bool pk_arr_int(const pk_doc *doc, uint32_t node, int64_t *v);
/* Was node built by calling the GLOBAL of this dotted name? */
bool pk_arr_called(const pk_doc *doc, uint32_t node, const char *name);
/* Is name numpy.core.REST or numpy._core.REST (numpy 2's spelling)? */
bool pk_numpy_core(const char *name, const char *rest);
/* Was node built by calling numpy.core.REST or numpy._core.REST? */
bool pk_arr_called_numpy(const pk_doc *doc, uint32_t node, const char *rest);

/* ---- array_dtype.c ---- */

/* Read a numpy.dtype call (args (str, align, copy), BUILD state (version, byteorder, subdescr,
 * names, fields, elsize, alignment, flags[, metadata])) into *dt, its name in the pool. False
 * for what we do not model (sub-array dtypes, too deep nesting); depth is 0 at the top. */
bool pk_dtype_parse(pk_doc *doc, uint32_t node, pk_dtype *dt, int depth);
/* The unit of a datetime64 or timedelta64 dtype from text such as "ns", "15s", "D", or
 * "generic" (no unit, which numpy writes "M8"): into dt, and true when it is one of numpy's. */
bool pk_dtype_set_unit(pk_dtype *dt, const char *s, size_t len);
/* Name dt (kind, size, byte order, fields set) as numpy's str(dtype) does, in the pool. */
bool pk_dtype_set_name(pk_doc *doc, pk_dtype *dt);
/* pk_dtype_parse of a dtype that a lift has made one (what an array or scalar reads): false
 * for a numpy.dtype call left opaque. */
bool pk_dtype_read(pk_doc *doc, uint32_t node, pk_dtype *dt);

/* ---- the lifts that build arrays, reached from lift.c: array_lift.c, array_numpy.c,
 * array_joblib.c, array_torch.c ---- */

/* Lift calls building arrays and their friends (called from lift.c with the normalised name). */
int pk_array_lift_call(pk_lift_ctx *c, const char *name, uint32_t callable, uint32_t args,
                       uint32_t *out);
/* BUILD on node: numpy dtypes and arrays take their value here. */
int pk_array_build(pk_lift_ctx *c, uint32_t node);
/* A persistent id: a torch storage in the archive becomes an array in place. */
int pk_array_persid(pk_lift_ctx *c, uint32_t node);
/* joblib's NumpyArrayWrapper after its BUILD: how many raw bytes follow it in the stream
 * (*nested set when a whole pickle follows instead). -1 on error, 0 when node is none. */
int pk_joblib_build(pk_lift_ctx *c, uint32_t node, const uint8_t *at, uint64_t left,
                    uint64_t at_pos, uint64_t *consumed, bool *nested);
/* joblib's wrappers before 0.10, NDArrayWrapper and ZNDArrayWrapper, after their BUILD: the
 * array of their side file (side.c), or the wrapper left as it is with an entry __error__ that
 * says why not. 0, or -1 on a hard error (a limit, out of memory). */
int pk_joblib_side_build(pk_lift_ctx *c, uint32_t node);
/* The calls pk_array_lift_call hands on, by the family of their name: each sets *out to the
 * value it lifts or leaves it 0; 0, or -1 on a hard error. */
int pk_torch_lift_call(pk_lift_ctx *c, const char *name, uint32_t callable, uint32_t args,
                       uint32_t *out); /* array_torch.c */
int pk_numpy_lift_call(pk_lift_ctx *c, const char *name, uint32_t args,
                       uint32_t *out); /* array_numpy.c */

#endif
