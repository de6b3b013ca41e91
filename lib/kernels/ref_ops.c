/*
 * Reference operators on contiguous float32 NCHW tensors (see ref_ops.h for the contract).
 *
 * Design notes:
 * - Every loop that sums more than a handful of terms accumulates in double; results are
 *   rounded to float once, at the end. Each output element is computed by exactly one thread
 *   in a fixed order, so results do not depend on the thread count.
 * - No heap allocation: per-row scratch lives on the stack in fixed-size chunks
 *   (UNET__REF_CHUNK elements), long rows are processed chunk by chunk.
 * - Parallel loops run over flat int64_t indices of independent output rows or planes, with
 *   the `num_threads` clause (never omp_set_num_threads, which would leak to the caller).
 */
#include "kernels/ref_ops.h"

#include <math.h>
#include <string.h>

/* Scratch row length for the convolution accumulators (8 KiB of doubles on the stack). */
#define UNET__REF_CHUNK 1024

static inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t imax64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The header requires threads >= 1; clamp anyway since num_threads(0) is undefined. */
static inline int nthreads(int threads) { return threads > 0 ? threads : 1; }

void unet__ref_conv2d(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                      const float *weight, const float *bias, int64_t cout, int k, int pad,
                      float *out, int threads)
{
    const int64_t oh = h + 2 * (int64_t)pad - k + 1;
    const int64_t ow = w + 2 * (int64_t)pad - k + 1;
    const int64_t kk = (int64_t)k * k;
    /* One task per output row: balances well even when cout is 1 (the final layer). */
    const int64_t rows = n * cout * oh;

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t oy = r % oh;
        const int64_t co = (r / oh) % cout;
        const int64_t b = r / (oh * cout);
        const float *in_b = in + b * cin * h * w;
        const float *w_co = weight + co * cin * kk;
        float *out_row = out + r * ow; /* out is [n][cout][oh][ow], r = (b*cout+co)*oh+oy */
        const double b0 = bias ? (double)bias[co] : 0.0;
        double acc[UNET__REF_CHUNK];

        for (int64_t x0 = 0; x0 < ow; x0 += UNET__REF_CHUNK) {
            const int64_t x1 = imin64(ow, x0 + UNET__REF_CHUNK);
            for (int64_t x = 0; x < x1 - x0; x++)
                acc[x] = b0;
            for (int64_t ci = 0; ci < cin; ci++) {
                for (int ky = 0; ky < k; ky++) {
                    const int64_t iy = oy + ky - pad;
                    if (iy < 0 || iy >= h)
                        continue; /* whole tap row lies in the zero padding */
                    const float *in_row = in_b + (ci * h + iy) * w;
                    const float *w_row = w_co + (ci * k + ky) * k;
                    for (int kx = 0; kx < k; kx++) {
                        /* Output columns x whose input column x + kx - pad is inside
                         * [0, w): clipping the range replaces per-pixel border tests. */
                        const int64_t lo = imax64(x0, (int64_t)pad - kx);
                        const int64_t hi = imin64(x1, w + pad - kx);
                        if (lo >= hi)
                            continue;
                        const double wv = (double)w_row[kx];
                        const float *src = in_row + (lo + kx - pad);
                        double *dst = acc + (lo - x0);
                        const int64_t len = hi - lo;
#pragma omp simd
                        for (int64_t i = 0; i < len; i++)
                            dst[i] += wv * (double)src[i];
                    }
                }
            }
            for (int64_t x = x0; x < x1; x++)
                out_row[x] = (float)acc[x - x0];
        }
    }
}

void unet__ref_conv_transpose2d(const float *in, int64_t n, int64_t cin, int64_t h,
                                int64_t w, const float *weight, const float *bias,
                                int64_t cout, int f, float *out, int threads)
{
    const int64_t oh = h * f, ow = w * f;
    const int64_t rows = n * cout * oh;

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = r % oh;
        const int64_t co = (r / oh) % cout;
        const int64_t b = r / (oh * cout);
        const int64_t iy = y / f, dy = y % f;
        const float *in_b = in + b * cin * h * w;
        float *out_row = out + r * ow;
        const double b0 = bias ? (double)bias[co] : 0.0;
        double acc[UNET__REF_CHUNK];

        /* Output columns with the same x % f = dx share one weight per ci: accumulate them
         * as a contiguous row over the input columns, then scatter with stride f. */
        for (int dx = 0; dx < f; dx++) {
            for (int64_t x0 = 0; x0 < w; x0 += UNET__REF_CHUNK) {
                const int64_t len = imin64(w - x0, UNET__REF_CHUNK);
                for (int64_t i = 0; i < len; i++)
                    acc[i] = b0;
                for (int64_t ci = 0; ci < cin; ci++) {
                    const double wv = (double)weight[((ci * cout + co) * f + dy) * f + dx];
                    const float *src = in_b + (ci * h + iy) * w + x0;
#pragma omp simd
                    for (int64_t i = 0; i < len; i++)
                        acc[i] += wv * (double)src[i];
                }
                for (int64_t i = 0; i < len; i++)
                    out_row[(x0 + i) * f + dx] = (float)acc[i];
            }
        }
    }
}

