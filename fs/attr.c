/* attr.c: names and attributes: LOOKUP, GETATTR and ACCESS, and the struct stat every reply
 * that carries attributes (these, and READDIRPLUS in dir.c) fills the same way.
 *
 * An entry's stat is the source file's owner and times, a mode that only reads, and what the
 * codec says of the entry in one call (pk_stat): its type, its size, and for a directory its
 * subdirectories, which give st_nlink.
 */
#include <errno.h>
#include <float.h>
#include <linux/limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pfs_i.h"

static off_t clamp_off(uint64_t v)
{
    return v > INT64_MAX ? (off_t)INT64_MAX : (off_t)v;
}

mode_t pfs_mode_of(pk_ftype type)
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

/* A node's number mixed by a bijection of 64 bits (splitmix64's finalizer): unique as the
 * node numbers are, never 0 for a node, and with low bits that vary. Derived files are
 * numbered (directory << 32) | position, so their low bits alone would take a handful of
 * values; tools that hash inode numbers by their low bits to find hard links (mksquashfs,
 * cpio) would then put every file of a big tree in a few buckets and slow to a crawl. */
ino_t pfs_inode_number(fuse_ino_t ino)
{
    uint64_t z = ino;

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (ino_t)(z ^ (z >> 31));
}

int pfs_fill_attr(const pk_doc *doc, fuse_ino_t ino, struct stat *st)
{
    const struct stat *src = pk_source_stat(doc);
    pk_attr attr;
    int rc = pk_stat(doc, ino, &attr);

    memset(st, 0, sizeof(*st));
    st->st_ino = pfs_inode_number(ino);
    st->st_mode = pfs_mode_of(attr.type);
    st->st_nlink = 1;
    st->st_uid = src->st_uid;
    st->st_gid = src->st_gid;
    st->st_blksize = PFS_BLKSIZE;
    st->st_atim = src->st_atim;
    st->st_mtim = src->st_mtim;
    st->st_ctim = src->st_ctim;
    st->st_size = clamp_off(attr.size); /* a symlink's is its target's length */
    if (attr.type == PK_DIR) /* its entry in the parent, its ".", and each subdirectory's ".." */
        st->st_nlink = 2 + attr.nsubdirs;
    else if (attr.type == PK_FILE)
        st->st_blocks = (blkcnt_t)(((uint64_t)st->st_size + 511) / 512);
    return rc < 0 ? pfs_errno(rc) : 0;
}

int pfs_fill_entry(const pk_doc *doc, fuse_ino_t ino, struct fuse_entry_param *e)
{
    memset(e, 0, sizeof(*e));
    e->ino = ino;
    e->attr_timeout = PFS_TIMEOUT;
    e->entry_timeout = PFS_TIMEOUT;
    return ino != 0 ? pfs_fill_attr(doc, ino, &e->attr) : 0;
}

void pfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct pfs *pfs = fuse_req_userdata(req);
    const pk_doc *doc = pfs->doc;
    struct fuse_entry_param e;
    size_t len = strlen(name);
    pk_ftype type;
    pk_ino ino;
    pid_t asker;
    int err;

    pfs_wakeup_request(req);
    if ((err = pfs_entry_type(doc, parent, &type)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    if (type != PK_DIR) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    if (len > NAME_MAX) {
        fuse_reply_err(req, ENAMETOOLONG);
        return;
    }
    if (strcmp(name, ".") == 0)
        ino = parent;
    else if (strcmp(name, "..") == 0)
        ino = pk_parent(doc, parent);
    else
        ino = pk_lookup(doc, parent, name, len);
    if (ino != 0 && !pk_valid(doc, ino)) {
        fuse_reply_err(req, EIO); /* the codec named an entry it does not have */
        return;
    }
    if ((err = pfs_fill_entry(doc, ino, &e)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    asker = fuse_req_ctx(req)->pid;
    fuse_reply_entry(req, &e); /* req is gone from here on */
    if (ino != 0 && !S_ISDIR(e.attr.st_mode)) /* after the answer, which this may delay */
        pfs_listing_file_used(&pfs->listing, asker);
}

void pfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct pfs *pfs = fuse_req_userdata(req);
    struct stat st;
    pid_t asker;
    int err;

    (void)fi;
    pfs_wakeup_request(req);
    if ((err = pfs_fill_attr(pfs->doc, ino, &st)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    asker = fuse_req_ctx(req)->pid;
    fuse_reply_attr(req, &st, PFS_TIMEOUT); /* req is gone from here on */
    if (!S_ISDIR(st.st_mode))
        pfs_listing_file_used(&pfs->listing, asker);
}

/* Without -o default_permissions the kernel asks us for access(2) and chdir. */
void pfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    pk_ftype type;
    int err;

    pfs_wakeup_request(req);
    err = pfs_entry_type(pfs_doc(req), ino, &type);
    if (err == 0 && (mask & W_OK))
        err = EROFS;
    else if (err == 0 && (mask & X_OK) && type == PK_FILE)
        err = EACCES;
    fuse_reply_err(req, err);
}
