/*
 * Portable kernels on channel-blocked tensors (see blocked.h): layout conversion, pooling,
 * upsampling, per-channel affine + activation, group-norm statistics, softmax. They are
 * memory-bound; the 16-lane inner loops are written so that compilers vectorise them.
 */
#include "kernels/blocked.h"

#include <math.h>
#include <string.h>

#include "kernels/ref_common.h"

#define L UNET__BLK

static inline int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }

void unet__blk_zero_border(const unet__btensor *t, int64_t p0, int64_t p1)
{
    const int64_t bd = t->border, ps = t->lanes;
    if (bd == 0)
        return;
    const int64_t full = (t->w + 2 * bd) * ps; /* floats in a whole padded row */
    for (int64_t p = p0; p < p1; p++) {
        float *plane = unet__bt_at(t, p / t->nblk, p % t->nblk, 0, 0);
        for (int64_t y = -bd; y < t->h + bd; y++) {
            float *row = plane + y * t->rstride - bd * ps;
            if (y < 0 || y >= t->h) {
                memset(row, 0, (size_t)full * sizeof(float));
            } else {
                memset(row, 0, (size_t)(bd * ps) * sizeof(float));
                memset(row + (bd + t->w) * ps, 0, (size_t)(bd * ps) * sizeof(float));
            }
        }
    }
}

void unet__blk_pack(const float *src, const unet__btensor *t, int64_t r0, int64_t r1)
{
    const int64_t h = t->h, w = t->w, c = t->c, lanes = t->lanes;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % h, b = (r / h) % t->nblk, n = r / (h * t->nblk);
        float *dst = unet__bt_at(t, n, b, y, 0);
        const int64_t c0 = b * lanes;
        const int64_t nl = imin64(lanes, c - c0);
        const float *s = src + ((n * c + c0) * h + y) * w;
        if (lanes == 1) {
            memcpy(dst, s, (size_t)w * sizeof(float));
            continue;
        }
        for (int64_t x = 0; x < w; x++) {
            float *d = dst + x * L;
            for (int64_t l = 0; l < nl; l++)
                d[l] = s[l * h * w + x];
            for (int64_t l = nl; l < L; l++)
                d[l] = 0.0f;
        }
    }
}

void unet__blk_unpack(const unet__btensor *t, float *dst, int64_t dst_c, int64_t dst_c0,
                      int64_t r0, int64_t r1)
{
    unet__blk_unpack_cols(t, dst, dst_c, dst_c0, r0, r1, 0, t->w);
}

void unet__blk_unpack_cols(const unet__btensor *t, float *dst, int64_t dst_c, int64_t dst_c0,
                           int64_t r0, int64_t r1, int64_t x0, int64_t x1)
{
    const int64_t h = t->h, w = t->w, c = t->c, lanes = t->lanes;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % h, b = (r / h) % t->nblk, n = r / (h * t->nblk);
        const float *src = unet__bt_at(t, n, b, y, 0);
        const int64_t c0 = b * lanes;
        const int64_t nl = imin64(lanes, c - c0);
        for (int64_t l = 0; l < nl; l++) {
            float *d = dst + ((n * dst_c + dst_c0 + c0 + l) * h + y) * w;
            for (int64_t x = x0; x < x1; x++)
                d[x] = src[x * lanes + l];
        }
    }
}

void unet__blk_copy(const unet__btensor *src, const unet__btensor *dst, int64_t r0, int64_t r1)
{
    const int64_t h = dst->h, w = dst->w;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % h, b = (r / h) % dst->nblk, n = r / (h * dst->nblk);
        memcpy(unet__bt_at(dst, n, b, y, 0), unet__bt_at(src, n, b, y, 0),
               (size_t)(w * L) * sizeof(float));
    }
}

void unet__blk_maxpool(const unet__btensor *in, const unet__btensor *out, int f, int64_t r0,
                       int64_t r1)
{
    const int64_t oh = out->h, ow = out->w;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % oh, b = (r / oh) % out->nblk, n = r / (oh * out->nblk);
        float *dst = unet__bt_at(out, n, b, y, 0);
        const float *src = unet__bt_at(in, n, b, y * f, 0);
        for (int64_t x = 0; x < ow; x++) {
            float m[L];
            const float *win = src + x * f * L;
            for (int l = 0; l < L; l++)
                m[l] = win[l];
            for (int dy = 0; dy < f; dy++) {
                const float *row = win + dy * in->rstride;
                for (int dx = 0; dx < f; dx++) {
                    const float *p = row + dx * L;
                    for (int l = 0; l < L; l++)
                        m[l] = p[l] > m[l] ? p[l] : m[l];
                }
            }
            float *d = dst + x * L;
            for (int l = 0; l < L; l++)
                d[l] = m[l];
        }
    }
}

