/*
 * The public click-to-segment calls: validation, the session's settings from the model's
 * metadata and the caller's options, and the result object's getters. The work is in click/.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "click/click.h"
#include "core/alloc.h"
#include "core/status.h"
#include "model/model.h"
#include "post/post.h"
#include "segment/segment.h"

#define MAX_AXIS ((int64_t)1 << 31)

/* ---- settings from the model's metadata (as unet_segment reads them) ---- */

static int resolve_post(const unet_model_t *m, unet__click_post *p)
{
    unet__seg_rules r;
    int rc = unet__seg_rules_from_model(m, "click-to-segment", &r);
    if (rc == UNET_OK)
        rc = unet__seg_rules_check(r.threshold, r.min_distance, r.min_size);
    if (rc != UNET_OK)
        return rc;
    p->kind = r.kind;
    p->logits = r.logits;
    p->threshold = (float)r.threshold;
    p->min_distance = r.components ? 0 : (int)r.min_distance;
    p->min_size = (int64_t)r.min_size;
    p->rank = 1; /* 4-connected objects, as unet_segment */
    return UNET_OK;
}

/* ---- sessions ---- */

UNET_API int unet_click_session_create(const unet_model_t *m, const unet_predict_opts_t *opts,
                                       const void *image, int dtype, int ndim,
                                       const int64_t *shape, unet_click_session_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_session_create: out is NULL");
    *out = NULL;
    if (!m || !image || !shape)
        return unet__fail(UNET_E_INVALID_ARG, "unet_click_session_create: model, image or "
                                              "shape is NULL");
    if (dtype < UNET_U8 || dtype > UNET_F64)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    if (ndim < 2 || ndim > 4)
        return unet__fail(UNET_E_SHAPE, "image has %d dimensions; expected (H,W), (C,H,W) or "
                                        "(P,C,H,W)", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > MAX_AXIS)
            return unet__fail(UNET_E_SHAPE, "image dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    int64_t planes = ndim == 4 ? shape[0] : 1, channels = ndim >= 3 ? shape[ndim - 3] : 1;
    if (channels != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "image has %lld channel%s; the model takes %d",
                          (long long)channels, channels == 1 ? "" : "s", m->cfg.in_channels);
    int64_t count;
    if (!unet__product(shape, ndim, INT64_MAX / 8, &count))
        return unet__fail(UNET_E_NOMEM, "the image is too large to address");
    unet__click_post post;
    memset(&post, 0, sizeof post);
    int rc = resolve_post(m, &post);
    if (rc != UNET_OK)
        return rc;
    struct unet_click_session *s = calloc(1, sizeof *s);
    if (!s)
        return unet__fail(UNET_E_NOMEM, "out of memory for a click session");
    s->model = m;
    unet__predict_opts_defaults(&s->run_opts);
    if (opts) { /* the settings that define the reference; tiling is the session's */
        s->run_opts.threads = opts->threads;
        s->run_opts.border = opts->border;
        s->run_opts.normalize = opts->normalize;
        s->run_opts.norm_a = opts->norm_a;
        s->run_opts.norm_b = opts->norm_b;
        s->run_opts.halo = opts->halo;
        s->run_opts.unsafe_halo = opts->unsafe_halo;
        s->run_opts.precise = opts->precise;
    }
    s->norm = unet__predict_norm(m, &s->run_opts);
    s->image = image;
    s->dtype = dtype;
    s->planes = planes;
    s->channels = channels;
    s->height = shape[ndim - 2];
    s->width = shape[ndim - 1];
    s->in_channels = m->cfg.in_channels;
    s->out_channels = m->cfg.out_channels;
    s->same_padding = m->cfg.same_padding;
    s->post = post;
    s->max_extent = 1024;
    s->first_window = 192;
    s->threads = unet__resolve_threads(s->run_opts.threads);
    rc = unet__click_geometry(s);
    if (rc == UNET_OK) {
        /* Window runs: the sub-canvas in one piece, already normalised; the border is
         * made by the reader, so the engine's own only pads what the reference pads. */
        s->run_opts.tile = UNET_TILE_WHOLE;
        s->run_opts.normalize = UNET_NORMALIZE_NONE;
        s->run_opts.border = s->same_padding ? UNET_BORDER_NETWORK : UNET_BORDER_REFLECT;
        s->run_opts.halo = -1;
        s->run_opts.unsafe_halo = false;
        s->plane = calloc((size_t)planes, sizeof *s->plane);
        if (!s->plane)
            rc = unet__fail(UNET_E_NOMEM, "out of memory for a click session of %lld planes",
                            (long long)planes);
    }
    if (rc != UNET_OK) {
        unet_click_session_free(s);
        return rc;
    }
    *out = s;
    return UNET_OK;
}

UNET_API void unet_click_session_free(unet_click_session_t *s)
{
    if (!s)
        return;
    unet__click_free_cache(s);
    free(s);
}

#define CHECK_SESSION(s)                                                                       \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(s))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "click session is NULL");                    \
    } while (0)

