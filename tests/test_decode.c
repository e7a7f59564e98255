/* test_decode.c: unit tests of the codec without FUSE.
 *
 * Each case is a hand-written pickle and either the tree pk_dump must print for it, or the
 * error code and byte offset pk_open_memory must refuse it with. Together the cases use every
 * one of the 68 opcodes. Expected trees follow docs/CONTRACT.md; expected refusals follow what
 * CPython's unpickler does with the same bytes (tests/test_refused.py checks CPython itself).
 */
#include "pk.h"
#include "pk_i.h" /* sequences_kept() looks at how items are kept */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tcase {
    const char *name;
    const char *data;
    size_t len;
    const char *tree;   /* expected pk_dump output, or NULL when refused */
    pk_code code;       /* expected error when refused */
    unsigned long long offset;
} tcase;

#define OK(name, bytes, tree) {name, bytes, sizeof(bytes) - 1, tree, PK_E_OK, 0}
#define BAD(name, bytes, code, off) {name, bytes, sizeof(bytes) - 1, NULL, PK_E_##code, off}

static const tcase cases[] = {
    OK("INT LONG FLOAT STRING UNICODE NONE",
       "(I42\nI00\nI01\nL12345678901234567890123L\nF0.1\nS'a\\x41\\n'\nVx\\u00e9\nNl.",
       "0 = 42\\n\n1 = False\\n\n2 = True\\n\n3 = 12345678901234567890123\\n\n4 = 0.1\\n\n5 = aA\\n\\n\n6 = x\303\251\\n\n7 = None\\n\n"),
    OK("INT base 0 like strtol",
       "(I0x10\nI010\nI-7\nl.",
       "0 = 16\\n\n1 = 8\\n\n2 = -7\\n\n"),
    OK("DICT SETITEM PUT GET APPEND",
       "(dp0\nVk\np1\n(lp2\nI1\naI2\nasVk2\ng2\ns.",
       "k/0 = 1\\n\nk/1 = 2\\n\nk2 -> k\n"),
    OK("TUPLE POP POP_MARK DUP",
       "(I1\nI2\n0(I9\n1I3\n2t.",
       "0 = 1\\n\n1 = 3\\n\n2 = 3\\n\n"),
    OK("POP of a MARK",
       "(I1\n(0t.",
       "0 = 1\\n\n"),
    OK("BININT BININT1 BININT2 BINFLOAT",
       "]q\000(J\377\377\377\377K\377M\377\377G\077\360\000\000\000\000\000\000e.",
       "0 = -1\\n\n1 = 255\\n\n2 = 65535\\n\n3 = 1.0\\n\n"),
    OK("BINSTRING SHORT_BINSTRING BINUNICODE",
       "(T\002\000\000\000abU\001\377X\002\000\000\000\303\251l.",
       "0 = ab\\n\n1 = \\xff\n2 = \303\251\\n\n"),
    OK("records with the same keys, then one with a key twice",
       "\200\002](}q\000(X\001\000\000\000aq\001K\001X\001\000\000\000bq\002K\002u"
       "}(h\001K\003h\002K\004u}(h\001K\005h\001K\006ue.",
       "0/a = 1\\n\n0/b = 2\\n\n1/a = 3\\n\n1/b = 4\\n\n2/a = 5\\n\n"
       "2/a~1 = 6\\n\n"),
    /* record 0 is a sequence; 1 is the shape of 2, 3 and 4; 2 is the first shaped record found
     * derivable, which checks the shape's keys for all; 3 has a list for a value, and must be
     * laid out all the same */
    OK("records keyed as the one before, one of them holding a list",
       "\200\002]q\000(}q\001(X\001\000\000\000aq\002K\001X\001\000\000\000bq\003K\002u"
       "}q\004(h\002K\003h\003K\004u}q\005(h\002K\005h\003K\006u"
       "}q\006(h\002K\007h\003]q\007K\010au}q\010(h\002K\011h\003K\012ue.",
       "0/a = 1\\n\n0/b = 2\\n\n1/a = 3\\n\n1/b = 4\\n\n2/a = 5\\n\n"
       "2/b = 6\\n\n3/a = 7\\n\n3/b/0 = 8\\n\n4/a = 9\\n\n4/b = 10\\n\n"),
    /* ...and with a key that is no name as it is: no record of its shape is derived */
    OK("records keyed as the one before, with a key that is no name",
       "\200\002]q\000(}q\001(X\001\000\000\000aq\002K\001X\003\000\000\000x/yq\003K\002u"
       "}q\004(h\002K\003h\003K\004u}q\005(h\002K\005h\003K\006u}q\006(h\002K\007h\003K\010ue.",
       "0/a = 1\\n\n0/'x\\\\x2fy' = 2\\n\n1/a = 3\\n\n1/'x\\\\x2fy' = 4\\n\n"
       "2/a = 5\\n\n2/'x\\\\x2fy' = 6\\n\n3/a = 7\\n\n3/'x\\\\x2fy' = 8\\n\n"),
    OK("a dict with a key twice, and one keyed as it (a shaped run)",
       "\200\002](}(X\001\000\000\000aq\001K\001h\001K\002u}(h\001K\003h\001K\004ue.",
       "0/a = 1\\n\n0/a~1 = 2\\n\n1/a = 3\\n\n1/a~1 = 4\\n\n"),
    OK("keys with a '/' or a NUL at each place a word of 8 bytes can hold it",
       "\200\002}q\000(X\010\000\000\000abcdefg/q\001K\000X\011\000\000\000abcdefgh/q\002K\001"
       "X\014\000\000\000abcdefghij/kq\003K\002X\013\000\000\000a\000bcdefghijq\004K\003"
       "X\020\000\000\000abcdefghijklmno\000q\005K\004X\020\000\000\000abcdefghijklmnopq\006K\005"
       "X\n\000\000\000abcdefgh\303\251q\007K\006X\002\000\000\000x/q\010K\007u.",
       "'abcdefg\\\\x2f' = 0\\n\n'abcdefgh\\\\x2f' = 1\\n\n'abcdefghij\\\\x2fk' = 2\\n\n"
       "'a\\\\x00bcdefghij' = 3\\n\n'abcdefghijklmno\\\\x00' = 4\\n\nabcdefghijklmnop = 5\\n\n"
       "abcdefgh\303\251 = 6\\n\n'x\\\\x2f' = 7\\n\n"),
    OK("EMPTY_TUPLE EMPTY_DICT SETITEMS",
       "}(K\001)K\002]u.",
       "1/\n2/\n"),
    OK("BINGET LONG_BINGET BINPUT LONG_BINPUT",
       "(]q\005r\007\000\000\000h\005j\007\000\000\000t.",
       "0/\n1 -> 0\n2 -> 0\n"),
    OK("PROTO NEWTRUE NEWFALSE TUPLE1-3 LONG1 LONG4",
       "\200\002\210\211\206K\001\205\212\011\000\000\000\000\000\000\000\000\001\207.",
       "0/0 = True\\n\n0/1 = False\\n\n1/0 = 1\\n\n2 = 18446744073709551616\\n\n"),
    OK("LONG4 negative, LONG1 zero",
       "(\213\001\000\000\000\200\212\000l.",
       "0 = -128\\n\n1 = 0\\n\n"),
    OK("NEWOBJ BUILD GLOBAL",
       "\200\002c__main__\nC\n)\201}X\001\000\000\000aK\001sb.",
       "__reduce__ = __main__.C()\\n\na = 1\\n\n"),
    OK("REDUCE",
       "cposix\nsystem\n(Vtouch /tmp/x\ntR.",
       "__reduce__ = posix.system('touch /tmp/x')\\n\n__args__/0 = touch /tmp/x\\n\n"),
    OK("EXT1 EXT2 EXT4",
       "\200\002\202\001\203\002\001\204\003\000\000\000\207.",
       "0 = extension_code(1)\\n\n1 = extension_code(258)\\n\n2 = extension_code(3)\\n\n"),
    OK("INST OBJ",
       "(c__main__\nK\nK\001o(I2\ni__main__\nK\n\206.",
       "0/__reduce__ = __main__.K(1)\\n\n0/__args__/0 = 1\\n\n1/__reduce__ = __main__.K(2)\\n\n1/__args__/0 = 2\\n\n"),
    OK("BINBYTES SHORT_BINBYTES",
       "\200\003(B\001\000\000\000aC\002\000\001l.",
       "0 = a\n1 = \\x00\\x01\n"),
    OK("FRAME SHORT_BINUNICODE BINUNICODE8 BINBYTES8 EMPTY_SET ADDITEMS FROZENSET MEMOIZE STACK_GLOBAL NEWOBJ_EX",
       "\200\004\2255\000\000\000\000\000\000\000(\214\001a\224\215\001\000\000\000\000\000\000\000b\216\001\000\000\000\000\000\000\000c\217(K\002K\001\220(K\003\221\214\001m\214\001C\223)}h\000K\001s\222l.",
       "0 = a\\n\n1 = b\\n\n2 = c\n3/0 = 1\\n\n3/1 = 2\\n\n4/0 = 3\\n\n5/__reduce__ = m.C(a=1)\\n\n5/__kwargs__/a = 1\\n\n"),
    OK("BYTEARRAY8 NEXT_BUFFER READONLY_BUFFER",
       "\200\005(\226\001\000\000\000\000\000\000\000z\227\230l.",
       "0 = z\n1 = out_of_band_buffer(0)\\n\n"),
    OK("PERSID BINPERSID",
       "(Pkey\nK\007Ql.",
       "0 = persistent_id('key')\\n\n1 = persistent_id(7)\\n\n"),
    OK("set frozenset bytearray _codecs.encode bytes()",
       "(c__builtin__\nset\n((lI2\naI1\natRc__builtin__\nfrozenset\n((ltRc_codecs\nencode\n(V\377\nVlatin1\ntRc__builtin__\nbytes\n)Rl.",
       "0/0 = 1\\n\n0/1 = 2\\n\n1/\n2 = \\xff\n3 = \n"),
    OK("several pickles",
       "K\001.]K\002a.",
       "0 = 1\\n\n1/0 = 2\\n\n"),
    OK("one scalar",
       "N.",
       "0 = None\\n\n"),
    OK("names",
       "}(X\000\000\000\000K\001X\001\000\000\000.K\002X\003\000\000\000a/bK\003K\001K\004X\001\000\000\0001K\005u.",
       "'' = 1\\n\n'.' = 2\\n\n'a\\\\x2fb' = 3\\n\n1 = 4\\n\n1~1 = 5\\n\n"),
    OK("cycle",
       "]q\000h\000a.",
       "0 -> .\n"),
    OK("float reprs",
       "(G\177\360\000\000\000\000\000\000G\200\000\000\000\000\000\000\000GCA\303y7\340\200\000G\000\000\000\000\000\000\000\001G>\344\370\265\210\343h\361l.",
       "0 = inf\\n\n1 = -0.0\\n\n2 = 1e+16\\n\n3 = 5e-324\\n\n4 = 1e-05\\n\n"),
    OK("repeats in a set are one element", "\200\004(K\001K\001\215\000\000\000\000\000\000\000\000\215\000\000\000\000\000\000\000\000\221.",
       "0 = \\n\n1 = 1\\n\n"),
    BAD("empty", "", EMPTY, 0),
    BAD("no STOP", "K\001", NO_STOP, 2),
    BAD("truncated argument", "J\001\002", TRUNCATED, 0),
    BAD("unknown opcode", "\377", UNKNOWN_OPCODE, 0),
    /* bytes after the last pickle that are no pickle: shown, as pickle.load ignores them */
    OK("a NUL after STOP", "N.\000", "0 = None\\n\n__trailing__ = \\x00\n"),
    OK("a cut pickle after a dict, whose key takes the name", "}X\014\000\000\000__trailing__K\001s.\200\002}(",
       "__trailing__ = 1\\n\n__trailing__~1 = \\x80\\x02}(\n"),
    OK("a pickle with a missing memo entry after two", "K\001.K\002.h\001.",
       "0 = 1\\n\n1 = 2\\n\n__trailing__ = h\\x01.\n"),
    BAD("stack underflow", "a.", STACK_UNDERFLOW, 0),
    BAD("underflow past a mark", "](a.", MARK_MISPLACED, 2),
    BAD("POP_MARK without MARK", "1.", MARK_MISSING, 0),
    BAD("missing memo", "h\001.", MEMO_MISSING, 0),
    BAD("odd SETITEMS", "}(K\001u.", ODD_SETITEMS, 4),
    BAD("odd DICT", "(K\001d.", ODD_SETITEMS, 3),
    BAD("length past the end", "X\377\000\000\000ab.", LENGTH, 0),
    BAD("length of 2**63", "\216\000\000\000\000\000\000\000\200.", LENGTH, 0),
    BAD("negative BINSTRING", "T\377\377\377\377.", BAD_ARGUMENT, 0),
    BAD("bad UTF-8", "X\001\000\000\000\377.", BAD_ARGUMENT, 0),
    BAD("protocol 6", "\200\006N.", PROTOCOL, 0),
    BAD("frame straddle", "\225\002\000\000\000\000\000\000\000J\001\000\000\000.", FRAME, 9),
    /* decode.c's fast path stops 9 bytes before a frame's end, and leaves what is there to
     * the handlers that check it: a BINFLOAT and a str cut by the frame's end (the str's
     * bytes go on past it, unframed) */
    BAD("BINFLOAT straddling a frame after opcodes of the fast path",
        "\200\004\225\014\000\000\000\000\000\000\000](K\001K\002K\003G\077\360\000"
        "\225\005\000\000\000\000\000\000\000\000\000\000\000\000e.",
        FRAME, 19),
    BAD("SHORT_BINUNICODE straddling a frame",
        "\200\004\225\016\000\000\000\000\000\000\000](\214\013abcdefghijklmne.",
        FRAME, 13),
    BAD("BINUNICODE straddling a frame",
        "\200\004\225\021\000\000\000\000\000\000\000](X\013\000\000\000abcdefghijklmnope.",
        FRAME, 13),
    BAD("frame longer than the file", "\225\377\000\000\000\000\000\000\000N.", LENGTH, 0),
    BAD("unquoted STRING", "Sabc\n.", BAD_ARGUMENT, 0),
    BAD("float overflow", "F1e999\n.", BAD_ARGUMENT, 0),
    BAD("STACK_GLOBAL of ints", "K\001K\002\223.", BAD_TYPE, 4),
    BAD("unhashable key", "(]]d.", BAD_TYPE, 3),
    /* an object's dict items are not checked hashable (its __setitem__ would judge them), so
     * they are no shape, and a dict keyed as they are checks its own: the list keying it */
    BAD("unhashable key shaped on an object's dict items",
        "\200\002](]q\0000X\001\000\000\000bq\0010c__main__\nBag\n)R(h\000K\001h\001K\002u"
        "}(h\000K\003h\001K\004ue.",
        BAD_TYPE, 53),
    /* ...and a dict shaped on keys checked before one of them, an object, became a list (a
     * numpy object array, in place): the second dict is keyed by the list [7] */
    BAD("unhashable key shaped on keys checked before a BUILD",
        "\200\002](cnumpy.core.multiarray\n_reconstruct\n)Rq\001}(h\001K\001X\001\000\000\000bq\002"
        "K\002uh\001(K\001K\001\205cnumpy\ndtype\nX\002\000\000\000O8\205R\211]K\007atb0"
        "}(h\001K\003h\002K\004ue.",
        BAD_TYPE, 109),
    BAD("NEWOBJ without tuple", "c__main__\nC\nN\201.", BAD_TYPE, 13),
    BAD("EXT code 0", "\202\000.", BAD_ARGUMENT, 0),
    BAD("line without end", "I12", TRUNCATED, 0),
    BAD("invalid UTF-8 after 8 ASCII bytes", "\200\002X\011\000\000\000abcdefgh\377q\000.",
        BAD_ARGUMENT, 2),
    BAD("a cut UTF-8 sequence after 8 ASCII bytes",
        "\200\002X\012\000\000\000abcdefgh\303(q\000.", BAD_ARGUMENT, 2),
    /* pk_dump keeps well-formed UTF-8 and escapes every other byte: overlong, surrogate,
     * past U+10FFFF, no lead byte, cut short */
    OK("dump lines are valid UTF-8",
       "\200\003(C\003\340\200\200C\003\355\240\200C\001\365C\004\364\220\200\200"
       "C\004\360\237\230\200C\002\342\202C\002\303\251C\002\301\277"
       "X\003\000\000\000\355\240\200l.",
       "0 = \\xe0\\x80\\x80\n1 = \\xed\\xa0\\x80\n2 = \\xf5\n3 = \\xf4\\x90\\x80\\x80\n"
       "4 = \360\237\230\200\n5 = \\xe2\\x82\n6 = \303\251\n7 = \\xc1\\xbf\n"
       "8 = \\xed\\xa0\\x80\\n\n"),
};

