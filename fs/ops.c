/* ops.c: the table of FUSE low-level requests.
 *
 * Every answer comes from the pk_doc decoded before the mount. The tree never changes while
 * it is mounted, so node numbers are entry numbers (forget has nothing to release), every
 * timeout is DBL_MAX, unknown names are cached as negative entries, and open files keep
 * their page cache. Handlers run on several threads at once and share nothing but the
 * read-only pk_doc, so they take no locks. The handlers live by what they serve: attr.c
 * (names and attributes), dir.c (listings), file.c (contents and symlinks), xattr.c and
 * erofs.c (every request that would write); what they all use is in shared.c.
 */
#include <errno.h>
#include <linux/limits.h>
#include <string.h>
#include <sys/statvfs.h>

#include "pfs_i.h"

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

static void pfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct statvfs sv;

    (void)ino;
    memset(&sv, 0, sizeof(sv));
    sv.f_bsize = PFS_BLKSIZE;
    sv.f_frsize = PFS_BLKSIZE;
    sv.f_files = pk_entry_count(pfs_doc(req));
    sv.f_namemax = NAME_MAX;
    sv.f_flag = ST_RDONLY;
    fuse_reply_statfs(req, &sv);
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
