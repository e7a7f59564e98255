/* pk.h: the public interface of the picklefs codec.
 *
 * pk_open() recognises and decodes a pickle file once, completely, into an immutable tree of
 * entries (directories, files, symlinks) that follows docs/CONTRACT.md. Everything after
 * pk_open() only reads that tree, so any number of threads may query one pk_doc at once.
 * Nothing here knows about FUSE, and nothing in the pickle is ever imported, called or evaluated.
 *
 * Every entry has a number, unique in the tree; entry 1 (PK_ROOT) is the root directory. The
 * numbers are not dense (pk_valid tells which are entries), and the number of an entry never
 * changes for the life of a pk_doc, so a FUSE driver can use it as the inode. Every function
 * below takes any number at all: one that is no entry (0, past the end, a child number whose
 * directory does not exist) is answered as each function says (-ENOENT, 0 or NULL), never read.
 */
#ifndef PK_H
#define PK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef struct pk_doc pk_doc;

/* Error codes, one per way a file can be refused. The list lives in pk_errors.def. */
typedef enum pk_code {
#define PK_ERROR(name, text) PK_E_##name,
#include "pk_errors.def"
#undef PK_ERROR
    PK_E__COUNT
} pk_code;

/* Why a file was refused: the user sees "WHAT at byte OFFSET (OPCODE)". */
typedef struct pk_error {
    pk_code code;
    uint64_t offset; /* byte offset in the (decompressed) pickle stream */
    int opcode;      /* the opcode byte being decoded, or -1 when there is none */
    char what[200];  /* one line, no offset and no opcode in it */
} pk_error;

/* Bounds on what a hostile file can make picklefs do. pk_limits_default() documents the defaults. */
typedef struct pk_limits {
    uint64_t max_depth;        /* nesting of containers and calls in the tree */
    uint64_t max_nodes;        /* values decoded, including scalars */
    uint64_t max_memo;         /* highest memo index a PUT may use */
    uint64_t max_decompressed; /* bytes a compressed stream may inflate to */
    uint64_t max_int_digits;   /* longer ints render in hexadecimal (see the README) */
    uint64_t max_memory;       /* bytes of values, container items, calls, entries, name
                                  tables and pool held at once */
    uint64_t partial;          /* not a limit: when not 0, a file that cannot be decoded still
                                  gives a document, of what decoded before the error (pk_open):
                                  PK_PARTIAL_TREE, or PK_PARTIAL_CALLS */
} pk_limits;
enum {
    PK_PARTIAL_TREE = 1,  /* the document with its tree (-o partial sets this) */
    PK_PARTIAL_CALLS = 2, /* the values alone, for pk_print_calls: no tree is laid out, and it
                             has no entry but the root, an empty directory */
};

void pk_limits_default(pk_limits *lim);
/* The limits as options (limits.c), for command lines: max_depth=N, max_nodes=N, max_memo=N,
 * max_decompressed=S, max_int_digits=N, max_memory=S; N and S are decimal and may end in k, M,
 * G or T (powers of 1024), and every limit is at least 1. When opt ("name=value", or "name"
 * alone) is one of them, sets it in *lim and returns 1, or returns -1 with a one-line message
 * in msg when the value is not valid; returns 0 for any other option. */
int pk_limits_set(pk_limits *lim, const char *opt, char *msg, size_t msgsize);
/* Their help text, one option a line, each indented by four spaces, with the defaults. */
extern const char pk_limits_help[];

/* Decode FILE. On failure returns -1 and fills *err; on success returns 0 and sets *out.
 *
 * Bytes after the last complete pickle that do not decode as another pickle are no failure:
 * the root shows them as the bytes file __trailing__, and pk_trailing() says where they are.
 *
 * With lim->partial set, a failure also sets *out: to a document of what decoded before the
 * error, or to NULL when nothing could be kept (the file cannot be read, out of memory). Its
 * root shows the complete pickles as usual, then the values on the failed pickle's stack, as
 * a list, bottom first, and the file __error__ holding the error's one line; with
 * PK_PARTIAL_CALLS, no tree is laid out (a refusal that lists its calls needs none). The
 * caller closes it with pk_close(). */
int pk_open(const char *path, const pk_limits *lim, pk_doc **out, pk_error *err);
/* Decode a buffer already in memory (tests, fuzzers). The caller keeps buf alive until
 * pk_close(). */
