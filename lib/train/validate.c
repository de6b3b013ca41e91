/*
 * Validation: every validation image through the model's own prediction path (the one users
 * get: whole-image semantics, tiling, the fast engine when there is one) on the already
 * normalised image, then the loss and the metrics against its targets.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "train/labels.h"
#include "train/metrics.h"
#include "train/trainer_internal.h"

bool unet__metric_higher_better(const char *metric)
{
    return strcmp(metric, "loss") != 0;
}

const char *unet__trainer_metric_name(const struct unet_trainer *t)
{
    if (strcmp(t->o.metric, "auto") != 0)
        return t->o.metric;
    return t->data.restoration ? "psnr" : "iou";
}

typedef struct totals {
    double loss_sum, loss_pixels;
    int64_t inter, npix_pred, npix_gt, tp, ninst_pred, ninst_gt;
    double psnr_sum, ssim_sum;
    int images;
} totals;

/* Predicted instances: components of the foreground; for 3-class outputs, components of the
 * interior grown by two 4-neighbour steps into predicted boundary pixels. */
static int predicted_instances(const uint8_t *fg, const uint8_t *interior, int64_t h, int64_t w,
                               int32_t *inst)
{
    int64_t n = unet__train_components(interior ? interior : fg, h, w, 0, inst);
    if (n < 0)
        return (int)n;
    if (!interior)
        return UNET_OK;
    int32_t *prev = malloc((size_t)(h * w) * sizeof *prev);
    if (!prev)
        return unet__fail(UNET_E_NOMEM, "out of memory labelling instances");
    for (int pass = 0; pass < 2; pass++) {
        memcpy(prev, inst, (size_t)(h * w) * sizeof *prev);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                const int64_t i = y * w + x;
                if (prev[i] || !fg[i])
                    continue;
                int32_t l = 0;
                if (y > 0 && prev[i - w])
                    l = prev[i - w];
                else if (y < h - 1 && prev[i + w])
                    l = prev[i + w];
                else if (x > 0 && prev[i - 1])
                    l = prev[i - 1];
                else if (x < w - 1 && prev[i + 1])
                    l = prev[i + 1];
                inst[i] = l;
            }
    }
    free(prev);
    return UNET_OK;
}

static int validate_sample(struct unet_trainer *t, const unet_predict_opts_t *popts,
                           const unet__tsample *s, totals *tot)
{
    const unet__config *cfg = &t->model->cfg;
    const int64_t oc = cfg->out_channels, h = s->h, w = s->w, hw = h * w;
    const bool class_t = !t->data.restoration && unet__loss_class_targets(&t->loss);
    const int64_t tc = class_t ? 1 : oc;
    const bool distance = !t->data.restoration && t->data.target == UNET__TARGET_DISTANCE;
    float *out = unet__alloc_floats((size_t)(oc * hw));
    float *z = unet__alloc_floats((size_t)(oc * hw));
    float *tg = unet__alloc_floats((size_t)(tc * hw));
    uint8_t *valid = malloc((size_t)hw * 3);
    int32_t *inst = malloc((size_t)hw * sizeof *inst);
    int rc = UNET_OK;
    if (!out || !z || !tg || !valid || !inst) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory validating %s", s->name);
        goto done;
    }
    uint8_t *pred_fg = valid + hw, *gt_fg = valid + 2 * hw;
    rc = unet__predict_memory(t->model, popts, s->image, UNET_F32, 1, s->c, h, w, out);
    if (rc != UNET_OK) {
        unet__fail_context(rc, "validation");
        goto done;
    }
    /* What the loss reads: logits recovered from probabilities (clamped), or the output. */
    const bool logits = unet__loss_reads_logits(t->loss.kind);
    for (int64_t i = 0; i < oc * hw; i++) {
        double v = out[i];
        if (logits && cfg->final_activation == UNET__FINAL_SIGMOID) {
            v = v < 1e-7 ? 1e-7 : v > 1 - 1e-7 ? 1 - 1e-7 : v;
            v = log(v) - log1p(-v);
        } else if (logits && cfg->final_activation == UNET__FINAL_SOFTMAX) {
            v = log(v > 1e-30 ? v : 1e-30);
        }
        z[i] = (float)v;
    }
    /* Targets in the loss's layout. */
    for (int64_t i = 0; i < hw; i++) {
        const float cls = s->target[i];
        if (t->data.restoration || class_t || distance) {
            for (int64_t c = 0; c < tc; c++)
                tg[c * hw + i] = s->target[c * hw + i];
        } else if (tc == 1) {
            tg[i] = isnan(cls) ? NAN : cls >= 1 ? 1.0f : 0.0f;
        } else {
            for (int64_t c = 0; c < tc; c++)
                tg[c * hw + i] = isnan(cls) ? NAN : (float)(cls == (float)c);
        }
        valid[i] = !isnan(tg[i]);
    }
    double loss;
    if ((rc = unet__loss_eval(&t->loss, z, 1, oc, hw, tg, s->weight, valid, &loss, NULL)) !=
        UNET_OK)
        goto done;
    int64_t nvalid = 0;
    for (int64_t i = 0; i < hw; i++)
        nvalid += valid[i];
    tot->loss_sum += loss * (double)nvalid;
    tot->loss_pixels += (double)nvalid;
    tot->images++;

    if (t->data.restoration) {
        double psnr = 0, ssim = 0;
        for (int64_t c = 0; c < oc && rc == UNET_OK; c++) {
            const float *ref = s->target + c * hw;
            double lo = INFINITY, hi = -INFINITY, v;
            for (int64_t i = 0; i < hw; i++) {
                lo = ref[i] < lo ? ref[i] : lo;
                hi = ref[i] > hi ? ref[i] : hi;
            }
            const double range = hi > lo ? hi - lo : 1;
            psnr += unet__psnr(out + c * hw, ref, hw, range);
            rc = unet__ssim(out + c * hw, ref, h, w, range, &v);
            ssim += v;
        }
        tot->psnr_sum += psnr / (double)oc;
        tot->ssim_sum += ssim / (double)oc;
        goto done;
    }
    /* Foreground: probability above the threshold (one channel, or the first of a distance
     * output) or a non-background argmax. */
    bool three = t->data.target == UNET__TARGET_3CLASS;
    uint8_t *interior = three ? malloc((size_t)hw) : NULL;
    if (three && !interior) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory validating");
        goto done;
    }
    for (int64_t i = 0; i < hw; i++) {
        int cls;
        if (oc == 1 || distance) {
            double p = out[i];
            if (cfg->final_activation == UNET__FINAL_NONE)
                p = 1 / (1 + exp(-p));
            cls = p > t->o.threshold;
        } else {
            cls = 0;
            for (int64_t c = 1; c < oc; c++)
                if (out[c * hw + i] > out[cls * hw + i])
                    cls = (int)c;
        }
        pred_fg[i] = cls >= 1;
        if (interior)
            interior[i] = cls == 1;
        gt_fg[i] = valid[i] && s->target[i] >= 1;
    }
    int64_t a, b, c;
    unet__overlap_counts(pred_fg, gt_fg, valid, hw, &a, &b, &c);
    tot->inter += a;
    tot->npix_pred += b;
    tot->npix_gt += c;
    rc = predicted_instances(pred_fg, interior, h, w, inst);
    free(interior);
    if (rc == UNET_OK && s->instances) {
        rc = unet__metric_instance_match(inst, s->instances, hw, 0.5, &a, &b, &c);
        tot->tp += a;
        tot->ninst_pred += b;
        tot->ninst_gt += c;
    }
