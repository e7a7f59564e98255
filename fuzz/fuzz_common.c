/* fuzz_common.c: what the fuzz targets share: the failure report, and the walk of a tree. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_i.h"

void fuzz_fail(const char *what, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

pk_ino *fuzz_entries(const pk_doc *doc, uint64_t max, uint64_t *n)
{
    /* a stack of entries still to visit: never more than max, as none is pushed past it */
    pk_ino *todo = malloc(max * sizeof *todo), *out = malloc(max * sizeof *out);
    uint64_t ntodo = 0;
    *n = 0;
    if (!todo || !out || max == 0) {
        free(todo);
        free(out);
        return NULL;
    }
    todo[ntodo++] = PK_ROOT;
    while (ntodo && *n < max) {
        pk_ino ino = todo[--ntodo];
        out[(*n)++] = ino;
        /* the hidden children too (an array's NAME.raw), which a listing leaves out */
        for (uint64_t i = pk_nhidden(doc, ino); i-- > 0 && ntodo < max;)
            todo[ntodo++] = pk_hidden(doc, ino, i);
        for (uint64_t i = pk_nchildren(doc, ino); i-- > 0 && ntodo < max;)
            todo[ntodo++] = pk_child(doc, ino, i);
    }
    free(todo);
    return out;
}
