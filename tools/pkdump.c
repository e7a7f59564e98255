/* pkdump.c: print the tree picklefs would mount, without FUSE.
 *
 *   pkdump FILE
 *
 * Decodes FILE with the same codec and limits as picklefs and writes pk_dump()'s text to
 * stdout: one line per entry (PATH/, PATH = CONTENT, PATH -> TARGET). For tests and for
 * machines without /dev/fuse. Errors and exit statuses are picklefs' own: a file that cannot
 * be decoded gives one line "pkdump: FILE: WHAT at byte OFFSET (OPCODE)" and status 1; a
 * usage error gives status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pk.h"

enum { EXIT_DECODE = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
    fputs("usage: pkdump FILE\n"
          "Print the tree picklefs would mount from the pickle FILE, one line per entry.\n"
          "Exit status: 0 done, 1 FILE cannot be decoded, 2 usage error.\n",
          out);
}

int main(int argc, char *argv[])
{
    const char *file;
    char msg[512];
    pk_limits lim;
    pk_error err;
    pk_doc *doc;
    int ret;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0')) {
        fputs("pkdump: expected one argument, FILE (try 'pkdump --help')\n", stderr);
        return EXIT_USAGE;
    }
    file = argv[1];

    pk_limits_default(&lim);
    memset(&err, 0, sizeof(err));
    if (pk_open(file, &lim, &doc, &err) != 0) {
        pk_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "pkdump: %s: %s\n", file, msg);
        return EXIT_DECODE;
    }
    ret = pk_dump(doc, stdout);
    if (fflush(stdout) != 0 && ret == 0)
        ret = -errno;
    pk_close(doc);
    if (ret < 0) {
        fprintf(stderr, "pkdump: %s: %s\n", file, strerror(-ret));
        return EXIT_DECODE;
    }
    return 0;
}
