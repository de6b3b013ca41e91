/* Optimizers (see optim.h). */
#include "train/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/names.h"
#include "core/status.h"

static const char *const names[] = {"sgd", "adam", "adamw"};

int unet__optim_parse(const char *name)
{
    return unet__name_find(names, 3, name);
}

const char *unet__optim_name(unet__optim_kind kind)
{
    return unet__name_of(names, 3, (int)kind);
}

void unet__optim_clear(unet__optim *o)
{
    free(o->m);
    free(o->v);
    unet__free_aligned(o->storage);
    o->m = o->v = NULL;
    o->storage = NULL;
    o->state_floats = 0;
    o->t = 0;
}

int unet__optim_init(unet__optim *o, int nparams, const int64_t *numel, const bool *trainable)
{
    o->nparams = nparams;
    o->numel = numel;
    o->t = 0;
    o->m = calloc((size_t)nparams, sizeof *o->m);
    o->v = calloc((size_t)nparams, sizeof *o->v);
    int64_t total = 0;
    for (int i = 0; i < nparams; i++)
        if (trainable[i])
            total += numel[i];
    o->state_floats = 2 * total;
    o->storage = unet__alloc_floats((size_t)(2 * total + 1));
    if (!o->m || !o->v || !o->storage) {
        unet__optim_clear(o);
        return unet__fail(UNET_E_NOMEM, "out of memory for the optimizer state");
    }
    memset(o->storage, 0, (size_t)(2 * total) * sizeof(float));
    float *p = o->storage;
    for (int i = 0; i < nparams; i++)
        if (trainable[i]) {
            o->m[i] = p;
            o->v[i] = p + total;
            p += numel[i];
        }
    return UNET_OK;
}

void unet__optim_step(unet__optim *o, float *const *params, float *const *grads, double lr,
                      int threads)
{
    o->t++;
    const double wd = o->weight_decay;
    const double bc1 = 1 - pow(o->beta1, (double)o->t), bc2 = 1 - pow(o->beta2, (double)o->t);
    for (int i = 0; i < o->nparams; i++) {
        if (!o->m[i])
            continue;
        float *p = params[i], *m = o->m[i], *v = o->v[i];
        const float *g = grads[i];
        const int64_t n = o->numel[i];
        const bool first = o->t == 1;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(static) if (n > 65536)
        for (int64_t e = 0; e < n; e++) {
            /* float arithmetic step by step, in PyTorch's order, so trajectories match */
            float gr = g[e];
            if (o->kind == UNET__OPT_SGD) {
                if (wd != 0)
                    gr = gr + (float)wd * p[e];
                if (o->momentum != 0) {
                    m[e] = first ? gr : (float)o->momentum * m[e] + gr;
                    gr = o->nesterov ? gr + (float)o->momentum * m[e] : m[e];
                }
                p[e] = p[e] - (float)lr * gr;
            } else {
                if (o->kind == UNET__OPT_ADAMW)
                    p[e] = p[e] * (float)(1 - lr * wd);
                else if (wd != 0)
                    gr = gr + (float)wd * p[e];
                m[e] = (float)o->beta1 * m[e] + (float)(1 - o->beta1) * gr;
                v[e] = (float)o->beta2 * v[e] + (float)(1 - o->beta2) * gr * gr;
                const float denom = sqrtf(v[e]) / (float)sqrt(bc2) + (float)o->eps;
                p[e] = p[e] - (float)(lr / bc1) * (m[e] / denom);
            }
        }
    }
}

double unet__clip_grad_norm(float *const *grads, const int64_t *numel, int nparams,
                            double max_norm)
{
    double ss = 0;
    for (int i = 0; i < nparams; i++)
        if (grads[i])
            for (int64_t e = 0; e < numel[i]; e++)
                ss += (double)grads[i][e] * (double)grads[i][e];
    const double norm = sqrt(ss);
    if (max_norm > 0) {
        const double coef = max_norm / (norm + 1e-6);
        if (coef < 1)
            for (int i = 0; i < nparams; i++)
                if (grads[i])
                    for (int64_t e = 0; e < numel[i]; e++)
                        grads[i][e] = (float)((double)grads[i][e] * coef);
    }
    return norm;
}
