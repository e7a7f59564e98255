/* ops.c: the FUSE low-level requests that read the tree.
 *
 * Every answer comes from the pk_doc decoded before the mount. The tree never changes while
 * it is mounted, so inode numbers are entry numbers (forget has nothing to release), every
 * timeout is DBL_MAX, unknown names are cached as negative entries, and open files keep
 * their page cache. Handlers run on several threads at once and share nothing but the
 * read-only pk_doc, so they take no locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <linux/limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "pfs_i.h"

/* Seconds the kernel may cache names, attributes and negative lookups: forever. libfuse
 * clamps the value to what the protocol can carry. */
#define PFS_TIMEOUT DBL_MAX

#define PFS_BLKSIZE 4096

static const pk_doc *doc_of(fuse_req_t req)
{
    const struct pfs *pfs = fuse_req_userdata(req);
    return pfs->doc;
}

/* The only place where a failure reported by the codec becomes an errno for the kernel.
 * pk_read(), pk_readlink() and pk_getxattr() return -errno; anything that is not a plausible
 * errno (a codec bug) becomes EIO rather than being passed on. */
static int codec_errno(ssize_t ret)
{
    return ret < 0 && ret > -4096 ? (int)-ret : EIO;
}

#define ANY_TYPE (-1)

/* 0 when ino is an entry of doc, of the given type unless type is ANY_TYPE; otherwise the
 * errno to answer with (wrong_type when only the type is wrong). The kernel only sends
 * numbers we gave it, but the codec trusts its callers, so every number is checked before
 * it crosses over (pk_valid). */
static int check_entry(const pk_doc *doc, fuse_ino_t ino, int type, int wrong_type)
{
    if (!pk_valid(doc, ino))
        return ENOENT;
    if (type != ANY_TYPE && (int)pk_type(doc, ino) != type)
        return wrong_type;
    return 0;
}

static off_t clamp_off(uint64_t v)
{
    return v > INT64_MAX ? (off_t)INT64_MAX : (off_t)v;
}

static mode_t mode_of(pk_ftype type)
{
    switch (type) {
    case PK_DIR:
        return S_IFDIR | 0555;
    case PK_LINK:
        return S_IFLNK | 0777;
    case PK_FILE:
    default:
        return S_IFREG | 0444;
    }
}

/* Returns 0, or the errno of a size the codec cannot know (an array summary whose data
 * changed under the mount). */
static int fill_attr(const pk_doc *doc, fuse_ino_t ino, struct stat *st)
{
    uint64_t size = 0;
    int rc = 0;
    const struct stat *src = pk_source_stat(doc);
    pk_ftype type = pk_type(doc, ino);

    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_mode = mode_of(type);
    st->st_nlink = 1;
    st->st_uid = src->st_uid;
    st->st_gid = src->st_gid;
    st->st_blksize = PFS_BLKSIZE;
    st->st_atim = src->st_atim;
    st->st_mtim = src->st_mtim;
    st->st_ctim = src->st_ctim;
    switch (type) {
    case PK_DIR:
        /* its entry in the parent, its ".", and each subdirectory's "..". */
        st->st_nlink = 2 + pk_nsubdirs(doc, ino);
        break;
    case PK_FILE:
        rc = pk_size(doc, ino, &size);
        st->st_size = clamp_off(size);
        st->st_blocks = (blkcnt_t)(((uint64_t)st->st_size + 511) / 512);
        break;
    case PK_LINK:
        rc = pk_size(doc, ino, &size);
        st->st_size = clamp_off(size);
        break;
    }
    return rc < 0 ? codec_errno(rc) : 0;
}

/* ino 0 makes a negative entry: the kernel remembers for PFS_TIMEOUT that the name is not
 * there. */
static int fill_entry(const pk_doc *doc, fuse_ino_t ino, struct fuse_entry_param *e)
{
    memset(e, 0, sizeof(*e));
    e->ino = ino;
    e->attr_timeout = PFS_TIMEOUT;
    e->entry_timeout = PFS_TIMEOUT;
    return ino != 0 ? fill_attr(doc, ino, &e->attr) : 0;
}

