/* unet_predict_stats's work (predict.h): the whole-plane normalisation statistics the tiled
 * predictor would use, of what the model reads (the image after the channel rule). */
#include <stdlib.h>

#include "core/status.h"
#include "model/model.h"
#include "predict/channels.h"
#include "predict/predict.h"

int unet__predict_stats(const unet_model_t *m, const struct unet_predict_opts *opts,
                        const unet__source *image, double *mean, double *std, size_t count)
{
    const int64_t planes = image->planes, channels = m->cfg.in_channels;
    unet__channel_source cs;
    int rc = unet__channel_source_init(&cs, image, m->cfg.in_channels, opts->channel);
    if (rc != UNET_OK)
        return rc;
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
