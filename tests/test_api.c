/* test_api.c: every public function of pk.h, given numbers that are no entry.
 *
 *   test_api FILE...
 *
 * A FUSE driver passes on whatever inode number the kernel sends, so the codec must answer any
 * number with an error (or 0, NULL), never by reading outside its arrays. For each FILE, and for
 * a few pickles written here, this calls every function with 0, numbers past the last entry,
 * child numbers of directories that have no such child or are no directory, and the largest
 * number, and checks the answers pk.h promises. On the way it checks that pk_stat agrees with
 * pk_type, pk_size and pk_nsubdirs on every entry. Run it under ASan (the sanitizer build) to
 * catch a read out of bounds that happens to give the right answer.
 */
#include "pk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHILD_SHIFT 32 /* how a derived child is numbered: (dir << 32) | index (pk_i.h) */

static int failures;

#define CHECK(cond, what, ino)                                                                \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "FAIL %s: %s for %#llx\n", doc_name, what,                        \
                    (unsigned long long)(ino));                                               \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

static const char *doc_name;

/* Every public function on ino, which is no entry. */
static void check_not_an_entry(const pk_doc *doc, pk_ino ino)
{
    char buf[64], nbuf[PK_NAME_BUF];
    size_t len = 99;
    uint64_t size = 99;
    int fd = -2;
    uint64_t pos = 0;
    pk_attr attr = {.type = PK_DIR, .size = 99, .nsubdirs = 99};

    CHECK(!pk_valid(doc, ino), "pk_valid", ino);
    CHECK(pk_stat(doc, ino, &attr) == -ENOENT && attr.size == 0 && attr.nsubdirs == 0,
          "pk_stat", ino);
    CHECK(pk_type(doc, ino) == PK_FILE, "pk_type", ino);
    CHECK(pk_parent(doc, ino) == 0, "pk_parent", ino);
    CHECK(pk_nchildren(doc, ino) == 0, "pk_nchildren", ino);
    CHECK(pk_child(doc, ino, 0) == 0, "pk_child", ino);
    CHECK(pk_nsubdirs(doc, ino) == 0, "pk_nsubdirs", ino);
    CHECK(pk_nhidden(doc, ino) == 0 && pk_hidden(doc, ino, 0) == 0, "pk_hidden", ino);
    CHECK(pk_name(doc, ino, nbuf, &len) == NULL && len == 0, "pk_name", ino);
    CHECK(pk_lookup(doc, ino, "0", 1) == 0 && pk_lookup(doc, ino, "a", 1) == 0, "pk_lookup",
          ino);
    CHECK(pk_size(doc, ino, &size) == -ENOENT && size == 0, "pk_size", ino);
    CHECK(pk_read(doc, ino, buf, sizeof buf, 0) == -ENOENT, "pk_read", ino);
    CHECK(pk_file_span(doc, ino, &fd, &pos) == -1 && fd == -2, "pk_file_span", ino);
    CHECK(pk_readlink(doc, ino, buf, sizeof buf) == -ENOENT, "pk_readlink", ino);
    for (int x = 0; x <= PK_XA__COUNT; x++)
        CHECK(pk_getxattr(doc, ino, (pk_xattr)x, buf, sizeof buf) == -ENOENT, "pk_getxattr",
              ino);
}

/* What a valid entry must answer, and the numbers around it that are no entry. *top is the
 * highest stored (non-derived) number seen. */
