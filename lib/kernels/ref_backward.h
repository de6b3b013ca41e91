/*
 * Reference training kernels on contiguous NCHW tensors: the backward pass of every op of the
 * graph, and the forward ops training needs beyond inference (batchnorm with batch
 * statistics, group norm that keeps its statistics, dropout).
 *
 * Every kernel exists for float (suffix _f32, what training runs) and for double (_f64, the
 * double-precision reference that finite-difference gradient checks run against), with the
 * plain forward ops too (ref_ops.h's operators of that type), so a whole network can run in
 * either. Sums accumulate in double in both.
 *
 * Conventions: input gradients are ADDED into dx (a tensor read by several nodes collects the
 * gradients of all of them); parameter gradients are written (overwritten). Each output
 * element is computed by one thread in a fixed order, so results do not depend on the thread
 * count. Callers validate shapes; these functions do not fail. `threads` >= 1.
 */
#ifndef UNET_KERNELS_REF_BACKWARD_H
#define UNET_KERNELS_REF_BACKWARD_H

#include <stdint.h>

#include "kernels/ref_ops.h"

/* Batchnorm momentum for running statistics (PyTorch's default). */
#define UNET__BN_MOMENTUM 0.1

/* Dropout keep test for element i of a tensor with key `key`: the element is kept when
 * (hash(key + (i + 1) * 0x9e3779b97f4a7c15) >> 11) * 2^-53 >= p, hash being splitmix64's
 * finaliser. Counter-based, so the mask does not depend on the thread count and can be
 * regenerated in the backward pass instead of stored. */
uint64_t unet__hash64(uint64_t x);

