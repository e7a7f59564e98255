/* fuzz_decode.c: the pickle decoder on raw bytes (pk_open_memory: format recognition, the
 * pickle machine, lifting, the tree layout), the error it reports when it refuses, and the
 * audit listing of what it decoded (one line per item, offsets in order, as many opaque lines
 * as pk_audit counts), and that each opaque call it lists is a directory of the tree, at the
 * same offset (nothing hidden: the mount shows every call the audit names); then, for a
 * refused input, what lim.partial keeps of it: the same error,
 * a tree with __error__ at its root, and the calls a refusal lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_i.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The user.pickle.offset of every directory of the tree (objects are directories), sorted, in
 * *n; NULL when the tree is too big to list here. */
static uint64_t *dir_offsets(const pk_doc *doc, uint64_t *n)
{
    uint64_t count = 0, max = 1000000;
    pk_ino *all = fuzz_entries(doc, max, &count);
    if (!all || count == max) {
        free(all);
        return NULL;
    }
    uint64_t *offs = malloc((count + 1) * sizeof *offs);
    FUZZ_CHECK(offs != NULL);
    *n = 0;
    for (uint64_t i = 0; i < count; i++) {
        char buf[32];
        if (pk_type(doc, all[i]) != PK_DIR)
            continue;
        ssize_t len = pk_getxattr(doc, all[i], PK_XA_OFFSET, buf, sizeof buf - 1);
        FUZZ_CHECK(len > 0 && (size_t)len < sizeof buf);
        buf[len] = 0;
        offs[(*n)++] = strtoull(buf, NULL, 10);
    }
    free(all);
    qsort(offs, *n, sizeof *offs, cmp_u64);
    return offs;
}

/* The mount-side half of "nothing hidden": an opaque call the audit lists at OFFSET (the last
 * part of OUTER/INNER in a nested pickle, whose entries count in its bytes too) is the offset
 * of a directory of the tree, where it is shown, or of one in __calls__, or a call inside a
 * persistent id, written out in its file. Lifted calls aside
 * (their value shows, not the call; a partial standing for a call is shown as that call), and
 * those after the stream's end, in bytes shown as __trailing__ that a failed attempt at one
 * more pickle decoded. */
static void check_call_shown(const uint64_t *offs, uint64_t n, const char *line,
                             const char *end, uint64_t trailing_at, bool nested,
                             const char *persids)
{
    if (strncmp(end - 7, " opaque", 7) != 0)
        return;
    const char *sp = strchr(line, ' ');
    if (!sp || strncmp(sp, " call ", 6) != 0)
        return;
    /* a functools.partial standing for a call, and the getattr(cls, '__new__') in it, are
     * shown as the call they make (docs/CONTRACT.md, "Lifted reconstructors") */
    if (strncmp(sp + 6, "functools.partial(", 18) == 0 ||
        strncmp(sp + 6, "builtins.getattr(", 17) == 0)
        return;
    const char *last = sp;
    while (last > line && last[-1] != '/' && last[-1] != ':') /* INNER, or N of MEMBER:N */
        last--;
    uint64_t off = strtoull(last, NULL, 10);
    if (!nested && off >= trailing_at)
        return;
    if (bsearch(&off, offs, n, sizeof *offs, cmp_u64) != NULL)
        return;
    /* or a call made to get a persistent id: the id is a file that writes it out in full,
     * persistent_id(module.name(...)) (docs/CONTRACT.md, "Objects") */
    const char *callee = sp + 6, *paren = strchr(callee, '(');
    FUZZ_CHECK(paren != NULL && persids != NULL);
    char *needle = strndup(callee, (size_t)(paren + 1 - callee));
    FUZZ_CHECK(needle != NULL);
    FUZZ_CHECK(strstr(persids, needle) != NULL);
    free(needle);
}

/* The text of every persid line of an audit, one after another (NULL when there is none). */
static char *persid_texts(const char *text, size_t len)
{
    char *all = NULL;
    size_t all_len = 0;
    FILE *f = open_memstream(&all, &all_len);
    FUZZ_CHECK(f != NULL);
    for (const char *line = text; line < text + len;) {
        const char *end = memchr(line, '\n', (size_t)(text + len - line));
        if (!end)
            end = text + len;
        const char *sp = memchr(line, ' ', (size_t)(end - line));
        if (sp && (size_t)(end - sp) > 8 && memcmp(sp, " persid ", 8) == 0)
            fprintf(f, "%.*s\n", (int)(end - sp - 8), sp + 8);
        line = end + 1;
    }
    FUZZ_CHECK(fclose(f) == 0);
    if (all_len == 0) {
        free(all);
        return NULL;
    }
    return all;
}

