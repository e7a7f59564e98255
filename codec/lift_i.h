/* lift_i.h: the interface between the pickle machine (decode.c) and the reconstructors it
 * lifts (lift.c): calls whose result picklefs can show as the value they build, by reading
 * their arguments and never by running anything. */
#ifndef LIFT_I_H
#define LIFT_I_H

#include "pk_i.h"

typedef struct pk_lift_ctx {
    pk_doc *doc;
    void *dec;       /* the machine, for the callbacks below */
    uint64_t offset; /* of the opcode making the call */
    int (*fail)(struct pk_lift_ctx *c, pk_code code, const char *what);
} pk_lift_ctx;

/* callable(*args, **kwargs), made by HOW. Sets *out to a new value when the call is one we
 * lift, leaves it 0 when the call stays an opaque object. Returns -1 on a hard error. */
int pk_lift_call(pk_lift_ctx *c, pk_how how, uint32_t callable, uint32_t args, uint32_t kwargs,
                 uint32_t *out);

/* Services of the machine, with its limits and error reporting. 0 means failure. */
uint32_t pk_lift_new_node(pk_lift_ctx *c, pk_kind kind);
uint32_t pk_lift_new_call(pk_lift_ctx *c, uint32_t node);
int pk_chain_add(pk_doc *doc, uint32_t container, uint32_t item);

#endif
