/*
 * Body of the reference training kernels for one element type, included by ref_backward.c
 * once per type with T (the element type), S (the name suffix), REF(name) (ref_ops.h's name of
 * an operator for T) and AXPY (ref_common.h's row loop for T) defined.
 * See ref_backward.h for the contracts.
 */
#define RT_CAT2(a, b) a##_##b
#define RT_CAT(a, b) RT_CAT2(a, b)
#define FN(name) RT_CAT(name, S)

/* ---- forward ops: the reference operators of ref_ops.h (REF names them for T) ---- */

void FN(unet__rt_conv_fwd)(const T *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                           const T *weight, const T *bias, int64_t cout, int k, int pad, T *out,
                           int threads)
{
    REF(conv2d)(in, n, cin, h, w, weight, bias, cout, k, pad, out, threads);
}

void FN(unet__rt_convt_fwd)(const T *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                            const T *weight, const T *bias, int64_t cout, int f, T *out,
                            int threads)
{
    REF(conv_transpose2d)(in, n, cin, h, w, weight, bias, cout, f, out, threads);
}

void FN(unet__rt_maxpool_fwd)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                              T *out, int threads)
{
    REF(maxpool2d)(in, n, c, h, w, f, out, threads);
}

void FN(unet__rt_avgpool_fwd)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                              T *out, int threads)
{
    REF(avgpool2d)(in, n, c, h, w, f, out, threads);
}

void FN(unet__rt_up_nearest_fwd)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w,
                                 int f, T *out, int threads)
{
    REF(upsample_nearest2d)(in, n, c, h, w, f, out, threads);
}

void FN(unet__rt_up_bilinear_fwd)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w,
                                  int f, T *out, int threads)
{
    REF(upsample_bilinear2d)(in, n, c, h, w, f, out, threads);
}

void FN(unet__rt_act_fwd)(T *x, int64_t count, unet__act act, int threads)
{
    /* The training pass's rectifiers, in parallel and vectorisable (the reference's values:
     * NaN is kept). */
    if (act == UNET__ACT_RELU) {
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
        for (int64_t i = 0; i < count; i++)
            x[i] = x[i] < 0 ? 0 : x[i];
    } else if (act == UNET__ACT_LEAKY_RELU) {
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
        for (int64_t i = 0; i < count; i++)
            x[i] = x[i] < 0 ? x[i] * (T)0.01 : x[i];
    } else {
        REF(activation)(x, (size_t)count, act);
    }
}

void FN(unet__rt_softmax_fwd)(T *x, int64_t n, int64_t c, int64_t hw, int threads)
{
    REF(softmax_channels)(x, n, c, hw, threads);
}

void FN(unet__rt_bn_eval_fwd)(T *x, int64_t n, int64_t c, int64_t hw, const T *gamma,
                              const T *beta, const T *mean, const T *var, int threads)
{
    REF(batchnorm)(x, n, c, hw, gamma, beta, mean, var, UNET__NORM_EPS, threads);
}

void FN(unet__rt_copy_window)(const T *src, int64_t n, int64_t c, int64_t sh, int64_t sw,
                              int64_t y0, int64_t x0, int64_t oh, int64_t ow, T *dst,
                              int64_t dst_c, int64_t dst_c0, int threads)
{
    REF(copy_window)(src, n, c, sh, sw, y0, x0, oh, ow, dst, dst_c, dst_c0, threads);
}

/* ---- training forward ops ---- */

void FN(unet__rt_bn_train_fwd)(T *x, int64_t n, int64_t c, int64_t hw, const T *gamma,
                               const T *beta, T *save_mean, T *save_rstd, T *running_mean,
                               T *running_var, int threads)
{
    const int64_t m = n * hw;
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0, ss = 0;
        for (int64_t b = 0; b < n; b++) {
            const T *p = x + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++)
                s += (double)p[i];
        }
        const double mu = s / (double)m;
        for (int64_t b = 0; b < n; b++) {
            const T *p = x + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++)
                ss += ((double)p[i] - mu) * ((double)p[i] - mu);
        }
        const double var = ss / (double)m;
        const double rstd = 1 / sqrt(var + UNET__NORM_EPS);
        const double scale = (gamma ? (double)gamma[ch] : 1.0) * rstd;
        const double shift = beta ? (double)beta[ch] : 0.0;
        for (int64_t b = 0; b < n; b++) {
            T *p = x + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++)
                p[i] = (T)(((double)p[i] - mu) * scale + shift);
        }
        save_mean[ch] = (T)mu;
        save_rstd[ch] = (T)rstd;
        if (running_mean) {
            const double unbiased = m > 1 ? ss / (double)(m - 1) : var;
            running_mean[ch] = (T)((1 - UNET__BN_MOMENTUM) * (double)running_mean[ch] +
                                   UNET__BN_MOMENTUM * mu);
            running_var[ch] = (T)((1 - UNET__BN_MOMENTUM) * (double)running_var[ch] +
                                  UNET__BN_MOMENTUM * unbiased);
        }
    }
}

