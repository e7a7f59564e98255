/* ckpt_i.h: formats around the pickle stream (compressed pickles, PyTorch zip and legacy
 * checkpoints, joblib dumps) and the record of what they carry, private to the codec.
 *
 * format.c recognises FILE by content and leaves the pickle stream in doc->src; decompress.c
 * inflates gzip, zlib, bz2, xz and lzma; zip.c reads a torch.save archive's central directory.
 * The arrays they carry (numpy arrays, torch tensors and storages) are modelled and lifted as
 * array_i.h says, and shown as files as array_view_i.h says.
 * All of it hangs off doc->ckpt, which is NULL for a plain pickle without arrays.
 */
#ifndef CKPT_I_H
#define CKPT_I_H

#include "array_i.h" /* the arrays pk_ckpt holds; legacy.c points them at their data */
#include "array_view_i.h" /* for content.c and render.c, which show them */
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
    uint16_t flags;              /* general purpose bits: 1 is encryption */
    uint64_t at;                 /* a zip of members: its bytes' offset in the stream */
    uint8_t *mem;                /* deflated members, inflated when first needed at open */
} pk_zent;

/* Read the central directory of the zip in map[0..len). Returns 0 or -1 with err set. */
int pk_zip_read(pk_doc *doc, const uint8_t *map, uint64_t len, pk_error *err);
/* Add member z, named name[0..nlen), to the list; -1 when out of memory. */
int pk_zip_add_member(pk_ckpt *k, const uint8_t *name, uint64_t nlen, pk_zent *z);
/* The list is complete (at least one member): the archive's top folder. */
void pk_zip_members_found(pk_ckpt *k);
/* zip_scan.c: -o partial only, for an archive whose central directory is missing or broken (a
 * checkpoint from a crashed run): the members found by walking the local headers from the
 * start of map[0..len), each length checked, up to the first that is cut short or no member;
 * a stored member cut short is kept with the bytes there are when it is the first (torch's
 * data.pkl, whose pickle then fails where it is cut, showing its stack). 0, or -1 when none
 * is found. */
int pk_zip_scan(pk_doc *doc, const uint8_t *map, uint64_t len);
/* The member called <top>/<rel>, or NULL (always NULL when the first member is in no folder). */
pk_zent *pk_zip_find(pk_doc *doc, const char *rel, size_t rel_len);
/* In a zip shown as its members (a zip of members, a .npz): the member whose bytes hold stream
 * offset off, where they start in *start; NULL for any other file, or an offset in none. */
const pk_zent *pk_zip_member_at(const pk_doc *doc, uint64_t off, uint64_t *start);
/* Make a member's bytes readable: inflates a deflated one into memory. 0 or -1 (err set). */
int pk_zip_load(pk_doc *doc, pk_zent *z, const uint8_t *map, uint64_t len, pk_error *err);

/* ---- side.c: the files beside a joblib dump before 0.10 (model.pkl_01.npy) ---- */

#define PK_SIDE_NAME_MAX 256
typedef struct pk_side {
    char name[PK_SIDE_NAME_MAX]; /* a base name in FILE's directory (pk_side_name_ok) */
    dev_t dev;                   /* what it was when decoded: a read checks it still is */
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint8_t *mem;                /* a .npy.z: its inflated bytes (the array's, PK_AS_MEM) */
} pk_side;

/* A side file mapped while it is decoded; its record is k->sides[idx]. */
typedef struct pk_side_view {
    uint64_t idx;
    const uint8_t *p;
    uint64_t len;
} pk_side_view;

/* Is name[0..len) a plain base name (not empty, ".", "..", no '/', '\\' or NUL, short)? */
bool pk_side_name_ok(const char *name, uint64_t len);
/* Open the directory of FILE at path into doc->dir_fd (left -1 when it cannot be opened). */
void pk_side_dir_open(pk_doc *doc, const char *path);
/* Map the side file name (a pk_side_name_ok name) and record it. 0, or -1 with why filled
 * (missing, a symbolic link, not a regular file, empty, out of memory). */
