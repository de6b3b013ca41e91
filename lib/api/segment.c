/*
 * unet_segment: the tiled predictor's output rows feed the strip segmenter (segment/), with
 * the parameters the model's `output` metadata and the options give; an optional resize makes
 * objects match the size the model was trained on.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "core/status.h"
#include "model/model.h"
#include "post/post.h"
#include "predict/channels.h"
#include "predict/predict.h"
#include "segment/resample.h"
#include "segment/segment.h"

#define MAX_ROWS ((int64_t)1 << 31)

struct unet_segment_opts {
    struct unet_predict_opts predict; /* a copy of every predict option */
    unet__instance_opts inst;         /* threshold, min_distance, split, min_size */
    double scale;                     /* 0: from pixel sizes, else 1 */
    double pixel_size;                /* 0: unknown */
    int64_t strip_rows, strip_overlap; /* 0: automatic */
    /* not options of the table */
    unet_progress_fn progress;
    void *progress_user;
    atomic_int cancel;
    char *json, *describe;
};

typedef struct unet_segment_opts S;

static const unet__opt segment_entries[] = {
    {UNET__OPT_AT(S, scale), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0.05, .max = 20,
     .special = {{"auto", 0, true}},
     .help = "resize factor applied before prediction (0 / auto: image pixel size / the "
             "model's pixel_size when both are known, else 1)"},
    {UNET__OPT_AT(S, pixel_size), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 1e30,
     .help = "the image's pixel size in the unit of the model's pixel_size (0: unknown)"},
    {UNET__OPT_AT(S, strip_rows), .type = UNET__OPT_I64, .def = 0, .min = 1, .max = MAX_ROWS,
     .special = {{"auto", 0, true}},
     .help = "rows per strip of the (scaled) image (0 / auto: about 4 Mpixels)"},
    {UNET__OPT_AT(S, strip_overlap), .type = UNET__OPT_I64, .def = 0, .min = 1,
     .max = MAX_ROWS, .special = {{"auto", 0, true}},
     .help = "rows of context between strips (0 / auto: 128); objects shorter are exact"},
};

static const unet__opts_section segment_sections[] = {
    {unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, offsetof(S, predict)},
    {unet__instance_opt_entries, UNET__INSTANCE_OPT_COUNT, offsetof(S, inst)},
    {segment_entries, (int)(sizeof segment_entries / sizeof segment_entries[0]), 0},
};
static const unet__opts_table segment_table = {"segment", segment_sections, 3, sizeof(S)};

static void segment_defaults(S *o)
{
    memset(o, 0, sizeof *o);
    unet__predict_opts_defaults(&o->predict);
    unet__opts_defaults(&segment_table, o);
    atomic_init(&o->cancel, 0);
}

UNET_API int unet_segment_opts_create(unet_segment_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_create: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating segment options");
    segment_defaults(*out);
    return UNET_OK;
}

UNET_API void unet_segment_opts_free(unet_segment_opts_t *opts)
{
    if (!opts)
        return;
    free(opts->json);
    free(opts->describe);
    free(opts);
}

#define CHECK_OPTS(o)                                                                          \
    do {                                                                                       \
        unet__clear_error();                                                                   \
        if (!(o))                                                                              \
            return unet__fail(UNET_E_INVALID_ARG, "segment options are NULL");                 \
    } while (0)

UNET_API int unet_segment_opts_set(unet_segment_opts_t *o, const char *key, const char *value)
{
    CHECK_OPTS(o);
    if (!key || !value)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_set: key or value is NULL");
    return unet__opts_set_text(&segment_table, o, key, value);
}

UNET_API int unet_segment_opts_set_json(unet_segment_opts_t *o, const char *json_object)
{
    CHECK_OPTS(o);
    if (!json_object)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_set_json: json is NULL");
    return unet__opts_set_json(&segment_table, o, json_object);
}

UNET_API int unet_segment_opts_json(const unet_segment_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_json: opts or json is NULL");
    return unet__opts_json(&segment_table, o, &((S *)o)->json, json);
}

UNET_API int unet_segment_opts_describe(const unet_segment_opts_t *o, const char **json)
{
    unet__clear_error();
    if (json)
        *json = NULL;
    if (!o || !json)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_describe: opts or json is "
                                              "NULL");
    return unet__opts_describe(&segment_table, &((S *)o)->describe, json);
}

UNET_API int unet_segment_opts_set_predict_opts(unet_segment_opts_t *o,
                                                const unet_predict_opts_t *predict_opts)
{
    CHECK_OPTS(o);
    if (!predict_opts)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_opts_set_predict_opts: predict "
                                              "options are NULL");
    unet__opts_copy(unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, &o->predict,
                    predict_opts);
    return UNET_OK;
}

