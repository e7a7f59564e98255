/* cmdline.c: picklefs' command line, its --help and --version.
 *
 *   picklefs [-f] [-d] [-s] [-o opt[,opt...]] FILE MOUNTPOINT
 *   picklefs [-o max_...=N] --dump FILE
 *   picklefs [-o max_...=N] --audit FILE
 *   picklefs --help | --version
 *
 * Two passes over argv, as sshfs does it: fuse_opt_parse() with picklefs' own table takes
 * --help, --version, --dump, --audit and the two non-option arguments, and hands every other
 * option on, except the decoder's limits (-o max_depth=N, ...: pk_limits_set), -o no_prefill
 * and -o full_listing, which it takes too;
 * fuse_parse_cmdline() then takes the FUSE command-line options (-f, -d, -s, ...). The other
 * mount options (-o ...) stay in args for fuse_session_new(), which refuses unknown ones.
 * Every usage error is one line on stderr and exit status 2.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pfs_i.h"

#ifndef PFS_VERSION
#define PFS_VERSION "unknown"
#endif

#define PFS_OPT(templ, field) { templ, offsetof(struct pfs_cmdline, field), 1 }

enum { PFS_KEY_LIMIT = 1, PFS_KEY_PREFILL_MAX };

static const struct fuse_opt pfs_opt_table[] = {
    PFS_OPT("-h", show_help),
    PFS_OPT("--help", show_help),
    PFS_OPT("-V", show_version),
    PFS_OPT("--version", show_version),
    PFS_OPT("--dump", dump),
    PFS_OPT("no_prefill", no_prefill),
    PFS_OPT("full_listing", full_listing),
    PFS_OPT("no_fast_wakeup", no_fast_wakeup),
    PFS_OPT("--audit", audit),
    FUSE_OPT_KEY("prefill_max=", PFS_KEY_PREFILL_MAX),
    FUSE_OPT_KEY("max_depth=", PFS_KEY_LIMIT),
    FUSE_OPT_KEY("max_nodes=", PFS_KEY_LIMIT),
    FUSE_OPT_KEY("max_memo=", PFS_KEY_LIMIT),
    FUSE_OPT_KEY("max_decompressed=", PFS_KEY_LIMIT),
    FUSE_OPT_KEY("max_int_digits=", PFS_KEY_LIMIT),
    FUSE_OPT_KEY("max_memory=", PFS_KEY_LIMIT),
    FUSE_OPT_KEY("partial", PFS_KEY_LIMIT),
    FUSE_OPT_END,
};

/* -o prefill_max=N: bytes, decimal digits only, with an optional k, M or G (of 1024). */
static int set_prefill_max(struct pfs_cmdline *cl, const char *arg)
{
    const char *v = arg + strlen("prefill_max=");
    uint64_t n = 0, unit = 1;
    const char *p;

    for (p = v; *p >= '0' && *p <= '9'; p++) {
        if (n > (UINT64_MAX - 9) / 10)
            break;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (*p != '\0' && p[1] == '\0')
        unit = *p == 'k' ? 1u << 10 : *p == 'M' ? 1u << 20 : *p == 'G' ? 1u << 30 : 0;
    if (p == v || unit == 0 || (*p != '\0' && p[1] != '\0') || n > UINT64_MAX / 8 / unit) {
        snprintf(cl->limit_msg, sizeof(cl->limit_msg),
                 "-o prefill_max takes a number of bytes (k, M or G may follow), not '%s'", v);
        return -1;
    }
    cl->prefill_max = n * unit;
    cl->prefill_max_set = 1;
    return 0;
}

/* Called by fuse_opt_parse() for everything the table does not match. */
static int take_nonopt(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct pfs_cmdline *cl = data;
    char **slot;

    (void)outargs;
    if (key == PFS_KEY_LIMIT) /* taken out of args: 0 when set, -1 with limit_msg */
        return pk_limits_set(&cl->lim, arg, cl->limit_msg, sizeof(cl->limit_msg)) == 1 ? 0 : -1;
    if (key == PFS_KEY_PREFILL_MAX)
        return set_prefill_max(cl, arg);
    if (key != FUSE_OPT_KEY_NONOPT)
        return 1; /* an option: keep it for fuse_parse_cmdline() and fuse_session_new() */
    if (cl->file == NULL)
        slot = &cl->file;
    else if (cl->mountpoint == NULL)
        slot = &cl->mountpoint;
    else if (cl->extra == NULL)
        slot = &cl->extra;
    else
        return 0; /* the first extra one is enough to complain about */
    *slot = strdup(arg);
    return *slot == NULL ? -1 : 0;
}

void pfs_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("picklefs: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (try 'picklefs --help')\n", stderr);
}

/* Run one of libfuse's parsers with its messages held back, so that a failure is reported
 * as one picklefs line. */
