/* Optics and camera of the wide scene: a Gaussian PSF with a faint wide tail, illumination
 * (vignetting, a gradient, long waves of background), photon noise, offset, read noise,
 * column offsets, correlated noise, hot pixels, quantisation to the bit depth with
 * saturation. Per-pixel work avoids libm where it can: illumination is separable, pixel
 * noise is Irwin-Hall normal. */
#include <stdlib.h>
#include <string.h>

#include "sample/blur.h"
#include "sample/scene.h"

/* A normal number for pixel noise: the sum of four uniform 16-bit parts of one draw,
 * centred and scaled to unit variance (Irwin-Hall; tails end at 3.46 sd, which no image
 * shows), at the cost of one draw and no log(). */
static double normal(unet__rng *r)
{
    uint64_t u = unet__rng_next(r);
    double sum = (double)(u & 0xffff) + (double)((u >> 16) & 0xffff) +
                 (double)((u >> 32) & 0xffff) + (double)(u >> 48);
    return (sum / 65536.0 - 2 + 2.0 / 65536) * 1.7320508075688772;
}

/* Exact by inversion for small means, the normal approximation above 20. */
static double poisson(unet__rng *r, double lam)
{
    if (lam <= 0)
        return 0;
    if (lam > 20) {
        double v = floor(lam + sqrt(lam) * normal(r) + 0.5);
        return v < 0 ? 0 : v;
    }
    double u = unet__uni(r), p = exp(-lam), F = p;
    int k = 0;
    while (u > F && k < 200) {
        k++;
        p *= lam / k;
        F += p;
    }
    return k;
}

static int optics(const unet__wscene *s, float *sig, float *tmp)
{
    const size_t np = (size_t)s->w * s->h;
    if (s->tail_w > 0) {
        memcpy(tmp, sig, np * sizeof *tmp);
        if (unet__sample_blur_fast(tmp, s->w, s->h, s->tail_sigma))
            return -1;
    }
    if (unet__sample_blur_fast(sig, s->w, s->h, s->psf))
        return -1;
    if (s->tail_w > 0)
        for (size_t p = 0; p < np; p++)
            sig[p] = (float)((1 - s->tail_w) * sig[p] + s->tail_w * tmp[p]);
    return 0;
}

int unet__camera(unet__rng *r, const unet__wscene *s, float *sig, float *tmp, float *corr,
                 uint16_t *image)
{
    const int w = s->w, h = s->h;
    if (optics(s, sig, tmp))
        return -1;
    if (s->corr_sd > 0 && unet__render_field(r, corr, w, h, s->corr_sigma))
        return -1;
    /* Per column: illumination terms, waves (cos and sin of each), column offset; per row the
     * same terms for y. cos(a x + b y + p) = cos(a x) cos(b y + p) - sin(a x) sin(b y + p). */
    double *cols = malloc(sizeof *cols * (size_t)w * 9);
    double *rows = malloc(sizeof *rows * (size_t)h * 8);
    if (!cols || !rows) {
        free(cols);
        free(rows);
        return -1;
    }
    const int ramp = (s->clutter & UNET__CLUTTER_RAMP) != 0;
    const double R2 = ((double)w * w + (double)h * h) / 4;
    for (int x = 0; x < w; x++) {
        double *c = cols + (size_t)x * 9;
        c[0] = ramp ? s->vignette * (x - s->vx) * (x - s->vx) / R2 : 0;
        c[1] = ramp ? s->grad_x * ((double)x / w - 0.5) : 0;
        for (int i = 0; i < 3; i++) {
            c[2 + 2 * i] = cos(s->kx[i] * x);
            c[3 + 2 * i] = sin(s->kx[i] * x);
        }
        c[8] = s->column_sd > 0 ? s->column_sd * unet__rng_normal(r) : 0;
    }
    for (int y = 0; y < h; y++) {
        double *c = rows + (size_t)y * 8;
        c[0] = ramp ? s->vignette * (y - s->vy) * (y - s->vy) / R2 : 0;
        c[1] = ramp ? s->grad_y * ((double)y / h - 0.5) : 0;
        for (int i = 0; i < 3; i++) {
            c[2 + 2 * i] = cos(s->ky[i] * y + s->ph[i]);
            c[3 + 2 * i] = sin(s->ky[i] * y + s->ph[i]);
        }
    }
    const double gain = s->bg / s->photons; /* grey values per photon */
    for (int y = 0; y < h; y++) {
        const double *ry = rows + (size_t)y * 8;
        for (int x = 0; x < w; x++) {
            const double *cx = cols + (size_t)x * 9;
            size_t p = (size_t)y * w + x;
            double illum = (1 - cx[0] - ry[0]) * (1 + cx[1] + ry[1]), b = 0;
            illum = illum < 0.35 ? 0.35 : illum; /* corners at a third of the centre at most */
            if (ramp && s->waves > 0)
                for (int i = 0; i < 3; i++)
                    b += (cx[2 + 2 * i] * ry[2 + 2 * i] - cx[3 + 2 * i] * ry[3 + 2 * i]) / 3;
            double level = illum * (1 + s->waves * b + sig[p]);
            double v = poisson(r, s->photons * (level > 0 ? level : 0)) * gain +
                       s->bg * (s->offset + cx[8]);
            if (s->read_sd > 0)
                v += s->bg * s->read_sd * normal(r);
            if (s->corr_sd > 0)
                v += s->bg * s->corr_sd * corr[p];
            v = floor(v + 0.5);
            image[p] = (uint16_t)(v < 0 ? 0 : v > s->vmax ? s->vmax : v);
        }
    }
    free(cols);
    free(rows);
    for (long i = (long)(s->hot * w * h + unet__uni(r)); i > 0; i--) { /* hot pixels */
        size_t p = (size_t)(unet__uni(r) * h) * w + (size_t)(unet__uni(r) * w);
        image[p] = (uint16_t)(s->vmax * unet__range(r, 0.2, 1));
    }
    return 0;
}
