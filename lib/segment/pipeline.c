/* unet_segment's pipeline (pipeline.h): parameters from the model and the options, the
 * tiled predictor feeding the strip segmenter, and instances from probabilities. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/threads.h"
#include "model/model.h"
#include "predict/channels.h"
#include "segment/pipeline.h"
#include "segment/resample.h"

typedef struct unet_segment_opts S;

/* ---- parameters from the model and the options ---- */

/* The segmenter's parameters and the scale rules (the estimate, when they ask for one, is
 * left pending). */
static int resolve(const unet_model_t *m, const unet_segment_opts_t *o, unet__seg_params *p,
                   unet__scale_choice *choice)
{
    int rc = unet__seg_params_from_model(m, "segmentation", o ? &o->inst : NULL, p);
    if (rc != UNET_OK)
        return rc;
    p->threads = unet__resolve_threads(o ? o->predict.threads : 0);
    p->overlap = o && o->strip_overlap ? o->strip_overlap : 128;
    /* Automatic strips (about 4 Mpixels, so a 2048^2 image is one whole-image pass) are
     * sized by the caller once the resized width is known. */
    p->strip = o && o->strip_rows ? o->strip_rows : 256;
    return o ? unet__scale_rules(m, "segment", o->scale, o->diameter, o->pixel_size, choice)
             : unet__scale_rules(m, "segment", 0, 0, 0, choice);
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

typedef struct call_progress {
    const S *o;
    double f0, f1; /* the predictor's fraction maps into [f0, f1] */
} call_progress;

static int forward_progress(void *user, double fraction, const char *stage)
{
    const call_progress *cp = user;
    const S *o = cp->o;
    if (atomic_load(&((S *)o)->cancel))
        return 1;
    return o->progress ? o->progress(o->progress_user, cp->f0 + fraction * (cp->f1 - cp->f0),
                                     stage)
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

/* The predict options of a call: the segment options' copy (defaults without options), with
 * progress and cancel through the segment options. */
static void call_predict_opts(const unet_segment_opts_t *o, call_progress *cp,
                              struct unet_predict_opts *po)
{
    unet__predict_opts_defaults(po);
    if (!o)
        return;
    unet__opts_copy(unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, po, &o->predict);
    po->progress = forward_progress;
    po->progress_user = cp;
    po->max_pixels = 0; /* counted on the image as given (unet__segment_check_size) */
}

/* Progress of the estimate, [0, f1] of the call; cancel through the segment options. */
static int estimate_progress(void *user, double fraction, const char *stage)
{
    const S *o = user;
    if (atomic_load(&((S *)o)->cancel))
        return 1;
    return o->progress ? o->progress(o->progress_user, fraction, stage) : 0;
}

int unet__segment_choose_scale(const unet_model_t *m, const unet_segment_opts_t *o,
                               int64_t channels, int64_t height, int64_t width,
                               unet_read_fn read, void *read_user, double f1,
                               unet__scale_choice *choice)
{
    unet__seg_params p;
    int rc = unet__channel_check(channels, m->cfg.in_channels, o ? &o->predict : NULL);
    if (rc == UNET_OK)
        rc = resolve(m, o, &p, choice);
    if (rc == UNET_OK) /* the image as given, before the estimate reads it */
        rc = unet__segment_check_size(o ? &o->predict : NULL, channels, m->cfg.out_channels,
                                      height, width, height, width);
    if (rc != UNET_OK || !choice->pending)
        return rc;
    call_progress cp = {o, 0, 0};
    struct unet_predict_opts po;
    call_predict_opts(o, &cp, &po);
    /* The estimate reads the image as the model does: through the channel rule. */
    unet__channel_source cs;
    unet__source image = {1, channels, height, width, read, read_user};
    rc = unet__channel_source_init(&cs, &image, m->cfg.in_channels, po.channel);
    if (rc != UNET_OK)
        return rc;
    po.channel = -1; /* applied by cs */
    unet__autoscale_job job = {m, &po, &p, cs.src, 0, o ? estimate_progress : NULL, (void *)o,
                               0.0, f1};
    rc = unet__scale_estimate(&job, choice);
    unet__channel_source_free(&cs);
    if (rc == UNET_E_CANCELLED || (rc == UNET_OK && o && atomic_load(&((S *)o)->cancel)))
        return unet__fail(UNET_E_CANCELLED, "segmentation cancelled");
    return rc;
}

int unet__segment_scale(const unet_model_t *m, const unet_segment_opts_t *o, int64_t channels,
                        int64_t height, int64_t width, unet_read_fn read, void *read_user,
                        unet__scale_choice *choice)
{
    int rc = unet__segment_choose_scale(m, o, channels, height, width, read, read_user, 0.99,
                                        choice);
    /* 1.0 when the options have a progress callback (the call succeeded). */
    if (rc == UNET_OK && o && o->progress && o->progress(o->progress_user, 1.0, "done") != 0)
        rc = unet__fail(UNET_E_CANCELLED, "cancelled by the progress callback");
    return rc;
}

int unet__segment_run(const unet_model_t *m, const unet_segment_opts_t *o,
                      const unet__scale_choice *choice, int64_t channels, int64_t height,
                      int64_t width, unet_read_fn read, void *read_user,
                      unet_label_write_fn write, void *write_user, uint32_t *num_objects,
                      unet__seg_stats *stats)
{
    return unet__segment_run_part(m, o, choice, 0, 1, channels, height, width, read, read_user,
                                  write, write_user, num_objects, stats);
}

int unet__segment_run_part(const unet_model_t *m, const unet_segment_opts_t *o,
                           const unet__scale_choice *choice, int64_t part, int64_t parts,
                           int64_t channels, int64_t height, int64_t width, unet_read_fn read,
                           void *read_user, unet_label_write_fn write, void *write_user,
                           uint32_t *num_objects, unet__seg_stats *stats)
{
    unet__seg_params p;
    unet__scale_choice own;
    int64_t sh, sw;
    double f0 = choice && choice->from == UNET__SCALE_FROM_ESTIMATE
                    ? UNET__SEGMENT_ESTIMATE_SHARE
                    : 0;
    /* The channel rule itself runs in the predictor (unet__predict_with_model). */
    int rc = unet__channel_check(channels, m->cfg.in_channels, o ? &o->predict : NULL);
    if (rc == UNET_OK)
        rc = resolve(m, o, &p, &own);
    if (rc == UNET_OK && !choice && own.pending) {
        f0 = UNET__SEGMENT_ESTIMATE_SHARE;
        rc = unet__segment_choose_scale(m, o, channels, height, width, read, read_user, f0,
                                        &own);
    }
    if (rc != UNET_OK)
        return rc;
    const double scale = choice ? choice->scale : own.scale;
    sh = scale == 1 ? height : unet__scaled_size(height, scale);
    sw = scale == 1 ? width : unet__scaled_size(width, scale);
    rc = unet__segment_check_size(o ? &o->predict : NULL, channels, m->cfg.out_channels, height,
                                  width, sh, sw);
    if (rc != UNET_OK)
        return rc;
    auto_strip(o, sw, &p);
    unet__scaled_reader sr = {read, read_user, channels, height, width, sh, sw, NULL, 0,
                              p.threads};
    unet__label_mapper lm = {write, write_user, height, width, sh, sw, 0, NULL, NULL};
    unet__seg *seg = NULL;
    rc = unet__label_mapper_init(&lm);
    if (rc == UNET_OK)
        rc = unet__seg_create(&p, sh, sw, unet__label_mapper_emit, &lm, &seg);
    if (rc == UNET_OK) {
        /* This part's share of what the estimate left: [f0, 0.99] split between the parts. */
        const double span = (0.99 - f0) / (double)parts;
        call_progress cp = {o, f0 + span * (double)part, f0 + span * (double)(part + 1)};
        struct unet_predict_opts po;
        call_predict_opts(o, &cp, &po);
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

int unet__segment_memory(const unet_model_t *m, const unet_segment_opts_t *o,
                         const void *input, unet_dtype_t dtype, int64_t channels,
                         int64_t height, int64_t width, uint32_t *labels,
                         uint32_t *num_objects)
{
    unet__memory_image im = {input, dtype, channels, height, width};
    mem_labels l = {labels, width};
    return unet__segment_run(m, o, NULL, channels, height, width, unet__memory_read, &im,
                             write_mem, &l, num_objects, NULL);
}

/* ---- instances from a prediction made elsewhere ---- */

static int emit_mem(void *user, int64_t y, int64_t h, const uint32_t *src)
{
    mem_labels *e = user;
    memcpy(e->labels + y * e->width, src, (size_t)(h * e->width) * sizeof *src);
    return 0;
}

int unet__segment_probabilities(const unet_model_t *m, const unet_segment_opts_t *o,
                                const float *probs, int64_t height, int64_t width,
                                uint32_t *labels, uint8_t *foreground, uint32_t *num_objects)
{
    const int64_t H = height, W = width;
    unet__seg_params p;
    unet__scale_choice choice;
    int rc = resolve(m, o, &p, &choice);
    if (rc != UNET_OK)
        return rc;
    /* No image to estimate from: an automatic scale is 1 here. */
    if (choice.scale != 1)
        return unet__fail(UNET_E_INVALID_ARG, "probabilities lie on the image's grid: scale "
                                              "must be 1, not %g (from the options' scale, "
                                              "diameter or pixel_size)", choice.scale);
    rc = unet__segment_check_size(o ? &o->predict : NULL, m->cfg.out_channels,
                                  m->cfg.out_channels, H, W, H, W);
    if (rc != UNET_OK)
        return rc;
    auto_strip(o, W, &p);
    mem_labels e = {labels, W};
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
