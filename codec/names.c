/* names.c: which bytes can be an entry's name as they are (Linux's rules: 1 to 255 bytes, no
 * '/' or NUL, not "." or ".."), and the check of a str dict key against them, which the
 * decoder makes once per key while the source is mapped. */
#include "pk_i.h"

/* Does one of the 8 bytes of w hold a NUL or a '/'? (A byte b is 0 exactly when b - 1 borrows
 * into its top bit while b's top bit was clear; x ^ '/' is 0 exactly when x is '/'.) */
static bool word_has_nul_or_slash(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, tops = 0x8080808080808080ULL;
    uint64_t v = w ^ (ones * '/');
    return (((w - ones) & ~w) | ((v - ones) & ~v)) & tops;
}

bool pk_valid_name(const char *s, size_t len)
{
    if (len == 0 || len > PK_NAME_MAX || (len == 1 && s[0] == '.') ||
        (len == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    uint64_t w;
    if (len < 8) {
        for (size_t i = 0; i < len; i++)
            if (s[i] == '/' || s[i] == 0)
                return false;
        return true;
    }
    /* eight bytes at a time, the last eight read again where they overlap */
    for (size_t i = 0; i < len; i += 8) {
        memcpy(&w, s + (i + 8 <= len ? i : len - 8), 8);
        if (word_has_nul_or_slash(w))
            return false;
    }
    return true;
}

int pk_key_check_name(pk_doc *doc, uint32_t key)
{
    pk_node *k = &doc->nodes[key];
    uint64_t len = pk_span_len(doc, k);
    if (len <= PK_NAME_MAX && !pk_node_to_pool(doc, key))
        return -1;
    const char *p = (const char *)pk_span_ptr(doc, k);
    k->flags |= PK_NF_NAMED;
    if (p && pk_valid_name(p, (size_t)len))
        k->flags |= PK_NF_NAME_OK;
    return (k->flags & PK_NF_NAME_OK) != 0;
}
