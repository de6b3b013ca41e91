/* Synthetic fluorescence nuclei, the classic scene (see nuclei.h). Every image draws its own
 * scene (nucleus size, density, clustering, contrast, texture, blur, background, photon
 * count) so a set of seeds covers the range of real widefield images; nuclei are rendered
 * additively, as widefield fluorescence adds up where nuclei overlap, and labelled by their
 * outline. */
#include "sample/nuclei.h"

#include "core/rng.h"
#include "sample/blur.h"

#include "unet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- random numbers: core's xoshiro256**, the same stream everywhere ---- */
typedef unet__rng rng_t;

static double uni(rng_t *r) { return unet__rng_uniform(r); }
static double range(rng_t *r, double lo, double hi) { return lo + (hi - lo) * uni(r); }
static double logrange(rng_t *r, double lo, double hi) { return lo * exp(log(hi / lo) * uni(r)); }
static double gauss(rng_t *r) { return unet__rng_normal(r); }

/* Knuth's method for small means, the normal approximation above (error far below the
 * other noise sources there). */
static double poisson(rng_t *r, double lam)
{
    if (lam <= 0)
        return 0;
    if (lam > 40) {
        double v = floor(lam + sqrt(lam) * gauss(r) + 0.5);
        return v < 0 ? 0 : v;
    }
    double limit = exp(-lam), p = 1.0;
    int k = -1;
    do {
        k++;
        p *= uni(r);
    } while (p > limit);
    return k;
}

/* ---- the scene: what varies between images ---- */
typedef struct {
    double diam, diam_sd, coverage, cluster, overlap, contrast, bright_sd, texture, tex_scale,
        edge, psf, tail_w, bg, bg_var, photons, read_sd, offset, mitotic, oof;
} scene_t;

static void draw_scene(rng_t *r, int bits, scene_t *s)
{
    s->diam = logrange(r, 13, 44);      /* median equivalent diameter, px */
    s->diam_sd = range(r, 0.08, 0.22);  /* log-normal spread of diameters */
    s->coverage = range(r, 0.06, 0.42); /* fraction of the image inside nuclei */
    s->cluster = range(r, 0.1, 0.8);    /* chance a nucleus is placed against another */
    s->overlap = range(r, 0.0, 0.12);   /* largest shared fraction of a nucleus's area */
    s->contrast = logrange(r, 0.6, 8);  /* median nucleus signal over background */
    s->bright_sd = range(r, 0.15, 0.5);
    s->texture = range(r, 0.05, 0.35);
    s->tex_scale = range(r, 0.8, 2.5); /* chromatin grain, px */
    s->edge = range(r, 0.5, 2.5);      /* width of the intensity ramp at the outline, px */
    s->psf = range(r, 0.6, 2.2);
    s->tail_w = range(r, 0.0, 0.2); /* weight of the wide PSF tail (haze around nuclei) */
    s->bg = bits == 8    ? logrange(r, 4, 40) /* grey value */
            : bits == 12 ? logrange(r, 4, 190)
                         : logrange(r, 8, 3000);
    s->bg_var = range(r, 0.0, 0.5);
    s->photons = logrange(r, 5, 400);  /* photons per pixel at background level */
    s->read_sd = range(r, 0.0, 0.12);  /* camera read noise, in background units */
    s->offset = range(r, 0.0, 0.3);    /* camera offset, in background units */
    s->mitotic = uni(r) < 0.5 ? 0 : range(r, 0, 0.06);
    s->oof = uni(r) < 0.5 ? 0 : range(r, 0, 0.2); /* out-of-focus nuclei per nucleus */
}

/* ---- one nucleus: a wobbly ellipse ---- */
typedef struct {
    double cx, cy, a, b, ca, sa, req, amp, k, gx, gy, tex, wc[3], wp[3];
} nucleus_t;

