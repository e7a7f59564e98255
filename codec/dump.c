/* dump.c: the whole tree as text, without FUSE (pkdump, picklefs --dump, the unit tests).
 * One line per entry, in depth-first order; file contents are escaped so that every entry is
 * exactly one line. */
#include "pk_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Length of a well-formed UTF-8 sequence of 2 to 4 bytes at s, else 0. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (n == 0 || n > left)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* Control characters, backslash and bytes that are not UTF-8 are written as escapes. */
static void put_escaped(FILE *out, const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        size_t n;
        if (c >= 0x80 && (n = utf8_len(s + i, len - i)) > 0) {
            fwrite(s + i, 1, n, out);
            i += n - 1;
        } else if (c >= 0x80)
            fprintf(out, "\\x%02x", c);
        else if (c == '\\')
            fputs("\\\\", out);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
}

static int dump_file(const pk_doc *doc, pk_ino ino, FILE *out)
{
    unsigned char chunk[65536];
    uint64_t off = 0;
    for (;;) {
        ssize_t n = pk_read(doc, ino, chunk, sizeof chunk, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return 0;
        put_escaped(out, chunk, (size_t)n);
        off += (uint64_t)n;
    }
}

int pk_dump(const pk_doc *doc, FILE *out)
{
    /* an explicit stack of (directory, next child, path length) */
    typedef struct { pk_ino dir; uint64_t next; size_t pathlen; } frame;
    frame *stack = NULL;
    uint64_t depth = 0, cap = 0;
    pk_buf path = {0};
    char target[4096];
    int rc = 0;
    fputs("./\n", out);
    if (!pk_grow((void **)&stack, &cap, 1, sizeof(frame)))
        return -ENOMEM;
    stack[depth++] = (frame){PK_ROOT, 0, 0};
    while (depth > 0 && rc == 0) {
        frame *f = &stack[depth - 1];
        if (f->next >= pk_nchildren(doc, f->dir)) {
            depth--;
            continue;
        }
        pk_ino e = pk_child(doc, f->dir, f->next++);
        char buf[PK_NAME_BUF];
        size_t nlen;
        const char *name = pk_name(doc, e, buf, &nlen);
        path.len = f->pathlen;
        if (path.len)
            pk_buf_put(&path, "/", 1);
        pk_buf_put(&path, name, nlen);
        if (path.failed) {
            rc = -ENOMEM;
            break;
        }
        put_escaped(out, (const unsigned char *)path.data, path.len);
        switch (pk_type(doc, e)) {
        case PK_DIR:
            fputs("/\n", out);
            if (!pk_grow((void **)&stack, &cap, depth + 1, sizeof(frame))) {
                rc = -ENOMEM;
                break;
            }
            stack[depth++] = (frame){e, 0, path.len};
            break;
        case PK_LINK:
            fputs(" -> ", out);
            if (pk_readlink(doc, e, target, sizeof target) < 0)
                fputs("?", out);
            else
                put_escaped(out, (const unsigned char *)target, strlen(target));
            fputc('\n', out);
            break;
        case PK_FILE:
            fputs(" = ", out);
            rc = dump_file(doc, e, out);
            fputc('\n', out);
            break;
        }
    }
    free(stack);
    pk_buf_free(&path);
    return rc;
}
