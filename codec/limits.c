/* limits.c: the limits as options, "max_depth=N" and its kin, so that every program over the
 * codec (picklefs -o, pkdump -o) takes the same names, units and error messages. The defaults
 * themselves are set by pk_limits_default() (pk_open.c).
 */
#include "pk.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT_OPTION(field) { #field, offsetof(pk_limits, field) }

static const struct {
    const char *name;
    size_t offset; /* of its uint64_t in pk_limits */
} limit_options[] = {
    LIMIT_OPTION(max_depth), LIMIT_OPTION(max_nodes), LIMIT_OPTION(max_memo),
    LIMIT_OPTION(max_decompressed), LIMIT_OPTION(max_int_digits), LIMIT_OPTION(max_memory),
};

const char pk_limits_help[] =
    "    -o max_depth=N         nesting depth of the tree (default 100000)\n"
    "    -o max_nodes=N         values decoded, scalars included (default 200000000)\n"
    "    -o max_memo=N          highest memo index a PUT may use (default 100000000)\n"
    "    -o max_decompressed=S  bytes a compressed file may inflate to (default 8G)\n"
    "    -o max_int_digits=N    longer ints are shown in hexadecimal (default 100000)\n"
    "    -o max_memory=S        bytes of decoded values and entries held (default 16G)\n"
    "                           (N and S may end in k, M, G or T: powers of 1024)\n"
    "    -o partial             a file that cannot be decoded is still shown: what\n"
    "                           decoded before the error, and the error as __error__\n";

/* "123", "64M", "8G": a positive count, or false. */
static bool parse_count(const char *s, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return false;
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end != 0 || v == 0 || v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

int pk_limits_set(pk_limits *lim, const char *opt, char *msg, size_t msgsize)
{
    if (strcmp(opt, "partial") == 0) {
        lim->partial = PK_PARTIAL_TREE;
        return 1;
    }
    const char *eq = strchr(opt, '=');
    size_t nlen = eq ? (size_t)(eq - opt) : strlen(opt);
    for (size_t i = 0; i < sizeof limit_options / sizeof limit_options[0]; i++) {
        const char *name = limit_options[i].name;
        if (strlen(name) != nlen || strncmp(opt, name, nlen) != 0)
            continue;
        uint64_t v;
        if (!eq || !parse_count(eq + 1, &v)) {
            snprintf(msg, msgsize, "option %.*s needs a positive number (like %s=1000 or "
                     "%s=64M), got '%s'", (int)nlen, opt, name, name, eq ? eq + 1 : "");
            return -1;
        }
        memcpy((char *)lim + limit_options[i].offset, &v, sizeof v);
        return 1;
    }
    return 0;
}
