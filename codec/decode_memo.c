/* decode_memo.c: the memo, where PUT, BINPUT and MEMOIZE keep a value by index for GET and
 * BINGET to push again; a GET shares the value, never copies it.
 *
 * Two parts, as struct memo (decode_i.h) says: a dense array for the indices picklers use
 * (0, 1, 2...), bounded so that a file cannot make it big by naming a huge index, and an
 * open-addressing table for the sparse rest. The fast path (decode_fast.c) reads and writes
 * the array directly, in the common case of memo_put and memo_get below.
 */
#include "decode_i.h"

#include <stdlib.h>

#define MEMO_DENSE_SLACK 4096
/* The array's zeroed slots grow by this many at a time, not by doubling, so the prefault
 * thread readies their pages ahead of the memset instead of the decoder faulting them in. */
#define MEMO_ZERO_STEP ((uint64_t)16 << 10)

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static COLD int memo_put_slow(dec *d, uint64_t idx, uint32_t node)
{
    if (idx >= d->doc->lim.max_memo)
        return dec_failf(d, PK_E_MEMO_LIMIT, "memo index %llu past the limit of %llu", idx,
                     (unsigned long long)d->doc->lim.max_memo);
    memo *m = &d->memo;
    uint64_t h;
    if (idx >= m->ndense && idx <= 2 * m->count + MEMO_DENSE_SLACK) {
        uint64_t n = idx + 1 > m->ndense + MEMO_ZERO_STEP ? idx + 1 : m->ndense + MEMO_ZERO_STEP;
        if (n > m->cap_dense) {
            uint64_t cap = m->cap_dense ? m->cap_dense : MEMO_DENSE_SLACK;
            while (cap < n)
                cap *= 2;
            uint32_t *nd = realloc(m->dense, cap * sizeof *nd);
            if (!nd)
                return dec_oom(d);
            m->dense = nd;
            m->cap_dense = cap;
        }
        memset(m->dense + m->ndense, 0, (n - m->ndense) * sizeof *m->dense);
        m->ndense = n;
    }
    if (idx < m->ndense) {
        if (!m->dense[idx] && m->nhashed) {
            /* put in the table before the array reached it: it stays there */
            for (h = hash64(idx + 1) & (m->cap - 1); m->keys[h]; h = (h + 1) & (m->cap - 1))
                if (m->keys[h] == idx + 1) {
                    m->vals[h] = node;
                    return 0;
                }
        }
        if (!m->dense[idx])
            m->count++;
        m->dense[idx] = node;
        return 0;
    }
    if ((m->nhashed + 1) * 2 > m->cap) {
        uint64_t ncap = m->cap ? m->cap * 2 : 64;
        uint64_t *nk = calloc(ncap, sizeof *nk);
        uint32_t *nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            return dec_oom(d);
        }
        for (uint64_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            uint64_t j = hash64(m->keys[i]) & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    h = hash64(idx + 1) & (m->cap - 1);
    while (m->keys[h] && m->keys[h] != idx + 1)
        h = (h + 1) & (m->cap - 1);
    if (!m->keys[h]) {
        m->keys[h] = idx + 1;
        m->count++;
        m->nhashed++;
    }
    m->vals[h] = node;
    return 0;
}

/* Memoize node at idx. Inline for the common case: a slot of the array, and no earlier entry
 * of the table to update (memo_put_slow). */
static inline int memo_put(dec *d, uint64_t idx, uint32_t node)
{
    memo *m = &d->memo;
    if (idx < m->ndense && idx < d->doc->lim.max_memo && (m->dense[idx] || !m->nhashed)) {
        m->count += !m->dense[idx];
        m->dense[idx] = node;
        return 0;
    }
    return memo_put_slow(d, idx, node);
}

static COLD uint32_t memo_get_slow(dec *d, uint64_t idx)
{
    memo *m = &d->memo;
    if (m->cap && idx < UINT64_MAX) {
        uint64_t h = hash64(idx + 1) & (m->cap - 1);
        while (m->keys[h]) {
            if (m->keys[h] == idx + 1)
                return m->vals[h];
            h = (h + 1) & (m->cap - 1);
        }
    }
    return dec_failf(d, PK_E_MEMO_MISSING, "memo value not found at index %llu", idx, 0), 0;
}

/* The value memoized at idx, or 0 (the error set). Inline for a slot of the array. */
static inline uint32_t memo_get(dec *d, uint64_t idx)
{
    const memo *m = &d->memo;
    if (idx < m->ndense && m->dense[idx])
        return m->dense[idx];
    return memo_get_slow(d, idx);
}

void dec_memo_clear(memo *m)
{
    free(m->keys);
    free(m->vals);
    free(m->dense);
    memset(m, 0, sizeof *m);
}

/* A decimal memo index (GET, PUT). */
static int read_index_line(dec *d, uint64_t *idx)
{
    uint64_t len;
    const uint8_t *s = dec_take_line(d, &len);
    if (!s)
        return -1;
    uint64_t v = 0, i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i < len && s[i] == '+')
        i++;
    uint64_t start = i;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return dec_fail(d, PK_E_MEMO_LIMIT, "memo index past the limit");
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (i == start)
        return dec_fail(d, PK_E_BAD_ARGUMENT, "invalid memo index");
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i != len)
        return dec_fail(d, PK_E_BAD_ARGUMENT, "invalid memo index");
    *idx = v;
    return 0;
}

int load_get(dec *d)
{
    uint64_t idx;
    if (read_index_line(d, &idx) < 0)
        return -1;
    return push(d, memo_get(d, idx));
}

/* BINGET, LONG_BINGET: the index in w bytes, unsigned. */
int load_binget(dec *d, int w)
{
    const uint8_t *s = take(d, (uint64_t)w);
    return s ? push(d, memo_get(d, pk_le(s, w))) : -1;
}

int load_put(dec *d)
{
    uint64_t idx;
    uint32_t a;
    if (read_index_line(d, &idx) < 0 || !(a = top(d)))
        return -1;
    return memo_put(d, idx, a);
}

/* BINPUT, LONG_BINPUT: the index in w bytes, unsigned. */
int load_binput(dec *d, int w)
{
    const uint8_t *s = take(d, (uint64_t)w);
    uint32_t a;
    if (!s || !(a = top(d)))
        return -1;
    return memo_put(d, pk_le(s, w), a);
}

/* MEMOIZE: PUT at the next index, which is the count of indices put so far. */
int load_memoize(dec *d)
{
    uint32_t a = top(d);
    return a ? memo_put(d, d->memo.count, a) : -1;
}