static void check_audit(const pk_doc *doc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FUZZ_CHECK(f != NULL);
    int64_t opaque = pk_audit(doc, f);
    FUZZ_CHECK(fclose(f) == 0);
    FUZZ_CHECK(opaque >= 0);
    uint64_t noffs = 0, trailing_at = UINT64_MAX, trailing_len;
    uint64_t *offs = dir_offsets(doc, &noffs);
    pk_trailing(doc, &trailing_at, &trailing_len);
    char *persids = persid_texts(text, len);
    int64_t seen = 0;
    unsigned long long last = 0;
    const char *member = "";
    size_t member_len = 0;
    for (char *line = text; line < text + len;) {
        char *end = memchr(line, '\n', (size_t)(text + len - line));
        FUZZ_CHECK(end != NULL);
        *end = 0;
        /* MEMBER:N in a zip shown as its members (the member's name has no space) */
        char *num = line, *first_sp = strchr(line, ' ');
        FUZZ_CHECK(first_sp != NULL);
        for (char *c = line; c < first_sp; c++)
            if (*c == ':')
                num = c + 1;
        if (num != line && ((size_t)(num - 1 - line) != member_len ||
                            memcmp(line, member, member_len) != 0)) {
            member = line; /* another member: its offsets count from 0 again */
            member_len = (size_t)(num - 1 - line);
            last = 0;
        }
        char *sp = NULL;
        unsigned long long off = strtoull(num, &sp, 10);
        FUZZ_CHECK(sp != num && (*sp == ' ' || *sp == '/'));
        bool nested = *sp == '/';
        /* the stream's own lines in order; a nested pickle's lines right after its call's
         * (OUTER/INNER/...: OUTER is that call's offset, the last line's of the stream) */
        FUZZ_CHECK(nested ? off == last : off >= last);
        last = off;
        while (*sp == '/' || (*sp >= '0' && *sp <= '9'))
            sp++;
        FUZZ_CHECK(*sp == ' ');
        size_t n = (size_t)(end - line);
        bool is_opaque = n > 7 && strcmp(end - 7, " opaque") == 0;
        FUZZ_CHECK(is_opaque || (n > 7 && strcmp(end - 7, " lifted") == 0));
        if (offs)
            check_call_shown(offs, noffs, line, end, trailing_at, nested, persids);
        seen += is_opaque;
        line = end + 1;
    }
    FUZZ_CHECK(seen == opaque);
    free(persids);
    free(offs);
    free(text);
}

/* The input refused with err, opened again with lim.partial: the same error, and a document,
 * when one is kept, whose root is a directory with __error__, every entry of which reads. */
static void check_partial(const uint8_t *data, size_t size, pk_limits *lim, const pk_error *err)
{
    pk_doc *doc = NULL;
    pk_error again;
    lim->partial = PK_PARTIAL_TREE;
    FUZZ_CHECK(pk_open_memory(data, size, lim, &doc, &again) != 0);
    FUZZ_CHECK(again.code == err->code && again.offset == err->offset);
    if (!doc)
        return;
    FUZZ_CHECK(pk_type(doc, PK_ROOT) == PK_DIR);
    FUZZ_CHECK(pk_lookup(doc, PK_ROOT, "__error__", 9) != 0);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        FUZZ_CHECK(pk_dump(doc, null) == 0);
        FUZZ_CHECK(pk_print_calls(doc, null, 20) == 0);
        fclose(null);
    }
    pk_close(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pk_limits lim;
    pk_doc *doc = NULL;
    pk_error err;
    fuzz_limits(&lim);
    if (pk_open_memory(data, size, &lim, &doc, &err) == 0) {
        FUZZ_CHECK(doc != NULL);
        FUZZ_CHECK(pk_entry_count(doc) >= 1);
        FUZZ_CHECK(pk_type(doc, PK_ROOT) == PK_DIR);
        check_audit(doc);
        pk_close(doc);
        return 0;
    }
    /* refused: a real code, and one line naming it */
    FUZZ_CHECK(err.code != PK_E_OK && err.code < PK_E__COUNT);
    FUZZ_CHECK(memchr(err.what, 0, sizeof err.what) != NULL);
    FUZZ_CHECK(err.what[0] != 0 && strchr(err.what, '\n') == NULL);
    char line[512];
    pk_error_format(&err, line, sizeof line);
    FUZZ_CHECK(strchr(line, '\n') == NULL);
    check_partial(data, size, &lim, &err);
    return 0;
}
