/* unet_channel_rule: the channel rule every entry point applies (predict/channels.h), for
 * hosts that prepare images themselves (training data, previews). */
#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "predict/channels.h"

UNET_API int unet_channel_rule(int model_channels, int64_t channel, const void *image,
                               unet_dtype_t dtype, int ndim, const int64_t *shape,
                               float *output, size_t output_count)
{
    unet__clear_error();
    if (!image || !shape || !output)
        return unet__fail(UNET_E_INVALID_ARG, "unet_channel_rule: image, shape or output is "
                                              "NULL");
    if (model_channels < 1 || model_channels > 65535)
        return unet__fail(UNET_E_INVALID_ARG, "model_channels %d is out of range [1, 65535]",
                          model_channels);
    int rc = unet__dtype_check(dtype);
    if (rc != UNET_OK)
        return rc;
    if (ndim < 2 || ndim > 4)
        return unet__fail(UNET_E_SHAPE, "image has %d dimensions; expected (H,W), (C,H,W) or "
                                        "(P,C,H,W)", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "image dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    int64_t planes = ndim == 4 ? shape[0] : 1, channels = ndim >= 3 ? shape[ndim - 3] : 1;
    int64_t h = shape[ndim - 2], w = shape[ndim - 1];
    int64_t dims[4] = {planes, channels > model_channels ? channels : model_channels, h, w};
    int64_t count;
    if (!unet__product(dims, 4, INT64_MAX / 8, &count))
        return unet__fail(UNET_E_NOMEM, "image of %lld x %lld x %lld x %lld is too large",
                          (long long)planes, (long long)channels, (long long)h, (long long)w);
    dims[1] = model_channels;
    unet__product(dims, 4, INT64_MAX, &count);
    if ((uint64_t)output_count != (uint64_t)count)
        return unet__fail(UNET_E_SHAPE, "output has %zu elements; %lld x %d x %lld x %lld "
                                        "needs %lld",
                          output_count, (long long)planes, model_channels, (long long)h,
                          (long long)w, (long long)count);
    unet__channel_rule rule;
    rc = unet__channel_rule_resolve(channels, model_channels, channel, &rule);
    if (rc == UNET_OK)
        rc = unet__channel_rule_image(&rule, image, dtype, planes, h, w, output);
    return rc;
}
