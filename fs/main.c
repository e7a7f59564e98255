/* main.c: picklefs' entry point: decode FILE, then mount it and serve it until unmounted.
 *
 * The order is the contract (docs/CONTRACT.md): the command line is checked, then
 * MOUNTPOINT (cheap), then FILE is decoded completely; only a file that decoded is mounted.
 * Each failure before the mount is one line on stderr and its own exit status, and leaves
 * nothing behind. Without -f, the command returns only once the mount is live, as fuse_main()
 * and squashfuse do, but it forks before decoding rather than after (see background_start).
 * Everything acquired is released by the goto ladder at the end, in reverse order.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pfs_i.h"

/* Decode FILE, found at path, completely. On failure print the one line the user sees, then
 * the calls decoded before the error; with -o partial the document of what decoded is kept all
 * the same (its root shows the error as __error__). Bytes after the stream are a warning. */
static int decode(const char *file, const char *path, const pk_limits *lim, pk_doc **doc)
{
    char msg[512];
    pk_error err;
    pk_limits keep = *lim;
    uint64_t at, len;

    if (!keep.partial) /* the calls before an error are listed, even when nothing is shown */
        keep.partial = PK_PARTIAL_CALLS;
    memset(&err, 0, sizeof(err));
    if (pk_open(path, &keep, doc, &err) == 0) {
        if (pk_trailing(*doc, &at, &len))
            fprintf(stderr, "picklefs: %s: warning: %llu byte%s at byte %llu, after the last "
                    "pickle, %s no pickle: shown as __trailing__\n", file, (unsigned long long)len,
                    len == 1 ? "" : "s", (unsigned long long)at, len == 1 ? "is" : "are");
        return 0;
    }
    pk_error_format(&err, msg, sizeof(msg));
    fprintf(stderr, "picklefs: %s: %s\n", file, msg);
    pk_print_calls(*doc, stderr, PFS_CALLS_SHOWN);
    if (lim->partial && *doc) {
        fprintf(stderr, "picklefs: %s: warning: partial: showing what decoded before the "
                "error, and the error as __error__\n", file);
        return 0;
    }
    pk_close(*doc);
    *doc = NULL;
    return -1;
}

/* picklefs --dump FILE: the tree as text on stdout, as tools/pkdump does; --audit FILE: the
 * audit listing, and PFS_EXIT_OPAQUE when anything in it is opaque. */
static int dump(const char *file, const pk_limits *lim, bool audit)
{
    int status = PFS_EXIT_OK;
    pk_doc *doc;
    int64_t opaque = 0;
    int ret;

    if (decode(file, file, lim, &doc) != 0)
        return PFS_EXIT_DECODE;
    if (audit) {
        opaque = pk_audit(doc, stdout);
        ret = opaque < 0 ? (int)opaque : 0;
        if (opaque > 0)
            status = PFS_EXIT_OPAQUE;
    } else {
        ret = pk_dump(doc, stdout);
    }
    if (fflush(stdout) != 0 && ret == 0)
        ret = -errno;
    if (ret < 0) {
        fprintf(stderr, "picklefs: %s: %s\n", file, strerror(-ret));
        status = PFS_EXIT_DECODE;
    }
    pk_close(doc);
    return status;
}

/* Say clearly why MOUNTPOINT will not do, before libfuse gets to say it vaguely. A non-root
 * user also needs write access, as fusermount3 requires. */
static int check_mountpoint(const char *mnt)
{
    struct stat st;
    int e = 0;

    if (stat(mnt, &st) != 0)
        e = errno;
    else if (!S_ISDIR(st.st_mode))
        e = ENOTDIR;
    else if (getuid() != 0 && access(mnt, W_OK) != 0)
        e = errno;
    if (e == 0)
        return 0;
    fprintf(stderr, "picklefs: %s: %s\n", mnt, strerror(e));
    return -1;
}

/* -o fsname=FILE,subtype=picklefs in front of the user's options, which may override them;
 * -o ro after them, which nothing overrides. */
