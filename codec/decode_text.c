/* decode_text.c: the arguments that are text: UNICODE's and STRING's lines with their escapes,
 * UTF-8 checking, and GLOBAL's and INST's "module\nname\n" pairs.
 *
 * The protocol 0 opcodes carry their arguments as lines ending in '\n', with the escapes of
 * Python's own literals: 'raw-unicode-escape' for UNICODE, a quoted Python 2 literal for
 * STRING. They are decoded here into the pool; the binary strs stay in the stream and are only
 * checked (dec_valid_utf8).
 */
#include "decode_i.h"
#include "lift_i.h" /* pk_compat_name, of lift_names.c: the machine layer */

/* Length of the UTF-8 sequence at s (surrogates allowed, as 'surrogatepass' does), 0 if bad. */
static int utf8_seq(const uint8_t *s, uint64_t left)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    int n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || c > 0xf4 || (uint64_t)n > left)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && c == 0xe0 && s[1] < 0xa0)
        return 0; /* overlong */
    if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
        return 0; /* overlong, or past U+10FFFF */
    return n;
}

bool dec_valid_utf8(const uint8_t *s, uint64_t len)
{
    uint64_t i = 0;
    while (i < len) {
        uint64_t w;
        if (len - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ULL) == 0)) {
            i += 8; /* eight ASCII bytes at once: most text is ASCII */
            /* fewer than eight left: if the last eight are ASCII, so is all that is left */
            if (len - i < 8 && i < len &&
                (memcpy(&w, s + len - 8, 8), (w & 0x8080808080808080ULL) == 0))
                return true;
            continue;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int n = utf8_seq(s + i, len - i);
        if (!n)
            return false;
        i += (uint64_t)n;
    }
    return true;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* UNICODE's line is 'raw-unicode-escape': bytes are Latin-1 code points, except
 * \uXXXX and \UXXXXXXXX. */
static uint32_t unicode_line(dec *d, const uint8_t *s, uint64_t len)
{
    pk_buf b = {0};
    b.max = SIZE_MAX;
    for (uint64_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
            /* an odd run of backslashes escapes; raw-unicode-escape only looks at the one
             * before the u, as CPython does */
            int nd = s[i + 1] == 'u' ? 4 : 8;
            if (i + 2 + (uint64_t)nd > len) {
                pk_buf_free(&b);
                return dec_fail(d, PK_E_BAD_ARGUMENT, "truncated \\uXXXX escape"), 0;
            }
            uint32_t cp = 0;
            for (int k = 0; k < nd; k++) {
                int h = hexval(s[i + 2 + (uint64_t)k]);
                if (h < 0) {
                    pk_buf_free(&b);
                    return dec_fail(d, PK_E_BAD_ARGUMENT, "truncated \\uXXXX escape"), 0;
                }
                cp = cp << 4 | (uint32_t)h;
            }
            if (cp > 0x10ffff) {
                pk_buf_free(&b);
                return dec_fail(d, PK_E_BAD_ARGUMENT, "\\Uxxxxxxxx out of range"), 0;
            }
            pk_buf_put_utf8(&b, cp);
            i += 1 + (uint64_t)nd;
        } else {
            pk_buf_put_utf8(&b, s[i]);
        }
    }
    uint32_t n = dec_new_pooled(d, PK_K_STR, &b);
    pk_buf_free(&b);
    return n;
}

