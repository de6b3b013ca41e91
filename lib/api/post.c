/*
 * The public post-processing calls: argument validation, then the algorithms of post/. Every
 * entry point clears the error message, checks each pointer, the shape, and every parameter
 * before touching memory, and leaves its counts at 0 on failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/opts_api.h"
#include "core/alloc.h"
#include "core/status.h"
#include "core/threads.h"
#include "post/opts.h"
#include "post/post.h"

#define MAX_AXIS ((int64_t)1 << 31)

typedef struct unet_post_opts O;

static const unet__opts_table *const table = &unet__post_opts_table;

UNET__OPTS_API(unet_post_opts, table)
UNET__OPTS_SETTER(unet_post_opts, table, threads, int, i64)
UNET__OPTS_SETTER(unet_post_opts, table, connectivity, int, i64)
UNET__OPTS_SETTER(unet_post_opts, table, threshold, double, double)
UNET__OPTS_SETTER(unet_post_opts, table, min_distance, int, i64)
UNET__OPTS_SETTER(unet_post_opts, table, min_size, int64_t, i64)
UNET__OPTS_SETTER(unet_post_opts, table, max_size, int64_t, i64)

/* ---- argument checks ---- */

static int check_grid(const char *fn, int ndim, const int64_t *shape, unet__grid *g)
{
    if (ndim != 2 && ndim != 3)
        return unet__fail(UNET_E_SHAPE, "%s: ndim %d is not 2 (H, W) or 3 (D, H, W)", fn, ndim);
    if (!shape)
        return unet__fail(UNET_E_INVALID_ARG, "%s: shape is NULL", fn);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > MAX_AXIS)
            return unet__fail(UNET_E_SHAPE, "%s: axis %d has size %lld (must be 1 to 2^31)", fn,
                              i, (long long)shape[i]);
    int64_t n;
    /* 16 bytes per pixel is the most any call here holds (3-class probabilities + labels). */
    if (!unet__product(shape, ndim, INT64_MAX / 16, &n) || (uint64_t)n > SIZE_MAX / 16)
        return unet__fail(UNET_E_NOMEM, "%s: an image of %.4g pixels is too large", fn,
                          (double)shape[0] * (double)shape[1] *
                              (ndim == 3 ? (double)shape[2] : 1.0));
    g->d = ndim == 3 ? shape[0] : 1;
    g->h = shape[ndim - 2];
    g->w = shape[ndim - 1];
    g->n = n;
    return UNET_OK;
}

/* Public connectivity (0 default, 4/8 in 2-D, 6/18/26 in 3-D) to a neighbourhood rank. */
static int check_connectivity(const char *fn, int ndim, int connectivity, int *rank)
{
    if (connectivity == 0)
        *rank = 1;
    else if (ndim == 2 && (connectivity == 4 || connectivity == 8))
        *rank = connectivity == 4 ? 1 : 3;
    else if (ndim == 3 && (connectivity == 6 || connectivity == 18 || connectivity == 26))
        *rank = connectivity == 6 ? 1 : connectivity == 18 ? 2 : 3;
    else
        return unet__fail(UNET_E_INVALID_ARG, "%s: connectivity %d is not %s (or 0 for %s)", fn,
                          connectivity, ndim == 2 ? "4 or 8 in 2-D" : "6, 18 or 26 in 3-D",
                          ndim == 2 ? "4" : "6");
    return UNET_OK;
}

static int check_spacing(const char *fn, int ndim, const double *spacing, double out[3])
{
    out[0] = out[1] = out[2] = 1.0;
    if (!spacing)
        return UNET_OK;
    for (int i = 0; i < ndim; i++) {
        double s = spacing[i];
        if (!(s > 0) || !isfinite(s * s) || !(s * s > 0))
            return unet__fail(UNET_E_INVALID_ARG, "%s: spacing %g of axis %d is not a positive "
                                                  "finite number", fn, s, i);
        out[3 - ndim + i] = s;
    }
    return UNET_OK;
}

static int check_finite_image(const char *fn, const char *what, const float *x,
                              const unet__grid *g, int ndim, int threads)
{
    int64_t bad = unet__first_nan(x, g->n, threads);
    if (bad < 0)
        return UNET_OK;
    char where[96];
    return unet__fail(UNET_E_INVALID_ARG, "%s: %s at %s is NaN", fn, what,
                      unet__grid_where(g, ndim, bad, where, sizeof where));
}

/* What a call holds while it runs: its name for messages, the options in force, the grid of
 * its image and the neighbourhood rank of the options' connectivity. */
