/*
 * unet_predict_stats: the whole-plane normalisation statistics of the tiled predictor, handed
 * to hosts that cut an image into pieces themselves, as the "fixed" parameters that make every
 * piece normalise exactly as the whole plane does.
 */
#include "api/check.h"
#include "model/model.h"
#include "core/status.h"
#include "predict/channels.h"
#include "predict/predict.h"

#include <stdlib.h>

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
    /* Statistics of what the model reads: the channels after the channel rule. */
    unet__channel_source cs;
    unet__source image = {planes, channels, height, width, read, read_user};
    if (rc == UNET_OK)
        rc = unet__channel_source_init(&cs, &image, m->cfg.in_channels, opts->channel);
    if (rc != UNET_OK)
        return rc;
    channels = m->cfg.in_channels;
    if ((uint64_t)count != (uint64_t)(planes * channels)) {
        unet__channel_source_free(&cs);
        return unet__fail(UNET_E_SHAPE, "mean and std have %zu elements; %lld planes x %lld "
                                        "channels (the model's) need %lld",
                          count, (long long)planes, (long long)channels,
                          (long long)(planes * channels));
    }
    unet__norm norm = unet__predict_norm(m, opts);
    const unet__source src = cs.src;
    unet__progress prog = {opts, -1.0, 0.0};
    unet__norm_stats *stats = calloc((size_t)channels, sizeof *stats);
    if (!stats)
        rc = unet__fail(UNET_E_NOMEM, "out of memory for statistics of %lld channel%s",
                        (long long)channels, UNET__PLURAL(channels));
    for (int64_t p = 0; p < planes && rc == UNET_OK; p++) {
        rc = unet__plane_stats(&src, p, &norm, stats, &prog, (double)p / (double)planes,
                               (double)(p + 1) / (double)planes);
        for (int64_t c = 0; c < channels && rc == UNET_OK; c++) {
            mean[p * channels + c] = stats[c].shift;
            std[p * channels + c] = stats[c].denominator;
        }
    }
    free(stats);
    unet__channel_source_free(&cs);
    if (rc == UNET_OK)
        rc = unet__progress_report(&prog, 1.0, "done", true);
    if (rc != UNET_OK)
        for (size_t i = 0; i < count; i++)
            mean[i] = std[i] = 0;
    return rc;
}