/* What a mount relies on, for every entry reached from the root: it is an entry (pk_valid),
 * its parent is the directory that lists it, and looking its name up there finds it. Most
 * files are derived from their directory's items, not stored (codec/tree.c); this holds for
 * both. Returns the number of entries that break it. */
static int check_tree(const pk_doc *doc, pk_ino dir, uint64_t *seen)
{
    int bad = 0;
    (*seen)++;
    for (uint64_t i = 0; i < pk_nchildren(doc, dir); i++) {
        pk_ino c = pk_child(doc, dir, i);
        char buf[PK_NAME_BUF];
        size_t len;
        const char *name = pk_valid(doc, c) ? pk_name(doc, c, buf, &len) : NULL;
        if (!name || pk_parent(doc, c) != dir || pk_lookup(doc, dir, name, len) != c) {
            fprintf(stderr, "entry %llu, child %llu of %llu: not found as listed\n",
                    (unsigned long long)c, (unsigned long long)i, (unsigned long long)dir);
            bad++;
            continue;
        }
        if (pk_type(doc, c) == PK_DIR)
            bad += check_tree(doc, c, seen);
        else
            (*seen)++;
    }
    return bad;
}

/* pk_open on a file (path, to be removed after pk_close) holding len bytes of data: a source
 * that is mapped, which the prefault thread gives back behind the decoder (codec/prefault.c),
 * where a source in memory is not. */
