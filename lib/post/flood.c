/*
 * Seeded watershed by priority-queue flooding, as skimage.segmentation.watershed does it
 * (without compactness): every marker pixel enters a binary heap ordered by (value, age) with
 * age 0, in raster order; popping a pixel labels each unlabelled neighbour inside the mask
 * with its label at once and pushes it with the next age. The same heap discipline and
 * neighbour order as skimage make the result the same, ties included.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/status.h"
#include "post/post.h"

#define FLOOD_IDX uint32_t
#define FLOOD_NAME(x) x##32
#include "post/flood_impl.h"
#undef FLOOD_IDX
#undef FLOOD_NAME

#define FLOOD_IDX uint64_t
#define FLOOD_NAME(x) x##64
#include "post/flood_impl.h"
#undef FLOOD_IDX
#undef FLOOD_NAME

int unet__flood(const float *landscape, bool negate, const uint32_t *markers,
                const uint8_t *mask, const unet__grid *g, int rank, const uint32_t *regions,
                uint32_t nregions, uint32_t *labels, int threads)
{
    if (labels != markers)
        memcpy(labels, markers, (size_t)g->n * sizeof *labels);
    if (mask)
        for (int64_t i = 0; i < g->n; i++)
            if (!mask[i])
                labels[i] = 0;
    unet__nbhd nb;
    unet__nbhd_make(rank, &nb);
    int64_t off[26];
    for (int k = 0; k < nb.count; k++)
        off[k] = (nb.dz[k] * g->h + nb.dy[k]) * g->w + nb.dx[k];
    float sign = negate ? -1.0f : 1.0f;

    /* The mask's connected components flood independently: one at a time, each stays in
     * cache (a whole-image priority queue jumps across the image at every pop), and threads
     * take different ones. Without a mask the image is one region. */
    uint32_t *own = NULL;
    int64_t *seeds = NULL;
    size_t *start = NULL;
    int rc = UNET_OK;
    if (!mask) {
        nregions = 1;
    } else if (!regions) {
        own = malloc((size_t)g->n * sizeof *own);
        if (!own)
            goto nomem;
        if ((rc = unet__label_components(mask, g, rank, own, &nregions, threads)) != UNET_OK)
            goto done;
        regions = own;
    }
    /* Seeds bucketed by region, raster order kept within each (a counting sort). */
    start = calloc((size_t)nregions + 2, sizeof *start);
    if (!start)
        goto nomem;
    size_t nseeds = 0;
    for (int64_t i = 0; i < g->n; i++)
        if (labels[i]) {
            start[(mask ? regions[i] : 1) + 1]++;
            nseeds++;
        }
    seeds = malloc((nseeds ? nseeds : 1) * sizeof *seeds);
    if (!seeds)
        goto nomem;
    for (size_t r = 1; r <= (size_t)nregions + 1; r++)
        start[r] += start[r - 1];
    for (int64_t i = 0; i < g->n; i++)
        if (labels[i])
            seeds[start[mask ? regions[i] : 1]++] = i;
    /* start[r] now ends region r; shifted, start[r - 1] begins it: regions 1..n are
     * start[0..n]. */
    rc = g->n < (int64_t)UINT32_MAX
             ? all32(landscape, sign, mask, g, &nb, off, seeds, start, nregions, labels, threads)
             : all64(landscape, sign, mask, g, &nb, off, seeds, start, nregions, labels, threads);
    if (rc != UNET_OK)
        goto nomem;
    goto done;
nomem:
    rc = unet__fail(UNET_E_NOMEM, "out of memory for the watershed queue");
done:
    free(own);
    free(seeds);
    free(start);
    return rc;
}
