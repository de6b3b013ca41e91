/*
 * The one channel rule of every entry point (DESIGN, "Hosts"): how an image of C channels
 * becomes the M channels a model reads, before normalisation.
 *
 *   channel k >= 0          channel k alone (a one-channel model only)
 *   C == M                  the channels as they are
 *   M == 1, C == 3 or 4     per pixel: R when R, G and B are equal, else the luminance
 *                           0.299 R + 0.587 G + 0.114 B (in double, rounded to float); alpha
 *                           ignored
 *   M == 3, C == 4          R, G, B (alpha ignored)
 *   anything else           UNET_E_SHAPE; a one-channel model asks for an explicit channel
 *
 * Per pixel, the luminance of equal R, G, B is that value, so deciding pixel by pixel gives
 * what a whole-image "are the channels equal?" test would, and a streamed image needs no
 * first pass.
 */
#ifndef UNET_PREDICT_CHANNELS_H
#define UNET_PREDICT_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

#include "predict/predict.h"

typedef enum unet__channel_kind {
    UNET__CHANNELS_AS_THEY_ARE,
    UNET__CHANNELS_PICK,      /* one channel */
    UNET__CHANNELS_LUMINANCE, /* RGB(A) -> 1 */
    UNET__CHANNELS_RGB        /* RGBA -> RGB */
} unet__channel_kind;

typedef struct unet__channel_rule {
    int64_t image_channels;
    int model_channels;
    unet__channel_kind kind;
    int64_t pick; /* UNET__CHANNELS_PICK */
} unet__channel_rule;

/* The rule for an image of `image_channels` channels and a model of `model_channels`, with
 * `channel` the option's value (-1: automatic). UNET_E_SHAPE / UNET_E_INVALID_ARG with a
 * message when no rule applies. */
int unet__channel_rule_resolve(int64_t image_channels, int model_channels, int64_t channel,
                               unet__channel_rule *rule);

/* The same check for options (NULL: defaults), for entry points that refuse early. */
int unet__channel_check(int64_t image_channels, int model_channels,
                        const struct unet_predict_opts *opts);

/* Apply the rule to n pixels: src is (image_channels, n), dst (model_channels, n). */
void unet__channel_rule_apply(const unet__channel_rule *rule, const float *src, int64_t n,
                              float *dst);

/* An image in memory, (planes, image_channels, height, width) of `dtype`, through the rule
 * into `out`, float32 (planes, model_channels, height, width). UNET_E_NOMEM for its row
 * buffer. */
int unet__channel_rule_image(const unet__channel_rule *rule, const void *image, int dtype,
                             int64_t planes, int64_t height, int64_t width, float *out);

/* A region source read through the rule. After init, `src` is what the engine reads (the
 * inner source itself when the rule keeps the channels as they are); the struct must not move
 * while `src` is in use. */
typedef struct unet__channel_source {
    unet__source src;
    unet__source inner;
    unet__channel_rule rule;
    void *buf; /* one region of the inner source */
    size_t buf_bytes;
} unet__channel_source;

int unet__channel_source_init(unet__channel_source *cs, const unet__source *inner,
                              int model_channels, int64_t channel);
void unet__channel_source_free(unet__channel_source *cs);

#endif