static void draw_nucleus(rng_t *r, const scene_t *s, nucleus_t *n)
{
    double d = s->diam * exp(s->diam_sd * gauss(r));
    double q = 1 + exp(log(0.45) + 0.5 * gauss(r)); /* axis ratio, median ~1.45 */
    if (uni(r) < 0.08)
        q = range(r, 2.2, 3.8); /* elongated */
    n->amp = s->contrast * exp(s->bright_sd * gauss(r));
    n->tex = s->texture * range(r, 0.5, 1.5);
    if (uni(r) < s->mitotic) { /* small, bright, condensed chromatin */
        d *= range(r, 0.45, 0.7);
        q = range(r, 1.3, 3.0);
        n->amp *= range(r, 2.5, 5);
        n->tex = range(r, 0.3, 0.6);
    }
    d = d < 10 ? 10 : d > 60 ? 60 : d;
    n->req = d / 2;
    n->a = n->req * sqrt(q);
    n->b = n->req / sqrt(q);
    if (n->a > 35) { /* nothing longer than 70 px */
        n->b *= 35 / n->a;
        n->a = 35;
        n->req = sqrt(n->a * n->b);
    }
    double ang = range(r, 0, M_PI);
    n->ca = cos(ang);
    n->sa = sin(ang);
    n->k = range(r, -0.1, 0.45); /* centre brighter (>0) or flat / brighter rim */
    double g = range(r, 0, 0.25), ga = range(r, 0, 2 * M_PI);
    n->gx = g * cos(ga);
    n->gy = g * sin(ga);
    for (int i = 0; i < 3; i++) {
        double c = 0.04 * gauss(r);
        n->wc[i] = c < -0.08 ? -0.08 : c > 0.08 ? 0.08 : c;
        n->wp[i] = range(r, 0, 2 * M_PI);
    }
}

/* Normalised radius: < 1 inside the outline. */
static double rho_of(const nucleus_t *n, double x, double y)
{
    double dx = x - n->cx, dy = y - n->cy;
    double u = (dx * n->ca + dy * n->sa) / n->a, v = (-dx * n->sa + dy * n->ca) / n->b;
    double th = atan2(v, u), w = 1;
    for (int i = 0; i < 3; i++)
        w += n->wc[i] * cos((i + 2) * th + n->wp[i]);
    return sqrt(u * u + v * v) / w;
}

typedef struct {
    int x0, y0, x1, y1;
} box_t;

static box_t box_of(const nucleus_t *n, double margin, int w, int h)
{
    double rad = (n->a > n->b ? n->a : n->b) * 1.25 + margin + 1;
    box_t bx = {(int)floor(n->cx - rad), (int)floor(n->cy - rad), (int)ceil(n->cx + rad),
                (int)ceil(n->cy + rad)};
    bx.x0 = bx.x0 < 0 ? 0 : bx.x0;
    bx.y0 = bx.y0 < 0 ? 0 : bx.y0;
    bx.x1 = bx.x1 > w ? w : bx.x1;
    bx.y1 = bx.y1 > h ? h : bx.y1;
    return bx;
}

/* Whether n may join: it has pixels in the image, and shares with no earlier nucleus more
 * than the scene's overlap fraction of the smaller one's area (so none is swallowed). */
static int fits(const nucleus_t *n, const nucleus_t *all, const scene_t *s,
                const uint16_t *owner, int w, int h)
{
    enum { MAXN = 32 };
    uint16_t ids[MAXN];
    long shared[MAXN], area = 0;
    int nn = 0;
    int cx = (int)floor(n->cx + 0.5), cy = (int)floor(n->cy + 0.5);
    if (cx >= 0 && cy >= 0 && cx < w && cy < h && owner[(size_t)cy * w + cx])
        return 0; /* centre inside another nucleus: far too much overlap, rejected cheaply */
    box_t bx = box_of(n, 0, w, h);
    for (int y = bx.y0; y < bx.y1; y++)
        for (int x = bx.x0; x < bx.x1; x++) {
            if (rho_of(n, x, y) >= 1)
                continue;
            area++;
            uint16_t o = owner[(size_t)y * w + x];
            if (!o)
                continue;
            int i = 0;
            while (i < nn && ids[i] != o)
                i++;
            if (i == MAXN)
                return 0; /* crowded beyond anything real */
            if (i == nn) {
                ids[nn] = o;
                shared[nn++] = 0;
            }
            shared[i]++;
        }
    for (int i = 0; i < nn; i++) {
        const nucleus_t *o = &all[ids[i] - 1];
        double small = n->a * n->b < o->a * o->b ? n->a * n->b : o->a * o->b;
        if (shared[i] > s->overlap * M_PI * small)
            return 0;
    }
    return area > 0;
}

