/* Synthetic fluorescence-nuclei images with instance labels (training data for the built-in
 * model, sample images for hosts, the README and `unet sample`). Deterministic for a seed on
 * any machine: its own random generator, no threads, no libc rand(). */
#ifndef UNET_SAMPLE_NUCLEI_H
#define UNET_SAMPLE_NUCLEI_H

#include <stdint.h>

#define UNET__SAMPLE_MAX_SIZE 8192

/* A width x height image (row-major) of nuclei 10 to 60 px across: isolated, touching and
 * slightly overlapping clusters, round and elongated, varied brightness and texture, a few
 * bright mitotic ones and unlabelled out-of-focus haze, on an uneven background, blurred by a
 * two-Gaussian PSF, with Poisson + Gaussian noise. bits 8 or 16 sets the value range of image
 * (always uint16 storage). labels (may be NULL) receives uint16 instance labels 1..count
 * (label = the pixel is inside that nucleus's outline). Returns UNET_OK, UNET_E_INVALID_ARG
 * on bad arguments or UNET_E_NOMEM (no message: the caller words it). */
int unet__sample_nuclei(int width, int height, uint64_t seed, int bits, uint16_t *image,
                        uint16_t *labels, int *count);

#endif
