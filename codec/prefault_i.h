/* prefault_i.h: the page-readying thread (prefault.c). */
#ifndef PREFAULT_I_H
#define PREFAULT_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* prefault.c: a thread that readies the pages the growing arrays are about to use. start gives
 * NULL (and every call does nothing) when the source is small or there is one core; the writer
 * names its arrays with watch, calls hint every few tens of KiB of growth, and stop before
 * freeing any watched array (or unwatch it, or has its pointer read NULL). */
typedef struct pk_prefault pk_prefault;
pk_prefault *pk_prefault_start(uint64_t src_len);
void pk_prefault_watch(pk_prefault *pf, void *const *base, const uint64_t *len,
                       const uint64_t *cap, size_t elem);
void pk_prefault_unwatch(pk_prefault *pf, void *const *base);
/* And a source that a reader goes through from *pos to *len, to be read in ahead; with
 * give_back (only for a read-only mapping of a file, mapped until stop), its pages a megabyte
 * behind *pos are given back too. True when the thread will give them back. */
bool pk_prefault_read(pk_prefault *pf, const uint8_t *const *base, const uint64_t *pos,
                      const uint64_t *len, bool give_back);
void pk_prefault_hint(pk_prefault *pf);
void pk_prefault_stop(pk_prefault *pf);



#endif
