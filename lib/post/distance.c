/*
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance transforms of
 * sampled functions", 2012): the squared distance is separable, so one lower-envelope-of-
 * parabolas pass per axis gives it exactly. Squared distances stay in the float output
 * between passes (exact integers below 2^24, i.e. 4096 px at unit spacing); the last pass
 * takes the square root.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/pool.h"
#include "core/status.h"
#include "post/post.h"

/* Lines gathered together for the strided axes, so each row of the image is read as one
 * contiguous run of BLOCK floats instead of BLOCK cache lines. */
#define BLOCK 16

typedef struct work {
    double *f, *dst, *z;
    int64_t *v;
    float *gather;
    int state; /* 0 not allocated yet, 1 ready, -1 out of memory */
} work;

/* d[q] = min over p of (s (q - p))^2 + f[p]; f may hold +inf (no sample). */
static void envelope(const double *f, int64_t n, double s2, double *d, int64_t *v, double *z)
{
    int64_t k = -1;
    for (int64_t q = 0; q < n; q++) {
        if (isinf(f[q]))
            continue;
        if (k < 0) {
            k = 0;
            v[0] = q;
            z[0] = -INFINITY;
            z[1] = INFINITY;
            continue;
        }
        double s;
        for (;;) {
            int64_t p = v[k];
            /* Intersection of the parabolas at p and q, written to avoid q^2 (inexact past
             * 2^26 in double). z[0] = -inf stops the loop at k = 0. */
            s = (f[q] - f[p]) / (2.0 * s2 * (double)(q - p)) + 0.5 * (double)(q + p);
            if (s > z[k])
                break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INFINITY;
    }
    if (k < 0) {
        for (int64_t q = 0; q < n; q++)
            d[q] = INFINITY;
        return;
    }
    k = 0;
    for (int64_t q = 0; q < n; q++) {
        while (z[k + 1] < (double)q)
            k++;
        double t = (double)(q - v[k]);
        d[q] = s2 * t * t + f[v[k]];
    }
}

static int work_alloc(work *wk, int64_t n)
{
    wk->f = malloc((size_t)n * sizeof *wk->f);
    wk->dst = malloc((size_t)n * sizeof *wk->dst);
    wk->z = malloc((size_t)(n + 1) * sizeof *wk->z);
    wk->v = malloc((size_t)n * sizeof *wk->v);
    wk->gather = malloc((size_t)n * BLOCK * sizeof *wk->gather);
    return wk->f && wk->dst && wk->z && wk->v && wk->gather;
}

static void work_free(work *wk)
{
    free(wk->f);
    free(wk->dst);
    free(wk->z);
    free(wk->v);
    free(wk->gather);
}

/* Along x: the mask gives f (0 on background, +inf on foreground). */
static void pass_rows(const uint8_t *mask, const unet__grid *g, double s2, float *out,
                      work *wk, int64_t r0, int64_t r1, bool last)
{
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *m = mask + r * g->w;
        for (int64_t x = 0; x < g->w; x++)
            wk->f[x] = m[x] ? INFINITY : 0.0;
        envelope(wk->f, g->w, s2, wk->dst, wk->v, wk->z);
        float *o = out + r * g->w;
        for (int64_t x = 0; x < g->w; x++)
            o[x] = (float)(last ? sqrt(wk->dst[x]) : wk->dst[x]);
    }
}

/* Along a strided axis of length n: lines start at base + j (j in [j0, j1), contiguous) and
 * step by `stride`. */
static void pass_strided(float *data, int64_t base, int64_t j0, int64_t j1, int64_t n,
                         int64_t stride, double s2, bool last, work *wk)
{
    int64_t nb = j1 - j0;
    for (int64_t i = 0; i < n; i++) {
        const float *src = data + base + i * stride + j0;
        for (int64_t j = 0; j < nb; j++)
            wk->gather[j * n + i] = src[j];
    }
    for (int64_t j = 0; j < nb; j++) {
        float *line = wk->gather + j * n;
        for (int64_t i = 0; i < n; i++)
            wk->f[i] = line[i];
        envelope(wk->f, n, s2, wk->dst, wk->v, wk->z);
        for (int64_t i = 0; i < n; i++)
            line[i] = (float)(last ? sqrt(wk->dst[i]) : wk->dst[i]);
    }
    for (int64_t i = 0; i < n; i++) {
        float *dst = data + base + i * stride + j0;
        for (int64_t j = 0; j < nb; j++)
            dst[j] = wk->gather[j * n + i];
    }
}

