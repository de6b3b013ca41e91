/*
 * The public prediction calls: they describe the model to the tiled engine (predict/) and
 * adapt in-memory images to its region reader and writer.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "model/model.h"
#include "predict/channels.h"
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
    int rule = unet__channel_check(channels, m->cfg.in_channels, opts);
    if (rule != UNET_OK)
        return rule;
    int64_t dims[4] = {planes, m->cfg.out_channels > channels ? m->cfg.out_channels : channels,
                       h, w}, count;
    if (!unet__product(dims, 4, INT64_MAX / 64, &count))
        return unet__fail(UNET_E_NOMEM, "image of %lld x %lld x %lld x %lld is too large",
                          (long long)planes, (long long)channels, (long long)h, (long long)w);
    dims[1] = m->cfg.out_channels;
    unet__product(dims, 4, INT64_MAX, &count);
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
    int rule = unet__channel_check(channels, m->cfg.in_channels, opts);
    if (rule != UNET_OK)
        return rule;
    unet__source src = {planes, channels, height, width, read, read_user};
    unet__sink sink = {write, write_user};
    return unet__predict_with_model(m, opts, &src, &sink);
}
