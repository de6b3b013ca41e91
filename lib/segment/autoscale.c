/* The typical object diameter of an image from quick passes of the model (see autoscale.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "model/model.h"
#include "segment/autoscale.h"
#include "segment/resample.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* The estimator's constants (autoscale.h says why and where they were chosen). */
static const double LEVELS[] = {0.125, 0.25, 0.5, 1.0};
#define NLEVELS ((int)(sizeof LEVELS / sizeof LEVELS[0]))
#define WHOLE_AXIS 512    /* an axis up to this is measured whole ... */
#define WINDOW 256        /* ... a longer one in two windows of this, at 1/4 and 3/4 */
#define MIN_AXIS 32       /* levels that shrink an axis below this are skipped */
#define CONFIDENT 0.8     /* mean object probability of a confident object */
#define MIN_OBJECTS 5     /* confident objects a level needs to speak */
#define RESOLVED 16.0     /* median diameter (resized px) at which a level resolves objects */
#define PERSIST 0.3       /* share of a level's objects the next finer level must still see */
#define MAX_WINDOWS 4

/* Where a level found its confident objects: one mask per window, resized pixels. */
typedef struct object_mask {
    int64_t y, x, h, w;
    uint8_t *m;
} object_mask;

typedef struct level {
    bool done;
    double *d; /* confident objects' diameters, image pixels */
    int64_t n, cap;
    double median;
    double sy, sx; /* resized pixels per image pixel along each axis */
    bool keep_mask; /* the next level checks this one's objects (judged()) */
    object_mask mask[MAX_WINDOWS];
    int nmask;
    /* Of the previous (coarser) level's object pixels, as this level's pixels see them: how
     * many this level saw, and how many of those it found inside an object of its own. */
    int64_t covered, kept;
} level;

/* Progress of one network run mapped into [a, b] of the caller's call. */
typedef struct span_progress {
    const unet__autoscale_job *job;
    double a, b;
} span_progress;

static int run_progress(void *user, double fraction, const char *stage)
{
    (void)stage;
    const span_progress *sp = user;
    const unet__autoscale_job *j = sp->job;
    return j->progress ? j->progress(j->progress_user, sp->a + fraction * (sp->b - sp->a),
                                     "scale")
                       : 0;
}

typedef struct label_buffer {
    uint32_t *labels;
    int64_t width;
} label_buffer;

static int emit_labels(void *user, int64_t y, int64_t h, const uint32_t *src)
{
    label_buffer *b = user;
    memcpy(b->labels + y * b->width, src, (size_t)(h * b->width) * sizeof *src);
    return UNET_OK;
}

/* Probability that pixel i (of n) belongs to an object, from the model's output. */
static double object_probability(const unet__autoscale_job *j, const float *out, int64_t n,
                                 int64_t i)
{
    if (j->seg->kind != UNET__SEG_3CLASS) { /* one channel, or distance's first */
        double v = out[i];
        return j->seg->logits ? 1.0 / (1.0 + exp(-v)) : v;
    }
    double bg = out[i], in = out[n + i], bd = out[2 * n + i];
    if (j->model->cfg.final_activation == UNET__FINAL_SOFTMAX)
        return 1.0 - bg;
    double mx = fmax(bg, fmax(in, bd)); /* logits: the softmax's background share */
    double e0 = exp(bg - mx), e1 = exp(in - mx), e2 = exp(bd - mx);
    return (e1 + e2) / (e0 + e1 + e2);
}

static int push_diameter(level *l, double d)
{
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 64;
        double *p = realloc(l->d, (size_t)cap * sizeof *p);
        if (!p)
            return unet__fail(UNET_E_NOMEM, "out of memory measuring objects");
        l->d = p;
        l->cap = cap;
    }
    l->d[l->n++] = d;
    return UNET_OK;
}

/* Whether the level found a confident object at image position (iy, ix) (false outside its
 * windows). */
static bool object_at(const level *l, double iy, double ix)
{
    int64_t y = (int64_t)(iy * l->sy), x = (int64_t)(ix * l->sx);
    for (int k = 0; k < l->nmask; k++) {
        const object_mask *o = &l->mask[k];
        if (y >= o->y && y < o->y + o->h && x >= o->x && x < o->x + o->w)
            return o->m[(y - o->y) * o->w + (x - o->x)];
    }
    return false;
}

/* Keep the window's confident objects as the level's mask when the next level checks them,
 * and count how much of the coarser level's objects (when given) this window's objects
 * confirm. */
