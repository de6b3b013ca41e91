/* One nucleus of the wide scene: size, wobbly-ellipse outline, brightness and texture style.
 * The outline's harmonics are evaluated from the pixel's direction cosines (no atan2 or cos
 * per pixel), and the ellipse is scaled so its area is exactly pi d^2 / 4. */
#include "sample/scene.h"

double unet__wscene_diameter(unet__rng *r, const unet__wscene *s)
{
    double med = s->frac2 > 0 && unet__uni(r) < s->frac2 ? s->d_med2 : s->d_med;
    for (int t = 0; t < 20; t++) { /* the log-normal cut to [d_lo, d_hi], not piled at its ends */
        double d = med * exp(s->d_sd * unet__rng_normal(r));
        if (d >= s->d_lo && d <= s->d_hi)
            return d;
    }
    return med;
}

void unet__wnuc_draw(unet__rng *r, const unet__wscene *s, double d, unet__wnuc *n)
{
    double q = 1 + exp(log(0.4) + 0.5 * unet__rng_normal(r)); /* axis ratio, median 1.4 */
    if (unet__uni(r) < 0.08)
        q = unet__range(r, 2.0, 3.2); /* elongated */
    const unet__tex_style *st;
    n->style = (int)(unet__uni(r) * s->nstyles);
    st = &s->style[n->style];
    n->amp = s->contrast * exp(s->bright_sd * unet__rng_normal(r));
    double least = fmax(0.3 * s->contrast, 2 * s->noise_sd);
    if (n->amp < least) /* dim nuclei stay visible: only haze may be fainter */
        n->amp = least;
    n->k = unet__range(r, st->k_lo, st->k_hi);
    n->fine = st->fine * unet__range(r, 0.6, 1.4);
    n->coarse = st->coarse * unet__range(r, 0.6, 1.4);
    if (unet__uni(r) < s->mitotic) { /* small, bright, condensed chromatin */
        d *= unet__range(r, 0.5, 0.75);
        d = d < s->d_lo ? s->d_lo : d;
        q = unet__range(r, 1.3, 2.5);
        n->amp *= unet__range(r, 2, 4);
        n->fine = unet__range(r, 0.3, 0.6);
    }
    double ssq = 0;
    n->wsum = 0;
    for (int i = 0; i < 3; i++) {
        double c = 0.04 * unet__rng_normal(r), ph = unet__range(r, 0, 2 * M_PI);
        c = c < -0.08 ? -0.08 : c > 0.08 ? 0.08 : c;
        n->wa[i] = c * cos(ph);
        n->wb[i] = -c * sin(ph);
        n->wsum += fabs(c);
        ssq += c * c;
    }
    n->d = d;
    n->req = d / 2 / sqrt(1 + ssq / 2); /* area of the wobbly outline: pi a b (1 + ssq / 2) */
    if (n->req * sqrt(q) > 0.8 * d)     /* nothing longer than 1.6 d */
        q = (0.8 * d / n->req) * (0.8 * d / n->req);
    n->a = n->req * sqrt(q);
    n->b = n->req / sqrt(q);
    n->ia = 1 / n->a;
    n->ib = 1 / n->b;
    double ang = unet__range(r, 0, M_PI);
    n->ca = cos(ang);
    n->sa = sin(ang);
    double g = unet__range(r, 0, 0.25), ga = unet__range(r, 0, 2 * M_PI);
    n->gx = g * cos(ga);
    n->gy = g * sin(ga);
    n->cx = n->cy = 0;
}

double unet__wnuc_rho(const unet__wnuc *n, double x, double y, double limit)
{
    double dx = x - n->cx, dy = y - n->cy;
    double u = (dx * n->ca + dy * n->sa) * n->ia, v = (-dx * n->sa + dy * n->ca) * n->ib;
    double r2 = u * u + v * v, far = limit * (1 + n->wsum);
    if (r2 > far * far)
        return limit + 1;
    if (r2 == 0)
        return 0;
    double rr = sqrt(r2), c = u / rr, s = v / rr; /* cos and sin of the direction */
    double c2 = c * c - s * s, s2 = 2 * c * s, c3 = c2 * c - s2 * s, s3 = s2 * c + c2 * s;
    double c4 = c2 * c2 - s2 * s2, s4 = 2 * c2 * s2;
    double w = 1 + n->wa[0] * c2 + n->wb[0] * s2 + n->wa[1] * c3 + n->wb[1] * s3 +
               n->wa[2] * c4 + n->wb[2] * s4;
    return rr / w;
}

/* Where the ellipse u^2 + v^2 <= F^2 (F = limit (1 + wsum): the outline's farthest reach)
 * crosses a row: A dx^2 + B dx + C <= 0 with dx, dy from the centre. */
void unet__wnuc_rows(const unet__wnuc *n, double limit, int *y0, int *y1)
{
    double F = limit * (1 + n->wsum) * (1 + 1e-9);
    double half = F * sqrt(n->a * n->a * n->sa * n->sa + n->b * n->b * n->ca * n->ca);
    *y0 = (int)ceil(n->cy - half);
    *y1 = (int)floor(n->cy + half) + 1;
}

void unet__wnuc_span(const unet__wnuc *n, int y, double limit, int *x0, int *x1)
{
    double F = limit * (1 + n->wsum) * (1 + 1e-9), dy = y - n->cy;
    double ia2 = n->ia * n->ia, ib2 = n->ib * n->ib;
    double A = n->ca * n->ca * ia2 + n->sa * n->sa * ib2;
    double B = 2 * dy * n->ca * n->sa * (ia2 - ib2);
    double C = dy * dy * (n->sa * n->sa * ia2 + n->ca * n->ca * ib2) - F * F;
    double disc = B * B - 4 * A * C;
    if (disc < 0) {
        *x0 = *x1 = 0;
        return;
    }
    double root = sqrt(disc);
    *x0 = (int)ceil(n->cx + (-B - root) / (2 * A));
    *x1 = (int)floor(n->cx + (-B + root) / (2 * A)) + 1;
}
