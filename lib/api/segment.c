/* The public segmentation calls and the segment options object: argument checks, then the
 * pipeline of segment/ (segment/pipeline.h). */
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
    for (int i = 0; i < 3; i++)
        if (dims[i] < 1 || dims[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "image dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)dims[i]);
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
    if (dtype < UNET_U8 || dtype > UNET_F64)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    if (ndim != 2 && ndim != 3)
        return unet__fail(UNET_E_SHAPE, "input has %d dimensions; expected (H,W) or (C,H,W)",
                          ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "input dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    int64_t C = ndim == 3 ? shape[0] : 1, H = shape[ndim - 2], W = shape[ndim - 1];
    if ((uint64_t)H * (uint64_t)W != (uint64_t)label_count)
        return unet__fail(UNET_E_SHAPE, "labels buffer has %zu elements; %lld x %lld needs %lld",
                          label_count, (long long)H, (long long)W, (long long)(H * W));
    return unet__segment_memory(m, o, input, dtype, C, H, W, labels, num_objects);
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
    if (ndim != 2 && ndim != 3)
        return unet__fail(UNET_E_SHAPE, "probabilities have %d dimensions; expected (H,W) or "
                                        "(C,H,W)", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "probability dimension %d has size %lld (must be 1 "
                                            "to 2^31)", i, (long long)shape[i]);
    int64_t C = ndim == 3 ? shape[0] : 1, H = shape[ndim - 2], W = shape[ndim - 1];
    if (C != m->cfg.out_channels)
        return unet__fail(UNET_E_SHAPE, "probabilities have %lld channel%s; the model outputs %d",
                          (long long)C, C == 1 ? "" : "s", m->cfg.out_channels);
    if ((uint64_t)H * (uint64_t)W != (uint64_t)label_count)
        return unet__fail(UNET_E_SHAPE, "labels buffer has %zu elements; %lld x %lld needs %lld",
                          label_count, (long long)H, (long long)W, (long long)(H * W));
    return unet__segment_probabilities(m, o, probs, H, W, labels, foreground, num_objects);
}