/* STRING's line: a quoted Python 2 string literal, decoded as codecs.escape_decode does. */
static uint32_t string_line(dec *d, const uint8_t *s, uint64_t len)
{
    if (len < 2 || s[0] != s[len - 1] || (s[0] != '\'' && s[0] != '"'))
        return dec_fail(d, PK_E_BAD_ARGUMENT, "the STRING opcode argument must be quoted"), 0;
    s++;
    len -= 2;
    pk_buf b = {0};
    b.max = SIZE_MAX;
    for (uint64_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (c != '\\') {
            pk_buf_put(&b, &c, 1);
            continue;
        }
        if (++i >= len) {
            pk_buf_free(&b);
            return dec_fail(d, PK_E_BAD_ARGUMENT, "trailing \\ in string"), 0;
        }
        c = s[i];
        uint8_t out;
        switch (c) {
        case '\n': continue;
        case '\\': case '\'': case '"': out = c; break;
        case 'a': out = 7; break;
        case 'b': out = 8; break;
        case 't': out = 9; break;
        case 'n': out = 10; break;
        case 'v': out = 11; break;
        case 'f': out = 12; break;
        case 'r': out = 13; break;
        case 'x': {
            int h1 = i + 1 < len ? hexval(s[i + 1]) : -1;
            int h2 = i + 2 < len ? hexval(s[i + 2]) : -1;
            if (h1 < 0 || h2 < 0) {
                pk_buf_free(&b);
                return dec_fail(d, PK_E_BAD_ARGUMENT, "invalid \\x escape"), 0;
            }
            out = (uint8_t)(h1 << 4 | h2);
            i += 2;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                unsigned v = c - '0';
                for (int k = 0; k < 2 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                    v = v * 8 + (unsigned)(s[++i] - '0');
                out = (uint8_t)v;
            } else {
                pk_buf_put(&b, "\\", 1); /* unknown escapes stay as they are */
                out = c;
            }
        }
        pk_buf_put(&b, &out, 1);
    }
    /* Python 3 loads Python 2 str as str when it is ASCII (the default encoding); other bytes
     * are shown as bytes, which is what they were. */
    bool ascii = true;
    for (size_t i = 0; i < b.len; i++)
        ascii &= (uint8_t)b.data[i] < 0x80;
    uint32_t n = dec_new_pooled(d, ascii ? PK_K_STR : PK_K_BYTES, &b);
    pk_buf_free(&b);
    return n;
}

int load_unicode(dec *d)
{
    uint64_t len;
    const uint8_t *s = dec_take_line(d, &len);
    return s ? push(d, unicode_line(d, s, len)) : -1;
}

int load_string(dec *d)
{
    uint64_t len;
    const uint8_t *s = dec_take_line(d, &len);
    return s ? push(d, string_line(d, s, len)) : -1;
}

/* GLOBAL and INST name a callable by two lines, module and name: "module.name" in the pool.
 * Below protocol 3, Python 2 names are spelled as Python 3 would import them (lift_names.c). */
uint32_t dec_new_global(dec *d, const uint8_t *mod, uint64_t mlen, const uint8_t *name,
                           uint64_t nlen)
{
    if (!dec_valid_utf8(mod, mlen) || !dec_valid_utf8(name, nlen))
        return dec_fail(d, PK_E_BAD_ARGUMENT, "invalid UTF-8 in module or name"), 0;
    const char *nmod, *nname;
    if (d->proto < 3 && pk_compat_name(mod, mlen, name, nlen, &nmod, &nname)) {
        mod = (const uint8_t *)nmod;
        mlen = strlen(nmod);
        if (nname) {
            name = (const uint8_t *)nname;
            nlen = strlen(nname);
        }
    }
    pk_buf b = {0};
    b.max = SIZE_MAX;
    pk_buf_put(&b, mod, mlen);
    pk_buf_put(&b, ".", 1);
    pk_buf_put(&b, name, nlen);
    uint32_t n = dec_new_pooled(d, PK_K_GLOBAL, &b);
    pk_buf_free(&b);
    return n && dec_event(d, PK_EV_GLOBAL, n, 0, 0) ? n : 0;
}

int dec_read_namepair(dec *d, uint32_t *out)
{
    uint64_t mlen, nlen;
    const uint8_t *mod = dec_take_line(d, &mlen);
    if (!mod)
        return -1;
    const uint8_t *name = dec_take_line(d, &nlen);
    if (!name)
        return -1;
    *out = dec_new_global(d, mod, mlen, name, nlen);
    return *out ? 0 : -1;
}
