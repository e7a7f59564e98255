/* dump.c: the whole tree as text, without FUSE (pkdump, picklefs --dump, the unit tests),
 * made for grep: one line per leaf, in depth-first order, each naming its whole path (a file's
 * PATH = CONTENT, a symlink's PATH -> TARGET, an empty directory's PATH/), so that grep prints
 * the path of every match. Names and contents are escaped so that every leaf is exactly one
 * line, and every line valid UTF-8 whatever bytes the pickle holds; long binary values are cut
 * and arrays' element bytes left out, unless the caller asks for everything. */
#include "pk_i.h"
#include "tree_i.h"

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


/* Does the space at s begin a separator, " = " or " -> ", in a path of which left bytes are
 * left? The end of the path counts as a space, since a separator follows it. A space that does
 * is escaped, so that the first " = " or " -> " of a line always ends its path. */
static bool starts_separator(const unsigned char *s, size_t left)
{
    if (left >= 2 && s[1] == '=')
        return left == 2 || s[2] == ' ';
    if (left >= 3 && s[1] == '-' && s[2] == '>')
        return left == 3 || s[3] == ' ';
    return false;
}

/* The escape of byte c, which is not part of well-formed UTF-8 or is a control character or a
 * backslash, into esc (5 bytes); returns its length. */
static size_t escape_byte(unsigned char c, char esc[5])
{
    switch (c) {
    case '\\': memcpy(esc, "\\\\", 2); return 2;
    case '\n': memcpy(esc, "\\n", 2); return 2;
    case '\t': memcpy(esc, "\\t", 2); return 2;
    default: snprintf(esc, 5, "\\x%02x", c); return 4;
    }
}

/* Write s escaped so that the line stays one line of valid UTF-8: control characters,
 * backslash and every byte that is not part of well-formed UTF-8 as escapes (and, in a path,
 * a space that begins a separator as \x20). A sequence cut by the end of s is left unwritten
 * unless last (the caller passes it again with the bytes that follow). Runs of bytes that need
 * no escape are written at once. Returns the bytes consumed. */
static size_t write_escaped(FILE *out, const unsigned char *s, size_t len, bool last, bool path)
{
    size_t run = 0; /* start of the bytes not yet written, all written as they are */
    if (len == 0)
        return 0; /* s may be NULL (an empty path): fwrite must not see it */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c >= 0x80) {
            int n = utf8_sequence(s + i, len - i);
            if (n == UTF8_CUT && !last) {
                fwrite(s + run, 1, i - run, out);
                return i;
            }
            if (n > 0) {
                i += (size_t)n - 1; /* well-formed: part of the run */
                continue;
            }
        } else if (c >= 0x20 && c != 0x7f && c != '\\' &&
                   !(path && c == ' ' && starts_separator(s + i, len - i))) {
            continue;
        }
        char esc[5];
        size_t elen = escape_byte(c, esc);
        fwrite(s + run, 1, i - run, out);
        fwrite(esc, 1, elen, out);
        run = i + 1;
    }
    fwrite(s + run, 1, len - run, out);
    return len;
}

/* A bytes or bytearray value longer than this is cut here, unless PK_DUMP_FULL: binary data
 * is what grows lines to megabytes, and its first bytes are enough to tell what it is. Text is
 * never cut, so that grep finds every match in it. */
#define DUMP_BYTES_MAX 1024

/* A file's content, read in chunks; the few bytes of a sequence that one chunk cuts are
 * carried over to the next. At most max bytes are read: when the file holds more, the line
 * ends with a backslash, "..." and the file's full size, "\... (2097152 bytes)", which no
 * content can be mistaken for (its own backslashes are written "\\"). */
static int dump_file(const pk_doc *doc, pk_ino ino, uint64_t max, FILE *out)
{
    enum { CHUNK = 65536, CARRY_MAX = 3 };
    unsigned char chunk[CARRY_MAX + CHUNK];
    size_t carried = 0;
    uint64_t off = 0;
    for (;;) {
        size_t want = max - off < CHUNK ? (size_t)(max - off) : CHUNK;
        ssize_t n = want == 0 ? 0 : pk_read(doc, ino, chunk + carried, want, off);
        if (n < 0)
            return (int)n;
        size_t have = carried + (size_t)n;
        size_t done = write_escaped(out, chunk, have, n == 0, false);
        off += (uint64_t)n;
        if (n == 0)
            break;
        carried = have - done; /* at most CARRY_MAX: a sequence is at most 4 bytes */
        memmove(chunk, chunk + done, carried);
    }
    uint64_t size;
    if (off == max && pk_size(doc, ino, &size) == 0 && size > max)
        fprintf(out, "\\... (%llu bytes)", (unsigned long long)size);
    return 0;
}