static int compare_levels(const uint32_t *labels, const bool *confident, int64_t y, int64_t x,
                          int64_t h, int64_t w, const level *coarser, level *l)
{
    uint8_t *m = NULL;
    if (l->keep_mask) {
        if (l->nmask == MAX_WINDOWS)
            return unet__fail(UNET_E_INTERNAL, "more scale windows than %d", MAX_WINDOWS);
        if (!(m = malloc((size_t)(h * w))))
            return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld object mask",
                              (long long)h, (long long)w);
        l->mask[l->nmask++] = (object_mask){y, x, h, w, m};
    } else if (!coarser) {
        return UNET_OK;
    }
    for (int64_t yy = 0; yy < h; yy++)
        for (int64_t xx = 0; xx < w; xx++) {
            uint32_t id = labels[yy * w + xx];
            if (m)
                m[yy * w + xx] = id && confident[id];
            /* the pixel's centre on the image grid */
            if (coarser && object_at(coarser, ((double)(y + yy) + 0.5) / l->sy,
                                     ((double)(x + xx) + 0.5) / l->sx)) {
                l->covered++;
                l->kept += id != 0;
            }
        }
    return UNET_OK;
}

/* Segment one window (the resized image's rows [y, y+h), columns [x, x+w)) and add its
 * confident objects' diameters to the level; `coarser`, when given, is checked against it. */
static int measure_window(const unet__autoscale_job *j, double scale, unet_read_fn read,
                          void *read_user, const unet__affine *affine, int64_t y, int64_t x,
                          int64_t h, int64_t w, const span_progress *sp, const level *coarser,
                          level *l)
{
    const int64_t C = j->src.channels, Co = j->model->cfg.out_channels, n = h * w;
    float *in = unet__alloc_floats((size_t)(C * n));
    float *out = unet__alloc_floats((size_t)(Co * n));
    uint32_t *labels = malloc((size_t)n * sizeof *labels);
    int64_t *area = NULL;
    double *conf = NULL;
    bool *edge = NULL, *confident = NULL;
    unet__seg *seg = NULL;
    int rc = UNET_OK;
    if (!in || !out || !labels) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld scale window",
                        (long long)h, (long long)w);
        goto done;
    }
    rc = read(read_user, j->plane, y, x, h, w, in);
    if (rc != 0) {
        rc = rc < 0 ? rc : unet__fail(UNET_E_IO, "reading region (%lld, %lld) %lld x %lld "
                                                 "failed (callback returned %d)",
                                      (long long)y, (long long)x, (long long)h, (long long)w,
                                      rc);
        goto done;
    }
    /* Normalised with the whole image's statistics, so a window of background stays dark. */
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < n; i++)
            in[c * n + i] = (float)(((double)in[c * n + i] - affine[c].shift) * affine[c].scale);
    struct unet_predict_opts po;
    unet__predict_opts_defaults(&po);
    unet__opts_copy(unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, &po, j->predict);
    po.normalize = UNET_NORMALIZE_NONE;
    po.max_pixels = 0; /* the caller counted the image; windows are this file's business */
    /* One plain pass: flips would quadruple the estimate's time for a median diameter they
     * hardly move, and the scale stays the same with and without tta. */
    po.tta = false;
    /* One tile of a fixed size, not the automatic one: that depends on the thread count, and
     * tilings differ in float rounding (~1e-6), which must not change the scale between a
     * segmentation and a click session run with other thread counts. */
    int64_t B = j->model->block_multiple;
    po.tile = (WHOLE_AXIS + B - 1) / B * B;
    po.blend = 0;
    po.batch = 1;
    po.progress = run_progress;
    po.progress_user = (void *)sp;
    if ((rc = unet__predict_memory(j->model, &po, in, UNET_F32, 1, C, h, w, out)) != UNET_OK)
        goto done;
    unet__seg_params p = *j->seg;
    p.strip = h;
    p.overlap = 1;
    label_buffer lb = {labels, w};
    if ((rc = unet__seg_create(&p, h, w, emit_labels, &lb, &seg)) != UNET_OK ||
        (rc = unet__seg_push(seg, 0, h, out)) != UNET_OK)
        goto done;
    uint32_t count = unet__seg_count(seg);
    area = calloc((size_t)count + 1, sizeof *area);
    conf = calloc((size_t)count + 1, sizeof *conf);
    edge = calloc((size_t)count + 1, sizeof *edge);
    confident = calloc((size_t)count + 1, sizeof *confident);
    if (!area || !conf || !edge || !confident) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory measuring %u objects", count);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        uint32_t id = labels[i];
        if (!id)
            continue;
        int64_t yy = i / w, xx = i % w;
        area[id]++;
        conf[id] += object_probability(j, out, n, i);
        edge[id] = edge[id] || yy == 0 || yy == h - 1 || xx == 0 || xx == w - 1;
    }
    for (uint32_t id = 1; id <= count && rc == UNET_OK; id++) {
        confident[id] = area[id] > 0 && !edge[id] && conf[id] >= CONFIDENT * (double)area[id];
        if (confident[id])
            rc = push_diameter(l, sqrt(4.0 * (double)area[id] / M_PI) / scale);
    }
    if (rc == UNET_OK)
        rc = compare_levels(labels, confident, y, x, h, w, coarser, l);
