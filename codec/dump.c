/* dump.c: the whole tree as text, without FUSE (pkdump, picklefs --dump, the unit tests).
 * One line per entry, in depth-first order; names and file contents are escaped so that every
 * entry is exactly one line, and every line valid UTF-8 whatever bytes the pickle holds. */
#include "pk_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What utf8_sequence() found at a byte of 0x80 or more. */
enum { UTF8_INVALID = 0, UTF8_CUT = -1 };

/* The length (2 to 4) of the well-formed UTF-8 sequence at s, as Unicode's table of them says
 * (no overlong form, no surrogate, nothing past U+10FFFF); UTF8_CUT when the left bytes are a
 * well-formed start that stops short; UTF8_INVALID otherwise. */
static int utf8_sequence(const unsigned char *s, size_t left)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf; /* the range of the second byte */
    size_t n;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return UTF8_INVALID; /* a continuation byte, 0xc0, 0xc1, or 0xf5 and above */
    if (c == 0xe0)
        lo = 0xa0; /* below: overlong */
    else if (c == 0xed)
        hi = 0x9f; /* above: a surrogate */
    else if (c == 0xf0)
        lo = 0x90; /* below: overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* above: past U+10FFFF */
    for (size_t i = 1; i < n; i++) {
        if (i == left)
            return UTF8_CUT;
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
            return UTF8_INVALID;
    }
    return (int)n;
}

/* Write s escaped so that the line stays one line of valid UTF-8: control characters,
 * backslash and every byte that is not part of well-formed UTF-8 as escapes. A sequence cut
 * by the end of s is left unwritten unless last (the caller passes it again with the bytes
 * that follow). Returns the bytes written. */
static size_t put_escaped(FILE *out, const unsigned char *s, size_t len, bool last)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        int n = c >= 0x80 ? utf8_sequence(s + i, len - i) : UTF8_INVALID;
        if (n == UTF8_CUT && !last)
            return i;
        if (n > 0) {
            fwrite(s + i, 1, (size_t)n, out);
            i += (size_t)n - 1;
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
    return len;
}

/* A file's content, read in chunks; the few bytes of a sequence that one chunk cuts are
 * carried over to the next. */
static int dump_file(const pk_doc *doc, pk_ino ino, FILE *out)
{
    enum { CHUNK = 65536, CARRY_MAX = 3 };
    unsigned char chunk[CARRY_MAX + CHUNK];
    size_t carried = 0;
    uint64_t off = 0;
    for (;;) {
        ssize_t n = pk_read(doc, ino, chunk + carried, CHUNK, off);
        if (n < 0)
            return (int)n;
        size_t have = carried + (size_t)n;
        size_t done = put_escaped(out, chunk, have, n == 0);
        if (n == 0)
            return 0;
        off += (uint64_t)n;
        carried = have - done; /* at most CARRY_MAX: a sequence is at most 4 bytes */
        memmove(chunk, chunk + done, carried);
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
        put_escaped(out, (const unsigned char *)path.data, path.len, true);
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
                put_escaped(out, (const unsigned char *)target, strlen(target), true);
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
