/* The sizes a segmentation may take, checked before anything is allocated (see segment.h). */
#include "core/status.h"
#include "predict/predict.h"
#include "segment/segment.h"

int unet__segment_check_size(const struct unet_predict_opts *po, int64_t channels,
                             int64_t out_channels, int64_t height, int64_t width, int64_t sh,
                             int64_t sw)
{
    int rc = unet__predict_check_image(1, channels, out_channels, height, width);
    if (rc == UNET_OK && (sh != height || sw != width)) {
        rc = unet__predict_check_image(1, channels, out_channels, sh, sw);
        if (rc != UNET_OK)
            return unet__fail_context(rc, "resized for the model");
    }
    if (rc == UNET_OK && po)
        rc = unet__predict_check_pixels(po, 1, height, width);
    return rc;
}
