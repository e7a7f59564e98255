/* prefill.c: small files pushed into the kernel's page cache when their directory is listed,
 * so that a `grep -r` or a `cat` of them is served by the kernel, with no READ.
 *
 * The kernel takes a store (FUSE_NOTIFY_STORE) only for an inode it knows, and it learns a
 * listed entry's inode when it parses the READDIRPLUS reply that lists it, after we answered.
 * It asks for the next part of a listing only after parsing the last, and a listing always
 * ends with an empty reply; so when a READDIRPLUS from offset off comes, every entry before
 * off is known, and its files are pushed then, before the answer: those of the last part of a
 * directory before the empty reply that ends it, which is before `grep` can open one. A table
 * of recently listed directories says which entries were pushed already.
 *
 * A store waits for the locks of the pages it fills, and a page being read stays locked until
 * a worker answers its READ: so at most max_threads - 1 listings push at once, leaving a
 * worker for the READs, and none with one thread (-s). Only files of up to PFS_PREFILL_FILE
 * bytes are pushed, and at most PFS_PREFILL_DIR bytes of page cache per directory.
 *
 * In all, pushes spend a budget: a sixteenth of the machine's memory (-o prefill_max=N), each
 * small file costing a whole page. It bounds what a walk that never reads (`du`, `ls -lR`)
 * makes the kernel cache for nothing. A walk that does read its files (`grep -r`) shows it
 * once the budget is spent: the files listed after that come as READs, and each READ of a
 * small file from its start gives PFS_PREFILL_GRANT bytes back, so the pushes go on for the
 * directories listed next, a few dozen for each file read, while what was pushed and not
 * read stays within the budget plus the grants of files that were. The budget never grows
 * past its start.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "pfs_i.h"

#define PFS_PREFILL_FILE (16 * 1024)  /* the largest file pushed */
#define PFS_PREFILL_DIR (1024 * 1024) /* page cache filled per directory, at most */
#define PFS_PAGE 4096                 /* what a pushed file costs is counted in pages */
#define PFS_PREFILL_GRANT (256 * 1024) /* budget given back by each small file READ */

void pfs_prefill_init(struct pfs *pfs, struct fuse_session *se,
                      const struct fuse_cmdline_opts *opts, const struct pfs_cmdline *cl)
{
    struct pfs_prefill *pf = &pfs->prefill;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

    memset(pf->slot, 0, sizeof(pf->slot));
    pf->se = se;
    pf->max_pushers = 0;
    if (cl->prefill_max_set)
        pf->budget = cl->prefill_max;
    else
        pf->budget = pages > 0 && psize > 0 ? (uint64_t)pages * (uint64_t)psize / 16 : 0;
    atomic_init(&pf->pushers, 0);
    atomic_init(&pf->refused, 0);
    atomic_init(&pf->left, pf->budget);
    pf->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER; /* needs no destroying */
    if (!cl->no_prefill && !opts->singlethread && opts->max_threads > 1)
        pf->max_pushers = opts->max_threads - 1;
}

void pfs_prefill_file_read(struct pfs *pfs, uint64_t size)
{
    struct pfs_prefill *pf = &pfs->prefill;
    uint_fast64_t left = atomic_load(&pf->left), want;

    if (size == 0 || size > PFS_PREFILL_FILE)
        return;
    do {
        if (pf->max_pushers == 0 || left >= pf->budget)
            return;
        want = pf->budget - left < PFS_PREFILL_GRANT ? pf->budget : left + PFS_PREFILL_GRANT;
    } while (!atomic_compare_exchange_weak(&pf->left, &left, want));
}

/* Take n bytes from the mount's budget; false when fewer are left (nothing is taken). */
static bool take_budget(struct pfs_prefill *pf, uint64_t n)
{
    uint_fast64_t left = atomic_load(&pf->left);

    do {
        if (left < n)
            return false;
    } while (!atomic_compare_exchange_weak(&pf->left, &left, left - n));
    return true;
}

/* Push file ino of size bytes (0 < size <= PFS_PREFILL_FILE) from buf's room. Returns false
 * when no more should be tried: the kernel refused stores for good. */