void FN(unet__rt_gn_fwd)(T *x, int64_t n, int64_t c, int64_t hw, int groups, const T *gamma,
                         const T *beta, T *save_mean, T *save_rstd, int threads)
{
    REF(groupnorm_save)(x, n, c, hw, groups, gamma, beta, UNET__NORM_EPS, save_mean, save_rstd,
                        threads);
}

void FN(unet__rt_dropout_fwd)(T *x, int64_t count, double p, uint64_t key, int threads)
{
    const double keep_scale = 1.0 / (1.0 - p);
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t i = 0; i < count; i++)
        x[i] = rt_keep(key, i, p) ? (T)((double)x[i] * keep_scale) : (T)0;
}

/* ---- backward ops ---- */

/* One image's contribution to the taps of one weight (x plane of channel ci, dy plane of
 * channel co), added to acc[g->taps]. */
typedef void (*FN(rt_taps_fn))(const T *xp, const T *gp, const rt_wgrad *g, double *acc);

/* The parameter gradients of a convolution (plain or transposed): dw, one task per (co, ci)
 * pair, its taps summed over the images in order; db[co], the sum of dy over images and
 * pixels. Either may be NULL. */
static void FN(rt_param_grads)(const T *x, const T *dy, const rt_wgrad *g, FN(rt_taps_fn) taps,
                               T *dw, T *db, int threads)
{
    const int64_t n = g->n, cin = g->cin, cout = g->cout, kk = g->taps;
    const int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow;
    if (dw) {
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
        for (int64_t t = 0; t < cout * cin; t++) {
            const int64_t co = g->cin_major ? t % cout : t / cin;
            const int64_t ci = g->cin_major ? t / cout : t % cin;
            double acc[RT_MAX_TAPS];
            for (int64_t i = 0; i < kk; i++)
                acc[i] = 0;
            for (int64_t b = 0; b < n; b++)
                taps(x + (b * cin + ci) * in_plane, dy + (b * cout + co) * out_plane, g, acc);
            for (int64_t i = 0; i < kk; i++)
                dw[t * kk + i] = (T)acc[i];
        }
    }
    if (db) {
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
        for (int64_t co = 0; co < cout; co++) {
            double s = 0;
            for (int64_t b = 0; b < n; b++) {
                const T *p = dy + (b * cout + co) * out_plane;
                for (int64_t i = 0; i < out_plane; i++)
                    s += (double)p[i];
            }
            db[co] = (T)s;
        }
    }
}

void FN(unet__rt_conv_bwd_data)(const T *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                                const T *weight, int64_t cout, int k, int pad, T *dx,
                                int threads)
{
    const int64_t oh = h + 2 * (int64_t)pad - k + 1, ow = w + 2 * (int64_t)pad - k + 1;
    const int64_t kk = (int64_t)k * k, rows = n * cin * h;
    /* dx[b][ci][y][x] = sum_co,ky,kx dy[b][co][y + pad - ky][x + pad - kx] w[co][ci][ky][kx]:
     * one task per dx row, the x loop over a contiguous run of a dy row as in the forward. */
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = r % h, ci = (r / h) % cin, b = r / (h * cin);
        T *dx_row = dx + r * w;
        double acc[UNET__REF_CHUNK];
        for (int64_t x0 = 0; x0 < w; x0 += UNET__REF_CHUNK) {
            const int64_t x1 = unet__imin64(w, x0 + UNET__REF_CHUNK);
            for (int64_t x = 0; x < x1 - x0; x++)
                acc[x] = 0;
            for (int64_t co = 0; co < cout; co++) {
                const T *w_co = weight + (co * cin + ci) * kk;
                for (int ky = 0; ky < k; ky++) {
                    const int64_t oy = y + pad - ky;
                    if (oy < 0 || oy >= oh)
                        continue;
                    const T *dy_row = dy + ((b * cout + co) * oh + oy) * ow;
                    /* x with 0 <= x + pad - kx < ow */
                    for (int kx = 0; kx < k; kx++)
                        AXPY(acc, x0, dy_row, pad - kx, unet__imax64(x0, (int64_t)kx - pad),
                             unet__imin64(x1, ow + kx - pad), (double)w_co[ky * k + kx]);
                }
            }
            for (int64_t x = x0; x < x1; x++)
                dx_row[x] = (T)((double)dx_row[x] + acc[x - x0]);
        }
    }
}

