/* A cache of decoded TIFF chunks (strips or tiles) keyed by (page, chunk): hash-indexed lookup
 * and least-recently-used eviction, both O(1), so files of millions of tiny tiles cost no
 * quadratic search. Internal to io/. */
#ifndef UNET_IO_CHUNK_CACHE_H
#define UNET_IO_CHUNK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct unet__chunk {
    int64_t page; /* -1: holds nothing valid (not in the index) */
    uint32_t chunk;
    uint32_t newer, older; /* LRU list links (entry indices; UINT32_MAX: none) */
    uint8_t *data;
    size_t capacity;
    bool zeroed; /* data is all zeros (fresh from calloc) */
} unet__chunk;

typedef struct unet__chunk_cache {
    unet__chunk *entries;
    uint32_t len, alloc;
    uint32_t *slots;    /* open addressing, linear probing: entry index + 1, 0 empty */
    uint32_t slot_mask; /* slot count - 1 (a power of two >= 2 x alloc) */
    uint32_t newest, oldest;
} unet__chunk_cache;

/* Release every entry (the cache is then empty and reusable). */
void unet__chunk_cache_clear(unet__chunk_cache *c);

/* The entry holding (page, chunk), marked most recently used; NULL when absent. */
unet__chunk *unet__chunk_cache_find(unet__chunk_cache *c, int64_t page, uint32_t chunk);

/* An entry with room for `bytes` for a new chunk: a new one while fewer than `cap` entries
 * exist, else the least recently used one (removed from the index). Its page is -1 until
 * unet__chunk_cache_insert; NULL when out of memory. A smaller `cap` than before empties the
 * cache first. */
unet__chunk *unet__chunk_cache_slot(unet__chunk_cache *c, size_t cap, size_t bytes);

/* Index a slot (from unet__chunk_cache_slot) now filled with (page, chunk). */
void unet__chunk_cache_insert(unet__chunk_cache *c, unet__chunk *e, int64_t page,
                              uint32_t chunk);

#endif