static int open_as_file(const char *data, size_t len, char path[static 32], pk_doc **doc,
                        pk_error *err)
{
    strcpy(path, "/tmp/test_decode.XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "test_decode: cannot write %s\n", path);
        exit(2);
    }
    return pk_open(path, NULL, doc, err);
}

/* Did case c come out as it should: its tree dumped as c->tree, or refused as c says? doc is
 * the document pk_open made (rc 0), or err says why it did not. */
static int check_case(const tcase *c, int rc, pk_doc *doc, const pk_error *err)
{
    char line[300];
    if (c->tree == NULL) {
        if (rc == 0) {
            fprintf(stderr, "FAIL %s: decoded, expected %s\n", c->name, pk_code_name(c->code));
            return 1;
        }
        if (err->code != c->code || err->offset != c->offset) {
            pk_error_format(err, line, sizeof line);
            fprintf(stderr, "FAIL %s: got %s (%s), expected %s at byte %llu\n", c->name,
                    pk_code_name(err->code), line, pk_code_name(c->code), c->offset);
            return 1;
        }
        return 0;
    }
    if (rc < 0) {
        pk_error_format(err, line, sizeof line);
        fprintf(stderr, "FAIL %s: refused: %s\n", c->name, line);
        return 1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    pk_dump(doc, out);
    fclose(out);
    int bad = strcmp(text, c->tree) != 0;
    if (bad)
        fprintf(stderr, "FAIL %s:\n--- expected\n%s--- got\n%s---\n", c->name, c->tree, text);
    uint64_t seen = 0;
    if (check_tree(doc, PK_ROOT, &seen) || seen != pk_entry_count(doc) || pk_valid(doc, 0) ||
        pk_valid(doc, UINT64_MAX)) {
        fprintf(stderr, "FAIL %s: the numbers of entries are not what they list\n", c->name);
        bad = 1;
    }
    free(text);
    return bad;
}

static int run_case_from(const tcase *c, bool from_file)
{
    pk_doc *doc = NULL;
    pk_error err;
    char path[32] = "";
    int rc = from_file ? open_as_file(c->data, c->len, path, &doc, &err)
                       : pk_open_memory(c->data, c->len, NULL, &doc, &err);
    int bad = check_case(c, rc, doc, &err);
    pk_close(doc);
    if (from_file)
        unlink(path);
    return bad;
}

static int run_case(const tcase *c)
{
    return run_case_from(c, false);
}

/* The generated cases below write their pickle to p: PUT writes a literal, which may hold NULs. */
#define PUT(lit) fwrite(lit, 1, sizeof(lit) - 1, p)

/* A list of many records, big enough (about 2 MB) for pk_open to start its prefault thread
 * (codec/prefault.c), so that the suite and the sanitizers decode with it running. */
static void many_records(FILE *p, FILE *t)
{
    PUT("\200\002](");
    for (unsigned i = 0; i < 60000; i++) {
        char v[16];
        int vlen = snprintf(v, sizeof v, "v%u", i);
        unsigned char n[4] = {(unsigned char)i, (unsigned char)(i >> 8), (unsigned char)(i >> 16), 0};
        PUT("}(X\001\000\000\000nJ");
        fwrite(n, 1, 4, p);
        PUT("X\001\000\000\000sX");
        fputc(vlen, p);
        PUT("\000\000\000");
        fputs(v, p);
        fputc('u', p);
        fprintf(t, "%u/\n%u/n = %u\\n\n%u/s = %s\\n\n", i, i, i, i, v);
    }
    PUT("e.");
}

/* Many objects, each with its own call record, so that the table of calls (doc->extras) grows
 * and is rehashed several times while their states are still told apart. */
static void many_objects(FILE *p, FILE *t)
{
    fputs("\200\002](", p);
    for (unsigned i = 0; i < 3000; i++) {
        unsigned char n[4] = {(unsigned char)i, (unsigned char)(i >> 8), 0, 0};
        fputs("c__main__\nC\n)\201J", p);
        fwrite(n, 1, 4, p);
        fputc('b', p);
        fprintf(t, "%u/\n%u/__reduce__ = __main__.C()\\n\n%u/__state__ = %u\\n\n", i, i, i, i);
    }
    fputs("e.", p);
}

/* A list grown by single APPENDs and APPENDS batches, with dicts built between them: its run
 * of items grows in place until another container's items come after it, then a new run is
 * linked on (pk_chain in codec/pk_i.h). The items must come out in order. */
static void interleaved_appends(FILE *p, FILE *t)
{
    unsigned idx = 0;
    PUT("\200\002]q\000");
    for (unsigned i = 0; i < 3000; i++) {
        unsigned char n[4] = {(unsigned char)i, (unsigned char)(i >> 8), 0, 0};
        if (i % 7 == 3) { /* a dict, then APPEND */
            PUT("}X\001\000\000\000kJ");
            fwrite(n, 1, 4, p);
            PUT("sa");
            fprintf(t, "%u/\n%u/k = %u\\n\n", idx, idx, i);
            idx++;
        } else if (i % 11 == 5) { /* an APPENDS of the same value twice */
            PUT("(J");
            fwrite(n, 1, 4, p);
            PUT("J");
            fwrite(n, 1, 4, p);
            PUT("e");
            fprintf(t, "%u = %u\\n\n%u = %u\\n\n", idx, i, idx + 1, i);
            idx += 2;
        } else { /* a scalar, then APPEND */
            PUT("J");
            fwrite(n, 1, 4, p);
            PUT("a");
            fprintf(t, "%u = %u\\n\n", idx, i);
            idx++;
        }
    }
    PUT(".");
}

/* Strings and bytes of every length class: short ones copied into the pool, long ones left
 * in the stream, and those of 64 KiB or more, whose span no longer fits in a value and is kept
 * apart (pk_node_span in codec/pk_i.h). */
static void long_spans(FILE *p, FILE *t)
{
    static const unsigned lens[] = {10, 4096, 4097, 65535, 65536, 70000};
    fwrite("\200\004(", 1, 3, p);
    for (unsigned i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned n = lens[i];
        unsigned char len[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16), 0};
        fputc(i % 2 ? 'X' : 'B', p); /* BINUNICODE, BINBYTES */
        fwrite(len, 1, 4, p);
        fprintf(t, "%u = ", i);
        for (unsigned k = 0; k < n; k++) {
            fputc('a' + (int)(k % 26), p);
            if (i % 2 || k < 1024) /* bytes are cut after 1024 */
                fputc('a' + (int)(k % 26), t);
        }
        if (i % 2 == 0 && n > 1024)
            fprintf(t, "\\... (%u bytes)", n);
        fputs(i % 2 ? "\\n\n" : "\n", t);
    }
    fwrite("l.", 1, 2, p);
}

