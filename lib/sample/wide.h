/* The wide sample scene: nuclei of every size in a diameter range, dense clusters of touching
 * nuclei, dim out-of-focus nuclei and debris that are not objects, uneven illumination,
 * several textures per image, 8/12/16-bit, and fields with no nuclei of every background
 * kind. Deterministic for a seed on any machine (core's random generator, no threads, no libc
 * rand()). The classic scene (nuclei.h) is untouched by it. */
#ifndef UNET_SAMPLE_WIDE_H
#define UNET_SAMPLE_WIDE_H

#include <stdint.h>

/* Background kinds: `auto` draws a mixture per seed; the others give exactly that clutter. */
enum {
    UNET__BG_AUTO,
    UNET__BG_FLAT,   /* even illumination, photon and camera noise only */
    UNET__BG_RAMP,   /* uneven illumination: vignetting, a gradient and long waves */
    UNET__BG_HAZE,   /* dim, strongly blurred out-of-focus nuclei and diffuse clouds */
    UNET__BG_DEBRIS, /* small specks, clumps and fibres */
    UNET__BG_NOISE   /* few photons, strong read noise, correlated noise, hot pixels */
};

typedef struct unet__sample_wide_opts {
    int nuclei;                        /* how many to place, or -1: from a drawn coverage */
    double min_diameter, max_diameter; /* px: every whole nucleus's equivalent diameter */
    int clusters;                      /* dense clusters (50+ nuclei each), or -1: drawn */
    int background;                    /* UNET__BG_* */
} unet__sample_wide_opts;

/* A width x height image (uint16 storage, values below 2^bits, bits 8, 12 or 16) and its
 * labels (may be NULL) 1..count: label = the pixel is inside that nucleus's outline. Every
 * nucleus not cut by the image border has an equivalent diameter sqrt(4 area / pi) in
 * [min_diameter, max_diameter]. Returns UNET_OK, UNET_E_INVALID_ARG (no message: the caller
 * validated) or UNET_E_NOMEM. */
int unet__sample_wide(int width, int height, uint64_t seed, int bits,
                      const unet__sample_wide_opts *opts, uint16_t *image, uint16_t *labels,
                      int *count);

#endif
