/* listing.c: lean listings, for a walk that never looks at a file.
 *
 * The kernel builds an inode and a dentry (some 12 us and 1.1 KB) for every entry a
 * READDIRPLUS reply gives attributes to, where its own squashfs builds one only for a
 * directory a walk enters. A `find` only lists, so while no file is looked up, files are
 * listed by name, number and type alone (an entry with node 0: the kernel lists it and links
 * nothing) and only directories carry attributes, which spares a LOOKUP of each directory
 * entered. A mount starts with full listings, and goes lean after PFS_FULL_LISTINGS
 * directories listed with no file looked up.
 *
 * A LOOKUP or GETATTR of a file means a walker that wants them (grep -r, du, ls -l): the next
 * PFS_FULL_LISTINGS directories list every entry with attributes again (prefill needs them).
 * One that comes while listings are lean was a wrong guess (a find -exec cat, which lists
 * ahead of its reads): each doubles that span, up to PFS_FULL_LISTINGS_MAX.
 * The kernel keeps every listing (cache_readdir), so the listings made lean would cost the
 * next walk a LOOKUP per file for good: they are dropped then (FUSE_NOTIFY_INVAL_INODE of
 * each directory), and listed again, in full, when next read. Their numbers are kept in an
 * array of at most PFS_LEAN_DIRS; when it is full, listings stay full until it is drained.
 * Not when the file is wanted by the process that made the lean listings, or by its child
 * (find -exec cat {} +): that walker read ahead and now looks up what it listed, by name, so
 * a drop would only cost its next walk a listing of each directory again. They are dropped
 * when another process wants a file.
 * `-o full_listing` lists every entry with its attributes always.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pfs_i.h"

void pfs_listing_init(struct pfs_listing *ls, struct fuse_session *se, int always_full)
{
    ls->se = se;
    ls->always_full = always_full;
    atomic_init(&ls->started, 0);
    atomic_init(&ls->full_span, PFS_FULL_LISTINGS);
    atomic_init(&ls->full_until, PFS_FULL_LISTINGS);
    atomic_init(&ls->lister, 0);
    atomic_init(&ls->lister_child, 0);
    ls->lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER; /* needs no destroying */
    ls->lean = NULL;
    ls->nlean = ls->cap = 0;
}

void pfs_listing_free(struct pfs_listing *ls)
{
    free(ls->lean);
    ls->lean = NULL;
    ls->nlean = ls->cap = 0;
}

/* Note dir as listed lean; false when it cannot be (no room): then it is listed in full. */
static bool remember(struct pfs_listing *ls, fuse_ino_t dir)
{
    bool ok = true;

    pthread_mutex_lock(&ls->lock);
    if (ls->nlean > 0 && ls->lean[ls->nlean - 1] == dir) {
        /* the next part of the listing last noted, which is dropped with it */
    } else if (ls->nlean == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 4096;
        fuse_ino_t *grown = cap <= PFS_LEAN_DIRS ? realloc(ls->lean, cap * sizeof(*grown)) : NULL;

        if (grown == NULL)
            ok = false;
        else
            ls->lean = grown, ls->cap = cap;
        if (ok)
            ls->lean[ls->nlean++] = dir;
    } else {
        ls->lean[ls->nlean++] = dir;
    }
    pthread_mutex_unlock(&ls->lock);
    return ok;
}

bool pfs_listing_lean(struct pfs_listing *ls, fuse_ino_t dir, off_t off, pid_t asker)
{
    uint_fast64_t n;

    if (ls->always_full)
        return false;
    n = off == 0 ? atomic_fetch_add_explicit(&ls->started, 1, memory_order_relaxed) + 1
                 : atomic_load_explicit(&ls->started, memory_order_relaxed);
    if (n <= atomic_load_explicit(&ls->full_until, memory_order_relaxed))
        return false;
    if (atomic_exchange_explicit(&ls->lister, asker, memory_order_relaxed) != asker)
        atomic_store_explicit(&ls->lister_child, 0, memory_order_relaxed);
    return remember(ls, dir);
}

/* The parent of process pid, from /proc/PID/stat ("PID (NAME) STATE PPID ..."), or 0. */
static pid_t parent_of(pid_t pid)
{
    char path[64], line[256];
    const char *after_name;
    ssize_t n;
    char state;
    int ppid, fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    line[n] = '\0';
    after_name = strrchr(line, ')'); /* the name may hold spaces and parentheses */
    if (after_name == NULL || sscanf(after_name + 1, " %c %d", &state, &ppid) != 2)
        return 0;
    return (pid_t)ppid;
}

/* Whether asker made the lean listings, or is a child of the process that did: one /proc
 * read for each new asker, while there are lean listings to drop. */
static bool asked_by_lister(struct pfs_listing *ls, pid_t asker)
{
    pid_t lister = atomic_load_explicit(&ls->lister, memory_order_relaxed);

    if (asker <= 0 || lister <= 0)
        return false;
    if (asker == lister || asker == atomic_load_explicit(&ls->lister_child, memory_order_relaxed))
        return true;
    if (parent_of(asker) != lister)
        return false;
    atomic_store_explicit(&ls->lister_child, asker, memory_order_relaxed);
    return true;
}

void pfs_listing_file_used(struct pfs_listing *ls, pid_t asker)
{
    uint_fast64_t started = atomic_load_explicit(&ls->started, memory_order_relaxed);
    uint_fast64_t span = atomic_load_explicit(&ls->full_span, memory_order_relaxed);
    fuse_ino_t *dirs;
    size_t i, n;

    if (ls->always_full)
        return;
    /* lean now, and a file wanted all the same: a walker that lists and then reads (find
     * -exec cat), which lean listings slow down; so each such miss doubles the next span */
    if (started > atomic_load_explicit(&ls->full_until, memory_order_relaxed) &&
        span < PFS_FULL_LISTINGS_MAX) {
        span *= 2;
        atomic_store_explicit(&ls->full_span, span, memory_order_relaxed);
    }
    /* only ever raised: the largest of concurrent updates is as good as any */
    if (atomic_load_explicit(&ls->full_until, memory_order_relaxed) < started + span)
        atomic_store_explicit(&ls->full_until, started + span, memory_order_relaxed);
    pthread_mutex_lock(&ls->lock);
    n = ls->nlean;
    pthread_mutex_unlock(&ls->lock);
    if (n == 0 || asked_by_lister(ls, asker))
        return;
    pthread_mutex_lock(&ls->lock);
    dirs = ls->lean;
    n = ls->nlean;
    ls->lean = NULL;
    ls->nlean = ls->cap = 0;
    pthread_mutex_unlock(&ls->lock);
    /* ENOENT: the kernel forgot that directory already, and its listing with it */
    for (i = 0; i < n; i++)
        (void)fuse_lowlevel_notify_inval_inode(ls->se, dirs[i], 0, 0);
    free(dirs);
}