/* Add n's intensity to sig (background units) and, when owner is given, claim its pixels
 * (a pixel inside two nuclei goes to the one it is deeper inside). Returns pixels newly
 * claimed. */
static long paint(const nucleus_t *n, const scene_t *s, const float *tex, float *sig,
                  uint16_t *owner, float *depth, uint16_t id, int w, int h)
{
    double reach = s->edge / 2 / n->req; /* the ramp is centred on the outline */
    box_t bx = box_of(n, s->edge, w, h);
    long claimed = 0;
    for (int y = bx.y0; y < bx.y1; y++)
        for (int x = bx.x0; x < bx.x1; x++) {
            double rho = rho_of(n, x, y);
            if (rho >= 1 + reach)
                continue;
            size_t p = (size_t)y * w + x;
            double e = 0.5 + (1 - rho) * n->req / s->edge;
            e = e < 0 ? 0 : e > 1 ? 1 : e;
            double v = n->amp * e * e * (3 - 2 * e) * (1 - n->k * rho * rho) *
                       (1 + (n->gx * (x - n->cx) + n->gy * (y - n->cy)) / n->req) *
                       (1 + n->tex * tex[p]);
            sig[p] += (float)(v > 0 ? v : 0);
            if (owner && rho < 1 && (!owner[p] || rho < depth[p])) {
                claimed += owner[p] == 0;
                owner[p] = id;
                depth[p] = (float)rho;
            }
        }
    return claimed;
}

/* Place nuclei until the scene's coverage is reached; returns the number placed. */
static int place_nuclei(rng_t *r, const scene_t *s, const float *tex, float *sig,
                        uint16_t *owner, float *depth, int w, int h)
{
    double target = s->coverage * w * h;
    double expected = target / (M_PI * s->diam * s->diam / 4);
    long tries = (long)(30 * expected) + 100, covered = 0;
    nucleus_t *all = malloc(sizeof *all * 65535);
    if (!all)
        return -1;
    int count = 0;
    while (covered < target && tries-- > 0 && count < 65535) {
        nucleus_t n;
        draw_nucleus(r, s, &n);
        if (count > 0 && uni(r) < s->cluster) { /* against an earlier nucleus */
            const nucleus_t *o = &all[(size_t)(uni(r) * count)];
            double dir = range(r, 0, 2 * M_PI), dist = (o->req + n.req) * range(r, 0.75, 1.05);
            n.cx = o->cx + dist * cos(dir);
            n.cy = o->cy + dist * sin(dir);
        } else {
            n.cx = range(r, -n.req, w + n.req);
            n.cy = range(r, -n.req, h + n.req);
        }
        if (!fits(&n, all, s, owner, w, h))
            continue;
        all[count] = n;
        covered += paint(&n, s, tex, sig, owner, depth, (uint16_t)(count + 1), w, h);
        count++;
    }
    free(all);
    return count;
}

/* Unlabelled out-of-focus nuclei: faint, very blurred, under the in-focus ones. */
static int add_out_of_focus(rng_t *r, const scene_t *s, int placed, const float *tex,
                            float *sig, float *tmp, int w, int h)
{
    int n_oof = (int)(s->oof * placed + 0.5);
    if (n_oof == 0)
        return 0;
    memset(tmp, 0, (size_t)w * h * sizeof *tmp);
    for (int i = 0; i < n_oof; i++) {
        nucleus_t n;
        draw_nucleus(r, s, &n);
        n.amp *= range(r, 0.15, 0.4);
        n.cx = range(r, 0, w);
        n.cy = range(r, 0, h);
        paint(&n, s, tex, tmp, NULL, NULL, 0, w, h);
    }
    if (unet__sample_blur(tmp, w, h, range(r, 3, 7)))
        return -1;
    for (size_t p = 0; p < (size_t)w * h; p++)
        sig[p] += tmp[p];
    return 0;
}

/* Chromatin texture: smoothed white noise with unit standard deviation. */
static int make_texture(rng_t *r, const scene_t *s, float *tex, int w, int h)
{
    size_t np = (size_t)w * h;
    for (size_t p = 0; p < np; p++)
        tex[p] = (float)gauss(r);
    if (unet__sample_blur(tex, w, h, s->tex_scale))
        return -1;
    unet__sample_unit_rms(tex, np, 1e-12);
    return 0;
}

