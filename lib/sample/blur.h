/* Blurs of float images for the sample generators: an exact Gaussian (sampled taps, mirrored
 * borders) and, for wide blurs, three box passes that approximate it at a cost independent of
 * sigma. Deterministic (no threads, fixed summation order). */
#ifndef UNET_SAMPLE_BLUR_H
#define UNET_SAMPLE_BLUR_H

#include <stddef.h>

/* In place; sigma > 0. Each output pixel sums its taps from -3 sigma to +3 sigma in order, in
 * float, rows first, then columns. Returns 0, or -1 when out of memory (img unchanged). */
int unet__sample_blur(float *img, int w, int h, double sigma);

/* The exact blur for sigma <= 3, three box passes of the same variance above (a Gaussian to a
 * few percent, at three additions per pixel and pass). Returns 0 or -1 (out of memory). */
int unet__sample_blur_fast(float *img, int w, int h, double sigma);

/* Scales np pixels to unit root mean square, img / sqrt(mean(img^2) + eps) (the mean summed in
 * double, in order): blurred noise becomes a texture of known contrast. */
void unet__sample_unit_rms(float *img, size_t np, double eps);

#endif
