/* dir.c: directory listings: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR.
 *
 * A listing needs no state: a directory's stream is ".", "..", then its children in the
 * codec's order, and the offset after entry i is i + 1, so a listing resumes anywhere. The
 * tree never changes, so the kernel may cache listings for good (cache_readdir, keep_cache).
 * While no file is looked up, READDIRPLUS gives attributes to directories only (listing.c).
 */
#include <errno.h>
#include <linux/limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pfs_i.h"

/* 0 when ino is a directory, else the errno to answer. */
static int check_dir(const pk_doc *doc, fuse_ino_t ino)
{
    pk_ftype type;
    int err = pfs_entry_type(doc, ino, &type);

    return err != 0 ? err : type != PK_DIR ? ENOTDIR : 0;
}

void pfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    int err;

    if ((err = check_dir(pfs_doc(req), ino)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    if (((const struct pfs *)fuse_req_userdata(req))->no_opendir) {
        fuse_reply_err(req, ENOSYS); /* from now on the kernel caches listings */
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

    s = pk_name(doc, child, buf, &len); /* NULL for a number that is no entry */
    if (s == NULL || len == 0 || len > NAME_MAX || memchr(s, '/', len) != NULL ||
        memchr(s, '\0', len) != NULL)
        return EIO;
    memcpy(name, s, len);
    name[len] = '\0';
    return 0;
}

/* How add_entry writes an entry: READDIR's, READDIRPLUS's, or READDIRPLUS's with attributes
 * for directories only. */
enum listing_kind { LIST_PLAIN, LIST_PLUS, LIST_PLUS_LEAN };

/* Add stream entry i of directory ino (child of pk_child i - 2, or "." or "..") to the
 * size bytes at buf. Returns the bytes it needs, which when more than size were not written
 * (fuse_add_direntry's rule), or 0 with *err set. */
static size_t add_entry(fuse_req_t req, fuse_ino_t ino, uint64_t i, char *buf, size_t size,
                        enum listing_kind kind, int *err)
{
    const pk_doc *doc = pfs_doc(req);
    char name[NAME_MAX + 1];
    struct fuse_entry_param e;
    pk_ino child;

    if (i == 0) {
        child = ino;
        strcpy(name, ".");
    } else if (i == 1) {
        child = pk_parent(doc, ino);
        strcpy(name, "..");
    } else {
        child = pk_child(doc, ino, i - 2);
        if ((*err = child_name(doc, child, name)) != 0)
            return 0;
    }
    if (kind == LIST_PLUS || (kind == LIST_PLUS_LEAN && pk_type(doc, child) == PK_DIR)) {
        if (pfs_fill_entry(doc, child, &e) != 0) {
            /* listed without attributes: the kernel looks it up, and gets the error */
            e.ino = 0;
            e.attr_timeout = e.entry_timeout = 0;
        }
        return fuse_add_direntry_plus(req, buf, size, name, &e, (off_t)(i + 1));
    }
    /* readdir uses only the inode number and the type bits; so does a lean entry, whose
     * node 0 tells the kernel to link nothing */
    memset(&e, 0, sizeof(e));
    e.attr.st_ino = pfs_inode_number(child);
    e.attr.st_mode = pfs_mode_of(pk_type(doc, child));
    if (kind == LIST_PLUS_LEAN)
        return fuse_add_direntry_plus(req, buf, size, name, &e, (off_t)(i + 1));
    return fuse_add_direntry(req, buf, size, name, &e.attr, (off_t)(i + 1));
}

/* Each call fills at most size bytes: the first entry that does not fit ends the reply. */
static void list_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     enum listing_kind kind)
{
    const pk_doc *doc = pfs_doc(req);
    char *buf;
    uint64_t count, i;
    size_t used = 0;
    int err;

    if ((err = check_dir(doc, ino)) != 0) {
        fuse_reply_err(req, err);
        return;
    }
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    if ((buf = malloc(size ? size : 1)) == NULL) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    count = 2 + pk_nchildren(doc, ino);
    for (i = (uint64_t)off; i < count; i++) {
        size_t need = add_entry(req, ino, i, buf + used, size - used, kind, &err);

        if (err != 0) {
            free(buf);
            fuse_reply_err(req, err);
            return;
        }
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

void pfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
    (void)fi;
    pfs_wakeup_request(req);
    list_dir(req, ino, size, off, LIST_PLAIN);
}

void pfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    struct pfs *pfs = fuse_req_userdata(req);
    bool listable = check_dir(pfs->doc, ino) == 0 && off >= 0; /* else list_dir refuses */
    bool lean = listable && pfs_listing_lean(&pfs->listing, ino, off, fuse_req_ctx(req)->pid);

    (void)fi;
    pfs_wakeup_request(req);
    /* before the answer: the listing goes on, or returns to its caller, once they are in.
     * Not while lean: the kernel knows none of the files listed, and would take no store. */
    if (listable && !lean)
        pfs_prefill_listed(pfs, ino, off, size);
    list_dir(req, ino, size, off, lean ? LIST_PLUS_LEAN : LIST_PLUS);
}

void pfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino, (void)fi;
    fuse_reply_err(req, 0);
}
