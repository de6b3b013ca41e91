/* The wide scene's shared pieces: what varies between images (drawn in wide.c), one nucleus's
 * shape (shape.c), placement (place.c), rendering (render.c) and the camera (camera.c). */
#ifndef UNET_SAMPLE_SCENE_H
#define UNET_SAMPLE_SCENE_H

#include <math.h>
#include <stdint.h>

#include "core/rng.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static inline double unet__uni(unet__rng *r) { return unet__rng_uniform(r); }
static inline double unet__range(unet__rng *r, double lo, double hi)
{
    return lo + (hi - lo) * unet__rng_uniform(r);
}
static inline double unet__logrange(unet__rng *r, double lo, double hi)
{
    return lo * exp(log(hi / lo) * unet__rng_uniform(r));
}

enum { UNET__CLUTTER_RAMP = 1, UNET__CLUTTER_HAZE = 2, UNET__CLUTTER_DEBRIS = 4,
       UNET__CLUTTER_NOISE = 8 };

/* One texture style: an image has one to three, each nucleus wears one. */
typedef struct {
    double fine, coarse;         /* amplitudes of the fine and coarse chromatin fields */
    int spots;                   /* bright chromocentres per nucleus */
    double spot_amp, spot_size;  /* brightness (x the nucleus's), radius (x its diameter) */
    int nucleoli;                /* dark nucleoli per nucleus */
    double nucleolus_depth, nucleolus_size;
    double k_lo, k_hi;           /* radial profile: > 0 brighter centre, < 0 brighter rim */
} unet__tex_style;

typedef struct {
    int w, h, bits;
    /* sizes: every whole nucleus's equivalent diameter lies in [d_lo, d_hi] */
    double d_lo, d_hi, d_med, d_sd, d_med2, frac2; /* log-normal populations (frac2: second) */
    /* placement */
    int target, clusters, cluster_size;
    double pair; /* chance a scattered nucleus is placed against another */
    double keep; /* fraction of its area each nucleus keeps where nuclei overlap */
    /* appearance, intensities in units of the background level */
    double contrast, bright_sd, mitotic, edge, psf, tail_w, tail_sigma;
    int nstyles;
    unet__tex_style style[3];
    double fine_scale, coarse_scale; /* blur of the texture fields, px */
    /* clutter */
    unsigned clutter; /* UNET__CLUTTER_* */
    double haze_cover, haze_amp, haze_sigma, cloud_amp;
    double specks, fibres, clumps; /* per 512^2 */
    /* illumination and camera */
    double vignette, vx, vy, grad_x, grad_y, waves, kx[3], ky[3], ph[3];
    double bg, photons, read_sd, offset, vmax; /* bg: grey value of the background level */
    double hot, column_sd, corr_sd, corr_sigma;
    double noise_sd; /* of the background, in background units */
} unet__wscene;

/* A nucleus: a wobbly ellipse (centre, semi-axes a >= b, angle, outline harmonics 2..4). */
typedef struct {
    double cx, cy, a, b, ca, sa, req, d;
    double ia, ib; /* 1 / a, 1 / b */
    double wa[3], wb[3], wsum; /* outline radius factor 1 + sum wa cos + wb sin; |sum| <= wsum */
    double amp, k, gx, gy, fine, coarse;
    int style;
} unet__wnuc;

/* Draw a nucleus of diameter d (px, its equivalent diameter before rasterisation) with the
 * scene's shape and brightness spread; position left at 0. */
void unet__wnuc_draw(unet__rng *r, const unet__wscene *s, double d, unet__wnuc *n);
/* A diameter from the scene's populations, inside [d_lo, d_hi]. */
double unet__wscene_diameter(unet__rng *r, const unet__wscene *s);
/* Normalised radius of pixel centre (x, y): < 1 inside the outline; a value > limit may be
 * returned as any number > limit (cheap rejection far outside). */
double unet__wnuc_rho(const unet__wnuc *n, double x, double y, double limit);
/* The rows [*y0, *y1) where the normalised radius can be below limit (>= 1), and in row y
 * the columns [*x0, *x1) (empty when *x0 >= *x1); not clipped to the image. */
void unet__wnuc_rows(const unet__wnuc *n, double limit, int *y0, int *y1);
void unet__wnuc_span(const unet__wnuc *n, int y, double limit, int *x0, int *x1);

/* Place the scene's nuclei (clusters first, then scattered ones): owner (zeroed, w x h) gets
 * ids 1..count, depth is scratch. *all receives the nuclei (malloc'ed). Returns the count, or
 * -1 when out of memory. */
int unet__place_nuclei(unet__rng *r, const unet__wscene *s, uint16_t *owner, float *depth,
                       unet__wnuc **all);

/* Chromatin texture: a unit-sd smooth random field blurred by sigma px. */
int unet__render_field(unet__rng *r, float *f, int w, int h, double sigma);
/* The nuclei's signal added to sig (background units): fine and coarse are texture fields,
 * mod (zeroed, scratch) takes chromocentres and nucleoli. */
void unet__render_nuclei(unet__rng *r, const unet__wscene *s, const unet__wnuc *all, int count,
                         const float *fine, const float *coarse, float *mod, float *sig);
/* Unlabelled haze (out-of-focus nuclei, diffuse clouds) added to sig; tmp is scratch. */
int unet__render_haze(unet__rng *r, const unet__wscene *s, float *sig, float *tmp);
/* Unlabelled debris (specks, clumps, fibres) added to sig. */
void unet__render_debris(unet__rng *r, const unet__wscene *s, float *sig);

/* The optics (PSF core and tail; tmp is scratch) and the camera: illumination, photon noise,
 * offset, read noise, correlated noise (scratch field corr), hot pixels, quantisation. */
int unet__camera(unet__rng *r, const unet__wscene *s, float *sig, float *tmp, float *corr,
                 uint16_t *image);

#endif
