/*
 * Optimizers with PyTorch's update rules (torch.optim, 1.13, single-tensor path), on every
 * trainable parameter tensor of a model, plus global-norm gradient clipping.
 *   SGD:   g += wd p; b = momentum b + g (b = g at the first step); g = nesterov ? g + momentum
 *          b : b; p -= lr g
 *   Adam:  g += wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 *          p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   AdamW: p *= 1 - lr wd, then Adam without the wd term.
 */
#ifndef UNET_TRAIN_OPTIM_H
#define UNET_TRAIN_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

typedef enum unet__optim_kind { UNET__OPT_SGD, UNET__OPT_ADAM, UNET__OPT_ADAMW } unet__optim_kind;

typedef struct unet__optim {
    unet__optim_kind kind;
    double momentum;   /* SGD */
    bool nesterov;
    double beta1, beta2, eps; /* Adam(W) */
    double weight_decay;
    int64_t t;         /* steps taken */
    int nparams;
    const int64_t *numel;  /* per param (borrowed) */
    float **m, **v;    /* per param state (NULL for frozen ones); one allocation each */
    float *storage;
    int64_t state_floats;
} unet__optim;

int unet__optim_parse(const char *name); /* "sgd", "adam", "adamw" -> kind, or -1 */
const char *unet__optim_name(unet__optim_kind kind);

/* Allocate zeroed state for the params with trainable[i]. */
int unet__optim_init(unet__optim *o, int nparams, const int64_t *numel, const bool *trainable);
void unet__optim_clear(unet__optim *o);
/* One update of every trainable param with its gradient at learning rate lr. */
void unet__optim_step(unet__optim *o, float *const *params, float *const *grads, double lr,
                      int threads);

/* Scale the gradients so their global L2 norm is at most max_norm (PyTorch's
 * clip_grad_norm_: factor max_norm / (norm + 1e-6) when below 1); returns the norm before. */
double unet__clip_grad_norm(float *const *grads, const int64_t *numel, int nparams,
                            double max_norm);

#endif