static void pfs_init(void *userdata, struct fuse_conn_info *conn)
{
    struct pfs *pfs = userdata;

    /* Reads of stored spans go from the source file to /dev/fuse by splice, and symlink
     * targets, like everything else here, never change. */
    conn->want |= conn->capable & (FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
    conn->want |= conn->capable & FUSE_CAP_CACHE_SYMLINKS;
    /* A walk (find, du, grep -r) should cost one READDIRPLUS per directory and nothing per
     * entry: always list with attributes, which makes every LOOKUP of a listed name needless
     * (the kernel's "auto" mode lists the first chunk only with them), and skip OPEN,
     * OPENDIR and their RELEASEs, which a read-only tree has no use for. */
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    pfs->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
    pfs->no_opendir = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
    conn->want |= conn->capable & (FUSE_CAP_NO_OPEN_SUPPORT | FUSE_CAP_NO_OPENDIR_SUPPORT);
}

static void pfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    const pk_doc *doc = doc_of(req);
    struct fuse_entry_param e;
    size_t len = strlen(name);
    pk_ino ino;
    int err;

    if ((err = check_entry(doc, parent, PK_DIR, ENOTDIR)) != 0)
        goto fail;
    if (len > NAME_MAX) {
        err = ENAMETOOLONG;
        goto fail;
    }
    if (strcmp(name, ".") == 0)
        ino = parent;
    else if (strcmp(name, "..") == 0)
        ino = pk_parent(doc, parent);
    else
        ino = pk_lookup(doc, parent, name, len);
    if (ino != 0 && (err = check_entry(doc, ino, ANY_TYPE, 0)) != 0) {
        err = EIO; /* the codec named an entry it does not have */
        goto fail;
    }
    if ((err = fill_entry(doc, ino, &e)) != 0)
        goto fail;
    fuse_reply_entry(req, &e);
    return;
fail:
    fuse_reply_err(req, err);
}

static void pfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    (void)ino, (void)nlookup;
    fuse_reply_none(req);
}

static void pfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    (void)count, (void)forgets;
    fuse_reply_none(req);
}

static void pfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    const pk_doc *doc = doc_of(req);
    struct stat st;
    int err;

    (void)fi;
    if ((err = check_entry(doc, ino, ANY_TYPE, 0)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    if ((err = fill_attr(doc, ino, &st)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    fuse_reply_attr(req, &st, PFS_TIMEOUT);
}

static void pfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
    const pk_doc *doc = doc_of(req);
    char *buf = NULL;
    uint64_t len;
    ssize_t ret;
    int err;

    if ((err = check_entry(doc, ino, PK_LINK, EINVAL)) != 0)
        goto fail;
    if ((ret = pk_size(doc, ino, &len)) < 0) {
        err = codec_errno(ret);
        goto fail;
    }
    if (len >= PATH_MAX) {
        err = ENAMETOOLONG;
        goto fail;
    }
    buf = malloc((size_t)len + 1);
    if (buf == NULL) {
        err = ENOMEM;
        goto fail;
    }
    ret = pk_readlink(doc, ino, buf, (size_t)len + 1);
    if (ret < 0 || (uint64_t)ret > len) {
        err = ret < 0 ? codec_errno(ret) : EIO;
        goto fail;
    }
    buf[ret] = '\0';
    fuse_reply_readlink(req, buf);
    free(buf);
    return;
fail:
    free(buf);
    fuse_reply_err(req, err);
}

static void pfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    const pk_doc *doc = doc_of(req);
    int err;

    if ((err = check_entry(doc, ino, PK_DIR, ENOTDIR)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    if (((const struct pfs *)fuse_req_userdata(req))->no_opendir) {
        fuse_reply_err(req, ENOSYS); /* from now on the kernel caches listings by itself */
        return;
    }
    fi->cache_readdir = 1;
    fi->keep_cache = 1;
    fuse_reply_open(req, fi);
}

/* Copy entry child's name into name[NAME_MAX + 1]. Returns 0, or EIO for a name the kernel
 * could not look up again (a codec bug, said loudly rather than listed). */
static int child_name(const pk_doc *doc, pk_ino child, char *name)
{
    const char *s;
    char buf[PK_NAME_BUF];
    size_t len;

    if (check_entry(doc, child, ANY_TYPE, 0) != 0)
        return EIO;
    s = pk_name(doc, child, buf, &len);
    if (s == NULL || len == 0 || len > NAME_MAX || memchr(s, '/', len) != NULL ||
        memchr(s, '\0', len) != NULL)
        return EIO;
    memcpy(name, s, len);
    name[len] = '\0';
    return 0;
}

/* A directory's stream is ".", "..", then pk_child(0), pk_child(1), ...; the offset
 * stored after entry i is i + 1, so a listing resumes anywhere without state. Each call
 * fills at most size bytes: fuse_add_direntry() says how much an entry needs, and the
 * first one that does not fit ends the reply. */
static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, bool plus)
{
    const pk_doc *doc = doc_of(req);
    char name[NAME_MAX + 1];
    char *buf = NULL;
    uint64_t count, i;
    size_t used = 0;
    int err;

    if ((err = check_entry(doc, ino, PK_DIR, ENOTDIR)) != 0)
        goto fail;
    if (off < 0) {
        err = EINVAL;
        goto fail;
    }
    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        err = ENOMEM;
        goto fail;
    }
    count = 2 + pk_nchildren(doc, ino);
    for (i = (uint64_t)off; i < count; i++) {
        struct fuse_entry_param e;
        pk_ino child;
        size_t need;

        if (i == 0) {
            child = ino;
            strcpy(name, ".");
        } else if (i == 1) {
            child = pk_parent(doc, ino);
            strcpy(name, "..");
        } else {
            child = pk_child(doc, ino, i - 2);
            if ((err = child_name(doc, child, name)) != 0)
                goto fail;
        }
        if (plus) {
            if (fill_entry(doc, child, &e) != 0) {
                /* listed without attributes: the kernel looks it up, and gets the error */
                e.ino = 0;
                e.attr_timeout = e.entry_timeout = 0;
            }
            need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e,
                                          (off_t)(i + 1));
        } else {
            /* readdir uses only the inode number and the type bits */
            memset(&e.attr, 0, sizeof(e.attr));
            e.attr.st_ino = child;
            e.attr.st_mode = mode_of(pk_type(doc, child));
            need = fuse_add_direntry(req, buf + used, size - used, name, &e.attr,
                                     (off_t)(i + 1));
        }
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
    return;
fail:
    free(buf);
    fuse_reply_err(req, err);
}

static void pfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
    (void)fi;
    list_dir(req, ino, size, off, false);
}