#define UNET__RT_DECLARE(T, S)                                                                  \
    /* ---- forward ops: ref_ops.h's operators of type T ---- */                               \
    void unet__rt_conv_fwd_##S(const T *in, int64_t n, int64_t cin, int64_t h, int64_t w,       \
                               const T *weight, const T *bias, int64_t cout, int k, int pad,    \
                               T *out, int threads);                                            \
    void unet__rt_convt_fwd_##S(const T *in, int64_t n, int64_t cin, int64_t h, int64_t w,      \
                                const T *weight, const T *bias, int64_t cout, int f, T *out,    \
                                int threads);                                                   \
    void unet__rt_maxpool_fwd_##S(const T *in, int64_t n, int64_t c, int64_t h, int64_t w,      \
                                  int f, T *out, int threads);                                  \
    void unet__rt_avgpool_fwd_##S(const T *in, int64_t n, int64_t c, int64_t h, int64_t w,      \
                                  int f, T *out, int threads);                                  \
    void unet__rt_up_nearest_fwd_##S(const T *in, int64_t n, int64_t c, int64_t h, int64_t w,   \
                                     int f, T *out, int threads);                               \
    void unet__rt_up_bilinear_fwd_##S(const T *in, int64_t n, int64_t c, int64_t h, int64_t w,  \
                                      int f, T *out, int threads);                              \
    void unet__rt_act_fwd_##S(T *x, int64_t count, unet__act act, int threads);                 \
    void unet__rt_softmax_fwd_##S(T *x, int64_t n, int64_t c, int64_t hw, int threads);         \
    void unet__rt_bn_eval_fwd_##S(T *x, int64_t n, int64_t c, int64_t hw, const T *gamma,       \
                                  const T *beta, const T *mean, const T *var, int threads);     \
    void unet__rt_copy_window_##S(const T *src, int64_t n, int64_t c, int64_t sh, int64_t sw,   \
                                  int64_t y0, int64_t x0, int64_t oh, int64_t ow, T *dst,       \
                                  int64_t dst_c, int64_t dst_c0, int threads);                  \
    /* ---- training forward ops (both types) ---- */                                         \
    /* Batchnorm with the batch's statistics, in place: per channel the mean and biased        \
     * variance over (n, hw); saves mean and 1/sqrt(var + eps) per channel; when running_mean  \
     * is not NULL updates running_mean/var with momentum 0.1 and the unbiased variance, as    \
     * PyTorch does in training mode. */                                                       \
    void unet__rt_bn_train_fwd_##S(T *x, int64_t n, int64_t c, int64_t hw, const T *gamma,      \
                                   const T *beta, T *save_mean, T *save_rstd, T *running_mean,  \
                                   T *running_var, int threads);                                \
    /* Group norm in place (as unet__ref_groupnorm), saving mean and rstd per (n, group). */     \
    void unet__rt_gn_fwd_##S(T *x, int64_t n, int64_t c, int64_t hw, int groups,                \
                             const T *gamma, const T *beta, T *save_mean, T *save_rstd,         \
                             int threads);                                                      \
    /* Dropout with rate p in place: dropped elements become 0, kept ones x / (1 - p). */       \
    void unet__rt_dropout_fwd_##S(T *x, int64_t count, double p, uint64_t key, int threads);    \
    /* ---- backward ops ---- */                                                               \
    /* dx += conv2d input gradient of dy [n][cout][oh][ow]. */                                  \
    void unet__rt_conv_bwd_data_##S(const T *dy, int64_t n, int64_t cin, int64_t h, int64_t w, \
                                    const T *weight, int64_t cout, int k, int pad, T *dx,       \
                                    int threads);                                               \
    /* dw [cout][cin][k][k] and db [cout] (either may be NULL) of a conv2d with input x. */     \
    void unet__rt_conv_bwd_param_##S(const T *x, const T *dy, int64_t n, int64_t cin,          \
                                     int64_t h, int64_t w, int64_t cout, int k, int pad, T *dw, \
                                     T *db, int threads);                                       \
    void unet__rt_convt_bwd_data_##S(const T *dy, int64_t n, int64_t cin, int64_t h,           \
                                     int64_t w, const T *weight, int64_t cout, int f, T *dx,    \
                                     int threads);                                              \
    void unet__rt_convt_bwd_param_##S(const T *x, const T *dy, int64_t n, int64_t cin,         \
                                      int64_t h, int64_t w, int64_t cout, int f, T *dw, T *db,  \
                                      int threads);                                             \
    /* Max pooling: the gradient goes to the first maximum of each window (the forward's       \
     * choice, as PyTorch). */                                                                 \
    void unet__rt_maxpool_bwd_##S(const T *x, const T *dy, int64_t n, int64_t c, int64_t h,    \
                                  int64_t w, int f, T *dx, int threads);                        \
    void unet__rt_avgpool_bwd_##S(const T *dy, int64_t n, int64_t c, int64_t h, int64_t w,     \
                                  int f, T *dx, int threads);                                   \
    void unet__rt_up_nearest_bwd_##S(const T *dy, int64_t n, int64_t c, int64_t h, int64_t w,  \
                                     int f, T *dx, int threads);                                \
    void unet__rt_up_bilinear_bwd_##S(const T *dy, int64_t n, int64_t c, int64_t h, int64_t w, \
                                      int f, T *dx, int threads);                               \
    /* From the activation's output y. */                                                      \
    void unet__rt_act_bwd_##S(const T *y, const T *dy, int64_t count, unet__act act, T *dx,    \
                              int threads);                                                     \
    void unet__rt_softmax_bwd_##S(const T *y, const T *dy, int64_t n, int64_t c, int64_t hw,   \
                                  T *dx, int threads);                                          \
    /* Batchnorm with batch statistics; x is the norm's input. dgamma/dbeta may be NULL. */     \
    void unet__rt_bn_train_bwd_##S(const T *x, const T *dy, int64_t n, int64_t c, int64_t hw,  \
                                   const T *gamma, const T *mean, const T *rstd, T *dx,         \
                                   T *dgamma, T *dbeta, int threads);                           \
    /* Batchnorm with running statistics (a frozen layer): a per-channel affine map. */         \
    void unet__rt_bn_eval_bwd_##S(const T *x, const T *dy, int64_t n, int64_t c, int64_t hw,   \
                                  const T *gamma, const T *mean, const T *var, T *dx,           \
                                  T *dgamma, T *dbeta, int threads);                            \
    void unet__rt_gn_bwd_##S(const T *x, const T *dy, int64_t n, int64_t c, int64_t hw,        \
                             int groups, const T *gamma, const T *mean, const T *rstd, T *dx,   \
                             T *dgamma, T *dbeta, int threads);                                 \
    void unet__rt_dropout_bwd_##S(const T *dy, int64_t count, double p, uint64_t key, T *dx,   \
                                  int threads);                                                 \
    /* dst [n][c][sh][sw] window at (y0, x0) += src channels [src_c0, src_c0 + c) of           \
     * [n][src_c][oh][ow]: the backward of crop and of concat. */                              \
    void unet__rt_add_window_##S(const T *src, int64_t n, int64_t src_c, int64_t src_c0,       \
                                 int64_t c, int64_t oh, int64_t ow, T *dst, int64_t sh,         \
                                 int64_t sw, int64_t y0, int64_t x0, int threads);

UNET__RT_DECLARE(float, f32)
UNET__RT_DECLARE(double, f64)

#endif
