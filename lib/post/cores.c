/*
 * Instances from cores: pixels classed 0 (background), 1 (core) or 2 (rim). Each connected
 * component of the cores is one object's seed; flooding grows the seeds over core and rim
 * pixels, highest landscape first, so touching objects meet where the landscape is lowest
 * between them. The 3-class output (interior probability) and the distance output (distance
 * to the edge) both end here.
 */
#include <stdlib.h>

#include "core/status.h"
#include "post/post.h"

int unet__labels_from_cores(const uint8_t *cls, const float *landscape, const unet__grid *g,
                            int rank, uint32_t *labels, uint32_t *count, int threads)
{
    *count = 0;
    uint8_t *mask = malloc((size_t)g->n);
    uint32_t *seeds = malloc((size_t)g->n * sizeof *seeds);
    int rc;
    if (!mask || !seeds) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for the seeds of %lld pixels",
                        (long long)g->n);
        goto done;
    }
    for (int64_t i = 0; i < g->n; i++)
        mask[i] = cls[i] == 1;
    uint32_t nseeds;
    /* The components go to labels, then into seeds: components cannot overwrite the mask
     * they are reading. */
    if ((rc = unet__label_components(mask, g, rank, labels, &nseeds, threads)) != UNET_OK)
        goto done;
    for (int64_t i = 0; i < g->n; i++) {
        seeds[i] = labels[i];
        mask[i] = cls[i] != 0;
    }
    if ((rc = unet__flood(landscape, true, seeds, mask, g, rank, NULL, 0, labels, threads)) !=
        UNET_OK)
        goto done;
    rc = unet__relabel(labels, g, count);
done:
    free(mask);
    free(seeds);
    return rc;
}
