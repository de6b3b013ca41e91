/*
 * Training options: one table of keys with types, bounds and defaults, so the key/value
 * setter, the JSON setter, the JSON dump (stored as provenance) and the documentation cannot
 * drift apart.
 */
#ifndef UNET_TRAIN_TRAIN_OPTS_H
#define UNET_TRAIN_TRAIN_OPTS_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/opts_table.h"
#include "unet.h"

#define UNET__OPT_STR 64
#define UNET__OPT_PATH 1024

struct unet_train_opts {
    /* schedule of the run */
    int64_t steps;          /* total optimizer steps (0: from epochs, else 1000) */
    double epochs;          /* passes over the training pixels (0: unused) */
    int batch;
    int patch;              /* input patch size (square) */
    int threads;            /* 0: all available */
    int64_t seed;
    /* loss and targets */
    char loss[UNET__OPT_STR];   /* auto, mse, l1, bce, ce, dice, bce+dice */
    char target[UNET__OPT_STR]; /* auto, foreground, 3class, classes, image */
    double pos_weight;
    char class_weights[UNET__OPT_PATH]; /* "" or comma-separated */
    int64_t ignore_label;       /* label value of unannotated pixels (-1: none) */
    bool border_weights;        /* U-Net paper weight map */
    double w0, sigma;
    /* optimizer */
    char optimizer[UNET__OPT_STR];
    double lr, momentum, beta1, beta2, eps, weight_decay, clip_norm;
    bool nesterov;
    char schedule[UNET__OPT_STR];
    int64_t warmup;
    double min_lr, plateau_factor, plateau_threshold;
    int plateau_patience, plateau_cooldown;
    /* data */
    double val_fraction;
    char normalize[UNET__OPT_STR]; /* percentile, zmuv, none */
    double norm_low, norm_high;
    double fg_bias;
    bool aug_flip, aug_rot90;
    double aug_elastic;            /* probability */
    double elastic_sigma;
    int elastic_grid;
    double aug_scale, aug_shift, aug_gamma; /* ranges; 0 off */
    double noise_gauss;            /* max Gaussian sigma (normalised units) */
    double noise_poisson;          /* photons at the patch's 99th percentile; 0 off */
    /* validation, checkpoints */
    int64_t val_every;             /* 0: 10 validations over the run */
    char metric[UNET__OPT_STR];    /* auto, iou, dice, f1, psnr, ssim, loss */
    double threshold;
    bool freeze_encoder;
    bool precise;                  /* direct 3x3 convolutions, not Winograd */
    char checkpoint_dir[UNET__OPT_PATH];
    char log[UNET__OPT_PATH];      /* CSV file */
    /* not options of the table */
    unet_train_progress_fn progress;
    void *progress_user;
    char *json, *describe;         /* cached strings returned to the caller */
};

/* The key table behind unet_train_opts_set/_set_json/_json/_describe (api/train_opts.c). */
extern const unet__opts_table unet__train_opts_table;

void unet__train_opts_defaults(struct unet_train_opts *o);
/* Every key with its value (new reference). */
json_t *unet__train_opts_to_json(const struct unet_train_opts *o);
/* Parse class_weights into w (max n); returns the count or a negative status. */
int unet__train_opts_class_weights(const struct unet_train_opts *o, double *w, int n);

#endif
