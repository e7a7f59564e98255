/* limitopt.h: the -o max_...=N options that set pk_limits, shared by picklefs (fs/cmdline.c) and
 * pkdump, so that both take the same names, units and errors.
 *
 *   max_depth=N         nesting depth of the tree            (default 100000)
 *   max_nodes=N         values decoded, scalars included      (default 200000000)
 *   max_memo=N          highest memo index a PUT may use      (default 100000000)
 *   max_decompressed=S  bytes a compressed file may inflate to (default 8G)
 *   max_int_digits=N    longer ints are shown in hexadecimal  (default 100000)
 *   max_memory=S        bytes of decoded values and entries    (default 16G)
 *
 * N and S are decimal; S (and N, for convenience) may end in k, M, G or T (powers of 1024).
 * Every limit must be at least 1.
 */
#ifndef LIMITOPT_H
#define LIMITOPT_H

#include <stdbool.h>
#include <stddef.h>

#include "pk.h"

/* Is name=value (value may be NULL when name has no '=') one of the options above? Then set
 * it in *lim and return 1; return 0 for any other option; return -1 with a one-line message
 * in msg when the value is not valid. */
int limopt_set(pk_limits *lim, const char *opt, char *msg, size_t msgsize);

/* The help text for the options, one per line, indented by four spaces. */
extern const char limopt_help[];

#endif
