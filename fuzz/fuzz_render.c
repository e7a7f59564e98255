/* fuzz_render.c: decode, then use the tree the way a mount does: every entry, reached from the
 * root as the kernel reaches them, is stat'ed, read (whole, and at a few offsets), readlink'ed,
 * looked up by name in its parent, and every xattr is read; then the whole tree is dumped as
 * pkdump does. Invariants that the FUSE driver relies on are checked on the way:
 *   - every number a directory gives is an entry (pk_valid), and the one after its last is
 *     not its child: after its last listed child comes its first hidden one, if any, and after
 *     its last hidden one nothing of it;
 *   - names are 1..255 bytes, no '/' or NUL, not "." or "..", unique: lookup finds the entry,
 *     hidden entries (an array's NAME.raw) included;
 *   - a directory's children, listed and hidden, name it as their parent; hidden ones are
 *     files, each beside a listed array whose name it extends; nsubdirs counts the directories;
 *   - a file's content has exactly pk_size() bytes, and a read at any offset agrees with it;
 *   - a symlink's target, followed from its directory, reaches a directory of the tree;
 *   - user.pickle.type and user.pickle.offset exist everywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_i.h"

#define MAX_ENTRIES 20000      /* walk at most this many entries of one tree */
#define MAX_CONTENT (1u << 20) /* and read whole files up to this size */

static void check_name(const pk_doc *doc, pk_ino ino)
{
    char buf[PK_NAME_BUF];
    size_t len;
    const char *name = pk_name(doc, ino, buf, &len);
    if (ino == PK_ROOT) {
        FUZZ_CHECK(len == 0);
        return;
    }
    FUZZ_CHECK(len >= 1 && len <= 255);
    FUZZ_CHECK(!memchr(name, '/', len) && !memchr(name, 0, len));
    FUZZ_CHECK(!(len == 1 && name[0] == '.') && !(len == 2 && name[0] == '.' && name[1] == '.'));
    FUZZ_CHECK(pk_lookup(doc, pk_parent(doc, ino), name, len) == ino);
}

/* A hidden child c of dir: a file, not listed, and named as a listed array it stands beside
 * (NAME.raw, or NAME.raw~K when a listed name took that, with NAME cut to fit). */
static void check_hidden(const pk_doc *doc, pk_ino dir, pk_ino c)
{
    char buf[PK_NAME_BUF], type[16];
    size_t len;
    FUZZ_CHECK(c != PK_ROOT && pk_valid(doc, c) && pk_parent(doc, c) == dir);
    FUZZ_CHECK(pk_type(doc, c) == PK_FILE);
    for (uint64_t i = 0; i < pk_nchildren(doc, dir); i++)
        FUZZ_CHECK(pk_child(doc, dir, i) != c);
    const char *name = pk_name(doc, c, buf, &len);
    FUZZ_CHECK(name && len > 4);
    const char *dot = NULL;
    for (size_t i = 0; i + 4 <= len; i++)
        if (memcmp(name + i, ".raw", 4) == 0)
            dot = name + i;
    FUZZ_CHECK(dot != NULL);
    ssize_t t = pk_getxattr(doc, c, PK_XA_TYPE, type, sizeof type);
    FUZZ_CHECK(t == 5 && memcmp(type, "bytes", 5) == 0);
}

static void check_dir(const pk_doc *doc, pk_ino ino)
{
    uint64_t n = pk_nchildren(doc, ino), subdirs = 0;
    for (uint64_t i = 0; i < n; i++) {
        pk_ino c = pk_child(doc, ino, i);
        FUZZ_CHECK(c != PK_ROOT && pk_valid(doc, c));
        FUZZ_CHECK(pk_parent(doc, c) == ino);
        subdirs += pk_type(doc, c) == PK_DIR;
    }
    FUZZ_CHECK(pk_nsubdirs(doc, ino) == subdirs);
    uint64_t size;
    FUZZ_CHECK(pk_size(doc, ino, &size) == 0 && size == 0);
    FUZZ_CHECK(pk_read(doc, ino, NULL, 0, 0) == -EISDIR);
    FUZZ_CHECK(pk_lookup(doc, ino, "", 0) == 0);
    uint64_t h = pk_nhidden(doc, ino);
    FUZZ_CHECK(pk_child(doc, ino, n) == 0 && pk_hidden(doc, ino, h) == 0);
    for (uint64_t i = 0; i < h; i++)
        check_hidden(doc, ino, pk_hidden(doc, ino, i));
    /* the number after its last listed child's is its first hidden one, or no child of it;
     * the one after its last hidden child's is no child of it */
    if (n) {
        pk_ino next = pk_child(doc, ino, n - 1) + 1;
        FUZZ_CHECK(h ? next == pk_hidden(doc, ino, 0)
                     : !pk_valid(doc, next) || pk_parent(doc, next) != ino);
    }
    if (h) {
        pk_ino next = pk_hidden(doc, ino, h - 1) + 1;
        FUZZ_CHECK(!pk_valid(doc, next) || pk_parent(doc, next) != ino);
    }
}

