/* fuzz_i.h: what the fuzz targets share: the entry point libFuzzer calls, and the limits every
 * target decodes with.
 *
 * Each fuzz_*.c defines LLVMFuzzerTestOneInput(). Built with -Dfuzz=true it is linked with
 * libFuzzer (-fsanitize=fuzzer); it is always also linked with replay.c, a plain main() that
 * runs every file of the committed corpus and crash directories through it, so each input
 * ever found keeps running in `meson test` without libFuzzer.
 */
#ifndef FUZZ_I_H
#define FUZZ_I_H

#include <stddef.h>
#include <stdint.h>

#include "pk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The defaults, scaled down so that one input costs milliseconds and megabytes: the fuzzer
 * looks for crashes and hangs, not for the limits themselves, which the tests check. */
static inline void fuzz_limits(pk_limits *lim)
{
    pk_limits_default(lim);
    lim->max_depth = 2000;
    lim->max_nodes = 200000;
    lim->max_memo = 100000;
    lim->max_decompressed = 4 << 20;
    lim->max_int_digits = 2000;
}

/* A broken invariant: abort, so that libFuzzer (or the replay) reports the input. */
#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond))                                                                          \
            fuzz_fail(#cond, __FILE__, __LINE__);                                             \
    } while (0)

void fuzz_fail(const char *what, const char *file, int line) __attribute__((noreturn));

/* The first max entries of doc reached from the root, as the kernel reaches them (symlinks
 * are not followed), in depth-first order, their count in *n; NULL when out of memory. Fewer
 * than max means every entry: each is reached exactly once. The caller frees the list. */
pk_ino *fuzz_entries(const pk_doc *doc, uint64_t max, uint64_t *n);

#endif