/* A str whose "é" straddles the 64 KiB chunks pk_dump reads a file in: it must be kept, not
 * escaped as two broken halves. */
static void utf8_across_chunks(FILE *p, FILE *t)
{
    unsigned n = 65535 + 2;
    unsigned char len[4] = {(unsigned char)n, (unsigned char)(n >> 8), (unsigned char)(n >> 16), 0};
    fwrite("\200\004(X", 1, 4, p);
    fwrite(len, 1, 4, p);
    fputs("0 = ", t);
    for (unsigned k = 0; k < 65535; k++) {
        fputc('a', p);
        fputc('a', t);
    }
    fputs("\303\251", p);
    fputs("\303\251\\n\n", t);
    fwrite("l.", 1, 2, p);
}

/* Dict item "k<i>": <i % 256>, as a SETITEMS lists it and as entry DIR/k<i> shows it. */
static void put_key(FILE *p, FILE *t, const char *dir, unsigned i, const char *shown)
{
    char k[8];
    int klen = snprintf(k, sizeof k, "k%u", i);
    fputc('X', p);
    fputc(klen, p);
    fwrite("\000\000\000", 1, 3, p);
    fputs(k, p);
    fputc('K', p);
    fputc((int)(i % 256), p);
    fprintf(t, "%s/%s%s = %u\\n\n", dir, k, shown, i % 256);
}

