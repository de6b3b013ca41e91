/*
 * Local maxima with a minimum distance, region by region (skimage's peak_local_max with
 * labels=): inside each region's bounding box, pixels of other regions are -inf, a separable
 * max filter (van Herk / Gil-Werman, O(1) per pixel whatever the window) finds the pixels that
 * equal their window's maximum, and a greedy pass keeps the highest first, dropping any peak
 * closer than min_distance (Chebyshev) to one kept before; a grid of min_distance-sized cells
 * makes that check local.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/status.h"
#include "post/post.h"

typedef struct box {
    int64_t z0, y0, x0, z1, y1, x1; /* inclusive bounds */
} box;

typedef struct peaklist {
    int64_t *idx;
    size_t len, cap;
} peaklist;

typedef struct cand {
    float value;
    int64_t index; /* flat index in the image */
} cand;

static int push(peaklist *l, int64_t i)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        int64_t *p = realloc(l->idx, cap * sizeof *p);
        if (!p)
            return UNET_E_NOMEM;
        l->idx = p;
        l->cap = cap;
    }
    l->idx[l->len++] = i;
    return UNET_OK;
}

/* out[i] = max(line[max(0, i - r) .. min(n - 1, i + r)]); g and h are scratch of n floats. */
static void max1d(const float *line, int64_t n, int64_t r, float *out, float *g, float *h)
{
    int64_t win = 2 * r + 1;
    for (int64_t b = 0; b < n; b += win) {
        int64_t e = b + win < n ? b + win : n;
        g[b] = line[b];
        for (int64_t i = b + 1; i < e; i++)
            g[i] = line[i] > g[i - 1] ? line[i] : g[i - 1];
        h[e - 1] = line[e - 1];
        for (int64_t i = e - 2; i >= b; i--)
            h[i] = line[i] > h[i + 1] ? line[i] : h[i + 1];
    }
    /* A window [a, c] (clipped at the ends) spans at most two blocks: then the suffix max
     * from a and the prefix max up to c cover it exactly. Within one block it starts at the
     * block's start (the prefix max) or ends at the clipped end (the suffix max). */
    for (int64_t i = 0; i < n; i++) {
        int64_t a = i - r < 0 ? 0 : i - r, c = i + r >= n ? n - 1 : i + r;
        if (a / win == c / win)
            out[i] = a % win == 0 ? g[c] : h[a];
        else
            out[i] = h[a] > g[c] ? h[a] : g[c];
    }
}

/* A max filter along one axis of a (d, h, w) buffer: lines of n pixels, `stride` apart. */
typedef struct max_pass {
    float *buf;
    int64_t h, w, n, stride, r;
    int axis;
    float **tmp; /* per participant: 4 n floats, made on its first chunk */
    atomic_int failed;
} max_pass;

static void max_lines(void *ctx, int64_t b, int64_t e, int tid)
{
    max_pass *m = ctx;
    const int64_t n = m->n, h = m->h, w = m->w;
    if (!m->tmp[tid] && !(m->tmp[tid] = malloc((size_t)n * 4 * sizeof(float)))) {
        atomic_store(&m->failed, 1);
        return;
    }
    float *tmp = m->tmp[tid], *in = tmp, *out = tmp + n;
    for (int64_t l = b; l < e; l++) {
        /* Line l starts at: x axis, row l; y axis, plane l / w column l % w; z axis, l. */
        int64_t start = m->axis == 2 ? l * w : m->axis == 1 ? (l / w) * h * w + l % w : l;
        for (int64_t i = 0; i < n; i++)
            in[i] = m->buf[start + i * m->stride];
        max1d(in, n, m->r, out, tmp + 2 * n, tmp + 3 * n);
        for (int64_t i = 0; i < n; i++)
            m->buf[start + i * m->stride] = out[i];
    }
}

