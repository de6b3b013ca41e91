/* The trainer: creation, data, the step loop, and the low-level batch API. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/dtype.h"
#include "core/rng.h"
#include "core/status.h"
#include "segment/segment.h" /* the model's output metadata */
#include "train/trainer_internal.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Per-step key of dropout masks and patch generators. */
static uint64_t step_key(const struct unet_trainer *t, int64_t step, uint64_t salt)
{
    return unet__hash64(unet__hash64((uint64_t)t->o.seed ^ salt) + (uint64_t)step + 1);
}

/* ---- task resolution ---- */

int unet__trainer_resolve(struct unet_trainer *t, bool float_labels)
{
    if (t->resolved)
        return UNET_OK;
    const unet__config *cfg = &t->model->cfg;
    const char *tg = t->o.target, *ls = t->o.loss;
    int out = cfg->out_channels;
    bool restoration = strcmp(tg, "image") == 0 ||
                       (strcmp(tg, "auto") == 0 && (float_labels || strcmp(ls, "mse") == 0 ||
                                                    strcmp(ls, "l1") == 0));
    unet__target_kind target;
    if (restoration)
        target = UNET__TARGET_IMAGE;
    else if (strcmp(tg, "foreground") == 0)
        target = UNET__TARGET_FOREGROUND;
    else if (strcmp(tg, "3class") == 0)
        target = UNET__TARGET_3CLASS;
    else if (strcmp(tg, "classes") == 0)
        target = UNET__TARGET_CLASSES;
    else if (strcmp(tg, "distance") == 0 ||
             (out == 2 && unet__meta_is(t->model->output, "target", "distance")))
        target = UNET__TARGET_DISTANCE; /* auto on a distance model: fine-tuning keeps it */
    else
        target = out <= 2 ? UNET__TARGET_FOREGROUND
                 : out == 3 ? UNET__TARGET_3CLASS
                            : UNET__TARGET_CLASSES;
    int kind = unet__loss_parse(ls);
    if (kind < 0) { /* auto */
        if (restoration)
            kind = UNET__LOSS_MSE;
        else if (out == 1 || cfg->final_activation == UNET__FINAL_SIGMOID)
            kind = UNET__LOSS_BCE_DICE;
        else
            kind = UNET__LOSS_CE;
    }
    unet__loss l;
    memset(&l, 0, sizeof l);
    l.kind = (unet__loss_kind)kind;
    l.final_act = cfg->final_activation;
    l.pos_weight = t->o.pos_weight;
    l.smooth = 1.0;
    int nw = unet__train_opts_class_weights(&t->o, l.class_weights, UNET__MAX_CLASSES);
    if (nw < 0)
        return nw;
    l.nclass_weights = nw;
    if (nw && l.kind != UNET__LOSS_CE)
        return unet__fail(UNET_E_INVALID_ARG, "class_weights apply to loss ce only (loss is %s)",
                          unet__loss_name(l.kind));
    int rc = unet__loss_check(&l, out);
    if (rc != UNET_OK)
        return rc;
    if (restoration && unet__loss_reads_logits(l.kind))
        return unet__fail(UNET_E_INVALID_ARG, "loss %s needs label images; the targets are "
                                              "float images (use mse or l1)",
                          unet__loss_name(l.kind));
    if (!restoration && target == UNET__TARGET_DISTANCE &&
        (out != 2 || cfg->final_activation != UNET__FINAL_SIGMOID || unet__loss_class_targets(&l)))
        return unet__fail(UNET_E_INVALID_ARG, "target distance needs a model with 2 output "
                                              "channels, final_activation sigmoid and loss "
                                              "bce, dice or bce+dice (it has %d channel%s, "
                                              "final_activation %s, loss %s)",
                          out, UNET__PLURAL(out), unet__final_name(cfg->final_activation),
                          unet__loss_name(l.kind));
    if (!restoration && target == UNET__TARGET_3CLASS && out != 3)
        return unet__fail(UNET_E_INVALID_ARG, "target 3class needs a model with 3 output "
                                              "channels (it has %d)", out);
    t->loss = l;
    t->data.restoration = restoration;
    t->data.target = target;
    t->data.resolved = true;
    const unet__graph *g = &t->model->graph;
    t->loss_node = g->output;
    if (unet__loss_reads_logits(l.kind) && cfg->final_activation != UNET__FINAL_NONE)
        t->loss_node = g->nodes[g->output].in[0];
    t->resolved = true;
    return UNET_OK;
}

/* ---- buffers ---- */

