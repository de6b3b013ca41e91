/*
 * Float convolutions of the training path as matrix products (see train_gemm.h), one image at
 * a time so the im2col matrix stays small:
 *   forward      out_b [cout][P]   = W [cout][K] x col_b [K][P]          (K = cin k k)
 *   input grad   dcol_b [K][P]     = W^T x dy_b [cout][P], then col2im added into dx
 *   weight grad  dW [cout][K]      = sum over b of dy_b x col_b^T, summed in image order
 * A 1x1 unpadded convolution uses the image itself as col. The transposed convolution (kernel =
 * stride = f, no overlap) is one product per image too, over the f x f taps as extra rows.
 *
 * Threads: with several images, images are shared among the threads (one parallel region per
 * call: few synchronisations, which matters on a loaded machine where every barrier waits for
 * a descheduled thread); with one image, the product itself is split. Either way every output
 * is computed in the same order, so results do not depend on the thread count.
 */
#include <omp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "kernels/train_gemm.h"
#include "kernels/train_winograd.h"

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static int nomem(void)
{
    return unet__fail(UNET_E_NOMEM, "out of memory for convolution scratch");
}

/* How a call over n images splits `threads`: `outer` threads over images, each running its
 * products with `inner` threads. */
typedef struct split {
    int outer, inner;
} split;

static split split_threads(int64_t n, int threads)
{
    split s = {1, threads < 1 ? 1 : threads};
    if (n > 1 && threads > 1) {
        s.outer = (int)min64(n, threads);
        s.inner = 1;
    }
    return s;
}

/* Per-thread work area: `a` floats (im2col or taps) then the product's packing buffers. */
static float *work_area(unet__scratch *s, split sp, size_t a, size_t extra, size_t *stride)
{
    *stride = a + unet__sgemm_pack_floats(sp.inner);
    return unet__scratch_get(s, *stride * (size_t)sp.outer + extra);
}

static void im2col(const float *x, int64_t cin, int64_t h, int64_t w, int k, int pad,
                   int64_t oh, int64_t ow, float *col, int threads)
{
    const int64_t rows = cin * k * k * oh;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t oy = r % oh, kk = r / oh;
        const int kx = (int)(kk % k), ky = (int)((kk / k) % k);
        const int64_t ci = kk / ((int64_t)k * k);
        float *dst = col + kk * oh * ow + oy * ow;
        const int64_t iy = oy + ky - pad;
        if (iy < 0 || iy >= h) {
            memset(dst, 0, (size_t)ow * sizeof(float));
            continue;
        }
        const float *src = x + (ci * h + iy) * w;
        const int64_t lo = max64(0, (int64_t)pad - kx), hi = min64(ow, w + pad - kx);
        for (int64_t ox = 0; ox < lo && ox < ow; ox++)
            dst[ox] = 0.0f;
        if (hi > lo)
            memcpy(dst + lo, src + lo + kx - pad, (size_t)(hi - lo) * sizeof(float));
        for (int64_t ox = hi > lo ? hi : lo; ox < ow; ox++)
            dst[ox] = 0.0f;
    }
}

/* dx [cin][h][w] += the col2im of dcol [cin k k][oh][ow]. */
static void col2im_add(const float *dcol, int64_t cin, int64_t h, int64_t w, int k, int pad,
                       int64_t oh, int64_t ow, float *dx, int threads)
{
    const int64_t rows = cin * h;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t iy = r % h, ci = r / h;
        float *d = dx + r * w;
        for (int ky = 0; ky < k; ky++) {
            const int64_t oy = iy + pad - ky;
            if (oy < 0 || oy >= oh)
                continue;
            for (int kx = 0; kx < k; kx++) {
                const float *s = dcol + ((ci * k + ky) * k + kx) * oh * ow + oy * ow;
                /* ix with 0 <= ix + pad - kx < ow */
                const int64_t lo = max64(0, (int64_t)kx - pad), hi = min64(w, ow + kx - pad);
                for (int64_t ix = lo; ix < hi; ix++)
                    d[ix] += s[ix + pad - kx];
            }
        }
    }
}