/* Dicts whose files are derived from their items (codec/tree.c), and some that cannot be:
 * - a dict of 200 keys, named through its table of names;
 * - a dict whose items are two runs (another list's items were added between its two
 *   SETITEMS), shared, so the second place is a symlink;
 * - a dict of 70 keys, one of them twice: its table is given up and its entries stored, the
 *   second one renamed. */
static void derived_blocks(FILE *p, FILE *t)
{
    PUT("\200\002]q\000(}(");
    fputs("0/\n", t);
    for (unsigned i = 0; i < 200; i++)
        put_key(p, t, "0", i, "");
    PUT("u}q\001(X\002\000\000\000k1K\001u](K\007eh\001(X\002\000\000\000k2K\002u");
    fputs("1/\n1/k1 = 1\\n\n1/k2 = 2\\n\n2/\n2/0 = 7\\n\n3 -> 1\n4/\n", t);
    PUT("}(");
    for (unsigned i = 0; i < 70; i++)
        put_key(p, t, "4", i, "");
    put_key(p, t, "4", 5, "~1");
    PUT("ue.");
}

/* Dicts whose first pairs have the keys of an earlier dict's, in the same order, keep their
 * values only, in a shaped run (pk_chain in codec/pk_i.h): dicts 1, 3, 7 and 8 (made by DICT)
 * and the argument of object 9. Dict 2 has the keys in another order, and 6 after it the first
 * order again: each is plain and the next shape. Dict 4's first pairs are shaped and a SETITEM
 * adds a third, in a second run; dict 5 has one pair, too few. */