static void pfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                            struct fuse_file_info *fi)
{
    (void)fi;
    list_dir(req, ino, size, off, true);
}

static void pfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino, (void)fi;
    fuse_reply_err(req, 0);
}

static void pfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    const pk_doc *doc = doc_of(req);
    int err;

    if ((err = check_entry(doc, ino, PK_FILE, EISDIR)) != 0)
        goto fail;
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        err = EROFS;
        goto fail;
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
    return;
fail:
    fuse_reply_err(req, err);
}

/* Reply with n bytes of the file from off by splicing them straight from the source file,
 * when they are stored there as they are. Returns false when they are not. */
static bool reply_span(fuse_req_t req, const pk_doc *doc, fuse_ino_t ino, size_t n, off_t off)
{
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(n);
    uint64_t pos, end;
    int fd;

    if (pk_file_span(doc, ino, &fd, &pos) != 0)
        return false;
    end = (uint64_t)off + n;
    if (end > INT64_MAX || pos > INT64_MAX - end)
        return false; /* past what off_t can say: leave it to pk_read() */
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = fd;
    bv.buf[0].pos = (off_t)(pos + (uint64_t)off);
    /* On failure libfuse answers the request with the error itself. */
    fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
    return true;
}

static void pfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    const pk_doc *doc = doc_of(req);
    char *buf = NULL;
    uint64_t fsize;
    ssize_t ret;
    size_t n;
    int err;

    (void)fi;
    if ((err = check_entry(doc, ino, PK_FILE, EISDIR)) != 0)
        goto fail;
    if (off < 0) {
        err = EINVAL;
        goto fail;
    }
    if ((ret = pk_size(doc, ino, &fsize)) < 0) {
        err = codec_errno(ret);
        goto fail;
    }
    if ((uint64_t)off >= fsize || size == 0) {
        fuse_reply_buf(req, NULL, 0);
        return;
    }
    n = fsize - (uint64_t)off < size ? (size_t)(fsize - (uint64_t)off) : size;
    if (reply_span(req, doc, ino, n, off))
        return;
    buf = malloc(n);
    if (buf == NULL) {
        err = ENOMEM;
        goto fail;
    }
    ret = pk_read(doc, ino, buf, n, (uint64_t)off);
    if (ret < 0 || (size_t)ret > n) {
        err = ret < 0 ? codec_errno(ret) : EIO;
        goto fail;
    }
    fuse_reply_buf(req, buf, (size_t)ret);
    free(buf);
    return;
fail:
    free(buf);
    fuse_reply_err(req, err);
}

static void pfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino, (void)fi;
    fuse_reply_err(req, 0);
}

/* The pk_xattr called name, or PK_XA__COUNT. */
static pk_xattr xattr_by_name(const char *name)
{
    int i;

    for (i = 0; i < PK_XA__COUNT; i++)
        if (strcmp(pk_xattr_name((pk_xattr)i), name) == 0)
            return (pk_xattr)i;
    return PK_XA__COUNT;
}

