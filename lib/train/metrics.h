/*
 * Validation metrics: foreground overlap (IoU, Dice), instance matching (F1 at an IoU
 * threshold, each prediction and ground truth matched at most once), PSNR and SSIM (Wang et
 * al. 2004: Gaussian window sigma 1.5 truncated at 3.5 sigma, K1 0.01, K2 0.03, population
 * covariances, mean over the pixels at least the window radius from the border, as
 * skimage.metrics.structural_similarity(gaussian_weights=True, use_sample_covariance=False)).
 */
#ifndef UNET_TRAIN_METRICS_H
#define UNET_TRAIN_METRICS_H

#include <stdint.h>

/* Counts of pred & gt, pred, gt over `count` pixels (valid NULL: all). */
void unet__overlap_counts(const uint8_t *pred, const uint8_t *gt, const uint8_t *valid,
                          int64_t count, int64_t *inter, int64_t *npred, int64_t *ngt);

/* Matches of instances (labels > 0) with IoU >= thr; npred and ngt count the instances. */
int unet__metric_instance_match(const int32_t *pred, const int32_t *gt, int64_t count,
                                double thr, int64_t *tp, int64_t *npred, int64_t *ngt);

double unet__psnr(const float *x, const float *ref, int64_t count, double data_range);
int unet__ssim(const float *x, const float *ref, int64_t h, int64_t w, double data_range,
               double *out);

#endif