static void shaped_runs(FILE *p, FILE *t)
{
    PUT("\200\002](");
    PUT("}(X\001\000\000\000aq\001K\001X\001\000\000\000bq\002K\002u");
    PUT("}(h\001K\003h\002K\004u");
    PUT("}(h\002K\005h\001K\006u");
    PUT("}(h\002K\007h\001K\010u");
    PUT("}(h\002K\011h\001K\012uX\001\000\000\000cK\013s");
    PUT("}(h\001K\014u");
    PUT("}(h\001K\015h\002K\016u");
    PUT("}(h\001K\017h\002K\020u");
    PUT("(h\001K\021h\002K\022d");
    PUT("c__main__\nf\n(h\001K\023h\002K\024d\205R");
    PUT("e.");
    fputs("0/\n0/a = 1\\n\n0/b = 2\\n\n1/\n1/a = 3\\n\n1/b = 4\\n\n"
          "2/\n2/b = 5\\n\n2/a = 6\\n\n3/\n3/b = 7\\n\n3/a = 8\\n\n"
          "4/\n4/b = 9\\n\n4/a = 10\\n\n4/c = 11\\n\n5/\n5/a = 12\\n\n"
          "6/\n6/a = 13\\n\n6/b = 14\\n\n7/\n7/a = 15\\n\n7/b = 16\\n\n"
          "8/\n8/a = 17\\n\n8/b = 18\\n\n"
          "9/\n9/__reduce__ = __main__.f({'a': 19, 'b': 20})\\n\n9/__args__/\n9/__args__/0/\n"
          "9/__args__/0/a = 19\\n\n9/__args__/0/b = 20\\n\n", t);
}

/* A 4-byte opcode argument, little-endian. */
static void put_u32(FILE *p, int op, uint32_t v)
{
    fputc(op, p);
    for (int i = 0; i < 4; i++)
        fputc((int)(v >> (8 * i)) & 0xff, p);
}

/* The memo's two parts (codec/decode.c): ten indices far past what was put go to its table;
 * 60,000 put in order then go to its array, whose zeroed part grows a step at a time and
 * reaches the ten, which stay in the table and are put again there. What a GET finds must not
 * depend on which part holds the index. The top list gets: index 26,000 and 47,000 before
 * they are put again, then the ten and every thousandth index after. */
static void memo_parts(FILE *p, FILE *t)
{
    unsigned n = 0;
    PUT("\200\002]");
    for (uint32_t k = 0; k < 10; k++) {
        put_u32(p, 'J', 1000000 + k);
        put_u32(p, 'r', 20000 + 3000 * k);
        fputc('0', p);
    }
    for (uint32_t i = 0; i < 60000; i++) {
        if (i == 25000) {
            put_u32(p, 'j', 26000);
            fputc('a', p);
            put_u32(p, 'j', 47000);
            fputc('a', p);
            fprintf(t, "%u = 1000002\\n\n%u = 1000009\\n\n", n, n + 1);
            n += 2;
        }
        put_u32(p, 'J', i);
        put_u32(p, 'r', i);
        fputc('0', p);
    }
    for (uint32_t k = 0; k < 10; k++, n++) {
        put_u32(p, 'j', 20000 + 3000 * k);
        fputc('a', p);
        fprintf(t, "%u = %u\\n\n", n, 20000 + 3000 * k);
    }
    for (uint32_t i = 0; i < 60000; i += 1000, n++) {
        put_u32(p, 'j', i);
        fputc('a', p);
        fprintf(t, "%u = %u\\n\n", n, i);
    }
    PUT(".");
}

/* The document of the pickle that make writes (a generated case), or NULL if it is refused;
 * *data holds the pickle, to be freed after pk_close. */
static pk_doc *open_generated(void (*make)(FILE *p, FILE *t), char **data)
{
    char *tree = NULL;
    size_t dlen = 0, tlen = 0;
    *data = NULL;
    FILE *p = open_memstream(data, &dlen), *t = open_memstream(&tree, &tlen);
    make(p, t);
    fclose(p);
    fclose(t);
    free(tree);
    pk_doc *doc = NULL;
    pk_error err;
    return pk_open_memory(*data, dlen, NULL, &doc, &err) == 0 ? doc : NULL;
}