static int ensure_buffers(struct unet_trainer *t, int64_t in_floats, int64_t out_floats,
                          int64_t out_pixels)
{
    if (in_floats > t->b_cap_in) {
        unet__free_aligned(t->b_in);
        t->b_in = unet__alloc_floats((size_t)in_floats);
        t->b_cap_in = t->b_in ? in_floats : 0;
    }
    if (out_floats > t->b_cap_out) {
        unet__free_aligned(t->b_tgt);
        unet__free_aligned(t->b_wt);
        unet__free_aligned(t->dz);
        free(t->b_valid);
        t->b_tgt = unet__alloc_floats((size_t)out_floats);
        t->dz = unet__alloc_floats((size_t)out_floats);
        t->b_wt = unet__alloc_floats((size_t)out_floats);
        t->b_valid = malloc((size_t)out_floats);
        t->b_cap_out = t->b_tgt && t->dz && t->b_wt && t->b_valid ? out_floats : 0;
    }
    (void)out_pixels;
    if ((in_floats > 0 && !t->b_in) || !t->b_cap_out)
        return unet__fail(UNET_E_NOMEM, "out of memory for a training batch");
    return UNET_OK;
}

/* ---- the executor call ---- */

int unet__trainer_forward_backward(struct unet_trainer *t, const float *input, int64_t n,
                                   int64_t h, int64_t w, const float *target,
                                   const float *weight, bool update_running, int64_t step,
                                   double *loss)
{
    const unet__graph *g = &t->model->graph;
    unet__tg_opts to = {
        .train = true,
        .update_running = update_running,
        .dropout_p = UNET__DROPOUT_P,
        .dropout_key = step_key(t, step, 0xd0d0),
        .frozen = t->frozen,
        .precise = t->o.precise,
    };
    int rc = unet__tg_forward_f32(&t->tg, t->model->params, input, n, h, w, &to, t->threads);
    if (rc != UNET_OK)
        return rc;
    int64_t zc;
    const float *z = unet__tg_output_f32(&t->tg, t->loss_node, &zc);
    const int64_t c = g->nodes[t->loss_node].channels, hw = zc / (n * c);
    if ((rc = ensure_buffers(t, 0, zc, n * hw)) != UNET_OK)
        return rc;
    /* A pixel is annotated when its (first channel) target is a number. */
    const int64_t tc = !t->data.restoration && unet__loss_class_targets(&t->loss) ? 1 : c;
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++)
            t->b_valid[b * hw + p] = !isnan(target[b * tc * hw + p]);
    rc = unet__loss_eval(&t->loss, z, n, c, hw, target, weight, t->b_valid, loss, t->dz);
    if (rc != UNET_OK)
        return rc;
    if (!isfinite(*loss))
        return unet__fail(UNET_E_INVALID_ARG, "the loss is not finite at step %lld (learning "
                                              "rate %g too high?)",
                          (long long)step, t->o.lr);
    rc = unet__tg_backward_f32(&t->tg, t->model->params, t->loss_node, t->dz, t->grads, NULL,
                               &to, t->threads);
    t->has_grads = rc == UNET_OK;
    return rc;
}

/* ---- creation ---- */

void unet__trainer_free(struct unet_trainer *t)
{
    if (!t)
        return;
    unet__dataset_clear(&t->data);
    unet__optim_clear(&t->opt);
    unet__tg_clear_f32(&t->tg);
    free(t->frozen);
    free(t->grads);
    unet__free_aligned(t->grad_storage);
    free(t->numel);
    unet__free_aligned(t->b_in);
    unet__free_aligned(t->b_tgt);
    unet__free_aligned(t->b_wt);
    unet__free_aligned(t->dz);
    free(t->b_valid);
    json_decref(t->last_val);
    free(t->metrics_json);
    /* A log replacing an existing one takes its place only after a completed run. */
    (void)unet__train_log_close(&t->log, t->total > 0 && t->step >= t->total);
    free(t);
}

static int patch_error(const unet__graph *g, int64_t p)
{
    (void)g;
    return unet__fail(UNET_E_INVALID_ARG, "no input size at or above patch %lld fits the "
                                          "network", (long long)p);
}

