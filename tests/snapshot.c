/* snapshot.c: everything a mount of each FILE would show, as text, to compare two builds.
 *
 *   snapshot FILE...
 *
 * For each FILE: its refusal line, or every entry from the root in depth-first order with its
 * type, size, subdirectory count, xattrs (all of pk_xattr), link target and content (escaped,
 * whole, up to 4 MiB). Two builds of the codec that print the same snapshot of every fixture and
 * fuzz corpus input mount the same trees (tests/compare_builds.sh runs that comparison).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pk.h"

#define MAX_CONTENT (4u << 20)

static void put_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c >= 0x20 && c < 0x7f)
            putchar(c);
        else
            printf("\\x%02x", c);
    }
}

static void show_xattrs(const pk_doc *doc, pk_ino ino)
{
    char buf[4096];
    for (int x = 0; x < PK_XA__COUNT; x++) {
        ssize_t n = pk_getxattr(doc, ino, (pk_xattr)x, buf, sizeof buf);
        printf("  %s: ", pk_xattr_name((pk_xattr)x));
        if (n < 0)
            printf("(%s)", strerror((int)-n));
        else
            put_escaped(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf);
        putchar('\n');
    }
}

static void show_content(const pk_doc *doc, pk_ino ino, uint64_t size)
{
    size_t want = size < MAX_CONTENT ? (size_t)size : MAX_CONTENT;
    char *buf = malloc(want + 1);
    if (!buf)
        return;
    ssize_t n = pk_read(doc, ino, buf, want + 1, 0);
    printf("  content: ");
    if (n < 0)
        printf("(%s)", strerror((int)-n));
    else
        put_escaped(buf, (size_t)n);
    putchar('\n');
    free(buf);
}

static void show(const pk_doc *doc, pk_ino ino, const char *path)
{
    uint64_t size = 0;
    int rc = pk_size(doc, ino, &size);
    pk_ftype t = pk_type(doc, ino);
    printf("%s %c ino-size=%d:%llu nsub=%llu\n", path, "dfl"[t], rc, (unsigned long long)size,
           (unsigned long long)pk_nsubdirs(doc, ino));
    show_xattrs(doc, ino);
    if (t == PK_LINK) {
        char target[4096];
        ssize_t n = pk_readlink(doc, ino, target, sizeof target);
        printf("  target: %s\n", n < 0 ? strerror((int)-n) : target);
    } else if (t == PK_FILE) {
        show_content(doc, ino, size);
    } else {
        uint64_t n = pk_nchildren(doc, ino);
        for (uint64_t i = 0; i < n; i++) {
            pk_ino c = pk_child(doc, ino, i);
            char nb[PK_NAME_BUF];
            size_t len;
            const char *name = pk_name(doc, c, nb, &len);
            size_t plen = strlen(path);
            char *sub = malloc(plen + len + 2);
            if (!sub)
                return;
            memcpy(sub, path, plen);
            sub[plen] = '/';
            memcpy(sub + plen + 1, name, len);
            sub[plen + 1 + len] = 0;
            show(doc, c, sub);
            free(sub);
        }
    }
}

int main(int argc, char *argv[])
{
    pk_limits lim;
    pk_limits_default(&lim);
    for (int i = 1; i < argc; i++) {
        pk_doc *doc;
        pk_error err;
        char msg[512];
        printf("== %s\n", argv[i]);
        memset(&err, 0, sizeof err);
        if (pk_open(argv[i], &lim, &doc, &err) != 0) {
            pk_error_format(&err, msg, sizeof msg);
            printf("refused: %s [%s]\n", msg, pk_code_name(err.code));
            continue;
        }
        show(doc, PK_ROOT, ".");
        pk_close(doc);
    }
    return 0;
}
