#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

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

void *unet__alloc_aligned(size_t bytes)
{
    /* Round up so aligned_alloc's size rule holds; never ask for 0 bytes. */
    size_t rounded = (bytes + UNET__ALIGN - 1) / UNET__ALIGN * UNET__ALIGN;
    if (rounded < bytes)
        return NULL;
    if (rounded == 0)
        rounded = UNET__ALIGN;
    return aligned_alloc(UNET__ALIGN, rounded);
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
    free(p);
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