/* Sum n partial matrices of `count` floats in order into dst (write). */
static void sum_partials(const float *part, int64_t n, int64_t count, float *dst, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && count > 4096)
    for (int64_t i = 0; i < count; i++) {
        float v = part[i];
        for (int64_t b = 1; b < n; b++)
            v += part[b * count + i];
        dst[i] = v;
    }
}

/* db[co] = sum of dy over images and pixels (double sums, four interleaved so the additions
 * overlap; the order is fixed). */
static void bias_grad(const float *dy, int64_t n, int64_t cout, int64_t P, float *db,
                      int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t co = 0; co < cout; co++) {
        double acc[4] = {0, 0, 0, 0};
        for (int64_t b = 0; b < n; b++) {
            const float *p = dy + (b * cout + co) * P;
            int64_t i = 0;
            for (; i + 4 <= P; i += 4)
                for (int j = 0; j < 4; j++)
                    acc[j] += (double)p[i + j];
            for (; i < P; i++)
                acc[0] += (double)p[i];
        }
        db[co] = (float)((acc[0] + acc[1]) + (acc[2] + acc[3]));
    }
}

int unet__tc_conv_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                      const float *weight, const float *bias, int64_t cout, int k, int pad,
                      float *out, bool winograd, unet__scratch *s, int threads)
{
    if (winograd && unet__tw_applies(cin, cout, k, pad, h, w))
        return unet__tw_conv_fwd(in, n, cin, h, w, weight, bias, cout, pad, out, s, threads);
    const int64_t oh = h + 2 * (int64_t)pad - k + 1, ow = w + 2 * (int64_t)pad - k + 1;
    const int64_t K = cin * k * k, P = oh * ow;
    const bool direct = k == 1 && pad == 0;
    const split sp = split_threads(n, threads);
    size_t stride;
    float *area = work_area(s, sp, direct ? 0 : (size_t)(K * P), 0, &stride);
    if (!area)
        return nomem();
    atomic_int rc;
    atomic_init(&rc, UNET_OK);
#pragma omp parallel for num_threads(sp.outer) schedule(static) if (sp.outer > 1)
    for (int64_t b = 0; b < n; b++) {
        float *col = area + stride * (size_t)omp_get_thread_num();
        float *packs = col + (direct ? 0 : K * P);
        const float *x = in + b * cin * h * w;
        float *y = out + b * cout * P;
        if (!direct)
            im2col(x, cin, h, w, k, pad, oh, ow, col, sp.inner);
        for (int64_t co = 0; co < cout; co++)
            for (int64_t p = 0; p < P; p++)
                y[co * P + p] = bias ? bias[co] : 0.0f;
        int r = unet__sgemm(0, 0, cout, P, K, weight, K, direct ? x : col, P, 1, y, P, packs,
                            sp.inner);
        if (r != UNET_OK)
            atomic_store(&rc, r);
    }
    return atomic_load(&rc);
}

int unet__tc_conv_bwd_data(const float *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                           const float *weight, int64_t cout, int k, int pad, float *dx,
                           unet__scratch *s, int threads)
{
    const int64_t oh = h + 2 * (int64_t)pad - k + 1, ow = w + 2 * (int64_t)pad - k + 1;
    const int64_t K = cin * k * k, P = oh * ow;
    const bool direct = k == 1 && pad == 0;
    const split sp = split_threads(n, threads);
    size_t stride;
    float *area = work_area(s, sp, direct ? 0 : (size_t)(K * P), 0, &stride);
    if (!area)
        return nomem();
    atomic_int rc;
    atomic_init(&rc, UNET_OK);
#pragma omp parallel for num_threads(sp.outer) schedule(static) if (sp.outer > 1)
    for (int64_t b = 0; b < n; b++) {
        float *dcol = area + stride * (size_t)omp_get_thread_num();
        float *packs = dcol + (direct ? 0 : K * P);
        const float *g = dy + b * cout * P;
        float *d = dx + b * cin * h * w;
        /* A = W^T: element (i, c) of the K x cout matrix is weight[c * K + i]. */
        int r = unet__sgemm(1, 0, K, P, cout, weight, K, g, P, direct, direct ? d : dcol, P,
                            packs, sp.inner);
        if (r != UNET_OK)
            atomic_store(&rc, r);
        else if (!direct)
            col2im_add(dcol, cin, h, w, k, pad, oh, ow, d, sp.inner);
    }
    return atomic_load(&rc);
}