UNET_API int unet_segment_opts_set_threads(unet_segment_opts_t *o, int num_threads)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&segment_table, o, "threads", num_threads);
}

UNET_API int unet_segment_opts_set_tile(unet_segment_opts_t *o, int64_t tile)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&segment_table, o, "tile", tile);
}

UNET_API int unet_segment_opts_set_threshold(unet_segment_opts_t *o, double threshold)
{
    CHECK_OPTS(o);
    return unet__opts_set_double(&segment_table, o, "threshold", threshold);
}

UNET_API int unet_segment_opts_set_min_distance(unet_segment_opts_t *o, int min_distance)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&segment_table, o, "min_distance", min_distance);
}

UNET_API int unet_segment_opts_set_split(unet_segment_opts_t *o, int split)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&segment_table, o, "split", split != 0);
}

UNET_API int unet_segment_opts_set_min_size(unet_segment_opts_t *o, int64_t min_size)
{
    CHECK_OPTS(o);
    return unet__opts_set_i64(&segment_table, o, "min_size", min_size);
}

UNET_API int unet_segment_opts_set_scale(unet_segment_opts_t *o, double scale)
{
    CHECK_OPTS(o);
    return unet__opts_set_double(&segment_table, o, "scale", scale);
}

UNET_API int unet_segment_opts_set_pixel_size(unet_segment_opts_t *o, double pixel_size)
{
    CHECK_OPTS(o);
    return unet__opts_set_double(&segment_table, o, "pixel_size", pixel_size);
}

UNET_API int unet_segment_opts_set_progress(unet_segment_opts_t *o, unet_progress_fn fn,
                                            void *user)
{
    CHECK_OPTS(o);
    o->progress = fn;
    o->progress_user = user;
    return UNET_OK;
}

UNET_API int unet_segment_opts_cancel(unet_segment_opts_t *o)
{
    /* No error-message bookkeeping here: this may run on any thread at any time. */
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 1);
    return UNET_OK;
}

UNET_API int unet_segment_opts_reset_cancel(unet_segment_opts_t *o)
{
    if (!o)
        return UNET_E_INVALID_ARG;
    atomic_store(&o->cancel, 0);
    return UNET_OK;
}

