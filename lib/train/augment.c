/*
 * Random patches with augmentation (see data.h). A patch is a map from patch pixels to
 * source coordinates: an origin (uniform, or around a random foreground pixel with
 * probability fg_bias), a flip/90-degree rotation of the square patch, and an elastic
 * displacement (the U-Net paper's: a coarse grid of Gaussian displacement vectors, bicubic
 * interpolation to every pixel). Images and float targets are sampled bilinearly, class maps
 * and weights at the nearest pixel; coordinates outside the image reflect back into it.
 * Intensity changes (scale, shift, gamma) and noise (Gaussian, Poisson) follow; targets of
 * restoration get the same intensity change but no noise. Every random number comes from the
 * patch's own generator, in a fixed order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/data.h"

/* Reflect an integer coordinate into [0, n) (d c b | a b c d | c b a), any distance away. */
static inline int64_t reflect(int64_t i, int64_t n)
{
    if (n == 1)
        return 0;
    const int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

static inline double bilinear(const float *plane, int64_t h, int64_t w, double y, double x)
{
    const double fy = floor(y), fx = floor(x);
    const int64_t y0 = (int64_t)fy, x0 = (int64_t)fx;
    const double ly = y - fy, lx = x - fx;
    const int64_t ya = reflect(y0, h), yb = reflect(y0 + 1, h);
    const int64_t xa = reflect(x0, w), xb = reflect(x0 + 1, w);
    double top = (double)plane[ya * w + xa], bot = (double)plane[yb * w + xa];
    if (lx != 0) {
        top += lx * ((double)plane[ya * w + xb] - top);
        bot += lx * ((double)plane[yb * w + xb] - bot);
    }
    return ly != 0 ? top + ly * (bot - top) : top;
}

static inline int64_t nearest(int64_t h, int64_t w, double y, double x)
{
    return reflect((int64_t)floor(y + 0.5), h) * w + reflect((int64_t)floor(x + 0.5), w);
}

/* Keys' cubic convolution kernel (a = -0.5), the usual "bicubic". */
static inline double cubic(double t)
{
    t = fabs(t);
    if (t < 1)
        return (1.5 * t - 2.5) * t * t + 1;
    if (t < 2)
        return ((-0.5 * t + 2.5) * t - 4) * t + 2;
    return 0;
}

/* Bicubic interpolation of grid g (n x n nodes spanning [0, P-1]) at patch position (i, j). */
static double grid_value(const double *g, int n, int64_t P, int64_t i, int64_t j)
{
    const double sy = P > 1 ? (double)i * (n - 1) / (double)(P - 1) : 0;
    const double sx = P > 1 ? (double)j * (n - 1) / (double)(P - 1) : 0;
    const int iy = (int)floor(sy), ix = (int)floor(sx);
    double v = 0;
    for (int a = iy - 1; a <= iy + 2; a++) {
        const double ky = cubic(sy - a);
        if (ky == 0)
            continue;
        const int ca = a < 0 ? 0 : a >= n ? n - 1 : a;
        for (int b = ix - 1; b <= ix + 2; b++) {
            const double kx = cubic(sx - b);
            const int cb = b < 0 ? 0 : b >= n ? n - 1 : b;
            v += ky * kx * g[ca * n + cb];
        }
    }
    return v;
}

static uint64_t poisson(unet__rng *rng, double mean)
{
    if (mean <= 0)
        return 0;
    if (mean > 30) { /* normal approximation */
        double v = floor(mean + sqrt(mean) * unet__rng_normal(rng) + 0.5);
        return v < 0 ? 0 : (uint64_t)v;
    }
    const double limit = exp(-mean);
    double p = 1;
    uint64_t k = 0;
    do {
        k++;
        p *= unet__rng_uniform(rng);
    } while (p > limit);
    return k - 1;
}

static inline double uniform_in(unet__rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * unet__rng_uniform(rng);
}

void unet__sample_patch(const unet__tsample *s, const unet__patch_spec *ps, unet__rng *rng,
                        float *input, float *target, float *weight)
{
    const int64_t P = ps->P, Q = ps->Q, off = (P - Q) / 2, h = s->h, w = s->w;
    /* Origin: around a foreground pixel (jittered by up to a quarter patch), or uniform. */
    int64_t oy, ox;
    const double u_fg = unet__rng_uniform(rng);
    if (s->nfg > 0 && u_fg < ps->fg_bias) {
        const int64_t k = s->fg[unet__rng_next(rng) % (uint64_t)s->nfg];
        const int64_t jit = P / 4 + 1;
        oy = k / w - P / 2 + (int64_t)(unet__rng_next(rng) % (uint64_t)(2 * jit + 1)) - jit;
        ox = k % w - P / 2 + (int64_t)(unet__rng_next(rng) % (uint64_t)(2 * jit + 1)) - jit;
    } else {
        oy = h > P ? (int64_t)(unet__rng_next(rng) % (uint64_t)(h - P + 1)) : -(P - h) / 2;
        ox = w > P ? (int64_t)(unet__rng_next(rng) % (uint64_t)(w - P + 1)) : -(P - w) / 2;
    }
    /* Keep the patch inside the image where it fits (reflection only for small images). */
    if (h >= P)
        oy = oy < 0 ? 0 : oy > h - P ? h - P : oy;
    if (w >= P)
        ox = ox < 0 ? 0 : ox > w - P ? w - P : ox;
    const bool flip_y = ps->flip && unet__rng_uniform(rng) < 0.5;
    const bool flip_x = ps->flip && unet__rng_uniform(rng) < 0.5;
    const int rot = ps->rot90 ? (int)(unet__rng_next(rng) % 4) : 0;
    const bool elastic = ps->elastic > 0 && unet__rng_uniform(rng) < ps->elastic &&
                         ps->elastic_sigma > 0;
    const int gn = ps->elastic_grid;
    double gy[32 * 32], gx[32 * 32];
    if (elastic)
        for (int i = 0; i < gn * gn; i++) {
            gy[i] = ps->elastic_sigma * unet__rng_normal(rng);
            gx[i] = ps->elastic_sigma * unet__rng_normal(rng);
        }

    /* Source coordinates of every patch pixel. */
    double *sy = malloc((size_t)(P * P) * 2 * sizeof *sy);
    double *sx = sy ? sy + P * P : NULL;
    if (!sy) { /* cannot happen for sane patch sizes; produce an empty, unannotated patch */
        memset(input, 0, (size_t)(ps->in_c * P * P) * sizeof(float));
        int64_t tc = ps->restoration ? s->tc : ps->class_targets ? 1 : ps->out_c;
        for (int64_t i = 0; i < tc * Q * Q; i++)
            target[i] = NAN;
        for (int64_t i = 0; i < Q * Q; i++)
            weight[i] = 1;
        return;
    }
    for (int64_t i = 0; i < P; i++)
        for (int64_t j = 0; j < P; j++) {
            int64_t a = flip_y ? P - 1 - i : i, b = flip_x ? P - 1 - j : j;
            for (int r = 0; r < rot; r++) {
                const int64_t t = a;
                a = b;
                b = P - 1 - t;
            }
            double y = (double)(oy + a), x = (double)(ox + b);
            if (elastic) {
                y += grid_value(gy, gn, P, i, j);
                x += grid_value(gx, gn, P, i, j);
            }
            sy[i * P + j] = y;
            sx[i * P + j] = x;
        }

    for (int64_t c = 0; c < ps->in_c; c++) {
        const float *plane = s->image + c * h * w;
        for (int64_t i = 0; i < P * P; i++)
            input[c * P * P + i] = (float)bilinear(plane, h, w, sy[i], sx[i]);
    }
    const int64_t tc = ps->restoration ? s->tc : ps->class_targets ? 1 : ps->out_c;
    for (int64_t i = 0; i < Q; i++)
        for (int64_t j = 0; j < Q; j++) {
            const int64_t p = (i + off) * P + j + off, q = i * Q + j;
            const int64_t src = nearest(h, w, sy[p], sx[p]);
            weight[q] = s->weight ? s->weight[src] : 1.0f;
            if (ps->restoration) {
                for (int64_t c = 0; c < tc; c++)
                    target[c * Q * Q + q] =
                        (float)bilinear(s->target + c * h * w, h, w, sy[p], sx[p]);
                continue;
            }
            const float cls = s->target[src];
            if (ps->distance) { /* nearest, as the foreground plane beside it */
                for (int64_t c = 0; c < tc; c++)
                    target[c * Q * Q + q] = s->target[c * h * w + src];
            } else if (ps->class_targets) {
                target[q] = cls;
            } else if (tc == 1) {
                target[q] = isnan(cls) ? NAN : cls >= 1 ? 1.0f : 0.0f;
            } else {
                for (int64_t c = 0; c < tc; c++)
                    target[c * Q * Q + q] = isnan(cls) ? NAN : (float)(cls == (float)c);
            }
        }
    free(sy);

    /* Intensity: x * scale + shift, then gamma on the patch's range. */
    const double scale = ps->scale > 0 ? uniform_in(rng, 1 - ps->scale, 1 + ps->scale) : 1;
    const double shift = ps->shift > 0 ? uniform_in(rng, -ps->shift, ps->shift) : 0;
    const double gamma =
        ps->gamma > 0 ? exp(uniform_in(rng, -log1p(ps->gamma), log1p(ps->gamma))) : 1;
    const int64_t n_in = ps->in_c * P * P;
    for (int64_t i = 0; i < n_in; i++)
        input[i] = (float)((double)input[i] * scale + shift);
    if (ps->restoration)
        for (int64_t i = 0; i < tc * Q * Q; i++)
            target[i] = (float)((double)target[i] * scale + shift);
    double lo = INFINITY, hi = -INFINITY;
    if (gamma != 1 || ps->noise_poisson > 0)
        for (int64_t i = 0; i < n_in; i++) {
            lo = input[i] < lo ? input[i] : lo;
            hi = input[i] > hi ? input[i] : hi;
        }
    if (gamma != 1 && hi > lo) {
        for (int64_t i = 0; i < n_in; i++)
            input[i] = (float)(lo + (hi - lo) * pow(((double)input[i] - lo) / (hi - lo), gamma));
        if (ps->restoration)
            for (int64_t i = 0; i < tc * Q * Q; i++) {
                double v = ((double)target[i] - lo) / (hi - lo);
                v = v < 0 ? 0 : v > 1 ? 1 : v;
                target[i] = (float)(lo + (hi - lo) * pow(v, gamma));
            }
    }
    /* Noise on the input only: Poisson with noise_poisson photons over the patch's range,
     * then Gaussian with a standard deviation drawn from [0, noise_gauss]. */
    if (ps->noise_poisson > 0 && hi > lo)
        for (int64_t i = 0; i < n_in; i++) {
            const double u = ((double)input[i] - lo) / (hi - lo);
            const double k = (double)poisson(rng, (u > 0 ? u : 0) * ps->noise_poisson);
            input[i] = (float)(lo + (hi - lo) * k / ps->noise_poisson);
        }
    if (ps->noise_gauss > 0) {
        const double sd = uniform_in(rng, 0, ps->noise_gauss);
        for (int64_t i = 0; i < n_in; i++)
            input[i] = (float)((double)input[i] + sd * unet__rng_normal(rng));
    }
}
