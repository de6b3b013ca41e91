/*
 * Reference operators: plain C loops on contiguous NCHW tensors, in float and (for the
 * training graph's double-precision reference) in double. They are the oracle for every faster
 * kernel, so they favour clarity and exactness (double accumulation where sums are long) over
 * speed. Callers (the graph layer) validate shapes; these functions do not fail. `threads` is
 * an OpenMP thread count (>= 1).
 */
#ifndef UNET_KERNELS_REF_OPS_H
#define UNET_KERNELS_REF_OPS_H

#include <stddef.h>
#include <stdint.h>

/* The epsilon of every batch and group norm (forward, backward, reference and fast), as
 * PyTorch's default, so that imported and exported models compute the same. */
#define UNET__NORM_EPS 1e-5

typedef enum unet__act {
    UNET__ACT_NONE = 0,
    UNET__ACT_RELU,
    UNET__ACT_LEAKY_RELU, /* slope 0.01 */
    UNET__ACT_ELU,        /* alpha 1: x > 0 ? x : expm1(x) */
    UNET__ACT_SIGMOID
} unet__act;

/* Every operator exists for float (no suffix: the inference oracle, and the float training
 * graph's forward ops) and for double (suffix _f64: the double-precision reference that the
 * training graph's gradient checks run; see ref_backward.h). */
#define UNET__REF_DECLARE(T, S)                                                                    \
    /* k x k convolution, stride 1, zero padding `pad` on every side (pad = k/2 is "same", 0       \
     * is "valid"). weight [cout][cin][k][k], bias [cout] (may be NULL). Output spatial size       \
     * (h + 2 pad - k + 1) x (w + 2 pad - k + 1), which the caller guarantees is >= 1. */          \
    void unet__ref_conv2d##S(const T *in, int64_t n, int64_t cin, int64_t h, int64_t w,            \
                             const T *weight, const T *bias, int64_t cout, int k, int pad,         \
                             T *out, int threads);                                                 \
    /* Transposed convolution with kernel f x f and stride f (no overlap): output (h f) x          \
     * (w f), out[n][co][y][x] = bias[co] + sum_ci in[n][ci][y/f][x/f] * weight[ci][co][y%f][x%f]. \
     * weight [cin][cout][f][f] (PyTorch layout), bias [cout] (may be NULL). */                    \
    void unet__ref_conv_transpose2d##S(const T *in, int64_t n, int64_t cin, int64_t h,             \
                                       int64_t w, const T *weight, const T *bias, int64_t cout,    \
                                       int f, T *out, int threads);                                \
    /* f x f pooling with stride f (PyTorch floor mode): output floor(h/f) x floor(w/f). */        \
    void unet__ref_maxpool2d##S(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,    \
                                T *out, int threads);                                              \
    void unet__ref_avgpool2d##S(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,    \
                                T *out, int threads);                                              \
    /* Upsampling by an integer factor f: output (h f) x (w f).                                    \
     * nearest: out[y][x] = in[y/f][x/f].                                                          \
     * bilinear: half-pixel centres as PyTorch's align_corners=False: src = (dst + 0.5)/f -        \
     * 0.5, clamped below at 0; i0 = floor(src), i1 = min(i0 + 1, size - 1), lambda = src - i0. */ \
    void unet__ref_upsample_nearest2d##S(const T *in, int64_t n, int64_t c, int64_t h,             \
                                         int64_t w, int f, T *out, int threads);                   \
    void unet__ref_upsample_bilinear2d##S(const T *in, int64_t n, int64_t c, int64_t h,            \
                                          int64_t w, int f, T *out, int threads);                  \
    /* Element-wise activation in place. */                                                        \
    void unet__ref_activation##S(T *x, size_t count, unet__act act);                               \
    /* Softmax over the channel axis in place (numerically stable: subtract the max). */           \
    void unet__ref_softmax_channels##S(T *x, int64_t n, int64_t c, int64_t hw, int threads);       \
    /* Batch normalisation with running statistics, in place:                                      \
     * y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]. */                            \
    void unet__ref_batchnorm##S(T *x, int64_t n, int64_t c, int64_t hw, const T *weight,           \
                                const T *bias, const T *mean, const T *var, double eps,            \
                                int threads);                                                      \
    /* Group normalisation in place: per sample and group (c/groups consecutive channels), the     \
     * biased mean and variance over the group's channels and pixels, then                         \
     * y = (x - mean) / sqrt(var + eps) * weight[c] + bias[c]. groups divides c. */                \
    void unet__ref_groupnorm##S(T *x, int64_t n, int64_t c, int64_t hw, int groups,                \
                                const T *weight, const T *bias, double eps, int threads);          \
    /* The same, saving mean and 1/sqrt(var + eps) per (sample, group) into save_mean and          \
     * save_rstd [n][groups] (both NULL: not saved), for the backward pass. */                     \
    void unet__ref_groupnorm_save##S(T *x, int64_t n, int64_t c, int64_t hw, int groups,           \
                                     const T *weight, const T *bias, double eps, T *save_mean,     \
                                     T *save_rstd, int threads);                                   \
    /* Copy a window: src [n][c][sh][sw], window origin (y0, x0) of size oh x ow, into dst         \
     * [n][dst_c][oh][ow] starting at channel dst_c0. Serves both centre crop and concat (a        \
     * full-size window is a plain copy). The caller guarantees the window lies inside src. */     \
    void unet__ref_copy_window##S(const T *src, int64_t n, int64_t c, int64_t sh, int64_t sw,      \
                                  int64_t y0, int64_t x0, int64_t oh, int64_t ow, T *dst,          \
                                  int64_t dst_c, int64_t dst_c0, int threads);

UNET__REF_DECLARE(float, )
UNET__REF_DECLARE(double, _f64)

#endif