/* One image's k x k tap sums of a conv2d weight gradient for one (co, ci) pair, added to acc. */
static void FN(rt_conv_taps)(const T *x_p, const T *dy_p, const rt_wgrad *g, double *acc)
{
    const int k = g->k, pad = g->pad;
    const int64_t h = g->h, w = g->w, oh = g->oh, ow = g->ow;
    for (int64_t oy = 0; oy < oh; oy++) {
        const T *dy_row = dy_p + oy * ow;
        for (int ky = 0; ky < k; ky++) {
            const int64_t iy = oy + ky - pad;
            if (iy < 0 || iy >= h)
                continue;
            const T *x_row = x_p + iy * w;
            for (int kx = 0; kx < k; kx++) {
                const int64_t lo = unet__imax64(0, (int64_t)pad - kx);
                const int64_t hi = unet__imin64(ow, w + pad - kx);
                const T *src = x_row + (kx - pad);
                double s = 0;
#pragma omp simd reduction(+ : s)
                for (int64_t ox = lo; ox < hi; ox++)
                    s += (double)dy_row[ox] * (double)src[ox];
                acc[ky * k + kx] += s;
            }
        }
    }
}

void FN(unet__rt_conv_bwd_param)(const T *x, const T *dy, int64_t n, int64_t cin, int64_t h,
                                 int64_t w, int64_t cout, int k, int pad, T *dw, T *db,
                                 int threads)
{
    const rt_wgrad g = {.n = n, .cin = cin, .cout = cout, .h = h, .w = w,
                        .oh = h + 2 * (int64_t)pad - k + 1, .ow = w + 2 * (int64_t)pad - k + 1,
                        .taps = (int64_t)k * k, .k = k, .pad = pad};
    FN(rt_param_grads)(x, dy, &g, FN(rt_conv_taps), dw, db, threads);
}

void FN(unet__rt_convt_bwd_data)(const T *dy, int64_t n, int64_t cin, int64_t h, int64_t w,
                                 const T *weight, int64_t cout, int f, T *dx, int threads)
{
    const int64_t oh = h * f, ow = w * f, rows = n * cin * h;
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t iy = r % h, ci = (r / h) % cin, b = r / (h * cin);
        for (int64_t ix = 0; ix < w; ix++) {
            double acc = 0;
            for (int64_t co = 0; co < cout; co++) {
                const T *wv = weight + (ci * cout + co) * f * f;
                const T *g = dy + ((b * cout + co) * oh + iy * f) * ow + ix * f;
                for (int a = 0; a < f; a++)
                    for (int e = 0; e < f; e++)
                        acc += (double)wv[a * f + e] * (double)g[a * ow + e];
            }
            dx[r * w + ix] = (T)((double)dx[r * w + ix] + acc);
        }
    }
}

/* One image's f x f tap sums of a transposed convolution's weight gradient for one (ci, co)
 * pair, added to acc. */
static void FN(rt_convt_taps)(const T *xp, const T *gp, const rt_wgrad *g, double *acc)
{
    const int f = g->f;
    const int64_t h = g->h, w = g->w, ow = g->ow;
    for (int64_t iy = 0; iy < h; iy++)
        for (int a = 0; a < f; a++) {
            const T *grow = gp + (iy * f + a) * ow;
            const T *xrow = xp + iy * w;
            for (int e = 0; e < f; e++) {
                double s = 0;
                for (int64_t ix = 0; ix < w; ix++)
                    s += (double)xrow[ix] * (double)grow[ix * f + e];
                acc[a * f + e] += s;
            }
        }
}

