/* logcap.c: hold back libfuse's messages while picklefs starts.
 *
 * fuse_session_new() and fuse_session_mount() explain their failures through fuse_log(),
 * sometimes in several pieces ("fuse: unknown option(s): `" ... "'\n"). picklefs promises
 * one line per failure, prefixed with its own name and naming FILE or MOUNTPOINT, so during
 * those calls the messages are collected here and main.c words the line. Only the starting
 * thread logs at that point; capturing stops before the session loop starts its workers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pfs_i.h"

static char held[1024];
static size_t held_len;

static void hold(enum fuse_log_level level, const char *fmt, va_list ap)
{
    size_t room = sizeof(held) - held_len; /* >= 1: held stays NUL-terminated */
    int n;

    (void)level;
    n = vsnprintf(held + held_len, room, fmt, ap);
    if (n > 0)
        held_len += (size_t)n < room ? (size_t)n : room - 1; /* vsnprintf truncated it */
}

void pfs_log_capture(void)
{
    held_len = 0;
    held[0] = '\0';
    fuse_set_log_func(hold);
}

const char *pfs_log_release(void)
{
    char *line = held;
    static const char prefix[] = "fuse: ";

    fuse_set_log_func(NULL); /* back to libfuse's own: stderr */
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, prefix, sizeof(prefix) - 1) == 0)
        line += sizeof(prefix) - 1;
    return line;
}
