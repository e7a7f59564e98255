/* source_i.h: where the decoded stream comes from (a mapped file, a decompressed buffer, or
 * memory a caller owns), and how its bytes are read once the tree is built. */
#ifndef SOURCE_I_H
#define SOURCE_I_H

#include "pk_i.h"

/* Open FILE and map it into doc->src (what it holds is then recognised by format.c). */
int pk_source_open(pk_doc *doc, const char *path, pk_error *err);
/* Use a caller's buffer as the file's content. */
void pk_source_memory(pk_doc *doc, const void *buf, size_t len);
/* Called when the tree is built: a mapped file is unmapped, and from then on source spans are
 * read with pread, so a file truncated under the mount gives EIO instead of SIGBUS. */
void pk_source_settle(pk_doc *doc);
/* The decoder is done with the mapped bytes before upto: they leave the process's memory (they
 * stay in the page cache, and a later touch maps them again), so a big file does not add its
 * whole size to the peak RSS. Does nothing for a source that is not a mapped file. */
void pk_source_release(pk_doc *doc, uint64_t upto);
void pk_source_close(pk_doc *doc);

/* Has FILE changed (size, mtime, deleted) since it was decoded? */
bool pk_source_changed(const pk_doc *doc);

/* Read len bytes of FILE at pos, after checking it has not changed. Returns len, or -EIO. */
ssize_t pk_source_pread(const pk_doc *doc, void *buf, uint64_t len, uint64_t pos);

/* Copy len bytes at off of a span of the pool, or of the source when in_src. Returns len, or
 * -errno. pk_span_read does it for a value's span. */
ssize_t pk_read_span(const pk_doc *doc, pk_span s, bool in_src, uint64_t off, void *buf,
                     uint64_t len);
ssize_t pk_span_read(const pk_doc *doc, const pk_node *n, uint64_t off, void *buf, uint64_t len);
/* Python's repr() of a str (is_bytes false) or bytes value, read from its span, as much as b
 * has room for; b fails (unreadable) when the span cannot be read. */
void pk_span_repr(const pk_doc *doc, const pk_node *n, pk_buf *b, bool is_bytes);

#endif
