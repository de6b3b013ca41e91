/* The wide scene (see wide.h): every image draws what varies (sizes, density, clusters,
 * contrast, textures, clutter, illumination, camera) within the options' limits, then places
 * the nuclei (place.c), renders them and the clutter (render.c) and exposes (camera.c). */
#include "sample/wide.h"

#include <stdlib.h>
#include <string.h>

#include "sample/nuclei.h"
#include "sample/scene.h"
#include "unet.h"

static void draw_style(unet__rng *r, unet__tex_style *st)
{
    memset(st, 0, sizeof *st);
    st->fine = unet__range(r, 0.04, 0.2);
    st->k_lo = -0.1;
    st->k_hi = 0.45;
    switch ((int)(unet__uni(r) * 5)) {
    case 0: /* smooth */
        st->fine = unet__range(r, 0.02, 0.08);
        st->coarse = unet__range(r, 0, 0.05);
        break;
    case 1: /* granular chromatin */
        st->fine = unet__range(r, 0.15, 0.4);
        st->coarse = unet__range(r, 0.1, 0.3);
        break;
    case 2: /* bright chromocentres (mouse cells in Hoechst) */
        st->spots = (int)unet__range(r, 3, 16);
        st->spot_amp = unet__range(r, 0.6, 2.5);
        st->spot_size = unet__range(r, 0.04, 0.09);
        st->coarse = unet__range(r, 0, 0.15);
        break;
    case 3: /* dark nucleoli */
        st->nucleoli = 1 + (int)(unet__uni(r) * 3);
        st->nucleolus_depth = unet__range(r, 0.25, 0.7);
        st->nucleolus_size = unet__range(r, 0.08, 0.18);
        st->coarse = unet__range(r, 0.05, 0.2);
        break;
    default: /* bright rim (lamina-like) */
        st->k_lo = -0.7;
        st->k_hi = -0.2;
        st->coarse = unet__range(r, 0, 0.15);
        break;
    }
}

static unsigned draw_clutter(unet__rng *r, int background, int empty)
{
    static const unsigned kinds[] = {0, UNET__CLUTTER_RAMP, UNET__CLUTTER_HAZE,
                                     UNET__CLUTTER_DEBRIS, UNET__CLUTTER_NOISE};
    if (background != UNET__BG_AUTO)
        return kinds[background - UNET__BG_FLAT];
    unsigned c = 0;
    if (empty) { /* one kind, sometimes with others on top */
        c = kinds[(int)(unet__uni(r) * 5)];
        if (c)
            for (int i = 1; i < 5; i++)
                c |= unet__uni(r) < 0.25 ? kinds[i] : 0;
        return c;
    }
    c |= unet__uni(r) < 0.6 ? UNET__CLUTTER_RAMP : 0;
    c |= unet__uni(r) < 0.45 ? UNET__CLUTTER_HAZE : 0;
    c |= unet__uni(r) < 0.45 ? UNET__CLUTTER_DEBRIS : 0;
    c |= unet__uni(r) < 0.15 ? UNET__CLUTTER_NOISE : 0;
    return c;
}

/* How many nuclei, in how many clusters of what size. */
static void draw_counts(unet__rng *r, const unet__sample_wide_opts *o, unet__wscene *s)
{
    double mean_area = M_PI * s->d_med * s->d_med / 4 * exp(2 * s->d_sd * s->d_sd);
    double room = 0.5 * s->w * s->h / mean_area; /* nuclei a dense field holds */
    int n = (int)(unet__range(r, 0.03, 0.5) * s->w * s->h / mean_area + 0.5);
    int clusters = o->clusters;
    if (clusters < 0)
        clusters = room >= 80 && unet__uni(r) < 0.35 ? 1 + (unet__uni(r) < 0.3) : 0;
    int size = (int)unet__range(r, 50, 150);
    if (o->nuclei >= 0) {
        s->target = o->nuclei;
        /* A given count: most of it in the clusters, never fewer than 50 each if it allows. */
        int share = (int)(o->nuclei * unet__range(r, 0.6, 0.9)) / (clusters > 0 ? clusters : 1);
        int least = o->nuclei / (clusters > 0 ? clusters : 1);
        size = share > 50 ? share : least < 50 ? least : 50;
    } else {
        s->target = (n < 1 ? 1 : n) + clusters * size;
    }
    s->clusters = s->target > 0 ? clusters : 0;
    s->cluster_size = size;
}

