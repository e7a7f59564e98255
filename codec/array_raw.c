/* array_raw.c: an array's element bytes, wherever the file keeps them (a bytes node, the
 * stream, the file, memory), and NAME.raw, the file of them beside an array entry NAME.
 *
 * NAME.raw holds the element bytes in C order, exactly arr.tobytes() or
 * tensor.contiguous().numpy().tobytes() (stored byte order). A contiguous array's bytes are one
 * span of its data, which pk_array_span hands out for reading straight from FILE; any other
 * array is gathered element by element through its strides.
 */
#include "array_view_i.h"
#include "ckpt_i.h"
#include "source_i.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* len bytes at byte off of the array's data (checked in range by the caller). */
ssize_t pk_array_data_read(const pk_doc *doc, const pk_array *a, uint64_t off, void *buf,
                           uint64_t len)
{
    if (off > a->src_len || len > a->src_len - off)
        return -EIO;
    switch ((pk_asrc)a->src) {
    case PK_AS_NODE: return pk_span_read(doc, &doc->nodes[a->src_node], off, buf, len);
    case PK_AS_STREAM:
        return pk_read_span(doc, (pk_span){a->src_pos, a->src_len}, true, off, buf, len);
    case PK_AS_MEM: memcpy(buf, a->src_mem + off, len); return (ssize_t)len;
    case PK_AS_FILE: return pk_source_pread(doc, buf, len, a->src_pos + off);
    case PK_AS_SIDE: return pk_side_pread(doc, a->src_node, buf, len, a->src_pos + off);
    default: return -EIO;
    }
}

/* The storage element index of the i-th element in C order. */
static uint64_t elem_index(const pk_array *a, uint64_t i)
{
    uint64_t at = a->offset;
    for (uint64_t d = a->ndim; d-- > 0;) {
        at += (i % a->shape[d]) * a->stride[d];
        i /= a->shape[d];
    }
    return at;
}

uint64_t pk_array_raw_size(const pk_array *a)
{
    return a->in_range ? a->numel * a->dt.size : 0;
}

/* The raw file: the elements in C order. */
ssize_t pk_array_raw_read(const pk_doc *doc, const pk_array *a, void *buf, size_t size,
                          uint64_t off)
{
    uint64_t total = pk_array_raw_size(a);
    if (off >= total)
        return 0;
    uint64_t n = total - off < size ? total - off : size;
    if (a->contiguous)
        return pk_array_data_read(doc, a, a->offset * a->dt.size + off, buf, n);
    uint64_t es = a->dt.size, done = 0;
    uint8_t el[64];
    while (done < n) {
        uint64_t i = (off + done) / es, within = (off + done) % es;
        uint64_t k = es - within < n - done ? es - within : n - done;
        if (es <= sizeof el) {
            ssize_t r = pk_array_data_read(doc, a, elem_index(a, i) * es, el, es);
            if (r < 0)
                return r;
            memcpy((char *)buf + done, el + within, k);
        } else {
            ssize_t r = pk_array_data_read(doc, a, elem_index(a, i) * es + within,
                                           (char *)buf + done, k);
            if (r < 0)
                return r;
        }
        done += k;
    }
    return (ssize_t)n;
}

int pk_array_span(const pk_doc *doc, uint32_t node, int *fd, uint64_t *pos)
{
    const pk_array *a = pk_array_of(doc, node);
    if (!a || !a->contiguous || !a->in_range || doc->fd < 0 || pk_source_changed(doc))
        return -1;
    uint64_t start = a->offset * a->dt.size;
    if (a->src == PK_AS_FILE) {
        *pos = a->src_pos + start;
    } else if (a->src == PK_AS_STREAM && !doc->src) {
        *pos = doc->fd_base + a->src_pos + start;
    } else if (a->src == PK_AS_NODE && !doc->src && (doc->nodes[a->src_node].flags & PK_NF_SRC)) {
        *pos = doc->fd_base + pk_node_span(doc, &doc->nodes[a->src_node]).pos + start;
    } else {
        return -1;
    }
    *fd = doc->fd;
    return 0;
}