static int add_mount_options(struct fuse_args *args, const char *fsname)
{
    char *opts = NULL;
    char *fsopt;
    int ret = -1;

    fsopt = malloc(strlen("fsname=") + strlen(fsname) + 1);
    if (fsopt == NULL)
        return -1;
    strcpy(fsopt, "fsname=");
    strcat(fsopt, fsname);
    if (fuse_opt_add_opt_escaped(&opts, fsopt) == 0 &&
        fuse_opt_add_opt(&opts, "subtype=picklefs") == 0 &&
        fuse_opt_insert_arg(args, 1, "-o") == 0 && fuse_opt_insert_arg(args, 2, opts) == 0 &&
        fuse_opt_add_arg(args, "-o") == 0 && fuse_opt_add_arg(args, "ro") == 0)
        ret = 0;
    free(opts);
    free(fsopt);
    return ret;
}

/* Without -f: fork before decoding, and return in the child, which decodes, mounts and serves.
 * The parent waits for the child's exit status on a pipe and exits with it, so the command
 * still returns once the mount is live, or with the failure's status after the child has
 * printed its line on the same stderr. Forking after decoding, as fuse_daemonize() does,
 * copied the page tables of the whole index and then tore them down in the exiting parent:
 * 70 ms of a 1 GB index. Returns the pipe's write end, or -1 when the fork failed. Until it
 * reports, the child dies with the parent, so that stopping the command stops the decoding. */
static int background_start(void)
{
    int fds[2];
    pid_t parent = getpid();
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid > 0) {
        unsigned char status = PFS_EXIT_DECODE;
        ssize_t n;
        int ws;
        close(fds[1]);
        do
            n = read(fds[0], &status, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1) /* the child died without a word: its own status says how */
            status = waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) ? (unsigned char)WEXITSTATUS(ws)
                                                                  : PFS_EXIT_DECODE;
        _exit(status);
    }
    close(fds[0]);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(PFS_EXIT_DECODE); /* the parent is gone already: nobody waits for the mount */
    return fds[1];
}

/* Tell the waiting parent how it went (once; report is then -1). On success the child first
 * leaves the parent's session and terminal, as a daemon does: until then a Ctrl-C during a
 * long decode stops both. */
static void background_report(int *report, int status)
{
    unsigned char b = (unsigned char)status;
    int null;
    if (*report < 0)
        return;
    if (status == PFS_EXIT_OK) {
        (void)prctl(PR_SET_PDEATHSIG, 0); /* the parent is about to exit, as it should */
        (void)setsid();
        null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            (void)dup2(null, STDIN_FILENO);
            (void)dup2(null, STDOUT_FILENO);
            (void)dup2(null, STDERR_FILENO);
            if (null > STDERR_FILENO)
                close(null);
        }
    }
    while (write(*report, &b, 1) < 0 && errno == EINTR)
        ;
    close(*report);
    *report = -1;
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *opts)
{
    struct fuse_loop_config *cfg;
    int ret;

    if (opts->singlethread)
        return fuse_session_loop(se);
    cfg = fuse_loop_cfg_create();
    if (cfg == NULL)
        return -ENOMEM;
    fuse_loop_cfg_set_clone_fd(cfg, (unsigned int)opts->clone_fd);
    /* UINT_MAX means "not given"; libfuse 3.14 complains when it is passed on. */
    if (opts->max_idle_threads != UINT_MAX)
        fuse_loop_cfg_set_idle_threads(cfg, opts->max_idle_threads);
    fuse_loop_cfg_set_max_threads(cfg, opts->max_threads);
    ret = fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    return ret;
}