const struct unet_predict_opts *unet__segment_opts_predict(const unet_segment_opts_t *o)
{
    return o ? &o->predict : NULL;
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
    /* Options override the metadata */
    unet__instance_params ip;
    if ((rc = unet__instance_resolve(&r, o ? &o->inst : NULL, &ip)) != UNET_OK)
        return rc;
    p->threshold = (float)ip.threshold;
    p->min_distance = (int)ip.min_distance;
    p->min_size = (int64_t)ip.min_size;
    p->split = ip.split;
    p->rank = 1; /* 4-connected objects, as unet_watershed's default */
    p->threads = unet__resolve_threads(o ? o->predict.threads : 0);
    p->overlap = o && o->strip_overlap ? o->strip_overlap : 128;
    /* Automatic strips (about 4 Mpixels, so a 2048^2 image is one whole-image pass) are
     * sized by the caller once the resized width is known. */
    p->strip = o && o->strip_rows ? o->strip_rows : 256;
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

/* Automatic strips: about 4 Mpixels of the (resized) image, so a 2048^2 image is one
 * whole-image pass. */
static void auto_strip(const unet_segment_opts_t *o, int64_t width, unet__seg_params *p)
{
    if (!(o && o->strip_rows))
        p->strip = ((int64_t)1 << 22) / width > 256 ? ((int64_t)1 << 22) / width : 256;
}

/* ---- progress: the predictor's fraction covers the call; cancel follows the caller's
 * options ---- */

typedef struct forward {
    const S *o;
    double part, parts; /* this run is plane `part` of `parts` of the caller's call */
} forward;

static int forward_progress(void *user, double fraction, const char *stage)
{
    const forward *f = user;
    const S *o = f->o;
    if (atomic_load(&((S *)o)->cancel))
        return 1;
    return o->progress
               ? o->progress(o->progress_user, (f->part + fraction * 0.99) / f->parts, stage)
               : 0;
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
    return unet__segment_run_part(m, o, 0, 1, channels, height, width, read, read_user, write,
                                  write_user, num_objects, stats);
}

int unet__segment_run_part(const unet_model_t *m, const unet_segment_opts_t *o, int64_t part,
                           int64_t parts, int64_t channels, int64_t height, int64_t width,
                           unet_read_fn read, void *read_user, unet_label_write_fn write,
                           void *write_user, uint32_t *num_objects, unet__seg_stats *stats)
{
    unet__seg_params p;
    double scale = 1;
    int64_t sh, sw;
    /* The channel rule itself runs in the predictor (unet__predict_with_model). */
    int rc = unet__channel_check(channels, m->cfg.in_channels, o ? &o->predict : NULL);
    if (rc == UNET_OK)
        rc = resolve(m, o, &p, &scale);
    if (rc != UNET_OK)
        return rc;
    sh = scale == 1 ? height : unet__scaled_size(height, scale);
    sw = scale == 1 ? width : unet__scaled_size(width, scale);
    auto_strip(o, sw, &p);
    unet__scaled_reader sr = {read, read_user, channels, height, width, sh, sw, NULL, 0};
    unet__label_mapper lm = {write, write_user, height, width, sh, sw, 0, NULL, NULL};
    unet__seg *seg = NULL;
    rc = unet__label_mapper_init(&lm);
    if (rc == UNET_OK)
        rc = unet__seg_create(&p, sh, sw, unet__label_mapper_emit, &lm, &seg);
    if (rc == UNET_OK) {
        struct unet_predict_opts po;
        forward fw = {o, (double)part, (double)parts};
        unet__predict_opts_defaults(&po);
        if (o) { /* the copied predict values; progress and cancel are the segment options' */
            unet__opts_copy(unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, &po,
                            &o->predict);
            po.progress = forward_progress;
            po.progress_user = &fw;
        }
        bool resized = sh != height || sw != width;
        unet__source src = {1, channels, sh, sw, resized ? unet__scaled_read : read,
                            resized ? (void *)&sr : read_user};
        unet__sink sink = {seg_sink, seg};
        rc = unet__predict_with_model(m, &po, &src, &sink);
        if (rc == UNET_OK && lm.next_y != height)
            rc = unet__fail(UNET_E_INTERNAL, "segmentation wrote %lld of %lld rows",
                            (long long)lm.next_y, (long long)height);
        if (rc == UNET_OK && o && o->progress && part == parts - 1 &&
            o->progress(o->progress_user, 1.0, "done") != 0)
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
                          const void *input, unet_dtype_t dtype, int ndim,
                          const int64_t *shape, uint32_t *labels, size_t label_count,
                          uint32_t *num_objects)
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

/* ---- instances from a prediction made elsewhere ---- */

typedef struct mem_emit {
    uint32_t *labels;
    int64_t width;
} mem_emit;

static int emit_mem(void *user, int64_t y, int64_t h, const uint32_t *src)
{
    mem_emit *e = user;
    memcpy(e->labels + y * e->width, src, (size_t)(h * e->width) * sizeof *src);
    return 0;
}

UNET_API int unet_segment_probabilities(const unet_model_t *m, const unet_segment_opts_t *o,
                                        const float *probs, int ndim, const int64_t *shape,
                                        uint32_t *labels, size_t label_count,
                                        uint8_t *foreground, uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !probs || !shape || !labels)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_probabilities: model, probs, shape "
                                              "or labels is NULL");
    if (ndim != 2 && ndim != 3)
        return unet__fail(UNET_E_SHAPE, "probabilities have %d dimensions; expected (H,W) or "
                                        "(C,H,W)", ndim);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "probability dimension %d has size %lld (must be 1 "
                                            "to 2^31)", i, (long long)shape[i]);
    int64_t C = ndim == 3 ? shape[0] : 1, H = shape[ndim - 2], W = shape[ndim - 1];
    if (C != m->cfg.out_channels)
        return unet__fail(UNET_E_SHAPE, "probabilities have %lld channel%s; the model outputs %d",
                          (long long)C, C == 1 ? "" : "s", m->cfg.out_channels);
    if ((uint64_t)H * (uint64_t)W != (uint64_t)label_count)
        return unet__fail(UNET_E_SHAPE, "labels buffer has %zu elements; %lld x %lld needs %lld",
                          label_count, (long long)H, (long long)W, (long long)(H * W));
    unet__seg_params p;
    double scale = 1;
    int rc = resolve(m, o, &p, &scale);
    if (rc != UNET_OK)
        return rc;
    if (scale != 1)
        return unet__fail(UNET_E_INVALID_ARG, "probabilities lie on the image's grid: scale "
                                              "must be 1, not %g (from the options' scale or "
                                              "pixel_size)", scale);
    auto_strip(o, W, &p);
    mem_emit e = {labels, W};
    unet__seg *seg = NULL;
    rc = unet__seg_create(&p, H, W, emit_mem, &e, &seg);
    if (rc == UNET_OK)
        rc = unet__seg_push(seg, 0, H, probs);
    if (rc == UNET_OK && num_objects)
        *num_objects = unet__seg_count(seg);
    unet__seg_free(seg);
    /* The pixels the objects were cut from, by the segmenter's own rule. */
    for (int64_t i = 0; rc == UNET_OK && foreground && i < H * W; i++)
        foreground[i] = unet__seg_class(&p, probs, H * W, i) != 0;
    return rc;
}
