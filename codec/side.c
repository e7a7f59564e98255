/* side.c: the files that a joblib dump before 0.10 keeps beside its pickle. joblib.dump(obj,
 * "model.pkl") wrote each numpy array to model.pkl_01.npy, model.pkl_02.npy, ... (np.save), or,
 * compressed, to model.pkl_01.npy.z, ... (the array's raw bytes in joblib's zlib "ZF" file),
 * and pickled a wrapper naming the file in the array's place. array_joblib.c lifts the
 * wrappers; this file finds, checks and reads their files.
 *
 * A side file is looked up by base name only, in the directory of FILE: a name that is empty,
 * ".", "..", or holds '/', '\\' or NUL is never opened, and a symbolic link is never followed
 * (O_NOFOLLOW), wherever it points. A side file is opened again for each read and checked to be
 * the same file, unchanged (device, inode, size, mtime), as the one decoded: a side file
 * rewritten, replaced or removed under the mount gives EIO, as FILE itself does. No descriptor
 * stays open, so a dump of thousands of arrays needs no more than one at a time.
 */
#include "ckpt_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

bool pk_side_name_ok(const char *name, uint64_t len)
{
    if (len == 0 || len >= PK_SIDE_NAME_MAX || (len == 1 && name[0] == '.') ||
        (len == 2 && name[0] == '.' && name[1] == '.'))
        return false;
    for (uint64_t i = 0; i < len; i++)
        if (name[i] == '/' || name[i] == '\\' || name[i] == 0)
            return false;
    return true;
}

void pk_side_dir_open(pk_doc *doc, const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return;
    doc->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Open a side file for reading: a regular file, not through a symbolic link, never blocking
 * (a FIFO of that name). The descriptor, or -1 with why filled. */
static int open_side(const pk_doc *doc, const char *name, struct stat *st, char *why,
                     size_t size)
{
    if (doc->dir_fd < 0) {
        snprintf(why, size, "the pickle's directory cannot be opened");
        return -1;
    }
    int fd = openat(doc->dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(why, size, "it is a symbolic link, which is not followed");
        else
            snprintf(why, size, "cannot open it: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
        snprintf(why, size, "it is not a regular file");
        close(fd);
        return -1;
    }
    return fd;
}

int pk_side_map(pk_doc *doc, const char *name, pk_side_view *v, char *why, size_t size)
{
    memset(v, 0, sizeof *v);
    pk_ckpt *k = pk_ckpt_get(doc);
    if (!k || !pk_grow((void **)&k->sides, &k->cap_sides, k->nsides + 1, sizeof *k->sides)) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    struct stat st;
    int fd = open_side(doc, name, &st, why, size);
    if (fd < 0)
        return -1;
    if (st.st_size == 0) {
        close(fd);
        snprintf(why, size, "it is empty");
        return -1;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(why, size, "cannot map it: %s", strerror(errno));
        return -1;
    }
    pk_side *s = &k->sides[k->nsides];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->size = st.st_size;
    s->mtime = st.st_mtim;
    v->idx = k->nsides++;
    v->p = map;
    v->len = (uint64_t)st.st_size;
    return 0;
}

void pk_side_unmap(pk_side_view *v)
{
    if (v->p)
        munmap((void *)(uintptr_t)v->p, (size_t)v->len);
    v->p = NULL;
}

ssize_t pk_side_pread(const pk_doc *doc, uint64_t idx, void *buf, uint64_t len, uint64_t pos)
{
    const pk_side *s = doc->ckpt && idx < doc->ckpt->nsides ? &doc->ckpt->sides[idx] : NULL;
    char why[128];
    struct stat now;
    if (!s)
        return -EIO;
    int fd = open_side(doc, s->name, &now, why, sizeof why);
    if (fd < 0)
        return -EIO;
    ssize_t r = (ssize_t)len;
    if (now.st_dev != s->dev || now.st_ino != s->ino || now.st_size != s->size ||
        now.st_mtim.tv_sec != s->mtime.tv_sec || now.st_mtim.tv_nsec != s->mtime.tv_nsec)
        r = -EIO; /* not the file that was decoded */
    for (uint64_t done = 0; r >= 0 && done < len;) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(pos + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r = -EIO;
        else
            done += (uint64_t)n;
    }
    close(fd);
    return r;
}

/* joblib's zlib files ("ZF"): "ZF", the byte count of what is compressed in hex as Python's
 * '{:#x}' writes it, padded with spaces to 19 characters (joblib up to 0.8.4 under Python 2
 * wrote one space more), then one zlib stream of exactly that many bytes. */
#define ZF_LEN 19

int pk_zfile_inflate(const uint8_t *p, uint64_t len, uint64_t limit, uint8_t **out,
                     uint64_t *outlen, pk_error *err)
{
    *out = NULL;
    *outlen = 0;
    if (len < 2 + ZF_LEN + 1 || p[0] != 'Z' || p[1] != 'F' || p[2] != '0' || p[3] != 'x') {
        pk_set_error(err, PK_E_CONTAINER, 0, -1, "no joblib zlib file (\"ZF\" header)");
        return -1;
    }
    uint64_t want = 0, i = 4;
    for (; i < 2 + ZF_LEN && p[i] != ' ' && p[i] != 'L'; i++) {
        int d = p[i] >= '0' && p[i] <= '9' ? p[i] - '0'
                : p[i] >= 'a' && p[i] <= 'f' ? p[i] - 'a' + 10 : -1;
        if (d < 0 || want >> 60) {
            pk_set_error(err, PK_E_CONTAINER, i, -1, "bad length in a joblib zlib header");
            return -1;
        }
        want = want << 4 | (uint64_t)d;
    }
    if (i == 4) {
        pk_set_error(err, PK_E_CONTAINER, i, -1, "bad length in a joblib zlib header");
        return -1;
    }
    uint64_t start = 2 + ZF_LEN;
    if (p[start] == ' ')
        start++;
    if (want > limit) {
        pk_set_error(err, PK_E_DECOMPRESS_LIMIT, 2, -1, "");
        snprintf(err->what, sizeof err->what, "decompressed size past the limit of %llu bytes",
                 (unsigned long long)limit);
        return -1;
    }
    if (pk_inflate(PK_Z_ZLIB, p + start, len - start, want, out, outlen, err) < 0) {
        err->offset += start;
        if (err->code == PK_E_DECOMPRESS_LIMIT) {
            err->code = PK_E_CONTAINER;
            snprintf(err->what, sizeof err->what,
                     "inflates to more than the %llu bytes its header says",
                     (unsigned long long)want);
        }
        return -1;
    }
    if (*outlen != want) {
        pk_set_error(err, PK_E_CONTAINER, start, -1, "");
        snprintf(err->what, sizeof err->what, "inflates to %llu bytes, its header says %llu",
                 (unsigned long long)*outlen, (unsigned long long)want);
        free(*out);
        *out = NULL;
        *outlen = 0;
        return -1;
    }
    return 0;
}
