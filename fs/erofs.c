/* erofs.c: every request that would change the tree fails with EROFS.
 *
 * The mount is made with -o ro, so the kernel normally refuses these before they reach us;
 * the handlers are here so that the answer is EROFS even when it does not (a remount rw by
 * hand, an old kernel), never ENOSYS and never a silent success.
 */
#include <errno.h>

#include "pfs_i.h"

static void refuse(fuse_req_t req)
{
    fuse_reply_err(req, EROFS);
}

void pfs_erofs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    (void)ino, (void)attr, (void)to_set, (void)fi;
    refuse(req);
}

void pfs_erofs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     dev_t rdev)
{
    (void)parent, (void)name, (void)mode, (void)rdev;
    refuse(req);
}

void pfs_erofs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    (void)parent, (void)name, (void)mode;
    refuse(req);
}

void pfs_erofs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent, (void)name;
    refuse(req);
}

void pfs_erofs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent, (void)name;
    refuse(req);
}

void pfs_erofs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    (void)link, (void)parent, (void)name;
    refuse(req);
}

void pfs_erofs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    (void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
    refuse(req);
}

void pfs_erofs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    (void)ino, (void)newparent, (void)newname;
    refuse(req);
}

void pfs_erofs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    (void)ino, (void)buf, (void)size, (void)off, (void)fi;
    refuse(req);
}

void pfs_erofs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    (void)parent, (void)name, (void)mode, (void)fi;
    refuse(req);
}

void pfs_erofs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    (void)ino, (void)name, (void)value, (void)size, (void)flags;
    refuse(req);
}

void pfs_erofs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    (void)ino, (void)name;
    refuse(req);
}

void pfs_erofs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi)
{
    (void)ino, (void)mode, (void)offset, (void)length, (void)fi;
    refuse(req);
}

void pfs_erofs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                               struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                               struct fuse_file_info *fi_out, size_t len, int flags)
{
    (void)ino_in, (void)off_in, (void)fi_in, (void)ino_out, (void)off_out, (void)fi_out,
        (void)len, (void)flags;
    refuse(req);
}
