/*
 * Training data: image/label pairs held in memory, normalised as prediction will normalise
 * them (statistics of the whole image, predict/stats.c), with their targets, weight maps and
 * ground-truth instances precomputed; the train/validation split; patch sampling with
 * augmentation (augment.c).
 */
#ifndef UNET_TRAIN_DATA_H
#define UNET_TRAIN_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"
#include "predict/predict.h"

typedef enum unet__target_kind {
    UNET__TARGET_AUTO,
    UNET__TARGET_FOREGROUND,
    UNET__TARGET_3CLASS,
    UNET__TARGET_CLASSES,
    UNET__TARGET_IMAGE,
    UNET__TARGET_DISTANCE /* foreground and normalised distance to the edge (2 channels) */
} unet__target_kind;

typedef struct unet__tsample {
    char name[256];
    int64_t c, h, w;      /* image channels and size */
    float *image;         /* normalised [c][h][w] */
    int64_t tc;           /* target channels: 1 (class map), 2 (distance) or the image's */
    float *target;        /* [tc][h][w]; class indices for segmentation, or foreground and
                           * distance; NaN: not annotated */
    float *weight;        /* [h][w] loss weights, or NULL */
    int32_t *instances;   /* [h][w] ground-truth instances (segmentation), or NULL */
    int64_t *fg;          /* indices of foreground pixels (for biased patches) */
    int64_t nfg;
    int split;            /* UNET_SPLIT_AUTO / TRAIN / VAL */
} unet__tsample;

typedef struct unet__dataset {
    unet__tsample *s;
    int count, cap;
    bool resolved;        /* task decided by the first pair */
    bool restoration;
    unet__target_kind target;
    bool finalized;       /* split applied */
    char split_kind[16];  /* "region", "file", "explicit", "none" */
} unet__dataset;

void unet__dataset_clear(unet__dataset *d);

/* How a pair becomes a sample. */
typedef struct unet__data_spec {
    unet__norm norm;          /* normalisation of the image */
    int in_channels, out_channels;
    unet__target_kind target; /* resolved */
    bool restoration;
    int64_t ignore_label;     /* -1: none */
    bool border_weights;
    double w0, sigma;
} unet__data_spec;

/* Convert, normalise and derive targets; appends a sample. Labels: int32 [h][w] for
 * segmentation (already converted by the caller), float [tc][h][w] for restoration. */
int unet__dataset_add(unet__dataset *d, const unet__data_spec *spec, const char *name,
                      const float *image, int64_t c, int64_t h, int64_t w,
                      const int32_t *labels, const float *targets, int64_t tc, int split);

/* Assign AUTO samples: with explicit validation samples, all AUTO ones train; else a single
 * sample is split by width (the right val_fraction validates) and several by file (a seeded
 * choice of round(n f), at least 1 when f > 0). */
int unet__dataset_finalize(unet__dataset *d, double val_fraction, uint64_t seed);

/* ---- patches (augment.c) ---- */

typedef struct unet__patch_spec {
    int64_t P, Q;          /* input and output patch size (Q < P for valid padding) */
    int64_t in_c;
    int64_t out_c;         /* network output channels */
    bool class_targets;    /* loss reads class indices (1 channel) */
    bool restoration;
    bool distance;         /* targets: foreground and distance planes, taken as they are */
    double fg_bias;
    bool flip, rot90;
    double elastic, elastic_sigma;
    int elastic_grid;
    double scale, shift, gamma, noise_gauss, noise_poisson;
} unet__patch_spec;

/* One augmented patch of sample s: input [in_c][P][P], target [tc][Q][Q] (tc = 1 for class
 * targets, out_c otherwise: 0/1 for one channel, one-hot for several; the sample's planes
 * for distance targets; values for restoration; NaN where not annotated) and weight [Q][Q].
 * Deterministic in rng. */
void unet__sample_patch(const unet__tsample *s, const unet__patch_spec *ps, unet__rng *rng,
                        float *input, float *target, float *weight);

#endif
