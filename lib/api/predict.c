/*
 * The public prediction calls: they describe the model to the tiled engine (predict/) and
 * adapt in-memory images to its region reader and writer.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "model/model.h"
#include "predict/predict.h"

/* ---- entry points ---- */

UNET_API int unet_predict(const unet_model_t *m, const unet_predict_opts_t *opts,
                          const void *input, unet_dtype_t dtype, int ndim,
                          const int64_t *shape, float *output, size_t output_count)
{
    unet__clear_error();
    if (!m)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict: model is NULL");
    if (!input || !shape || !output)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict: input, shape or output is NULL");
    if (dtype < UNET_U8 || dtype > UNET_F64)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    if (ndim < 2 || ndim > 4)
        return unet__fail(UNET_E_SHAPE, "input has %d dimensions; expected (H,W), (C,H,W) or "
                                        "(P,C,H,W)", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "input dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    int64_t planes = ndim == 4 ? shape[0] : 1, channels = ndim >= 3 ? shape[ndim - 3] : 1;
    int64_t h = shape[ndim - 2], w = shape[ndim - 1];
    if (channels != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "input has %lld channel%s; the model takes %d",
                          (long long)channels, channels == 1 ? "" : "s", m->cfg.in_channels);
    int rc = unet__predict_check_image(planes, channels, m->cfg.out_channels, h, w);
    if (rc != UNET_OK)
        return rc;
    int64_t dims[4] = {planes, m->cfg.out_channels, h, w}, count;
    unet__product(dims, 4, INT64_MAX, &count); /* in range: checked above */
    if ((int64_t)output_count != count)
        return unet__fail(UNET_E_SHAPE, "output buffer has %zu elements; %lld x %d x %lld x "
                                        "%lld needs %lld",
                          output_count, (long long)planes, m->cfg.out_channels, (long long)h,
                          (long long)w, (long long)count);
    return unet__predict_memory(m, opts, input, dtype, planes, channels, h, w, output);
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
    for (int i = 0; i < 4; i++)
        if (dims[i] < 1 || dims[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "image dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)dims[i]);
    if (channels != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "image has %lld channel%s; the model takes %d",
                          (long long)channels, channels == 1 ? "" : "s", m->cfg.in_channels);
    /* unet_predict's total-size check: a declared 2^31 x 2^31 stream is refused here, not
     * wrapped in the engine's products. */
    int rc = unet__predict_check_image(planes, channels, m->cfg.out_channels, height, width);
    if (rc != UNET_OK)
        return rc;
    unet__source src = {planes, channels, height, width, read, read_user};
    unet__sink sink = {write, write_user};
    return unet__predict_with_model(m, opts, &src, &sink);
}
