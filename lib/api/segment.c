/* The public segmentation calls and the segment options object: argument checks, then the
 * pipeline of segment/ (segment/pipeline.h). */
#include "api/check.h"
#include "api/opts_api.h"
#include "core/status.h"
#include "segment/pipeline.h"

static const unet__opts_table *const table = &unet__segment_opts_table;

UNET__OPTS_API(unet_segment_opts, table)
UNET__OPTS_SETTER(unet_segment_opts, table, threads, int, i64)
UNET__OPTS_SETTER(unet_segment_opts, table, tile, int64_t, i64)
UNET__OPTS_SETTER(unet_segment_opts, table, threshold, double, double)
UNET__OPTS_SETTER(unet_segment_opts, table, min_distance, int, i64)
UNET__OPTS_SETTER(unet_segment_opts, table, split, int, bool)
UNET__OPTS_SETTER(unet_segment_opts, table, min_size, int64_t, i64)
UNET__OPTS_SETTER(unet_segment_opts, table, scale, double, double)
UNET__OPTS_SETTER(unet_segment_opts, table, pixel_size, double, double)
UNET__OPTS_SETTER(unet_segment_opts, table, max_pixels, int64_t, i64)
UNET__OPTS_PROGRESS(unet_segment_opts, table, unet_progress_fn)
UNET__OPTS_CANCEL(unet_segment_opts)

UNET_API int unet_segment_opts_set_predict_opts(unet_segment_opts_t *o,
                                                const unet_predict_opts_t *predict_opts)
{
    return unet__opts_api_set_section(table, o, 0, predict_opts);
}

/* ---- segmentation ---- */

UNET_API int unet_segment_stream(const unet_model_t *m, const unet_segment_opts_t *o,
                                 int64_t channels, int64_t height, int64_t width,
                                 unet_read_fn read, void *read_user, unet_label_write_fn write,
                                 void *write_user, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !read || !write)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_stream: model, read or write is "
                                              "NULL");
    int64_t dims[3] = {channels, height, width};
    int rc = unet__check_sizes("image", 3, dims);
    if (rc != UNET_OK)
        return rc;
    return unet__segment_run(m, o, NULL, channels, height, width, read, read_user, write,
                             write_user, num_objects, NULL);
}

UNET_API int unet_segment(const unet_model_t *m, const unet_segment_opts_t *o,
                          const void *input, unet_dtype_t dtype, int ndim,
                          const int64_t *shape, uint32_t *labels, size_t label_count,
                          uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !input || !shape || !labels)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment: model, input, shape or labels is "
                                              "NULL");
    int64_t d[4];
    int rc = unet__check_image("input", dtype, ndim, shape, 3, d);
    if (rc == UNET_OK)
        rc = unet__check_count("labels buffer", label_count, d + 2, 2);
    if (rc != UNET_OK)
        return rc;
    return unet__segment_memory(m, o, input, dtype, d[1], d[2], d[3], labels, num_objects);
}

UNET_API int unet_segment_probabilities(const unet_model_t *m, const unet_segment_opts_t *o,
                                        const float *probs, int ndim, const int64_t *shape,
                                        uint32_t *labels, size_t label_count,
                                        uint8_t *foreground, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !probs || !shape || !labels)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_probabilities: model, probs, shape "
                                              "or labels is NULL");
    int rc = unet__check_ndim("probabilities", "have", ndim, 3);
    if (rc == UNET_OK)
        rc = unet__check_sizes("probability", ndim, shape);
    if (rc != UNET_OK)
        return rc;
    int64_t C = ndim == 3 ? shape[0] : 1, H = shape[ndim - 2], W = shape[ndim - 1];
    if (C != m->cfg.out_channels)
        return unet__fail(UNET_E_SHAPE, "probabilities have %lld channel%s; the model outputs %d",
                          (long long)C, C == 1 ? "" : "s", m->cfg.out_channels);
    if ((rc = unet__check_count("labels buffer", label_count, shape + ndim - 2, 2)) != UNET_OK)
        return rc;
    return unet__segment_probabilities(m, o, probs, H, W, labels, foreground, num_objects);
}
