/* prefault.c: a second thread that has the kernel ready the pages the decoder is about to fill.
 *
 * The arrays of a big document grow into fresh memory, and the first write to each fresh page
 * stops the writer while the kernel finds, zeroes and maps a page: on a pickle of small records
 * that was about half of the time pk_open() took. With a second core, this thread asks for the
 * next pages of every array (MADV_POPULATE_WRITE) a little ahead of the writer, so the two
 * overlap. It does the same for the mapped source ahead of the decoder's reads
 * (MADV_POPULATE_READ), which would otherwise fault in a few pages at a time, and gives back
 * the source's pages the decoder has left behind (MADV_DONTNEED: they are the file's, read
 * again from it if they are read again), which keeps them out of the peak of RSS.
 *
 * The thread reads and writes no data, and it never looks at the document: the writer hands it
 * page ranges now and then (pk_prefault_hint). A range can be stale by the time it is used (the
 * array moved on a realloc); populating it is then wasted but harmless, since the call changes
 * no byte and fails on memory that is no longer mapped. Giving pages back would lose the bytes
 * of memory of our own, so it is done only on a read-only mapping of a file, which stays mapped
 * until pk_prefault_stop (pk_source_settle comes after it).
 */
#define _GNU_SOURCE /* sched_getaffinity */
#include "pk_i.h"
#include "prefault_i.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#define MADV_POPULATE_WRITE 23
#endif

/* How far ahead of the writer each array is populated: a few pages of extra memory at most. */
#define AHEAD ((uint64_t)1 << 20)
/* Only sources at least this big are worth a thread. */
#define MIN_SOURCE ((uint64_t)1 << 20)
#define MAX_WATCHED 12

typedef struct range {
    uintptr_t from, to;
    int advice;           /* MADV_POPULATE_WRITE, or _READ */
    uintptr_t base, drop; /* a source: its pages from base to drop may go back (drop 0: none) */
} range;

typedef struct watched {
    void *const *base;
    const uint64_t *len, *cap;
    size_t elem;
    int advice;
    bool give_back;
} watched;

struct pk_prefault {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, fresh; /* under lock */
    range next[MAX_WATCHED]; /* under lock: the writer's latest ranges */
    watched watch[MAX_WATCHED]; /* the writer's only, as are the two below */
    unsigned nwatch;
    range asked[MAX_WATCHED]; /* the ranges last handed over */
};

static uintptr_t page_down(uintptr_t a, uintptr_t page)
{
    return a - a % page;
}

static void *run(void *arg)
{
    pk_prefault *pf = arg;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t done[MAX_WATCHED] = {0};    /* per array: populated up to here */
    uintptr_t dropped[MAX_WATCHED] = {0}; /* per source: given back up to here */
    bool populate = true;
    for (;;) {
        range todo[MAX_WATCHED];
        pthread_mutex_lock(&pf->lock);
        while (!pf->stop && !pf->fresh)
            pthread_cond_wait(&pf->wake, &pf->lock);
        bool stop = pf->stop;
        pf->fresh = false;
        memcpy(todo, pf->next, sizeof todo);
        pthread_mutex_unlock(&pf->lock);
        if (stop)
            return NULL;
        for (unsigned i = 0; i < MAX_WATCHED; i++) {
            uintptr_t back = dropped[i] > todo[i].base ? dropped[i] : todo[i].base;
            if (todo[i].drop > back && page_down(todo[i].drop, page) > back) {
                madvise((void *)back, page_down(todo[i].drop, page) - back, MADV_DONTNEED);
                dropped[i] = page_down(todo[i].drop, page);
            }
            if (!populate)
                continue;
            uintptr_t from = page_down(todo[i].from + page - 1, page);
            uintptr_t to = page_down(todo[i].to, page);
            if (done[i] > from && done[i] <= to)
                from = done[i];
            if (from >= to)
                continue;
            if (madvise((void *)from, to - from, todo[i].advice) < 0 && errno == EINVAL)
                populate = false; /* a kernel without MADV_POPULATE_*: nothing to gain */
            done[i] = to;
        }
    }
}