int unet__trainer_create(unet_model_t *model, const struct unet_train_opts *opts,
                         struct unet_trainer **out)
{
    struct unet_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return unet__fail(UNET_E_NOMEM, "out of memory creating a trainer");
    t->model = model;
    if (opts)
        t->o = *opts;
    else
        unet__train_opts_defaults(&t->o);
    t->o.json = t->o.describe = NULL;
    t->threads = unet__resolve_threads(t->o.threads);
    t->best_value = NAN;
    t->best_step = -1;
    t->last_metric = t->last_loss = NAN;
    atomic_init(&t->cancel, 0);
    const unet__graph *g = &model->graph;
    int rc = UNET_OK;
    if (!(t->o.norm_low < t->o.norm_high))
        rc = unet__fail(UNET_E_INVALID_ARG, "norm_low %g must be below norm_high %g",
                        t->o.norm_low, t->o.norm_high);
    if (rc == UNET_OK && t->o.min_lr > t->o.lr)
        rc = unet__fail(UNET_E_INVALID_ARG, "min_lr %g is above lr %g", t->o.min_lr, t->o.lr);
    /* The patch is rounded up to the next input size the network accepts. */
    t->P = unet__graph_size_at_or_above(g, t->o.patch);
    if (rc == UNET_OK && (t->P <= 0 || unet__graph_axis_size(g, t->P, &t->Q, NULL) != UNET_OK))
        rc = patch_error(g, t->o.patch);
    /* An explicit loss is checked now; "auto" waits for the first labels. */
    if (rc == UNET_OK && unet__loss_parse(t->o.loss) >= 0) {
        bool float_labels = strcmp(t->o.target, "image") == 0 ||
                            strcmp(t->o.loss, "mse") == 0 || strcmp(t->o.loss, "l1") == 0;
        if (strcmp(t->o.target, "auto") != 0 && strcmp(t->o.target, "image") != 0)
            float_labels = false;
        rc = unet__trainer_resolve(t, float_labels);
    }
    int np = g->nparams;
    if (rc == UNET_OK) {
        t->frozen = calloc((size_t)np, sizeof *t->frozen);
        t->grads = calloc((size_t)np, sizeof *t->grads);
        t->numel = calloc((size_t)np, sizeof *t->numel);
        if (!t->frozen || !t->grads || !t->numel)
            rc = unet__fail(UNET_E_NOMEM, "out of memory creating a trainer");
    }
    int64_t total = 0;
    for (int i = 0; rc == UNET_OK && i < np; i++) {
        const char *name = g->params[i].name;
        t->numel[i] = g->params[i].numel;
        t->frozen[i] = strstr(name, ".running_") != NULL ||
                       (t->o.freeze_encoder && strncmp(name, "down", 4) == 0);
        if (!t->frozen[i])
            total += t->numel[i];
    }
    if (rc == UNET_OK && total == 0)
        rc = unet__fail(UNET_E_INVALID_ARG, "every parameter is frozen: nothing to train");
    if (rc == UNET_OK) {
        t->grad_storage = unet__alloc_floats((size_t)total);
        if (!t->grad_storage)
            rc = unet__fail(UNET_E_NOMEM, "out of memory for %lld gradients", (long long)total);
    }
    if (rc == UNET_OK) {
        float *p = t->grad_storage;
        bool *trainable = malloc((size_t)np * sizeof *trainable);
        for (int i = 0; i < np; i++) {
            if (!t->frozen[i]) {
                t->grads[i] = p;
                p += t->numel[i];
            }
            if (trainable)
                trainable[i] = !t->frozen[i];
        }
        t->opt.kind = (unet__optim_kind)unet__optim_parse(t->o.optimizer);
        t->opt.momentum = t->o.momentum;
        t->opt.nesterov = t->o.nesterov;
        t->opt.beta1 = t->o.beta1;
        t->opt.beta2 = t->o.beta2;
        t->opt.eps = t->o.eps;
        t->opt.weight_decay = t->o.weight_decay;
        if (t->o.nesterov && (t->opt.kind != UNET__OPT_SGD || t->o.momentum <= 0))
            rc = unet__fail(UNET_E_INVALID_ARG, "nesterov needs optimizer sgd with momentum > "
                                                "0");
        else if (!trainable)
            rc = unet__fail(UNET_E_NOMEM, "out of memory creating a trainer");
        else
            rc = unet__optim_init(&t->opt, np, t->numel, trainable);
        free(trainable);
    }
    if (rc == UNET_OK)
        rc = unet__tg_init_f32(&t->tg, g);
    /* Prediction with this model must normalise as training does, from now on. */
    if (rc == UNET_OK)
        rc = unet__trainer_update_metadata(t, false);
    if (rc == UNET_OK)
        rc = unet__model_refresh(model);
    if (rc != UNET_OK) {
        unet__trainer_free(t);
        return rc;
    }
    t->sched.kind = (unet__sched_kind)unet__sched_parse(t->o.schedule);
    t->sched.base_lr = t->o.lr;
    t->sched.min_lr = t->o.min_lr;
    t->sched.warmup = t->o.warmup;
    t->sched.factor = t->o.plateau_factor;
    t->sched.threshold = t->o.plateau_threshold;
    t->sched.patience = t->o.plateau_patience;
    t->sched.cooldown = t->o.plateau_cooldown;
    unet__sched_reset(&t->sched);
    *out = t;
    return UNET_OK;
}