/* Max filter of radius r along one axis of a (d, h, w) buffer, in place. */
static int max_axis(float *buf, int64_t d, int64_t h, int64_t w, int axis, int64_t r,
                    int threads)
{
    int64_t n = axis == 0 ? d : axis == 1 ? h : w;
    if (n == 1)
        return UNET_OK;
    if (threads < 1)
        threads = 1;
    max_pass m = {.buf = buf, .h = h, .w = w, .n = n, .r = r, .axis = axis,
                  .stride = axis == 0 ? h * w : axis == 1 ? w : 1};
    atomic_init(&m.failed, 0);
    m.tmp = calloc((size_t)threads, sizeof *m.tmp);
    if (!m.tmp)
        return UNET_E_NOMEM;
    const int64_t lines = d * h * w / n;
    unet__pool_for(threads, lines, unet__pool_chunk(lines, threads, 4, 1), max_lines, &m);
    for (int i = 0; i < threads; i++)
        free(m.tmp[i]);
    free(m.tmp);
    return atomic_load(&m.failed) ? UNET_E_NOMEM : UNET_OK;
}

/* The region's pixels copied into its box, others' as -inf; one chunk = planes of the box. */
typedef struct box_fill {
    const float *image;
    const uint32_t *ids;
    uint32_t id;
    const box *bx;
    const unet__grid *g;
    float *buf;
} box_fill;

static void fill_planes(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    const box_fill *f = ctx;
    const box *bx = f->bx;
    const unet__grid *g = f->g;
    const int64_t bh = bx->y1 - bx->y0 + 1, bw = bx->x1 - bx->x0 + 1;
    for (int64_t z = b; z < e; z++)
        for (int64_t y = 0; y < bh; y++) {
            int64_t src = ((bx->z0 + z) * g->h + bx->y0 + y) * g->w + bx->x0;
            float *row = f->buf + (z * bh + y) * bw;
            for (int64_t x = 0; x < bw; x++)
                row[x] = !f->ids || f->ids[src + x] == f->id ? f->image[src + x] : -INFINITY;
        }
}

static int cmp_cand(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->value != b->value)
        return a->value > b->value ? -1 : 1; /* highest first */
    return a->index < b->index ? -1 : a->index > b->index; /* then raster order, as a stable
                                                               sort of np.nonzero would */
}

