/*
 * Which scale segmentation (and click-to-segment) resizes the image by, and why. In order:
 * an explicit scale option; an explicit diameter option (the model's training diameter /
 * the objects' diameter); the image's pixel size against the model's pixel_size when both are
 * known; the automatic estimate (autoscale.h) when the model records its training diameter
 * (output metadata "diameter"); else 1.
 */
#ifndef UNET_SEGMENT_SCALE_H
#define UNET_SEGMENT_SCALE_H

#include <stdbool.h>
#include <stddef.h>

#include "segment/autoscale.h"

/* The `diameter` option of segment and click options (the double field `diameter` of options
 * type T), one entry so both have the same range and words. */
#define UNET__SCALE_DIAMETER_OPT(T)                                                            \
    {UNET__OPT_AT(T, diameter), .type = UNET__OPT_DOUBLE, .def = 0, .min = 1, .max = 1e5,     \
     .special = {{"auto", 0, true}},                                                           \
     .help = "typical object diameter in image pixels: the scale becomes the model's "         \
             "training diameter / this (0 / auto: unknown; an explicit scale wins)"}

typedef enum unet__scale_from {
    UNET__SCALE_FROM_OPTION = 1, /* the scale option */
    UNET__SCALE_FROM_DIAMETER,   /* the diameter option */
    UNET__SCALE_FROM_PIXEL_SIZE, /* pixel sizes */
    UNET__SCALE_FROM_ESTIMATE,   /* estimated from the image */
    UNET__SCALE_FROM_DEFAULT     /* nothing to go by: 1 */
} unet__scale_from;

typedef struct unet__scale_choice {
    double scale;          /* the resize factor in force */
    unet__scale_from from;
    bool pending;          /* FROM_ESTIMATE not yet measured: unet__scale_estimate fills it */
    double diameter;       /* the objects' diameter in image pixels (given or estimated); 0:
                            * unknown (or no object found) */
    double model_diameter; /* the model's training diameter; 0 when it records none */
} unet__scale_choice;

/* The rules above without the image; `who` names the caller's options in messages ("segment",
 * "click"). A diameter option with a model that records no diameter, or a scale out of
 * [0.05, 20], is UNET_E_INVALID_ARG. */
int unet__scale_rules(const struct unet_model *m, const char *who, double scale,
                      double diameter, double pixel_size, unet__scale_choice *c);
/* Measure a pending choice on the image (no-op otherwise): scale 1 when no object is found. */
int unet__scale_estimate(const unet__autoscale_job *job, unet__scale_choice *c);
/* The choice as one line of JSON for a TIFF ImageDescription: {"libunet":{"scale":0.3125,
 * "diameter":54.4}} (the diameter when known); UNET_E_INTERNAL when buf is too small. */
int unet__scale_describe(const unet__scale_choice *c, char *buf, size_t size);

#endif
