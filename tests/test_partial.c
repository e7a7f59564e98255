/* test_partial.c: unit tests of what a failed decode keeps (pk_open with lim.partial, with its
 * tree or with its values alone) and of the list of calls a refusal prints (pk_print_calls),
 * over hand-written pickles: the tree of what decoded before the error with the error as
 * __error__, the calls in stream order with their offsets, the "and N more" bound, and bytes
 * after the stream (pk_trailing). Nothing in these pickles is ever run: their canary calls
 * would create files under /tmp, which the mount tests look for.
 */
#include "pk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

/* What pk_dump (tree) or pk_print_calls (calls) writes for doc. */
static char *text_of(const pk_doc *doc, bool calls)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    if (calls)
        pk_print_calls(doc, f, 3);
    else
        pk_dump(doc, f);
    fclose(f);
    return buf;
}

static void expect_text(const char *name, const char *what, const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "FAIL %s: %s\n--- got\n%s--- expected\n%s", name, what, got, want);
        failures++;
    }
}

/* Open data with lim.partial: it must fail with error `line`, and keep a document whose tree
 * is `tree` and whose first three calls are `calls`. */
static void partial_case(const char *name, const char *data, size_t len, const char *line,
                         const char *tree, const char *calls)
{
    pk_limits lim;
    pk_limits_default(&lim);
    lim.partial = PK_PARTIAL_TREE;
    pk_doc *doc = (pk_doc *)1;
    pk_error err;
    char msg[512];
    if (pk_open_memory(data, len, &lim, &doc, &err) == 0) {
        fprintf(stderr, "FAIL %s: decoded\n", name);
        failures++;
        pk_close(doc);
        return;
    }
    pk_error_format(&err, msg, sizeof msg);
    expect_text(name, "error", msg, line);
    if (!doc) {
        fprintf(stderr, "FAIL %s: no document kept\n", name);
        failures++;
        return;
    }
    char *t = text_of(doc, false), *c = text_of(doc, true);
    expect_text(name, "tree", t, tree);
    expect_text(name, "calls", c, calls);
    free(t);
    free(c);
    pk_close(doc);
    /* PK_PARTIAL_CALLS: the same calls, and no tree but an empty root */
    lim.partial = PK_PARTIAL_CALLS;
    if (pk_open_memory(data, len, &lim, &doc, &err) == 0 || !doc) {
        fprintf(stderr, "FAIL %s: decoded, or no document, with PK_PARTIAL_CALLS\n", name);
        failures++;
        pk_close(doc);
        return;
    }
    t = text_of(doc, false);
    c = text_of(doc, true);
    expect_text(name, "tree with PK_PARTIAL_CALLS", t, "./\n");
    expect_text(name, "calls with PK_PARTIAL_CALLS", c, calls);
    free(t);
    free(c);
    pk_close(doc);
    /* without partial, *out is left alone and nothing is kept */
    lim.partial = 0;
    doc = NULL;
    if (pk_open_memory(data, len, &lim, &doc, &err) == 0 || doc) {
        fprintf(stderr, "FAIL %s: a document without partial\n", name);
        failures++;
    }
}

#define CANARY(n) "cposix\nsystem\nX\034\000\000\000touch /tmp/CANARY-partial-" n "\205R"
#define P(s) s, sizeof(s) - 1