/* ---- data ---- */

int unet__trainer_add_pair(struct unet_trainer *t, const char *name, const float *image,
                           int64_t c, int64_t h, int64_t w, const int32_t *labels,
                           const float *targets, int64_t tc, int split)
{
    int rc = unet__trainer_resolve(t, targets != NULL);
    if (rc != UNET_OK)
        return rc;
    if (t->data.restoration != (targets != NULL))
        return unet__fail(UNET_E_INVALID_ARG, "%s: %s, but the trainer's task is %s", name,
                          targets ? "float targets" : "label images",
                          t->data.restoration ? "restoration (float targets)"
                                              : "segmentation (label images)");
    if (c != t->model->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "%s has %lld channel%s; the model takes %d", name,
                          (long long)c, UNET__PLURAL(c), t->model->cfg.in_channels);
    if (targets && tc != t->model->cfg.out_channels)
        return unet__fail(UNET_E_SHAPE, "%s: the targets have %lld channel%s; the model "
                                        "outputs %d",
                          name, (long long)tc, UNET__PLURAL(tc), t->model->cfg.out_channels);
    unet__data_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.norm.mode = strcmp(t->o.normalize, "percentile") == 0 ? UNET_NORMALIZE_PERCENTILE
                     : strcmp(t->o.normalize, "zmuv") == 0     ? UNET_NORMALIZE_ZMUV
                                                               : UNET_NORMALIZE_NONE;
    spec.norm.a = t->o.norm_low;
    spec.norm.b = t->o.norm_high;
    spec.norm.eps = 1e-6;
    spec.in_channels = (int)c;
    spec.out_channels = t->model->cfg.out_channels;
    spec.target = t->data.target;
    spec.restoration = t->data.restoration;
    spec.ignore_label = t->o.ignore_label;
    spec.border_weights = t->o.border_weights;
    spec.w0 = t->o.w0;
    spec.sigma = t->o.sigma;
    return unet__dataset_add(&t->data, &spec, name, image, c, h, w, labels, targets, tc, split);
}

int unet__trainer_add_arrays(struct unet_trainer *t, const void *image, unet_dtype_t dtype,
                             int64_t c, int64_t h, int64_t w, const void *labels,
                             unet_dtype_t label_dtype, int64_t lc, int split)
{
    if (c != t->model->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "the image has %lld channel%s; the model takes %d",
                          (long long)c, UNET__PLURAL(c), t->model->cfg.in_channels);
    int64_t count = c * h * w, hw = h * w;
    if (count > ((int64_t)1 << 32))
        return unet__fail(UNET_E_NOMEM, "image of %lld elements is too large", (long long)count);
    float *img = unet__alloc_floats((size_t)count);
    if (!img)
        return unet__fail(UNET_E_NOMEM, "out of memory copying a training image");
    for (int64_t i = 0; i < count; i++) {
        img[i] = (float)unet__dtype_get(image, dtype, i);
        if (!isfinite(img[i])) {
            unet__free_aligned(img);
            return unet__fail(UNET_E_INVALID_ARG, "image element %lld is not finite",
                              (long long)i);
        }
    }
    bool is_float = label_dtype == UNET_F32 || label_dtype == UNET_F64;
    bool restoration = strcmp(t->o.target, "image") == 0 ||
                       (is_float && strcmp(t->o.target, "auto") == 0);
    if (t->resolved)
        restoration = t->data.restoration;
    int rc = UNET_OK;
    char name[64];
    snprintf(name, sizeof name, "array %d", t->data.count);
    if (restoration) {
        float *tg = unet__alloc_floats((size_t)(lc * hw));
        if (!tg) {
            rc = unet__fail(UNET_E_NOMEM, "out of memory copying targets");
        } else {
            for (int64_t i = 0; i < lc * hw && rc == UNET_OK; i++) {
                tg[i] = (float)unet__dtype_get(labels, label_dtype, i);
                if (!isfinite(tg[i]))
                    rc = unet__fail(UNET_E_INVALID_ARG, "target element %lld is not finite",
                                    (long long)i);
            }
            if (rc == UNET_OK)
                rc = unet__trainer_add_pair(t, name, img, c, h, w, NULL, tg, lc, split);
        }
        unet__free_aligned(tg);
    } else {
        if (lc != 1)
            rc = unet__fail(UNET_E_SHAPE, "label images have one channel (got %lld)",
                            (long long)lc);
        int32_t *lab = rc == UNET_OK ? malloc((size_t)hw * sizeof *lab) : NULL;
        if (rc == UNET_OK && !lab)
            rc = unet__fail(UNET_E_NOMEM, "out of memory copying labels");
        for (int64_t i = 0; rc == UNET_OK && i < hw; i++) {
            double v = unet__dtype_get(labels, label_dtype, i);
            if (!(v >= 0 && v <= 2147483647.0 && v == floor(v)) &&
                !(t->o.ignore_label >= 0 && v == (double)t->o.ignore_label))
                rc = unet__fail(UNET_E_INVALID_ARG, "label %g at (%lld, %lld) is not a "
                                                    "non-negative integer",
                                v, (long long)(i / w), (long long)(i % w));
            else
                lab[i] = (int32_t)(v > 2147483647.0 ? -1 : v);
        }
        if (rc == UNET_OK)
            rc = unet__trainer_add_pair(t, name, img, c, h, w, lab, NULL, 1, split);
        free(lab);
    }
    unet__free_aligned(img);
    return rc;
}