void FN(unet__rt_convt_bwd_param)(const T *x, const T *dy, int64_t n, int64_t cin, int64_t h,
                                  int64_t w, int64_t cout, int f, T *dw, T *db, int threads)
{
    const rt_wgrad g = {.n = n, .cin = cin, .cout = cout, .h = h, .w = w, .oh = h * f,
                        .ow = w * f, .taps = (int64_t)f * f, .f = f, .cin_major = true};
    FN(rt_param_grads)(x, dy, &g, FN(rt_convt_taps), dw, db, threads);
}

void FN(unet__rt_maxpool_bwd)(const T *x, const T *dy, int64_t n, int64_t c, int64_t h,
                              int64_t w, int f, T *dx, int threads)
{
    const int64_t oh = h / f, ow = w / f;
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t r = 0; r < n * c * oh; r++) {
        const int64_t pl = r / oh, oy = r % oh;
        const T *xp = x + pl * h * w;
        T *dp = dx + pl * h * w;
        for (int64_t ox = 0; ox < ow; ox++) {
            int64_t best = oy * f * w + ox * f;
            for (int a = 0; a < f; a++)
                for (int e = 0; e < f; e++) {
                    const int64_t idx = (oy * f + a) * w + ox * f + e;
                    if (xp[idx] > xp[best] || (isnan(xp[idx]) && !isnan(xp[best])))
                        best = idx;
                }
            dp[best] = (T)((double)dp[best] + (double)dy[r * ow + ox]);
        }
    }
}

void FN(unet__rt_avgpool_bwd)(const T *dy, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                              T *dx, int threads)
{
    const int64_t oh = h / f, ow = w / f;
    const double inv = 1.0 / ((double)f * f);
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t r = 0; r < n * c * oh; r++) {
        const int64_t pl = r / oh, oy = r % oh;
        T *dp = dx + pl * h * w;
        for (int64_t ox = 0; ox < ow; ox++) {
            const double g = (double)dy[r * ow + ox] * inv;
            for (int a = 0; a < f; a++)
                for (int e = 0; e < f; e++) {
                    T *q = dp + (oy * f + a) * w + ox * f + e;
                    *q = (T)((double)*q + g);
                }
        }
    }
}

void FN(unet__rt_up_nearest_bwd)(const T *dy, int64_t n, int64_t c, int64_t h, int64_t w,
                                 int f, T *dx, int threads)
{
    const int64_t ow = w * f;
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t r = 0; r < n * c * h; r++) {
        const int64_t pl = r / h, iy = r % h;
        for (int64_t ix = 0; ix < w; ix++) {
            double s = 0;
            for (int a = 0; a < f; a++)
                for (int e = 0; e < f; e++)
                    s += (double)dy[(pl * h * f + iy * f + a) * ow + ix * f + e];
            dx[r * w + ix] = (T)((double)dx[r * w + ix] + s);
        }
    }
}

void FN(unet__rt_up_bilinear_bwd)(const T *dy, int64_t n, int64_t c, int64_t h, int64_t w,
                                  int f, T *dx, int threads)
{
    const int64_t oh = h * f, ow = w * f;
    /* Scatter per plane: one task per plane, so no two threads write one element; the
     * plane's gradient accumulates in double (in T when that memory cannot be had), then is
     * added once. */
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t pl = 0; pl < n * c; pl++) {
        double *acc = calloc((size_t)(h * w), sizeof *acc); /* NULL: add into d in T */
        const T *g = dy + pl * oh * ow;
        T *d = dx + pl * h * w;
        for (int64_t y = 0; y < oh; y++) {
            int64_t y0, y1, x0, x1;
            double ly, lx;
            unet__bilinear_src(y, f, h, &y0, &y1, &ly);
            for (int64_t x = 0; x < ow; x++) {
                unet__bilinear_src(x, f, w, &x0, &x1, &lx);
                /* the four pixels the forward read, with their weights, in its order */
                const int64_t at[4] = {y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1};
                const double wt[4] = {(1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx};
                const double v = (double)g[y * ow + x];
                for (int j = 0; j < 4; j++) {
                    if (acc)
                        acc[at[j]] += wt[j] * v;
                    else
                        d[at[j]] += (T)(wt[j] * v);
                }
            }
        }
        if (!acc)
            continue;
        for (int64_t i = 0; i < h * w; i++)
            d[i] = (T)((double)d[i] + acc[i]);
        free(acc);
    }
}

