/* safetensors_i.h: a safetensors file's header, as read by safetensors.c (input layer). */
#ifndef SAFETENSORS_I_H
#define SAFETENSORS_I_H

#include "machine_i.h"
#include "pk_i.h"

#define PK_ST_MAXDIM 32

/* One tensor of the header, in the header's order. */
typedef struct pk_st_tensor {
    pk_span name;      /* in the pool */
    char dtype[16];    /* as the header spells it: "F32", "BF16", "I64", "BOOL"... */
    uint8_t ndim;
    uint64_t shape[PK_ST_MAXDIM];
    uint64_t begin, end; /* of its bytes, from the start of the data (checked within the file) */
    uint64_t at;       /* byte offset of its name in the file, for errors and user.pickle.offset */
} pk_st_tensor;

/* One "__metadata__" member: str to str. */
typedef struct pk_st_meta {
    pk_span key, value; /* in the pool */
} pk_st_meta;

typedef struct pk_st_header {
    uint64_t data; /* file offset where the tensors' bytes start */
    pk_st_tensor *tensors;
    uint64_t ntensors, cap_tensors;
    pk_st_meta *meta;
    uint64_t nmeta, cap_meta;
} pk_st_header;

/* Could p[0..len) be a safetensors file? (a header length that fits, then '{') */
bool pk_st_looks_like(const uint8_t *p, uint64_t len);
/* Read and check the header of doc->src. 0, or -1 with err set (PK_E_CONTAINER at the byte
 * that is wrong). pk_st_free frees what it made, but not what it put in the pool. */
int pk_st_parse(pk_doc *doc, pk_st_header *h, pk_error *err);
void pk_st_free(pk_st_header *h);

/* st_lift.c (lift layer): the header's tensors, and its metadata as the entry __metadata__, as
 * a dict, the top value (a pk_build_fn; arg is the pk_st_header). 0, or -1 with the error set. */
int pk_st_build(pk_lift_ctx *c, void *arg, uint32_t *top);

#endif