/* The shaped dicts of shaped_runs whose files are plain values are derived (their children
 * numbered above 2^32, pk_entry_get reading keys from the shape) like the plain ones; dict 4,
 * two runs, is not. A wrong key read from a shape would make them stored instead, with the
 * same tree, so the dump alone cannot tell. */
static int shaped_runs_derived(void)
{
    char *data;
    pk_doc *doc = open_generated(shaped_runs, &data);
    int bad = !doc;
    for (uint64_t i = 0; !bad && i < 9; i++) {
        pk_ino first = pk_child(doc, pk_child(doc, PK_ROOT, i), 0);
        bad = (first >> 32 != 0) != (i != 4);
    }
    if (bad)
        fprintf(stderr, "FAIL shaped dicts: not derived as plain ones are\n");
    pk_close(doc);
    free(data);
    return bad;
}

/* Items made one after another are kept as a sequence (pk_chain in codec/pk_i.h): list 0;
 * list 1, whose second APPENDS continues its first; list 2, whose second does not (a POP
 * dropped 25), so its sequence becomes a plain run; list 3, continued after list 4's items,
 * so in a second run, and shown again as 5; tuple 6 of four values, and tuple 7 of the same
 * four (GETs); tuple 8 of three, too few; dict 9, keys and values made in turn. */
static void sequences(FILE *p, FILE *t)
{
    PUT("\200\002](");
    PUT("](K\000K\001K\002K\003K\004K\005e");
    PUT("](K\012K\013K\014K\015e(K\016K\017K\020e");
    PUT("](K\024K\025K\026K\027e(K\030K\0310K\032e");
    PUT("]q\000(K\036K\037K\040K\041e](K\050K\051K\052K\053eh\000(K\042K\043K\044K\045e");
    PUT("(K\062q\001K\063q\002K\064q\003K\065q\004t(h\001h\002h\003h\004t");
    PUT("(K\074K\075K\076t");
    PUT("}(X\001\000\000\000aK\001X\001\000\000\000bK\002X\001\000\000\000cK\003u");
    PUT("e.");
    static const unsigned dirs[][9] = {
        {6, 0, 1, 2, 3, 4, 5},     {7, 10, 11, 12, 13, 14, 15, 16}, {6, 20, 21, 22, 23, 24, 26},
        {8, 30, 31, 32, 33, 34, 35, 36, 37}, {4, 40, 41, 42, 43}, {0},
        {4, 50, 51, 52, 53},       {4, 50, 51, 52, 53},             {3, 60, 61, 62},
    };
    for (unsigned d = 0; d < 9; d++) {
        if (d == 5) {
            fputs("5 -> 3\n", t);
            continue;
        }
        fprintf(t, "%u/\n", d);
        for (unsigned i = 0; i < dirs[d][0]; i++)
            fprintf(t, "%u/%u = %u\\n\n", d, i, dirs[d][1 + i]);
    }
    fputs("9/\n9/a = 1\\n\n9/b = 2\\n\n9/c = 3\\n\n", t);
}

/* The items of sequences' containers are kept as the comment there says: the dump is the same
 * whether a run is a sequence or plain, so it alone cannot tell. */
static int sequences_kept(void)
{
    char *data;
    pk_doc *doc = open_generated(sequences, &data);
    int bad = !doc;
    /* per item of the top list: 's' one sequence, 'p' one plain run, 'c' a chain of two
     * sequences */
    const char *want = "sspcscsspsx";
    for (uint64_t i = 0; !bad && want[i] != 'x'; i++) {
        const pk_node *n = &doc->nodes[pk_item_at(doc, &doc->nodes[doc->tops[0]], i)];
        uint32_t r = pk_items_head(doc, n);
        bool seq = pk_run_is_sequence(doc, r);
        uint32_t next = doc->items[pk_run_end(doc, r)];
        bool next_seq = next && pk_run_is_sequence(doc, next);
        char got = (n->flags & PK_NF_CHAINED) && seq && next_seq ? 'c'
                   : n->flags & PK_NF_CHAINED                    ? '?'
                   : seq                                         ? 's'
                                                                 : 'p';
        if (got != want[i]) {
            fprintf(stderr, "FAIL sequences: item %llu kept as '%c', not '%c'\n",
                    (unsigned long long)i, got, want[i]);
            bad = 1;
        }
    }
    pk_close(doc);
    free(data);
    return bad;
}

/* Records of every kind of value that decode.c's fast path makes (fast_ops), for
 * values_limited_one_by_one: ints of 1, 2 and 4 bytes and LONG1s of 0 to 9, floats, ASCII and
 * other strs of 0 to 40 bytes in both forms, empty dicts and lists, memo GETs, under protocol 4
 * with MEMOIZE. */
