/*
 * Losses: value and gradient with respect to the network output they read.
 *
 * Classification losses (bce, ce, dice, bce+dice) read the logits: the output before the
 * model's final sigmoid or softmax (or the raw output when there is none), which keeps them
 * numerically stable; regression losses (mse, l1) read the final output. The caller picks
 * the node accordingly (unet__loss_reads_logits).
 *
 * Shapes: z and the gradient are [n][c][hw]. Targets are [n][c][hw] floats (0/1 for bce and
 * dice with a sigmoid, values for mse/l1), except for ce and for dice with a softmax, where
 * they are [n][hw] class indices stored as floats. `weight` [n][hw] multiplies each pixel's
 * loss (NULL: 1); `valid` [n][hw] excludes pixels with 0 (sparse annotation, ignore label;
 * NULL: all valid). Reductions:
 *   mse, l1, bce: sum over valid elements of w * l / (valid pixels x c)   (PyTorch's mean)
 *   ce: sum over valid pixels of w * cw[t] * nll / sum of cw[t]   (PyTorch's weighted mean)
 *   dice: per channel 1 - (2 sum p t + s) / (sum p + sum t + s) over the valid pixels of the
 *         whole batch, averaged over channels (s = smooth, default 1); weights unused.
 *   bce+dice: their sum.
 */
#ifndef UNET_TRAIN_LOSS_H
#define UNET_TRAIN_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include "graph/config.h"

typedef enum unet__loss_kind {
    UNET__LOSS_MSE,
    UNET__LOSS_L1,
    UNET__LOSS_BCE,
    UNET__LOSS_CE,
    UNET__LOSS_DICE,
    UNET__LOSS_BCE_DICE
} unet__loss_kind;

#define UNET__MAX_CLASSES 64

typedef struct unet__loss {
    unet__loss_kind kind;
    unet__final final_act;  /* of the model: sigmoid/softmax decide dice's probabilities */
    double pos_weight;      /* bce: weight of positive targets (1: none) */
    int nclass_weights;     /* ce: 0, or one weight per channel */
    double class_weights[UNET__MAX_CLASSES];
    double smooth;          /* dice */
} unet__loss;

/* "mse", "l1", "bce", "ce", "dice", "bce+dice" -> kind; -1 if unknown. */
int unet__loss_parse(const char *name);
const char *unet__loss_name(unet__loss_kind kind);
bool unet__loss_reads_logits(unet__loss_kind kind);
/* Targets are class indices (ce, softmax dice) rather than per-channel values. */
bool unet__loss_class_targets(const unet__loss *l);
/* Check the loss against a model's output channels and final activation (message names
 * both). */
int unet__loss_check(const unet__loss *l, int out_channels);

/* Loss value into *value and its gradient into dz (may be NULL); 0 valid pixels give 0. */
int unet__loss_eval(const unet__loss *l, const float *z, int64_t n, int64_t c, int64_t hw,
                    const float *target, const float *weight, const uint8_t *valid,
                    double *value, float *dz);

#endif
