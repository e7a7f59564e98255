/* pfs_i.h: what the files of the FUSE driver share, and nothing else.
 *
 * The driver is a thin layer between the kernel and an already decoded pk_doc: main.c parses
 * the command line (cmdline.c), decodes FILE, mounts and runs the loop; ops.c holds the table
 * of requests, whose read-only handlers are in attr.c (lookup, getattr, access), dir.c
 * (listings), file.c (open, read, readlink) and xattr.c; erofs.c refuses every modifying one;
 * logcap.c turns libfuse's start-up messages into picklefs' one-line errors. Each thing that makes
 * a walk faster has a file of its own: prefill.c, listing.c and wakeup.c. Nothing here
 * parses pickle bytes: all of that is behind ../codec/pk.h.
 */
#ifndef PFS_I_H
#define PFS_I_H

/* The 3.12 API: fuse_loop_cfg_create() and the opaque struct fuse_loop_config. */
#define FUSE_USE_VERSION FUSE_MAKE_VERSION(3, 12)

#include <float.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pk.h"

/* Exit statuses, documented in --help and the man page. */
enum {
    PFS_EXIT_OK = 0,
    PFS_EXIT_DECODE = 1, /* FILE cannot be decoded, or serving it failed */
    PFS_EXIT_USAGE = 2,  /* bad command line */
    PFS_EXIT_MOUNT = 3,  /* MOUNTPOINT cannot be mounted on */
    PFS_EXIT_OPAQUE = 4, /* --audit: an opaque global or call */
};

/* Small files pushed into the kernel's page cache when their directory is listed
 * (prefill.c). Set up by pfs_prefill_init() before the loop starts; the counters and the
 * table change while it runs, the counters atomically, the table under lock. */
#define PFS_PREFILL_SLOTS 256
struct pfs_prefill {
    struct fuse_session *se;
    unsigned max_pushers;      /* listings that may push at once; 0 turns prefill off */
    atomic_uint pushers;       /* listings pushing now */
    uint64_t budget;           /* bytes of page cache pushes may fill before files are read */
    atomic_uint_fast64_t left; /* of those, still to fill: spent by pushes, given back by READs */
    atomic_int refused;        /* the kernel cannot take a store: never try again */
    pthread_mutex_t lock;
    /* where each recently listed directory's pushes got to, by a hash of its number */
    struct pfs_prefill_slot {
        fuse_ino_t dir;
        uint64_t upto;  /* children before this one were pushed (or passed over) */
        uint64_t bytes; /* of page cache filled for this directory */
    } slot[PFS_PREFILL_SLOTS];
};

/* Lean listings (listing.c): while nothing looks up or stats a listed file (a `find`),
 * READDIRPLUS gives attributes to directories only. A LOOKUP or GETATTR of a file turns
 * attributes back on for the next PFS_FULL_LISTINGS directories listed (twice as many after each
 * file looked up while lean, up to PFS_FULL_LISTINGS_MAX), and drops the kernel's
 * cached listings of the directories listed lean, up to PFS_LEAN_DIRS of them (past that
 * every listing is full until they are dropped). */
#define PFS_FULL_LISTINGS 256
#define PFS_FULL_LISTINGS_MAX (1u << 30)
#define PFS_LEAN_DIRS (4u << 20)
struct pfs_listing {
    struct fuse_session *se;
    int always_full;                 /* -o full_listing: every entry with its attributes */
    atomic_uint_fast64_t started;    /* listings started (READDIRPLUS from offset 0) */
    atomic_uint_fast64_t full_until; /* files get attributes while started < full_until */
    atomic_uint_fast64_t full_span;  /* listings in full after a file looked up */
    atomic_int lister;               /* the process that asked for the last lean listing */
    atomic_int lister_child;         /* a child of it found asking for a file, or 0 */
    pthread_mutex_t lock;            /* over the array below */
    fuse_ino_t *lean;                /* the directories listed lean since the last drop */
    size_t nlean, cap;
};

