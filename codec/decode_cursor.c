/* decode_cursor.c: the machine's cursor over the stream, its frames and its errors.
 *
 * Every read goes through take() (decode_i.h), which knows the bytes left in the stream and in
 * the frame, except an opcode's own byte, which the loop reads while pos is below op_limit
 * (set_limits). What take() leaves to this file is the uncommon: the end of a frame, a read
 * past the end, a line, the chores due every CHORE_STEP bytes; and the opcodes that move the
 * cursor themselves, PROTO and FRAME. An error names the opcode being decoded and its offset.
 */
#include "decode_i.h"

#include <string.h>
#include "prefault_i.h"
#include "source_i.h"

int dec_fail(dec *d, pk_code code, const char *what)
{
    int op = d->op_off < d->end ? d->src[d->op_off] : -1; /* -1: the stream ended before one */
    pk_set_error(d->err, code, d->op_off, op, what);
    return -1;
}

int dec_failf(dec *d, pk_code code, const char *fmt, unsigned long long a, unsigned long long b)
{
    char what[sizeof d->err->what];
    snprintf(what, sizeof what, fmt, a, b);
    return dec_fail(d, code, what);
}

int dec_oom(dec *d)
{
    return dec_fail(d, PK_E_NOMEM, pk_code_text(PK_E_NOMEM));
}

/* n bytes at the cursor, or NULL (with the error set) when the stream or the frame ends first. */
const uint8_t *dec_take_checked(dec *d, uint64_t n)
{
    if (d->frame_end) {
        if (d->pos == d->frame_end) {
            set_frame(d, 0); /* the frame is used up: read unframed, as CPython does */
        } else if (n > d->frame_end - d->pos) {
            dec_fail(d, PK_E_FRAME, "opcode straddles a frame boundary");
            return NULL;
        }
    }
    if (n > d->end - d->pos) {
        dec_failf(d, PK_E_TRUNCATED, "truncated data: %llu bytes needed, %llu left", n,
                  d->end - d->pos);
        return NULL;
    }
    const uint8_t *p = d->src + d->pos;
    d->pos += n;
    return p;
}

COLD const uint8_t *dec_length_refused(dec *d, uint64_t n)
{
    dec_failf(d, PK_E_LENGTH, "length %llu larger than the %llu bytes left", n, d->end - d->pos);
    return NULL;
}

const uint8_t *dec_take_line(dec *d, uint64_t *len)
{
    /* a frame used up is left (dec_take_checked), so its line may run on to the stream's end */
    uint64_t bound = d->frame_end && d->pos < d->frame_end ? d->frame_end : d->end;
    const uint8_t *nl = memchr(d->src + d->pos, '\n', bound - d->pos);
    if (!nl) {
        if (bound != d->end)
            return dec_fail(d, PK_E_FRAME, "opcode straddles a frame boundary"), NULL;
        return dec_fail(d, PK_E_TRUNCATED, "truncated data: line without end"), NULL;
    }
    *len = (uint64_t)(nl - (d->src + d->pos));
    const uint8_t *p = take(d, *len + 1);
    return p;
}

/* Tell the prefault thread how far the decoder is, and give the mapped bytes behind it back
 * every RELEASE_STEP (only for the document's own source, not a decompressed copy). */
static void chores(dec *d)
{
    pk_prefault_hint(d->doc->prefault);
    if (d->pos >= d->release_at) {
        if (d->src == d->doc->src)
            pk_source_release(d->doc, d->pos);
        d->release_at = d->pos + RELEASE_STEP;
    }
    d->chores_at = d->pos + CHORE_STEP;
    set_limits(d);
}

COLD const uint8_t *dec_take_op_slow(dec *d)
{
    if (d->pos >= d->chores_at)
        chores(d);
    if (d->pos == d->end)
        return dec_fail(d, PK_E_NO_STOP, "pickle ends without STOP"), NULL;
    return take(d, 1);
}

/* PROTO: the protocol, which only changes how GLOBAL names are read (dec_new_global). */
int load_proto(dec *d, int w)
{
    const uint8_t *s = take(d, (uint64_t)w);
    if (!s)
        return -1;
    if (s[0] > MAX_PROTOCOL)
        return dec_failf(d, PK_E_PROTOCOL, "unsupported pickle protocol: %llu", s[0], 0);
    d->proto = s[0];
    return 0;
}

/* FRAME: the next len bytes hold whole opcodes; an opcode may not straddle its end. A frame
 * of 0 bytes is no frame. */
int load_frame(dec *d, int w)
{
    const uint8_t *s = take(d, (uint64_t)w);
    if (!s)
        return -1;
    uint64_t len = pk_le(s, w);
    if (d->frame_end && d->pos != d->frame_end)
        return dec_fail(d, PK_E_FRAME, "beginning of a new frame before end of current frame");
    if (len > d->end - d->pos) {
        dec_failf(d, PK_E_LENGTH, "frame length %llu larger than the %llu bytes left", len,
                  d->end - d->pos);
        if (!d->doc->lim.partial || d->holding)
            return -1;
        /* a cut checkpoint: what the frame holds is decoded all the same (dec.holding) */
        d->held = *d->err;
        d->holding = true;
        memset(d->err, 0, sizeof *d->err);
        len = d->end - d->pos;
    }
    set_frame(d, len ? d->pos + len : 0);
    return 0;
}
