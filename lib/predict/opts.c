/* Predict options: validating setters, thread-safe cancel, and progress reporting. */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "core/status.h"
#include "predict/predict.h"

#define MAX_TILE ((int64_t)1 << 20)

void unet__predict_opts_defaults(struct unet_predict_opts *o)
{
    o->threads = 0;
    o->border = UNET_BORDER_DEFAULT;
    o->normalize = UNET_NORMALIZE_MODEL;
    o->norm_a = o->norm_b = 0;
    o->tile = 0;
    o->halo = -1;
    o->unsafe_halo = false;
    o->blend = 0;
    o->batch = 1;
    o->precise = false;
    o->progress = NULL;
    o->progress_user = NULL;
    atomic_init(&o->cancel, 0);
}

UNET_API int unet_predict_opts_create(unet_predict_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_opts_create: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating predict options");
    unet__predict_opts_defaults(*out);
    return UNET_OK;
}

UNET_API void unet_predict_opts_free(unet_predict_opts_t *opts)
{
    free(opts);
}

#define CHECK_OPTS(o)                                                                          \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(o))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "predict options are NULL");                 \
    } while (0)

UNET_API int unet_predict_opts_set_threads(unet_predict_opts_t *o, int num_threads)
{
    CHECK_OPTS(o);
    if (num_threads < 0 || num_threads > 1024)
        return unet__fail(UNET_E_INVALID_ARG, "threads %d is out of range [0, 1024] (0: all)",
                          num_threads);
    o->threads = num_threads;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_border(unet_predict_opts_t *o, int border)
{
    CHECK_OPTS(o);
    if (border < UNET_BORDER_DEFAULT || border > UNET_BORDER_ZERO)
        return unet__fail(UNET_E_INVALID_ARG, "border mode %d is not one of 0 default, 1 "
                                              "network, 2 reflect, 3 zero", border);
    o->border = border;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_normalize(unet_predict_opts_t *o, int mode, double a,
                                             double b)
{
    CHECK_OPTS(o);
    switch (mode) {
    case UNET_NORMALIZE_MODEL:
    case UNET_NORMALIZE_NONE:
    case UNET_NORMALIZE_ZMUV:
        break;
    case UNET_NORMALIZE_PERCENTILE:
        if (!(a >= 0 && a < b && b <= 100))
            return unet__fail(UNET_E_INVALID_ARG, "percentiles low %g, high %g must satisfy 0 "
                                                  "<= low < high <= 100", a, b);
        break;
    case UNET_NORMALIZE_FIXED:
        if (!isfinite(a) || !(b > 0) || !isfinite(b))
            return unet__fail(UNET_E_INVALID_ARG, "fixed normalisation needs a finite mean "
                                                  "and a std > 0 (got %g, %g)", a, b);
        break;
    default:
        return unet__fail(UNET_E_INVALID_ARG, "normalisation mode %d is not one of 0..4", mode);
    }
    o->normalize = mode;
    o->norm_a = a;
    o->norm_b = b;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_tile(unet_predict_opts_t *o, int64_t tile)
{
    CHECK_OPTS(o);
    if (tile != UNET_TILE_WHOLE && (tile < 0 || tile > MAX_TILE))
        return unet__fail(UNET_E_INVALID_ARG, "tile %lld is out of range [1, %lld] (0: auto, "
                                              "-1: whole image)",
                          (long long)tile, (long long)MAX_TILE);
    o->tile = tile;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_halo(unet_predict_opts_t *o, int64_t halo, int unsafe)
{
    CHECK_OPTS(o);
    if (halo < -1 || halo > MAX_TILE)
        return unet__fail(UNET_E_INVALID_ARG, "halo %lld is out of range [0, %lld] (-1: the "
                                              "model's)", (long long)halo, (long long)MAX_TILE);
    o->halo = halo;
    o->unsafe_halo = unsafe != 0;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_blend(unet_predict_opts_t *o, int64_t width)
{
    CHECK_OPTS(o);
    if (width < 0 || width > MAX_TILE)
        return unet__fail(UNET_E_INVALID_ARG, "blend width %lld is out of range [0, %lld]",
                          (long long)width, (long long)MAX_TILE);
    o->blend = width;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_batch(unet_predict_opts_t *o, int tiles_per_batch)
{
    CHECK_OPTS(o);
    if (tiles_per_batch < 1 || tiles_per_batch > UNET__MAX_BATCH)
        return unet__fail(UNET_E_INVALID_ARG, "batch %d is out of range [1, %d]",
                          tiles_per_batch, UNET__MAX_BATCH);
    o->batch = tiles_per_batch;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_precise(unet_predict_opts_t *o, int precise)
{
    CHECK_OPTS(o);
    o->precise = precise != 0;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_progress(unet_predict_opts_t *o, unet_progress_fn fn,
                                            void *user)
{
    CHECK_OPTS(o);
    o->progress = fn;
    o->progress_user = user;
    return UNET_OK;
}

UNET_API int unet_predict_opts_cancel(unet_predict_opts_t *o)
{
    /* No error-message bookkeeping here: this may run on any thread at any time. */
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 1);
    return UNET_OK;
}

UNET_API int unet_predict_opts_reset_cancel(unet_predict_opts_t *o)
{
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 0);
    return UNET_OK;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Calls the callback at most every 50 ms (and always when forced), never going backwards. */
int unet__progress_report(unet__progress *p, double fraction, const char *stage, bool force)
{
    const struct unet_predict_opts *o = p->opts;
    if (atomic_load(&((struct unet_predict_opts *)o)->cancel))
        return unet__fail(UNET_E_CANCELLED, "prediction cancelled");
    if (!o->progress)
        return UNET_OK;
    if (fraction < p->last_fraction)
        fraction = p->last_fraction;
    if (fraction >= 1.0 && !force)
        fraction = nextafter(1.0, 0.0); /* 1.0 is reserved for success */
    double t = now_seconds();
    if (!force && t - p->last_time < 0.05)
        return UNET_OK;
    p->last_time = t;
    p->last_fraction = fraction;
    if (o->progress(o->progress_user, fraction, stage) != 0)
        return unet__fail(UNET_E_CANCELLED, "prediction cancelled by the progress callback");
    return UNET_OK;
}
