/* Validation metrics (see metrics.h). */
#include "train/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "train/labels.h"

void unet__overlap_counts(const uint8_t *pred, const uint8_t *gt, const uint8_t *valid,
                          int64_t count, int64_t *inter, int64_t *npred, int64_t *ngt)
{
    int64_t i_ = 0, p_ = 0, g_ = 0;
    for (int64_t i = 0; i < count; i++) {
        if (valid && !valid[i])
            continue;
        i_ += pred[i] && gt[i];
        p_ += pred[i] != 0;
        g_ += gt[i] != 0;
    }
    *inter = i_;
    *npred = p_;
    *ngt = g_;
}

typedef struct pair {
    int32_t p, g;
    int64_t n;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->p != y->p)
        return (x->p > y->p) - (x->p < y->p);
    return (x->g > y->g) - (x->g < y->g);
}

typedef struct cand {
    double iou;
    int32_t p, g;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->iou != y->iou)
        return x->iou < y->iou ? 1 : -1; /* descending */
    if (x->p != y->p)
        return (x->p > y->p) - (x->p < y->p);
    return (x->g > y->g) - (x->g < y->g);
}

/* Dense renumbering of positive labels: returns the count; map[i] in 1..count. */
static int64_t renumber(const int32_t *l, int64_t count, int32_t *map)
{
    int32_t *ids = malloc((size_t)(count ? count : 1) * sizeof *ids);
    if (!ids)
        return -1;
    const int64_t n = unet__label_ids(l, count, ids);
    for (int64_t i = 0; i < count; i++)
        map[i] = l[i] > 0 ? (int32_t)(unet__label_index(ids, n, l[i]) + 1) : 0;
    free(ids);
    return n;
}

int unet__metric_instance_match(const int32_t *pred, const int32_t *gt, int64_t count,
                                double thr, int64_t *tp, int64_t *npred, int64_t *ngt)
{
    *tp = *npred = *ngt = 0;
    int32_t *p = malloc((size_t)(count ? count : 1) * sizeof *p);
    int32_t *g = malloc((size_t)(count ? count : 1) * sizeof *g);
    pair *pairs = malloc((size_t)(count ? count : 1) * sizeof *pairs);
    int64_t np = p ? renumber(pred, count, p) : -1, ng = g ? renumber(gt, count, g) : -1;
    int64_t *area_p = np >= 0 ? calloc((size_t)np + 1, sizeof *area_p) : NULL;
    int64_t *area_g = ng >= 0 ? calloc((size_t)ng + 1, sizeof *area_g) : NULL;
    cand *c = NULL;
    uint8_t *used_p = NULL, *used_g = NULL;
    int rc = UNET_OK;
    if (!p || !g || !pairs || np < 0 || ng < 0 || !area_p || !area_g) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory matching instances");
        goto done;
    }
    int64_t npairs = 0;
    for (int64_t i = 0; i < count; i++) {
        area_p[p[i]]++;
        area_g[g[i]]++;
        if (p[i] && g[i])
            pairs[npairs++] = (pair){p[i], g[i], 1};
    }
    qsort(pairs, (size_t)npairs, sizeof *pairs, cmp_pair);
    int64_t u = 0;
    for (int64_t i = 0; i < npairs; i++) {
        if (u > 0 && pairs[u - 1].p == pairs[i].p && pairs[u - 1].g == pairs[i].g)
            pairs[u - 1].n++;
        else
            pairs[u++] = pairs[i];
    }
    c = malloc((size_t)(u ? u : 1) * sizeof *c);
    used_p = calloc((size_t)np + 1, 1);
    used_g = calloc((size_t)ng + 1, 1);
    if (!c || !used_p || !used_g) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory matching instances");
        goto done;
    }
    int64_t nc = 0;
    for (int64_t i = 0; i < u; i++) {
        const double inter = (double)pairs[i].n;
        const double iou = inter / ((double)area_p[pairs[i].p] + (double)area_g[pairs[i].g] -
                                    inter);
        if (iou >= thr)
            c[nc++] = (cand){iou, pairs[i].p, pairs[i].g};
    }
    /* Greedy by IoU: exact (unique) for thresholds above 0.5. */
    qsort(c, (size_t)nc, sizeof *c, cmp_cand);
    for (int64_t i = 0; i < nc; i++)
        if (!used_p[c[i].p] && !used_g[c[i].g]) {
            used_p[c[i].p] = used_g[c[i].g] = 1;
            (*tp)++;
        }
    *npred = np;
    *ngt = ng;
