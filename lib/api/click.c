/*
 * The public click-to-segment calls: argument checks, then the sessions of click/ (the
 * session's settings in click/session.c), and the result object's getters.
 */
#include "api/check.h"
#include "api/opts_api.h"
#include "click/click.h"
#include "core/alloc.h"
#include "core/status.h"

typedef struct unet_click_opts C;

static const unet__opts_table *const table = &unet__click_opts_table;

UNET__OPTS_API(unet_click_opts, table)
UNET__OPTS_SETTER(unet_click_opts, table, threads, int, i64)
UNET__OPTS_SETTER(unet_click_opts, table, threshold, double, double)
UNET__OPTS_SETTER(unet_click_opts, table, min_distance, int, i64)
UNET__OPTS_SETTER(unet_click_opts, table, split, int, bool)
UNET__OPTS_SETTER(unet_click_opts, table, min_size, int64_t, i64)
UNET__OPTS_SETTER(unet_click_opts, table, max_extent, int64_t, i64)
UNET__OPTS_SETTER(unet_click_opts, table, first_window, int64_t, i64)

UNET_API int unet_click_opts_set_predict_opts(unet_click_opts_t *o,
                                              const unet_predict_opts_t *predict_opts)
{
    return unet__opts_api_set_section(table, o, 0, predict_opts);
}

/* ---- sessions (the work is in click/session.c) ---- */

UNET_API int unet_click_session_create(const unet_model_t *m, const unet_click_opts_t *opts,
                                       const void *image, unet_dtype_t dtype, int ndim,
                                       const int64_t *shape, unet_click_session_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_session_create: out is NULL");
    *out = NULL;
    if (!m || !image || !shape)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_session_create: model, image or "
                                              "shape is NULL");
    int64_t d[4], count;
    int rc = unet__check_image("image", dtype, ndim, shape, 4, d);
    if (rc != UNET_OK)
        return rc;
    if (!unet__product(shape, ndim, INT64_MAX / 8, &count))
        return unet__fail(UNET_E_NOMEM, "the image is too large to address");
    C defaults;
    opts = unet__opts_or_defaults(table, opts, &defaults);
    return unet__click_session_new(m, opts, image, dtype, d[0], d[1], d[2], d[3], out);
}

UNET_API void unet_click_session_free(unet_click_session_t *s)
{
    unet__click_session_free(s);
}

#define CHECK_SESSION(s)                                                                       \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(s))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "click session is NULL");                    \
    } while (0)

UNET_API int unet_click_session_set_opts(unet_click_session_t *s, const unet_click_opts_t *opts)
{
    CHECK_SESSION(s);
    if (!opts)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_session_set_opts: options are NULL");
    return unet__click_session_set_opts(s, opts);
}

UNET_API int unet_click_session_set_scale(unet_click_session_t *s, double scale)
{
    CHECK_SESSION(s);
    return unet__click_session_set_scale(s, scale);
}

UNET_API int unet_click_session_scale(unet_click_session_t *s, double *scale)
{
    if (scale)
        *scale = 0;
    CHECK_SESSION(s);
    if (!scale)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_session_scale: scale is NULL");
    int rc = unet__click_measure(s, 0);
    if (rc == UNET_OK)
        *scale = s->scale.scale;
    return rc;
}

UNET_API int unet_click_session_cancel(unet_click_session_t *s)
{
    CHECK_SESSION(s);
    atomic_store(&s->cancel, 1);
    atomic_store(&s->run_opts.cancel, 1);
    return UNET_OK;
}

UNET_API int unet_click_session_reset_cancel(unet_click_session_t *s)
{
    CHECK_SESSION(s);
    atomic_store(&s->cancel, 0);
    atomic_store(&s->run_opts.cancel, 0);
    return UNET_OK;
}

UNET_API int unet_click_session_stats(const unet_click_session_t *s, int64_t *network_runs,
                                      int64_t *network_pixels, int64_t *cached_pixels)
{
    CHECK_SESSION(s);
    if (network_runs)
        *network_runs = s->runs;
    if (network_pixels)
        *network_pixels = s->run_pixels;
    if (cached_pixels)
        *cached_pixels = s->cached_pixels;
    return UNET_OK;
}

UNET_API int unet_click(unet_click_session_t *s, int64_t x, int64_t y, int64_t plane,
                        unet_click_result_t **out)
{
    CHECK_SESSION(s);
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click: out is NULL");
    *out = NULL;
    if (plane < 0 || plane >= s->planes)
        return unet__fail(UNET_E_INVALID_ARG, "plane %lld is out of range [0, %lld)",
                          (long long)plane, (long long)s->planes);
    if (x < 0 || x >= s->src_width || y < 0 || y >= s->src_height)
        return unet__fail(UNET_E_INVALID_ARG, "click (x %lld, y %lld) is outside the %lld x "
                                              "%lld image (width x height)",
                          (long long)x, (long long)y, (long long)s->src_width,
                          (long long)s->src_height);
    return unet__click_at(s, x, y, plane, out);
}

/* ---- results ---- */

UNET_API void unet_click_result_free(unet_click_result_t *r)
{
    unet__click_result_free(r);
}

UNET_API int unet_click_result_bbox(const unet_click_result_t *r, int64_t bbox[4])
{
    unet__clear_error();
    if (!r || !bbox)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_result_bbox: result or bbox is NULL");
    bbox[0] = r->x0;
    bbox[1] = r->y0;
    bbox[2] = r->width;
    bbox[3] = r->height;
    return UNET_OK;
}

/* unet_click_result_<name>(r, &value): the output zeroed first, then the result's field. */
#define RESULT_GETTER(name, ctype, field, zero)                                                \
    UNET_API int unet_click_result_##name(const unet_click_result_t *r, ctype *out)            \
    {                                                                                          \
        if (out)                                                                               \
            *out = zero;                                                                       \
        unet__clear_error();                                                                   \
        if (!r || !out)                                                                        \
            return unet__fail(UNET_E_INVALID_ARG, "unet_click_result_" #name                   \
                              ": result or output is NULL");                                   \
        *out = r->field;                                                                       \
        return UNET_OK;                                                                        \
    }

RESULT_GETTER(area, int64_t, area, 0)
RESULT_GETTER(complete, int, complete, 0)
RESULT_GETTER(mask, const uint8_t *, mask, NULL)
RESULT_GETTER(ring_count, int64_t, nrings, 0)

UNET_API int unet_click_result_ring(const unet_click_result_t *r, int64_t index,
                                    const int64_t **xy, int64_t *num_vertices)
{
    if (xy)
        *xy = NULL;
    if (num_vertices)
        *num_vertices = 0;
    unet__clear_error();
    if (!r || !xy || !num_vertices)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_result_ring: result, xy or "
                                              "num_vertices is NULL");
    if (index < 0 || index >= r->nrings)
        return unet__fail(UNET_E_INVALID_ARG, "ring %lld is out of range [0, %lld)",
                          (long long)index, (long long)r->nrings);
    *num_vertices = r->ring_start[index + 1] - r->ring_start[index];
    *xy = r->xy + 2 * r->ring_start[index];
    return UNET_OK;
}
