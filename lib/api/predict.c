/*
 * The public prediction calls on images in memory and streams: argument checks, then the
 * tiled engine (predict/).
 */
#include "api/check.h"
#include "core/status.h"
#include "model/model.h"
#include "predict/channels.h"
#include "predict/predict.h"
#include "predict/tiff_source.h"

/* The checks of an in-memory input (H,W), (C,H,W) or (P,C,H,W): its sizes in dims (P, C, H,
 * W). `what` names the call in messages. */
static int check_image(const unet_model_t *m, const unet_predict_opts_t *opts, const char *what,
                       const void *input, unet_dtype_t dtype, int ndim, const int64_t *shape,
                       int64_t dims[4])
{
    dims[0] = dims[1] = dims[2] = dims[3] = 0; /* set on every path (-O3 flags the callers) */
    if (!m || !input || !shape)
        return unet__fail(UNET_E_INVALID_ARG, "%s: model, input or shape is NULL", what);
    int rc = unet__check_image("input", dtype, ndim, shape, 4, dims);
    if (rc == UNET_OK)
        rc = unet__channel_check(dims[1], m->cfg.in_channels, opts);
    if (rc == UNET_OK)
        rc = unet__predict_check_image(dims[0], dims[1], m->cfg.out_channels, dims[2], dims[3]);
    return rc;
}

UNET_API int unet_predict(const unet_model_t *m, const unet_predict_opts_t *opts,
                          const void *input, unet_dtype_t dtype, int ndim,
                          const int64_t *shape, float *output, size_t output_count)
{
    unet__clear_error();
    if (!output)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict: output is NULL");
    int64_t d[4];
    int rc = check_image(m, opts, "unet_predict", input, dtype, ndim, shape, d);
    if (rc != UNET_OK)
        return rc;
    int64_t out_dims[4] = {d[0], m->cfg.out_channels, d[2], d[3]}; /* in range: checked */
    if ((rc = unet__check_count("output buffer", output_count, out_dims, 4)) != UNET_OK)
        return rc;
    return unet__predict_memory(m, opts, input, dtype, d[0], d[1], d[2], d[3], output);
}

UNET_API int unet_predict_to_tiff(const unet_model_t *m, const unet_predict_opts_t *opts,
                                  const void *input, unet_dtype_t dtype, int ndim,
                                  const int64_t *shape, const char *output_path,
                                  unet_dtype_t output_dtype, unsigned flags)
{
    unet__clear_error();
    if (!output_path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_to_tiff: output_path is NULL");
    int64_t d[4];
    int rc = check_image(m, opts, "unet_predict_to_tiff", input, dtype, ndim, shape, d);
    if (rc == UNET_OK)
        rc = unet__check_tiff_output(output_dtype, flags);
    if (rc != UNET_OK)
        return rc;
    return unet__predict_memory_tiff(m, opts, input, dtype, d, output_path, output_dtype,
                                     flags);
}

UNET_API int unet_predict_stream(const unet_model_t *m, const unet_predict_opts_t *opts,
                                 int64_t planes, int64_t channels, int64_t height,
                                 int64_t width, unet_read_fn read, void *read_user,
                                 unet_write_fn write, void *write_user)
{
    unet__clear_error();
    if (!m)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_stream: model is NULL");
    if (!read || !write)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_stream: read or write callback is "
                                              "NULL");
    int64_t dims[4] = {planes, channels, height, width};
    int rc = unet__check_sizes("image", 4, dims);
    if (rc == UNET_OK)
        rc = unet__channel_check(channels, m->cfg.in_channels, opts);
    /* unet_predict's total-size check: a declared 2^31 x 2^31 stream is refused here, not
     * wrapped in the engine's products. */
    if (rc == UNET_OK)
        rc = unet__predict_check_image(planes, channels, m->cfg.out_channels, height, width);
    if (rc != UNET_OK)
        return rc;
    unet__source src = {planes, channels, height, width, read, read_user};
    unet__sink sink = {write, write_user};
    return unet__predict_with_model(m, opts, &src, &sink);
}
