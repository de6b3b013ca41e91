/*
 * Plain-parameter forms of 1.0 API calls for the suites: a getter's value (or its negative
 * status), a forward pass with a thread count, post-processing with its parameters given one
 * by one. Each builds the options object through its public setters, so a refused parameter
 * returns the setter's status and message, as the calls did when they took the parameter
 * directly. Every options object is freed before returning.
 */
#ifndef UNET_TESTS_API_CALLS_H
#define UNET_TESTS_API_CALLS_H

#include <stdint.h>
#include <stdio.h>

#include "unet.h"

/* ---- getters: the value, or the status when it fails ---- */

static inline int model_int(int (*get)(const unet_model_t *, int *), const unet_model_t *m)
{
    int v;
    int rc = get(m, &v);
    return rc == UNET_OK ? v : rc;
}

static inline int64_t model_param_count(const unet_model_t *m)
{
    int64_t v;
    int rc = unet_model_param_count(m, &v);
    return rc == UNET_OK ? v : rc;
}

static inline const char *model_architecture(const unet_model_t *m)
{
    const char *s;
    return unet_model_architecture(m, &s) == UNET_OK ? s : NULL;
}

static inline const char *model_metadata(const unet_model_t *m)
{
    const char *s;
    return unet_model_metadata(m, &s) == UNET_OK ? s : NULL;
}

static inline const char *trainer_metrics(const unet_trainer_t *t)
{
    const char *s;
    return unet_trainer_metrics(t, &s) == UNET_OK ? s : NULL;
}

static inline const char *train_opts_json(const unet_train_opts_t *o)
{
    const char *s;
    return unet_train_opts_json(o, &s) == UNET_OK ? s : NULL;
}

static inline int64_t result_area(const unet_click_result_t *r)
{
    int64_t v;
    int rc = unet_click_result_area(r, &v);
    return rc == UNET_OK ? v : rc;
}

static inline int result_complete(const unet_click_result_t *r)
{
    int v;
    int rc = unet_click_result_complete(r, &v);
    return rc == UNET_OK ? v : rc;
}

static inline const uint8_t *result_mask(const unet_click_result_t *r)
{
    const uint8_t *m;
    return unet_click_result_mask(r, &m) == UNET_OK ? m : NULL;
}

static inline int64_t result_ring_count(const unet_click_result_t *r)
{
    int64_t v;
    int rc = unet_click_result_ring_count(r, &v);
    return rc == UNET_OK ? v : rc;
}

static inline const int64_t *result_ring(const unet_click_result_t *r, int64_t index,
                                         int64_t *num_vertices)
{
    const int64_t *xy;
    int64_t n = 0;
    int rc = unet_click_result_ring(r, index, &xy, num_vertices ? num_vertices : &n);
    return rc == UNET_OK ? xy : NULL;
}

/* Segment strips: rows and overlap (0: automatic) through the generic setter. */
static inline int segment_set_strip(unet_segment_opts_t *o, int64_t rows, int64_t overlap)
{
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)rows);
    int rc = unet_segment_opts_set(o, "strip_rows", text);
    snprintf(text, sizeof text, "%lld", (long long)overlap);
    return rc == UNET_OK ? unet_segment_opts_set(o, "strip_overlap", text) : rc;
}

/* ---- the forward pass with a thread count ---- */

static inline int forward_threads(const unet_model_t *m, const float *input, int ndim,
                                  const int64_t *shape, float *output, size_t count,
                                  int threads)
{
    unet_predict_opts_t *o;
    int rc = unet_predict_opts_create(&o);
    if (rc == UNET_OK)
        rc = unet_predict_opts_set_threads(o, threads < 0 ? 0 : threads);
    if (rc == UNET_OK)
        rc = unet_model_forward(m, o, input, ndim, shape, output, count);
    unet_predict_opts_free(o);
    return rc;
}

/* ---- post-processing with plain parameters ---- */

