/* zip_lift.c: a zip archive that is neither a torch checkpoint nor a .npz, as a directory of its
 * members (format.c has put their bytes one after another in the stream). A member's path is
 * split at '/' into nested dicts; a member that is a pickle (a PROTO of protocol 2 to 5 first
 * and a STOP last, or pickles of protocol 0 or 1 through and through, as decode_scan.c reads
 * them: one pickle or several back to back) is decoded there as any other, inert,
 * and is its value (a list of values for several); a .npy member is its array; any other member
 * is its bytes. Directories are made in the order their first member comes; a folder whose
 * members come apart in the archive (another folder's between them) is shown twice, the second
 * time with ~1, as dict keys that come twice are.
 *
 * A TorchScript archive (torch.jit.save) is shown the same way, from inside its one folder:
 * data.pkl (the module, its tensors read from the storages of data/, which are not shown
 * again), constants.pkl, and the code/ members, Python source as text files.
 */
#include "array_i.h"
#include "ckpt_i.h"
#include "npy_i.h"

#include <stdlib.h>
#include <string.h>

#define ZIP_DEPTH 64 /* folders below the root kept apart; deeper ones are one name, with / */

/* One folder of the path being made: its name (in k->names) and its dict. */
typedef struct zdir {
    const char *name;
    uint64_t len;
    uint32_t dict;
} zdir;

/* A name from the archive as a dict key: a str, or bytes when it is no UTF-8. */
static uint32_t zip_key(pk_lift_ctx *c, const char *name, uint64_t len)
{
    return pk_lift_name_key(c, name, len);
}

static int zip_pair(pk_lift_ctx *c, uint32_t dict, uint32_t key, uint32_t value)
{
    if (!key || !value)
        return -1;
    if (pk_chain_add(c->doc, dict, key) < 0 || pk_chain_add(c->doc, dict, value) < 0)
        return pk_lift_oom(c);
    return 0;
}

static bool looks_pickled(const uint8_t *p, uint64_t len)
{
    return len >= 3 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5 && p[len - 1] == '.';
}

/* The pickles of [pos, end): the value of the one, or a list of them. 0 with the error set. */
static uint32_t zip_pickles(pk_lift_ctx *c, uint64_t pos, uint64_t end)
{
    uint32_t list = 0, v = 0;
    while (pos < end) {
        uint64_t stop;
        if (pk_lift_pickle(c, pos, end, &v, &stop) < 0)
            return 0;
        if (pos == stop) /* not reached: a pickle is one byte at least */
            break;
        if (stop < end && !list && !(list = pk_lift_new_node(c, PK_K_LIST)))
            return 0;
        if (list && pk_chain_add(c->doc, list, v) < 0)
            return pk_lift_oom(c), 0;
        pos = stop;
    }
    return list ? list : v;
}

/* A member's value: a pickle's, a .npy's array, or its bytes. 0 with the error set. */
static uint32_t zip_member(pk_lift_ctx *c, const pk_zent *z)
{
    pk_doc *doc = c->doc;
    const uint8_t *p = doc->src + z->at;
    pk_lift_at(c, z->at);
    if (looks_pickled(p, z->usize) || pk_scan_old_pickles(p, z->usize))
        return zip_pickles(c, z->at, z->at + z->usize);
    if (pk_npy_looks_like(p, z->usize)) {
        pk_npy *h = malloc(sizeof *h);
        if (!h)
            return pk_lift_oom(c), 0;
        pk_error e = {.code = PK_E_OK, .opcode = -1};
        uint32_t v = 0;
        if (pk_npy_parse(p, z->usize, z->at, h, &e) < 0) {
            pk_lift_at(c, e.offset);
            c->fail(c, e.code, e.what);
        } else if (h->object) {
            v = zip_pickles(c, h->data, z->at + z->usize);
        } else {
            v = pk_npy_array(c, h);
        }
        free(h);
        return v;
    }
    uint32_t b = pk_lift_new_node(c, PK_K_BYTES);
    if (!b)
        return 0;
    doc->nodes[b].flags |= PK_NF_SRC; /* its bytes stay in the stream */
    if (!pk_node_set_span(doc, b, (pk_span){z->at, z->usize}))
        return pk_lift_oom(c), 0;
    return b;
}

/* The next folder name of path[*pos..len), or the rest of it at the depth limit. */
static bool next_part(const char *path, uint64_t len, uint64_t *pos, int depth, const char **s,
                      uint64_t *n)
{
    while (*pos < len && path[*pos] == '/')
        (*pos)++;
    if (*pos >= len)
        return false;
    const char *slash = depth < ZIP_DEPTH ? memchr(path + *pos, '/', len - *pos) : NULL;
    *s = path + *pos;
    *n = slash ? (uint64_t)(slash - *s) : len - *pos;
    *pos += *n;
    return true;
}

/* Place one member: its folders (reusing the previous member's where they are the same), then
 * its value, unless it is a folder's own entry (a name ending in /). */
static int zip_place(pk_lift_ctx *c, const pk_zent *z, zdir *dirs, int *depth)
{
    const pk_ckpt *k = c->doc->ckpt;
    /* names is NULL when every member's name is empty */
    const char *path = k->names ? k->names + z->name_pos : "", *s;
    uint64_t len = z->name_len, pos = 0, n;
    if (k->torchscript && len > k->top_len && path[k->top_len] == '/') {
        pos = k->top_len + 1; /* inside the archive's one folder */
        if (len - pos >= 5 && memcmp(path + pos, "data/", 5) == 0)
            return 0; /* a storage: shown as the tensors of data.pkl that use it */
    }
    bool folder = len && path[len - 1] == '/';
    int d = 0;
    while (next_part(path, len, &pos, d, &s, &n)) {
        uint64_t rest = pos;
        while (rest < len && path[rest] == '/')
            rest++;
        if (rest == len && !folder) { /* the member's own name */
            pk_lift_at(c, z->at);
            return zip_pair(c, dirs[d].dict, zip_key(c, s, n), zip_member(c, z));
        }
        if (d + 1 < *depth && dirs[d + 1].len == n && memcmp(dirs[d + 1].name, s, n) == 0) {
            d++;
            continue;
        }
        uint32_t sub = pk_lift_new_node(c, PK_K_DICT);
        if (!sub || zip_pair(c, dirs[d].dict, zip_key(c, s, n), sub) < 0)
            return -1;
        d++;
        dirs[d] = (zdir){s, n, sub};
        *depth = d + 1;
    }
    return 0;
}

int pk_zip_build(pk_lift_ctx *c, void *arg, uint32_t *top)
{
    (void)arg;
    const pk_ckpt *k = c->doc->ckpt;
    zdir dirs[ZIP_DEPTH + 2];
    pk_lift_at(c, 0);
    dirs[0] = (zdir){"", 0, pk_lift_new_node(c, PK_K_DICT)};
    if (!dirs[0].dict)
        return -1;
    int depth = 1;
    for (uint64_t i = 0; i < k->nents; i++)
        if (zip_place(c, &k->ents[i], dirs, &depth) < 0)
            return -1;
    *top = dirs[0].dict;
    return 0;
}
