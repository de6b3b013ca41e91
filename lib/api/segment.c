/*
 * unet_segment: the tiled predictor's output rows feed the strip segmenter (segment/), with
 * the parameters the model's `output` metadata and the options give; an optional resize makes
 * objects match the size the model was trained on.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/status.h"
#include "model/model.h"
#include "post/post.h"
#include "predict/predict.h"
#include "segment/resample.h"
#include "segment/segment.h"

struct unet_segment_opts {
    double threshold;     /* NaN: the model's, else 0.5 */
    int min_distance;     /* 0: the model's, else 4 */
    int64_t min_size;     /* -1: the model's, else 16 */
    double scale;         /* 0: from pixel sizes, else 1 */
    double pixel_size;    /* 0: unknown */
    int64_t strip, overlap; /* 0: automatic */
    unet_predict_opts_t *predict;
};

UNET_API int unet_segment_opts_create(unet_segment_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_create: out is NULL");
    *out = calloc(1, sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating segment options");
    (*out)->threshold = NAN;
    (*out)->min_size = -1;
    return UNET_OK;
}

UNET_API void unet_segment_opts_free(unet_segment_opts_t *opts)
{
    free(opts);
}

#define CHECK_OPTS(o)                                                                          \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(o))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "segment options are NULL");                 \
    } while (0)