/* Peaks of region `id` (ids NULL: the whole image) inside bounding box bx, appended to out. */
static int region_peaks(const float *image, const uint32_t *ids, uint32_t id, const box *bx,
                        const unet__grid *g, int64_t m, float thr, peaklist *out, int threads)
{
    int64_t bd = bx->z1 - bx->z0 + 1, bh = bx->y1 - bx->y0 + 1, bw = bx->x1 - bx->x0 + 1;
    int64_t vol = bd * bh * bw;
    float *buf = malloc((size_t)vol * sizeof *buf);
    cand *cands = NULL;
    int64_t *head = NULL, *next = NULL;
    int rc = UNET_E_NOMEM;
    if (!buf)
        goto done;
    box_fill fill = {image, ids, id, bx, g, buf};
    unet__pool_for(threads, bd, 1, fill_planes, &fill);
    for (int axis = 2; axis >= 0; axis--)
        if (max_axis(buf, bd, bh, bw, axis, m, threads) != UNET_OK)
            goto done;

    size_t nc = 0, cap = 0;
    for (int64_t z = 0; z < bd; z++)
        for (int64_t y = 0; y < bh; y++) {
            int64_t src = ((bx->z0 + z) * g->h + bx->y0 + y) * g->w + bx->x0;
            const float *row = buf + (z * bh + y) * bw;
            for (int64_t x = 0; x < bw; x++) {
                float v = image[src + x];
                if ((ids && ids[src + x] != id) || v != row[x] || !(v > thr))
                    continue;
                if (nc == cap) {
                    cap = cap ? cap * 2 : 64;
                    cand *p = realloc(cands, cap * sizeof *p);
                    if (!p)
                        goto done;
                    cands = p;
                }
                cands[nc].value = v;
                cands[nc].index = src + x;
                nc++;
            }
        }
    if (nc == 0) {
        rc = UNET_OK;
        goto done;
    }
    qsort(cands, nc, sizeof *cands, cmp_cand);

    /* Kept peaks by cell of m pixels: a peak closer than m lies in a neighbouring cell. */
    int64_t cd = (bd + m - 1) / m, ch = (bh + m - 1) / m, cw = (bw + m - 1) / m;
    head = malloc((size_t)(cd * ch * cw) * sizeof *head);
    next = malloc(nc * sizeof *next);
    if (!head || !next)
        goto done;
    for (int64_t i = 0; i < cd * ch * cw; i++)
        head[i] = -1;
    for (size_t k = 0; k < nc; k++) {
        int64_t p = cands[k].index;
        int64_t x = p % g->w - bx->x0, y = p / g->w % g->h - bx->y0,
                z = p / (g->w * g->h) - bx->z0;
        int64_t qz = z / m, qy = y / m, qx = x / m;
        bool near = false;
        for (int64_t cz = qz - 1; cz <= qz + 1 && !near; cz++)
            for (int64_t cy = qy - 1; cy <= qy + 1 && !near; cy++)
                for (int64_t cx = qx - 1; cx <= qx + 1 && !near; cx++) {
                    if (cz < 0 || cy < 0 || cx < 0 || cz >= cd || cy >= ch || cx >= cw)
                        continue;
                    for (int64_t j = head[(cz * ch + cy) * cw + cx]; j >= 0; j = next[j]) {
                        int64_t o = cands[j].index;
                        int64_t ox = o % g->w - bx->x0, oy = o / g->w % g->h - bx->y0,
                                oz = o / (g->w * g->h) - bx->z0;
                        if (llabs(ox - x) < m && llabs(oy - y) < m && llabs(oz - z) < m) {
                            near = true;
                            break;
                        }
                    }
                }
        if (near)
            continue;
        int64_t cell = (qz * ch + qy) * cw + qx;
        next[k] = head[cell];
        head[cell] = (int64_t)k;
        if (push(out, p) != UNET_OK)
            goto done;
    }
    rc = UNET_OK;
done:
    free(buf);
    free(cands);
    free(head);
    free(next);
    return rc;
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

/* The smallest pixel value (peaks must lie above it): a minimum per participant. */
typedef struct min_scan {
    const float *image;
    float *min;
} min_scan;

static void min_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    const min_scan *m = ctx;
    float thr = m->min[tid];
    for (int64_t i = b; i < e; i++)
        thr = m->image[i] < thr ? m->image[i] : thr;
    m->min[tid] = thr;
}

/* Peaks of every region, a few regions per chunk, each on one thread. */
typedef struct regions_job {
    const float *image;
    const uint32_t *ids;
    const box *boxes;
    const unet__grid *g;
    int64_t m;
    float thr;
    peaklist *lists;
    atomic_int failed;
} regions_job;

static void regions_chunk(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    regions_job *j = ctx;
    for (int64_t r = b; r < e && !atomic_load_explicit(&j->failed, memory_order_relaxed); r++)
        if (region_peaks(j->image, j->ids, (uint32_t)(r + 1), &j->boxes[r], j->g, j->m, j->thr,
                         &j->lists[r], 1) != UNET_OK)
            atomic_store(&j->failed, 1);
}

