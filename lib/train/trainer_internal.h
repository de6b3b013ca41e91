/* The trainer object behind unet_trainer_t, shared by the train/ sources. */
#ifndef UNET_TRAIN_TRAINER_INTERNAL_H
#define UNET_TRAIN_TRAINER_INTERNAL_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>

#include "model/model.h"
#include "train/data.h"
#include "train/loss.h"
#include "train/optim.h"
#include "train/schedule.h"
#include "train/train_graph.h"
#include "train/train_log.h"
#include "train/train_opts.h"

/* Dropout rate of every 'd' in a block string (DESIGN section 5). */
#define UNET__DROPOUT_P 0.1

struct unet_trainer {
    unet_model_t *model;         /* borrowed, used exclusively */
    struct unet_train_opts o;    /* a copy (json cache not owned) */
    int threads;
    unet__loss loss;             /* kind valid once `resolved` */
    bool resolved;               /* task and loss decided */
    int loss_node;               /* graph node the loss reads */
    unet__dataset data;
    unet__optim opt;
    unet__sched sched;
    bool *frozen;                /* per param: not trained (running stats, frozen encoder) */
    float **grads;               /* per param gradient (NULL when frozen) */
    float *grad_storage;
    int64_t *numel;
    bool has_grads;              /* grads hold the last batch's gradients */
    unet__tg_f32 tg;
    int64_t P, Q;                /* input / output patch size */
    int64_t step, total;         /* steps taken, planned (total 0 until planned) */
    int64_t val_every;
    float *b_in, *b_tgt, *b_wt, *dz;
    uint8_t *b_valid;
    int64_t b_cap_in, b_cap_out; /* floats allocated per buffer */
    /* validation */
    double best_value;           /* of the chosen metric (NaN: none yet) */
    int64_t best_step;
    double last_metric, last_loss;
    json_t *last_val;            /* figures of the last validation */
    char *metrics_json;
    /* logging */
    unet__train_log log;
    double loss_sum;
    int64_t loss_count;
    double seconds;              /* training time before this session (resumed runs) */
    double t_start;
    atomic_int cancel;
};

/* The work behind the exported unet_trainer_* calls (api/train.c checks their arguments
 * first). */
int unet__trainer_create(unet_model_t *model, const struct unet_train_opts *opts,
                         struct unet_trainer **out);
void unet__trainer_free(struct unet_trainer *t);
/* An image with its labels (or float targets) of any element type, sizes already checked. */
int unet__trainer_add_arrays(struct unet_trainer *t, const void *image, unet_dtype_t dtype,
                             int64_t c, int64_t h, int64_t w, const void *labels,
                             unet_dtype_t label_dtype, int64_t lc, int split);
int unet__trainer_train(struct unet_trainer *t);
int unet__trainer_step(struct unet_trainer *t, int64_t steps);
/* Validate now: last_loss and last_metric. */
int unet__trainer_evaluate(struct unet_trainer *t);
/* The metrics as JSON text (cached in the trainer). */
int unet__trainer_metrics(const struct unet_trainer *t, const char **json);
int unet__trainer_compute_gradients(struct unet_trainer *t, const float *input, int ndim,
                                    const int64_t *shape, const float *target,
                                    size_t target_count, const float *weights, double *loss);
int unet__trainer_step_batch(struct unet_trainer *t, const float *input, int ndim,
                             const int64_t *shape, const float *target, size_t target_count,
                             const float *weights, double *loss);
int unet__trainer_get_gradient(const struct unet_trainer *t, const char *name, float *out,
                               size_t count);
/* Resumable states (checkpoint.c). */
int unet__trainer_save_state(struct unet_trainer *t, const char *path);
int unet__trainer_load_state(struct unet_trainer *t, const char *path);

/* Decide segmentation/restoration, target and loss (once). */
int unet__trainer_resolve(struct unet_trainer *t, bool float_labels);
/* Forward, loss and backward of one batch: the single place the training executor runs
 * (swap in a faster engine here). Fills t->grads; update_running advances batchnorm running
 * statistics. */
int unet__trainer_forward_backward(struct unet_trainer *t, const float *input, int64_t n,
                                   int64_t h, int64_t w, const float *target,
                                   const float *weight, bool update_running, int64_t step,
                                   double *loss);
/* Validate (validate.c): fills last_val/last_metric/last_loss. */
int unet__trainer_validate(struct unet_trainer *t);
/* Whether a larger metric value is better. */
bool unet__metric_higher_better(const char *metric);
/* The metric the options select, resolved for the task ("iou", "psnr", ...). */
const char *unet__trainer_metric_name(const struct unet_trainer *t);
/* Training provenance for the model's metadata (new reference). */
json_t *unet__trainer_provenance(const struct unet_trainer *t);
/* Write the model's preprocessing metadata (the normalisation training uses) and, with
 * provenance, its output and training sections; the caller refreshes the model. */
int unet__trainer_update_metadata(struct unet_trainer *t, bool provenance);
/* Update the metadata, then save the model. */
int unet__trainer_save_model(struct unet_trainer *t, const char *path);
/* Plan the run to `total` steps (>= 1): the schedule's span and the validation interval. */
void unet__trainer_set_total(struct unet_trainer *t, int64_t total);
/* Read a TIFF pair folder (folders.c). */
int unet__trainer_add_folders(struct unet_trainer *t, const char *images, const char *labels);
/* Add one pair given as float image and int32 labels or float targets (trainer.c). */
int unet__trainer_add_pair(struct unet_trainer *t, const char *name, const float *image,
                           int64_t c, int64_t h, int64_t w, const int32_t *labels,
                           const float *targets, int64_t tc, int split);

#endif
