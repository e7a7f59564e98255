/* fuzz_fastpath.c: the decoder with and without its fast path (codec/decode_fast.c) on the same
 * raw bytes must agree: the same dump when both accept the input, the same refusal (code,
 * offset, opcode and message) when both refuse it. The fast path promises to stop before any
 * opcode it cannot decode exactly as the dispatch loop would; this checks the promise on
 * inputs the fuzzer makes, as tests/meson.build's fastpath test does on the fixtures and
 * corpora. In a build with -Dfast_path=false both runs are the loop's, and agree trivially.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_i.h"
#include "machine_i.h"

typedef struct outcome {
    int rc;
    pk_error err;
    int dump_rc;
    char *dump; /* pk_dump's text when rc is 0, else NULL */
    size_t len;
} outcome;

static void decode(const uint8_t *data, size_t size, bool fast, outcome *o)
{
    pk_limits lim;
    pk_doc *doc = NULL;
    fuzz_limits(&lim);
    memset(o, 0, sizeof *o);
    pk_decode_fast_path(fast);
    o->rc = pk_open_memory(data, size, &lim, &doc, &o->err);
    pk_decode_fast_path(true);
    if (o->rc != 0)
        return;
    FILE *f = open_memstream(&o->dump, &o->len);
    FUZZ_CHECK(f != NULL);
    o->dump_rc = pk_dump(doc, f);
    FUZZ_CHECK(fclose(f) == 0);
    pk_close(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome with, without;
    decode(data, size, true, &with);
    decode(data, size, false, &without);
    FUZZ_CHECK(with.rc == without.rc);
    if (with.rc == 0) {
        FUZZ_CHECK(with.dump_rc == without.dump_rc);
        FUZZ_CHECK(with.len == without.len);
        FUZZ_CHECK(memcmp(with.dump, without.dump, with.len) == 0);
    } else {
        FUZZ_CHECK(with.err.code == without.err.code);
        FUZZ_CHECK(with.err.offset == without.err.offset);
        FUZZ_CHECK(with.err.opcode == without.err.opcode);
        FUZZ_CHECK(strcmp(with.err.what, without.err.what) == 0);
    }
    free(with.dump);
    free(without.dump);
    return 0;
}