/* PSF: a Gaussian core plus a wide faint tail. */
static int apply_psf(rng_t *r, const scene_t *s, float *sig, float *tmp, int w, int h)
{
    size_t np = (size_t)w * h;
    double tail_sigma = s->psf * range(r, 3, 6);
    memcpy(tmp, sig, np * sizeof *tmp);
    if (unet__sample_blur(sig, w, h, s->psf) ||
        (s->tail_w > 0 && unet__sample_blur(tmp, w, h, tail_sigma)))
        return -1;
    if (s->tail_w > 0)
        for (size_t p = 0; p < np; p++)
            sig[p] = (float)((1 - s->tail_w) * sig[p] + s->tail_w * tmp[p]);
    return 0;
}

/* Uneven background (a few long waves), photon noise, camera offset and read noise. */
static void expose(rng_t *r, const scene_t *s, const float *sig, int bits, uint16_t *image,
                   int w, int h)
{
    double kx[3], ky[3], ph[3];
    for (int i = 0; i < 3; i++) {
        double len = logrange(r, 150, 1500), dir = range(r, 0, 2 * M_PI);
        kx[i] = 2 * M_PI / len * cos(dir);
        ky[i] = 2 * M_PI / len * sin(dir);
        ph[i] = range(r, 0, 2 * M_PI);
    }
    double vmax = (1 << bits) - 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double b = 0;
            for (int i = 0; i < 3; i++)
                b += cos(kx[i] * x + ky[i] * y + ph[i]) / 3;
            double level = 1 + s->bg_var * b + sig[(size_t)y * w + x];
            double v = poisson(r, s->photons * level) / s->photons + s->offset +
                       s->read_sd * gauss(r);
            v = floor(v * s->bg + 0.5);
            image[(size_t)y * w + x] = (uint16_t)(v < 0 ? 0 : v > vmax ? vmax : v);
        }
}

int unet__sample_compact_labels(uint16_t *labels, size_t np, int placed, int *count)
{
    uint16_t *map = calloc((size_t)placed + 1, sizeof *map);
    if (!map)
        return UNET_E_NOMEM;
    for (size_t p = 0; p < np; p++)
        map[labels[p]] = 1;
    int n = 0;
    for (int i = 1; i <= placed; i++)
        map[i] = map[i] ? (uint16_t)++n : 0;
    map[0] = 0;
    for (size_t p = 0; p < np; p++)
        labels[p] = map[labels[p]];
    free(map);
    if (count)
        *count = n;
    return UNET_OK;
}

int unet__sample_nuclei(int width, int height, uint64_t seed, int bits, uint16_t *image,
                        uint16_t *labels, int *count)
{
    if (count)
        *count = 0;
    if (width < 1 || height < 1 || width > UNET__SAMPLE_MAX_SIZE ||
        height > UNET__SAMPLE_MAX_SIZE || (bits != 8 && bits != 12 && bits != 16) || !image)
        return UNET_E_INVALID_ARG;
    size_t np = (size_t)width * height;
    float *sig = calloc(np, sizeof *sig), *tex = malloc(np * sizeof *tex);
    float *depth = malloc(np * sizeof *depth);
    uint16_t *owner = labels ? labels : malloc(np * sizeof *owner);
    int rc = UNET_E_NOMEM, placed = 0;
    if (!sig || !tex || !depth || !owner)
        goto done;
    memset(owner, 0, np * sizeof *owner);
    rng_t r;
    unet__rng_seed(&r, seed);
    scene_t s;
    draw_scene(&r, bits, &s);
    if (make_texture(&r, &s, tex, width, height))
        goto done;
    placed = place_nuclei(&r, &s, tex, sig, owner, depth, width, height);
    if (placed < 0 || add_out_of_focus(&r, &s, placed, tex, sig, depth, width, height) ||
        apply_psf(&r, &s, sig, tex, width, height))
        goto done;
    expose(&r, &s, sig, bits, image, width, height);
    rc = unet__sample_compact_labels(owner, np, placed, count);
done:
    free(sig);
    free(tex);
    free(depth);
    if (owner != labels)
        free(owner);
    return rc;
}