int pk_open_memory(const void *buf, size_t len, const pk_limits *lim, pk_doc **out,
                   pk_error *err);
void pk_close(pk_doc *doc);

/* The bytes after the last pickle that are no pickle (shown as __trailing__): true, with where
 * they start in the stream and how many there are; false when there are none. */
bool pk_trailing(const pk_doc *doc, uint64_t *offset, uint64_t *len);
/* Write the calls the stream decoded (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ; lifted or not), in
 * stream order, one a line, "  call at byte OFFSET: LINE" with LINE as a __reduce__ file shows
 * it; after `most` of them, one line "  and N more calls". For the refusal of a document kept
 * by lim->partial: the calls before the error. Returns 0, or -ENOMEM. */
int pk_print_calls(const pk_doc *doc, FILE *out, uint64_t most);

/* "STOP", "BINUNICODE"...; NULL for a byte that is no opcode. */
const char *pk_opcode_name(int opcode);
/* Format err as "WHAT at byte OFFSET (OPCODE)" into buf; an I/O error (the file cannot be
 * opened or read) is just WHAT, e.g. "cannot open: No such file or directory". */
void pk_error_format(const pk_error *err, char *buf, size_t size);
/* "TRUNCATED", "UNKNOWN_OPCODE", ...: the code's name, for tests. */
const char *pk_code_name(pk_code code);

/* ---- the tree ---- */

typedef uint64_t pk_ino;
#define PK_ROOT ((pk_ino)1)

typedef enum pk_ftype { PK_DIR, PK_FILE, PK_LINK } pk_ftype;

uint64_t pk_entry_count(const pk_doc *doc);
/* Is ino the number of an entry? */
bool pk_valid(const pk_doc *doc, pk_ino ino);

/* All an entry's attributes at once (what a stat needs). */
typedef struct pk_attr {
    pk_ftype type;
    uint64_t size;     /* as pk_size() says */
    uint64_t nsubdirs; /* a directory's subdirectories, for st_nlink = 2 + this; else 0 */
} pk_attr;
/* Fill *attr. Returns 0; -ENOENT when ino is no entry (attr then all zero); or pk_size()'s
 * -errno when the size cannot be known (the type and nsubdirs are still set). */
int pk_stat(const pk_doc *doc, pk_ino ino, pk_attr *attr);

/* The type; PK_FILE for a number that is no entry (which every other function refuses). */
pk_ftype pk_type(const pk_doc *doc, pk_ino ino);
/* The root is its own parent; 0 for a number that is no entry. */
pk_ino pk_parent(const pk_doc *doc, pk_ino ino);
uint64_t pk_nchildren(const pk_doc *doc, pk_ino dir); /* 0 for anything but a directory */
pk_ino pk_child(const pk_doc *doc, pk_ino dir, uint64_t i); /* 0 unless i < pk_nchildren() */
uint64_t pk_nsubdirs(const pk_doc *doc, pk_ino dir);        /* for st_nlink = 2 + this */
/* Hidden children: files that a directory does not list (pk_child never gives them) but that
 * pk_lookup finds by name, such as the NAME.raw of an array NAME. Never directories. */
uint64_t pk_nhidden(const pk_doc *doc, pk_ino dir);           /* 0 for anything but a directory */
pk_ino pk_hidden(const pk_doc *doc, pk_ino dir, uint64_t i);  /* 0 unless i < pk_nhidden() */
/* The entry's name, not NUL-terminated: 1 to 255 bytes, never '/' or NUL, never "." or "..".
 * The root's name is empty. A list item's name is made in buf (PK_NAME_BUF bytes); others
 * point into the tree. NULL (and *len 0) for a number that is no entry. */
#define PK_NAME_BUF 24
const char *pk_name(const pk_doc *doc, pk_ino ino, char buf[PK_NAME_BUF], size_t *len);
/* The child of dir called name, or 0 (also when dir is no directory). */
pk_ino pk_lookup(const pk_doc *doc, pk_ino dir, const char *name, size_t len);

/* Set *size to the size of a file's content, or the length of a symlink's target; 0 for a
 * directory. Returns 0, or -errno when the size cannot be known: -EIO for an array summary
 * first asked for after FILE changed under the mount (it is rendered from FILE's data),
 * -ENOENT for a number that is no entry. A rendered file (a __reduce__ line...) is rendered to
 * be measured: to read one, call pk_read() alone, which renders it once. */