/* ---- planning and the step loop ---- */

/* Split the data, plan the steps, open the log: before the first step. */
static int prepare(struct unet_trainer *t)
{
    if (!t->resolved)
        return unet__fail(UNET_E_INVALID_ARG, "the trainer has no data: add images and labels "
                                              "first");
    int rc = unet__dataset_finalize(&t->data, t->o.val_fraction, (uint64_t)t->o.seed);
    if (rc != UNET_OK)
        return rc;
    double pixels = 0;
    int ntrain = 0;
    for (int i = 0; i < t->data.count; i++)
        if (t->data.s[i].split == UNET_SPLIT_TRAIN) {
            pixels += (double)(t->data.s[i].h * t->data.s[i].w);
            ntrain++;
        }
    if (ntrain == 0)
        return unet__fail(UNET_E_INVALID_ARG, "no training data (every image validates)");
    if (t->total == 0) {
        if (t->o.epochs > 0) {
            double per_step = (double)t->o.batch * (double)(t->Q * t->Q);
            t->total = (int64_t)ceil(t->o.epochs * pixels / per_step);
        } else {
            t->total = t->o.steps > 0 ? t->o.steps : 1000;
        }
        if (t->total < 1)
            t->total = 1;
        t->sched.total = t->total;
        t->val_every = t->o.val_every > 0 ? t->o.val_every : (t->total + 9) / 10;
    }
    if (!t->log.f && t->o.log[0])
        return unet__train_log_open(&t->log, t->o.log, t->step > 0);
    return UNET_OK;
}

/* Assemble the batch of `step` into the batch buffers (parallel over samples; every patch
 * from its own generator, so the batch does not depend on the thread count). */
