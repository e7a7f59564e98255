/* ckpt_i.h: formats around the pickle stream (compressed pickles, PyTorch zip and legacy
 * checkpoints, joblib dumps) and the arrays they carry (numpy arrays, torch tensors and
 * storages), private to the codec.
 *
 * format.c recognises FILE by content and leaves the pickle stream in doc->src; decompress.c
 * inflates gzip, zlib, bz2, xz and lzma; zip.c reads a torch.save archive's central directory;
 * array.c holds the arrays, lifts the calls that build them and renders their files.
 * All of it hangs off doc->ckpt, which is NULL for a plain pickle without arrays.
 */
#ifndef CKPT_I_H
#define CKPT_I_H

#include "lift_i.h"
#include "pk_i.h"

typedef struct pk_ckpt pk_ckpt;

/* ---- decompress.c ---- */

typedef enum pk_zfmt {
    PK_Z_NONE, PK_Z_GZIP, PK_Z_ZLIB, PK_Z_BZ2, PK_Z_XZ, PK_Z_LZMA, PK_Z_LZ4, PK_Z_ZSTD,
    PK_Z_RAW_DEFLATE, /* zip members: never recognised, only asked for */
} pk_zfmt;

/* The compression of buf, by its magic bytes. *skip is the length of a header to skip first
 * (joblib's old "ZF" files). */
pk_zfmt pk_zfmt_of(const uint8_t *buf, uint64_t len, uint64_t *skip);
/* Inflate all of buf into a malloc'ed *out of at most limit bytes. Returns 0, or -1 with err set
 * (PK_E_DECOMPRESS at the compressed offset, PK_E_DECOMPRESS_LIMIT past the limit). */
int pk_inflate(pk_zfmt fmt, const uint8_t *buf, uint64_t len, uint64_t limit, uint8_t **out,
               uint64_t *outlen, pk_error *err);

/* ---- zip.c: the members of a torch.save archive ---- */

typedef struct pk_zent {
    uint64_t name_pos, name_len; /* in pk_ckpt.names */
    uint64_t data;               /* file offset of the (stored or compressed) bytes */
    uint64_t csize, usize;
    uint16_t method;             /* 0 stored, 8 deflated */
    uint8_t *mem;                /* deflated members, inflated when first needed at open */
} pk_zent;

/* Read the central directory of the zip in map[0..len). Returns 0 or -1 with err set. */
int pk_zip_read(pk_doc *doc, const uint8_t *map, uint64_t len, pk_error *err);
/* The member called <top>/<rel>, or NULL. */
pk_zent *pk_zip_find(pk_doc *doc, const char *rel, size_t rel_len);
/* Make a member's bytes readable: inflates a deflated one into memory. 0 or -1 (err set). */
int pk_zip_load(pk_doc *doc, pk_zent *z, const uint8_t *map, uint64_t len, pk_error *err);

/* ---- array.c ---- */

#define PK_ARR_MAXDIM 32

/* Where an array's element bytes are. */
typedef enum pk_asrc {
    PK_AS_NONE,   /* not available (a storage key with no member): summary says so */
    PK_AS_NODE,   /* the span of a bytes node (numpy rawdata, joblib's bytes in the stream) */
    PK_AS_STREAM, /* at stream offset src_pos (legacy torch storages) */
    PK_AS_FILE,   /* at an absolute offset of FILE (a stored zip member, legacy torch data) */
    PK_AS_MEM,    /* in memory owned by doc->ckpt (an inflated zip member) */
} pk_asrc;

typedef struct pk_dtype {
    char kind;        /* numpy's dtype.kind: b i u f c S U V O M m; 'T' for bfloat16 */
    bool big;         /* big-endian elements */
    uint32_t size;    /* bytes per element */
    uint32_t field0, nfields; /* structured: pk_ckpt.fields[field0 .. field0 + nfields) */
    pk_span name;     /* as numpy's str(dtype) or torch's: "float32", "torch.float32"; pool */
} pk_dtype;

typedef struct pk_field {
    pk_span name;     /* pool */
    uint64_t offset;
    pk_dtype dt;
} pk_field;