static void draw_scene(unet__rng *r, const unet__sample_wide_opts *o, unet__wscene *s)
{
    s->d_lo = o->min_diameter;
    s->d_hi = o->max_diameter;
    s->d_med = unet__logrange(r, s->d_lo, s->d_hi);
    s->d_sd = unet__range(r, 0.05, 0.25);
    if (unet__uni(r) < 0.2) { /* a second population (two cell types, or G1 and G2) */
        s->d_med2 = unet__logrange(r, s->d_lo, s->d_hi);
        s->frac2 = unet__range(r, 0.15, 0.5);
    }
    draw_counts(r, o, s);
    s->pair = unet__range(r, 0.05, 0.8);
    s->keep = unet__range(r, 0.8, 0.95);
    s->contrast = unet__logrange(r, 0.5, 10);
    s->bright_sd = unet__range(r, 0.1, 0.55);
    s->mitotic = unet__uni(r) < 0.4 ? unet__range(r, 0, 0.05) : 0;
    s->edge = unet__range(r, 0.4, 1.2) + s->d_med * unet__range(r, 0, 0.03);
    s->psf = unet__range(r, 0.5, 1.0) + s->d_med * unet__range(r, 0, 0.02);
    s->tail_w = unet__uni(r) < 0.6 ? unet__range(r, 0.02, 0.25) : 0;
    s->tail_sigma = s->psf * unet__range(r, 3, 8);
    s->nstyles = 1 + (unet__uni(r) < 0.6) + (unet__uni(r) < 0.3);
    for (int i = 0; i < s->nstyles; i++)
        draw_style(r, &s->style[i]);
    s->fine_scale = fmax(0.6, s->d_med * unet__range(r, 0.02, 0.05));
    s->coarse_scale = fmax(1.2, s->d_med * unet__range(r, 0.06, 0.14));
    /* clutter */
    s->clutter = draw_clutter(r, o->background, s->target == 0);
    s->haze_cover = unet__range(r, 0.05, 0.5);
    s->haze_amp = unet__range(r, 0.1, 0.45);
    s->haze_sigma = unet__range(r, 0.15, 0.4) * s->d_med + unet__range(r, 1.5, 3);
    s->cloud_amp = unet__uni(r) < 0.4 ? unet__range(r, 0.05, 0.4) : 0;
    s->specks = unet__logrange(r, 20, 400);
    s->clumps = unet__uni(r) < 0.7 ? unet__logrange(r, 2, 25) : 0;
    s->fibres = unet__uni(r) < 0.5 ? unet__range(r, 1, 10) : 0;
    /* illumination (used with the ramp clutter) */
    s->vignette = unet__range(r, 0.1, 0.5);
    s->vx = unet__range(r, -0.2, 1.2) * s->w;
    s->vy = unet__range(r, -0.2, 1.2) * s->h;
    double grad = unet__range(r, 0, 0.6), dir = unet__range(r, 0, 2 * M_PI);
    s->grad_x = grad * cos(dir);
    s->grad_y = grad * sin(dir);
    s->waves = unet__range(r, 0.05, 0.3);
    for (int i = 0; i < 3; i++) {
        double len = unet__logrange(r, 150, 1500), a = unet__range(r, 0, 2 * M_PI);
        s->kx[i] = 2 * M_PI / len * cos(a);
        s->ky[i] = 2 * M_PI / len * sin(a);
        s->ph[i] = unet__range(r, 0, 2 * M_PI);
    }
    /* camera */
    int noisy = (s->clutter & UNET__CLUTTER_NOISE) != 0;
    s->photons = noisy ? unet__logrange(r, 0.3, 6) : unet__logrange(r, 3, 400);
    s->read_sd = noisy ? unet__range(r, 0.1, 0.8) : unet__range(r, 0, 0.12);
    s->offset = unet__uni(r) < 0.5 ? 0 : unet__range(r, 0, 0.5);
    s->hot = noisy ? unet__logrange(r, 1e-5, 1e-3)
                   : unet__uni(r) < 0.2 ? unet__logrange(r, 1e-6, 1e-4) : 0;
    s->column_sd = noisy && unet__uni(r) < 0.5 ? unet__range(r, 0.01, 0.1) : 0;
    s->corr_sd = noisy && unet__uni(r) < 0.7 ? unet__range(r, 0.1, 0.6) : 0;
    s->corr_sigma = unet__range(r, 0.6, 2.5);
    /* Nuclei stand out of the noise: the median one is 3 noise sd above the background (many
     * pixels each, so dimmer ones still show); a noise scene raises its contrast, not its
     * photon count. */
    s->noise_sd = sqrt(1 / s->photons + s->read_sd * s->read_sd + s->corr_sd * s->corr_sd);
    if (s->contrast < 3 * s->noise_sd)
        s->contrast = 3 * s->noise_sd;
    /* Exposure as a user sets it: typical nuclei fill some share of the range (8-bit images
     * are usually stretched, 16-bit ones rarely), the brightest may saturate. */
    s->vmax = (double)((1 << s->bits) - 1);
    double fill = s->bits == 8    ? unet__logrange(r, 0.15, 0.9)
                  : s->bits == 12 ? unet__logrange(r, 0.05, 0.9)
                                  : unet__logrange(r, 0.01, 0.5);
    double typical = (1 + s->offset) * (1 + s->contrast); /* empty fields: the same settings */
    s->bg = fmax(1.5, fill * s->vmax / typical);
}

