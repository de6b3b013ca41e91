/* Reference training kernels (see ref_backward.h): the template body instantiated for float
 * and double, plus the float forward ops, which are the inference oracle's own (ref_ops.c). */
#include "kernels/ref_backward.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int nthreads(int threads) { return threads > 0 ? threads : 1; }

uint64_t unet__hash64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline int rt_keep(uint64_t key, int64_t i, double p)
{
    uint64_t h = unet__hash64(key + (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);
    return (double)(h >> 11) * 0x1.0p-53 >= p;
}

/* Half-pixel source coordinates, as ref_ops.c (align_corners=False). */
static inline void rt_bilinear_src(int64_t d, int f, int64_t size, int64_t *i0, int64_t *i1,
                                   double *lambda)
{
    double s = ((double)d + 0.5) / f - 0.5;
    if (s < 0.0)
        s = 0.0;
    const int64_t a = (int64_t)s;
    *i0 = a;
    *i1 = imin64(a + 1, size - 1);
    *lambda = s - (double)a;
}

/* The geometry of a convolution's weight gradient (ref_backward_impl.h): input planes h x w,
 * output planes oh x ow, `taps` weights per (co, ci) pair, stored [cout][cin][taps] for a plain
 * convolution (k, pad) and [cin][cout][taps] (cin_major) for a transposed one (f). */
typedef struct rt_wgrad {
    int64_t n, cin, cout, h, w, oh, ow, taps;
    int k, pad, f;
    bool cin_major;
} rt_wgrad;
/* Taps per weight: k <= 15 and f <= 8 (config bounds). */
#define RT_MAX_TAPS (16 * 16)

#define T float
#define S f32
#define RT_FORWARD 0
#include "kernels/ref_backward_impl.h"
#undef T
#undef S
#undef RT_FORWARD

#define T double
#define S f64
#define RT_FORWARD 1
#include "kernels/ref_backward_impl.h"
#undef T
#undef S
#undef RT_FORWARD

/* ---- float forward ops: the inference oracle's ---- */

void unet__rt_conv_fwd_f32(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                           const float *weight, const float *bias, int64_t cout, int k, int pad,
                           float *out, int threads)
{
    unet__ref_conv2d(in, n, cin, h, w, weight, bias, cout, k, pad, out, threads);
}

void unet__rt_convt_fwd_f32(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                            const float *weight, const float *bias, int64_t cout, int f,
                            float *out, int threads)
{
    unet__ref_conv_transpose2d(in, n, cin, h, w, weight, bias, cout, f, out, threads);
}

void unet__rt_maxpool_fwd_f32(const float *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                              float *out, int threads)
{
    unet__ref_maxpool2d(in, n, c, h, w, f, out, threads);
}

void unet__rt_avgpool_fwd_f32(const float *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                              float *out, int threads)
{
    unet__ref_avgpool2d(in, n, c, h, w, f, out, threads);
}

void unet__rt_up_nearest_fwd_f32(const float *in, int64_t n, int64_t c, int64_t h, int64_t w,
                                 int f, float *out, int threads)
{
    unet__ref_upsample_nearest2d(in, n, c, h, w, f, out, threads);
}

void unet__rt_up_bilinear_fwd_f32(const float *in, int64_t n, int64_t c, int64_t h, int64_t w,
                                  int f, float *out, int threads)
{
    unet__ref_upsample_bilinear2d(in, n, c, h, w, f, out, threads);
}

void unet__rt_act_fwd_f32(float *x, int64_t count, unet__act act, int threads)
{
    /* The training pass's rectifiers, in parallel and vectorisable (same values as
     * unet__ref_activation: NaN is kept). */
    if (act == UNET__ACT_RELU) {
#pragma omp parallel for num_threads(threads < 1 ? 1 : threads) schedule(static)
        for (int64_t i = 0; i < count; i++)
            x[i] = x[i] < 0.0f ? 0.0f : x[i];
    } else if (act == UNET__ACT_LEAKY_RELU) {
#pragma omp parallel for num_threads(threads < 1 ? 1 : threads) schedule(static)
        for (int64_t i = 0; i < count; i++)
            x[i] = x[i] < 0.0f ? x[i] * 0.01f : x[i];
    } else {
        unet__ref_activation(x, (size_t)count, act);
    }
}

void unet__rt_softmax_fwd_f32(float *x, int64_t n, int64_t c, int64_t hw, int threads)
{
    unet__ref_softmax_channels(x, n, c, hw, threads);
}

void unet__rt_bn_eval_fwd_f32(float *x, int64_t n, int64_t c, int64_t hw, const float *gamma,
                              const float *beta, const float *mean, const float *var,
                              int threads)
{
    unet__ref_batchnorm(x, n, c, hw, gamma, beta, mean, var, UNET__NORM_EPS, threads);
}

void unet__rt_copy_window_f32(const float *src, int64_t n, int64_t c, int64_t sh, int64_t sw,
                              int64_t y0, int64_t x0, int64_t oh, int64_t ow, float *dst,
                              int64_t dst_c, int64_t dst_c0, int threads)
{
    unet__ref_copy_window(src, n, c, sh, sw, y0, x0, oh, ow, dst, dst_c, dst_c0, threads);
}