static void fast_values(FILE *p, FILE *t)
{
    (void)t;
    PUT("\200\004]\224(");
    for (char key = 'a'; key <= 'g'; key++) { /* memo 1 to 7, popped */
        PUT("\214\001");
        fputc(key, p);
        PUT("\2240");
    }
    for (unsigned i = 0; i < 40; i++) {
        unsigned char n[4] = {(unsigned char)(i * 37), (unsigned char)i, 0,
                              (unsigned char)(i & 1 ? 0x80 : 0)};
        PUT("}\224(h\001K");
        fputc((int)i, p);
        PUT("h\002M");
        fwrite(n, 1, 2, p);
        PUT("h\003J");
        fwrite(n, 1, 4, p);
        PUT("h\004\212"); /* LONG1 */
        fputc((int)(i % 10), p);
        for (unsigned k = 0; k < i % 10; k++)
            fputc((int)(0x41 + k * 29 + i), p);
        PUT("h\005G\077\360\000\000\000\000\000");
        fputc((int)i, p);
        char s[40];
        for (unsigned k = 0; k < i; k++)
            s[k] = (char)('a' + k % 26);
        if (i % 7 == 3) /* not ASCII: an e-acute */
            memcpy(s + i / 2 - 1, "\303\251", 2);
        if (i % 2) { /* BINUNICODE, or SHORT_BINUNICODE */
            unsigned char len[4] = {(unsigned char)i, 0, 0, 0};
            PUT("h\006X");
            fwrite(len, 1, 4, p);
        } else {
            PUT("h\006\214");
            fputc((int)i, p);
        }
        fwrite(s, 1, i, p);
        PUT("\224h\007](}e\224u");
    }
    PUT("e.");
}

/* Every value of fast_values made past max_nodes is refused at the opcode that made it, the
 * offset the same document keeps for that value when no limit stops it: the fast path stops
 * before a value it has no room for, and run()'s handler reports it. */
static int values_limited_one_by_one(void)
{
    char *data = NULL, *tree = NULL;
    size_t dlen = 0, tlen = 0;
    FILE *p = open_memstream(&data, &dlen), *t = open_memstream(&tree, &tlen);
    fast_values(p, t);
    fclose(p);
    fclose(t);
    free(tree);
    pk_doc *whole = NULL;
    pk_error err;
    int bad = 0;
    if (pk_open_memory(data, dlen, NULL, &whole, &err) != 0) {
        fprintf(stderr, "FAIL values limited: refused without a limit: %s\n", err.what);
        free(data);
        return 1;
    }
    uint64_t made = whole->nnodes; /* value 0 is none */
    for (uint64_t k = 1; k < made && !bad; k++) {
        pk_limits lim;
        pk_limits_default(&lim);
        lim.max_nodes = k;
        pk_doc *doc = NULL;
        int rc = pk_open_memory(data, dlen, &lim, &doc, &err);
        uint64_t want = pk_node_offset(whole, (uint32_t)k);
        if (rc == 0 || err.code != PK_E_NODE_LIMIT || err.offset != want) {
            fprintf(stderr, "FAIL values limited to %llu: %s at byte %llu, expected the limit "
                    "at byte %llu\n", (unsigned long long)k, rc == 0 ? "decoded" : err.what,
                    (unsigned long long)(rc == 0 ? 0 : err.offset), (unsigned long long)want);
            bad = 1;
        }
        pk_close(doc);
    }
    if (made != 1 + 8 + 40 * 9) { /* value 0, the list and its 7 keys, 9 values a record */
        fprintf(stderr, "FAIL values limited: %llu values made\n", (unsigned long long)made);
        bad = 1;
    }
    pk_close(whole);
    free(data);
    return bad;
}

/* The makers above write a line for every directory, PATH/, before its entries; pk_dump has
 * one for an empty directory only, since its entries' paths name the others. Drop, in place,
 * each PATH/ line that the next line goes on below. */
static void drop_parent_lines(char *tree)
{
    char *w = tree;
    for (char *r = tree; *r != '\0';) {
        char *end = strchr(r, '\n');
        size_t n = end ? (size_t)(end - r) + 1 : strlen(r);
        char *next = r + n;
        bool parent = n >= 2 && r[n - 2] == '/' && strncmp(next, r, n - 1) == 0;
        if (!parent) {
            memmove(w, r, n);
            w += n;
        }
        r = next;
    }
    *w = '\0';
}

/* A case too big to write by hand: make writes its pickle to p and the tree below the root
 * that pk_dump must print to t (with every directory's line, see drop_parent_lines). */
static int generated_case_from(const char *name, void (*make)(FILE *p, FILE *t), bool from_file)
{
    char *data = NULL, *tree = NULL;
    size_t dlen = 0, tlen = 0;
    FILE *p = open_memstream(&data, &dlen), *t = open_memstream(&tree, &tlen);
    make(p, t);
    fclose(p);
    fclose(t);
    drop_parent_lines(tree);
    tcase c = {name, data, dlen, tree, PK_E_OK, 0};
    int bad = run_case_from(&c, from_file);
    free(data);
    free(tree);
    return bad;
}

static int generated_case(const char *name, void (*make)(FILE *p, FILE *t))
{
    return generated_case_from(name, make, false);
}

int main(void)
{
    int failed = 0, n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; i++)
        failed += run_case(&cases[i]);
    failed += generated_case("60000 records (prefault thread)", many_records) +
              generated_case_from("60000 records in a file (source given back)", many_records,
                                  true) +
              generated_case("3000 objects", many_objects) +
              generated_case("a list grown between other containers", interleaved_appends) +
              generated_case("strings and bytes up to 70000 bytes", long_spans) +
              generated_case("UTF-8 across pk_dump's chunks", utf8_across_chunks) +
              generated_case("files derived from their items, and not", derived_blocks) +
              generated_case("dicts keyed as an earlier one", shaped_runs) +
              generated_case("a memo in its table and its array", memo_parts) +
              shaped_runs_derived() +
              generated_case("values made one after another", sequences) + sequences_kept() +
              values_limited_one_by_one();
    n += 13;
    printf("%d passed, %d failed\n", n - failed, failed);
    return failed != 0;
}
