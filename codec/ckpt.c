/* ckpt.c: doc->ckpt, what the formats around a pickle stream leave for later (a zip archive's
 * members, a legacy checkpoint's storages, the arrays): made on first use, freed at close. */
#include "ckpt_i.h"
#include "safetensors_i.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

pk_ckpt *pk_ckpt_get(pk_doc *doc)
{
    if (!doc->ckpt)
        doc->ckpt = calloc(1, sizeof *doc->ckpt);
    return doc->ckpt;
}

void pk_ckpt_free(pk_doc *doc)
{
    pk_ckpt *k = doc->ckpt;
    if (!k)
        return;
    for (uint64_t i = 0; i < k->nents; i++)
        free(k->ents[i].mem);
    for (uint64_t i = 0; i < k->nsides; i++)
        free(k->sides[i].mem);
    free(k->sides);
    for (uint64_t i = 0; i < k->narrays; i++)
        free(atomic_load(&k->arrays[i].summary));
    if (k->map && k->map_unmap)
        munmap((void *)(uintptr_t)k->map, (size_t)k->map_len);
    free(k->names);
    free(k->ents);
    free(k->arrays);
    free(k->fields);
    free(k->npy);
    if (k->st)
        pk_st_free(k->st);
    free(k->st);
    free(k);
    doc->ckpt = NULL;
}

