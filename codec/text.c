/* text.c: Python's repr() of a str or bytes, from its bytes: the quote Python picks, the
 * escapes it writes, and which code points it counts as printable. */
#include "buf_i.h"

#include <stdio.h>
#include <string.h>

/* Is code point cp printable, as str.isprintable() says? Exact for ASCII and Latin-1; beyond,
 * the format, separator, surrogate and private-use ranges are escaped and the rest kept. */
static bool printable(uint32_t cp)
{
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad)
        return false;
    if (cp < 0x100)
        return true;
    if ((cp >= 0xd800 && cp <= 0xf8ff) || (cp >= 0x2000 && cp <= 0x200f) ||
        (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) || cp == 0x1680 ||
        cp == 0x3000 || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) || cp == 0x061c ||
        cp == 0x180e || cp == 0xfffe || cp == 0xffff || cp >= 0xf0000 ||
        (cp >= 0xe0000 && cp <= 0xe0fff))
        return false;
    return true;
}

/* Decode one UTF-8 sequence (surrogates allowed); the decoder has validated the string. */
static int utf8_decode(const uint8_t *s, uint64_t left, uint32_t *cp)
{
    uint8_t c = s[0];
    if (c < 0x80 || left < 2) {
        *cp = c;
        return 1;
    }
    if (c < 0xe0) {
        *cp = (uint32_t)(c & 0x1f) << 6 | (s[1] & 0x3f);
        return 2;
    }
    if (c < 0xf0 || left < 4) {
        if (left < 3) {
            *cp = c;
            return 1;
        }
        *cp = (uint32_t)(c & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
        return 3;
    }
    *cp = (uint32_t)(c & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
          (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
    return 4;
}

/* Python's quote choice: single quotes unless the text has ' and no ". */
static char pick_quote(const uint8_t *s, uint64_t len)
{
    if (len == 0) /* s may then be NULL (an empty buffer), which memchr must not see */
        return '\'';
    bool sq = memchr(s, '\'', len) != NULL, dq = memchr(s, '"', len) != NULL;
    return sq && !dq ? '"' : '\'';
}

static void put_escaped_char(pk_buf *b, uint32_t c, char quote)
{
    char t[12];
    if (c == '\\' || c == (uint32_t)quote) {
        t[0] = '\\';
        t[1] = (char)c;
        pk_buf_put(b, t, 2);
    } else if (c == '\t') {
        pk_buf_puts(b, "\\t");
    } else if (c == '\n') {
        pk_buf_puts(b, "\\n");
    } else if (c == '\r') {
        pk_buf_puts(b, "\\r");
    } else if (c < 0x100) {
        snprintf(t, sizeof t, "\\x%02x", c);
        pk_buf_put(b, t, 4);
    } else if (c < 0x10000) {
        snprintf(t, sizeof t, "\\u%04x", c);
        pk_buf_put(b, t, 6);
    } else {
        snprintf(t, sizeof t, "\\U%08x", c);
        pk_buf_put(b, t, 10);
    }
}

void pk_repr_text(pk_buf *b, const uint8_t *s, uint64_t len, bool is_bytes)
{
    char quote = pick_quote(s, len);
    if (is_bytes)
        pk_buf_put(b, "b", 1);
    pk_buf_put(b, &quote, 1);
    for (uint64_t i = 0; i < len && !pk_buf_full(b);) {
        uint32_t cp;
        int k = is_bytes ? (cp = s[i], 1) : utf8_decode(s + i, len - i, &cp);
        bool plain = is_bytes ? (cp >= 0x20 && cp < 0x7f) : printable(cp);
        if (plain && cp != '\\' && cp != (uint32_t)quote)
            pk_buf_put(b, s + i, (size_t)k);
        else
            put_escaped_char(b, cp, quote);
        i += (uint64_t)k;
    }
    pk_buf_put(b, &quote, 1);
}
