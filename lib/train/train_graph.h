/*
 * The training executor: runs a graph forward in training or evaluation mode keeping every
 * node's output, then backward from any node, giving parameter and input gradients. It works
 * on NCHW with the reference kernels (kernels/ref_backward.h) and exists for float (_f32, what
 * the trainer runs) and double (_f64, the reference for finite-difference gradient checks).
 *
 * Unlike the inference plan, nothing is folded: batchnorm uses the batch's statistics in
 * training mode (and updates its running statistics, momentum 0.1, unbiased variance, as
 * PyTorch), the running ones in evaluation mode or when its parameters are frozen; dropout
 * (rate `dropout_p`) is active in training mode only, with a mask derived from a key so the
 * backward pass regenerates it.
 */
#ifndef UNET_TRAIN_TRAIN_GRAPH_H
#define UNET_TRAIN_TRAIN_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/graph.h"
#include "kernels/ref_backward.h"
#include "kernels/train_gemm.h"

typedef struct unet__tg_opts {
    bool train;           /* batch statistics, dropout */
    bool update_running;  /* with train: update batchnorm running statistics */
    double dropout_p;     /* dropout rate (DESIGN: 0.1) */
    uint64_t dropout_key; /* node i's mask key is hash(dropout_key ^ hash(i + 1)) */
    const bool *frozen;   /* per graph param: not trained (NULL: none) */
    bool precise;         /* float: direct convolutions only, no Winograd */
} unet__tg_opts;

#define UNET__TG_DECLARE(T, S)                                                                  \
    typedef struct unet__tg_##S {                                                               \
        const unet__graph *g;                                                                   \
        int64_t n, in_h, in_w; /* the shape buffers are sized for (n 0: none yet) */           \
        int64_t *h, *w;        /* per node: spatial size */                                     \
        T **out, **grad;       /* per node: output and its gradient */                          \
        T **mean, **rstd;      /* per norm node: saved statistics */                            \
        bool *batch_stats;     /* per batchnorm node: the last forward used batch stats */      \
        bool *need;            /* per node: its gradient is needed (backward bookkeeping) */    \
        unet__scratch scratch; /* convolution scratch (float) */                                \
    } unet__tg_##S;                                                                             \
    /* Bind to a graph (borrowed). */                                                           \
    int unet__tg_init_##S(unet__tg_##S *tg, const unet__graph *g);                              \
    void unet__tg_clear_##S(unet__tg_##S *tg);                                                  \
    /* Forward pass of input [n][in_channels][h][w] (a size the graph accepts, checked).        \
     * params: by graph param index; running statistics are updated in place. */                \
    int unet__tg_forward_##S(unet__tg_##S *tg, T *const *params, const T *input, int64_t n,   \
                             int64_t h, int64_t w, const unet__tg_opts *o, int threads);        \
    /* Backward pass after a forward pass with the same opts: dfrom is the gradient of the     \
     * loss with respect to node `from`'s output (nodes after it are ignored). Writes pgrad[i] \
     * for every param whose pgrad[i] is not NULL (zero where no gradient flows) and, when     \
     * dinput is not NULL, the input gradient. */                                               \
    int unet__tg_backward_##S(unet__tg_##S *tg, T *const *params, int from, const T *dfrom,   \
                              T **pgrad, T *dinput, const unet__tg_opts *o, int threads);       \
    /* Output of node i after a forward pass, and its element count. */                       \
    const T *unet__tg_output_##S(const unet__tg_##S *tg, int node, int64_t *count);

UNET__TG_DECLARE(float, f32)
UNET__TG_DECLARE(double, f64)

#endif
