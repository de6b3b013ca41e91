/*
 * unet_predict_stats: the whole-plane normalisation statistics of the tiled predictor, handed
 * to hosts that cut an image into pieces themselves, as the "fixed" parameters that make every
 * piece normalise exactly as the whole plane does: argument checks, then predict/model_stats.c.
 */
#include "api/check.h"
#include "model/model.h"
#include "core/status.h"
#include "predict/predict.h"

UNET_API int unet_predict_stats(const unet_model_t *m, const unet_predict_opts_t *opts,
                                int64_t planes, int64_t channels, int64_t height,
                                int64_t width, unet_read_fn read, void *read_user,
                                double *mean, double *std, size_t count)
{
    unet__clear_error();
    if (!m || !read || !mean || !std)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_stats: model, read, mean or std "
                                              "is NULL");
    int64_t dims[4] = {planes, channels, height, width};
    int rc = unet__check_sizes("image", 4, dims);
    if (rc != UNET_OK)
        return rc;
    struct unet_predict_opts defaults;
    if (!opts) {
        unet__predict_opts_defaults(&defaults);
        opts = &defaults;
    }
    rc = unet__predict_opts_check(opts);
    if (rc == UNET_OK) /* the sizes the engine would accept, and max_pixels */
        rc = unet__predict_check_image(planes, channels, m->cfg.out_channels, height, width);
    if (rc == UNET_OK)
        rc = unet__predict_check_pixels(opts, planes, height, width);
    if (rc != UNET_OK)
        return rc;
    unet__source image = {planes, channels, height, width, read, read_user};
    return unet__predict_stats(m, opts, &image, mean, std, count);
}
