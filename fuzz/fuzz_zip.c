/* fuzz_zip.c: PyTorch zip checkpoints (zip.c, format.c): the central directory, local
 * headers, zip64 records, stored and deflated members, the data.pkl stream and the storages
 * its persistent ids name; and, for an input refused, the same with -o partial, which reads
 * an archive without its central directory from its local headers (zip_scan.c). Inputs that
 * do not start with a local header are given one, so that every input reaches the zip
 * reader. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_i.h"

/* Read every file, so that storages are read through their spans. */
static void touch_files(const pk_doc *doc)
{
    char buf[256];
    uint64_t nall;
    pk_ino *all = fuzz_entries(doc, pk_entry_count(doc), &nall);
    for (uint64_t k = 0; k < nall; k++) {
        pk_ino i = all[k];
        if (pk_type(doc, i) == PK_FILE) {
            uint64_t n;
            if (pk_size(doc, i, &n) < 0)
                continue;
            ssize_t r = pk_read(doc, i, buf, sizeof buf, n > sizeof buf ? n - sizeof buf : 0);
            FUZZ_CHECK(r < 0 || (uint64_t)r <= n);
        }
    }
    free(all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *own = NULL;
    if (size < 4 || memcmp(data, "PK\3\4", 4) != 0) {
        own = malloc(size + 4);
        if (!own)
            return 0;
        memcpy(own, "PK\3\4", 4);
        memcpy(own + 4, data, size);
        data = own;
        size += 4;
    }
    pk_limits lim;
    pk_doc *doc = NULL;
    pk_error err;
    fuzz_limits(&lim);
    if (pk_open_memory(data, size, &lim, &doc, &err) == 0) {
        touch_files(doc);
        pk_close(doc);
    } else {
        FUZZ_CHECK(err.code != PK_E_OK);
        /* -o partial: an archive without a central directory is read from its local headers
         * (zip_scan.c), and refused all the same */
        lim.partial = PK_PARTIAL_TREE;
        pk_error again;
        doc = NULL;
        FUZZ_CHECK(pk_open_memory(data, size, &lim, &doc, &again) != 0);
        FUZZ_CHECK(again.code != PK_E_OK);
        if (doc) {
            FUZZ_CHECK(pk_lookup(doc, PK_ROOT, "__error__", 9) != 0);
            touch_files(doc);
            pk_close(doc);
        }
    }
    free(own);
    return 0;
}
