/*
 * Learning-rate schedules. lr(t) for step t = 0, 1, ... (the step about to be taken):
 *   warm-up (any schedule): t < W gives lr * (t + 1) / W;
 *   constant: lr;
 *   cosine: min + (lr - min) (1 + cos(pi (t - W) / (T - W))) / 2 (PyTorch's
 *           CosineAnnealingLR with T_max = T - W after the warm-up);
 *   plateau: lr * scale, where scale drops by `factor` when the observed value (validation
 *           loss) has not improved for more than `patience` observations, exactly as
 *           PyTorch's ReduceLROnPlateau (mode min, relative threshold, cooldown, min_lr).
 */
#ifndef UNET_TRAIN_SCHEDULE_H
#define UNET_TRAIN_SCHEDULE_H

#include <stdint.h>

typedef enum unet__sched_kind {
    UNET__SCHED_CONSTANT,
    UNET__SCHED_COSINE,
    UNET__SCHED_PLATEAU
} unet__sched_kind;

typedef struct unet__sched {
    unet__sched_kind kind;
    double base_lr, min_lr;
    int64_t warmup, total;
    double factor, threshold; /* plateau */
    int patience, cooldown;
    /* plateau state (saved in checkpoints) */
    double lr;          /* current plateau learning rate */
    double best;
    int num_bad, cooldown_left;
} unet__sched;

int unet__sched_parse(const char *name); /* "constant", "cosine", "plateau" -> kind, or -1 */
const char *unet__sched_name(unet__sched_kind kind);
/* Reset the state (plateau lr = base_lr, best = +inf). */
void unet__sched_reset(unet__sched *s);
double unet__sched_lr(const unet__sched *s, int64_t t);
/* Feed one validation value (lower is better) to a plateau schedule; no-op for others. */
void unet__sched_observe(unet__sched *s, double value);

#endif
