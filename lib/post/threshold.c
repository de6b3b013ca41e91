/* Probabilities to a binary mask. */
#include "core/status.h"
#include "post/post.h"

int unet__threshold(const float *prob, const unet__grid *g, int ndim, float threshold,
                    uint8_t *mask, int threads)
{
    int64_t bad = unet__first_nan(prob, g->n, threads);
    if (bad >= 0) {
        char where[96];
        return unet__fail(UNET_E_INVALID_ARG, "probability at %s is NaN",
                          unet__grid_where(g, ndim, bad, where, sizeof where));
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < g->n; i++)
        mask[i] = prob[i] > threshold;
    return UNET_OK;
}
