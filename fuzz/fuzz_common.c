/* fuzz_common.c: the failure report shared by every fuzz target. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_i.h"

void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}
