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

/* One image's share of a call: image b, its thread's work area and packing buffers, and the
 * threads its products may use. Returns a status. */
typedef int (*image_fn)(const void *call, int64_t b, float *work, float *packs, int inner);

/* fn on images 0..n-1 in one parallel region, images shared among threads as split_threads
 * says. Every thread has its own work area of `a` floats (im2col or taps) followed by its
 * products' packing buffers; `extra` floats after all the areas belong to the call and are
 * given in *extra_out before fn runs. Returns a failing image's status, or UNET_E_NOMEM. */
static int for_each_image(unet__scratch *s, int64_t n, int threads, size_t a, size_t extra,
                          float **extra_out, image_fn fn, const void *call)
{
    const split sp = split_threads(n, threads);
    const size_t stride = a + unet__sgemm_pack_floats(sp.inner);
    float *area = unet__scratch_get(s, stride * (size_t)sp.outer + extra);
    if (!area)
        return nomem();
    if (extra_out)
        *extra_out = area + stride * (size_t)sp.outer;
    atomic_int rc;
    atomic_init(&rc, UNET_OK);
#pragma omp parallel for num_threads(sp.outer) schedule(static) if (sp.outer > 1)
    for (int64_t b = 0; b < n; b++) {
        float *work = area + stride * (size_t)omp_get_thread_num();
        int r = fn(call, b, work, work + a, sp.inner);
        if (r != UNET_OK)
            atomic_store(&rc, r);
    }
    return atomic_load(&rc);
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

/* A convolution call: its geometry and operands (each pass uses some of them). A plain
 * convolution (k, pad) has an im2col matrix of K x P per image; a transposed one (kernel =
 * stride = f) is one product per image over the f x f taps as M = cout f f rows. */
typedef struct conv_call {
    int64_t n, cin, h, w, cout;
    int k, pad, f;
    int64_t oh, ow, K, P, M;
    bool direct; /* 1x1 unpadded: the image is its own im2col matrix */
    const float *x, *dy, *weight, *bias;
    float *y, *dx, *dw, *part; /* part: per-image weight gradients when n > 1 */
} conv_call;

/* The geometry of a plain convolution, once n, cin, h, w and cout are set. */
static void conv_geometry(conv_call *c, int k, int pad)
{
    c->k = k;
    c->pad = pad;
    c->oh = c->h + 2 * (int64_t)pad - k + 1;
    c->ow = c->w + 2 * (int64_t)pad - k + 1;
    c->K = c->cin * k * k;
    c->P = c->oh * c->ow;
    c->direct = k == 1 && pad == 0;
}

/* The geometry of a transposed convolution, once n, cin, h, w and cout are set. */
static void convt_geometry(conv_call *c, int f)
{
    c->f = f;
    c->P = c->h * c->w;
    c->M = c->cout * (int64_t)f * f;
}

/* Floats of one image's im2col matrix (none when direct). */
static size_t col_floats(const conv_call *c)
{
    return c->direct ? 0 : (size_t)(c->K * c->P);
}

static int conv_fwd_image(const void *call, int64_t b, float *col, float *packs, int inner)
{
    const conv_call *c = call;
    const float *x = c->x + b * c->cin * c->h * c->w;
    float *y = c->y + b * c->cout * c->P;
    if (!c->direct)
        im2col(x, c->cin, c->h, c->w, c->k, c->pad, c->oh, c->ow, col, inner);
    for (int64_t co = 0; co < c->cout; co++)
        for (int64_t p = 0; p < c->P; p++)
            y[co * c->P + p] = c->bias ? c->bias[co] : 0.0f;
    return unet__sgemm(0, 0, c->cout, c->P, c->K, c->weight, c->K, c->direct ? x : col, c->P, 1,
                       y, c->P, packs, inner);
}

int unet__tc_conv_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                      const float *weight, const float *bias, int64_t cout, int k, int pad,
                      float *out, bool winograd, unet__scratch *s, int threads)
{
    if (winograd && unet__tw_applies(cin, cout, k, pad, h, w))
        return unet__tw_conv_fwd(in, n, cin, h, w, weight, bias, cout, pad, out, s, threads);
    conv_call c = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .x = in, .weight = weight,
                   .bias = bias, .y = out};
    conv_geometry(&c, k, pad);
    return for_each_image(s, n, threads, col_floats(&c), 0, NULL, conv_fwd_image, &c);
}

static int conv_bwd_data_image(const void *call, int64_t b, float *dcol, float *packs,
                               int inner)
{
    const conv_call *c = call;
    const float *g = c->dy + b * c->cout * c->P;
    float *d = c->dx + b * c->cin * c->h * c->w;
    /* A = W^T: element (i, c) of the K x cout matrix is weight[c * K + i]. */
    int r = unet__sgemm(1, 0, c->K, c->P, c->cout, c->weight, c->K, g, c->P, c->direct,
                        c->direct ? d : dcol, c->P, packs, inner);
    if (r == UNET_OK && !c->direct)
        col2im_add(dcol, c->cin, c->h, c->w, c->k, c->pad, c->oh, c->ow, d, inner);
    return r;
}

int unet__tc_conv_bwd_data(const float *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                           const float *weight, int64_t cout, int k, int pad, float *dx,
                           unet__scratch *s, int threads)
{
    conv_call c = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .dy = dy, .weight = weight,
                   .dx = dx};
    conv_geometry(&c, k, pad);
    return for_each_image(s, n, threads, col_floats(&c), 0, NULL, conv_bwd_data_image, &c);
}

