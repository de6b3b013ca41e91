/* Targets, weight maps and connected components (see labels.h). */
#include "train/labels.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "post/post.h" /* the exact distance transform */

typedef struct bbox {
    int64_t y0, x0, y1, x1; /* inclusive */
    int32_t id;
} bbox;

static int cmp_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

int64_t unet__label_ids(const int32_t *labels, int64_t count, int32_t *ids)
{
    int64_t n = 0;
    for (int64_t i = 0; i < count; i++)
        if (labels[i] > 0)
            ids[n++] = labels[i];
    qsort(ids, (size_t)n, sizeof *ids, cmp_id);
    int64_t u = 0;
    for (int64_t i = 0; i < n; i++)
        if (u == 0 || ids[i] != ids[u - 1])
            ids[u++] = ids[i];
    return u;
}

int64_t unet__label_index(const int32_t *ids, int64_t n, int32_t label)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const int64_t mid = (lo + hi) / 2;
        if (ids[mid] < label)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int unet__border_weights(const int32_t *labels, int64_t h, int64_t w, double w0, double sigma,
                         float *out)
{
    const int64_t count = h * w;
    /* Instance ids, sorted and unique, with their bounding boxes. */
    int32_t *ids = malloc((size_t)count * sizeof *ids);
    if (!ids)
        return unet__fail(UNET_E_NOMEM, "out of memory for border weights");
    const int64_t nid = unet__label_ids(labels, count, ids);
    bbox *boxes = malloc((size_t)(nid ? nid : 1) * sizeof *boxes);
    double *d1 = malloc((size_t)count * sizeof *d1), *d2 = malloc((size_t)count * sizeof *d2);
    if (!boxes || !d1 || !d2) {
        free(ids);
        free(boxes);
        free(d1);
        free(d2);
        return unet__fail(UNET_E_NOMEM, "out of memory for border weights");
    }
    for (int64_t k = 0; k < nid; k++)
        boxes[k] = (bbox){h, w, -1, -1, ids[k]};
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            int32_t l = labels[y * w + x];
            if (l <= 0)
                continue;
            bbox *b = &boxes[unet__label_index(ids, nid, l)];
            b->y0 = y < b->y0 ? y : b->y0;
            b->x0 = x < b->x0 ? x : b->x0;
            b->y1 = y > b->y1 ? y : b->y1;
            b->x1 = x > b->x1 ? x : b->x1;
        }
    for (int64_t i = 0; i < count; i++)
        d1[i] = d2[i] = INFINITY;
    /* Beyond distance R, w0 exp(-(d1 + d2)^2 / (2 sigma^2)) <= w0 exp(-R^2 / (2 sigma^2)),
     * which R makes < 1e-6 w0: per instance, distances are computed in its box widened by R. */
    const int64_t margin = (int64_t)ceil(sigma * sqrt(2.0 * log(1e6))) + 1;
    int rc = UNET_OK;
    uint8_t *outside = NULL;
    float *dist = NULL;
    size_t cap = 0;
    for (int64_t k = 0; k < nid && rc == UNET_OK; k++) {
        const bbox *b = &boxes[k];
        const int64_t y0 = b->y0 - margin > 0 ? b->y0 - margin : 0;
        const int64_t x0 = b->x0 - margin > 0 ? b->x0 - margin : 0;
        const int64_t y1 = b->y1 + margin < h - 1 ? b->y1 + margin : h - 1;
        const int64_t x1 = b->x1 + margin < w - 1 ? b->x1 + margin : w - 1;
        const int64_t bh = y1 - y0 + 1, bw = x1 - x0 + 1;
        if ((size_t)(bh * bw) > cap) {
            cap = (size_t)(bh * bw);
            free(outside);
            free(dist);
            outside = malloc(cap);
            dist = malloc(cap * sizeof *dist);
            if (!outside || !dist) {
                rc = unet__fail(UNET_E_NOMEM, "out of memory for border weights");
                break;
            }
        }
        /* Distance to the nearest pixel of the instance: the zero pixels of `outside`. */
        for (int64_t y = 0; y < bh; y++)
            for (int64_t x = 0; x < bw; x++)
                outside[y * bw + x] = labels[(y0 + y) * w + x0 + x] != b->id;
        const unet__grid grid = {1, bh, bw, bh * bw};
        const double unit[3] = {1, 1, 1};
        if ((rc = unet__distance_transform(outside, &grid, unit, dist, 1)) != UNET_OK)
            break;
        for (int64_t y = 0; y < bh; y++)
            for (int64_t x = 0; x < bw; x++) {
                const double d = dist[y * bw + x];
                const int64_t i = (y0 + y) * w + x0 + x;
                if (d < d1[i]) {
                    d2[i] = d1[i];
                    d1[i] = d;
                } else if (d < d2[i]) {
                    d2[i] = d;
                }
            }
    }
    if (rc == UNET_OK)
        for (int64_t i = 0; i < count; i++) {
            double v = 1.0;
            if (labels[i] <= 0 && isfinite(d2[i])) {
                const double s = d1[i] + d2[i];
                v += w0 * exp(-s * s / (2 * sigma * sigma));
            }
            out[i] = (float)v;
        }
    free(outside);
    free(dist);
    free(ids);
    free(boxes);
    free(d1);
    free(d2);
    return rc;
}

