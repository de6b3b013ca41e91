/*
 * Splitting touching objects: the distance transform of the mask peaks near object centres;
 * its local maxima (at least min_distance apart, found per connected component so a small
 * object next to a large one keeps its own seed) seed a flood of -distance inside the mask.
 */
#include <stdlib.h>
#include <string.h>

#include <stdatomic.h>

#include "core/pool.h"
#include "core/status.h"
#include "post/post.h"

typedef struct fg_count {
    const uint8_t *mask;
    _Atomic int64_t fg;
} fg_count;

static void count_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    fg_count *c = ctx;
    int64_t fg = 0;
    for (int64_t i = b; i < e; i++)
        fg += c->mask[i] != 0;
    atomic_fetch_add(&c->fg, fg);
}

int unet__watershed_mask(const uint8_t *mask, const unet__grid *g, const double spacing[3],
                         int min_distance, int rank, uint32_t *labels, uint32_t *count,
                         int threads)
{
    *count = 0;
    fg_count fc = {.mask = mask};
    atomic_init(&fc.fg, 0);
    unet__pool_for(threads, g->n, unet__post_chunk(g->n, threads), count_chunk, &fc);
    const int64_t fg = atomic_load(&fc.fg);
    if (fg == 0 || fg == g->n) {
        /* No background: the distance is infinite everywhere and has no peaks to speak of;
         * the one object is the image. */
        for (int64_t i = 0; i < g->n; i++)
            labels[i] = fg ? 1 : 0;
        *count = fg ? 1 : 0;
        return UNET_OK;
    }
    float *dist = malloc((size_t)g->n * sizeof *dist);
    uint32_t *markers = malloc((size_t)g->n * sizeof *markers);
    int rc;
    if (!dist || !markers) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for the watershed of %lld pixels",
                        (long long)g->n);
        goto done;
    }
    uint32_t ncomp, npeaks;
    if ((rc = unet__distance_transform(mask, g, spacing, dist, threads)) != UNET_OK ||
        (rc = unet__label_components(mask, g, rank, labels, &ncomp, threads)) != UNET_OK ||
        (rc = unet__local_maxima(dist, labels, g, min_distance, markers, &npeaks, threads)) !=
            UNET_OK ||
        (rc = unet__flood(dist, true, markers, mask, g, rank, labels, ncomp, markers,
                          threads)) != UNET_OK)
        goto done;
    /* The flood ran in place on the markers: labels held the components it needed. */
    memcpy(labels, markers, (size_t)g->n * sizeof *labels);
    rc = unet__relabel(labels, g, count);
done:
    free(dist);
    free(markers);
    return rc;
}
