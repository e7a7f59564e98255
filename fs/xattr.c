/* xattr.c: extended attributes: GETXATTR and LISTXATTR (setting and removing are in erofs.c).
 *
 * The codec knows which user.pickle.* attributes an entry has and what they say (pk_getxattr);
 * this file adds the xattr(7) conventions: size 0 asks for the length, a buffer too small is
 * ERANGE, and an entry lists exactly the names that getxattr answers.
 */
#include <errno.h>
#include <linux/limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pfs_i.h"

/* The pk_xattr called name, or PK_XA__COUNT, which the codec answers with ENODATA. */
static pk_xattr xattr_by_name(const char *name)
{
    int i;

    for (i = 0; i < PK_XA__COUNT; i++)
        if (strcmp(pk_xattr_name((pk_xattr)i), name) == 0)
            return (pk_xattr)i;
    return PK_XA__COUNT;
}

/* Reply with the whole value, len bytes (len > sizeof(small) was too long for small). */
static void reply_long_value(fuse_req_t req, fuse_ino_t ino, pk_xattr which, ssize_t len)
{
    char *buf = malloc((size_t)len);
    ssize_t again;

    if (buf == NULL) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    again = pk_getxattr(pfs_doc(req), ino, which, buf, (size_t)len);
    if (again != len) /* an error, or another length: a codec bug, which pfs_errno says EIO */
        fuse_reply_err(req, pfs_errno(again));
    else
        fuse_reply_buf(req, buf, (size_t)len);
    free(buf);
}

void pfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    char small[256];
    pk_xattr which = xattr_by_name(name);
    ssize_t len;

    pfs_wakeup_request(req);
    len = pk_getxattr(pfs_doc(req), ino, which, small, sizeof(small));
    if (len < 0) {
        fuse_reply_err(req, pfs_errno(len));
        return;
    }
    if (len > XATTR_SIZE_MAX) {
        fuse_reply_err(req, E2BIG);
        return;
    }
    if (size == 0) {
        fuse_reply_xattr(req, (size_t)len);
        return;
    }
    if ((size_t)len > size) {
        fuse_reply_err(req, ERANGE);
        return;
    }
    if ((size_t)len <= sizeof(small)) {
        fuse_reply_buf(req, small, (size_t)len);
        return;
    }
    reply_long_value(req, ino, which, len);
}

/* Linux answers a getxattr of a user.* name on anything but a file or a directory with
 * ENODATA itself, without asking us (xattr(7)), so such an entry must not list them. */
static bool readable_on(const char *name, pk_ftype type)
{
    return type == PK_FILE || type == PK_DIR || strncmp(name, "user.", 5) != 0;
}

/* The names of the attributes this entry has, each followed by a NUL. */
void pfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    const pk_doc *doc = pfs_doc(req);
    char list[PK_XA__COUNT * (XATTR_NAME_MAX + 1)];
    size_t used = 0;
    pk_ftype type;
    char probe;
    int err, i;

    pfs_wakeup_request(req);
    if ((err = pfs_entry_type(doc, ino, &type)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    for (i = 0; i < PK_XA__COUNT; i++) {
        const char *name = pk_xattr_name((pk_xattr)i);
        size_t len = strlen(name);

        if (!readable_on(name, type))
            continue;
        if (pk_getxattr(doc, ino, (pk_xattr)i, &probe, 0) == -ENODATA)
            continue; /* listed even when it cannot be read now (EIO): it is there */
        if (len == 0 || len > XATTR_NAME_MAX) {
            fuse_reply_err(req, EIO); /* a codec bug */
            return;
        }
        memcpy(list + used, name, len + 1);
        used += len + 1;
    }
    if (size == 0) {
        fuse_reply_xattr(req, used);
        return;
    }
    if (used > size) {
        fuse_reply_err(req, ERANGE);
        return;
    }
    fuse_reply_buf(req, list, used);
}