/* A neighbour of another instance (not background). */
static inline bool other(int32_t neighbour, int32_t label)
{
    return neighbour > 0 && neighbour != label;
}

void unet__target_foreground(const int32_t *labels, int64_t count, float *out)
{
    for (int64_t i = 0; i < count; i++)
        out[i] = labels[i] > 0 ? 1.0f : 0.0f;
}

void unet__target_3class(const int32_t *labels, int64_t h, int64_t w, float *out)
{
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const int32_t l = labels[y * w + x];
            float c = 0;
            if (l > 0) {
                c = 1;
                if ((y > 0 && labels[(y - 1) * w + x] != l) ||
                    (y < h - 1 && labels[(y + 1) * w + x] != l) ||
                    (x > 0 && labels[y * w + x - 1] != l) ||
                    (x < w - 1 && labels[y * w + x + 1] != l))
                    c = 2;
            }
            out[y * w + x] = c;
        }
}

int unet__target_distance(const int32_t *labels, int64_t h, int64_t w, float *out)
{
    const int64_t hw = h * w;
    float *dist = out + hw;
    unet__target_foreground(labels, hw, out);
    uint8_t *inside = malloc((size_t)(hw ? hw : 1));
    int32_t *ids = malloc((size_t)(hw ? hw : 1) * sizeof *ids);
    float *peak = NULL;
    int rc = UNET_OK;
    if (!inside || !ids) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a distance target");
        goto done;
    }
    /* A pixel touching another instance is part of the seam between the two: distance 0, so
     * the map dips where nuclei touch whatever their size. */
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const int32_t l = labels[y * w + x];
            inside[y * w + x] = l > 0 && !(y > 0 && other(labels[(y - 1) * w + x], l)) &&
                                !(y < h - 1 && other(labels[(y + 1) * w + x], l)) &&
                                !(x > 0 && other(labels[y * w + x - 1], l)) &&
                                !(x < w - 1 && other(labels[y * w + x + 1], l));
        }
    const unet__grid grid = {1, h, w, hw};
    const double unit[3] = {1, 1, 1};
    if ((rc = unet__distance_transform(inside, &grid, unit, dist, 1)) != UNET_OK)
        goto done;
    const int64_t n = unet__label_ids(labels, hw, ids);
    peak = calloc((size_t)(n ? n : 1), sizeof *peak);
    if (!peak) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a distance target");
        goto done;
    }
    /* Outside every instance the transform is 0; an instance filling the image has no zero
     * pixel (+inf): its own extent stands in. */
    for (int64_t i = 0; i < hw; i++) {
        if (!isfinite(dist[i]))
            dist[i] = (float)(h > w ? h : w);
        if (labels[i] > 0) {
            float *m = &peak[unet__label_index(ids, n, labels[i])];
            *m = dist[i] > *m ? dist[i] : *m;
        }
    }
    for (int64_t i = 0; i < hw; i++) {
        const float m = labels[i] > 0 ? peak[unet__label_index(ids, n, labels[i])] : 0;
        dist[i] = m > 0 ? dist[i] / m : 0;
    }
done:
    free(inside);
    free(ids);
    free(peak);
    return rc;
}

/* Union-find root with path halving. */
static int64_t find_root(int64_t *parent, int64_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

int64_t unet__train_components(const uint8_t *mask, int64_t h, int64_t w, int conn8,
                                   int32_t *labels)
{
    const int64_t count = h * w;
    int64_t *parent = malloc((size_t)(count ? count : 1) * sizeof *parent);
    if (!parent)
        return unet__fail(UNET_E_NOMEM, "out of memory for connected components");
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            const int64_t i = y * w + x;
            parent[i] = i;
            if (!mask[i])
                continue;
            /* Earlier neighbours: left, up, and with 8-connectivity up-left and up-right. */
            const int64_t nb[4][2] = {{0, -1}, {-1, 0}, {-1, -1}, {-1, 1}};
            for (int k = 0; k < (conn8 ? 4 : 2); k++) {
                const int64_t yy = y + nb[k][0], xx = x + nb[k][1];
                if (yy < 0 || xx < 0 || xx >= w || !mask[yy * w + xx])
                    continue;
                int64_t a = find_root(parent, i), b = find_root(parent, yy * w + xx);
                if (a != b) {
                    if (a < b)
                        parent[b] = a;
                    else
                        parent[a] = b;
                }
            }
        }
    /* Roots are the first pixel of each component in raster order; number them so. */
    int64_t next = 0;
    for (int64_t i = 0; i < count; i++) {
        if (!mask[i]) {
            labels[i] = 0;
            continue;
        }
        int64_t r = find_root(parent, i);
        if (r == i)
            labels[i] = (int32_t)++next;
        else
            labels[i] = labels[r];
    }
    free(parent);
    return next;
}