static int parse_quietly(struct fuse_args *args, struct pfs_cmdline *cl, bool fuse_pass)
{
    const char *msg;
    int ret;

    pfs_log_capture();
    if (fuse_pass)
        ret = fuse_parse_cmdline(args, &cl->fuse);
    else
        ret = fuse_opt_parse(args, cl, pfs_opt_table, take_nonopt);
    msg = pfs_log_release();
    if (ret != 0)
        pfs_usage_error("%s", cl->limit_msg[0] ? cl->limit_msg
                              : *msg ? msg : "cannot parse the command line");
    return ret != 0 ? -1 : 0;
}

int pfs_cmdline_parse(struct fuse_args *args, struct pfs_cmdline *cl)
{
    memset(cl, 0, sizeof(*cl));
    pk_limits_default(&cl->lim);
    if (parse_quietly(args, cl, false) != 0)
        return -1;
    if (cl->show_help || cl->show_version)
        return 0;
    if (cl->dump || cl->audit) {
        const char *mode = cl->audit ? "--audit" : "--dump";
        if (cl->dump && cl->audit)
            pfs_usage_error("--dump and --audit cannot be given together");
        else if (cl->file == NULL)
            pfs_usage_error("%s needs FILE", mode);
        else if (cl->mountpoint != NULL)
            pfs_usage_error("unexpected argument '%s' after %s FILE", cl->mountpoint, mode);
        else if (args->argc > 1)
            pfs_usage_error("%s takes no FUSE option, got '%s'", mode, args->argv[1]);
        else
            return 0;
        return -1;
    }
    if (cl->file == NULL) {
        pfs_usage_error("missing FILE and MOUNTPOINT");
        return -1;
    }
    if (cl->mountpoint == NULL) {
        pfs_usage_error("missing MOUNTPOINT");
        return -1;
    }
    if (cl->extra != NULL) {
        pfs_usage_error("unexpected argument '%s'", cl->extra);
        return -1;
    }
    return parse_quietly(args, cl, true);
}

void pfs_cmdline_free(struct pfs_cmdline *cl)
{
    free(cl->file);
    free(cl->mountpoint);
    free(cl->extra);
    free(cl->fuse.mountpoint); /* always NULL: MOUNTPOINT was taken first; freed anyway */
    memset(cl, 0, sizeof(*cl));
}

void pfs_print_help(void)
{
    printf("usage: picklefs [options] FILE MOUNTPOINT\n"
           "       picklefs --dump FILE\n"
           "       picklefs --audit FILE\n"
           "       picklefs --help | --version\n"
           "\n"
           "Mount the Python pickle FILE, read-only, on the directory MOUNTPOINT.\n"
           "FILE is decoded completely before the mount is made; nothing in it is ever\n"
           "imported, called or evaluated. Unmount with: fusermount3 -u MOUNTPOINT\n"
           "Without -f, picklefs returns once the mount is live.\n"
           "\n"
           "picklefs options:\n"
           "    --dump                 print the tree of FILE as text, one line per\n"
           "                           leaf (PATH = VALUE), without mounting anything\n"
           "    --audit                print every global and call of FILE in stream order,\n"
           "                           each 'lifted' (read as data) or 'opaque', one a\n"
           "                           line: OFFSET global|call|build|persid TEXT VERDICT\n"
           "    -o no_prefill          do not push the small files of a directory into\n"
           "                           the page cache when it is listed\n"
           "    -o prefill_max=N       push at most N bytes (k, M, G) that no file read\n"
           "                           has paid back (default: a sixteenth of the memory)\n"
           "    -o full_listing        list every file with its attributes, even while\n"
           "                           no file is looked up (a find)\n"
           "    -o no_fast_wakeup      let idle CPUs halt while requests come (as root,\n"
           "                           picklefs asks that they poll instead, until quiet)\n"
           "\n"
           "Limits on what FILE may make picklefs do (a file past one is refused),\n"
           "and -o partial:\n"
           "%s"
           "\n"
           "Exit status:\n"
           "    0   mounted (with -f: served until unmounted), or --help, --version, --dump,\n"
           "        --audit with nothing opaque\n"
           "    1   FILE cannot be decoded; one line on stderr:\n"
           "        picklefs: FILE: WHAT at byte OFFSET (OPCODE)\n"
           "        then the calls decoded before the error, one a line\n"
           "    2   usage error: a missing argument or an unknown option\n"
           "    3   MOUNTPOINT cannot be mounted on (missing, not a directory, not permitted)\n"
           "    4   --audit: FILE holds an opaque global or call\n"
           "\n"
           "FUSE options:\n", pk_limits_help);
    fflush(stdout);
    fuse_cmdline_help();
    fuse_lowlevel_help();
}

void pfs_print_version(void)
{
    printf("picklefs %s\n", PFS_VERSION);
    printf("FUSE library version %s\n", fuse_pkgversion());
    fflush(stdout); /* fuse_lowlevel_version() also runs fusermount3 --version */
    fuse_lowlevel_version();
}