int unet__tc_conv_bwd_param(const float *x, const float *dy, int64_t n, int64_t cin, int64_t h,
                            int64_t w, int64_t cout, int k, int pad, float *dw, float *db,
                            unet__scratch *s, int threads)
{
    const int64_t oh = h + 2 * (int64_t)pad - k + 1, ow = w + 2 * (int64_t)pad - k + 1;
    const int64_t K = cin * k * k, P = oh * ow;
    const bool direct = k == 1 && pad == 0;
    if (dw) {
        const split sp = split_threads(n, threads);
        size_t stride;
        /* per-image partial gradients after the work areas (none for a single image) */
        const size_t parts = n > 1 ? (size_t)(n * cout * K) : 0;
        float *area = work_area(s, sp, direct ? 0 : (size_t)(K * P), parts, &stride);
        if (!area)
            return nomem();
        float *part = area + stride * (size_t)sp.outer;
        atomic_int rc;
        atomic_init(&rc, UNET_OK);
#pragma omp parallel for num_threads(sp.outer) schedule(static) if (sp.outer > 1)
        for (int64_t b = 0; b < n; b++) {
            float *col = area + stride * (size_t)omp_get_thread_num();
            float *packs = col + (direct ? 0 : K * P);
            const float *xb = x + b * cin * h * w;
            if (!direct)
                im2col(xb, cin, h, w, k, pad, oh, ow, col, sp.inner);
            /* B = col^T: element (p, i) of the P x K matrix is col[i * P + p]. */
            int r = unet__sgemm(0, 1, cout, K, P, dy + b * cout * P, P, direct ? xb : col, P, 0,
                                n > 1 ? part + b * cout * K : dw, K, packs, sp.inner);
            if (r != UNET_OK)
                atomic_store(&rc, r);
        }
        if (atomic_load(&rc) != UNET_OK)
            return atomic_load(&rc);
        if (n > 1)
            sum_partials(part, n, cout * K, dw, threads);
    }
    if (db)
        bias_grad(dy, n, cout, P, db, threads);
    return UNET_OK;
}

int unet__tc_conv_bwd(const float *x, const float *dy, int64_t n, int64_t cin, int64_t h,
                      int64_t w, const float *weight, int64_t cout, int k, int pad, float *dx,
                      float *dw, float *db, bool winograd, unet__scratch *s, int threads)
{
    int rc = UNET_OK;
    if (winograd && unet__tw_applies(cin, cout, k, pad, h, w)) {
        rc = unet__tw_conv_bwd(x, dy, n, cin, h, w, weight, cout, pad, dx, dw, s, threads);
        if (rc == UNET_OK && db)
            bias_grad(dy, n, cout, (h + 2 * (int64_t)pad - 2) * (w + 2 * (int64_t)pad - 2), db,
                      threads);
        return rc;
    }
    if (dw || db)
        rc = unet__tc_conv_bwd_param(x, dy, n, cin, h, w, cout, k, pad, dw, db, s, threads);
    if (dx && rc == UNET_OK)
        rc = unet__tc_conv_bwd_data(dy, n, cin, h, w, weight, cout, k, pad, dx, s, threads);
    return rc;
}

int unet__tc_convt_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                       const float *weight, const float *bias, int64_t cout, int f, float *out,
                       unet__scratch *s, int threads)
{
    const int64_t ff = (int64_t)f * f, P = h * w, M = cout * ff, ow = w * f;
    const split sp = split_threads(n, threads);
    size_t stride;
    float *area = work_area(s, sp, (size_t)(M * P), 0, &stride);
    if (!area)
        return nomem();
    atomic_int rc;
    atomic_init(&rc, UNET_OK);
#pragma omp parallel for num_threads(sp.outer) schedule(static) if (sp.outer > 1)
    for (int64_t b = 0; b < n; b++) {
        float *y = area + stride * (size_t)omp_get_thread_num();
        /* A = W^T: element ((co, a, e), ci) is weight[ci * M + (co, a, e)]. */
        int r = unet__sgemm(1, 0, M, P, cin, weight, M, in + b * cin * P, P, 0, y, P, y + M * P,
                            sp.inner);
        if (r != UNET_OK) {
            atomic_store(&rc, r);
            continue;
        }
        float *o = out + b * cout * P * ff;
        for (int64_t r2 = 0; r2 < cout * h; r2++) {
            const int64_t co = r2 / h, iy = r2 % h;
            const float bv = bias ? bias[co] : 0.0f;
            for (int a = 0; a < f; a++) {
                float *orow = o + (co * h * f + iy * f + a) * ow;
                for (int e = 0; e < f; e++) {
                    const float *src = y + ((co * f + a) * f + e) * P + iy * w;
                    for (int64_t ix = 0; ix < w; ix++)
                        orow[ix * f + e] = src[ix] + bv;
                }
            }
        }
    }
    return atomic_load(&rc);
}

