/*
 * What training derives from label images: targets (binary foreground, 3-class, normalised
 * distance), the U-Net paper's border weight map (with post-processing's exact distance
 * transform), and connected components (for instance metrics). Labels are int32 [h][w]: 0
 * background, > 0 instance or class ids.
 */
#ifndef UNET_TRAIN_LABELS_H
#define UNET_TRAIN_LABELS_H

#include <stdint.h>

/* The U-Net paper's weight map: w = wc + w0 exp(-(d1 + d2)^2 / (2 sigma^2)) on background
 * pixels, where d1 and d2 are the exact distances to the nearest and second nearest instance;
 * wc (1) on instance pixels. With fewer than two instances d2 is infinite (no border term).
 * Distances beyond the range where the term exceeds 1e-6 * w0 are not computed (the result
 * differs from the exact map by less than that). */
int unet__border_weights(const int32_t *labels, int64_t h, int64_t w, double w0, double sigma,
                         float *out);

/* The distinct positive labels of labels[0..count), sorted, into ids (room for count);
 * returns how many. */
int64_t unet__label_ids(const int32_t *labels, int64_t count, int32_t *ids);
/* Index of `label` in the sorted ids[0..n) (it must be there). */
int64_t unet__label_index(const int32_t *ids, int64_t n, int32_t label);

/* 1 where label > 0, else 0. */
void unet__target_foreground(const int32_t *labels, int64_t count, float *out);
/* Class per pixel: 0 background, 1 interior, 2 boundary, where a boundary pixel is an
 * instance pixel with a 4-neighbour inside the image of another label (skimage's
 * find_boundaries(mode="inner", connectivity=1)). */
void unet__target_3class(const int32_t *labels, int64_t h, int64_t w, float *out);

/* Two planes: the foreground (as above), then each instance's distance to its edge divided
 * by the instance's largest, in [0, 1]: 1 at its centre, 0 outside and on pixels that touch
 * another instance (the seam between touching nuclei, whatever their size). */
int unet__target_distance(const int32_t *labels, int64_t h, int64_t w, float *out);

/* Connected components of mask != 0 (8-connectivity when conn8, else 4), labelled 1.. in
 * raster order of their first pixel; returns the count, or a negative status. */
int64_t unet__train_components(const uint8_t *mask, int64_t h, int64_t w, int conn8,
                                   int32_t *labels);

#endif
