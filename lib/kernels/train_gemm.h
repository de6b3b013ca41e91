/*
 * A packed single-precision matrix product for the training path (convolutions as im2col +
 * GEMM in all three passes), and the convolutions built on it.
 *
 * GEMM: C = beta C + A B, row-major, beta 0 or 1. A is M x K with element (i, k) at
 * a[i * lda + k], or at a[k * lda + i] when trans_a; B is K x N with (k, j) at b[k * ldb + j],
 * or at b[j * ldb + k] when trans_b. Blocked (6 x 16 register tiles, 256-deep panels) and
 * split over OpenMP threads by tiles of C; each element of C is summed by one thread in a
 * fixed order, so results do not depend on the thread count. The micro-kernel uses AVX2+FMA
 * when the CPU has them (compiled with a function target attribute, chosen at run time), else
 * portable C.
 */
#ifndef UNET_KERNELS_TRAIN_GEMM_H
#define UNET_KERNELS_TRAIN_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Floats of packing buffers a product with `threads` threads needs. */
size_t unet__sgemm_pack_floats(int threads);

/* UNET_OK, or UNET_E_NOMEM (C unchanged) when buffers cannot be allocated. packs: at least
 * unet__sgemm_pack_floats(threads) floats, or NULL (allocated for this call). */
int unet__sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                int64_t lda, const float *b, int64_t ldb, int beta, float *c, int64_t ldc,
                float *packs, int threads);

/* The same product on the calling thread only, without allocating: packs holds
 * unet__sgemm_pack_floats(1) floats. For callers that share work among threads themselves. */
void unet__sgemm_serial(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        const float *a, int64_t lda, const float *b, int64_t ldb, int beta,
                        float *c, int64_t ldc, float *packs);

/* Scratch memory reused across calls (grown on demand; freed with unet__scratch_free). */
typedef struct unet__scratch {
    float *p;
    size_t cap; /* floats */
} unet__scratch;
float *unet__scratch_get(unet__scratch *s, size_t floats);
void unet__scratch_free(unet__scratch *s);

/* The float convolutions of ref_backward.h (same contracts), through im2col and GEMM; they
 * return UNET_E_NOMEM when scratch cannot grow. With `winograd`, unet__tc_conv_fwd hands the
 * convolutions unet__tw_applies accepts to Winograd (train_winograd.h). */
int unet__tc_conv_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                      const float *weight, const float *bias, int64_t cout, int k, int pad,
                      float *out, bool winograd, unet__scratch *s, int threads);
int unet__tc_conv_bwd_data(const float *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                           const float *weight, int64_t cout, int k, int pad, float *dx,
                           unet__scratch *s, int threads);
int unet__tc_conv_bwd_param(const float *x, const float *dy, int64_t n, int64_t cin, int64_t h,
                            int64_t w, int64_t cout, int k, int pad, float *dw, float *db,
                            unet__scratch *s, int threads);
/* Both gradients of a convolution: dx += the input gradient, dw and db = the parameter
 * gradients (each NULL when not wanted). 3x3 convolutions with channel counts in multiples of
 * 16 go through Winograd (train_winograd.h) when `winograd` is set, the others through the two functions above. */
int unet__tc_conv_bwd(const float *x, const float *dy, int64_t n, int64_t cin, int64_t h,
                      int64_t w, const float *weight, int64_t cout, int k, int pad, float *dx,
                      float *dw, float *db, bool winograd, unet__scratch *s, int threads);
int unet__tc_convt_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                       const float *weight, const float *bias, int64_t cout, int f, float *out,
                       unet__scratch *s, int threads);
int unet__tc_convt_bwd_data(const float *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                            const float *weight, int64_t cout, int f, float *dx,
                            unet__scratch *s, int threads);
int unet__tc_convt_bwd_param(const float *x, const float *dy, int64_t n, int64_t cin,
                             int64_t h, int64_t w, int64_t cout, int f, float *dw, float *db,
                             unet__scratch *s, int threads);

#endif