/* Post options with these values; NULL (and the setter's status in *rc) when one is refused. */
static inline unet_post_opts_t *post_opts(int threads, int connectivity, double threshold,
                                          int min_distance, int64_t min_size, int64_t max_size,
                                          int *rc)
{
    unet_post_opts_t *o;
    *rc = unet_post_opts_create(&o);
    if (*rc == UNET_OK)
        *rc = unet_post_opts_set_threads(o, threads < 0 ? 0 : threads);
    if (*rc == UNET_OK)
        *rc = unet_post_opts_set_connectivity(o, connectivity);
    if (*rc == UNET_OK)
        *rc = unet_post_opts_set_threshold(o, threshold);
    if (*rc == UNET_OK)
        *rc = unet_post_opts_set_min_distance(o, min_distance);
    if (*rc == UNET_OK)
        *rc = unet_post_opts_set_min_size(o, min_size);
    if (*rc == UNET_OK)
        *rc = unet_post_opts_set_max_size(o, max_size);
    if (*rc != UNET_OK) {
        unet_post_opts_free(o);
        return NULL;
    }
    return o;
}

#define POST_CALL(opts_expr, call)                                                            \
    do {                                                                                      \
        int rc_;                                                                              \
        unet_post_opts_t *po_ = opts_expr;                                                    \
        if (po_)                                                                              \
            rc_ = (call);                                                                     \
        unet_post_opts_free(po_);                                                             \
        return rc_;                                                                           \
    } while (0)

static inline int threshold_p(const float *prob, int ndim, const int64_t *shape,
                              double threshold, uint8_t *mask, int threads)
{
    POST_CALL(post_opts(threads, 0, threshold, 4, 0, 0, &rc_),
              unet_threshold(prob, ndim, shape, po_, mask));
}

static inline int label_components_p(const uint8_t *mask, int ndim, const int64_t *shape,
                                     int connectivity, uint32_t *labels, uint32_t *num_objects,
                                     int threads)
{
    if (num_objects)
        *num_objects = 0;
    POST_CALL(post_opts(threads, connectivity, 0.5, 4, 0, 0, &rc_),
              unet_label_components(mask, ndim, shape, po_, labels, num_objects));
}

static inline int distance_transform_p(const uint8_t *mask, int ndim, const int64_t *shape,
                                       const double *spacing, float *distance, int threads)
{
    POST_CALL(post_opts(threads, 0, 0.5, 4, 0, 0, &rc_),
              unet_distance_transform(mask, ndim, shape, spacing, po_, distance));
}

static inline int local_maxima_p(const float *image, const uint32_t *regions, int ndim,
                                 const int64_t *shape, int min_distance, uint32_t *markers,
                                 uint32_t *num_peaks, int threads)
{
    if (num_peaks)
        *num_peaks = 0;
    POST_CALL(post_opts(threads, 0, 0.5, min_distance, 0, 0, &rc_),
              unet_local_maxima(image, regions, ndim, shape, po_, markers, num_peaks));
}

static inline int watershed_markers_p(const float *landscape, const uint32_t *markers,
                                      const uint8_t *mask, int ndim, const int64_t *shape,
                                      int connectivity, uint32_t *labels, int threads)
{
    POST_CALL(post_opts(threads, connectivity, 0.5, 4, 0, 0, &rc_),
              unet_watershed_markers(landscape, markers, mask, ndim, shape, po_, labels));
}

static inline int watershed_p(const uint8_t *mask, int ndim, const int64_t *shape,
                              const double *spacing, int min_distance, int connectivity,
                              uint32_t *labels, uint32_t *num_objects, int threads)
{
    if (num_objects)
        *num_objects = 0;
    POST_CALL(post_opts(threads, connectivity, 0.5, min_distance, 0, 0, &rc_),
              unet_watershed(mask, ndim, shape, spacing, po_, labels, num_objects));
}

static inline int labels_from_3class_p(const float *probs, int ndim, const int64_t *shape,
                                       int connectivity, uint32_t *labels,
                                       uint32_t *num_objects, int threads)
{
    if (num_objects)
        *num_objects = 0;
    POST_CALL(post_opts(threads, connectivity, 0.5, 4, 0, 0, &rc_),
              unet_labels_from_3class(probs, ndim, shape, po_, labels, num_objects));
}

static inline int filter_sizes_p(uint32_t *labels, int ndim, const int64_t *shape,
                                 int64_t min_size, int64_t max_size, uint32_t *num_objects)
{
    if (num_objects)
        *num_objects = 0;
    POST_CALL(post_opts(0, 0, 0.5, 4, min_size, max_size, &rc_),
              unet_filter_sizes(labels, ndim, shape, po_, num_objects));
}

#endif