void unet__ref_maxpool2d(const float *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                         float *out, int threads)
{
    const int64_t oh = h / f, ow = w / f; /* floor mode: trailing rows/columns are dropped */
    const int64_t rows = n * c * oh;

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t oy = r % oh;
        const float *plane = in + (r / oh) * h * w;
        float *out_row = out + r * ow;
        for (int64_t ox = 0; ox < ow; ox++) {
            const float *win = plane + oy * f * w + ox * f;
            float m = win[0];
            for (int dy = 0; dy < f; dy++) {
                for (int dx = 0; dx < f; dx++) {
                    const float v = win[dy * w + dx];
                    /* NaN propagates, as in PyTorch. */
                    if (v > m || isnan(v))
                        m = v;
                }
            }
            out_row[ox] = m;
        }
    }
}

void unet__ref_avgpool2d(const float *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                         float *out, int threads)
{
    const int64_t oh = h / f, ow = w / f;
    const int64_t rows = n * c * oh;
    const double inv = 1.0 / ((double)f * f);

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t oy = r % oh;
        const float *plane = in + (r / oh) * h * w;
        float *out_row = out + r * ow;
        for (int64_t ox = 0; ox < ow; ox++) {
            const float *win = plane + oy * f * w + ox * f;
            double s = 0.0;
            for (int dy = 0; dy < f; dy++)
                for (int dx = 0; dx < f; dx++)
                    s += (double)win[dy * w + dx];
            out_row[ox] = (float)(s * inv);
        }
    }
}

void unet__ref_upsample_nearest2d(const float *in, int64_t n, int64_t c, int64_t h, int64_t w,
                                  int f, float *out, int threads)
{
    const int64_t oh = h * f, ow = w * f;
    const int64_t rows = n * c * oh;

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = r % oh;
        const float *src = in + (r / oh) * h * w + (y / f) * w;
        float *out_row = out + r * ow;
        for (int64_t x = 0; x < ow; x++)
            out_row[x] = src[x / f];
    }
}

/* Source index and weight for output coordinate d (align_corners=False, half-pixel). */
static inline void bilinear_src(int64_t d, int f, int64_t size, int64_t *i0, int64_t *i1,
                                double *lambda)
{
    double s = ((double)d + 0.5) / f - 0.5;
    if (s < 0.0)
        s = 0.0;
    /* s >= 0, so truncation is floor; s < size - 0.5, so a <= size - 1. */
    const int64_t a = (int64_t)s;
    *i0 = a;
    *i1 = imin64(a + 1, size - 1);
    *lambda = s - (double)a;
}

void unet__ref_upsample_bilinear2d(const float *in, int64_t n, int64_t c, int64_t h,
                                   int64_t w, int f, float *out, int threads)
{
    const int64_t oh = h * f, ow = w * f;
    const int64_t rows = n * c * oh;

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = r % oh;
        const float *plane = in + (r / oh) * h * w;
        float *out_row = out + r * ow;
        int64_t y0, y1;
        double ly;
        bilinear_src(y, f, h, &y0, &y1, &ly);
        const float *row0 = plane + y0 * w, *row1 = plane + y1 * w;
        for (int64_t x = 0; x < ow; x++) {
            int64_t x0, x1;
            double lx;
            bilinear_src(x, f, w, &x0, &x1, &lx);
            const double top = (1.0 - lx) * row0[x0] + lx * row0[x1];
            const double bot = (1.0 - lx) * row1[x0] + lx * row1[x1];
            out_row[x] = (float)((1.0 - ly) * top + ly * bot);
        }
    }
}

/* Logistic function without overflow: exp is only ever taken of a non-positive number. */
static inline float sigmoid(float v)
{
    const double x = (double)v;
    if (x >= 0.0)
        return (float)(1.0 / (1.0 + exp(-x)));
    const double e = exp(x); /* also the NaN path: exp(NaN) = NaN */
    return (float)(e / (1.0 + e));
}