static int conv_bwd_weight_image(const void *call, int64_t b, float *col, float *packs,
                                 int inner)
{
    const conv_call *c = call;
    const float *xb = c->x + b * c->cin * c->h * c->w;
    if (!c->direct)
        im2col(xb, c->cin, c->h, c->w, c->k, c->pad, c->oh, c->ow, col, inner);
    /* B = col^T: element (p, i) of the P x K matrix is col[i * P + p]. */
    return unet__sgemm(0, 1, c->cout, c->K, c->P, c->dy + b * c->cout * c->P, c->P,
                       c->direct ? xb : col, c->P, 0,
                       c->n > 1 ? c->part + b * c->cout * c->K : c->dw, c->K, packs, inner);
}

/* dw (`count` floats) as the sum over images of the per-image products fn writes: with one
 * image straight into dw, with several into per-image partials (*part, the call's own field,
 * set here) summed in image order. */
static int weight_grad(unet__scratch *s, int64_t n, int threads, size_t a, int64_t count,
                       float **part, float *dw, image_fn fn, const void *call)
{
    int rc = for_each_image(s, n, threads, a, n > 1 ? (size_t)(n * count) : 0, part, fn, call);
    if (rc == UNET_OK && n > 1)
        sum_partials(*part, n, count, dw, threads);
    return rc;
}

int unet__tc_conv_bwd_param(const float *x, const float *dy, int64_t n, int64_t cin, int64_t h,
                            int64_t w, int64_t cout, int k, int pad, float *dw, float *db,
                            unet__scratch *s, int threads)
{
    conv_call c = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .x = x, .dy = dy, .dw = dw};
    conv_geometry(&c, k, pad);
    if (dw) {
        int rc = weight_grad(s, n, threads, col_floats(&c), cout * c.K, &c.part, dw,
                             conv_bwd_weight_image, &c);
        if (rc != UNET_OK)
            return rc;
    }
    if (db)
        bias_grad(dy, n, cout, c.P, db, threads);
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

static int convt_fwd_image(const void *call, int64_t b, float *y, float *packs, int inner)
{
    const conv_call *c = call;
    const int64_t P = c->P, h = c->h, w = c->w, ow = w * c->f;
    const int f = c->f;
    /* A = W^T: element ((co, a, e), ci) is weight[ci * M + (co, a, e)]. */
    int r = unet__sgemm(1, 0, c->M, P, c->cin, c->weight, c->M, c->x + b * c->cin * P, P, 0, y,
                        P, packs, inner);
    if (r != UNET_OK)
        return r;
    float *o = c->y + b * c->cout * P * f * f;
    for (int64_t r2 = 0; r2 < c->cout * h; r2++) {
        const int64_t co = r2 / h, iy = r2 % h;
        const float bv = c->bias ? c->bias[co] : 0.0f;
        for (int a = 0; a < f; a++) {
            float *orow = o + (co * h * f + iy * f + a) * ow;
            for (int e = 0; e < f; e++) {
                const float *src = y + ((co * f + a) * f + e) * P + iy * w;
                for (int64_t ix = 0; ix < w; ix++)
                    orow[ix * f + e] = src[ix] + bv;
            }
        }
    }
    return UNET_OK;
}

int unet__tc_convt_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                       const float *weight, const float *bias, int64_t cout, int f, float *out,
                       unet__scratch *s, int threads)
{
    conv_call c = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .x = in, .weight = weight,
                   .bias = bias, .y = out};
    convt_geometry(&c, f);
    return for_each_image(s, n, threads, (size_t)(c.M * c.P), 0, NULL, convt_fwd_image, &c);
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

static int convt_bwd_data_image(const void *call, int64_t b, float *g, float *packs, int inner)
{
    const conv_call *c = call;
    gather_taps(c->dy + b * c->M * c->P, c->cout, c->h, c->w, c->f, g);
    return unet__sgemm(0, 0, c->cin, c->P, c->M, c->weight, c->M, g, c->P, 1,
                       c->dx + b * c->cin * c->P, c->P, packs, inner);
}

int unet__tc_convt_bwd_data(const float *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                            const float *weight, int64_t cout, int f, float *dx,
                            unet__scratch *s, int threads)
{
    conv_call c = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .dy = dy, .weight = weight,
                   .dx = dx};
    convt_geometry(&c, f);
    return for_each_image(s, n, threads, (size_t)(c.M * c.P), 0, NULL, convt_bwd_data_image,
                          &c);
}

static int convt_bwd_weight_image(const void *call, int64_t b, float *g, float *packs,
                                  int inner)
{
    const conv_call *c = call;
    gather_taps(c->dy + b * c->M * c->P, c->cout, c->h, c->w, c->f, g);
    return unet__sgemm(0, 1, c->cin, c->M, c->P, c->x + b * c->cin * c->P, c->P, g, c->P, 0,
                       c->n > 1 ? c->part + b * c->cin * c->M : c->dw, c->M, packs, inner);
}

int unet__tc_convt_bwd_param(const float *x, const float *dy, int64_t n, int64_t cin,
                             int64_t h, int64_t w, int64_t cout, int f, float *dw, float *db,
                             unet__scratch *s, int threads)
{
    conv_call c = {.n = n, .cin = cin, .h = h, .w = w, .cout = cout, .x = x, .dy = dy, .dw = dw};
    convt_geometry(&c, f);
    if (dw) {
        int rc = weight_grad(s, n, threads, (size_t)(c.M * c.P), cin * c.M, &c.part, dw,
                             convt_bwd_weight_image, &c);
        if (rc != UNET_OK)
            return rc;
    }
    if (db)
        bias_grad(dy, n, cout, c.P * f * f, db, threads);
    return UNET_OK;
}
