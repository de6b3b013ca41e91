/*
 * Small pieces shared by the reference kernels (ref_ops.c, ref_backward.c) and, for the
 * upsampling source coordinates, the blocked kernels: one definition each, so the oracle and
 * the kernels checked against it agree by construction.
 */
#ifndef UNET_KERNELS_REF_COMMON_H
#define UNET_KERNELS_REF_COMMON_H

#include <stdint.h>

/* Scratch row length for the convolution accumulators (8 KiB of doubles on the stack): long
 * rows are processed chunk by chunk. */
#define UNET__REF_CHUNK 1024

static inline int64_t unet__imin64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t unet__imax64(int64_t a, int64_t b) { return a > b ? a : b; }

/* An OpenMP thread count: callers pass >= 1; clamped anyway since num_threads(0) is undefined. */
static inline int unet__omp_threads(int threads) { return threads > 0 ? threads : 1; }

/* Source index and weight of output coordinate d of an upsampling by f (align_corners=False,
 * half-pixel centres, as PyTorch): s = (d + 0.5) / f - 0.5 clamped below at 0, i0 = floor(s),
 * i1 = min(i0 + 1, size - 1), lambda = s - i0. */
static inline void unet__bilinear_src(int64_t d, int f, int64_t size, int64_t *i0, int64_t *i1,
                                      double *lambda)
{
    double s = ((double)d + 0.5) / f - 0.5;
    if (s < 0.0)
        s = 0.0;
    /* s >= 0, so truncation is floor; s < size - 0.5, so a <= size - 1. */
    const int64_t a = (int64_t)s;
    *i0 = a;
    *i1 = unet__imin64(a + 1, size - 1);
    *lambda = s - (double)a;
}

/* acc[x - x0] += wv * row[x + shift] for x in [lo, hi) (nothing when lo >= hi), in double:
 * one weight times the clipped run of a row that stays inside the image, the inner loop of
 * the reference convolutions (each element keeps its order of additions, so the vector loop
 * gives the same values). One per element type: unet__ref_axpy_f32 and _f64. */
#define UNET__REF_AXPY(S, T)                                                                       \
    static inline void unet__ref_axpy_##S(double *acc, int64_t x0, const T *row, int64_t shift,    \
                                          int64_t lo, int64_t hi, double wv)                       \
    {                                                                                              \
        if (lo >= hi)                                                                              \
            return;                                                                                \
        const T *src = row + (lo + shift);                                                         \
        double *dst = acc + (lo - x0);                                                             \
        const int64_t len = hi - lo;                                                               \
        _Pragma("omp simd") for (int64_t i = 0; i < len; i++) dst[i] += wv * (double)src[i];       \
    }
UNET__REF_AXPY(f32, float)
UNET__REF_AXPY(f64, double)
#undef UNET__REF_AXPY

#endif