int pk_size(const pk_doc *doc, pk_ino ino, uint64_t *size);
/* Copy up to size bytes of a file's content from off. Returns the count (0 at or past the
 * end), or -errno: -EIO when the source file changed or vanished under the mount, -EISDIR for
 * a directory or a symlink, -ENOENT for a number that is no entry. */
ssize_t pk_read(const pk_doc *doc, pk_ino ino, void *buf, size_t size, uint64_t off);
/* Where a file's content lies in the source file, when it is one contiguous stored span
 * (large bytes, tensor data) and the file is unchanged since it was decoded: sets *fd and *pos
 * and returns 0; returns -1 otherwise (then use pk_read, which answers EIO for a changed file). */
int pk_file_span(const pk_doc *doc, pk_ino ino, int *fd, uint64_t *pos);
/* A symlink's relative target, NUL-terminated. Returns its length, or -ENAMETOOLONG when
 * length + 1 > size, -EINVAL for an entry that is no symlink, or another -errno. */
ssize_t pk_readlink(const pk_doc *doc, pk_ino ino, char *buf, size_t size);

/* Extended attributes. PK_XA_REDUCE is on values built by a call (objects, and lifted values
 * such as an OrderedDict or a datetime): the call as one line, like an object's __reduce__. */
typedef enum pk_xattr {
    PK_XA_TYPE, PK_XA_CLASS, PK_XA_OFFSET, PK_XA_KEY, PK_XA_REDUCE, PK_XA__COUNT
} pk_xattr;
const char *pk_xattr_name(pk_xattr which); /* "user.pickle.type", ... */
/* Write up to size bytes of the value into buf (which may be NULL when size is 0). Returns the
 * full length, -ENODATA when this entry has no such attribute, or -EIO when it shows a str or
 * bytes that FILE, changed since, no longer holds (-ENOMEM when out of memory, -ENOENT for a
 * number that is no entry). */
ssize_t pk_getxattr(const pk_doc *doc, pk_ino ino, pk_xattr which, char *buf, size_t size);

/* The source file's stat, for times and ownership. */
const struct stat *pk_source_stat(const pk_doc *doc);

/* Write the whole tree as text, for grep, tests and users without FUSE: one line per leaf, in
 * depth-first order, each with its whole path (relative to the root), so that grep prints the
 * path of every match:
 *   PATH = CONTENT   a file, CONTENT escaped as a C string (\n, \t, \\, \xNN)
 *   PATH -> TARGET   a symlink
 *   PATH/            an empty directory (the root is ".": "./" when it is empty); a directory
 *                    with entries has no line of its own, its entries' paths name it
 * Every line is valid UTF-8: well-formed UTF-8 is written as it is, and every other byte of a
 * name or content as \xNN; in a PATH, a space that begins " = " or " -> " is written \x20, so
 * the first separator of a line ends its path. Unless flags has PK_DUMP_FULL, an array's element
 * bytes (NAME.raw) are left out, and a bytes or bytearray value longer than 1024 bytes shows
 * its first 1024 bytes, then "\... (N bytes)" with its full size. Returns 0, or -errno on a
 * failed read. pk_dump() is pk_dump_with() without flags. */
enum { PK_DUMP_FULL = 1 };
int pk_dump_with(const pk_doc *doc, FILE *out, unsigned flags);
int pk_dump(const pk_doc *doc, FILE *out);

/* The audit: every global the file names and every call it would make, in stream order
 * (across pickles back to back, whatever archive or compressor holds them), one a line:
 *   OFFSET global NAME VERDICT            GLOBAL, STACK_GLOBAL, INST's class
 *   OFFSET call CALLABLE(ARGS) VERDICT    REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ
 *   OFFSET build CLASS STATE VERDICT      BUILD
 *   OFFSET persid ID VERDICT              PERSID, BINPERSID
 * OFFSET is the opcode's byte offset in the (decompressed) stream; VERDICT is "lifted" (read
 * as data) or "opaque"; the text is Python's repr() of names and arguments, cut at 4 KiB
 * with "...", its control characters written \xNN, so that each item is one line. The calls
 * whose results the pickle discards are listed too. The items of a pickle nested in a
 * pickle.loads call follow that call's line, OFFSET written OUTER/INNER (INNER in the call's
 * bytes argument; one more /N per level).
 * Returns the number of opaque items, or -errno (-EIO: FILE changed, -ENOMEM). */
int64_t pk_audit(const pk_doc *doc, FILE *out);

#endif