done:
    free(p);
    free(g);
    free(pairs);
    free(area_p);
    free(area_g);
    free(c);
    free(used_p);
    free(used_g);
    return rc;
}

double unet__psnr(const float *x, const float *ref, int64_t count, double data_range)
{
    double se = 0;
    for (int64_t i = 0; i < count; i++)
        se += ((double)x[i] - (double)ref[i]) * ((double)x[i] - (double)ref[i]);
    const double mse = count ? se / (double)count : 0;
    return mse > 0 ? 10 * log10(data_range * data_range / mse) : INFINITY;
}

/* Index i folded into [0, n) by scipy.ndimage's "reflect" border (d c b a | a b c d). */
static int64_t reflect(int64_t i, int64_t n)
{
    while (i < 0 || i >= n)
        i = i < 0 ? -i - 1 : 2 * n - i - 1;
    return i;
}

/* One pass of the Gaussian filter over an h x w image: along rows, or along columns. */
static void gauss_pass(const double *in, double *out, int64_t h, int64_t w, bool columns,
                       const double *k, int r)
{
    const int64_t n = columns ? h : w, step = columns ? w : 1;
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const int64_t p = columns ? y : x; /* the position along the pass */
            double s = 0;
            for (int t = -r; t <= r; t++)
                s += k[t + r] * in[y * w + x + (reflect(p + t, n) - p) * step];
            out[y * w + x] = s;
        }
}

/* Separable Gaussian filter with the "reflect" border: rows, then columns. */
static void gauss_filter(const double *in, double *tmp, double *out, int64_t h, int64_t w,
                         const double *k, int r)
{
    gauss_pass(in, tmp, h, w, false, k, r);
    gauss_pass(tmp, out, h, w, true, k, r);
}

int unet__ssim(const float *x, const float *ref, int64_t h, int64_t w, double data_range,
               double *out)
{
    const double sigma = 1.5;
    const int r = (int)(3.5 * sigma + 0.5);
    double k[64], ks = 0;
    for (int t = -r; t <= r; t++)
        ks += k[t + r] = exp(-0.5 * t * t / (sigma * sigma));
    for (int t = 0; t <= 2 * r; t++)
        k[t] /= ks;
    const int64_t n = h * w;
    double *buf = malloc((size_t)n * 7 * sizeof *buf);
    if (!buf)
        return unet__fail(UNET_E_NOMEM, "out of memory computing SSIM");
    double *prod = buf, *tmp = buf + n, *mx = buf + 2 * n, *my = buf + 3 * n;
    double *sxx = buf + 4 * n, *syy = buf + 5 * n, *sxy = buf + 6 * n;
    /* Filtered x, y, xx, yy, xy: each product formed in `prod`, filtered into its slot. */
    double *const dst[5] = {mx, my, sxx, syy, sxy};
    for (int f = 0; f < 5; f++) {
        for (int64_t i = 0; i < n; i++) {
            const double a = x[i], b = ref[i];
            prod[i] = f == 0 ? a : f == 1 ? b : f == 2 ? a * a : f == 3 ? b * b : a * b;
        }
        gauss_filter(prod, tmp, dst[f], h, w, k, r);
    }
    const double c1 = (0.01 * data_range) * (0.01 * data_range);
    const double c2 = (0.03 * data_range) * (0.03 * data_range);
    double sum = 0;
    int64_t cnt = 0;
    for (int64_t y = r; y < h - r; y++)
        for (int64_t xx = r; xx < w - r; xx++) {
            const int64_t i = y * w + xx;
            const double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i];
            const double cxy = sxy[i] - mx[i] * my[i];
            sum += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2)) /
                   ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
            cnt++;
        }
    free(buf);
    *out = cnt ? sum / (double)cnt : NAN;
    return UNET_OK;
}
