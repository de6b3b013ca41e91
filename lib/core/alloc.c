#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

bool unet__mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return false;
    *out = a * b;
    return true;
}

bool unet__product(const int64_t *dims, int n, int64_t limit, int64_t *out)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] != 0 && p > limit / dims[i])
            return false;
        p *= dims[i];
    }
    *out = p;
    return true;
}

/*
 * Large buffers (tile activations, bands, strips) come straight from mmap and go straight back
 * with munmap. Through malloc they would land on the heap once glibc's adaptive mmap threshold
 * has risen, and a long tiled run then fragments it: resident memory grew with the image's
 * size instead of staying bounded by one band of tiles. Every block carries a 64-byte header
 * with its mapping size (0 for heap blocks), which also keeps the payload 64-byte aligned.
 */
#define MMAP_FROM ((size_t)1 << 20)

typedef struct block_header {
    size_t mapped; /* bytes mapped including this header, or 0 when from aligned_alloc */
} block_header;

void *unet__alloc_aligned(size_t bytes)
{
    if (bytes > SIZE_MAX - 2 * UNET__ALIGN)
        return NULL;
    size_t total = (bytes + UNET__ALIGN + UNET__ALIGN - 1) / UNET__ALIGN * UNET__ALIGN;
    unsigned char *base;
    if (total >= MMAP_FROM) {
        void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return NULL;
        base = m;
        ((block_header *)base)->mapped = total;
    } else {
        base = aligned_alloc(UNET__ALIGN, total);
        if (!base)
            return NULL;
        ((block_header *)base)->mapped = 0;
    }
    return base + UNET__ALIGN;
}

void *unet__alloc_aligned_zeroed(size_t bytes)
{
    unsigned char *p = unet__alloc_aligned(bytes);
    if (p && ((block_header *)(p - UNET__ALIGN))->mapped == 0)
        memset(p, 0, bytes); /* a heap block: below MMAP_FROM, so small */
    return p;
}

float *unet__alloc_floats_zeroed(size_t count)
{
    size_t bytes;
    if (!unet__mul_size(count, sizeof(float), &bytes))
        return NULL;
    return unet__alloc_aligned_zeroed(bytes);
}

float *unet__alloc_floats(size_t count)
{
    size_t bytes;
    if (!unet__mul_size(count, sizeof(float), &bytes))
        return NULL;
    return unet__alloc_aligned(bytes);
}

void unet__free_aligned(void *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - UNET__ALIGN;
    size_t mapped = ((block_header *)base)->mapped;
    if (mapped)
        munmap(base, mapped);
    else
        free(base);
}

char *unet__strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

bool unet__reserve_aligned(void **p, size_t *cap, size_t bytes)
{
    if (*p && bytes <= *cap)
        return true;
    unet__free_aligned(*p);
    *p = unet__alloc_aligned(bytes ? bytes : 1);
    *cap = *p ? bytes : 0;
    return *p != NULL;
}