int pk_side_map(pk_doc *doc, const char *name, pk_side_view *v, char *why, size_t size);
void pk_side_unmap(pk_side_view *v);
/* len bytes at pos of side file idx, after checking it is still the file that was decoded:
 * len, or -EIO. */
ssize_t pk_side_pread(const pk_doc *doc, uint64_t idx, void *buf, uint64_t len, uint64_t pos);
/* Inflate joblib's zlib file ("ZF", a hex length, zlib) at p[0..len) into a malloc'ed *out of
 * exactly the length its header gives, at most limit. 0, or -1 with err set:
 * PK_E_DECOMPRESS_LIMIT when the header claims more than limit, PK_E_DECOMPRESS for a corrupt
 * stream, PK_E_CONTAINER for a bad header or a stream of another length. */
int pk_zfile_inflate(const uint8_t *p, uint64_t len, uint64_t limit, uint8_t **out,
                     uint64_t *outlen, pk_error *err);

struct pk_ckpt {
    /* the archive (zip) */
    char *names;
    uint64_t names_len, names_cap;
    pk_zent *ents;
    uint64_t nents, cap_ents;
    uint64_t top_len;        /* the archive's top folder is names[0..top_len) plus '/' */
    bool no_top;             /* the first member is in no folder (a .npz, never torch) */
    bool npz;                /* a .npz: every member a .npy */
    bool gathered;           /* the members' bytes are the stream, one after another (at) */
    bool members;            /* neither torch nor .npz: a directory of the members (gathered) */
    bool torchscript;        /* members of a torch.jit.save archive: <top>/ left out of their
                                paths, its data/ storages shown only as data.pkl's tensors */
    const uint8_t *map;      /* the whole file, while decoding (then NULL if it was mapped) */
    uint64_t map_len;
    bool map_unmap;          /* map is an mmap (else a caller's buffer, kept until close) */
    bool is_zip;
    pk_error cut;            /* -o partial: the error of an archive read without its central
                                directory (pk_zip_scan), which it is refused with after all */
    bool big_endian;         /* <top>/byteorder says "big" */
    /* legacy torch.save: five pickles, then raw storages */
    bool legacy;
    uint64_t legacy_data;    /* stream offset where the raw storages start */
    /* a .npy file: its header (npy_i.h), for the builder of its array */
    struct pk_npy *npy;
    /* a safetensors file: its header (safetensors_i.h), for the builder of its tensors */
    struct pk_st_header *st;
    /* a joblib dump before 0.10: its side files, and the bytes inflated from them in all */
    pk_side *sides;
    uint64_t nsides, cap_sides;
    uint64_t side_inflated;
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
typedef enum pk_guess_kind {
    PK_G_ZIP, PK_G_NPY, PK_G_SAFETENSORS, PK_G_COMPRESSED, PK_G_RAW
} pk_guess_kind;
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
/* Was the file read without its central directory (-o partial, pk_zip_scan)? Then true, with
 * the error it is refused with in *err, what it holds decoded all the same. */
bool pk_format_cut(const pk_doc *doc, pk_error *err);
/* What a file that is none of our formats looks like ("a 7z archive", "text"), or NULL. */
const char *pk_format_foreign(const uint8_t *p, uint64_t len);
/* The tree is built: unmap the archive (spans are read with pread from now on). */
void pk_format_settle(pk_doc *doc);
/* The decoder finished a pickle ending at pos: should the stream stop here? (legacy torch) */
bool pk_format_stream_done(pk_doc *doc, uint64_t pos);
/* Does the format need more pickles than the stream has given so far (legacy torch's five)?
 * Then a pickle that fails is an error, never bytes after the stream. */
bool pk_format_wants_more(const pk_doc *doc);

/* zip_lift.c (lift layer): the members of a zip that is neither a torch checkpoint nor a .npz,
 * as a directory, the top value (a pk_build_fn; arg is unused). 0, or -1 with the error set. */
int pk_zip_build(pk_lift_ctx *c, void *arg, uint32_t *top);

/* legacy.c: after decoding a legacy torch file, its raw storages. 0 or -1 with err set. */
int pk_legacy_storages(pk_doc *doc, pk_error *err);

#endif