/* May this process run two threads at once? */
static bool has_two_cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 2;
}

pk_prefault *pk_prefault_start(uint64_t src_len)
{
    if (src_len < MIN_SOURCE || !has_two_cpus())
        return NULL;
    pk_prefault *pf = calloc(1, sizeof *pf);
    if (!pf)
        return NULL;
    pthread_mutex_init(&pf->lock, NULL);
    pthread_cond_init(&pf->wake, NULL);
    if (pthread_create(&pf->thread, NULL, run, pf) != 0) {
        pthread_cond_destroy(&pf->wake);
        pthread_mutex_destroy(&pf->lock);
        free(pf);
        return NULL;
    }
    return pf;
}

void pk_prefault_watch(pk_prefault *pf, void *const *base, const uint64_t *len,
                       const uint64_t *cap, size_t elem)
{
    if (pf && pf->nwatch < MAX_WATCHED)
        pf->watch[pf->nwatch++] = (watched){base, len, cap, elem, MADV_POPULATE_WRITE, false};
}

bool pk_prefault_read(pk_prefault *pf, const uint8_t *const *base, const uint64_t *pos,
                      const uint64_t *len, bool give_back)
{
    if (!pf || pf->nwatch >= MAX_WATCHED)
        return false;
    pf->watch[pf->nwatch++] =
        (watched){(void *const *)base, pos, len, 1, MADV_POPULATE_READ, give_back};
    return give_back;
}

void pk_prefault_unwatch(pk_prefault *pf, void *const *base)
{
    for (unsigned i = 0; pf && i < pf->nwatch; i++)
        if (pf->watch[i].base == base)
            pf->watch[i].base = NULL;
}

/* Is range next, from where an array's writer is, worth waking the thread for, given the range
 * asked last? Yes if the array moved, or if the writer is past half of what was asked and
 * there is more to ask for. Waking it at every hint costs a system call (and a wakeup of the
 * other core) a time. */
static bool worth_asking(range asked, range next)
{
    if (next.from >= next.to)
        return false;
    if (next.from < asked.from || next.from > asked.to)
        return true;
    return next.to > asked.to && asked.to - next.from < AHEAD / 2;
}

void pk_prefault_hint(pk_prefault *pf)
{
    if (!pf)
        return;
    range next[MAX_WATCHED] = {{0, 0, 0, 0, 0}};
    bool due = false;
    for (unsigned i = 0; i < pf->nwatch; i++) {
        const watched *w = &pf->watch[i];
        uintptr_t base = w->base ? (uintptr_t)*w->base : 0;
        uint64_t used = *w->len * w->elem, size = *w->cap * w->elem;
        if (base) {
            uintptr_t drop = w->give_back && used > AHEAD ? base + used - AHEAD : 0;
            next[i] = (range){base + used, base + (size - used < AHEAD ? size : used + AHEAD),
                              w->advice, base, drop};
        }
        due = due || worth_asking(pf->asked[i], next[i]);
    }
    if (!due)
        return;
    memcpy(pf->asked, next, sizeof next);
    pthread_mutex_lock(&pf->lock);
    memcpy(pf->next, next, sizeof next);
    pf->fresh = true;
    pthread_cond_signal(&pf->wake);
    pthread_mutex_unlock(&pf->lock);
}

void pk_prefault_stop(pk_prefault *pf)
{
    if (!pf)
        return;
    pthread_mutex_lock(&pf->lock);
    pf->stop = true;
    pthread_cond_signal(&pf->wake);
    pthread_mutex_unlock(&pf->lock);
    pthread_join(pf->thread, NULL);
    pthread_cond_destroy(&pf->wake);
    pthread_mutex_destroy(&pf->lock);
    free(pf);
}