/* Fast wakeups while requests come (wakeup.c): a CPU latency request of 0 microseconds,
 * made by the first request after a quiet spell, given back by a thread after a quiet one. */
struct pfs_wakeup {
    int fd;              /* /dev/cpu_dma_latency, or -1: off */
    atomic_int busy;     /* a request came since the thread last looked */
    atomic_int held;     /* the limit is set */
    int stop;            /* under lock: the thread ends */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* wakes the thread when a limit is set, or to stop */
    pthread_t thread;
};

/* The calls listed after a refusal, before "and N more calls". */
#define PFS_CALLS_SHOWN 20

/* The session's userdata. doc is set after decoding, before the mount, and is read-only from
 * then on: request handlers run on several threads and take no locks. */
struct pfs {
    pk_doc *doc;
    /* Set by init when the kernel can do without OPEN and OPENDIR (Linux 5.1, 6.1): open and
     * opendir then answer ENOSYS once, and the kernel never asks again, keeping every file's
     * pages and every directory's listing cached, as our ops would have asked it to. */
    int no_open, no_opendir;
    struct pfs_prefill prefill;
    struct pfs_listing listing;
    struct pfs_wakeup wakeup;
};

/* ---- cmdline.c ---- */

struct pfs_cmdline {
    char *file;       /* first non-option argument */
    char *mountpoint; /* second non-option argument */
    char *extra;      /* a third one, which is a usage error */
    int show_help;    /* -h, --help */
    int show_version; /* -V, --version */
    int dump;         /* --dump */
    int no_prefill;   /* -o no_prefill */
    int prefill_max_set;  /* -o prefill_max=N given */
    uint64_t prefill_max; /* its N, in bytes */
    int full_listing; /* -o full_listing */
    int no_fast_wakeup; /* -o no_fast_wakeup */
    int audit;        /* --audit */
    pk_limits lim;    /* the defaults, changed by -o max_depth=N, ... (pk_limits_set) */
    char limit_msg[200]; /* why a limit option was refused */
    struct fuse_cmdline_opts fuse; /* -f, -d, -s, -o clone_fd, ... */
};

/* Take picklefs' own options, FILE and MOUNTPOINT out of args, then the FUSE command-line
 * options (-f, -d, -s, ...) into cl->fuse; what is left in args (-o mount options, and
 * anything unknown) is for fuse_session_new(). Returns 0, or -1 after printing the one-line
 * usage error. With --help or --version set, nothing else is checked. */
int pfs_cmdline_parse(struct fuse_args *args, struct pfs_cmdline *cl);
void pfs_cmdline_free(struct pfs_cmdline *cl);
void pfs_print_help(void);
void pfs_print_version(void);
/* Print "picklefs: WHAT (try 'picklefs --help')" to stderr. */
void pfs_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- logcap.c ---- */

/* Between these two calls libfuse's log messages are kept instead of printed. */
void pfs_log_capture(void);
/* Stop keeping them. Returns the first line kept, without its "fuse: " prefix and newline,
 * or "" when libfuse said nothing; valid until the next pfs_log_capture(). */
const char *pfs_log_release(void);

/* ---- ops.c: the table, and what every handler shares ---- */

extern const struct fuse_lowlevel_ops pfs_ops;

/* Seconds the kernel may cache names, attributes and negative lookups: forever, as the tree
 * never changes. libfuse clamps the value to what the protocol can carry. */
#define PFS_TIMEOUT DBL_MAX
#define PFS_BLKSIZE 4096

/* The document the session serves. */
const pk_doc *pfs_doc(fuse_req_t req);
/* The errno to reply with for a codec call that failed: the only place where what the codec
 * returns (a -errno, pk.h) becomes an errno for the kernel. Anything that is no plausible
 * -errno (a length the codec got wrong, a number it should not have given) is EIO. */
int pfs_errno(int64_t codec_result);
/* Set *type to the type of entry ino and return 0, or return ENOENT when ino is no entry:
 * for the requests that refuse a type with their own errno (ENOTDIR, EISDIR). */