void unet__blk_avgpool(const unet__btensor *in, const unet__btensor *out, int f, int64_t r0,
                       int64_t r1)
{
    const int64_t oh = out->h, ow = out->w;
    const float inv = (float)(1.0 / ((double)f * f));
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % oh, b = (r / oh) % out->nblk, n = r / (oh * out->nblk);
        float *dst = unet__bt_at(out, n, b, y, 0);
        const float *src = unet__bt_at(in, n, b, y * f, 0);
        for (int64_t x = 0; x < ow; x++) {
            float s[L] = {0};
            const float *win = src + x * f * L;
            for (int dy = 0; dy < f; dy++) {
                const float *row = win + dy * in->rstride;
                for (int dx = 0; dx < f; dx++) {
                    const float *p = row + dx * L;
                    for (int l = 0; l < L; l++)
                        s[l] += p[l];
                }
            }
            float *d = dst + x * L;
            for (int l = 0; l < L; l++)
                d[l] = s[l] * inv;
        }
    }
}

void unet__blk_up_nearest(const unet__btensor *in, const unet__btensor *out, int f, int64_t r0,
                          int64_t r1)
{
    const int64_t oh = out->h, ow = out->w;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % oh, b = (r / oh) % out->nblk, n = r / (oh * out->nblk);
        float *dst = unet__bt_at(out, n, b, y, 0);
        const float *src = unet__bt_at(in, n, b, y / f, 0);
        for (int64_t x = 0; x < ow; x++)
            memcpy(dst + x * L, src + (x / f) * L, L * sizeof(float));
    }
}

/* Source index and weight of output coordinate d: the reference's (ref_common.h), the weight
 * rounded to float once. */
static inline void bilinear_src(int64_t d, int f, int64_t size, int64_t *i0, int64_t *i1,
                                float *lambda)
{
    double l;
    unet__bilinear_src(d, f, size, i0, i1, &l);
    *lambda = (float)l;
}

void unet__blk_up_bilinear(const unet__btensor *in, const unet__btensor *out, int f,
                           int64_t r0, int64_t r1)
{
    const int64_t oh = out->h, ow = out->w;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % oh, b = (r / oh) % out->nblk, n = r / (oh * out->nblk);
        int64_t y0, y1;
        float ly;
        bilinear_src(y, f, in->h, &y0, &y1, &ly);
        float *dst = unet__bt_at(out, n, b, y, 0);
        const float *row0 = unet__bt_at(in, n, b, y0, 0), *row1 = unet__bt_at(in, n, b, y1, 0);
        for (int64_t x = 0; x < ow; x++) {
            int64_t x0, x1;
            float lx;
            bilinear_src(x, f, in->w, &x0, &x1, &lx);
            const float *a = row0 + x0 * L, *bb = row0 + x1 * L;
            const float *c = row1 + x0 * L, *d = row1 + x1 * L;
            float *o = dst + x * L;
            for (int l = 0; l < L; l++) {
                const float top = (1.0f - lx) * a[l] + lx * bb[l];
                const float bot = (1.0f - lx) * c[l] + lx * d[l];
                o[l] = (1.0f - ly) * top + ly * bot;
            }
        }
    }
}

static inline float act1(float v, unet__act act)
{
    switch (act) {
    case UNET__ACT_RELU:
        return v < 0.0f ? 0.0f : v;
    case UNET__ACT_LEAKY_RELU:
        return v < 0.0f ? v * 0.01f : v;
    case UNET__ACT_ELU:
        return v > 0.0f ? v : expm1f(v);
    case UNET__ACT_SIGMOID:
        if (v >= 0.0f)
            return 1.0f / (1.0f + expf(-v));
        else {
            const float e = expf(v);
            return e / (1.0f + e);
        }
    default:
        return v;
    }
}