/* g [cout f f][h w]: the output gradient of one image regrouped by tap. */
static void gather_taps(const float *dy, int64_t cout, int64_t h, int64_t w, int f, float *g)
{
    const int64_t P = h * w, ow = w * f;
    for (int64_t r = 0; r < cout * h; r++) {
        const int64_t co = r / h, iy = r % h;
        for (int a = 0; a < f; a++) {
            const float *row = dy + (co * h * f + iy * f + a) * ow;
            for (int e = 0; e < f; e++) {
                float *dst = g + ((co * f + a) * f + e) * P + iy * w;
                for (int64_t ix = 0; ix < w; ix++)
                    dst[ix] = row[ix * f + e];
            }
        }
    }
}

int unet__tc_convt_bwd_data(const float *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                            const float *weight, int64_t cout, int f, float *dx,
                            unet__scratch *s, int threads)
{
    const int64_t ff = (int64_t)f * f, P = h * w, M = cout * ff;
    const split sp = split_threads(n, threads);
    size_t stride;
    float *area = work_area(s, sp, (size_t)(M * P), 0, &stride);
    if (!area)
        return nomem();
    atomic_int rc;
    atomic_init(&rc, UNET_OK);
#pragma omp parallel for num_threads(sp.outer) schedule(static) if (sp.outer > 1)
    for (int64_t b = 0; b < n; b++) {
        float *g = area + stride * (size_t)omp_get_thread_num();
        gather_taps(dy + b * M * P, cout, h, w, f, g);
        int r = unet__sgemm(0, 0, cin, P, M, weight, M, g, P, 1, dx + b * cin * P, P,
                            g + M * P, sp.inner);
        if (r != UNET_OK)
            atomic_store(&rc, r);
    }
    return atomic_load(&rc);
}

int unet__tc_convt_bwd_param(const float *x, const float *dy, int64_t n, int64_t cin,
                             int64_t h, int64_t w, int64_t cout, int f, float *dw, float *db,
                             unet__scratch *s, int threads)
{
    const int64_t ff = (int64_t)f * f, P = h * w, M = cout * ff;
    if (dw) {
        const split sp = split_threads(n, threads);
        size_t stride;
        const size_t parts = n > 1 ? (size_t)(n * cin * M) : 0;
        float *area = work_area(s, sp, (size_t)(M * P), parts, &stride);
        if (!area)
            return nomem();
        float *part = area + stride * (size_t)sp.outer;
        atomic_int rc;
        atomic_init(&rc, UNET_OK);
#pragma omp parallel for num_threads(sp.outer) schedule(static) if (sp.outer > 1)
        for (int64_t b = 0; b < n; b++) {
            float *g = area + stride * (size_t)omp_get_thread_num();
            gather_taps(dy + b * M * P, cout, h, w, f, g);
            int r = unet__sgemm(0, 1, cin, M, P, x + b * cin * P, P, g, P, 0,
                                n > 1 ? part + b * cin * M : dw, M, g + M * P, sp.inner);
            if (r != UNET_OK)
                atomic_store(&rc, r);
        }
        if (atomic_load(&rc) != UNET_OK)
            return atomic_load(&rc);
        if (n > 1)
            sum_partials(part, n, cin * M, dw, threads);
    }
    if (db)
        bias_grad(dy, n, cout, P * ff, db, threads);
    return UNET_OK;
}