done:
    unet__seg_free(seg);
    unet__free_aligned(in);
    unet__free_aligned(out);
    free(labels);
    free(area);
    free(conf);
    free(edge);
    free(confident);
    return rc;
}

/* Windows along an axis of `size` resized pixels: the whole axis, or two WINDOW-long ones
 * centred at 1/4 and 3/4. Returns the count; start/len receive them. */
static int axis_windows(int64_t size, int64_t start[2], int64_t len[2])
{
    if (size <= WHOLE_AXIS) {
        start[0] = 0;
        len[0] = size;
        return 1;
    }
    for (int k = 0; k < 2; k++) {
        start[k] = size * (2 * k + 1) / 4 - WINDOW / 2;
        len[k] = WINDOW;
    }
    return 2;
}

/* Resized pixels a level reads (its share of the progress). */
static double level_pixels(const unet__autoscale_job *j, double s)
{
    int64_t sy[2], ly[2], sx[2], lx[2];
    int64_t sh = unet__scaled_size(j->src.height, s), sw = unet__scaled_size(j->src.width, s);
    if (sh < MIN_AXIS || sw < MIN_AXIS)
        return 0;
    int ny = axis_windows(sh, sy, ly), nx = axis_windows(sw, sx, lx);
    return (double)(ny * ly[0]) * (double)(nx * lx[0]);
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int measure_level(const unet__autoscale_job *j, const unet__affine *affine, int k,
                         double f0, double f1, const level *coarser, level *l)
{
    const double s = LEVELS[k];
    const int64_t H = j->src.height, W = j->src.width;
    l->done = true;
    int64_t sh = unet__scaled_size(H, s), sw = unet__scaled_size(W, s);
    if (s == 1.0) {
        sh = H;
        sw = W;
    }
    if (sh < MIN_AXIS || sw < MIN_AXIS)
        return UNET_OK;
    l->sy = (double)sh / (double)H;
    l->sx = (double)sw / (double)W;
    unet__scaled_reader sr = {j->src.read, j->src.user, j->src.channels, H, W, sh, sw, NULL, 0,
                              j->seg->threads};
    bool resized = sh != H || sw != W;
    unet_read_fn read = resized ? unet__scaled_read : j->src.read;
    void *read_user = resized ? (void *)&sr : j->src.user;
    int64_t sy[2], ly[2], sx[2], lx[2];
    int ny = axis_windows(sh, sy, ly), nx = axis_windows(sw, sx, lx);
    int rc = UNET_OK;
    double total = (double)(ny * ly[0]) * (double)(nx * lx[0]), done = 0;
    for (int a = 0; a < ny && rc == UNET_OK; a++)
        for (int b = 0; b < nx && rc == UNET_OK; b++) {
            double px = (double)ly[a] * (double)lx[b];
            span_progress sp = {j, f0 + (f1 - f0) * done / total,
                                f0 + (f1 - f0) * (done + px) / total};
            rc = measure_window(j, s, read, read_user, affine, sy[a], sx[b], ly[a], lx[b], &sp,
                                coarser, l);
            done += px;
        }
    unet__scaled_reader_free(&sr);
    if (rc == UNET_OK && l->n > 0) {
        qsort(l->d, (size_t)l->n, sizeof *l->d, compare_double);
        l->median = l->n % 2 ? l->d[l->n / 2] : 0.5 * (l->d[l->n / 2 - 1] + l->d[l->n / 2]);
    }
    return rc;
}

/* Whether the level after k (twice as fine) still finds objects where level k found them:
 * out-of-focus haze shrunk 4x looks like nuclei, but seen twice as fine a model trained on
 * haze finds nothing there, while real objects stay objects (large ones cut into their
 * textures, still inside objects). Only resized levels judge: at the image's own pixels the
 * soft edges of oversampled nuclei (a 2x-upsampled `unet sample` image) look like haze too.
 * A level whose successor saw none of its objects (other windows) stands unchallenged. */
static bool judged(int k)
{
    return k + 1 < NLEVELS - 1; /* the level after k is a resized one */
}

static bool confirmed(const level *lv, int k)
{
    if (!judged(k) || !lv[k + 1].done)
        return true;
    return (double)lv[k + 1].kept >= PERSIST * (double)lv[k + 1].covered;
}

int unet__estimate_diameter(const unet__autoscale_job *j, unet__autoscale *out)
{
    memset(out, 0, sizeof *out);
    const int64_t C = j->src.channels;
    unet__affine *affine = calloc((size_t)C, sizeof *affine);
    level lv[NLEVELS];
    memset(lv, 0, sizeof lv);
    if (!affine)
        return unet__fail(UNET_E_NOMEM, "out of memory for %lld channels", (long long)C);
    /* Progress: the statistics pass as much as one level, each level by its pixels. */
    double share[NLEVELS + 1], total = 0;
    for (int k = 0; k < NLEVELS; k++)
        total += share[k + 1] = level_pixels(j, LEVELS[k]);
    share[0] = total / NLEVELS;
    total += share[0];
    double at[NLEVELS + 2];
    at[0] = j->f0;
    for (int k = 0; k <= NLEVELS; k++)
        at[k + 1] = at[k] + (j->f1 - j->f0) * (total > 0 ? share[k] / total : 0);
    /* The whole image's normalisation, as segmentation would compute it at scale 1. */
    struct unet_predict_opts po;
    unet__predict_opts_defaults(&po);
    unet__opts_copy(unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, &po, j->predict);
    span_progress sp = {j, at[0], at[1]};
    po.progress = run_progress;
    po.progress_user = &sp;
    unet__progress prog = {&po, -1.0, 0.0};
    unet__norm norm = unet__predict_norm(j->model, &po);
    int rc = unet__plane_normalization(&j->src, j->plane, &norm, affine, &prog, 0.0, 1.0);
    /* Coarse to fine: the first level that resolves the objects decides, once the next finer
     * level confirms them (confirmed()). */
    int pick = -1, candidate = -1;
    for (int k = 0; k < NLEVELS && rc == UNET_OK && pick < 0; k++) {
        lv[k].keep_mask = judged(k);
        rc = measure_level(j, affine, k, at[k + 1], at[k + 2],
                           k > 0 && judged(k - 1) ? &lv[k - 1] : NULL, &lv[k]);
        if (rc != UNET_OK)
            break;
        if (candidate >= 0 && confirmed(lv, candidate)) {
            pick = candidate;
            break;
        }
        candidate = -1;
        if (lv[k].n >= MIN_OBJECTS && lv[k].median * LEVELS[k] >= RESOLVED) {
            if (judged(k))
                candidate = k;
            else
                pick = k; /* no level judges it: measuring the next would be wasted */
        }
    }
    /* Nothing resolved: the finest level that saw enough objects (small ones), if every finer
     * level confirms what it saw (haze seen as objects at 1/8 may still be blobs at 1/4). */
    bool chain = true;
    for (int k = NLEVELS - 1; k >= 0 && rc == UNET_OK && pick < 0; k--) {
        if (!lv[k].done)
            continue;
        chain = chain && confirmed(lv, k);
        if (chain && lv[k].n >= MIN_OBJECTS)
            pick = k;
    }
    if (rc == UNET_OK && pick >= 0) {
        out->diameter = lv[pick].median;
        out->objects = lv[pick].n;
        out->level = LEVELS[pick];
    }
    for (int k = 0; k < NLEVELS; k++) {
        free(lv[k].d);
        for (int m = 0; m < lv[k].nmask; m++)
            free(lv[k].mask[m].m);
    }
    free(affine);
    return rc;
}

double unet__scale_for_diameter(double model_diameter, double diameter)
{
    if (!(model_diameter > 0) || !(diameter > 0))
        return 1.0;
    double s = model_diameter / diameter;
    return s < UNET__AUTOSCALE_MIN ? UNET__AUTOSCALE_MIN
                                   : s > UNET__AUTOSCALE_MAX ? UNET__AUTOSCALE_MAX : s;
}