/* The number of bytes of file e that the dump shows: all, but for a long bytes value. */
static uint64_t shown_max(const pk_doc *doc, pk_ino e, unsigned flags)
{
    pk_entry x = pk_entry_get(doc, e);
    if (flags & PK_DUMP_FULL || x.role != PK_R_VALUE)
        return UINT64_MAX;
    uint8_t kind = doc->nodes[x.node].kind;
    return kind == PK_K_BYTES || kind == PK_K_BYTEARRAY ? DUMP_BYTES_MAX : UINT64_MAX;
}

/* Does the dump leave entry e out? An array's element bytes (NAME.raw) are, unless
 * PK_DUMP_FULL: its summary NAME stands for it. */
static bool left_out(const pk_doc *doc, pk_ino e, unsigned flags)
{
    return !(flags & PK_DUMP_FULL) && !pk_is_derived(e) && doc->entries[e].role == PK_R_RAW;
}

/* One line for entry e at path: a file's or a symlink's, or an empty directory's. */
static int dump_entry(const pk_doc *doc, pk_ino e, const pk_buf *path, unsigned flags, FILE *out)
{
    char target[4096];
    int rc = 0;
    pk_ftype type = pk_type(doc, e);
    if (type == PK_DIR && pk_nchildren(doc, e) > 0)
        return 0; /* its entries' paths name it */
    if (path->len == 0)
        fputc('.', out); /* the root, when empty */
    write_escaped(out, (const unsigned char *)path->data, path->len, true, true);
    switch (type) {
    case PK_DIR:
        fputc('/', out);
        break;
    case PK_LINK:
        fputs(" -> ", out);
        if (pk_readlink(doc, e, target, sizeof target) < 0)
            fputc('?', out);
        else
            write_escaped(out, (const unsigned char *)target, strlen(target), true, false);
        break;
    case PK_FILE:
        fputs(" = ", out);
        rc = dump_file(doc, e, shown_max(doc, e, flags), out);
        break;
    }
    fputc('\n', out);
    return rc;
}

/* The entries of dir the dump shows: its listed children, then, with PK_DUMP_FULL, the hidden
 * ones (an array's NAME.raw, which no listing shows). */
static uint64_t dump_count(const pk_doc *doc, pk_ino dir, unsigned flags)
{
    return pk_nchildren(doc, dir) + (flags & PK_DUMP_FULL ? pk_nhidden(doc, dir) : 0);
}

static pk_ino dump_child(const pk_doc *doc, pk_ino dir, uint64_t i)
{
    uint64_t listed = pk_nchildren(doc, dir);
    return i < listed ? pk_child(doc, dir, i) : pk_hidden(doc, dir, i - listed);
}

int pk_dump_with(const pk_doc *doc, FILE *out, unsigned flags)
{
    /* an explicit stack of (directory, next child, path length) */
    typedef struct { pk_ino dir; uint64_t next; size_t pathlen; } frame;
    frame *stack = NULL;
    uint64_t depth = 0, cap = 0;
    pk_buf path = {0};
    int rc = dump_entry(doc, PK_ROOT, &path, flags, out);
    if (!pk_grow((void **)&stack, &cap, 1, sizeof(frame)))
        return -ENOMEM;
    stack[depth++] = (frame){PK_ROOT, 0, 0};
    while (depth > 0 && rc == 0) {
        frame *f = &stack[depth - 1];
        if (f->next >= dump_count(doc, f->dir, flags)) {
            depth--;
            continue;
        }
        pk_ino e = dump_child(doc, f->dir, f->next++);
        if (left_out(doc, e, flags))
            continue;
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
        rc = dump_entry(doc, e, &path, flags, out);
        if (rc == 0 && pk_type(doc, e) == PK_DIR) {
            if (!pk_grow((void **)&stack, &cap, depth + 1, sizeof(frame)))
                rc = -ENOMEM;
            else
                stack[depth++] = (frame){e, 0, path.len};
        }
    }
    free(stack);
    pk_buf_free(&path);
    return rc;
}

int pk_dump(const pk_doc *doc, FILE *out)
{
    return pk_dump_with(doc, out, 0);
}