UNET_API int unet_click_session_set_threshold(unet_click_session_t *s, double threshold)
{
    CHECK_SESSION(s);
    if (!(threshold >= 0 && threshold <= 1))
        return unet__fail(UNET_E_INVALID_ARG, "threshold %g is out of range [0, 1]", threshold);
    s->post.threshold = (float)threshold;
    return UNET_OK;
}

UNET_API int unet_click_session_set_watershed(unet_click_session_t *s, int min_distance)
{
    CHECK_SESSION(s);
    if (min_distance < 0 || min_distance > 1000)
        return unet__fail(UNET_E_INVALID_ARG, "min_distance %d is out of range [0, 1000] (0: "
                                              "no watershed)", min_distance);
    s->post.min_distance = min_distance;
    return UNET_OK;
}

UNET_API int unet_click_session_set_min_size(unet_click_session_t *s, int64_t min_size)
{
    CHECK_SESSION(s);
    if (min_size < 0 || min_size > MAX_AXIS)
        return unet__fail(UNET_E_INVALID_ARG, "min_size %lld is out of range [0, 2^31]",
                          (long long)min_size);
    s->post.min_size = min_size;
    return UNET_OK;
}

UNET_API int unet_click_session_set_max_extent(unet_click_session_t *s, int64_t pixels)
{
    CHECK_SESSION(s);
    if (pixels < s->cell || pixels > MAX_AXIS)
        return unet__fail(UNET_E_INVALID_ARG, "max extent %lld is out of range [%lld, 2^31] "
                                              "(the cell size is the least)",
                          (long long)pixels, (long long)s->cell);
    s->max_extent = pixels;
    return UNET_OK;
}

UNET_API int unet_click_session_set_first_window(unet_click_session_t *s, int64_t pixels)
{
    CHECK_SESSION(s);
    if (pixels < 1 || pixels > MAX_AXIS)
        return unet__fail(UNET_E_INVALID_ARG, "first window %lld is out of range [1, 2^31]",
                          (long long)pixels);
    s->first_window = pixels;
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
    if (x < 0 || x >= s->width || y < 0 || y >= s->height)
        return unet__fail(UNET_E_INVALID_ARG, "click (x %lld, y %lld) is outside the %lld x "
                                              "%lld image (width x height)",
                          (long long)x, (long long)y, (long long)s->width,
                          (long long)s->height);
    return unet__click_object(s, plane, x, y, out);
}

/* ---- results ---- */

UNET_API void unet_click_result_free(unet_click_result_t *r)
{
    if (!r)
        return;
    free(r->mask);
    free(r->ring_start);
    free(r->xy);
    free(r);
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

UNET_API int64_t unet_click_result_area(const unet_click_result_t *r)
{
    unet__clear_error();
    if (!r)
        return unet__fail(UNET_E_INVALID_ARG, "click result is NULL");
    return r->area;
}

UNET_API int unet_click_result_complete(const unet_click_result_t *r)
{
    unet__clear_error();
    if (!r)
        return unet__fail(UNET_E_INVALID_ARG, "click result is NULL");
    return r->complete;
}

UNET_API const uint8_t *unet_click_result_mask(const unet_click_result_t *r)
{
    unet__clear_error();
    return r ? r->mask : NULL;
}

UNET_API int64_t unet_click_result_ring_count(const unet_click_result_t *r)
{
    unet__clear_error();
    if (!r)
        return unet__fail(UNET_E_INVALID_ARG, "click result is NULL");
    return r->nrings;
}

UNET_API const int64_t *unet_click_result_ring(const unet_click_result_t *r, int64_t index,
                                               int64_t *num_vertices)
{
    unet__clear_error();
    if (num_vertices)
        *num_vertices = 0;
    if (!r || !num_vertices) {
        unet__fail(UNET_E_INVALID_ARG, "unet_click_result_ring: result or num_vertices is "
                                       "NULL");
        return NULL;
    }
    if (index < 0 || index >= r->nrings) {
        unet__fail(UNET_E_INVALID_ARG, "ring %lld is out of range [0, %lld)", (long long)index,
                   (long long)r->nrings);
        return NULL;
    }
    *num_vertices = r->ring_start[index + 1] - r->ring_start[index];
    return r->xy + 2 * r->ring_start[index];
}
