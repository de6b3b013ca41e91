/*
 * Body of the reference operators (see ref_ops.h) for one element type, included by ref_ops.c
 * once per type with T (the element type), REF(name) (the function name: unet__ref_name for
 * float, unet__ref_name_f64 for double) and AXPY (ref_common.h's row loop for T) defined.
 */

/* A convolution's input and weights: plain (k, pad) or transposed (kernel = stride = f). */
typedef struct REF(conv_op) {
    const T *in, *weight;
    int64_t cin, h, w, cout;
    int k, pad, f;
} REF(conv_op);

/* Adds to acc[0, x1 - x0) the taps of the output columns [x0, x1) of row y of channel co of
 * image b, input channel by input channel. */
typedef void (*REF(chunk_fn))(const REF(conv_op) *op, int64_t b, int64_t co, int64_t y,
                              int64_t x0, int64_t x1, double *acc);

/* out [n][cout][oh][ow], one task per output row (balances well even when cout is 1, the final
 * layer): per chunk of the row the sums start at the bias, fn adds the taps, and each is
 * rounded to T once. */
static void REF(conv_rows)(const REF(conv_op) *op, int64_t n, int64_t oh, int64_t ow,
                           const T *bias, T *out, int threads, REF(chunk_fn) fn)
{
    const int64_t cout = op->cout, rows = n * cout * oh;

#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = r % oh, co = (r / oh) % cout, b = r / (oh * cout);
        T *out_row = out + r * ow; /* r = (b cout + co) oh + y */
        const double b0 = bias ? (double)bias[co] : 0.0;
        double acc[UNET__REF_CHUNK];

        for (int64_t x0 = 0; x0 < ow; x0 += UNET__REF_CHUNK) {
            const int64_t x1 = unet__imin64(ow, x0 + UNET__REF_CHUNK);
            for (int64_t x = 0; x < x1 - x0; x++)
                acc[x] = b0;
            fn(op, b, co, y, x0, x1, acc);
            for (int64_t x = x0; x < x1; x++)
                out_row[x] = (T)acc[x - x0];
        }
    }
}

static void REF(conv_chunk)(const REF(conv_op) *op, int64_t b, int64_t co, int64_t oy,
                            int64_t x0, int64_t x1, double *acc)
{
    const int k = op->k, pad = op->pad;
    const int64_t cin = op->cin, h = op->h, w = op->w;
    const T *in_b = op->in + b * cin * h * w;
    const T *w_co = op->weight + co * cin * k * k;
    for (int64_t ci = 0; ci < cin; ci++) {
        for (int ky = 0; ky < k; ky++) {
            const int64_t iy = oy + ky - pad;
            if (iy < 0 || iy >= h)
                continue; /* whole tap row lies in the zero padding */
            const T *in_row = in_b + (ci * h + iy) * w;
            const T *w_row = w_co + (ci * k + ky) * k;
            /* Output columns x whose input column x + kx - pad is inside [0, w): clipping
             * the range replaces per-pixel border tests. */
            for (int kx = 0; kx < k; kx++)
                AXPY(acc, x0, in_row, kx - pad, unet__imax64(x0, (int64_t)pad - kx),
                     unet__imin64(x1, w + pad - kx), (double)w_row[kx]);
        }
    }
}

void REF(conv2d)(const T *in, int64_t n, int64_t cin, int64_t h, int64_t w, const T *weight,
                 const T *bias, int64_t cout, int k, int pad, T *out, int threads)
{
    const REF(conv_op) op = {in, weight, cin, h, w, cout, k, pad, 0};
    REF(conv_rows)(&op, n, h + 2 * (int64_t)pad - k + 1, w + 2 * (int64_t)pad - k + 1, bias, out,
                   threads, REF(conv_chunk));
}

static void REF(convt_chunk)(const REF(conv_op) *op, int64_t b, int64_t co, int64_t y,
                             int64_t x0, int64_t x1, double *acc)
{
    const int f = op->f;
    const int64_t cin = op->cin, h = op->h, w = op->w, cout = op->cout;
    const int64_t iy = y / f, dy = y % f;
    for (int64_t ci = 0; ci < cin; ci++) {
        const T *src = op->in + ((b * cin + ci) * h + iy) * w;
        const T *w_row = op->weight + ((ci * cout + co) * f + dy) * f;
        /* Output columns x = ix f + dx share weight dx: one strided run per dx. */
        for (int dx = 0; dx < f; dx++) {
            const double wv = (double)w_row[dx];
            const int64_t ix0 = x0 > dx ? (x0 - dx + f - 1) / f : 0;
            const int64_t ix1 = (x1 - dx + f - 1) / f;
            for (int64_t ix = ix0; ix < ix1; ix++)
                acc[ix * f + dx - x0] += wv * (double)src[ix];
        }
    }
}

