/* Helpers shared by the post-processing files: neighbourhoods, NaN checks. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

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

int64_t unet__first_nan(const float *x, int64_t n, int threads)
{
    int64_t first = INT64_MAX;
#pragma omp parallel for num_threads(threads) reduction(min : first) schedule(static)
    for (int64_t i = 0; i < n; i++)
        if (isnan(x[i]) && i < first)
            first = i;
    return first == INT64_MAX ? -1 : first;
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
