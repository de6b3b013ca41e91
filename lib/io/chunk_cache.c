/* Decoded-chunk cache: a hash index over (page, chunk) and an intrusive LRU list. */
#include "io/chunk_cache.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

static uint32_t hash_of(int64_t page, uint32_t chunk)
{
    uint64_t k = ((uint64_t)page << 32) ^ chunk;
    k *= 0x9E3779B97F4A7C15ull; /* Fibonacci hashing: the high bits mix every key bit */
    return (uint32_t)(k >> 32);
}

void unet__chunk_cache_clear(unet__chunk_cache *c)
{
    for (uint32_t i = 0; i < c->len; i++)
        free(c->entries[i].data);
    free(c->entries);
    free(c->slots);
    memset(c, 0, sizeof *c);
    c->newest = c->oldest = NONE;
}

static void list_unlink(unet__chunk_cache *c, uint32_t i)
{
    unet__chunk *e = &c->entries[i];
    if (e->newer != NONE)
        c->entries[e->newer].older = e->older;
    else
        c->newest = e->older;
    if (e->older != NONE)
        c->entries[e->older].newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NONE;
}

static void list_push_newest(unet__chunk_cache *c, uint32_t i)
{
    unet__chunk *e = &c->entries[i];
    e->older = c->newest;
    e->newer = NONE;
    if (c->newest != NONE)
        c->entries[c->newest].newer = i;
    c->newest = i;
    if (c->oldest == NONE)
        c->oldest = i;
}

static uint32_t slot_of(const unet__chunk_cache *c, int64_t page, uint32_t chunk)
{
    uint32_t s = hash_of(page, chunk) & c->slot_mask;
    while (c->slots[s]) {
        const unet__chunk *e = &c->entries[c->slots[s] - 1];
        if (e->page == page && e->chunk == chunk)
            return s;
        s = (s + 1) & c->slot_mask;
    }
    return s; /* the empty slot ending the probe */
}

unet__chunk *unet__chunk_cache_find(unet__chunk_cache *c, int64_t page, uint32_t chunk)
{
    if (!c->slots)
        return NULL;
    uint32_t s = slot_of(c, page, chunk);
    if (!c->slots[s])
        return NULL;
    uint32_t i = c->slots[s] - 1;
    list_unlink(c, i);
    list_push_newest(c, i);
    return &c->entries[i];
}

/* Linear probing deletion by backward shift: later members of the cluster move up so every
 * key stays reachable from its home slot without tombstones. */
static void index_remove(unet__chunk_cache *c, const unet__chunk *e)
{
    uint32_t hole = slot_of(c, e->page, e->chunk);
    if (!c->slots[hole])
        return;
    uint32_t s = hole;
    for (;;) {
        s = (s + 1) & c->slot_mask;
        if (!c->slots[s])
            break;
        const unet__chunk *m = &c->entries[c->slots[s] - 1];
        uint32_t home = hash_of(m->page, m->chunk) & c->slot_mask;
        /* m may fill the hole unless its home lies cyclically in (hole, s]. */
        bool stays = hole <= s ? (hole < home && home <= s) : (hole < home || home <= s);
        if (!stays) {
            c->slots[hole] = c->slots[s];
            hole = s;
        }
    }
    c->slots[hole] = 0;
}

static bool index_rebuild(unet__chunk_cache *c, uint32_t slot_count)
{
    uint32_t *slots = calloc(slot_count, sizeof *slots);
    if (!slots)
        return false;
    free(c->slots);
    c->slots = slots;
    c->slot_mask = slot_count - 1;
    for (uint32_t i = 0; i < c->len; i++) {
        const unet__chunk *e = &c->entries[i];
        if (e->page >= 0)
            c->slots[slot_of(c, e->page, e->chunk)] = i + 1;
    }
    return true;
}

unet__chunk *unet__chunk_cache_slot(unet__chunk_cache *c, size_t cap, size_t bytes)
{
    if (cap < 1)
        cap = 1;
    if (cap > NONE / 4)
        cap = NONE / 4;
    if (c->len > cap) /* the budget or the chunk size changed: start afresh */
        unet__chunk_cache_clear(c);
    if (!c->entries)
        c->newest = c->oldest = NONE;
    uint32_t i;
    if (c->len < cap) {
        if (c->len == c->alloc) {
            uint32_t n = c->alloc ? 2 * c->alloc : 4;
            unet__chunk *grown = realloc(c->entries, (size_t)n * sizeof *grown);
            if (!grown)
                return NULL;
            c->entries = grown;
            c->alloc = n;
            if (!index_rebuild(c, 2 * n))
                return NULL;
        }
        i = c->len++;
        memset(&c->entries[i], 0, sizeof c->entries[i]);
        c->entries[i].page = -1;
        c->entries[i].newer = c->entries[i].older = NONE;
    } else {
        i = c->oldest;
        list_unlink(c, i);
        if (c->entries[i].page >= 0)
            index_remove(c, &c->entries[i]);
    }
    unet__chunk *e = &c->entries[i];
    e->page = -1;
    list_push_newest(c, i);
    if (e->capacity < bytes) {
        free(e->data);
        e->capacity = 0;
        e->data = calloc(1, bytes); /* large callocs are untouched zero pages: cheap */
        if (!e->data)
            return NULL;
        e->capacity = bytes;
        e->zeroed = true;
    }
    return e;
}

void unet__chunk_cache_insert(unet__chunk_cache *c, unet__chunk *e, int64_t page,
                              uint32_t chunk)
{
    e->page = page;
    e->chunk = chunk;
    c->slots[slot_of(c, page, chunk)] = (uint32_t)(e - c->entries) + 1;
}