int unet__sample_wide(int width, int height, uint64_t seed, int bits,
                      const unet__sample_wide_opts *o, uint16_t *image, uint16_t *labels,
                      int *count)
{
    if (count)
        *count = 0;
    if (width < 1 || height < 1 || width > UNET__SAMPLE_MAX_SIZE ||
        height > UNET__SAMPLE_MAX_SIZE || (bits != 8 && bits != 12 && bits != 16) || !image ||
        !o || !(o->min_diameter >= 1) || !(o->max_diameter >= o->min_diameter) ||
        o->background < UNET__BG_AUTO || o->background > UNET__BG_NOISE)
        return UNET_E_INVALID_ARG;
    size_t np = (size_t)width * height;
    float *sig = calloc(np, sizeof *sig), *tmp = malloc(np * sizeof *tmp);
    float *fine = malloc(np * sizeof *fine), *coarse = malloc(np * sizeof *coarse);
    float *mod = calloc(np, sizeof *mod);
    uint16_t *owner = labels ? labels : malloc(np * sizeof *owner);
    unet__wnuc *all = NULL;
    int rc = UNET_E_NOMEM, placed = 0;
    if (!sig || !tmp || !fine || !coarse || !mod || !owner)
        goto done;
    memset(owner, 0, np * sizeof *owner);
    unet__rng r;
    unet__rng_seed(&r, seed ^ 0x5749444553434e45ull); /* not the classic scene's stream */
    unet__wscene s;
    memset(&s, 0, sizeof s);
    s.w = width;
    s.h = height;
    s.bits = bits;
    draw_scene(&r, o, &s);
    /* The camera draws from its own stream: the same seed gives the same noise whatever the
     * clutter (a haze or debris field is the flat one plus its clutter, pixel by pixel). */
    unet__rng camera;
    unet__rng_seed(&camera, unet__rng_next(&r));
    placed = unet__place_nuclei(&r, &s, owner, tmp, &all);
    if (placed < 0)
        goto done;
    if (placed > 0) {
        if (unet__render_field(&r, fine, width, height, s.fine_scale) ||
            unet__render_field(&r, coarse, width, height, s.coarse_scale))
            goto done;
        unet__render_nuclei(&r, &s, all, placed, fine, coarse, mod, sig);
    }
    if (unet__render_haze(&r, &s, sig, tmp))
        goto done;
    unet__render_debris(&r, &s, sig);
    if (unet__camera(&camera, &s, sig, tmp, coarse, image))
        goto done;
    rc = unet__sample_compact_labels(owner, np, placed, count);
done:
    free(all);
    free(sig);
    free(tmp);
    free(fine);
    free(coarse);
    free(mod);
    if (owner != labels)
        free(owner);
    return rc;
}