int main(void)
{
    partial_case("a call, then a missing memo entry",
                 P("\200\002" CANARY("01") "}X\001\000\000\000ah\005s."),
                 "memo value not found at index 5 at byte 58 (BINGET)",
                 "0/__reduce__ = posix.system('touch /tmp/CANARY-partial-01')\\n\n"
                 "0/__args__/0 = touch /tmp/CANARY-partial-01\\n\n"
                 "1/\n"
                 "2 = a\\n\n"
                 "__error__ = memo value not found at index 5 at byte 58 (BINGET)\\n\n",
                 "  call at byte 50: posix.system('touch /tmp/CANARY-partial-01')\n");
    partial_case("a call, then STACK_GLOBAL of ints",
                 P("\200\004" CANARY("02") "K\001K\002\223."),
                 "STACK_GLOBAL requires str at byte 55 (STACK_GLOBAL)",
                 "0/__reduce__ = posix.system('touch /tmp/CANARY-partial-02')\\n\n"
                 "0/__args__/0 = touch /tmp/CANARY-partial-02\\n\n"
                 "__error__ = STACK_GLOBAL requires str at byte 55 (STACK_GLOBAL)\\n\n",
                 "  call at byte 50: posix.system('touch /tmp/CANARY-partial-02')\n");
    partial_case("five calls, then no STOP: three listed",
                 P("(" CANARY("03") CANARY("04") CANARY("05") CANARY("06") CANARY("07")),
                 "pickle ends without STOP at byte 246 (no opcode)",
                 "0/__reduce__ = posix.system('touch /tmp/CANARY-partial-03')\\n\n"
                 "0/__args__/0 = touch /tmp/CANARY-partial-03\\n\n"
                 "1/__reduce__ = posix.system('touch /tmp/CANARY-partial-04')\\n\n"
                 "1/__args__/0 = touch /tmp/CANARY-partial-04\\n\n"
                 "2/__reduce__ = posix.system('touch /tmp/CANARY-partial-05')\\n\n"
                 "2/__args__/0 = touch /tmp/CANARY-partial-05\\n\n"
                 "3/__reduce__ = posix.system('touch /tmp/CANARY-partial-06')\\n\n"
                 "3/__args__/0 = touch /tmp/CANARY-partial-06\\n\n"
                 "4/__reduce__ = posix.system('touch /tmp/CANARY-partial-07')\\n\n"
                 "4/__args__/0 = touch /tmp/CANARY-partial-07\\n\n"
                 "__error__ = pickle ends without STOP at byte 246 (no opcode)\\n\n",
                 "  call at byte 49: posix.system('touch /tmp/CANARY-partial-03')\n"
                 "  call at byte 98: posix.system('touch /tmp/CANARY-partial-04')\n"
                 "  call at byte 147: posix.system('touch /tmp/CANARY-partial-05')\n"
                 "  and 2 more calls\n");
    partial_case("a cut dict: its stack, the mark aside",
                 P("\200\002}q\000(X\001\000\000\000aK\001X\001\000\000\000b"),
                 "pickle ends without STOP at byte 20 (no opcode)",
                 "0/\n"
                 "1 = a\\n\n"
                 "2 = 1\\n\n"
                 "3 = b\\n\n"
                 "__error__ = pickle ends without STOP at byte 20 (no opcode)\\n\n", "");
    partial_case("an unhashable key: refused while decoding, nothing before it",
                 P("(]]d."), "unhashable type: 'list' at byte 3 (DICT)",
                 "0/\n"
                 "1/\n"
                 "__error__ = unhashable type: 'list' at byte 3 (DICT)\\n\n", "");
    /* bytes after the stream: no error, and where they are */
    pk_doc *doc = NULL;
    pk_error err;
    uint64_t at = 0, len = 0;
    if (pk_open_memory(P("N.\n"), NULL, &doc, &err) != 0 || !pk_trailing(doc, &at, &len) ||
        at != 2 || len != 1) {
        fprintf(stderr, "FAIL pk_trailing: at %llu, %llu bytes\n", (unsigned long long)at,
                (unsigned long long)len);
        failures++;
    }
    pk_close(doc);
    if (pk_open_memory(P("N."), NULL, &doc, &err) != 0 || pk_trailing(doc, &at, &len)) {
        fprintf(stderr, "FAIL pk_trailing of a file with none\n");
        failures++;
    }
    pk_close(doc);
    printf("%d failed\n", failures);
    return failures != 0;
}