static int make_batch(struct unet_trainer *t, int64_t step)
{
    const int64_t B = t->o.batch, P = t->P, Q = t->Q, cin = t->model->cfg.in_channels;
    const int64_t tc = t->data.restoration ? t->model->cfg.out_channels
                       : unet__loss_class_targets(&t->loss) ? 1
                                                            : t->model->cfg.out_channels;
    const int64_t oc = t->model->cfg.out_channels;
    /* Room for the targets and for the loss gradient, so the executor call never
     * reallocates the target buffer under its caller. */
    int rc = ensure_buffers(t, B * cin * P * P, B * (tc > oc ? tc : oc) * Q * Q, B * Q * Q);
    if (rc != UNET_OK)
        return rc;
    int *pick = malloc((size_t)B * sizeof *pick);
    int ntrain = 0;
    for (int i = 0; i < t->data.count; i++)
        ntrain += t->data.s[i].split == UNET_SPLIT_TRAIN;
    if (!pick)
        return unet__fail(UNET_E_NOMEM, "out of memory for a batch");
    /* Samples drawn in proportion to their pixels. */
    unet__rng rng;
    unet__rng_seed(&rng, step_key(t, step, 0xba7c));
    double total = 0;
    for (int i = 0; i < t->data.count; i++)
        if (t->data.s[i].split == UNET_SPLIT_TRAIN)
            total += (double)(t->data.s[i].h * t->data.s[i].w);
    for (int64_t b = 0; b < B; b++) {
        double u = unet__rng_uniform(&rng) * total;
        int k = -1;
        for (int i = 0; i < t->data.count; i++) {
            if (t->data.s[i].split != UNET_SPLIT_TRAIN)
                continue;
            k = i;
            u -= (double)(t->data.s[i].h * t->data.s[i].w);
            if (u < 0)
                break;
        }
        pick[b] = k;
    }
    unet__patch_spec ps = {
        .P = P, .Q = Q, .in_c = cin, .out_c = t->model->cfg.out_channels,
        .class_targets = !t->data.restoration && unet__loss_class_targets(&t->loss),
        .restoration = t->data.restoration,
        .distance = !t->data.restoration && t->data.target == UNET__TARGET_DISTANCE,
        .fg_bias = t->o.fg_bias,
        .flip = t->o.aug_flip, .rot90 = t->o.aug_rot90, .elastic = t->o.aug_elastic,
        .elastic_sigma = t->o.elastic_sigma, .elastic_grid = t->o.elastic_grid,
        .scale = t->o.aug_scale, .shift = t->o.aug_shift, .gamma = t->o.aug_gamma,
        .noise_gauss = t->o.noise_gauss, .noise_poisson = t->o.noise_poisson,
    };
#pragma omp parallel for num_threads(t->threads) schedule(static)
    for (int64_t b = 0; b < B; b++) {
        unet__rng r;
        unet__rng_seed(&r, step_key(t, step, 0x9a7c4 + (uint64_t)b * 0x10001));
        unet__sample_patch(&t->data.s[pick[b]], &ps, &r, t->b_in + b * cin * P * P,
                           t->b_tgt + b * tc * Q * Q, t->b_wt + b * Q * Q);
    }
    free(pick);
    return UNET_OK;
}

static void log_row(struct unet_trainer *t, bool validated)
{
    if (!t->log.f)
        return;
    double epoch_pixels = 0;
    for (int i = 0; i < t->data.count; i++)
        if (t->data.s[i].split == UNET_SPLIT_TRAIN)
            epoch_pixels += (double)(t->data.s[i].h * t->data.s[i].w);
    double epoch = (double)t->step * (double)t->o.batch * (double)(t->Q * t->Q) / epoch_pixels;
    double lr = unet__sched_lr(&t->sched, t->step > 0 ? t->step - 1 : 0);
    fprintf(t->log.f, "%lld,%.4f,%.6g,%.6g,", (long long)t->step, epoch, lr,
            t->loss_count ? t->loss_sum / (double)t->loss_count : NAN);
    if (validated && t->last_val) {
        static const char *const cols[] = {"iou", "dice", "f1", "psnr", "ssim"};
        fprintf(t->log.f, "%.6g,%.6g", t->last_loss, t->last_metric);
        for (int i = 0; i < 5; i++) {
            json_t *v = json_object_get(t->last_val, cols[i]);
            if (v)
                fprintf(t->log.f, ",%.6g", json_number_value(v));
            else
                fputs(",", t->log.f);
        }
    } else {
        fputs(",,,,,,", t->log.f);
    }
    fprintf(t->log.f, ",%.2f\n", t->seconds + now_seconds() - t->t_start);
    fflush(t->log.f);
    t->loss_sum = 0;
    t->loss_count = 0;
}

/* Checkpoints after a validation: best when the metric improved, last always. */
static int checkpoint(struct unet_trainer *t, bool improved)
{
    if (!t->o.checkpoint_dir[0])
        return UNET_OK;
    char path[UNET__OPT_PATH + 32];
    int rc = UNET_OK;
    if (improved) {
        snprintf(path, sizeof path, "%s/best.unet", t->o.checkpoint_dir);
        rc = unet__trainer_save_model(t, path);
    }
    if (rc == UNET_OK) {
        snprintf(path, sizeof path, "%s/last.unet", t->o.checkpoint_dir);
        rc = unet__trainer_save_model(t, path);
    }
    if (rc == UNET_OK) {
        snprintf(path, sizeof path, "%s/last.state", t->o.checkpoint_dir);
        rc = unet__trainer_save_state(t, path);
    }
    return rc;
}

static int validate_and_record(struct unet_trainer *t)
{
    int rc = unet__trainer_validate(t);
    if (rc != UNET_OK)
        return rc;
    bool improved = false;
    if (!isnan(t->last_metric)) {
        bool higher = unet__metric_higher_better(unet__trainer_metric_name(t));
        improved = isnan(t->best_value) ||
                   (higher ? t->last_metric > t->best_value : t->last_metric < t->best_value);
        if (improved) {
            t->best_value = t->last_metric;
            t->best_step = t->step;
        }
        unet__sched_observe(&t->sched, t->last_loss);
    } else {
        improved = true; /* no validation data: the last model is the best one known */
    }
    return checkpoint(t, improved);
}

