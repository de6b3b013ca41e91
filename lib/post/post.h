/*
 * Post-processing (DESIGN section 8): probabilities to instance labels. The functions here take
 * a grid already validated by the public wrappers (api/post.c), so callers inside the library
 * (unet_segment, click-to-segment) can chain them without re-validating. A 2-D image is a
 * volume of depth 1: every algorithm is written once, in 3-D.
 *
 * Labels are uint32, 0 is background. Every function that returns instances numbers them
 * 1..N in raster order of their first pixel. On failure they return a negative status with
 * the message set (unet__fail); outputs are then unspecified.
 */
#ifndef UNET_POST_POST_H
#define UNET_POST_POST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "unet.h"

/* An image of d planes of h rows of w pixels, contiguous; n = d * h * w. */
typedef struct unet__grid {
    int64_t d, h, w, n;
} unet__grid;

/* Neighbourhood rank: 1 faces (4 in 2-D, 6 in 3-D), 2 faces and edges (8, 18), 3 all (8, 26). */
typedef struct unet__nbhd {
    int count;
    int dz[26], dy[26], dx[26];
} unet__nbhd;

/* The neighbours of a rank, ordered as skimage orders them (by L1 distance, then raster order
 * within the footprint), so that seeded flooding breaks ties the same way. */
void unet__nbhd_make(int rank, unet__nbhd *nb);

/* Index of the first NaN in x[0..n), or -1. */
int64_t unet__first_nan(const float *x, int64_t n, int threads);
/* Chunk size of a parallel loop over n pixels of light work each (core/pool.h): a few chunks
 * per thread, and no chunk so small that handing it out costs more than doing it. */
int64_t unet__post_chunk(int64_t n, int threads);
/* "(y 3, x 7)" or "(z 1, y 3, x 7)" for flat index i; buf of at least 80 bytes. */
const char *unet__grid_where(const unet__grid *g, int ndim, int64_t i, char *buf, size_t size);

/* ---- label maps (labelmap.c): arbitrary uint32 label values -> compact ids 1..K ---- */
typedef struct unet__labelmap {
    uint32_t *keys;  /* 0: empty slot (label 0 is never stored) */
    uint32_t *vals;
    size_t cap, len; /* cap a power of two */
} unet__labelmap;

int unet__labelmap_init(unet__labelmap *m, size_t expected);
void unet__labelmap_free(unet__labelmap *m);
/* The id of `key` (> 0), or 0 if absent. */
uint32_t unet__labelmap_get(const unet__labelmap *m, uint32_t key);
/* The id of `key`, giving it the next id (len + 1) if absent; 0 when out of memory. */
uint32_t unet__labelmap_put(unet__labelmap *m, uint32_t key);
/* Map key (> 0) to any value (a map used as a plain uint32 -> uint32 table instead of through
 * put); UNET_E_NOMEM when it cannot grow. */
int unet__labelmap_set(unet__labelmap *m, uint32_t key, uint32_t val);
/* Compact ids 1..K in raster order of first appearance of every non-zero label; `ids` (may be
 * NULL) receives the id of every pixel. */
int unet__labelmap_scan(unet__labelmap *m, const uint32_t *labels, int64_t n, uint32_t *ids);

/* ---- threshold.c ---- */
/* mask = prob > threshold; refuses NaN (message names the pixel). */
int unet__threshold(const float *prob, const unet__grid *g, int ndim, float threshold,
                    uint8_t *mask, int threads);

/* ---- components.c ---- */
/* Connected components of the non-zero pixels: union-find over provisional labels, the image
 * split into bands of rows that threads label independently and then stitch. */
int unet__label_components(const uint8_t *mask, const unet__grid *g, int rank,
                           uint32_t *labels, uint32_t *count, int threads);

/* ---- distance.c ---- */
/* Exact Euclidean distance to the nearest zero pixel of mask (Felzenszwalb-Huttenlocher, one
 * pass per axis), spacing[3] per axis (z, y, x); +inf everywhere when there is no zero pixel. */
int unet__distance_transform(const uint8_t *mask, const unet__grid *g, const double spacing[3],
                             float *dist, int threads);

/* ---- peaks.c ---- */
/* Local maxima of image like skimage.feature.peak_local_max(min_distance, labels=regions,
 * exclude_border=False): pixels equal to the maximum over their (2m+1)^ndim window (pixels of
 * their own region only; regions NULL: the whole image is one region), above the image's
 * minimum, thinned greedily from the highest (ties: raster order) so that no two peaks of a
 * region are closer than m (Chebyshev). markers: 1..N in raster order, 0 elsewhere. */
int unet__local_maxima(const float *image, const uint32_t *regions, const unet__grid *g,
                       int min_distance, uint32_t *markers, uint32_t *count, int threads);

/* ---- flood.c ---- */
/* Seeded watershed, as skimage.segmentation.watershed without compactness: labels start as the
 * markers (zero outside mask); a priority queue ordered by (landscape value, arrival order)
 * floods from them, each pixel taking the label of the pixel that reached it first; markers
 * arrive in raster order. With negate, the landscape is -landscape. mask NULL: everywhere.
 * regions: the mask's connected components at this rank (1..nregions), or NULL to compute
 * them here. labels may alias markers. */
int unet__flood(const float *landscape, bool negate, const uint32_t *markers,
                const uint8_t *mask, const unet__grid *g, int rank, const uint32_t *regions,
                uint32_t nregions, uint32_t *labels, int threads);

/* ---- watershed.c ---- */
/* Touching objects of a mask split: distance transform, peaks per connected component, flood
 * of -distance within the mask, relabelled. Every non-zero mask pixel gets a label. */
int unet__watershed_mask(const uint8_t *mask, const unet__grid *g, const double spacing[3],
                         int min_distance, int rank, uint32_t *labels, uint32_t *count,
                         int threads);

/* ---- cores.c ---- */
/* cls: 0 background, 1 core, 2 rim. Core components are the seeds, grown over core and rim
 * pixels in order of decreasing landscape (unet__flood), relabelled 1..N. Rim pixels no seed
 * reaches stay 0. */
int unet__labels_from_cores(const uint8_t *cls, const float *landscape, const unet__grid *g,
                            int rank, uint32_t *labels, uint32_t *count, int threads);

/* ---- threeclass.c ---- */
/* probs: (3, d, h, w) background, interior, boundary. Pixels take the class of the largest
 * probability; interior components are the seeds, grown over interior + boundary pixels in
 * order of decreasing interior probability. Foreground without interior stays 0. */
int unet__labels_from_3class(const float *probs, const unet__grid *g, int ndim, int rank,
                             uint32_t *labels, uint32_t *count, int threads);

/* ---- relabel.c ---- */
/* Renumber to 1..N in raster order of first pixel. */
int unet__relabel(uint32_t *labels, const unet__grid *g, uint32_t *count);
/* Remove objects of fewer than min_size or (max_size > 0) more than max_size pixels, then
 * renumber. */
int unet__filter_sizes(uint32_t *labels, const unet__grid *g, int64_t min_size,
                       int64_t max_size, uint32_t *count);

/* ---- match.c ---- */
/* Instances matched one-to-one at IoU >= threshold, as many pairs as possible (maximum
 * bipartite matching, as StarDist's matching counts them). */
int unet__instance_match(const uint32_t *pred, const uint32_t *truth, const unet__grid *g,
                         double iou_threshold, int64_t *tp, int64_t *fp, int64_t *fn);

#endif