void unet__ref_activation(float *x, size_t count, unet__act act)
{
    switch (act) {
    case UNET__ACT_NONE:
        break;
    case UNET__ACT_RELU:
        for (size_t i = 0; i < count; i++)
            if (x[i] < 0.0f) /* keeps NaN, like PyTorch */
                x[i] = 0.0f;
        break;
    case UNET__ACT_LEAKY_RELU:
        for (size_t i = 0; i < count; i++)
            if (x[i] < 0.0f)
                x[i] *= 0.01f;
        break;
    case UNET__ACT_ELU:
        for (size_t i = 0; i < count; i++)
            if (!(x[i] > 0.0f))
                x[i] = (float)expm1((double)x[i]);
        break;
    case UNET__ACT_SIGMOID:
        for (size_t i = 0; i < count; i++)
            x[i] = sigmoid(x[i]);
        break;
    }
}

void unet__ref_softmax_channels(float *x, int64_t n, int64_t c, int64_t hw, int threads)
{
    const int64_t total = n * hw;

    /* Per pixel; channels are hw apart. exp is evaluated twice (sum, then write) so each
     * output is exp/sum rounded once, with no float intermediate. */
#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t t = 0; t < total; t++) {
        float *p = x + (t / hw) * c * hw + t % hw;
        float m = p[0];
        for (int64_t ch = 1; ch < c; ch++)
            if (p[ch * hw] > m)
                m = p[ch * hw];
        double s = 0.0;
        for (int64_t ch = 0; ch < c; ch++)
            s += exp((double)p[ch * hw] - (double)m);
        for (int64_t ch = 0; ch < c; ch++)
            p[ch * hw] = (float)(exp((double)p[ch * hw] - (double)m) / s);
    }
}

void unet__ref_batchnorm(float *x, int64_t n, int64_t c, int64_t hw, const float *weight,
                         const float *bias, const float *mean, const float *var, double eps,
                         int threads)
{
    const int64_t planes = n * c;

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t ch = pl % c;
        /* NULL weight / bias mean an identity affine (PyTorch affine=False). */
        const double g = weight ? (double)weight[ch] : 1.0;
        const double be = bias ? (double)bias[ch] : 0.0;
        const double mu = (double)mean[ch];
        const double scale = g / sqrt((double)var[ch] + eps);
        float *p = x + pl * hw;
        for (int64_t i = 0; i < hw; i++)
            p[i] = (float)(((double)p[i] - mu) * scale + be);
    }
}

void unet__ref_groupnorm(float *x, int64_t n, int64_t c, int64_t hw, int groups,
                         const float *weight, const float *bias, double eps, int threads)
{
    const int64_t cpg = c / groups;
    const int64_t tasks = n * groups;
    const int64_t len = cpg * hw; /* a group's channels are consecutive: one contiguous run */

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        float *p = x + t * len;
        const int64_t c0 = (t % groups) * cpg;
        /* Two passes (mean, then squared deviations): no cancellation as in E[x^2]-E[x]^2. */
        double s = 0.0;
        for (int64_t i = 0; i < len; i++)
            s += (double)p[i];
        const double mu = len > 0 ? s / (double)len : 0.0;
        double ss = 0.0;
        for (int64_t i = 0; i < len; i++) {
            const double d = (double)p[i] - mu;
            ss += d * d;
        }
        const double var = len > 0 ? ss / (double)len : 0.0; /* biased, as PyTorch */
        const double inv_sd = 1.0 / sqrt(var + eps);
        for (int64_t j = 0; j < cpg; j++) {
            const double g = weight ? (double)weight[c0 + j] : 1.0;
            const double be = bias ? (double)bias[c0 + j] : 0.0;
            const double scale = g * inv_sd;
            float *q = p + j * hw;
            for (int64_t i = 0; i < hw; i++)
                q[i] = (float)(((double)q[i] - mu) * scale + be);
        }
    }
}

void unet__ref_copy_window(const float *src, int64_t n, int64_t c, int64_t sh, int64_t sw,
                           int64_t y0, int64_t x0, int64_t oh, int64_t ow, float *dst,
                           int64_t dst_c, int64_t dst_c0, int threads)
{
    const int64_t planes = n * c;

#pragma omp parallel for num_threads(nthreads(threads)) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t b = pl / c, ch = pl % c;
        const float *s = src + pl * sh * sw + y0 * sw + x0;
        float *d = dst + (b * dst_c + dst_c0 + ch) * oh * ow;
        for (int64_t y = 0; y < oh; y++)
            memcpy(d + y * ow, s + y * sw, (size_t)ow * sizeof(float));
    }
}