/* The three passes, each a parallel loop; every participant's line buffers are made on its
 * first chunk and kept for the next passes. */
typedef struct dt {
    const uint8_t *mask;
    const unet__grid *g;
    const double *spacing;
    float *dist;
    int64_t longest, xblocks;
    bool three_d;
    work *wk;         /* one per participant */
    atomic_int failed;
} dt;

static work *dt_work(dt *d, int tid)
{
    work *wk = &d->wk[tid];
    if (wk->state == 0)
        wk->state = work_alloc(wk, d->longest) ? 1 : -1;
    if (wk->state < 0) {
        atomic_store(&d->failed, 1);
        return NULL;
    }
    return wk;
}

/* Along x, row by row. */
static void dt_rows(void *ctx, int64_t b, int64_t e, int tid)
{
    dt *d = ctx;
    work *wk = dt_work(d, tid);
    if (wk)
        pass_rows(d->mask, d->g, d->spacing[2] * d->spacing[2], d->dist, wk, b, e,
                  d->g->h == 1 && !d->three_d);
}

/* Along y, plane by plane, BLOCK columns at a time. */
static void dt_cols(void *ctx, int64_t b, int64_t e, int tid)
{
    dt *d = ctx;
    const unet__grid *g = d->g;
    work *wk = dt_work(d, tid);
    for (int64_t t = b; t < e && wk; t++) {
        int64_t z = t / d->xblocks, j0 = t % d->xblocks * BLOCK;
        int64_t j1 = j0 + BLOCK < g->w ? j0 + BLOCK : g->w;
        pass_strided(d->dist, z * g->h * g->w, j0, j1, g->h, g->w,
                     d->spacing[1] * d->spacing[1], !d->three_d, wk);
    }
}

/* Along z, BLOCK pixels of the plane at a time. */
static void dt_planes(void *ctx, int64_t b, int64_t e, int tid)
{
    dt *d = ctx;
    const int64_t plane = d->g->h * d->g->w;
    work *wk = dt_work(d, tid);
    for (int64_t t = b; t < e && wk; t++) {
        int64_t j0 = t * BLOCK, j1 = j0 + BLOCK < plane ? j0 + BLOCK : plane;
        pass_strided(d->dist, 0, j0, j1, d->g->d, plane, d->spacing[0] * d->spacing[0], true,
                     wk);
    }
}

int unet__distance_transform(const uint8_t *mask, const unet__grid *g, const double spacing[3],
                             float *dist, int threads)
{
    int64_t longest = g->w > g->h ? g->w : g->h;
    if (g->d > longest)
        longest = g->d;
    if (threads < 1)
        threads = 1;
    dt d = {.mask = mask, .g = g, .spacing = spacing, .dist = dist, .longest = longest,
            .three_d = g->d > 1};
    atomic_init(&d.failed, 0);
    d.wk = calloc((size_t)threads, sizeof *d.wk);
    if (!d.wk)
        return unet__fail(UNET_E_NOMEM, "out of memory for the distance transform");
    /* Chunks of whole lines: a line is already thousands of operations. */
    const int64_t rows = g->d * g->h;
    unet__pool_for(threads, rows, unet__pool_chunk(rows, threads, 4, 1), dt_rows, &d);
    d.xblocks = (g->w + BLOCK - 1) / BLOCK;
    if (g->h > 1 && !atomic_load(&d.failed)) {
        const int64_t tasks = g->d * d.xblocks;
        unet__pool_for(threads, tasks, unet__pool_chunk(tasks, threads, 4, 1), dt_cols, &d);
    }
    if (d.three_d && !atomic_load(&d.failed)) {
        const int64_t plane = g->h * g->w, tasks = (plane + BLOCK - 1) / BLOCK;
        unet__pool_for(threads, tasks, unet__pool_chunk(tasks, threads, 4, 1), dt_planes, &d);
    }
    for (int i = 0; i < threads; i++)
        work_free(&d.wk[i]);
    free(d.wk);
    if (atomic_load(&d.failed))
        return unet__fail(UNET_E_NOMEM, "out of memory for the distance transform");
    return UNET_OK;
}
