/* Synthetic fluorescence-nuclei images with instance labels (training data for the built-in
 * model, sample images for hosts, the README and `unet sample`). Deterministic for a seed on
 * any machine: core's random generator, no threads, no libc rand(). */
#ifndef UNET_SAMPLE_NUCLEI_H
#define UNET_SAMPLE_NUCLEI_H

#include <stddef.h>
#include <stdint.h>

#define UNET__SAMPLE_MAX_SIZE 8192

/* The classic scene, what the built-in model was trained on: its output for bits 8 and 16
 * never changes (tests hold checksums). A width x height image (row-major) of nuclei 10 to
 * 60 px across: isolated, touching and slightly overlapping clusters, round and elongated,
 * varied brightness and texture, a few bright mitotic ones and unlabelled out-of-focus haze,
 * on an uneven background, blurred by a two-Gaussian PSF, with Poisson + Gaussian noise.
 * bits 8, 12 or 16 sets the value range of image (always uint16 storage). labels (may be
 * NULL) receives uint16 instance labels 1..count (label = the pixel is inside that nucleus's
 * outline). Returns UNET_OK, UNET_E_INVALID_ARG on bad arguments or UNET_E_NOMEM (no
 * message: the caller words it). The wide scene is in wide.h. */
int unet__sample_nuclei(int width, int height, uint64_t seed, int bits, uint16_t *image,
                        uint16_t *labels, int *count);

/* Labels 1..N without gaps, in place (a late nucleus may have taken every pixel of an edge
 * fragment), N stored in *count (when not NULL): returns UNET_OK, or UNET_E_NOMEM (labels and
 * *count unchanged). */
int unet__sample_compact_labels(uint16_t *labels, size_t np, int placed, int *count);

#endif