int pfs_entry_type(const pk_doc *doc, fuse_ino_t ino, pk_ftype *type);

/* ---- attr.c ---- */

mode_t pfs_mode_of(pk_ftype type);
/* The st_ino (and readdir d_ino) of node ino: a bijection of the node number. */
ino_t pfs_inode_number(fuse_ino_t ino);
/* Fill *st with entry ino's attributes. Returns 0, or the errno to answer (ENOENT for no
 * entry; EIO for a size the codec cannot know: a rendering whose data changed in FILE). *st
 * is filled even then: READDIRPLUS lists such an entry by its number and type alone. */
int pfs_fill_attr(const pk_doc *doc, fuse_ino_t ino, struct stat *st);
/* The same for a reply that names an entry; ino 0 makes a negative entry: the kernel
 * remembers for PFS_TIMEOUT that the name is not there. */
int pfs_fill_entry(const pk_doc *doc, fuse_ino_t ino, struct fuse_entry_param *e);
void pfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void pfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_access(fuse_req_t req, fuse_ino_t ino, int mask);

/* ---- dir.c ---- */

void pfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info *fi);
void pfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi);
void pfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* ---- listing.c ---- */

void pfs_listing_init(struct pfs_listing *ls, struct fuse_session *se, int always_full);
void pfs_listing_free(struct pfs_listing *ls);
/* Whether the READDIRPLUS reply of directory dir from off lists files without attributes. */
bool pfs_listing_lean(struct pfs_listing *ls, fuse_ino_t dir, off_t off, pid_t asker);
/* A file (anything but a directory) was looked up or stat'ed by process asker, and answered:
 * list files with attributes again, and have the kernel forget the listings it holds without
 * them, unless asker made them or is a child of the process that did. */
void pfs_listing_file_used(struct pfs_listing *ls, pid_t asker);

/* ---- prefill.c ---- */

/* Ready pfs->prefill for session se, to serve with opts; off with -o no_prefill, or with one
 * thread (-s); its budget cl's -o prefill_max, or a sixteenth of the memory. */
void pfs_prefill_init(struct pfs *pfs, struct fuse_session *se,
                      const struct fuse_cmdline_opts *opts, const struct pfs_cmdline *cl);
/* A READ from offset 0 found a file of size bytes: if it is one the prefill pushes, a walk
 * reads what it lists, and the budget gets some room back. */
void pfs_prefill_file_read(struct pfs *pfs, uint64_t size);
/* A READDIRPLUS of dir from stream offset off, with a reply of at most size bytes, is about to
 * be answered: push the small files of the entries listed before off into the page cache. */
void pfs_prefill_listed(struct pfs *pfs, fuse_ino_t dir, off_t off, size_t size);

/* ---- wakeup.c ---- */

/* Open the device and start the thread, when enabled and allowed (root); otherwise every
 * call below does nothing. Called in the process that serves, before the loop. */
void pfs_wakeup_start(struct pfs_wakeup *w, bool enabled);
/* A request that answers from the tree came (lookup, getattr, access, a listing, read,
 * readlink, an xattr): hold the limit until quiet. Each of those handlers calls it first. */
void pfs_wakeup_request(fuse_req_t req);
/* After the loop: end the thread and give the limit back. */
void pfs_wakeup_stop(struct pfs_wakeup *w);

/* ---- file.c ---- */

void pfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
              struct fuse_file_info *fi);
void pfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void pfs_readlink(fuse_req_t req, fuse_ino_t ino);

/* ---- xattr.c ---- */

void pfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void pfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/* ---- erofs.c ---- */

void pfs_erofs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi);
void pfs_erofs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                     dev_t rdev);
void pfs_erofs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void pfs_erofs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void pfs_erofs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void pfs_erofs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);
void pfs_erofs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags);
void pfs_erofs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);
void pfs_erofs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi);
void pfs_erofs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi);
void pfs_erofs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags);
void pfs_erofs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
void pfs_erofs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi);
void pfs_erofs_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
                               struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
                               struct fuse_file_info *fi_out, size_t len, int flags);

#endif
