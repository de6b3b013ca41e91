/* Helpers shared by the post-processing files: neighbourhoods, NaN checks. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/pool.h"
#include "post/post.h"

void unet__nbhd_make(int rank, unet__nbhd *nb)
{
    /* Footprint in raster order, then a stable pass per L1 distance: skimage sorts its
     * offsets by distance with a stable sort, and flooding ties follow that order. */
    nb->count = 0;
    for (int l1 = 1; l1 <= rank; l1++)
        for (int dz = -1; dz <= 1; dz++)
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    if (abs(dz) + abs(dy) + abs(dx) != l1)
                        continue;
                    nb->dz[nb->count] = dz;
                    nb->dy[nb->count] = dy;
                    nb->dx[nb->count] = dx;
                    nb->count++;
                }
}

typedef struct nan_scan {
    const float *x;
    _Atomic int64_t first;
} nan_scan;

static void nan_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    nan_scan *s = ctx;
    for (int64_t i = b; i < e; i++)
        if (isnan(s->x[i])) {
            int64_t cur = atomic_load(&s->first);
            while (i < cur && !atomic_compare_exchange_weak(&s->first, &cur, i))
                ;
            return;
        }
}

int64_t unet__first_nan(const float *x, int64_t n, int threads)
{
    nan_scan s = {.x = x};
    atomic_init(&s.first, INT64_MAX);
    unet__pool_for(threads, n, unet__post_chunk(n, threads), nan_chunk, &s);
    const int64_t first = atomic_load(&s.first);
    return first == INT64_MAX ? -1 : first;
}

int64_t unet__post_chunk(int64_t n, int threads)
{
    return unet__pool_chunk(n, threads, 4, 1 << 14);
}

const char *unet__grid_where(const unet__grid *g, int ndim, int64_t i, char *buf, size_t size)
{
    int64_t x = i % g->w, y = i / g->w % g->h, z = i / (g->w * g->h);
    if (ndim == 3)
        snprintf(buf, size, "(z %lld, y %lld, x %lld)", (long long)z, (long long)y,
                 (long long)x);
    else
        snprintf(buf, size, "(y %lld, x %lld)", (long long)y, (long long)x);
    return buf;
}
