/* The channel rule (channels.h): which channels a model reads of an image, and a region
 * source that applies it. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "predict/channels.h"

int unet__channel_rule_resolve(int64_t image_channels, int model_channels, int64_t channel,
                               unet__channel_rule *rule)
{
    const int64_t C = image_channels;
    const int M = model_channels;
    memset(rule, 0, sizeof *rule);
    rule->image_channels = C;
    rule->model_channels = M;
    if (channel < -1)
        return unet__fail(UNET_E_INVALID_ARG, "channel %lld is not a channel index (0 or more, "
                                              "or -1 for the channel rule)", (long long)channel);
    if (channel >= 0) {
        if (M != 1)
            return unet__fail(UNET_E_SHAPE, "channel %lld picks one channel, for a one-channel "
                                            "model; this model takes %d channels",
                              (long long)channel, M);
        if (channel >= C)
            return unet__fail(UNET_E_SHAPE, "channel %lld does not exist: the image has %lld "
                                            "channel%s (0 to %lld)", (long long)channel,
                              (long long)C, C == 1 ? "" : "s", (long long)(C - 1));
        rule->kind = C == 1 ? UNET__CHANNELS_AS_THEY_ARE : UNET__CHANNELS_PICK;
        rule->pick = channel;
        return UNET_OK;
    }
    if (C == M) {
        rule->kind = UNET__CHANNELS_AS_THEY_ARE;
        return UNET_OK;
    }
    if (M == 1 && (C == 3 || C == 4)) {
        rule->kind = UNET__CHANNELS_LUMINANCE;
        return UNET_OK;
    }
    if (M == 3 && C == 4) {
        rule->kind = UNET__CHANNELS_RGB;
        return UNET_OK;
    }
    if (M == 1)
        return unet__fail(UNET_E_SHAPE, "the image has %lld channel%s and the model takes 1: "
                                        "choose one with the channel option (0 to %lld; "
                                        "--channel N in the CLI, channel= in Python); only "
                                        "colour (3 or 4 channels: RGB, RGBA) is converted "
                                        "by itself",
                          (long long)C, C == 1 ? "" : "s", (long long)(C - 1));
    return unet__fail(UNET_E_SHAPE, "the image has %lld channel%s; the model takes %d",
                      (long long)C, C == 1 ? "" : "s", M);
}

int unet__channel_check(int64_t image_channels, int model_channels,
                        const struct unet_predict_opts *opts)
{
    unet__channel_rule rule;
    return unet__channel_rule_resolve(image_channels, model_channels, opts ? opts->channel : -1,
                                      &rule);
}

void unet__channel_rule_apply(const unet__channel_rule *rule, const float *src, int64_t n,
                              float *dst)
{
    switch (rule->kind) {
    case UNET__CHANNELS_AS_THEY_ARE:
        memcpy(dst, src, (size_t)(rule->model_channels * n) * sizeof *dst);
        break;
    case UNET__CHANNELS_PICK:
        memcpy(dst, src + rule->pick * n, (size_t)n * sizeof *dst);
        break;
    case UNET__CHANNELS_RGB: /* the first three of RGBA */
        memcpy(dst, src, (size_t)(3 * n) * sizeof *dst);
        break;
    case UNET__CHANNELS_LUMINANCE: {
        const float *r = src, *g = src + n, *b = src + 2 * n;
        for (int64_t i = 0; i < n; i++)
            dst[i] = r[i] == g[i] && r[i] == b[i]
                         ? r[i]
                         : (float)(0.299 * r[i] + 0.587 * g[i] + 0.114 * b[i]);
        break;
    }
    }
}

int unet__channel_rule_image(const unet__channel_rule *rule, const void *image, int dtype,
                             int64_t planes, int64_t height, int64_t width, float *out)
{
    const int64_t C = rule->image_channels, M = rule->model_channels, H = height, W = width;
    float *row = malloc((size_t)((C + M) * W) * sizeof *row); /* (C, W) in, (M, W) out */
    if (!row)
        return unet__fail(UNET_E_NOMEM, "out of memory converting rows of %lld pixels",
                          (long long)W);
    unet__memory_image im = {image, dtype, C, H, W};
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < H; y++) {
            unet__memory_read(&im, p, y, 0, 1, W, row);
            unet__channel_rule_apply(rule, row, W, row + C * W);
            for (int64_t c = 0; c < M; c++)
                memcpy(out + ((p * M + c) * H + y) * W, row + (C + c) * W,
                       (size_t)W * sizeof *row);
        }
    free(row);
    return UNET_OK;
}

static int read_through_rule(void *user, int64_t plane, int64_t y, int64_t x, int64_t h,
                             int64_t w, float *dst)
{
    unet__channel_source *cs = user;
    const int64_t n = h * w;
    if (!unet__reserve_aligned(&cs->buf, &cs->buf_bytes,
                               (size_t)(cs->inner.channels * n) * sizeof(float)))
        return unet__fail(UNET_E_NOMEM, "out of memory reading %lld x %lld pixels of %lld "
                                        "channels", (long long)h, (long long)w,
                          (long long)cs->inner.channels);
    int rc = cs->inner.read(cs->inner.user, plane, y, x, h, w, cs->buf);
    if (rc != 0)
        return rc;
    unet__channel_rule_apply(&cs->rule, cs->buf, n, dst);
    return 0;
}

int unet__channel_source_init(unet__channel_source *cs, const unet__source *inner,
                              int model_channels, int64_t channel)
{
    memset(cs, 0, sizeof *cs);
    cs->inner = *inner;
    cs->src = *inner;
    int rc = unet__channel_rule_resolve(inner->channels, model_channels, channel, &cs->rule);
    if (rc != UNET_OK || cs->rule.kind == UNET__CHANNELS_AS_THEY_ARE)
        return rc;
    cs->src.channels = model_channels;
    cs->src.read = read_through_rule;
    cs->src.user = cs;
    return UNET_OK;
}

void unet__channel_source_free(unet__channel_source *cs)
{
    unet__free_aligned(cs->buf);
    cs->buf = NULL;
    cs->buf_bytes = 0;
}
