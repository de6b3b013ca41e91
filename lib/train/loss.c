/* Losses (see loss.h). Sums in double; logits enter only through softplus / log-sum-exp. */
#include "train/loss.h"

#include <math.h>
#include <stdlib.h>

#include "core/names.h"
#include "core/status.h"

static const char *const names[] = {"mse", "l1", "bce", "ce", "dice", "bce+dice"};

int unet__loss_parse(const char *name)
{
    return unet__name_find(names, 6, name);
}

const char *unet__loss_name(unet__loss_kind kind)
{
    return unet__name_of(names, 6, (int)kind);
}

bool unet__loss_reads_logits(unet__loss_kind kind)
{
    return kind != UNET__LOSS_MSE && kind != UNET__LOSS_L1;
}

bool unet__loss_class_targets(const unet__loss *l)
{
    return l->kind == UNET__LOSS_CE ||
           (l->kind == UNET__LOSS_DICE && l->final_act == UNET__FINAL_SOFTMAX);
}

int unet__loss_check(const unet__loss *l, int out_channels)
{
    const char *act = unet__final_name(l->final_act);
    bool sigmoidish = l->kind == UNET__LOSS_BCE || l->kind == UNET__LOSS_BCE_DICE;
    if (sigmoidish && l->final_act == UNET__FINAL_SOFTMAX)
        return unet__fail(UNET_E_INVALID_ARG, "loss %s needs a model with final_activation "
                                              "sigmoid or none, not softmax (use ce or dice)",
                          unet__loss_name(l->kind));
    if (l->kind == UNET__LOSS_CE && l->final_act == UNET__FINAL_SIGMOID)
        return unet__fail(UNET_E_INVALID_ARG, "loss ce needs a model with final_activation "
                                              "softmax or none, not %s (use bce)", act);
    if (unet__loss_class_targets(l) && out_channels < 2)
        return unet__fail(UNET_E_INVALID_ARG, "loss %s needs >= 2 output channels (classes); "
                                              "the model has %d", unet__loss_name(l->kind),
                          out_channels);
    if (out_channels > UNET__MAX_CLASSES && unet__loss_class_targets(l))
        return unet__fail(UNET_E_INVALID_ARG, "loss %s supports at most %d classes",
                          unet__loss_name(l->kind), UNET__MAX_CLASSES);
    if (l->nclass_weights && l->nclass_weights != out_channels)
        return unet__fail(UNET_E_INVALID_ARG, "%d class weights given for %d output channels",
                          l->nclass_weights, out_channels);
    return UNET_OK;
}

static inline double softplus(double x)
{
    return (x > 0 ? x : 0) + log1p(exp(-fabs(x)));
}

static inline double sigmoid(double x)
{
    return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
}

static inline bool ok(const uint8_t *valid, int64_t i)
{
    return !valid || valid[i];
}

/* mse, l1, bce: element-wise, mean over valid elements. */
static void elementwise(const unet__loss *l, const float *z, int64_t n, int64_t c, int64_t hw,
                        const float *t, const float *w, const uint8_t *valid, double scale,
                        double *value, float *dz)
{
    int64_t count = 0;
    for (int64_t i = 0; i < n * hw; i++)
        count += ok(valid, i);
    const double norm = count ? scale / ((double)count * (double)c) : 0;
    double sum = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t p = 0; p < hw; p++) {
                const int64_t i = (b * c + ch) * hw + p, px = b * hw + p;
                if (!ok(valid, px)) {
                    if (dz)
                        dz[i] = 0;
                    continue;
                }
                const double wt = w ? (double)w[px] : 1.0;
                const double x = (double)z[i], y = (double)t[i];
                double v, g;
                if (l->kind == UNET__LOSS_MSE) {
                    v = (x - y) * (x - y);
                    g = 2 * (x - y);
                } else if (l->kind == UNET__LOSS_L1) {
                    v = fabs(x - y);
                    g = x > y ? 1 : x < y ? -1 : 0;
                } else {
                    const double pw = l->pos_weight;
                    v = pw * y * softplus(-x) + (1 - y) * softplus(x);
                    g = sigmoid(x) * (pw * y + 1 - y) - pw * y;
                }
                sum += wt * v;
                if (dz)
                    dz[i] = (float)(wt * g * norm);
            }
    *value += sum * norm;
}

static void cross_entropy(const unet__loss *l, const float *z, int64_t n, int64_t c, int64_t hw,
                          const float *t, const float *w, const uint8_t *valid, double *value,
                          float *dz)
{
    double denom = 0, sum = 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++) {
            const int64_t px = b * hw + p;
            if (ok(valid, px))
                denom += l->nclass_weights ? l->class_weights[(int)t[px]] : 1.0;
        }
    const double inv = denom > 0 ? 1 / denom : 0;
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++) {
            const int64_t px = b * hw + p, base = b * c * hw + p;
            if (!ok(valid, px)) {
                if (dz)
                    for (int64_t ch = 0; ch < c; ch++)
                        dz[base + ch * hw] = 0;
                continue;
            }
            const int cls = (int)t[px];
            const double cw = l->nclass_weights ? l->class_weights[cls] : 1.0;
            const double wt = (w ? (double)w[px] : 1.0) * cw;
            double m = (double)z[base];
            for (int64_t ch = 1; ch < c; ch++)
                m = (double)z[base + ch * hw] > m ? (double)z[base + ch * hw] : m;
            double s = 0;
            for (int64_t ch = 0; ch < c; ch++)
                s += exp((double)z[base + ch * hw] - m);
            const double lse = m + log(s);
            sum += wt * (lse - (double)z[base + cls * hw]);
            if (dz)
                for (int64_t ch = 0; ch < c; ch++) {
                    const double pr = exp((double)z[base + ch * hw] - lse);
                    dz[base + ch * hw] = (float)(wt * inv * (pr - (ch == cls ? 1.0 : 0.0)));
                }
        }
    *value += sum * inv;
}

