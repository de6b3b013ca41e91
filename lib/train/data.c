/* Training samples: normalisation, targets, weight maps, split (see data.h). */
#include "train/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "train/labels.h"

static void sample_free(unet__tsample *s)
{
    unet__free_aligned(s->image);
    unet__free_aligned(s->target);
    unet__free_aligned(s->weight);
    free(s->instances);
    free(s->fg);
    memset(s, 0, sizeof *s);
}

void unet__dataset_clear(unet__dataset *d)
{
    for (int i = 0; i < d->count; i++)
        sample_free(&d->s[i]);
    free(d->s);
    memset(d, 0, sizeof *d);
}

/* A float image as a prediction source, so training normalises with prediction's code. */
typedef struct float_image {
    const float *data;
    int64_t w;
    int64_t h;
} float_image;

static int read_float(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      float *dst)
{
    const float_image *im = user;
    (void)plane;
    /* channels are read one by one: the source has one channel here */
    for (int64_t i = 0; i < h; i++)
        memcpy(dst + i * w, im->data + (y + i) * im->w + x, (size_t)w * sizeof(float));
    return 0;
}

/* Normalise every channel in place with its own statistics; with `given`, apply those
 * affines instead (a target in its input's units). `used` (optional) receives them. */
static int normalize_image(const unet__norm *norm, float *img, int64_t c, int64_t h, int64_t w,
                           const unet__affine *given, unet__affine *used)
{
    struct unet_predict_opts popts;
    unet__predict_opts_defaults(&popts);
    for (int64_t ch = 0; ch < c; ch++) {
        float_image im = {img + ch * h * w, w, h};
        unet__source src = {1, 1, h, w, read_float, &im};
        unet__progress prog = {&popts, 0, 0};
        unet__affine a;
        if (given) {
            a = given[ch];
        } else {
            int rc = unet__plane_normalization(&src, 0, norm, &a, &prog, 0, 1);
            if (rc != UNET_OK)
                return rc;
        }
        if (used)
            used[ch] = a;
        float *p = img + ch * h * w;
        for (int64_t i = 0; i < h * w; i++)
            p[i] = (float)(((double)p[i] - a.shift) * a.scale);
    }
    return UNET_OK;
}

