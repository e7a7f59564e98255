/* source.c: opening FILE and reading the bytes of its pickle stream.
 *
 * A raw pickle is mapped while it is decoded, then unmapped: afterwards the few spans that stay
 * in the file (long str and bytes) are read with pread, after checking that the file has not
 * changed since it was decoded. A file truncated, rewritten or deleted under a live mount thus
 * gives EIO on the affected reads, never SIGBUS.
 */
#include "buf_i.h"
#include "source_i.h"
#include "ckpt_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int io_error(pk_error *err, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
    pk_set_error(err, PK_E_IO, 0, -1, msg);
    return -1;
}

int pk_source_open(pk_doc *doc, const char *path, pk_error *err)
{
    doc->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (doc->fd < 0)
        return io_error(err, "cannot open");
    pk_side_dir_open(doc, path); /* for a joblib dump's side files (side.c) */
    if (fstat(doc->fd, &doc->st) < 0)
        return io_error(err, "cannot stat");
    if (!S_ISREG(doc->st.st_mode)) {
        errno = EINVAL;
        pk_set_error(err, PK_E_IO, 0, -1, "not a regular file");
        return -1;
    }
    if (doc->st.st_size == 0) {
        pk_set_error(err, PK_E_EMPTY, 0, -1, "empty file");
        return -1;
    }
    void *map = mmap(NULL, (size_t)doc->st.st_size, PROT_READ, MAP_PRIVATE, doc->fd, 0);
    if (map == MAP_FAILED)
        return io_error(err, "cannot map");
    madvise(map, (size_t)doc->st.st_size, MADV_SEQUENTIAL);
    doc->src = map;
    doc->src_len = (uint64_t)doc->st.st_size;
    doc->src_mapped = true;
    return 0;
}

void pk_source_memory(pk_doc *doc, const void *buf, size_t len)
{
    doc->src = buf;
    doc->src_len = len;
    doc->st.st_mode = S_IFREG | 0444;
    doc->st.st_size = (off_t)len;
}

void pk_source_release(pk_doc *doc, uint64_t upto)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    upto -= upto % page;
    if (!doc->src_mapped || upto <= doc->src_released || upto > doc->src_len)
        return;
    madvise((void *)(doc->src + doc->src_released), (size_t)(upto - doc->src_released),
            MADV_DONTNEED);
    doc->src_released = upto;
}

void pk_source_settle(pk_doc *doc)
{
    if (doc->src_mapped) {
        munmap((void *)doc->src, (size_t)doc->src_len);
        doc->src = NULL;
        doc->src_mapped = false;
    }
    pk_format_settle(doc); /* a checkpoint archive's mapping */
}

void pk_source_close(pk_doc *doc)
{
    pk_source_settle(doc);
    pk_ckpt_free(doc);
    if (doc->src_owned)
        free((void *)doc->src);
    doc->src = NULL;
    if (doc->fd >= 0)
        close(doc->fd);
    doc->fd = -1;
    if (doc->dir_fd >= 0)
        close(doc->dir_fd);
    doc->dir_fd = -1;
}

/* Has FILE changed since it was decoded? Then what we would read is not what we decoded. */
bool pk_source_changed(const pk_doc *doc)
{
    struct stat now;
    if (fstat(doc->fd, &now) < 0)
        return true;
    return now.st_size != doc->st.st_size || now.st_mtim.tv_sec != doc->st.st_mtim.tv_sec ||
           now.st_mtim.tv_nsec != doc->st.st_mtim.tv_nsec || now.st_nlink == 0;
}

ssize_t pk_read_span(const pk_doc *doc, pk_span s, bool in_src, uint64_t off, void *buf,
                     uint64_t len)
{
    if (off > s.len || len > s.len - off)
        return -EINVAL;
    if (len == 0)
        return 0;
    if (!in_src) {
        memcpy(buf, doc->pool.data + s.pos + off, len);
        return (ssize_t)len;
    }
    if (doc->src) {
        memcpy(buf, doc->src + s.pos + off, len);
        return (ssize_t)len;
    }
    return pk_source_pread(doc, buf, len, doc->fd_base + s.pos + off);
}

ssize_t pk_span_read(const pk_doc *doc, const pk_node *n, uint64_t off, void *buf, uint64_t len)
{
    return pk_read_span(doc, pk_node_span(doc, n), n->flags & PK_NF_SRC, off, buf, len);
}

ssize_t pk_source_pread(const pk_doc *doc, void *buf, uint64_t len, uint64_t pos)
{
    if (pk_source_changed(doc))
        return -EIO;
    uint64_t done = 0;
    while (done < len) {
        ssize_t r = pread(doc->fd, (char *)buf + done, len - done, (off_t)(pos + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -EIO; /* an error, or the file is shorter than it was */
        done += (uint64_t)r;
    }
    return (ssize_t)len;
}

/* Read a span's bytes (at most max+1 of them, enough to know whether it was cut); NULL, with
 * b failed, when that cannot be done. */
static uint8_t *span_bytes(const pk_doc *doc, const pk_node *n, uint64_t max, uint64_t *len,
                           pk_buf *b)
{
    uint64_t l = pk_span_len(doc, n) < max ? pk_span_len(doc, n) : max;
    uint8_t *p = malloc(l ? l : 1);
    if (!p) {
        b->failed = true;
        return NULL;
    }
    if (pk_span_read(doc, n, 0, p, l) < 0) {
        free(p);
        b->failed = b->unreadable = true;
        return NULL;
    }
    *len = l;
    return p;
}


void pk_span_repr(const pk_doc *doc, const pk_node *n, pk_buf *b, bool is_bytes)
{
    uint64_t len;
    uint8_t *s = span_bytes(doc, n, pk_buf_room(b), &len, b);
    if (!s)
        return;
    pk_repr_text(b, s, len, is_bytes);
    free(s);
}
