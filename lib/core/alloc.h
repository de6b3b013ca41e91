/* Allocation helpers: overflow-checked sizes and 64-byte-aligned buffers. */
#ifndef UNET_CORE_ALLOC_H
#define UNET_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UNET__ALIGN 64

/* a * b into *out; false on overflow of size_t. */
bool unet__mul_size(size_t a, size_t b, size_t *out);
/* Product of n non-negative int64 dims into *out; false on overflow past `limit`. */
bool unet__product(const int64_t *dims, int n, int64_t limit, int64_t *out);

/* 64-byte aligned allocation of `count` floats (NULL on overflow or failure); free with
 * unet__free_aligned. */
float *unet__alloc_floats(size_t count);
void *unet__alloc_aligned(size_t bytes);
/* The same, zero-filled. Large blocks are fresh anonymous mappings, zero already: nothing is
 * written, so memory a caller claims costs nothing until it is touched. */
void *unet__alloc_aligned_zeroed(size_t bytes);
float *unet__alloc_floats_zeroed(size_t count);
void unet__free_aligned(void *p);
/* Make the aligned buffer *p (of *cap bytes) hold at least `bytes`: reallocated (contents
 * lost) when too small. false when out of memory (then *p is NULL and *cap 0). */
bool unet__reserve_aligned(void **p, size_t *cap, size_t bytes);

/* strdup that returns NULL on NULL. */
char *unet__strdup(const char *s);

#endif