/* size 0 asks for the length; a buffer too small gets ERANGE, as getxattr(2) says. */
static void pfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    const pk_doc *doc = doc_of(req);
    pk_xattr which = xattr_by_name(name);
    char small[256];
    char *buf = NULL;
    ssize_t len;
    int err;

    if ((err = check_entry(doc, ino, ANY_TYPE, 0)) != 0)
        goto fail;
    len = which == PK_XA__COUNT ? -ENODATA : pk_getxattr(doc, ino, which, small, sizeof(small));
    if (len < 0) {
        err = codec_errno(len);
        goto fail;
    }
    if (len > XATTR_SIZE_MAX) {
        err = E2BIG;
        goto fail;
    }
    if (size == 0) {
        fuse_reply_xattr(req, (size_t)len);
        return;
    }
    if ((size_t)len > size) {
        err = ERANGE;
        goto fail;
    }
    if ((size_t)len <= sizeof(small)) {
        fuse_reply_buf(req, small, (size_t)len);
        return;
    }
    buf = malloc((size_t)len);
    if (buf == NULL) {
        err = ENOMEM;
        goto fail;
    }
    if (pk_getxattr(doc, ino, which, buf, (size_t)len) != len) {
        err = EIO; /* the length changed: a codec bug */
        goto fail;
    }
    fuse_reply_buf(req, buf, (size_t)len);
    free(buf);
    return;
fail:
    free(buf);
    fuse_reply_err(req, err);
}

/* The names of the attributes this entry has, each followed by a NUL. */
static void pfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    const pk_doc *doc = doc_of(req);
    char list[PK_XA__COUNT * (XATTR_NAME_MAX + 1)];
    size_t used = 0;
    char probe;
    int err, i;

    if ((err = check_entry(doc, ino, ANY_TYPE, 0)) != 0)
        goto fail;
    for (i = 0; i < PK_XA__COUNT; i++) {
        const char *name = pk_xattr_name((pk_xattr)i);
        size_t len = strlen(name);

        if (pk_getxattr(doc, ino, (pk_xattr)i, &probe, 0) == -ENODATA)
            continue; /* listed even when it cannot be read now (EIO): it is there */
        if (len == 0 || len > XATTR_NAME_MAX) {
            err = EIO; /* a codec bug */
            goto fail;
        }
        memcpy(list + used, name, len + 1);
        used += len + 1;
    }
    if (size == 0) {
        fuse_reply_xattr(req, used);
        return;
    }
    if (used > size) {
        err = ERANGE;
        goto fail;
    }
    fuse_reply_buf(req, list, used);
    return;
fail:
    fuse_reply_err(req, err);
}

static void pfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
    const pk_doc *doc = doc_of(req);
    struct statvfs sv;

    (void)ino;
    memset(&sv, 0, sizeof(sv));
    sv.f_bsize = PFS_BLKSIZE;
    sv.f_frsize = PFS_BLKSIZE;
    sv.f_files = pk_entry_count(doc);
    sv.f_namemax = NAME_MAX;
    sv.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &sv);
}

/* Without -o default_permissions the kernel asks us for access(2) and chdir. */
static void pfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    const pk_doc *doc = doc_of(req);
    int err;

    err = check_entry(doc, ino, ANY_TYPE, 0);
    if (err == 0 && (mask & W_OK))
        err = EROFS;
    else if (err == 0 && (mask & X_OK) && pk_type(doc, ino) == PK_FILE)
        err = EACCES;
    fuse_reply_err(req, err);
}

const struct fuse_lowlevel_ops pfs_ops = {
    .init = pfs_init,
    .lookup = pfs_lookup,
    .forget = pfs_forget,
    .forget_multi = pfs_forget_multi,
    .getattr = pfs_getattr,
    .readlink = pfs_readlink,
    .opendir = pfs_opendir,
    .readdir = pfs_readdir,
    .readdirplus = pfs_readdirplus,
    .releasedir = pfs_releasedir,
    .open = pfs_open,
    .read = pfs_read,
    .release = pfs_release,
    .getxattr = pfs_getxattr,
    .listxattr = pfs_listxattr,
    .statfs = pfs_statfs,
    .access = pfs_access,

    .setattr = pfs_erofs_setattr,
    .mknod = pfs_erofs_mknod,
    .mkdir = pfs_erofs_mkdir,
    .unlink = pfs_erofs_unlink,
    .rmdir = pfs_erofs_rmdir,
    .symlink = pfs_erofs_symlink,
    .rename = pfs_erofs_rename,
    .link = pfs_erofs_link,
    .write = pfs_erofs_write,
    .create = pfs_erofs_create,
    .setxattr = pfs_erofs_setxattr,
    .removexattr = pfs_erofs_removexattr,
    .fallocate = pfs_erofs_fallocate,
    .copy_file_range = pfs_erofs_copy_file_range,
};
