/* file.c: what files and symlinks hold: OPEN, READ, RELEASE and READLINK.
 *
 * A READ costs the codec one pass over the file at most: a stored span (a large str or bytes,
 * an array's raw data) is spliced from the source file without being copied, and anything
 * else is asked for once with pk_read(), which renders a rendered file once and copies the
 * range out of it. Nothing is kept between requests, so an open file needs no handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "pfs_i.h"

void pfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    pk_ftype type;
    int err;

    if ((err = pfs_entry_type(pfs_doc(req), ino, &type)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    if (type != PK_FILE) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    if (((const struct pfs *)fuse_req_userdata(req))->no_open) {
        /* From now on the kernel opens files by itself, keeping their pages; the mount is
         * read-only, so it refuses writable opens by itself too. */
        fuse_reply_err(req, ENOSYS);
        return;
    }
    fi->keep_cache = 1; /* the content never changes: keep its pages across opens */
    fi->noflush = 1;
    fuse_reply_open(req, fi);
}

/* Reply with up to size bytes of the file from off by splicing them straight from the source
 * file, when they are stored there as they are, and set *fsize to the file's size. Returns
 * false when they are not. */
static bool reply_span(fuse_req_t req, const pk_doc *doc, fuse_ino_t ino, size_t size,
                       off_t off, uint64_t *fsize)
{
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
    pk_attr attr;
    uint64_t pos, end;
    int fd;

    /* a stored span's size is known without rendering anything */
    if (pk_file_span(doc, ino, &fd, &pos) != 0 || pk_stat(doc, ino, &attr) != 0)
        return false;
    *fsize = attr.size;
    if ((uint64_t)off >= attr.size || size == 0) {
        fuse_reply_buf(req, NULL, 0);
        return true;
    }
    if (attr.size - (uint64_t)off < size)
        size = (size_t)(attr.size - (uint64_t)off);
    end = (uint64_t)off + size;
    if (end > INT64_MAX || pos > INT64_MAX - end)
        return false; /* past what off_t can say: leave it to pk_read() */
    bv.buf[0].size = size;
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = fd;
    bv.buf[0].pos = (off_t)(pos + (uint64_t)off);
    /* On failure libfuse answers the request with the error itself. */
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
    return true;
}

void pfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
              struct fuse_file_info *fi)
{
    struct pfs *pfs = fuse_req_userdata(req);
    const pk_doc *doc = pfs->doc;
    uint64_t fsize = 0;
    char *buf;
    ssize_t n;

    (void)fi;
    pfs_wakeup_request(req);
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if (reply_span(req, doc, ino, size, off, &fsize)) {
        if (off == 0)
            pfs_prefill_file_read(pfs, fsize);
        return;
    }
    if ((buf = malloc(size ? size : 1)) == NULL) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    /* 0 at or past the end; -EISDIR for a directory or a symlink, -ENOENT for no entry */
    n = pk_read(doc, ino, buf, size, (uint64_t)off);
    if (n < 0 || (size_t)n > size)
        fuse_reply_err(req, pfs_errno(n));
    else
        fuse_reply_buf(req, buf, (size_t)n);
    free(buf);
    if (off == 0 && n >= 0 && (size_t)n < size)
        pfs_prefill_file_read(pfs, (uint64_t)n); /* the whole file was read: n is its size */
}

void pfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino, (void)fi;
    fuse_reply_err(req, 0);
}

/* The target is rendered once, into a buffer as large as a path may be: a longer one is
 * ENAMETOOLONG (pk_readlink's answer). */
void pfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
    char target[PATH_MAX];
    ssize_t len;

    pfs_wakeup_request(req);
    /* -EINVAL for an entry that is no symlink, -ENOENT for no entry */
    len = pk_readlink(pfs_doc(req), ino, target, sizeof(target));
    if (len < 0 || len >= PATH_MAX) {
        fuse_reply_err(req, pfs_errno(len));
        return;
    }
    target[len] = '\0';
    fuse_reply_readlink(req, target);
}