static void check_file(const pk_doc *doc, pk_ino ino)
{
    uint64_t size;
    if (pk_size(doc, ino, &size) < 0) { /* then reading must fail too */
        char one;
        FUZZ_CHECK(pk_read(doc, ino, &one, 1, 0) < 0);
        return;
    }
    char small[64];
    if (size <= MAX_CONTENT) {
        char *all = malloc(size + 1);
        if (!all)
            return;
        uint64_t got = 0;
        for (;;) { /* in 4 KiB reads, as the kernel asks */
            ssize_t r = pk_read(doc, ino, all + got, size + 1 - got < 4096 ? size + 1 - got : 4096,
                                got);
            FUZZ_CHECK(r >= 0 || r == -ENOMEM);
            if (r <= 0)
                break;
            got += (uint64_t)r;
            if (got == size + 1)
                break;
        }
        FUZZ_CHECK(got == size);
        /* reads at a few offsets agree with the whole */
        uint64_t offs[] = {0, size / 2, size ? size - 1 : 0, size > 7 ? size - 7 : 0};
        for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
            ssize_t r = pk_read(doc, ino, small, sizeof small, offs[i]);
            uint64_t want = size - offs[i] < sizeof small ? size - offs[i] : sizeof small;
            FUZZ_CHECK(r == (ssize_t)want);
            FUZZ_CHECK(memcmp(small, all + offs[i], want) == 0);
        }
        free(all);
    } else {
        FUZZ_CHECK(pk_read(doc, ino, small, sizeof small, size - 1) == 1);
    }
    FUZZ_CHECK(pk_read(doc, ino, small, sizeof small, size) == 0);
    FUZZ_CHECK(pk_read(doc, ino, small, sizeof small, size + 12345) == 0);
    FUZZ_CHECK(pk_read(doc, ino, small, sizeof small, UINT64_MAX) == 0);
    int fd;
    uint64_t pos;
    FUZZ_CHECK(pk_file_span(doc, ino, &fd, &pos) == -1); /* no file behind a memory doc */
}

/* Follow a relative target from dir, as the kernel would. */
static pk_ino resolve(const pk_doc *doc, pk_ino dir, const char *target)
{
    const char *p = target;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (pk_type(doc, dir) != PK_DIR)
            return 0;
        if (len == 2 && p[0] == '.' && p[1] == '.')
            dir = pk_parent(doc, dir);
        else if (!(len == 1 && p[0] == '.') && !(dir = pk_lookup(doc, dir, p, len)))
            return 0;
        p += len + (slash != NULL);
    }
    return dir;
}

static void check_link(const pk_doc *doc, pk_ino ino)
{
    static char target[1 << 16];
    ssize_t n = pk_readlink(doc, ino, target, sizeof target);
    if (n == -ENAMETOOLONG || n == -ENOMEM)
        return;
    FUZZ_CHECK(n > 0 && (size_t)n == strlen(target));
    uint64_t size;
    FUZZ_CHECK(pk_size(doc, ino, &size) == 0 && (uint64_t)n == size);
    FUZZ_CHECK(target[0] != '/');
    pk_ino to = resolve(doc, pk_parent(doc, ino), target);
    FUZZ_CHECK(to != 0 && pk_type(doc, to) == PK_DIR);
    char tiny[2];
    if (n >= 2)
        FUZZ_CHECK(pk_readlink(doc, ino, tiny, sizeof tiny) == -ENAMETOOLONG);
}

static void check_xattrs(const pk_doc *doc, pk_ino ino)
{
    static char val[1 << 17];
    for (int w = 0; w < PK_XA__COUNT; w++) {
        FUZZ_CHECK(pk_xattr_name((pk_xattr)w) != NULL);
        ssize_t n = pk_getxattr(doc, ino, (pk_xattr)w, NULL, 0);
        if (w == PK_XA_TYPE || w == PK_XA_OFFSET)
            FUZZ_CHECK(n > 0);
        if (n < 0)
            continue;
        FUZZ_CHECK(n <= 65536);
        FUZZ_CHECK(pk_getxattr(doc, ino, (pk_xattr)w, val, sizeof val) == n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    pk_limits lim;
    pk_doc *doc = NULL;
    pk_error err;
    fuzz_limits(&lim);
    if (pk_open_memory(data, size, &lim, &doc, &err) != 0) {
        FUZZ_CHECK(err.code != PK_E_OK);
        return 0;
    }
    uint64_t count = pk_entry_count(doc);
    FUZZ_CHECK(pk_type(doc, PK_ROOT) == PK_DIR && pk_parent(doc, PK_ROOT) == PK_ROOT);
    FUZZ_CHECK(!pk_valid(doc, 0) && !pk_valid(doc, UINT64_MAX) && pk_valid(doc, PK_ROOT));
    uint64_t seen;
    pk_ino *all = fuzz_entries(doc, MAX_ENTRIES, &seen);
    for (uint64_t k = 0; k < seen; k++) {
        pk_ino ino = all[k];
        pk_ino parent = pk_parent(doc, ino);
        FUZZ_CHECK(pk_valid(doc, parent) && pk_type(doc, parent) == PK_DIR);
        check_name(doc, ino);
        switch (pk_type(doc, ino)) {
        case PK_DIR: check_dir(doc, ino); break;
        case PK_FILE: check_file(doc, ino); break;
        case PK_LINK: check_link(doc, ino); break;
        default: FUZZ_CHECK(!"an entry of no known type");
        }
        check_xattrs(doc, ino);
    }
    if (all && seen < MAX_ENTRIES) /* every entry is reached from the root exactly once */
        FUZZ_CHECK(seen == count);
    free(all);
    if (count <= MAX_ENTRIES) {
        if (!devnull)
            devnull = fopen("/dev/null", "w");
        if (devnull) /* what is cut and left out by default, and everything */
            FUZZ_CHECK(pk_dump(doc, devnull) == 0 &&
                       pk_dump_with(doc, devnull, PK_DUMP_FULL) == 0);
    }
    pk_close(doc);
    return 0;
}