int unet__dataset_add(unet__dataset *d, const unet__data_spec *spec, const char *name,
                      const float *image, int64_t c, int64_t h, int64_t w,
                      const int32_t *labels, const float *targets, int64_t tc, int split)
{
    if (d->count == d->cap) {
        int cap = d->cap ? 2 * d->cap : 8;
        unet__tsample *s = realloc(d->s, (size_t)cap * sizeof *s);
        if (!s)
            return unet__fail(UNET_E_NOMEM, "out of memory adding training data");
        d->s = s;
        d->cap = cap;
    }
    unet__tsample *s = &d->s[d->count];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->c = c;
    s->h = h;
    s->w = w;
    s->split = split;
    const int64_t hw = h * w;
    int rc = UNET_OK;
    s->image = unet__alloc_floats((size_t)(c * hw));
    s->tc = spec->restoration ? tc : spec->target == UNET__TARGET_DISTANCE ? 2 : 1;
    s->target = unet__alloc_floats((size_t)(s->tc * hw));
    if (!s->image || !s->target) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld training image",
                        (long long)h, (long long)w);
        goto fail;
    }
    memcpy(s->image, image, (size_t)(c * hw) * sizeof(float));
    unet__affine *affine = calloc((size_t)c, sizeof *affine);
    if (!affine) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for normalisation");
        goto fail;
    }
    rc = normalize_image(&spec->norm, s->image, c, h, w, NULL, affine);
    if (rc == UNET_OK && spec->restoration) {
        memcpy(s->target, targets, (size_t)(tc * hw) * sizeof(float));
        /* Targets in the input's units: the image's own normalisation when they have its
         * channels (denoising: prediction then outputs clean intensities in those units),
         * else their own statistics. */
        rc = normalize_image(&spec->norm, s->target, tc, h, w, tc == c ? affine : NULL, NULL);
    }
    free(affine);
    if (rc != UNET_OK)
        goto fail;
    if (!spec->restoration) {
        /* Unannotated pixels count as background for targets and weights, then get NaN. */
        int32_t *lab = malloc((size_t)hw * sizeof *lab);
        if (!lab) {
            rc = unet__fail(UNET_E_NOMEM, "out of memory for labels");
            goto fail;
        }
        for (int64_t i = 0; i < hw; i++)
            lab[i] = spec->ignore_label >= 0 && labels[i] == spec->ignore_label ? 0 : labels[i];
        if (spec->target == UNET__TARGET_3CLASS) {
            unet__target_3class(lab, h, w, s->target);
        } else if (spec->target == UNET__TARGET_DISTANCE) {
            rc = unet__target_distance(lab, h, w, s->target);
        } else if (spec->target == UNET__TARGET_CLASSES) {
            for (int64_t i = 0; i < hw; i++) {
                if (lab[i] >= spec->out_channels) {
                    rc = unet__fail(UNET_E_INVALID_ARG,
                                    "%s: label %d at (%lld, %lld) is not a class of a model with "
                                    "%d output channels (target \"classes\")",
                                    name, lab[i], (long long)(i / w), (long long)(i % w),
                                    spec->out_channels);
                    free(lab);
                    goto fail;
                }
                s->target[i] = (float)lab[i];
            }
        } else {
            unet__target_foreground(lab, hw, s->target);
        }
        if (rc == UNET_OK && spec->border_weights) {
            s->weight = unet__alloc_floats((size_t)hw);
            if (!s->weight)
                rc = unet__fail(UNET_E_NOMEM, "out of memory for weights");
            else
                rc = unet__border_weights(lab, h, w, spec->w0, spec->sigma, s->weight);
        }
        if (rc == UNET_OK) {
            /* Instances for F1: the labels when they are instance labels; components of the
             * mask when they are a binary or class map. */
            s->instances = malloc((size_t)hw * sizeof *s->instances);
            uint8_t *mask = malloc((size_t)hw);
            if (!s->instances || !mask) {
                rc = unet__fail(UNET_E_NOMEM, "out of memory for instances");
            } else if (spec->target == UNET__TARGET_CLASSES) {
                for (int64_t i = 0; i < hw; i++)
                    mask[i] = lab[i] > 0;
                int64_t n = unet__train_components(mask, h, w, 0, s->instances);
                rc = n < 0 ? (int)n : UNET_OK;
            } else {
                memcpy(s->instances, lab, (size_t)hw * sizeof *lab);
            }
            free(mask);
        }
        if (rc == UNET_OK && spec->ignore_label >= 0)
            for (int64_t i = 0; i < hw; i++)
                if (labels[i] == spec->ignore_label)
                    for (int64_t c = 0; c < s->tc; c++)
                        s->target[c * hw + i] = NAN;
        int64_t nfg = 0;
        for (int64_t i = 0; i < hw; i++)
            nfg += lab[i] > 0;
        if (rc == UNET_OK && nfg > 0) {
            s->fg = malloc((size_t)nfg * sizeof *s->fg);
            if (!s->fg)
                rc = unet__fail(UNET_E_NOMEM, "out of memory for foreground indices");
            for (int64_t i = 0; s->fg && i < hw; i++)
                if (lab[i] > 0)
                    s->fg[s->nfg++] = i;
        }
        free(lab);
        if (rc != UNET_OK)
            goto fail;
    }
    d->count++;
    d->finalized = false;
    return UNET_OK;
fail:
    sample_free(s);
    return rc;
}

/* Crop columns [x0, x1) of a sample into a new one. */
static int crop_columns(const unet__tsample *src, int64_t x0, int64_t x1, unet__tsample *dst)
{
    const int64_t h = src->h, w = src->w, nw = x1 - x0;
    memset(dst, 0, sizeof *dst);
    snprintf(dst->name, sizeof dst->name, "%.200s[:, %lld:%lld]", src->name, (long long)x0,
             (long long)x1);
    dst->c = src->c;
    dst->h = h;
    dst->w = nw;
    dst->tc = src->tc;
    dst->image = unet__alloc_floats((size_t)(src->c * h * nw));
    dst->target = unet__alloc_floats((size_t)(src->tc * h * nw));
    dst->weight = src->weight ? unet__alloc_floats((size_t)(h * nw)) : NULL;
    dst->instances = src->instances ? malloc((size_t)(h * nw) * sizeof(int32_t)) : NULL;
    if (!dst->image || !dst->target || (src->weight && !dst->weight) ||
        (src->instances && !dst->instances)) {
        sample_free(dst);
        return unet__fail(UNET_E_NOMEM, "out of memory splitting an image");
    }
    for (int64_t y = 0; y < src->c * h; y++)
        memcpy(dst->image + y * nw, src->image + y * w + x0, (size_t)nw * sizeof(float));
    for (int64_t y = 0; y < src->tc * h; y++)
        memcpy(dst->target + y * nw, src->target + y * w + x0, (size_t)nw * sizeof(float));
    for (int64_t y = 0; dst->weight && y < h; y++)
        memcpy(dst->weight + y * nw, src->weight + y * w + x0, (size_t)nw * sizeof(float));
    for (int64_t y = 0; dst->instances && y < h; y++)
        memcpy(dst->instances + y * nw, src->instances + y * w + x0,
               (size_t)nw * sizeof(int32_t));
    int64_t nfg = 0;
    for (int64_t j = 0; j < src->nfg; j++)
        nfg += src->fg[j] % w >= x0 && src->fg[j] % w < x1;
    if (nfg) {
        dst->fg = malloc((size_t)nfg * sizeof *dst->fg);
        if (!dst->fg) {
            sample_free(dst);
            return unet__fail(UNET_E_NOMEM, "out of memory splitting an image");
        }
        for (int64_t j = 0; j < src->nfg; j++) {
            int64_t y = src->fg[j] / w, x = src->fg[j] % w;
            if (x >= x0 && x < x1)
                dst->fg[dst->nfg++] = y * nw + (x - x0);
        }
    }
    return UNET_OK;
}

