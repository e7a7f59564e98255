/* fuzz_decode.c: the pickle decoder on raw bytes (pk_open_memory: format recognition, the
 * pickle machine, lifting, the tree layout), and the error it reports when it refuses. */
#include <string.h>

#include "fuzz_i.h"

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
    return 0;
}