static int run_steps(struct unet_trainer *t, int64_t steps, bool final_validation)
{
    int rc = prepare(t);
    if (rc != UNET_OK)
        return rc;
    t->t_start = now_seconds();
    const int64_t log_every = t->val_every / 10 > 0 ? t->val_every / 10 : 1;
    bool validated_now = false;
    for (int64_t k = 0; k < steps && rc == UNET_OK; k++) {
        if (atomic_load(&t->cancel)) {
            rc = unet__fail(UNET_E_CANCELLED, "training cancelled at step %lld",
                            (long long)t->step);
            break;
        }
        const double lr = unet__sched_lr(&t->sched, t->step);
        double loss;
        rc = make_batch(t, t->step);
        if (rc == UNET_OK)
            rc = unet__trainer_forward_backward(t, t->b_in, t->o.batch, t->P, t->P, t->b_tgt,
                                                t->b_wt, true, t->step, &loss);
        if (rc != UNET_OK)
            break;
        if (t->o.clip_norm > 0)
            unet__clip_grad_norm(t->grads, t->numel, t->model->graph.nparams, t->o.clip_norm);
        unet__optim_step(&t->opt, t->model->params, t->grads, lr, t->threads);
        t->step++;
        t->loss_sum += loss;
        t->loss_count++;
        validated_now = false;
        if (t->step % t->val_every == 0 || (final_validation && t->step == t->total)) {
            if ((rc = unet__model_refresh(t->model)) != UNET_OK)
                break;
            if ((rc = validate_and_record(t)) != UNET_OK)
                break;
            validated_now = true;
            log_row(t, true);
        } else if (t->step % log_every == 0) {
            log_row(t, false);
        }
        if (t->o.progress &&
            t->o.progress(t->o.progress_user, t->step, t->total, loss, t->last_metric) != 0)
            rc = unet__fail(UNET_E_CANCELLED, "training cancelled by the progress callback at "
                                              "step %lld", (long long)t->step);
    }
    (void)validated_now;
    t->seconds += now_seconds() - t->t_start;
    /* The model carries what it was trained with, saved or not. */
    int rc2 = unet__trainer_update_metadata(t, true);
    if (rc2 == UNET_OK)
        rc2 = unet__model_refresh(t->model);
    return rc != UNET_OK ? rc : rc2;
}

int unet__trainer_train(struct unet_trainer *t)
{
    int rc = prepare(t);
    if (rc != UNET_OK)
        return rc;
    if (t->step >= t->total)
        return UNET_OK;
    return run_steps(t, t->total - t->step, true);
}

int unet__trainer_step(struct unet_trainer *t, int64_t steps)
{
    return run_steps(t, steps, false);
}

int unet__trainer_evaluate(struct unet_trainer *t)
{
    int rc = prepare(t);
    if (rc == UNET_OK)
        rc = unet__model_refresh(t->model);
    if (rc == UNET_OK)
        rc = unet__trainer_validate(t);
    return rc;
}

int unet__trainer_metrics(const struct unet_trainer *t, const char **json)
{
    struct unet_trainer *m = (struct unet_trainer *)t; /* the cached string only */
    free(m->metrics_json);
    json_t *v = t->last_val ? json_deep_copy(t->last_val) : json_object();
    if (v) {
        json_object_set_new(v, "best_step", json_integer(t->best_step));
        json_object_set_new(v, "best_value", isnan(t->best_value) ? json_null()
                                                                  : json_real(t->best_value));
        json_object_set_new(v, "metric", json_string(t->resolved ? unet__trainer_metric_name(t)
                                                                 : "auto"));
    }
    m->metrics_json = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(v);
    if (!m->metrics_json)
        return unet__fail(UNET_E_NOMEM, "out of memory describing metrics");
    *json = m->metrics_json;
    return UNET_OK;
}

/* ---- the low-level batch API ---- */