void FN(unet__rt_act_bwd)(const T *y, const T *dy, int64_t count, unet__act act, T *dx,
                          int threads)
{
    if (act == UNET__ACT_RELU) {
        /* In T: a float sum of two floats rounds as the double sum rounded to float does. */
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
        for (int64_t i = 0; i < count; i++) {
            const T g = dy[i]; /* loaded unconditionally: the select vectorises */
            dx[i] += y[i] > 0 ? g : (T)0;
        }
        return;
    }
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t i = 0; i < count; i++) {
        const double v = (double)y[i], g = (double)dy[i];
        double d;
        switch (act) {
        case UNET__ACT_RELU: d = v > 0 ? g : 0; break;
        case UNET__ACT_LEAKY_RELU: d = v > 0 ? g : 0.01 * g; break;
        case UNET__ACT_ELU: d = v > 0 ? g : g * (v + 1); break; /* d expm1(x) = y + 1 */
        case UNET__ACT_SIGMOID: d = g * v * (1 - v); break;
        default: d = g; break;
        }
        dx[i] = (T)((double)dx[i] + d);
    }
}

void FN(unet__rt_softmax_bwd)(const T *y, const T *dy, int64_t n, int64_t c, int64_t hw, T *dx,
                              int threads)
{
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t t = 0; t < n * hw; t++) {
        const int64_t off = (t / hw) * c * hw + t % hw;
        double dot = 0;
        for (int64_t ch = 0; ch < c; ch++)
            dot += (double)y[off + ch * hw] * (double)dy[off + ch * hw];
        for (int64_t ch = 0; ch < c; ch++) {
            const int64_t i = off + ch * hw;
            dx[i] = (T)((double)dx[i] + (double)y[i] * ((double)dy[i] - dot));
        }
    }
}

/* The sums behind a norm's affine gradients over one plane of hw pixels, added to *sg (sum of
 * dy) and *sgx (sum of dy * xhat, xhat = (x - mu) * rs). */
static inline void FN(rt_affine_sums)(const T *xp, const T *gp, int64_t hw, double mu,
                                      double rs, double *sg, double *sgx)
{
    double a = *sg, b = *sgx;
    for (int64_t i = 0; i < hw; i++) {
        a += (double)gp[i];
        b += (double)gp[i] * ((double)xp[i] - mu) * rs;
    }
    *sg = a;
    *sgx = b;
}

/* dgamma[ch] = sum of dy * xhat, dbeta[ch] = sum of dy (either may be NULL). */
static inline void FN(rt_affine_store)(T *dgamma, T *dbeta, int64_t ch, double sg, double sgx)
{
    if (dgamma)
        dgamma[ch] = (T)sgx;
    if (dbeta)
        dbeta[ch] = (T)sg;
}

void FN(unet__rt_bn_train_bwd)(const T *x, const T *dy, int64_t n, int64_t c, int64_t hw,
                               const T *gamma, const T *mean, const T *rstd, T *dx, T *dgamma,
                               T *dbeta, int threads)
{
    const double m = (double)(n * hw);
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        const double mu = (double)mean[ch], rs = (double)rstd[ch];
        double sg = 0, sgx = 0; /* sum dy, sum dy * xhat */
        for (int64_t b = 0; b < n; b++)
            FN(rt_affine_sums)(x + (b * c + ch) * hw, dy + (b * c + ch) * hw, hw, mu, rs, &sg,
                               &sgx);
        FN(rt_affine_store)(dgamma, dbeta, ch, sg, sgx);
        if (!dx)
            continue;
        const double k = (gamma ? (double)gamma[ch] : 1.0) * rs;
        for (int64_t b = 0; b < n; b++) {
            const T *xp = x + (b * c + ch) * hw, *gp = dy + (b * c + ch) * hw;
            T *dp = dx + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++) {
                const double xh = ((double)xp[i] - mu) * rs;
                dp[i] = (T)((double)dp[i] + k * ((double)gp[i] - sg / m - xh * sgx / m));
            }
        }
    }
}