void REF(conv_transpose2d)(const T *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                           const T *weight, const T *bias, int64_t cout, int f, T *out,
                           int threads)
{
    const REF(conv_op) op = {in, weight, cin, h, w, cout, 0, 0, f};
    REF(conv_rows)(&op, n, h * f, w * f, bias, out, threads, REF(convt_chunk));
}

/* Output row y of an op that maps each h x w plane to an oh x ow one (pooling, upsampling by
 * f), written to out_row (ow values). */
typedef void (*REF(row_fn))(const T *plane, int64_t h, int64_t w, int f, int64_t y, T *out_row,
                            int64_t ow);

/* fn on every output row of `planes` planes, one task per row. */
static void REF(plane_rows)(const T *in, int64_t planes, int64_t h, int64_t w, int f, int64_t oh,
                            int64_t ow, T *out, int threads, REF(row_fn) fn)
{
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t r = 0; r < planes * oh; r++)
        fn(in + (r / oh) * h * w, h, w, f, r % oh, out + r * ow, ow);
}

static void REF(maxpool_row)(const T *plane, int64_t h, int64_t w, int f, int64_t oy, T *out_row,
                             int64_t ow)
{
    (void)h;
    for (int64_t ox = 0; ox < ow; ox++) {
        const T *win = plane + oy * f * w + ox * f;
        T m = win[0];
        for (int dy = 0; dy < f; dy++) {
            for (int dx = 0; dx < f; dx++) {
                const T v = win[dy * w + dx];
                /* NaN propagates, as in PyTorch. */
                if (v > m || isnan(v))
                    m = v;
            }
        }
        out_row[ox] = m;
    }
}

static void REF(avgpool_row)(const T *plane, int64_t h, int64_t w, int f, int64_t oy, T *out_row,
                             int64_t ow)
{
    (void)h;
    const double inv = 1.0 / ((double)f * f);
    for (int64_t ox = 0; ox < ow; ox++) {
        const T *win = plane + oy * f * w + ox * f;
        double s = 0.0;
        for (int dy = 0; dy < f; dy++)
            for (int dx = 0; dx < f; dx++)
                s += (double)win[dy * w + dx];
        out_row[ox] = (T)(s * inv);
    }
}

/* Floor mode: trailing rows and columns are dropped. */
void REF(maxpool2d)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f, T *out,
                    int threads)
{
    REF(plane_rows)(in, n * c, h, w, f, h / f, w / f, out, threads, REF(maxpool_row));
}

void REF(avgpool2d)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f, T *out,
                    int threads)
{
    REF(plane_rows)(in, n * c, h, w, f, h / f, w / f, out, threads, REF(avgpool_row));
}

static void REF(nearest_row)(const T *plane, int64_t h, int64_t w, int f, int64_t y, T *out_row,
                             int64_t ow)
{
    (void)h;
    const T *src = plane + (y / f) * w;
    for (int64_t x = 0; x < ow; x++)
        out_row[x] = src[x / f];
}

static void REF(bilinear_row)(const T *plane, int64_t h, int64_t w, int f, int64_t y, T *out_row,
                              int64_t ow)
{
    int64_t y0, y1;
    double ly;
    unet__bilinear_src(y, f, h, &y0, &y1, &ly);
    const T *row0 = plane + y0 * w, *row1 = plane + y1 * w;
    for (int64_t x = 0; x < ow; x++) {
        int64_t x0, x1;
        double lx;
        unet__bilinear_src(x, f, w, &x0, &x1, &lx);
        const double top = (1.0 - lx) * row0[x0] + lx * row0[x1];
        const double bot = (1.0 - lx) * row1[x0] + lx * row1[x1];
        out_row[x] = (T)((1.0 - ly) * top + ly * bot);
    }
}

void REF(upsample_nearest2d)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                             T *out, int threads)
{
    REF(plane_rows)(in, n * c, h, w, f, h * f, w * f, out, threads, REF(nearest_row));
}

void REF(upsample_bilinear2d)(const T *in, int64_t n, int64_t c, int64_t h, int64_t w, int f,
                              T *out, int threads)
{
    REF(plane_rows)(in, n * c, h, w, f, h * f, w * f, out, threads, REF(bilinear_row));
}