/* The summary file, computed on first use and then immutable (see array.c). */
typedef struct pk_summary {
    uint64_t len;
    char text[];
} pk_summary;

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
    uint32_t src_node;  /* PK_AS_NODE */
    uint64_t src_pos;   /* PK_AS_FILE: file offset; PK_AS_STREAM: stream offset */
    const uint8_t *src_mem; /* PK_AS_MEM */
    uint64_t src_len;   /* bytes available from the start of the data */
    char key[40];       /* torch storage key, for legacy files resolved after decoding */
    pk_summary *_Atomic summary; /* set once, by the first thread to render it */
} pk_array;

struct pk_ckpt {
    /* the archive (zip) */
    char *names;
    uint64_t names_len, names_cap;
    pk_zent *ents;
    uint64_t nents, cap_ents;
    uint64_t top_len;        /* the archive's top folder is names[0..top_len) plus '/' */
    const uint8_t *map;      /* the whole file, while decoding (then NULL if it was mapped) */
    uint64_t map_len;
    bool map_unmap;          /* map is an mmap (else a caller's buffer, kept until close) */
    bool is_zip;
    bool big_endian;         /* <top>/byteorder says "big" */
    /* legacy torch.save: five pickles, then raw storages */
    bool legacy;
    uint64_t legacy_data;    /* stream offset where the raw storages start */
    /* arrays */
    pk_field *fields;
    uint64_t nfields, cap_fields;
    pk_array *arrays;
    uint64_t narrays, cap_arrays;
};

/* ckpt.c */
pk_ckpt *pk_ckpt_get(pk_doc *doc); /* made on first use; NULL when out of memory */
void pk_ckpt_free(pk_doc *doc);

/* format.c: what a file may be, by its first bytes: a list of guesses, most specific first,
 * always ending with a raw pickle. */
typedef enum pk_guess_kind { PK_G_ZIP, PK_G_COMPRESSED, PK_G_RAW } pk_guess_kind;
typedef struct pk_guess {
    pk_guess_kind kind;
    pk_zfmt zfmt;  /* PK_G_COMPRESSED */
    uint64_t skip; /* bytes of header before the compressed data */
    bool weak;     /* magic bytes that a pickle can begin with too (a zlib header) */
} pk_guess;
#define PK_GUESS_MAX 4
int pk_format_guess(const uint8_t *p, uint64_t len, pk_guess out[PK_GUESS_MAX]);
/* Take doc->src (a mapped file or a caller's buffer) as guess g and leave the pickle stream
 * there. Returns 0 or -1 with err set. */
int pk_format_open(pk_doc *doc, const pk_guess *g, pk_error *err);
/* What a file that is none of our formats looks like ("a 7z archive", "text"), or NULL. */
const char *pk_format_foreign(const uint8_t *p, uint64_t len);
/* The tree is built: unmap the archive (spans are read with pread from now on). */
void pk_format_settle(pk_doc *doc);
/* The decoder finished a pickle ending at pos: should the stream stop here? (legacy torch) */
bool pk_format_stream_done(pk_doc *doc, uint64_t pos);

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

/* legacy.c: after decoding a legacy torch file, its raw storages. 0 or -1 with err set. */
int pk_legacy_storages(pk_doc *doc, pk_error *err);

/* Point an array at its data, and check that all its elements lie there. */
void pk_array_set_source(pk_array *a, pk_asrc src, uint64_t pos, const uint8_t *mem,
                         uint64_t len);

/* Files of an array entry: the summary (raw false) or the raw element bytes. */
/* pk_array_size returns 0 or -errno (the summary could not be rendered: its data is gone). */
int pk_array_size(const pk_doc *doc, uint32_t node, bool raw, uint64_t *size);
ssize_t pk_array_read(const pk_doc *doc, uint32_t node, bool raw, void *buf, size_t size,
                      uint64_t off);
int pk_array_span(const pk_doc *doc, uint32_t node, int *fd, uint64_t *pos);
/* A one-line repr: array(dtype=float32, shape=(2, 3)) */
void pk_array_repr(const pk_doc *doc, uint32_t node, pk_buf *b);

#endif