static bool push_file(struct pfs_prefill *pf, const pk_doc *doc, fuse_ino_t ino,
                      uint64_t size, char *buf)
{
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
    uint64_t pos;
    ssize_t n;
    int fd, ret;

    if (pk_file_span(doc, ino, &fd, &pos) == 0 && pos <= INT64_MAX - size) {
        bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
        bv.buf[0].fd = fd;
        bv.buf[0].pos = (off_t)pos;
        bv.buf[0].size = (size_t)size;
    } else {
        n = pk_read(doc, ino, buf, (size_t)size, 0);
        if (n <= 0 || (uint64_t)n > size)
            return true; /* a read will say what is wrong */
        bv.buf[0].mem = buf;
        bv.buf[0].size = (size_t)n;
    }
    ret = fuse_lowlevel_notify_store(pf->se, ino, 0, &bv, 0);
    /* ENOENT: the kernel forgot the inode already, or never had it (a seekdir) */
    if (ret != 0 && ret != -ENOENT) {
        atomic_store(&pf->refused, 1);
        return false;
    }
    return true;
}

/* The table's slot for dir: a Fibonacci hash of its number, whose top 8 bits pick one. */
_Static_assert(PFS_PREFILL_SLOTS == 256, "the hash gives 8 bits");
static struct pfs_prefill_slot *slot_of(struct pfs_prefill *pf, fuse_ino_t dir)
{
    return &pf->slot[((uint64_t)dir * UINT64_C(0x9E3779B97F4A7C15)) >> 56];
}

/* Which children of dir to push now: [*lo, hi), hi being the first not yet listed; window
 * bounds the entries the last reply can have held, for a directory not in the table. Claims
 * them there, and returns the bytes already filled for dir. */
static uint64_t claim(struct pfs_prefill *pf, fuse_ino_t dir, uint64_t hi, uint64_t window,
                      uint64_t *lo)
{
    struct pfs_prefill_slot *s = slot_of(pf, dir);
    uint64_t bytes = 0;

    pthread_mutex_lock(&pf->lock);
    if (s->dir == dir) {
        /* on from where the last part stopped; nothing when listed again from further back */
        *lo = s->upto < hi ? s->upto : hi;
        bytes = s->bytes;
    } else {
        *lo = hi > window ? hi - window : 0;
        s->dir = dir;
        s->upto = 0;
        s->bytes = 0;
    }
    if (s->upto < hi)
        s->upto = hi;
    pthread_mutex_unlock(&pf->lock);
    return bytes;
}

static void account(struct pfs_prefill *pf, fuse_ino_t dir, uint64_t bytes)
{
    struct pfs_prefill_slot *s = slot_of(pf, dir);

    pthread_mutex_lock(&pf->lock);
    if (s->dir == dir && s->bytes < bytes)
        s->bytes = bytes;
    pthread_mutex_unlock(&pf->lock);
}

/* Push the small files among children [lo, hi) of dir; returns the bytes of page cache
 * filled for dir after them, starting from bytes. */
static uint64_t push_range(struct pfs_prefill *pf, const pk_doc *doc, fuse_ino_t dir,
                           uint64_t lo, uint64_t hi, uint64_t bytes)
{
    char buf[PFS_PREFILL_FILE];
    uint64_t i;

    for (i = lo; i < hi; i++) {
        pk_ino child = pk_child(doc, dir, i);
        pk_attr attr;
        uint64_t cost;

        if (child == 0 || pk_type(doc, child) != PK_FILE || pk_stat(doc, child, &attr) != 0 ||
            attr.size == 0 || attr.size > PFS_PREFILL_FILE)
            continue;
        cost = (attr.size + PFS_PAGE - 1) / PFS_PAGE * PFS_PAGE;
        if (bytes + cost > PFS_PREFILL_DIR || !take_budget(pf, cost))
            break;
        bytes += cost;
        if (!push_file(pf, doc, child, attr.size, buf))
            break;
    }
    return bytes;
}

void pfs_prefill_listed(struct pfs *pfs, fuse_ino_t dir, off_t off, size_t size)
{
    struct pfs_prefill *pf = &pfs->prefill;
    const pk_doc *doc = pfs->doc;
    uint64_t hi, lo, n, window, bytes;
    /* the smallest entry a reply can hold, to bound how many the last one held */
    const size_t least = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + 1);

    if (pf->max_pushers == 0 || off <= 2 || atomic_load(&pf->refused))
        return;
    if (atomic_fetch_add(&pf->pushers, 1) >= pf->max_pushers)
        goto out;
    /* children before off - 2 are listed ("." and ".." come first) */
    n = pk_nchildren(doc, dir);
    hi = (uint64_t)off - 2 < n ? (uint64_t)off - 2 : n;
    window = (size > 4096 ? size : 4096) / least + 1;
    bytes = claim(pf, dir, hi, window, &lo);
    if (lo < hi && bytes < PFS_PREFILL_DIR)
        account(pf, dir, push_range(pf, doc, dir, lo, hi, bytes));
out:
    atomic_fetch_sub(&pf->pushers, 1);
}
