/* fuzz_decode.c: the pickle decoder on raw bytes (pk_open_memory: format recognition, the
 * pickle machine, lifting, the tree layout), the error it reports when it refuses, and the
 * audit listing of what it decoded (one line per item, offsets in order, as many opaque lines
 * as pk_audit counts); then, for a refused input, what lim.partial keeps of it: the same error,
 * a tree with __error__ at its root, and the calls a refusal lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_i.h"

static void check_audit(const pk_doc *doc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FUZZ_CHECK(f != NULL);
    int64_t opaque = pk_audit(doc, f);
    FUZZ_CHECK(fclose(f) == 0);
    FUZZ_CHECK(opaque >= 0);
    int64_t seen = 0;
    unsigned long long last = 0;
    for (char *line = text; line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        FUZZ_CHECK(end != NULL);
        *end = 0;
        char *sp = NULL;
        unsigned long long off = strtoull(line, &sp, 10);
        FUZZ_CHECK(sp != line && *sp == ' ' && off >= last);
        last = off;
        size_t n = (size_t)(end - line);
        bool is_opaque = n > 7 && strcmp(end - 7, " opaque") == 0;
        FUZZ_CHECK(is_opaque || (n > 7 && strcmp(end - 7, " lifted") == 0));
        seen += is_opaque;
        line = end + 1;
    }
    FUZZ_CHECK(seen == opaque);
    free(text);
}

/* The input refused with err, opened again with lim.partial: the same error, and a document,
 * when one is kept, whose root is a directory with __error__, every entry of which reads. */
static void check_partial(const uint8_t *data, size_t size, pk_limits *lim, const pk_error *err)
{
    pk_doc *doc = NULL;
    pk_error again;
    lim->partial = PK_PARTIAL_TREE;
    FUZZ_CHECK(pk_open_memory(data, size, lim, &doc, &again) != 0);
    FUZZ_CHECK(again.code == err->code && again.offset == err->offset);
    if (!doc)
        return;
    FUZZ_CHECK(pk_type(doc, PK_ROOT) == PK_DIR);
    FUZZ_CHECK(pk_lookup(doc, PK_ROOT, "__error__", 9) != 0);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        FUZZ_CHECK(pk_dump(doc, null) == 0);
        FUZZ_CHECK(pk_print_calls(doc, null, 20) == 0);
        fclose(null);
    }
    pk_close(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pk_limits lim;
    pk_doc *doc = NULL;
    pk_error err;
    fuzz_limits(&lim);
    if (pk_open_memory(data, size, &lim, &doc, &err) == 0) {
        FUZZ_CHECK(doc != NULL);
        FUZZ_CHECK(pk_entry_count(doc) >= 1);
        FUZZ_CHECK(pk_type(doc, PK_ROOT) == PK_DIR);
        check_audit(doc);
        pk_close(doc);
        return 0;
    }
    /* refused: a real code, and one line naming it */
    FUZZ_CHECK(err.code != PK_E_OK && err.code < PK_E__COUNT);
    FUZZ_CHECK(memchr(err.what, 0, sizeof err.what) != NULL);
    FUZZ_CHECK(err.what[0] != 0 && strchr(err.what, '\n') == NULL);
    char line[512];
    pk_error_format(&err, line, sizeof line);
    FUZZ_CHECK(strchr(line, '\n') == NULL);
    check_partial(data, size, &lim, &err);
    return 0;
}
