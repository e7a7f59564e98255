/* pkdump.c: print the tree picklefs would mount, without FUSE, in a form made for grep.
 *
 *   pkdump [--full | --audit] [-o max_depth=N,max_nodes=N,...] FILE
 *
 * Decodes FILE with the same codec and limits as picklefs and writes pk_dump()'s text to
 * stdout: one line per leaf, each with its whole path (PATH = CONTENT, PATH -> TARGET, PATH/
 * for an empty directory), so that `pkdump FILE | grep needle` names where every match is.
 * For searching trees too large to walk through a mount, for tests and for machines without
 * /dev/fuse. --full shows what is otherwise cut or left out (bytes values past 1024 bytes, and
 * arrays' NAME.raw entries). -o takes picklefs' limit options (pk_limits_set in pk.h) and
 * -o partial. Errors and exit statuses are picklefs' own: a file that cannot be decoded gives
 * one line "pkdump: FILE: WHAT at byte OFFSET (OPCODE)", then the calls decoded before the
 * error, and status 1 (with -o partial, what decoded is printed all the same, with the error as
 * __error__, and the status is 0); a usage error gives status 2.
 * --audit prints pk_audit()'s listing instead, every global and call in stream order, and exits
 * 4 when any of them is opaque (EXIT_OPAQUE), as picklefs --audit does.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pk.h"

enum { EXIT_DECODE = 1, EXIT_USAGE = 2, EXIT_OPAQUE = 4 };
enum { CALLS_SHOWN = 20 }; /* calls listed after a refusal, before "and N more calls" */

static void usage(FILE *out)
{
    fputs("usage: pkdump [--full | --audit] [-o opt[,opt...]] FILE\n"
          "Print the tree picklefs would mount from the pickle FILE, one line per leaf:\n"
          "PATH = CONTENT, PATH -> TARGET, or PATH/ for an empty directory.\n"
          "    --full    bytes values whole (not cut at 1024 bytes), and arrays' NAME.raw\n"
          "    --audit   print every global and call of FILE in stream order instead, each\n"
          "              'lifted' (read as data) or 'opaque', and exit 4 when any is opaque\n"
          "Exit status: 0 done, 1 FILE cannot be decoded, 2 usage error, 4 opaque (--audit).\n"
          "Options (the limits picklefs takes, with the same defaults):\n",
          out);
    fputs(pk_limits_help, out);
}

int main(int argc, char *argv[])
{
    const char *file;
    char msg[512];
    pk_limits lim;
    pk_error err;
    pk_doc *doc;
    unsigned flags = 0;
    int ret;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    pk_limits_default(&lim);
    int i = 1;
    bool audit = false;
    for (; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--full") == 0) {
            flags |= PK_DUMP_FULL;
            continue;
        }
        if (strcmp(argv[i], "--audit") == 0) {
            audit = true;
            continue;
        }
        if (strcmp(argv[i], "-o") != 0)
            break;
        /* -o a=1,b=2: each comma-separated option must be a limit */
        char opts[1024];
        snprintf(opts, sizeof opts, "%s", argv[++i]);
        for (char *save = NULL, *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
            int set = pk_limits_set(&lim, o, msg, sizeof msg);
            if (set != 1) {
                /* msg is filled only when a limit's value was refused (-1) */
                fprintf(stderr, "pkdump: %s (try 'pkdump --help')\n",
                        set < 0 ? msg : "unknown option");
                return EXIT_USAGE;
            }
        }
    }
    if (i != argc - 1 || (argv[i][0] == '-' && argv[i][1] != '\0')) {
        fputs("pkdump: expected one argument, FILE (try 'pkdump --help')\n", stderr);
        return EXIT_USAGE;
    }
    file = argv[i];

    memset(&err, 0, sizeof(err));
    pk_limits keep = lim;
    if (!keep.partial) /* the calls before an error are listed, even when nothing is shown */
        keep.partial = PK_PARTIAL_CALLS;
    uint64_t at, len;
    if (pk_open(file, &keep, &doc, &err) != 0) {
        pk_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "pkdump: %s: %s\n", file, msg);
        pk_print_calls(doc, stderr, CALLS_SHOWN);
        if (!lim.partial || !doc) {
            pk_close(doc);
            return EXIT_DECODE;
        }
        fprintf(stderr, "pkdump: %s: warning: partial: showing what decoded before the "
                "error, and the error as __error__\n", file);
    } else if (pk_trailing(doc, &at, &len)) {
        fprintf(stderr, "pkdump: %s: warning: %llu byte%s at byte %llu, after the last pickle, "
                    "%s no pickle: shown as __trailing__\n", file, (unsigned long long)len,
                    len == 1 ? "" : "s", (unsigned long long)at, len == 1 ? "is" : "are");
    }
    int64_t opaque = 0;
    if (audit) {
        opaque = pk_audit(doc, stdout);
        ret = opaque < 0 ? (int)opaque : 0;
    } else {
        ret = pk_dump_with(doc, stdout, flags);
    }
    if (fflush(stdout) != 0 && ret == 0)
        ret = -errno;
    pk_close(doc);
    if (ret < 0) {
        fprintf(stderr, "pkdump: %s: %s\n", file, strerror(-ret));
        return EXIT_DECODE;
    }
    return opaque > 0 ? EXIT_OPAQUE : 0;
}
