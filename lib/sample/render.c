/* What the wide scene's objects look like before the optics: nuclei (outline ramp, radial
 * profile, gradient, fine and coarse chromatin, bright chromocentres, dark nucleoli), and the
 * unlabelled clutter: out-of-focus haze and debris. Intensities are in background units. */
#include <stdlib.h>
#include <string.h>

#include "sample/blur.h"
#include "sample/scene.h"

int unet__render_field(unet__rng *r, float *f, int w, int h, double sigma)
{
    size_t np = (size_t)w * h;
    for (size_t p = 0; p < np; p++) /* uniform white noise: Gaussian once blurred */
        f[p] = (float)(unet__uni(r) - 0.5);
    if (unet__sample_blur_fast(f, w, h, sigma))
        return -1;
    unet__sample_unit_rms(f, np, 1e-30);
    return 0;
}

/* amp (1 - r^2 / rad^2)^2 inside radius rad around (cx, cy): a smooth bump, no exp(). */
static void bump(float *f, int w, int h, double cx, double cy, double rad, double amp)
{
    int x0 = (int)floor(cx - rad), x1 = (int)ceil(cx + rad), y0 = (int)floor(cy - rad),
        y1 = (int)ceil(cy + rad);
    double inv = 1 / (rad * rad);
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < h; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < w; x++) {
            double t = 1 - ((x - cx) * (x - cx) + (y - cy) * (y - cy)) * inv;
            if (t > 0)
                f[(size_t)y * w + x] += (float)(amp * t * t);
        }
}

/* A point inside the nucleus, at most `reach` of the way to its outline. */
static void point_in(unet__rng *r, const unet__wnuc *n, double reach, double *x, double *y)
{
    double rr = reach * sqrt(unet__uni(r)), th = unet__range(r, 0, 2 * M_PI);
    double u = n->a * rr * cos(th), v = n->b * rr * sin(th);
    *x = n->cx + u * n->ca - v * n->sa;
    *y = n->cy + u * n->sa + v * n->ca;
}

/* Chromocentres (+) and nucleoli (-) of one nucleus into mod. */
static void spots(unet__rng *r, const unet__wscene *s, const unet__wnuc *n, float *mod)
{
    const unet__tex_style *st = &s->style[n->style];
    int m = (int)(st->spots * unet__range(r, 0.5, 1.5) + 0.5);
    for (int i = 0; i < m; i++) {
        double x, y;
        point_in(r, n, 0.8, &x, &y);
        double rad = st->spot_size * n->d * unet__range(r, 0.7, 1.3);
        bump(mod, s->w, s->h, x, y, rad < 1.2 ? 1.2 : rad,
             st->spot_amp * unet__range(r, 0.6, 1.4));
    }
    m = (int)(st->nucleoli * unet__range(r, 0.5, 1.5) + 0.5);
    for (int i = 0; i < m; i++) {
        double x, y;
        point_in(r, n, 0.55, &x, &y);
        double rad = st->nucleolus_size * n->d * unet__range(r, 0.7, 1.3);
        bump(mod, s->w, s->h, x, y, rad < 1.5 ? 1.5 : rad,
             -st->nucleolus_depth * unet__range(r, 0.7, 1.3));
    }
}

/* One nucleus's intensity added to sig; fine, coarse and mod may be NULL (no texture). */
static void paint(const unet__wscene *s, const unet__wnuc *n, const float *fine,
                  const float *coarse, const float *mod, float *sig)
{
    const int w = s->w, h = s->h;
    double reach = s->edge / 2 / n->req; /* the intensity ramp is centred on the outline */
    int y0, y1;
    unet__wnuc_rows(n, 1 + reach, &y0, &y1);
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < h; y++) {
        int x0, x1;
        unet__wnuc_span(n, y, 1 + reach, &x0, &x1);
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < w; x++) {
            double rho = unet__wnuc_rho(n, x, y, 1 + reach);
            if (rho >= 1 + reach)
                continue;
            size_t p = (size_t)y * w + x;
            double e = 0.5 + (1 - rho) * n->req / s->edge;
            e = e < 0 ? 0 : e > 1 ? 1 : e;
            double t = 1, m = 1;
            if (fine)
                t += n->fine * fine[p] + n->coarse * coarse[p];
            if (mod)
                m += mod[p];
            double v = n->amp * e * e * (3 - 2 * e) * (1 - n->k * rho * rho) *
                       (1 + (n->gx * (x - n->cx) + n->gy * (y - n->cy)) / n->req) *
                       (t > 0 ? t : 0) * (m > 0 ? m : 0);
            sig[p] += (float)(v > 0 ? v : 0);
        }
    }
}