static void check_entry(const pk_doc *doc, pk_ino ino, pk_ino *top)
{
    pk_attr attr;
    uint64_t size;
    char buf[8];
    int rc = pk_stat(doc, ino, &attr), src = pk_size(doc, ino, &size);

    CHECK(pk_valid(doc, ino), "listed but not pk_valid", ino);
    CHECK(rc == src && attr.type == pk_type(doc, ino) && attr.size == size &&
          attr.nsubdirs == pk_nsubdirs(doc, ino), "pk_stat disagrees", ino);
    CHECK(pk_getxattr(doc, ino, PK_XA__COUNT, buf, sizeof buf) == -ENODATA,
          "pk_getxattr of no attribute", ino);
    if (ino >> CHILD_SHIFT == 0 && ino > *top)
        *top = ino;
    if (attr.type != PK_DIR) {
        CHECK(pk_nchildren(doc, ino) == 0 && pk_child(doc, ino, 0) == 0 &&
              pk_nhidden(doc, ino) == 0 && pk_hidden(doc, ino, 0) == 0 &&
              pk_lookup(doc, ino, "0", 1) == 0, "a directory's answers from a non-directory",
              ino);
        CHECK(attr.type != PK_FILE || pk_readlink(doc, ino, buf, sizeof buf) == -EINVAL,
              "pk_readlink of a file", ino);
        if (ino >> CHILD_SHIFT == 0) /* children of an entry that has none */
            check_not_an_entry(doc, ino << CHILD_SHIFT);
        return;
    }
    uint64_t n = pk_nchildren(doc, ino);
    CHECK(pk_read(doc, ino, buf, sizeof buf, 0) == -EISDIR, "pk_read of a directory", ino);
    CHECK(pk_child(doc, ino, n) == 0 && pk_child(doc, ino, UINT64_MAX) == 0,
          "pk_child past the end", ino);
    for (uint64_t i = 0; i < n; i++)
        check_entry(doc, pk_child(doc, ino, i), top);
    /* hidden children (an array's NAME.raw): files, found by their name, listed nowhere */
    uint64_t h = pk_nhidden(doc, ino);
    CHECK(pk_hidden(doc, ino, h) == 0 && pk_hidden(doc, ino, UINT64_MAX) == 0,
          "pk_hidden past the end", ino);
    for (uint64_t i = 0; i < h; i++) {
        pk_ino c = pk_hidden(doc, ino, i);
        char nbuf[PK_NAME_BUF];
        size_t len;
        const char *name = pk_name(doc, c, nbuf, &len);
        CHECK(pk_type(doc, c) == PK_FILE && name && pk_lookup(doc, ino, name, len) == c &&
              pk_parent(doc, c) == ino, "a hidden child", c);
        for (uint64_t j = 0; j < n; j++)
            CHECK(pk_child(doc, ino, j) != c, "a hidden child listed", c);
        check_entry(doc, c, top);
    }
    n += h; /* the numbers past the hidden ones are no entries */
    if (n > 0 && pk_child(doc, ino, 0) >> CHILD_SHIFT != 0) { /* derived children */
        pk_ino first = pk_child(doc, ino, 0);
        check_not_an_entry(doc, first + n);
        check_not_an_entry(doc, first | 0xffffffffu);
    } else if (ino >> CHILD_SHIFT == 0) {
        check_not_an_entry(doc, ino << CHILD_SHIFT | n);
    }
}

static void check_doc(const pk_doc *doc)
{
    pk_ino top = PK_ROOT;
    check_not_an_entry(doc, 0);
    check_entry(doc, PK_ROOT, &top);
    check_not_an_entry(doc, top + 1);
    check_not_an_entry(doc, top + 1000);
    check_not_an_entry(doc, 0xffffffffu);
    check_not_an_entry(doc, (top + 1) << CHILD_SHIFT);
    check_not_an_entry(doc, (pk_ino)0xffffffffu << CHILD_SHIFT);
    check_not_an_entry(doc, UINT64_MAX);
}

/* Small pickles of each shape of directory: a derived list, a derived dict, a list laid out
 * with a subdirectory and a symlink to it, an object with its __reduce__ line, a lone int. */
static const struct {
    const char *name;
    const char *data;
    size_t len;
} pickles[] = {
#define PICKLE(name, bytes) {name, bytes, sizeof(bytes) - 1}
    PICKLE("a list of ints", "(I1\nI2\nI3\nl."),
    PICKLE("a dict of str", "(dVa\nI1\nsVb\nI2\ns."),
    PICKLE("a list, a dict in it twice", "(l(dVk\nI1\nsp0\nag0\na."),
    PICKLE("an object", "cmod\nCls\n(I1\nVx\ntR."),
    PICKLE("an int", "I7\n."),
#undef PICKLE
};

int main(int argc, char *argv[])
{
    for (size_t i = 0; i < sizeof pickles / sizeof pickles[0]; i++) {
        pk_doc *doc;
        pk_error err = {0};
        doc_name = pickles[i].name;
        if (pk_open_memory(pickles[i].data, pickles[i].len, NULL, &doc, &err) != 0) {
            fprintf(stderr, "FAIL %s: refused (%s)\n", doc_name, pk_code_name(err.code));
            failures++;
            continue;
        }
        check_doc(doc);
        pk_close(doc);
    }
    for (int i = 1; i < argc; i++) {
        pk_doc *doc;
        pk_error err = {0};
        doc_name = argv[i];
        if (pk_open(argv[i], NULL, &doc, &err) != 0) {
            fprintf(stderr, "FAIL %s: refused (%s)\n", doc_name, pk_code_name(err.code));
            failures++;
            continue;
        }
        check_doc(doc);
        pk_close(doc);
    }
    printf("%d failure(s)\n", failures);
    return failures != 0;
}