/* Soft Dice over the batch; `add` adds the gradient to dz instead of writing it. */
static int dice(const unet__loss *l, const float *z, int64_t n, int64_t c, int64_t hw,
                const float *t, const uint8_t *valid, double *value, float *dz, bool add)
{
    const bool softmax = l->final_act == UNET__FINAL_SOFTMAX;
    const int64_t count = n * c * hw;
    double *prob = malloc((size_t)count * sizeof *prob);
    double *inter = calloc((size_t)c, sizeof *inter), *uni = calloc((size_t)c, sizeof *uni);
    if (!prob || !inter || !uni) {
        free(prob);
        free(inter);
        free(uni);
        return unet__fail(UNET_E_NOMEM, "out of memory computing the dice loss");
    }
    for (int64_t b = 0; b < n; b++)
        for (int64_t p = 0; p < hw; p++) {
            const int64_t base = b * c * hw + p;
            if (softmax) {
                double m = (double)z[base], s = 0;
                for (int64_t ch = 1; ch < c; ch++)
                    m = (double)z[base + ch * hw] > m ? (double)z[base + ch * hw] : m;
                for (int64_t ch = 0; ch < c; ch++)
                    s += exp((double)z[base + ch * hw] - m);
                for (int64_t ch = 0; ch < c; ch++)
                    prob[base + ch * hw] = exp((double)z[base + ch * hw] - m) / s;
            } else {
                for (int64_t ch = 0; ch < c; ch++)
                    prob[base + ch * hw] = sigmoid((double)z[base + ch * hw]);
            }
        }
#define TARGET(b, ch, p)                                                                   \
    (softmax ? ((int64_t)t[(b) * hw + (p)] == (ch) ? 1.0 : 0.0)                            \
             : (double)t[((b) * c + (ch)) * hw + (p)])
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++)
            for (int64_t p = 0; p < hw; p++) {
                if (!ok(valid, b * hw + p))
                    continue;
                const double pr = prob[(b * c + ch) * hw + p], tg = TARGET(b, ch, p);
                inter[ch] += pr * tg;
                uni[ch] += pr + tg;
            }
    const double s = l->smooth;
    double loss = 0;
    for (int64_t ch = 0; ch < c; ch++)
        loss += 1 - (2 * inter[ch] + s) / (uni[ch] + s);
    *value += loss / (double)c;
    if (dz) {
        for (int64_t b = 0; b < n; b++)
            for (int64_t p = 0; p < hw; p++) {
                const int64_t base = b * c * hw + p;
                const bool v = ok(valid, b * hw + p);
                /* dL/dp per channel, then through the sigmoid or softmax. */
                double g[UNET__MAX_CLASSES];
                double dot = 0;
                for (int64_t ch = 0; ch < c; ch++) {
                    const double den = uni[ch] + s, tg = v ? TARGET(b, ch, p) : 0;
                    g[ch] = v ? -(2 * tg * den - (2 * inter[ch] + s)) / (den * den) / (double)c
                              : 0;
                    dot += g[ch] * prob[base + ch * hw];
                }
                for (int64_t ch = 0; ch < c; ch++) {
                    const double pr = prob[base + ch * hw];
                    const double d = softmax ? pr * (g[ch] - dot) : g[ch] * pr * (1 - pr);
                    dz[base + ch * hw] = (float)((add ? (double)dz[base + ch * hw] : 0) + d);
                }
            }
    }
#undef TARGET
    free(prob);
    free(inter);
    free(uni);
    return UNET_OK;
}

int unet__loss_eval(const unet__loss *l, const float *z, int64_t n, int64_t c, int64_t hw,
                    const float *target, const float *weight, const uint8_t *valid,
                    double *value, float *dz)
{
    *value = 0;
    if (c > UNET__MAX_CLASSES && (l->kind == UNET__LOSS_DICE || l->kind == UNET__LOSS_BCE_DICE))
        return unet__fail(UNET_E_INVALID_ARG, "dice supports at most %d channels",
                          UNET__MAX_CLASSES);
    if (unet__loss_class_targets(l))
        for (int64_t i = 0; i < n * hw; i++)
            if (ok(valid, i) && !(target[i] >= 0 && target[i] < (float)c &&
                                  target[i] == floorf(target[i])))
                return unet__fail(UNET_E_INVALID_ARG, "target class %g at pixel %lld is not "
                                                      "in [0, %lld)",
                                  (double)target[i], (long long)i, (long long)c);
    switch (l->kind) {
    case UNET__LOSS_MSE:
    case UNET__LOSS_L1:
    case UNET__LOSS_BCE:
        elementwise(l, z, n, c, hw, target, weight, valid, 1.0, value, dz);
        return UNET_OK;
    case UNET__LOSS_CE:
        cross_entropy(l, z, n, c, hw, target, weight, valid, value, dz);
        return UNET_OK;
    case UNET__LOSS_DICE:
        return dice(l, z, n, c, hw, target, valid, value, dz, false);
    case UNET__LOSS_BCE_DICE: {
        unet__loss b = *l;
        b.kind = UNET__LOSS_BCE;
        elementwise(&b, z, n, c, hw, target, weight, valid, 1.0, value, dz);
        return dice(l, z, n, c, hw, target, valid, value, dz, true);
    }
    }
    return unet__fail(UNET_E_INTERNAL, "unknown loss %d", (int)l->kind);
}