void unet__render_nuclei(unet__rng *r, const unet__wscene *s, const unet__wnuc *all, int count,
                         const float *fine, const float *coarse, float *mod, float *sig)
{
    for (int i = 0; i < count; i++)
        spots(r, s, &all[i], mod);
    for (int i = 0; i < count; i++)
        paint(s, &all[i], fine, coarse, mod, sig);
}

int unet__render_haze(unet__rng *r, const unet__wscene *s, float *sig, float *tmp)
{
    if (!(s->clutter & UNET__CLUTTER_HAZE))
        return 0;
    const size_t np = (size_t)s->w * s->h;
    for (int pass = 0; pass < 2; pass++) {
        /* pass 0: diffuse clouds (very blurred large blobs); pass 1: out-of-focus nuclei */
        double sigma;
        int n;
        memset(tmp, 0, np * sizeof *tmp);
        if (pass == 0) {
            if (s->cloud_amp <= 0)
                continue;
            n = 1 + (int)(unet__uni(r) * 4);
            sigma = unet__range(r, 15, 50);
        } else {
            n = (int)(s->haze_cover * np / (M_PI * s->d_med * s->d_med / 4) + unet__uni(r));
            n = n > 20000 ? 20000 : n;
            sigma = s->haze_sigma;
        }
        for (int i = 0; i < n; i++) {
            unet__wnuc b;
            double d = pass == 0 ? unet__range(r, 80, 400) : unet__wscene_diameter(r, s);
            unet__wnuc_draw(r, s, d, &b);
            b.amp = s->contrast * (pass == 0 ? s->cloud_amp : s->haze_amp) *
                    unet__range(r, 0.5, 1.5);
            b.cx = unet__range(r, -b.req, s->w + b.req);
            b.cy = unet__range(r, -b.req, s->h + b.req);
            paint(s, &b, NULL, NULL, NULL, tmp);
        }
        if (unet__sample_blur_fast(tmp, s->w, s->h, sigma))
            return -1;
        for (size_t p = 0; p < np; p++)
            sig[p] += tmp[p];
    }
    return 0;
}

/* A count for a density per 512^2, rounded at random so small densities still happen. */
static int per_area(unet__rng *r, const unet__wscene *s, double density)
{
    return (int)(density * s->w * s->h / (512.0 * 512.0) + unet__uni(r));
}

void unet__render_debris(unet__rng *r, const unet__wscene *s, float *sig)
{
    if (!(s->clutter & UNET__CLUTTER_DEBRIS))
        return;
    /* Specks stay well below the smallest nucleus, so size tells them apart. */
    double dmax = 0.6 * s->d_lo < 5 ? 0.6 * s->d_lo : 5;
    for (int i = per_area(r, s, s->specks); i > 0; i--) {
        double x = unet__range(r, 0, s->w), y = unet__range(r, 0, s->h);
        double d = unet__range(r, 1.2, dmax);
        bump(sig, s->w, s->h, x, y, 0.8 * d, s->contrast * unet__logrange(r, 0.3, 4));
    }
    for (int i = per_area(r, s, s->clumps); i > 0; i--) { /* sparse groups of grains */
        double x = unet__range(r, 0, s->w), y = unet__range(r, 0, s->h);
        double spread = unet__range(r, 4, 12), amp = s->contrast * unet__logrange(r, 0.3, 2);
        for (int k = 3 + (int)(unet__uni(r) * 6); k > 0; k--)
            bump(sig, s->w, s->h, x + spread * unet__rng_normal(r) / 2,
                 y + spread * unet__rng_normal(r) / 2, unet__range(r, 0.8, 1.6),
                 amp * unet__range(r, 0.5, 1.5));
    }
    for (int i = per_area(r, s, s->fibres); i > 0; i--) { /* thin wandering lines */
        double x = unet__range(r, 0, s->w), y = unet__range(r, 0, s->h);
        double th = unet__range(r, 0, 2 * M_PI), rad = unet__range(r, 0.8, 1.6);
        double amp = s->contrast * unet__range(r, 0.1, 0.6);
        for (int k = (int)unet__range(r, 15, 150); k > 0; k--) {
            th += 0.15 * unet__rng_normal(r);
            x += cos(th);
            y += sin(th);
            bump(sig, s->w, s->h, x, y, rad, amp);
        }
    }
}