/* Logistic function without overflow: exp is only ever taken of a non-positive number. */
static inline T REF(sigmoid)(T v)
{
    const double x = (double)v;
    if (x >= 0.0)
        return (T)(1.0 / (1.0 + exp(-x)));
    const double e = exp(x); /* also the NaN path: exp(NaN) = NaN */
    return (T)(e / (1.0 + e));
}

void REF(activation)(T *x, size_t count, unet__act act)
{
    switch (act) {
    case UNET__ACT_NONE:
        break;
    case UNET__ACT_RELU:
        for (size_t i = 0; i < count; i++)
            if (x[i] < 0) /* keeps NaN, like PyTorch */
                x[i] = 0;
        break;
    case UNET__ACT_LEAKY_RELU:
        for (size_t i = 0; i < count; i++)
            if (x[i] < 0)
                x[i] *= (T)0.01;
        break;
    case UNET__ACT_ELU:
        for (size_t i = 0; i < count; i++)
            if (!(x[i] > 0))
                x[i] = (T)expm1((double)x[i]);
        break;
    case UNET__ACT_SIGMOID:
        for (size_t i = 0; i < count; i++)
            x[i] = REF(sigmoid)(x[i]);
        break;
    }
}

void REF(softmax_channels)(T *x, int64_t n, int64_t c, int64_t hw, int threads)
{
    const int64_t total = n * hw;

    /* Per pixel; channels are hw apart. exp is evaluated twice (sum, then write) so each
     * output is exp/sum rounded once, with no rounded intermediate. */
#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t t = 0; t < total; t++) {
        T *p = x + (t / hw) * c * hw + t % hw;
        T m = p[0];
        for (int64_t ch = 1; ch < c; ch++)
            if (p[ch * hw] > m)
                m = p[ch * hw];
        double s = 0.0;
        for (int64_t ch = 0; ch < c; ch++)
            s += exp((double)p[ch * hw] - (double)m);
        for (int64_t ch = 0; ch < c; ch++)
            p[ch * hw] = (T)(exp((double)p[ch * hw] - (double)m) / s);
    }
}

void REF(batchnorm)(T *x, int64_t n, int64_t c, int64_t hw, const T *weight, const T *bias,
                    const T *mean, const T *var, double eps, int threads)
{
    const int64_t planes = n * c;

#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t ch = pl % c;
        /* NULL weight / bias mean an identity affine (PyTorch affine=False). */
        const double g = weight ? (double)weight[ch] : 1.0;
        const double be = bias ? (double)bias[ch] : 0.0;
        const double mu = (double)mean[ch];
        const double scale = g / sqrt((double)var[ch] + eps);
        T *p = x + pl * hw;
        for (int64_t i = 0; i < hw; i++)
            p[i] = (T)(((double)p[i] - mu) * scale + be);
    }
}

void REF(groupnorm)(T *x, int64_t n, int64_t c, int64_t hw, int groups, const T *weight,
                    const T *bias, double eps, int threads)
{
    REF(groupnorm_save)(x, n, c, hw, groups, weight, bias, eps, NULL, NULL, threads);
}

void REF(groupnorm_save)(T *x, int64_t n, int64_t c, int64_t hw, int groups, const T *weight,
                         const T *bias, double eps, T *save_mean, T *save_rstd, int threads)
{
    const int64_t cpg = c / groups;
    const int64_t tasks = n * groups;
    const int64_t len = cpg * hw; /* a group's channels are consecutive: one contiguous run */

#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
        T *p = x + t * len;
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
            T *q = p + j * hw;
            for (int64_t i = 0; i < hw; i++)
                q[i] = (T)(((double)q[i] - mu) * scale + be);
        }
        if (save_mean) {
            save_mean[t] = (T)mu;
            save_rstd[t] = (T)inv_sd;
        }
    }
}

void REF(copy_window)(const T *src, int64_t n, int64_t c, int64_t sh, int64_t sw, int64_t y0,
                      int64_t x0, int64_t oh, int64_t ow, T *dst, int64_t dst_c, int64_t dst_c0,
                      int threads)
{
    const int64_t planes = n * c;

#pragma omp parallel for num_threads(unet__omp_threads(threads)) schedule(static)
    for (int64_t pl = 0; pl < planes; pl++) {
        const int64_t b = pl / c, ch = pl % c;
        const T *s = src + pl * sh * sw + y0 * sw + x0;
        T *d = dst + (b * dst_c + dst_c0 + ch) * oh * ow;
        for (int64_t y = 0; y < oh; y++)
            memcpy(d + y * ow, s + y * sw, (size_t)ow * sizeof(T));
    }
}
