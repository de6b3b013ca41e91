/*
 * 3-class output (background, interior, boundary) to instances: interiors are separated by
 * boundary pixels, so their connected components are the objects' cores; flooding grows each
 * core over the boundary pixels around it, most interior-like first, and touching objects
 * meet inside their shared boundary (cores.c).
 */
#include <stdlib.h>

#include "core/pool.h"
#include "core/status.h"
#include "post/post.h"

typedef struct argmax {
    const float *bg, *in, *bd;
    uint8_t *cls;
} argmax;

/* Argmax, ties to the lower class: 1 interior, 2 boundary, 0 background. */
static void argmax_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const argmax *a = ctx;
    const float *bg = a->bg, *in = a->in, *bd = a->bd;
    for (int64_t i = b; i < e; i++)
        a->cls[i] = in[i] > bg[i] && in[i] >= bd[i] ? 1 : bd[i] > bg[i] && bd[i] > in[i] ? 2 : 0;
}

int unet__labels_from_3class(const float *probs, const unet__grid *g, int ndim, int rank,
                             uint32_t *labels, uint32_t *count, int threads)
{
    *count = 0;
    int64_t bad = unet__first_nan(probs, 3 * g->n, threads);
    if (bad >= 0) {
        char where[96];
        return unet__fail(UNET_E_INVALID_ARG, "%s probability at %s is NaN",
                          bad / g->n == 0 ? "background" : bad / g->n == 1 ? "interior"
                                                                             : "boundary",
                          unet__grid_where(g, ndim, bad % g->n, where, sizeof where));
    }
    const float *bg = probs, *in = probs + g->n, *bd = probs + 2 * g->n;
    uint8_t *cls = malloc((size_t)g->n);
    if (!cls)
        return unet__fail(UNET_E_NOMEM, "out of memory for 3-class labelling of %lld pixels",
                          (long long)g->n);
    argmax am = {bg, in, bd, cls};
    unet__pool_for(threads, g->n, unet__post_chunk(g->n, threads), argmax_chunk, &am);
    int rc = unet__labels_from_cores(cls, in, g, rank, labels, count, threads);
    free(cls);
    return rc;
}
