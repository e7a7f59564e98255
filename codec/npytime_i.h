/* npytime_i.h: numpy's datetime64 and timedelta64 values as text (npytime.c). Base layer. */
#ifndef NPYTIME_I_H
#define NPYTIME_I_H

#include "buf_i.h"

/* A datetime of t units (unit as numpy names it: "Y", "M", "W", "D", "h", "m", "s", "ms" ...
 * "as"; the count already applied) since the epoch, as numpy writes it (no quotes); false when
 * it cannot be written (an overflow). */
bool pk_npytime_put_datetime(pk_buf *b, const char *unit, int64_t t);
/* numpy's str() of a datetime64 (kind 'M') or timedelta64 ('m') scalar of t units of unit_n
 * unit ("g" for numpy's generic unit): "2024-01-02T03:04:05", "45 seconds", "NaT". False
 * when numpy could not write it either (a datetime of generic unit that is not NaT). */
bool pk_npytime_put_scalar(pk_buf *b, char kind, const char *unit, uint32_t unit_n, int64_t t);

#endif
