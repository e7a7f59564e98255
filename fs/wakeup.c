/* wakeup.c: while requests keep coming, ask the kernel to wake idle CPUs at once.
 *
 * Every request costs two wakeups: the kernel wakes a worker for it, and the worker's answer
 * wakes the process that asked. A CPU that went idle in the meantime has halted, and must be
 * started again first; on a virtual machine that is a trip to the host, and a cold walk, which
 * waits on one request after another, spends most of its time there.
 *
 * The kernel lets a process limit how slow to leave an idle state may be (a CPU latency
 * request: write a number of microseconds to /dev/cpu_dma_latency and keep it open). With 0,
 * an idle CPU polls for work instead of halting, and a wakeup is a flag it sees at once. That
 * costs power, so the request is held only while requests come: the first request after a
 * quiet spell makes it, and a thread of its own gives it back once PFS_WAKEUP_QUIET_MS passed
 * with no request. The kernel drops it when the process ends, however it ends. Only root may
 * open the device; for anyone else, and with -o no_fast_wakeup, nothing here runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pfs_i.h"

#define PFS_WAKEUP_DEVICE "/dev/cpu_dma_latency"
#define PFS_WAKEUP_QUIET_MS 25
#define PFS_WAKEUP_NOW 0       /* microseconds: poll, never halt */
#define PFS_WAKEUP_DEFAULT (-1) /* what the kernel takes as "no limit of mine" */

static void set_limit(int fd, int32_t us)
{
    /* A failed write leaves the limit as it was: at worst a walk halts as it did before. */
    while (write(fd, &us, sizeof(us)) < 0 && errno == EINTR)
        ;
}

/* Until stopped: sleep while no limit is held; while one is, give it back once a whole quiet
 * period passed with no request. */
static void *release_when_quiet(void *arg)
{
    struct pfs_wakeup *w = arg;
    struct timespec until;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        if (!atomic_load(&w->held)) {
            pthread_cond_wait(&w->cond, &w->lock);
            continue;
        }
        atomic_store(&w->busy, 0);
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += PFS_WAKEUP_QUIET_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &until) != ETIMEDOUT)
            ;
        if (!w->stop && !atomic_load(&w->busy)) {
            set_limit(w->fd, PFS_WAKEUP_DEFAULT);
            atomic_store(&w->held, 0);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

void pfs_wakeup_start(struct pfs_wakeup *w, bool enabled)
{
    pthread_condattr_t ca;
    sigset_t all, old;
    int err;

    memset(w, 0, sizeof(*w));
    w->fd = -1;
    if (!enabled)
        return;
    w->fd = open(PFS_WAKEUP_DEVICE, O_WRONLY | O_CLOEXEC); /* places no limit yet */
    if (w->fd < 0)
        return;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    /* The thread blocks every signal, as libfuse's workers do, so that a SIGTERM reaches the
     * thread that ends the loop. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    err = pthread_create(&w->thread, NULL, release_when_quiet, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        pthread_cond_destroy(&w->cond);
        pthread_mutex_destroy(&w->lock);
        close(w->fd);
        w->fd = -1;
    }
}

void pfs_wakeup_request(fuse_req_t req)
{
    struct pfs_wakeup *w = &((struct pfs *)fuse_req_userdata(req))->wakeup;

    if (w->fd < 0)
        return;
    /* written once a quiet period, not by every request: workers on other CPUs share it */
    if (!atomic_load_explicit(&w->busy, memory_order_relaxed))
        atomic_store_explicit(&w->busy, 1, memory_order_relaxed);
    if (atomic_load_explicit(&w->held, memory_order_relaxed))
        return;
    pthread_mutex_lock(&w->lock);
    if (!atomic_load(&w->held)) {
        set_limit(w->fd, PFS_WAKEUP_NOW);
        atomic_store(&w->held, 1);
        pthread_cond_signal(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
}

void pfs_wakeup_stop(struct pfs_wakeup *w)
{
    if (w->fd < 0)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    close(w->fd); /* gives back any limit still held */
    w->fd = -1;
}