int unet__local_maxima(const float *image, const uint32_t *regions, const unet__grid *g,
                       int min_distance, uint32_t *markers, uint32_t *count, int threads)
{
    *count = 0;
    int64_t m = min_distance;
    if (threads < 1)
        threads = 1;
    float *mins = malloc((size_t)threads * sizeof *mins);
    if (!mins)
        return unet__fail(UNET_E_NOMEM, "out of memory finding peaks");
    for (int t = 0; t < threads; t++)
        mins[t] = INFINITY;
    min_scan ms = {image, mins};
    unet__pool_for(threads, g->n, unet__post_chunk(g->n, threads), min_chunk, &ms);
    float thr = INFINITY;
    for (int t = 0; t < threads; t++)
        thr = mins[t] < thr ? mins[t] : thr;
    free(mins);

    int rc = UNET_OK;
    peaklist *lists = NULL;
    box *boxes = NULL;
    size_t nreg = 1;
    unet__labelmap map = {0};
    uint32_t *ids = NULL;
    if (regions) {
        /* Compact region ids go in the markers buffer until the peaks are known. */
        ids = markers;
        if ((rc = unet__labelmap_init(&map, 1024)) != UNET_OK)
            goto done;
        if ((rc = unet__labelmap_scan(&map, regions, g->n, ids)) != UNET_OK) {
            rc = unet__fail(rc, "out of memory mapping region labels");
            goto done;
        }
        nreg = map.len;
    }
    boxes = malloc((nreg ? nreg : 1) * sizeof *boxes);
    lists = calloc(nreg ? nreg : 1, sizeof *lists);
    if (!boxes || !lists) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory finding peaks");
        goto done;
    }
    if (!regions) {
        boxes[0] = (box){0, 0, 0, g->d - 1, g->h - 1, g->w - 1};
    } else {
        for (size_t r = 0; r < nreg; r++)
            boxes[r] = (box){INT64_MAX, INT64_MAX, INT64_MAX, -1, -1, -1};
        int64_t i = 0;
        for (int64_t z = 0; z < g->d; z++)
            for (int64_t y = 0; y < g->h; y++)
                for (int64_t x = 0; x < g->w; x++, i++) {
                    if (!ids[i])
                        continue;
                    box *b = &boxes[ids[i] - 1];
                    if (z < b->z0) b->z0 = z;
                    if (z > b->z1) b->z1 = z;
                    if (y < b->y0) b->y0 = y;
                    if (y > b->y1) b->y1 = y;
                    if (x < b->x0) b->x0 = x;
                    if (x > b->x1) b->x1 = x;
                }
    }

    if (!regions) {
        rc = region_peaks(image, NULL, 0, &boxes[0], g, m, thr, &lists[0], threads);
    } else {
        regions_job job = {.image = image, .ids = ids, .boxes = boxes, .g = g, .m = m,
                           .thr = thr, .lists = lists};
        atomic_init(&job.failed, 0);
        unet__pool_for(threads, (int64_t)nreg, 4, regions_chunk, &job);
        rc = atomic_load(&job.failed) ? UNET_E_NOMEM : UNET_OK;
    }
    if (rc != UNET_OK) {
        rc = unet__fail(rc, "out of memory finding peaks");
        goto done;
    }

    size_t total = 0;
    for (size_t r = 0; r < nreg; r++)
        total += lists[r].len;
    if (total >= UINT32_MAX) {
        rc = unet__fail(UNET_E_UNSUPPORTED, "%zu peaks do not fit uint32 markers", total);
        goto done;
    }
    int64_t *all = malloc((total ? total : 1) * sizeof *all);
    if (!all) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory finding peaks");
        goto done;
    }
    for (size_t r = 0, k = 0; r < nreg; r++) {
        if (lists[r].len)
            memcpy(all + k, lists[r].idx, lists[r].len * sizeof *all);
        k += lists[r].len;
    }
    qsort(all, total, sizeof *all, cmp_i64);
    memset(markers, 0, (size_t)g->n * sizeof *markers);
    for (size_t k = 0; k < total; k++)
        markers[all[k]] = (uint32_t)(k + 1);
    free(all);
    *count = (uint32_t)total;
done:
    if (lists)
        for (size_t r = 0; r < nreg; r++)
            free(lists[r].idx);
    free(lists);
    free(boxes);
    unet__labelmap_free(&map);
    return rc;
}