done:
    unet__free_aligned(out);
    unet__free_aligned(z);
    unet__free_aligned(tg);
    free(valid);
    free(inst);
    return rc;
}

static json_t *number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

int unet__trainer_validate(struct unet_trainer *t)
{
    json_decref(t->last_val);
    t->last_val = NULL;
    t->last_metric = t->last_loss = NAN;
    /* The samples are normalised already. */
    struct unet_predict_opts popts;
    unet__predict_opts_defaults(&popts);
    int rc = unet__opts_set_i64(&unet__predict_opts_table, &popts, "threads", t->threads);
    if (rc == UNET_OK)
        rc = unet__predict_opts_set_normalize(&popts, UNET_NORMALIZE_NONE, 0, 0);
    totals tot;
    memset(&tot, 0, sizeof tot);
    for (int i = 0; i < t->data.count && rc == UNET_OK; i++)
        if (t->data.s[i].split == UNET_SPLIT_VAL)
            rc = validate_sample(t, &popts, &t->data.s[i], &tot);
    if (rc != UNET_OK)
        return rc;
    json_t *v = json_object();
    if (!v)
        return unet__fail(UNET_E_NOMEM, "out of memory recording validation");
    json_object_set_new(v, "step", json_integer(t->step));
    json_object_set_new(v, "images", json_integer(tot.images));
    if (tot.images == 0) {
        t->last_val = v;
        return UNET_OK;
    }
    t->last_loss = tot.loss_pixels > 0 ? tot.loss_sum / tot.loss_pixels : NAN;
    json_object_set_new(v, "loss", number(t->last_loss));
    if (t->data.restoration) {
        json_object_set_new(v, "psnr", number(tot.psnr_sum / tot.images));
        json_object_set_new(v, "ssim", number(tot.ssim_sum / tot.images));
    } else {
        const double uni = (double)(tot.npix_pred + tot.npix_gt - tot.inter);
        const double sum = (double)(tot.npix_pred + tot.npix_gt);
        const double ninst = (double)(tot.ninst_pred + tot.ninst_gt);
        json_object_set_new(v, "iou", json_real(uni > 0 ? (double)tot.inter / uni : 1.0));
        json_object_set_new(v, "dice", json_real(sum > 0 ? 2.0 * (double)tot.inter / sum : 1.0));
        json_object_set_new(v, "f1", json_real(ninst > 0 ? 2.0 * (double)tot.tp / ninst : 1.0));
        json_object_set_new(v, "instances_pred", json_integer(tot.ninst_pred));
        json_object_set_new(v, "instances_true", json_integer(tot.ninst_gt));
    }
    const char *name = unet__trainer_metric_name(t);
    json_t *m = json_object_get(v, name);
    t->last_metric = m ? json_number_value(m) : NAN;
    if (!m && strcmp(name, "loss") != 0) {
        json_decref(v);
        return unet__fail(UNET_E_INVALID_ARG, "metric %s does not apply to %s", name,
                          t->data.restoration ? "restoration" : "segmentation");
    }
    if (strcmp(name, "loss") == 0)
        t->last_metric = t->last_loss;
    t->last_val = v;
    return UNET_OK;
}