void unet__blk_affine_act(const unet__btensor *in, const unet__btensor *out, const float *scale,
                          const float *shift, int64_t ss, unet__act act, int64_t r0,
                          int64_t r1)
{
    const int64_t h = out->h, w = out->w;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % h, b = (r / h) % out->nblk, n = r / (h * out->nblk);
        const float *src = unet__bt_at(in, n, b, y, 0);
        float *dst = unet__bt_at(out, n, b, y, 0);
        const int nl = (int)imin64(L, out->c - b * L);
        float sc[L], sh[L];
        for (int l = 0; l < L; l++) {
            sc[l] = scale ? scale[n * ss + b * L + l] : 1.0f;
            sh[l] = shift ? shift[n * ss + b * L + l] : 0.0f;
            if (l >= nl)
                sc[l] = sh[l] = 0.0f; /* padding lanes stay zero */
        }
        if (act == UNET__ACT_NONE || act == UNET__ACT_RELU || act == UNET__ACT_LEAKY_RELU) {
            const float lo = act == UNET__ACT_RELU ? 0.0f : 0.01f;
            for (int64_t x = 0; x < w; x++) {
                float v[L];
                for (int l = 0; l < L; l++)
                    v[l] = src[x * L + l] * sc[l] + sh[l];
                if (act != UNET__ACT_NONE)
                    for (int l = 0; l < L; l++)
                        v[l] = v[l] < 0.0f ? v[l] * lo : v[l];
                for (int l = 0; l < L; l++)
                    dst[x * L + l] = v[l];
            }
        } else {
            for (int64_t x = 0; x < w; x++)
                for (int l = 0; l < L; l++)
                    dst[x * L + l] =
                        l < nl ? act1(src[x * L + l] * sc[l] + sh[l], act) : 0.0f;
        }
    }
}

/* Sum (k = 0) or sum of squared deviations from mu (k = 1) of the group's lanes. */
static double group_sum(const unet__btensor *t, int64_t n, int64_t c0, int64_t c1, double mu,
                        int k)
{
    double total = 0.0;
    for (int64_t b = c0 / L; b * L < c1; b++) {
        const int l0 = (int)(c0 > b * L ? c0 - b * L : 0);
        const int l1 = (int)imin64(L, c1 - b * L);
        for (int64_t y = 0; y < t->h; y++) {
            const float *row = unet__bt_at(t, n, b, y, 0);
            double acc[L] = {0};
            for (int64_t x = 0; x < t->w; x++)
                for (int l = 0; l < L; l++) {
                    const double d = (double)row[x * L + l] - mu;
                    acc[l] += k ? d * d : (double)row[x * L + l];
                }
            for (int l = l0; l < l1; l++)
                total += acc[l];
        }
    }
    return total;
}

void unet__blk_group_stats(const unet__btensor *in, int groups, double eps, double *stats,
                           int64_t t0, int64_t t1)
{
    const int64_t cpg = in->c / groups;
    const double count = (double)cpg * (double)in->h * (double)in->w;
    for (int64_t t = t0; t < t1; t++) {
        const int64_t n = t / groups, g = t % groups;
        const int64_t c0 = g * cpg, c1 = c0 + cpg;
        const double mu = group_sum(in, n, c0, c1, 0.0, 0) / count;
        const double var = group_sum(in, n, c0, c1, mu, 1) / count;
        stats[2 * t] = mu;
        stats[2 * t + 1] = 1.0 / sqrt(var + eps);
    }
}

void unet__blk_group_coeffs(const unet__btensor *in, int groups, const double *stats,
                            const float *weight, const float *bias, float *scale, float *shift,
                            int64_t n)
{
    const int64_t cpg = in->c / groups, width = (int64_t)in->nblk * L;
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < width; ch++) {
            float *sc = &scale[i * width + ch], *sh = &shift[i * width + ch];
            if (ch >= in->c) {
                *sc = *sh = 0.0f;
                continue;
            }
            const double *st = &stats[2 * (i * groups + ch / cpg)];
            const double g = weight ? weight[ch] : 1.0, be = bias ? bias[ch] : 0.0;
            const double s = g * st[1];
            *sc = (float)s;
            *sh = (float)(be - st[0] * s);
        }
}

void unet__blk_softmax(const unet__btensor *t, int64_t r0, int64_t r1)
{
    const int64_t h = t->h, w = t->w, c = t->c;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t y = r % h, n = r / h;
        for (int64_t x = 0; x < w; x++) {
            float m = -INFINITY;
            for (int64_t ch = 0; ch < c; ch++) {
                const float v = unet__bt_at(t, n, ch / L, y, x)[ch % L];
                m = v > m ? v : m;
            }
            double s = 0.0;
            for (int64_t ch = 0; ch < c; ch++)
                s += exp((double)unet__bt_at(t, n, ch / L, y, x)[ch % L] - m);
            for (int64_t ch = 0; ch < c; ch++) {
                float *p = unet__bt_at(t, n, ch / L, y, x) + ch % L;
                *p = (float)(exp((double)*p - m) / s);
            }
        }
    }
}
