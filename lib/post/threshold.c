/* Probabilities to a binary mask. */
#include "core/pool.h"
#include "core/status.h"
#include "post/post.h"

typedef struct cut {
    const float *prob;
    float threshold;
    uint8_t *mask;
} cut;

static void cut_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const cut *c = ctx;
    for (int64_t i = b; i < e; i++)
        c->mask[i] = c->prob[i] > c->threshold;
}

int unet__threshold(const float *prob, const unet__grid *g, int ndim, float threshold,
                    uint8_t *mask, int threads)
{
    int64_t bad = unet__first_nan(prob, g->n, threads);
    if (bad >= 0) {
        char where[96];
        return unet__fail(UNET_E_INVALID_ARG, "probability at %s is NaN",
                          unet__grid_where(g, ndim, bad, where, sizeof where));
    }
    cut c = {prob, threshold, mask};
    unet__pool_for(threads, g->n, unet__post_chunk(g->n, threads), cut_chunk, &c);
    return UNET_OK;
}