void FN(unet__rt_bn_eval_bwd)(const T *x, const T *dy, int64_t n, int64_t c, int64_t hw,
                              const T *gamma, const T *mean, const T *var, T *dx, T *dgamma,
                              T *dbeta, int threads)
{
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t ch = 0; ch < c; ch++) {
        const double rs = 1 / sqrt((double)var[ch] + UNET__NORM_EPS), mu = (double)mean[ch];
        const double k = (gamma ? (double)gamma[ch] : 1.0) * rs;
        double sg = 0, sgx = 0;
        for (int64_t b = 0; b < n; b++) {
            const T *gp = dy + (b * c + ch) * hw;
            FN(rt_affine_sums)(x + (b * c + ch) * hw, gp, hw, mu, rs, &sg, &sgx);
            if (!dx)
                continue;
            T *dp = dx + (b * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++)
                dp[i] = (T)((double)dp[i] + k * (double)gp[i]);
        }
        FN(rt_affine_store)(dgamma, dbeta, ch, sg, sgx);
    }
}

void FN(unet__rt_gn_bwd)(const T *x, const T *dy, int64_t n, int64_t c, int64_t hw, int groups,
                         const T *gamma, const T *mean, const T *rstd, T *dx, T *dgamma,
                         T *dbeta, int threads)
{
    const int64_t cpg = c / groups, len = cpg * hw;
    if (dx) {
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
        for (int64_t t = 0; t < n * groups; t++) {
            const T *xp = x + t * len, *gp = dy + t * len;
            T *dp = dx + t * len;
            const int64_t c0 = (t % groups) * cpg;
            const double mu = (double)mean[t], rs = (double)rstd[t];
            double s1 = 0, s2 = 0; /* sum dxhat, sum dxhat * xhat */
            for (int64_t j = 0; j < cpg; j++) {
                const double gm = gamma ? (double)gamma[c0 + j] : 1.0;
                for (int64_t i = j * hw; i < (j + 1) * hw; i++) {
                    const double dxh = (double)gp[i] * gm;
                    s1 += dxh;
                    s2 += dxh * ((double)xp[i] - mu) * rs;
                }
            }
            for (int64_t j = 0; j < cpg; j++) {
                const double gm = gamma ? (double)gamma[c0 + j] : 1.0;
                for (int64_t i = j * hw; i < (j + 1) * hw; i++) {
                    const double xh = ((double)xp[i] - mu) * rs;
                    dp[i] = (T)((double)dp[i] +
                                rs * ((double)gp[i] * gm - s1 / (double)len -
                                      xh * s2 / (double)len));
                }
            }
        }
    }
    if (dgamma || dbeta) {
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
        for (int64_t ch = 0; ch < c; ch++) {
            double sg = 0, sgx = 0;
            for (int64_t b = 0; b < n; b++) {
                const int64_t t = b * groups + ch / cpg;
                FN(rt_affine_sums)(x + (b * c + ch) * hw, dy + (b * c + ch) * hw, hw,
                                   (double)mean[t], (double)rstd[t], &sg, &sgx);
            }
            FN(rt_affine_store)(dgamma, dbeta, ch, sg, sgx);
        }
    }
}

void FN(unet__rt_dropout_bwd)(const T *dy, int64_t count, double p, uint64_t key, T *dx,
                              int threads)
{
    const double keep_scale = 1.0 / (1.0 - p);
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t i = 0; i < count; i++)
        if (rt_keep(key, i, p))
            dx[i] = (T)((double)dx[i] + (double)dy[i] * keep_scale);
}

void FN(unet__rt_add_window)(const T *src, int64_t n, int64_t src_c, int64_t src_c0, int64_t c,
                             int64_t oh, int64_t ow, T *dst, int64_t sh, int64_t sw, int64_t y0,
                             int64_t x0, int threads)
{
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t pl = 0; pl < n * c; pl++) {
        const T *s = src + ((pl / c) * src_c + src_c0 + pl % c) * oh * ow;
        T *d = dst + pl * sh * sw + y0 * sw + x0;
        for (int64_t y = 0; y < oh; y++)
            for (int64_t x = 0; x < ow; x++)
                d[y * sw + x] += s[y * ow + x];
    }
}

#undef RT_CAT2
#undef RT_CAT
#undef FN