int main(int argc, char *argv[])
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_session *se = NULL;
    struct pfs pfs = { .doc = NULL };
    struct pfs_cmdline cl;
    char *file_path = NULL;
    char *mnt_path = NULL;
    const char *msg;
    int status = PFS_EXIT_USAGE;
    int report = -1; /* without -f: the pipe to the waiting parent (background_start) */
    int ret;

    if (pfs_cmdline_parse(&args, &cl) != 0)
        goto out_args;
    status = PFS_EXIT_OK;
    if (cl.show_help) {
        pfs_print_help();
        goto out_args;
    }
    if (cl.show_version) {
        pfs_print_version();
        goto out_args;
    }
    if (cl.dump || cl.audit) {
        status = dump(cl.file, &cl.lim, cl.audit);
        goto out_args;
    }

    /* fuse_daemonize() moves to "/" even with -f, and the codec may go back to FILE to read
     * stored spans, so both paths are made absolute now. The messages keep the user's. */
    status = PFS_EXIT_USAGE;
    file_path = realpath(cl.file, NULL);
    if (add_mount_options(&args, file_path ? file_path : cl.file) != 0) {
        fprintf(stderr, "picklefs: %s\n", strerror(ENOMEM));
        goto out_args;
    }
    pfs_log_capture();
    se = fuse_session_new(&args, &pfs_ops, sizeof(pfs_ops), &pfs);
    msg = pfs_log_release();
    if (se == NULL) {
        pfs_usage_error("%s", *msg ? msg : "bad FUSE options");
        goto out_args;
    }
    pfs_prefill_init(&pfs, se, &cl.fuse, &cl);
    pfs_listing_init(&pfs.listing, se, cl.full_listing);

    status = PFS_EXIT_MOUNT;
    if (check_mountpoint(cl.mountpoint) != 0)
        goto out_session;
    mnt_path = realpath(cl.mountpoint, NULL);
    if (mnt_path == NULL) {
        fprintf(stderr, "picklefs: %s: %s\n", cl.mountpoint, strerror(errno));
        goto out_session;
    }

    if (!cl.fuse.foreground && (report = background_start()) < 0) {
        fprintf(stderr, "picklefs: %s: cannot go to the background\n", cl.mountpoint);
        goto out_session;
    }

    status = PFS_EXIT_DECODE;
    if (decode(cl.file, file_path ? file_path : cl.file, &cl.lim, &pfs.doc) != 0)
        goto out_session;

    /* Installed before the mount: a signal from here on ends the loop, which unmounts. */
    if (fuse_set_signal_handlers(se) != 0) {
        fprintf(stderr, "picklefs: cannot install signal handlers\n");
        goto out_doc;
    }

    status = PFS_EXIT_MOUNT;
    pfs_log_capture();
    ret = fuse_session_mount(se, mnt_path);
    msg = pfs_log_release();
    if (ret != 0) {
        fprintf(stderr, "picklefs: %s: %s\n", cl.mountpoint, *msg ? msg : "mount failed");
        goto out_signals;
    }
    if (chdir("/") != 0) { /* as fuse_daemonize() did: a daemon keeps no directory busy */
        fprintf(stderr, "picklefs: /: %s\n", strerror(errno));
        goto out_unmount;
    }
    background_report(&report, PFS_EXIT_OK);

    /* 0 when unmounted, the signal number when stopped by one: both are a clean end. */
    pfs_wakeup_start(&pfs.wakeup, !cl.no_fast_wakeup);
    ret = serve(se, &cl.fuse);
    pfs_wakeup_stop(&pfs.wakeup);
    status = PFS_EXIT_OK;
    if (ret < 0) {
        fprintf(stderr, "picklefs: %s: %s\n", cl.mountpoint, strerror(-ret));
        status = PFS_EXIT_DECODE;
    }

out_unmount:
    fuse_session_unmount(se);
out_signals:
    fuse_remove_signal_handlers(se);
out_doc:
    pk_close(pfs.doc);
out_session:
    fuse_session_destroy(se);
    pfs_listing_free(&pfs.listing);
out_args:
    background_report(&report, status);
    free(mnt_path);
    free(file_path);
    pfs_cmdline_free(&cl);
    fuse_opt_free_args(&args);
    return status;
}