static int check_batch(struct unet_trainer *t, const float *input, int ndim,
                       const int64_t *shape, const float *target, size_t target_count,
                       int64_t *oh, int64_t *ow)
{
    if (!input || !shape || !target)
        return unet__fail(UNET_E_INVALID_ARG, "batch: input, shape or target is NULL");
    int rc = unet__trainer_resolve(t, false);
    if (rc != UNET_OK)
        return rc;
    const unet__graph *g = &t->model->graph;
    if (ndim != 4 || shape[0] < 1 || shape[0] > 4096 || shape[1] != t->model->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "batch input must be (N, %d, H, W) with N in [1, 4096]",
                          t->model->cfg.in_channels);
    if (unet__graph_axis_size(g, shape[2], oh, NULL) != UNET_OK ||
        unet__graph_axis_size(g, shape[3], ow, NULL) != UNET_OK)
        return unet__fail(UNET_E_SHAPE, "a %lld x %lld batch does not fit the network",
                          (long long)shape[2], (long long)shape[3]);
    const int64_t tc = !t->data.restoration && unet__loss_class_targets(&t->loss)
                           ? 1
                           : t->model->cfg.out_channels;
    if ((int64_t)target_count != shape[0] * tc * *oh * *ow)
        return unet__fail(UNET_E_SHAPE, "target has %zu elements; (%lld, %lld, %lld, %lld) "
                                        "needs %lld",
                          target_count, (long long)shape[0], (long long)tc, (long long)*oh,
                          (long long)*ow, (long long)(shape[0] * tc * *oh * *ow));
    const int64_t n_in = shape[0] * shape[1] * shape[2] * shape[3];
    for (int64_t i = 0; i < n_in; i++)
        if (!isfinite(input[i]))
            return unet__fail(UNET_E_INVALID_ARG, "input element %lld is not finite",
                              (long long)i);
    return UNET_OK;
}

int unet__trainer_compute_gradients(struct unet_trainer *t, const float *input, int ndim,
                                    const int64_t *shape, const float *target,
                                    size_t target_count, const float *weights, double *loss)
{
    int64_t oh, ow;
    int rc = check_batch(t, input, ndim, shape, target, target_count, &oh, &ow);
    if (rc != UNET_OK)
        return rc;
    double l;
    t->has_grads = false;
    rc = unet__trainer_forward_backward(t, input, shape[0], shape[2], shape[3], target, weights,
                                        false, t->step, &l);
    if (rc == UNET_OK && loss)
        *loss = l;
    return rc;
}

int unet__trainer_step_batch(struct unet_trainer *t, const float *input, int ndim,
                             const int64_t *shape, const float *target, size_t target_count,
                             const float *weights, double *loss)
{
    int64_t oh, ow;
    int rc = check_batch(t, input, ndim, shape, target, target_count, &oh, &ow);
    if (rc != UNET_OK)
        return rc;
    if (t->total == 0) { /* no planned run: the schedule spans the steps option */
        t->total = t->o.steps > 0 ? t->o.steps : 1000;
        t->sched.total = t->total;
        t->val_every = t->o.val_every > 0 ? t->o.val_every : (t->total + 9) / 10;
    }
    double l;
    const double lr = unet__sched_lr(&t->sched, t->step);
    t->has_grads = false;
    rc = unet__trainer_forward_backward(t, input, shape[0], shape[2], shape[3], target, weights,
                                        true, t->step, &l);
    if (rc != UNET_OK)
        return rc;
    if (t->o.clip_norm > 0)
        unet__clip_grad_norm(t->grads, t->numel, t->model->graph.nparams, t->o.clip_norm);
    unet__optim_step(&t->opt, t->model->params, t->grads, lr, t->threads);
    t->step++;
    if (loss)
        *loss = l;
    unet__model_touch(t->model); /* the plan is rebuilt when the model next predicts */
    return UNET_OK;
}

int unet__trainer_get_gradient(const struct unet_trainer *t, const char *name, float *out,
                               size_t count)
{
    const unet__graph *g = &t->model->graph;
    int i = unet__graph_find_param(g, name);
    if (i < 0)
        return unet__fail(UNET_E_INVALID_ARG, "the model has no tensor '%.60s'", name);
    if ((int64_t)count != g->params[i].numel)
        return unet__fail(UNET_E_SHAPE, "tensor '%s' has %lld elements, not %zu", name,
                          (long long)g->params[i].numel, count);
    if (!t->has_grads)
        return unet__fail(UNET_E_INVALID_ARG, "no gradients yet: call "
                                              "unet_trainer_compute_gradients first");
    if (!t->grads[i])
        return unet__fail(UNET_E_INVALID_ARG, "tensor '%s' is not trained (frozen or a running "
                                              "statistic)", name);
    memcpy(out, t->grads[i], count * sizeof(float));
    return UNET_OK;
}

void unet__trainer_set_total(struct unet_trainer *t, int64_t total)
{
    t->total = total;
    t->sched.total = total;
    t->val_every = t->o.val_every > 0 ? t->o.val_every : (total + 9) / 10;
}
