/* shared.c: what every request handler uses: the document of the mount, and the one place
 * where a codec result becomes the errno of a FUSE reply. */
#include <errno.h>

#include "pfs_i.h"

const pk_doc *pfs_doc(fuse_req_t req)
{
    const struct pfs *pfs = fuse_req_userdata(req);
    return pfs->doc;
}

/* The codec answers -errno (pk.h); whatever else it may give where a failure is expected (a
 * length it got wrong, a number past any errno) is a codec bug, answered EIO rather than
 * passed on. */
int pfs_errno(int64_t codec_result)
{
    return codec_result < 0 && codec_result > -4096 ? (int)-codec_result : EIO;
}

int pfs_entry_type(const pk_doc *doc, fuse_ino_t ino, pk_ftype *type)
{
    if (!pk_valid(doc, ino))
        return ENOENT;
    *type = pk_type(doc, ino);
    return 0;
}
