/* Exact percentiles of a plane held in memory, in a few parallel passes (stats_kept.c); the
 * plane statistics (stats.c) use them once a plane is kept whole. */
#ifndef UNET_PREDICT_STATS_KEPT_H
#define UNET_PREDICT_STATS_KEPT_H

#include <stdbool.h>
#include <stdint.h>

/* NumPy's linear percentiles qlo and qhi of each of `channels` channels of n finite values
 * (channel c at plane + c n) on up to `threads` threads. *done is false (and nothing written)
 * when the values near a percentile are too many to select among in little memory (a peak of
 * millions of values within a hair): the caller then searches (stats.c). */
int unet__kept_percentiles(const float *plane, int64_t channels, int64_t n, double qlo,
                           double qhi, int threads, double *lo, double *hi, bool *done);

/* The k-th smallest (0-based) of v[0..n) (no NaN), rearranging v (stats.c). */
float unet__select_kth(float *v, int64_t n, int64_t k);

#endif