UNET_API int unet_segment_opts_set_threshold(unet_segment_opts_t *o, double threshold)
{
    CHECK_OPTS(o);
    if (!(threshold >= 0 && threshold <= 1))
        return unet__fail(UNET_E_INVALID_ARG, "threshold %g is out of range [0, 1]", threshold);
    o->threshold = threshold;
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_min_distance(unet_segment_opts_t *o, int min_distance)
{
    CHECK_OPTS(o);
    if (min_distance < 1 || min_distance > 1000)
        return unet__fail(UNET_E_INVALID_ARG, "min_distance %d is out of range [1, 1000]",
                          min_distance);
    o->min_distance = min_distance;
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_min_size(unet_segment_opts_t *o, int64_t min_size)
{
    CHECK_OPTS(o);
    if (min_size < 0 || min_size > ((int64_t)1 << 31))
        return unet__fail(UNET_E_INVALID_ARG, "min_size %lld is out of range [0, 2^31]",
                          (long long)min_size);
    o->min_size = min_size;
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_scale(unet_segment_opts_t *o, double scale)
{
    CHECK_OPTS(o);
    if (!(scale == 0 || (scale >= 0.05 && scale <= 20)))
        return unet__fail(UNET_E_INVALID_ARG, "scale %g is out of range [0.05, 20] (0: auto)",
                          scale);
    o->scale = scale;
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_pixel_size(unet_segment_opts_t *o, double pixel_size)
{
    CHECK_OPTS(o);
    if (!(pixel_size >= 0 && isfinite(pixel_size)))
        return unet__fail(UNET_E_INVALID_ARG, "pixel size %g must be finite and >= 0",
                          pixel_size);
    o->pixel_size = pixel_size;
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_strip(unet_segment_opts_t *o, int64_t rows, int64_t overlap)
{
    CHECK_OPTS(o);
    if (rows < 0 || rows > ((int64_t)1 << 31) || overlap < 0 || overlap > ((int64_t)1 << 20))
        return unet__fail(UNET_E_INVALID_ARG, "strip %lld / overlap %lld out of range [0, 2^31] "
                                              "/ [0, 2^20] (0: automatic)",
                          (long long)rows, (long long)overlap);
    o->strip = rows;
    o->overlap = overlap;
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_predict_opts(unet_segment_opts_t *o,
                                                unet_predict_opts_t *predict_opts)
{
    CHECK_OPTS(o);
    o->predict = predict_opts;
    return UNET_OK;
}

/* ---- parameters from the model and the options ---- */

static int resolve(const unet_model_t *m, const unet_segment_opts_t *o, unet__seg_params *p,
                   double *scale)
{
    const json_t *out = m->output;
    memset(p, 0, sizeof *p);
    unet__seg_rules r;
    int rc = unet__seg_rules_from_model(m, "segmentation", &r);
    if (rc != UNET_OK)
        return rc;
    p->kind = r.kind;
    p->logits = r.logits;
    /* Options override the metadata ("instances": "components" is click-to-segment's only) */
    double t = o && !isnan(o->threshold) ? o->threshold : r.threshold;
    double md = o && o->min_distance ? o->min_distance : r.min_distance;
    double ms = o && o->min_size >= 0 ? (double)o->min_size : r.min_size;
    if ((rc = unet__seg_rules_check(t, md, ms)) != UNET_OK)
        return rc;
    p->threshold = (float)t;
    p->min_distance = (int)md;
    p->min_size = (int64_t)ms;
    p->rank = 1; /* 4-connected objects, as unet_watershed's default */
    int threads = o && o->predict ? o->predict->threads : 0;
    p->threads = unet__resolve_threads(threads);
    p->overlap = o && o->overlap ? o->overlap : 128;
    /* Automatic strips (about 4 Mpixels, so a 2048^2 image is one whole-image pass) are
     * sized by the caller once the resized width is known. */
    p->strip = o && o->strip ? o->strip : 256;
    *scale = 1;
    double model_px = unet__meta_number(out, "pixel_size", 0);
    if (o && o->scale > 0)
        *scale = o->scale;
    else if (o && o->pixel_size > 0 && model_px > 0)
        *scale = o->pixel_size / model_px;
    if (!(*scale >= 0.05 && *scale <= 20))
        return unet__fail(UNET_E_INVALID_ARG, "scale %g (image pixel size %g / model pixel "
                                              "size %g) is out of range [0.05, 20]",
                          *scale, o ? o->pixel_size : 0.0, model_px);
    return UNET_OK;
}

/* ---- progress: the predictor's fraction covers the call; cancel follows the caller's
 * options ---- */

static int forward_progress(void *user, double fraction, const char *stage)
{
    const struct unet_predict_opts *o = user;
    if (atomic_load(&((struct unet_predict_opts *)o)->cancel))
        return 1;
    return o->progress ? o->progress(o->progress_user, fraction * 0.99, stage) : 0;
}

static int seg_sink(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                    const float *src)
{
    (void)plane;
    (void)x;
    (void)w; /* the engine writes whole rows */
    return unet__seg_push(user, y, h, src);
}

int unet__segment_run(const unet_model_t *m, const unet_segment_opts_t *o, int64_t channels,
                      int64_t height, int64_t width, unet_read_fn read, void *read_user,
                      unet_label_write_fn write, void *write_user, uint32_t *num_objects,
                      unet__seg_stats *stats)
{
    unet__seg_params p;
    double scale = 1;
    int64_t sh, sw;
    if (channels != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "image has %lld channel%s; the model takes %d",
                          (long long)channels, channels == 1 ? "" : "s", m->cfg.in_channels);
    int rc = resolve(m, o, &p, &scale);
    if (rc != UNET_OK)
        return rc;
    sh = scale == 1 ? height : unet__scaled_size(height, scale);
    sw = scale == 1 ? width : unet__scaled_size(width, scale);
    if (!(o && o->strip)) /* automatic strips: about 4 Mpixels of the resized image */
        p.strip = ((int64_t)1 << 22) / sw > 256 ? ((int64_t)1 << 22) / sw : 256;
    unet__scaled_reader sr = {read, read_user, channels, height, width, sh, sw, NULL, 0};
    unet__label_mapper lm = {write, write_user, height, width, sh, sw, 0, NULL, NULL};
    unet__seg *seg = NULL;
    rc = unet__label_mapper_init(&lm);
    if (rc == UNET_OK)
        rc = unet__seg_create(&p, sh, sw, unet__label_mapper_emit, &lm, &seg);
    if (rc == UNET_OK) {
        struct unet_predict_opts po;
        unet__predict_opts_defaults(&po);
        const struct unet_predict_opts *user = o ? o->predict : NULL;
        if (user) {
            po.threads = user->threads;
            po.border = user->border;
            po.normalize = user->normalize;
            po.norm_a = user->norm_a;
            po.norm_b = user->norm_b;
            po.tile = user->tile;
            po.halo = user->halo;
            po.unsafe_halo = user->unsafe_halo;
            po.blend = user->blend;
            po.batch = user->batch;
            po.precise = user->precise;
            po.progress = forward_progress;
            po.progress_user = (void *)user;
        }
        bool resized = sh != height || sw != width;
        unet__source src = {1, channels, sh, sw, resized ? unet__scaled_read : read,
                            resized ? (void *)&sr : read_user};
        unet__sink sink = {seg_sink, seg};
        rc = unet__predict_with_model(m, &po, &src, &sink);
        if (rc == UNET_OK && lm.next_y != height)
            rc = unet__fail(UNET_E_INTERNAL, "segmentation wrote %lld of %lld rows",
                            (long long)lm.next_y, (long long)height);
        if (rc == UNET_OK && user && user->progress &&
            user->progress(user->progress_user, 1.0, "done") != 0)
            rc = unet__fail(UNET_E_CANCELLED, "segmentation cancelled by the progress callback");
    }
    if (rc == UNET_OK) {
        if (num_objects)
            *num_objects = unet__seg_count(seg);
        if (stats)
            *stats = *unet__seg_get_stats(seg);
    }
    unet__seg_free(seg);
    unet__scaled_reader_free(&sr);
    unet__label_mapper_free(&lm);
    return rc;
}

UNET_API int unet_segment_stream(const unet_model_t *m, const unet_segment_opts_t *o,
                                 int64_t channels, int64_t height, int64_t width,
                                 unet_read_fn read, void *read_user, unet_label_write_fn write,
                                 void *write_user, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !read || !write)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_stream: model, read or write is "
                                              "NULL");
    int64_t dims[3] = {channels, height, width};
    for (int i = 0; i < 3; i++)
        if (dims[i] < 1 || dims[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "image dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)dims[i]);
    return unet__segment_run(m, o, channels, height, width, read, read_user, write, write_user,
                             num_objects, NULL);
}

/* ---- in-memory images ---- */

typedef struct mem_labels {
    uint32_t *labels;
    int64_t width;
} mem_labels;

static int write_mem(void *user, int64_t y, int64_t h, int64_t w, const uint32_t *src)
{
    mem_labels *l = user;
    memcpy(l->labels + y * l->width, src, (size_t)(h * w) * sizeof *src);
    return 0;
}

UNET_API int unet_segment(const unet_model_t *m, const unet_segment_opts_t *o,
                          const void *input, int dtype, int ndim, const int64_t *shape,
                          uint32_t *labels, size_t label_count, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !input || !shape || !labels)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment: model, input, shape or labels is "
                                              "NULL");
    if (dtype < UNET_U8 || dtype > UNET_F64)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    if (ndim != 2 && ndim != 3)
        return unet__fail(UNET_E_SHAPE, "input has %d dimensions; expected (H,W) or (C,H,W)",
                          ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "input dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    int64_t C = ndim == 3 ? shape[0] : 1, H = shape[ndim - 2], W = shape[ndim - 1];
    if ((uint64_t)H * (uint64_t)W != (uint64_t)label_count)
        return unet__fail(UNET_E_SHAPE, "labels buffer has %zu elements; %lld x %lld needs %lld",
                          label_count, (long long)H, (long long)W, (long long)(H * W));
    unet__memory_image im = {input, dtype, C, H, W};
    mem_labels l = {labels, W};
    return unet__segment_run(m, o, C, H, W, unet__memory_read, &im, write_mem, &l, num_objects,
                             NULL);
}