int unet__dataset_finalize(unet__dataset *d, double val_fraction, uint64_t seed)
{
    if (d->finalized)
        return UNET_OK;
    int nauto = 0, nval = 0;
    for (int i = 0; i < d->count; i++) {
        nauto += d->s[i].split == UNET_SPLIT_AUTO;
        nval += d->s[i].split == UNET_SPLIT_VAL;
    }
    if (nval > 0 || val_fraction <= 0 || nauto == 0) {
        for (int i = 0; i < d->count; i++)
            if (d->s[i].split == UNET_SPLIT_AUTO)
                d->s[i].split = UNET_SPLIT_TRAIN;
        strcpy(d->split_kind, nval > 0 ? "explicit" : "none");
    } else if (nauto == 1) {
        /* One image: the right val_fraction of its width validates. */
        int k = 0;
        while (d->s[k].split != UNET_SPLIT_AUTO)
            k++;
        unet__tsample *s = &d->s[k];
        int64_t xs = (int64_t)llround((double)s->w * (1 - val_fraction));
        if (xs < 1 || xs >= s->w)
            return unet__fail(UNET_E_SHAPE, "%s is %lld pixels wide: too narrow to split %g of "
                                            "it off for validation",
                              s->name, (long long)s->w, val_fraction);
        if (d->count == d->cap) {
            unet__tsample *p = realloc(d->s, (size_t)(d->cap + 1) * sizeof *p);
            if (!p)
                return unet__fail(UNET_E_NOMEM, "out of memory splitting an image");
            d->s = p;
            d->cap++;
            s = &d->s[k];
        }
        unet__tsample left, right;
        int rc = crop_columns(s, 0, xs, &left);
        if (rc != UNET_OK)
            return rc;
        if ((rc = crop_columns(s, xs, s->w, &right)) != UNET_OK) {
            sample_free(&left);
            return rc;
        }
        sample_free(s);
        left.split = UNET_SPLIT_TRAIN;
        right.split = UNET_SPLIT_VAL;
        d->s[k] = left;
        d->s[d->count++] = right;
        strcpy(d->split_kind, "region");
    } else {
        int want = (int)llround(nauto * val_fraction);
        want = want < 1 ? 1 : want >= nauto ? nauto - 1 : want;
        /* A seeded shuffle of the AUTO samples; the first `want` validate. */
        int *idx = malloc((size_t)nauto * sizeof *idx);
        if (!idx)
            return unet__fail(UNET_E_NOMEM, "out of memory splitting the data");
        int m = 0;
        for (int i = 0; i < d->count; i++)
            if (d->s[i].split == UNET_SPLIT_AUTO)
                idx[m++] = i;
        unet__rng rng;
        unet__rng_seed(&rng, seed ^ 0x5eed5917ULL);
        for (int i = m - 1; i > 0; i--) {
            int j = (int)(unet__rng_next(&rng) % (uint64_t)(i + 1));
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        for (int i = 0; i < m; i++)
            d->s[idx[i]].split = i < want ? UNET_SPLIT_VAL : UNET_SPLIT_TRAIN;
        free(idx);
        strcpy(d->split_kind, "file");
    }
    d->finalized = true;
    return UNET_OK;
}
