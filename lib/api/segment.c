/* The public segmentation calls and the segment options object: argument checks, then the
 * pipeline of segment/ (segment/pipeline.h). */
#include <stdlib.h>

#include "core/status.h"
#include "segment/pipeline.h"

typedef struct unet_segment_opts S;

UNET_API int unet_segment_opts_create(unet_segment_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_create: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating segment options");
    unet__segment_opts_defaults(*out);
    return UNET_OK;
}

UNET_API void unet_segment_opts_free(unet_segment_opts_t *opts)
{
    if (!opts)
        return;
    free(opts->json);
    free(opts->describe);
    free(opts);
}

#define CHECK_OPTS(o)                                                                          \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(o))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "segment options are NULL");                 \
    } while (0)

UNET_API int unet_segment_opts_set(unet_segment_opts_t *o, const char *key, const char *value)
{
    CHECK_OPTS(o);
    if (!key || !value)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_set: key or value is NULL");
    return unet__opts_set_text(&unet__segment_opts_table, o, key, value);
}

UNET_API int unet_segment_opts_set_json(unet_segment_opts_t *o, const char *json_object)
{
    CHECK_OPTS(o);
    if (!json_object)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_set_json: json is NULL");
    return unet__opts_set_json(&unet__segment_opts_table, o, json_object);
}

UNET_API int unet_segment_opts_json(const unet_segment_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_json: opts or json is NULL");
    return unet__opts_json(&unet__segment_opts_table, o, &((S *)o)->json, json);
}

UNET_API int unet_segment_opts_describe(const unet_segment_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_describe: opts or json is "
                                              "NULL");
    return unet__opts_describe(&unet__segment_opts_table, &((S *)o)->describe, json);
}

UNET_API int unet_segment_opts_set_predict_opts(unet_segment_opts_t *o,
                                                const unet_predict_opts_t *predict_opts)
{
    CHECK_OPTS(o);
    if (!predict_opts)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_set_predict_opts: predict "
                                              "options are NULL");
    unet__opts_copy(unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, &o->predict,
                    predict_opts);
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_threads(unet_segment_opts_t *o, int num_threads)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__segment_opts_table, o, "threads", num_threads);
}

UNET_API int unet_segment_opts_set_tile(unet_segment_opts_t *o, int64_t tile)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__segment_opts_table, o, "tile", tile);
}

UNET_API int unet_segment_opts_set_threshold(unet_segment_opts_t *o, double threshold)
{
    CHECK_OPTS(o);
    return unet__opts_set_double(&unet__segment_opts_table, o, "threshold", threshold);
}

UNET_API int unet_segment_opts_set_min_distance(unet_segment_opts_t *o, int min_distance)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__segment_opts_table, o, "min_distance", min_distance);
}

UNET_API int unet_segment_opts_set_split(unet_segment_opts_t *o, int split)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__segment_opts_table, o, "split", split != 0);
}

UNET_API int unet_segment_opts_set_min_size(unet_segment_opts_t *o, int64_t min_size)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&unet__segment_opts_table, o, "min_size", min_size);
}

UNET_API int unet_segment_opts_set_scale(unet_segment_opts_t *o, double scale)
{
    CHECK_OPTS(o);
    return unet__opts_set_double(&unet__segment_opts_table, o, "scale", scale);
}

UNET_API int unet_segment_opts_set_pixel_size(unet_segment_opts_t *o, double pixel_size)
{
    CHECK_OPTS(o);
    return unet__opts_set_double(&unet__segment_opts_table, o, "pixel_size", pixel_size);
}

UNET_API int unet_segment_opts_set_progress(unet_segment_opts_t *o, unet_progress_fn fn,
                                            void *user)
{
    CHECK_OPTS(o);
    o->progress = fn;
    o->progress_user = user;
    return UNET_OK;
}

UNET_API int unet_segment_opts_cancel(unet_segment_opts_t *o)
{
    /* No error-message bookkeeping here: this may run on any thread at any time. */
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 1);
    return UNET_OK;
}

UNET_API int unet_segment_opts_reset_cancel(unet_segment_opts_t *o)
{
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 0);
    return UNET_OK;
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