typedef struct call {
    const char *fn;
    O defaults;
    const O *o;
    int threads;
    unet__grid g;
    int rank;
} call;

/* A call's start: no message, *count (optional) 0, the options in force (NULL: defaults). */
static void begin(call *c, const char *fn, const unet_post_opts_t *opts, uint32_t *count)
{
    unet__clear_error();
    if (count)
        *count = 0;
    c->fn = fn;
    c->o = unet__opts_or_defaults(table, opts, &c->defaults);
    c->threads = unet__resolve_threads(c->o->threads);
}

/* The grid of the call's image; for a labelling call (`connected`) the rank too. */
static int check_image(call *c, int ndim, const int64_t *shape, bool connected)
{
    int rc = check_grid(c->fn, ndim, shape, &c->g);
    if (rc == UNET_OK && connected)
        rc = check_connectivity(c->fn, ndim, c->o->connectivity, &c->rank);
    return rc;
}

/* A call's end: a failure below named with the call, or the count handed out. */
static int finish(const call *c, int rc, uint32_t count, uint32_t *out)
{
    if (rc != UNET_OK)
        return unet__fail_context(rc, c->fn);
    if (out)
        *out = count;
    return UNET_OK;
}

#define REQUIRE(ptr, fn)                                                                      \
    do {                                                                                      \
        if (!(ptr))                                                                           \
            return unet__fail(UNET_E_INVALID_ARG, "%s: %s is NULL", fn, #ptr);                \
    } while (0)

#define TRY(expr)                                                                             \
    do {                                                                                      \
        int rc_ = (expr);                                                                     \
        if (rc_ != UNET_OK)                                                                   \
            return rc_;                                                                       \
    } while (0)

UNET_API int unet_threshold(const float *prob, int ndim, const int64_t *shape,
                            const unet_post_opts_t *opts, uint8_t *mask)
{
    call c;
    begin(&c, "unet_threshold", opts, NULL);
    REQUIRE(prob, c.fn);
    REQUIRE(mask, c.fn);
    TRY(check_image(&c, ndim, shape, false));
    int rc = unet__threshold(prob, &c.g, ndim, (float)c.o->threshold, mask, c.threads);
    return finish(&c, rc, 0, NULL);
}

UNET_API int unet_label_components(const uint8_t *mask, int ndim, const int64_t *shape,
                                   const unet_post_opts_t *opts, uint32_t *labels,
                                   uint32_t *num_objects)
{
    call c;
    begin(&c, "unet_label_components", opts, num_objects);
    REQUIRE(mask, c.fn);
    REQUIRE(labels, c.fn);
    TRY(check_image(&c, ndim, shape, true));
    uint32_t count = 0;
    int rc = unet__label_components(mask, &c.g, c.rank, labels, &count, c.threads);
    return finish(&c, rc, count, num_objects);
}

UNET_API int unet_distance_transform(const uint8_t *mask, int ndim, const int64_t *shape,
                                     const double *spacing, const unet_post_opts_t *opts,
                                     float *distance)
{
    call c;
    begin(&c, "unet_distance_transform", opts, NULL);
    REQUIRE(mask, c.fn);
    REQUIRE(distance, c.fn);
    double sp[3];
    TRY(check_image(&c, ndim, shape, false));
    TRY(check_spacing(c.fn, ndim, spacing, sp));
    int rc = unet__distance_transform(mask, &c.g, sp, distance, c.threads);
    return finish(&c, rc, 0, NULL);
}

UNET_API int unet_local_maxima(const float *image, const uint32_t *regions, int ndim,
                               const int64_t *shape, const unet_post_opts_t *opts,
                               uint32_t *markers, uint32_t *num_peaks)
{
    call c;
    begin(&c, "unet_local_maxima", opts, num_peaks);
    REQUIRE(image, c.fn);
    REQUIRE(markers, c.fn);
    TRY(check_image(&c, ndim, shape, false));
    TRY(check_finite_image(c.fn, "image value", image, &c.g, ndim, c.threads));
    uint32_t count = 0;
    int rc = unet__local_maxima(image, regions, &c.g, c.o->min_distance, markers, &count,
                                c.threads);
    return finish(&c, rc, count, num_peaks);
}

UNET_API int unet_watershed_markers(const float *landscape, const uint32_t *markers,
                                    const uint8_t *mask, int ndim, const int64_t *shape,
                                    const unet_post_opts_t *opts, uint32_t *labels)
{
    call c;
    begin(&c, "unet_watershed_markers", opts, NULL);
    REQUIRE(landscape, c.fn);
    REQUIRE(markers, c.fn);
    REQUIRE(labels, c.fn);
    TRY(check_image(&c, ndim, shape, true));
    TRY(check_finite_image(c.fn, "landscape value", landscape, &c.g, ndim, c.threads));
    int rc = unet__flood(landscape, false, markers, mask, &c.g, c.rank, NULL, 0, labels,
                         c.threads);
    return finish(&c, rc, 0, NULL);
}

UNET_API int unet_watershed(const uint8_t *mask, int ndim, const int64_t *shape,
                            const double *spacing, const unet_post_opts_t *opts,
                            uint32_t *labels, uint32_t *num_objects)
{
    call c;
    begin(&c, "unet_watershed", opts, num_objects);
    REQUIRE(mask, c.fn);
    REQUIRE(labels, c.fn);
    double sp[3];
    TRY(check_image(&c, ndim, shape, false));
    TRY(check_spacing(c.fn, ndim, spacing, sp)); /* checked before the connectivity */
    TRY(check_connectivity(c.fn, ndim, c.o->connectivity, &c.rank));
    uint32_t count = 0;
    int rc = unet__watershed_mask(mask, &c.g, sp, c.o->min_distance, c.rank, labels, &count,
                                  c.threads);
    return finish(&c, rc, count, num_objects);
}

UNET_API int unet_labels_from_3class(const float *probs, int ndim, const int64_t *shape,
                                     const unet_post_opts_t *opts, uint32_t *labels,
                                     uint32_t *num_objects)
{
    call c;
    begin(&c, "unet_labels_from_3class", opts, num_objects);
    REQUIRE(probs, c.fn);
    REQUIRE(labels, c.fn);
    TRY(check_image(&c, ndim, shape, true));
    uint32_t count = 0;
    int rc = unet__labels_from_3class(probs, &c.g, ndim, c.rank, labels, &count, c.threads);
    return finish(&c, rc, count, num_objects);
}

UNET_API int unet_relabel(uint32_t *labels, int ndim, const int64_t *shape,
                          uint32_t *num_objects)
{
    call c;
    begin(&c, "unet_relabel", NULL, num_objects);
    REQUIRE(labels, c.fn);
    TRY(check_image(&c, ndim, shape, false));
    uint32_t count = 0;
    int rc = unet__relabel(labels, &c.g, &count);
    return finish(&c, rc, count, num_objects);
}

UNET_API int unet_filter_sizes(uint32_t *labels, int ndim, const int64_t *shape,
                               const unet_post_opts_t *opts, uint32_t *num_objects)
{
    call c;
    begin(&c, "unet_filter_sizes", opts, num_objects);
    int64_t min_size = c.o->min_size, max_size = c.o->max_size;
    REQUIRE(labels, c.fn);
    TRY(check_image(&c, ndim, shape, false));
    if (max_size > 0 && max_size < min_size)
        return unet__fail(UNET_E_INVALID_ARG, "%s: max_size %lld is not 0 (no limit) or >= "
                                              "min_size %lld", c.fn, (long long)max_size,
                          (long long)min_size);
    uint32_t count = 0;
    int rc = unet__filter_sizes(labels, &c.g, min_size, max_size, &count);
    return finish(&c, rc, count, num_objects);
}

UNET_API int unet_instance_f1(const uint32_t *pred, const uint32_t *truth, int ndim,
                              const int64_t *shape, double iou_threshold, double *f1,
                              int64_t *tp, int64_t *fp, int64_t *fn_count)
{
    static const char fn[] = "unet_instance_f1";
    unet__clear_error();
    if (f1)
        *f1 = 0.0;
    if (tp)
        *tp = 0;
    if (fp)
        *fp = 0;
    if (fn_count)
        *fn_count = 0;
    REQUIRE(pred, fn);
    REQUIRE(truth, fn);
    REQUIRE(f1, fn);
    unet__grid g;
    TRY(check_grid(fn, ndim, shape, &g));
    if (!(iou_threshold > 0.0 && iou_threshold <= 1.0))
        return unet__fail(UNET_E_INVALID_ARG, "%s: iou_threshold %g is not in (0, 1]", fn,
                          iou_threshold);
    int64_t t, p, n;
    int rc = unet__instance_match(pred, truth, &g, iou_threshold, &t, &p, &n);
    if (rc != UNET_OK)
        return unet__fail_context(rc, fn);
    *f1 = t + p + n == 0 ? 1.0 : 2.0 * (double)t / (double)(2 * t + p + n);
    if (tp)
        *tp = t;
    if (fp)
        *fp = p;
    if (fn_count)
        *fn_count = n;
    return UNET_OK;
}
