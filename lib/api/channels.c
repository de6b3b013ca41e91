/* unet_channel_rule: the channel rule every entry point applies (predict/channels.h), for
 * hosts that prepare images themselves (training data, previews). */
#include "api/check.h"
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
    int64_t d[4];
    int rc = unet__check_image("image", dtype, ndim, shape, 4, d);
    if (rc != UNET_OK)
        return rc;
    int64_t planes = d[0], channels = d[1], h = d[2], w = d[3];
    int64_t dims[4] = {planes, channels > model_channels ? channels : model_channels, h, w};
    int64_t count;
    if (!unet__product(dims, 4, INT64_MAX / 8, &count))
        return unet__fail(UNET_E_NOMEM, "image of %lld x %lld x %lld x %lld is too large",
                          (long long)planes, (long long)channels, (long long)h, (long long)w);
    dims[1] = model_channels;
    if ((rc = unet__check_count("output", output_count, dims, 4)) != UNET_OK)
        return rc;
    unet__channel_rule rule;
    rc = unet__channel_rule_resolve(channels, model_channels, channel, &rule);
    if (rc == UNET_OK)
        rc = unet__channel_rule_image(&rule, image, dtype, planes, h, w, output);
    return rc;
}
