/* machine_i.h: the pickle machine (decode.c and the decode_*.c files under it, which share
 * decode_i.h) and the hooks it reaches the lifts through.
 *
 * The machine runs the opcodes and records values and calls; it knows nothing of what a call
 * builds. Where a lift may turn a call into the value it builds (REDUCE and the other calls,
 * BUILD, a persistent id), the machine asks a pk_hooks table that its caller passes in: the
 * lifts (lift.c, array.c) sit above the machine and are never called by name from it. The
 * lifts in turn make values and calls through the services below, which keep the machine's
 * limits and report its errors at the opcode being run.
 */
#ifndef MACHINE_I_H
#define MACHINE_I_H

#include "pk_i.h"

typedef struct pk_lift_ctx {
    pk_doc *doc;
    void *dec;       /* the machine, for the services below */
    uint64_t offset; /* of the opcode making the call */
    int (*fail)(struct pk_lift_ctx *c, pk_code code, const char *what);
} pk_lift_ctx;

/* What the machine asks of the lifts. Each returns -1 on a hard error (with the error set
 * through c->fail), else 0 (or, for joblib_build, 1 when raw bytes or a pickle follow). A NULL
 * table, or a NULL member, lifts nothing: every call then stays an opaque object. */
typedef struct pk_hooks {
    /* callable(*args, **kwargs), made by how: *out a new value when the call is lifted, else
     * left 0 */
    int (*call)(pk_lift_ctx *c, pk_how how, uint32_t callable, uint32_t args, uint32_t kwargs,
                uint32_t *out);
    /* after BUILD on node (numpy dtypes and arrays take their value here) */
    int (*build)(pk_lift_ctx *c, uint32_t node);
    /* a persistent id node: a torch storage in the archive becomes an array in place */
    int (*persid)(pk_lift_ctx *c, uint32_t node);
    /* joblib's NumpyArrayWrapper after its BUILD: how many raw bytes follow it at `at` (*nested
     * set when a whole pickle follows instead) */
    int (*joblib_build)(pk_lift_ctx *c, uint32_t node, const uint8_t *at, uint64_t left,
                        uint64_t at_pos, uint64_t *consumed, bool *nested);
} pk_hooks;

/* Run the pickle machine over doc->src, filling values, items, calls and tops. 0, or -1 with
 * err set. */
int pk_decode(pk_doc *doc, const pk_hooks *hooks, pk_error *err);

/* A format that is no pickle (a .npy file) makes its values with a builder of the lift layer
 * instead of opcodes: pk_decode_build sets up the machine (its limits, value offsets and errors)
 * as pk_decode does, runs build, and makes the value it leaves in *top the document's one top
 * value. build returns 0, or -1 with the error set through c->fail (which names no opcode). */
typedef int (*pk_build_fn)(pk_lift_ctx *c, void *arg, uint32_t *top);
int pk_decode_build(pk_doc *doc, const pk_hooks *hooks, pk_build_fn build, void *arg,
                    pk_error *err);
/* A str value made after decoding (the error line of a document kept after an error), as if
 * built by the opcode at offset; 0 when past a limit or out of memory. */
uint32_t pk_decode_new_text(pk_doc *doc, uint64_t offset, const char *text, size_t len);

/* For tests (fuzz/fuzz_fastpath.c): decode without the fast path (false), every opcode by the
 * loop, or with it again (true, the default), in every decoder of the process from now on.
 * A build with -Dfast_path=false has none to switch on. */
void pk_decode_fast_path(bool on);

/* For a builder: decode the one pickle at stream offsets [pos, end) (a .npz member's object
 * array), its value in *value and, when stop is not NULL, the offset after its STOP in *stop.
 * 0, or -1 with the error set. */
int pk_lift_pickle(pk_lift_ctx *c, uint64_t pos, uint64_t end, uint32_t *value, uint64_t *stop);

/* decode_scan.c: do p[0..len) look like pickles of protocol 0 or 1 (no PROTO), one or several
 * back to back, ending exactly at a STOP? Only a scan of opcodes, arguments and stack depth:
 * nothing is built, and a yes may still fail to decode. */
bool pk_scan_old_pickles(const uint8_t *p, uint64_t len);

/* ---- services of the machine to the lifts; 0 means failure (the error is set) ---- */

/* The values made and the errors set from now on are at this stream offset (a builder's). */
void pk_lift_at(pk_lift_ctx *c, uint64_t offset);
/* Is s[0..len) UTF-8 as a str of the pickle must be? */
bool pk_lift_valid_utf8(const uint8_t *s, uint64_t len);
/* A new value of kind. */
uint32_t pk_lift_new_node(pk_lift_ctx *c, pk_kind kind);
/* Record on node the call that built it: callable(*args, **kwargs), made by how. */
uint32_t pk_lift_new_call(pk_lift_ctx *c, uint32_t node, pk_how how, uint32_t callable,
                          uint32_t args, uint32_t kwargs);
/* Would Python accept node as a dict key? false also when out of memory: the error is then
 * set, and the machine stops when the hook returns, whatever it returns. */
bool pk_lift_hashable(pk_lift_ctx *c, uint32_t node);

#endif
