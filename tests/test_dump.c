/* test_dump.c: unit tests of pk_dump's line format, without FUSE: one line per leaf (an empty
 * directory, the root too, has PATH/), a space that would read as a separator escaped in a
 * path, a bytes value cut after 1024 bytes with its size, and PK_DUMP_FULL showing it whole.
 * The rest of the format (escapes, UTF-8, every opcode's tree) is in test_decode.c, and
 * tests/test_dump.py checks the dump against a real mount of every fixture.
 */
#include "pk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Does pickle data (len bytes) dump, with flags, as want? */
static int dumps_as(const char *name, const char *data, size_t len, unsigned flags,
                    const char *want)
{
    pk_doc *doc = NULL;
    pk_error err;
    if (pk_open_memory(data, len, NULL, &doc, &err) != 0) {
        fprintf(stderr, "FAIL %s: refused: %s\n", name, err.what);
        return 1;
    }
    char *text = NULL;
    size_t tlen = 0;
    FILE *out = open_memstream(&text, &tlen);
    int rc = pk_dump_with(doc, out, flags);
    fclose(out);
    int bad = rc != 0 || strcmp(text, want) != 0;
    if (bad)
        fprintf(stderr, "FAIL %s (rc %d):\n--- expected\n%s--- got\n%s---\n", name, rc, want,
                text);
    free(text);
    pk_close(doc);
    return bad;
}

#define DUMPS_AS(name, bytes, want) dumps_as(name, bytes, sizeof(bytes) - 1, 0, want)

/* A bytes value of n bytes, as dumped with flags: whole up to 1024 bytes or with
 * PK_DUMP_FULL; else its first 1024 bytes, then its size. */
static int bytes_value(unsigned n, unsigned flags)
{
    enum { MAX = 1024, HEAD = 7 };
    char *data = malloc(HEAD + n + 1), *want = malloc(n + 64), name[64];
    if (!data || !want) {
        fprintf(stderr, "test_dump: out of memory\n");
        exit(2);
    }
    memcpy(data, "\200\003B", 3); /* PROTO 3, BINBYTES */
    for (int i = 0; i < 4; i++)
        data[3 + i] = (char)(n >> (8 * i) & 0xff);
    memset(data + HEAD, 'x', n);
    data[HEAD + n] = '.';
    unsigned shown = flags & PK_DUMP_FULL || n <= MAX ? n : MAX;
    memcpy(want, "0 = ", 4);
    memset(want + 4, 'x', shown);
    if (shown < n)
        sprintf(want + 4 + shown, "\\... (%u bytes)\n", n);
    else
        strcpy(want + 4 + shown, "\n");
    snprintf(name, sizeof name, "bytes of %u, flags %u", n, flags);
    int bad = dumps_as(name, data, HEAD + n + 1, flags, want);
    free(data);
    free(want);
    return bad;
}

int main(void)
{
    int failed = 0, n = 0;
    /* one line per leaf: an empty directory has its own, the root too */
    failed += DUMPS_AS("an empty root", "}.", "./\n");
    failed += DUMPS_AS("empty and non-empty directories",
                       "\200\002}(X\001\000\000\000a]}X\001\000\000\000b}sa"
                       "X\001\000\000\000c]K\001\205au.",
                       "a/0/b/\nc/0/0 = 1\\n\n");
    /* a space that begins " = " or " -> " in a path (its end counting as a space) is \x20, so
     * the first one of a line ends the path */
    failed += DUMPS_AS("separators in names",
                       "\200\002}(X\005\000\000\000a = bK\001X\006\000\000\000x -> yK\002"
                       "X\003\000\000\000a =K\003X\004\000\000\000x ->K\004"
                       "X\003\000\000\000a=bK\005X\004\000\000\000a =b]K\006au.",
                       "a\\x20= b = 1\\n\nx\\x20-> y = 2\\n\na\\x20= = 3\\n\nx\\x20-> = 4\\n\n"
                       "a=b = 5\\n\na =b/0 = 6\\n\n");
    n += 3;
    static const unsigned sizes[] = {0, 1024, 1025, 2000, 70000};
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++, n += 2)
        failed += bytes_value(sizes[i], 0) + bytes_value(sizes[i], PK_DUMP_FULL);
    printf("%d passed, %d failed\n", n - failed, failed);
    return failed != 0;
}
