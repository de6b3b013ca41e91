/*
 * A session's life (click.h): made from the model's metadata and the caller's options, its
 * options changed (keeping the cache when the probabilities stay the same), a click answered,
 * freed. The arguments are checked by api/click.c before they get here.
 */
#include <stdlib.h>
#include <string.h>

#include "click/click.h"
#include "core/alloc.h"
#include "core/status.h"
#include "model/model.h"
#include "post/post.h"
#include "predict/channels.h"

static const unet__opts_table *const table = &unet__click_opts_table;

/* ---- the session's settings from the model's metadata and the options ---- */

/* The prediction reference of the session (normalisation, halo, border, cell grid) from the
 * predict options; an empty per-plane cache. */
static int configure_prediction(struct unet_click_session *s, const struct unet_predict_opts *po)
{
    unet__predict_opts_defaults(&s->run_opts);
    unet__opts_copy(unet__predict_opt_entries, UNET__PREDICT_OPT_COUNT, &s->run_opts, po);
    /* New options keep a pending cancel (the defaults cleared the mirror). */
    atomic_store(&s->run_opts.cancel, atomic_load(&s->cancel));
    int rc = unet__predict_opts_check(&s->run_opts);
    if (rc != UNET_OK)
        return rc;
    s->norm = unet__predict_norm(s->model, &s->run_opts);
    s->threads = unet__resolve_threads(s->run_opts.threads);
    if ((rc = unet__click_geometry(s)) != UNET_OK)
        return rc;
    /* Window runs: the sub-canvas in one piece, already normalised; the border is made by
     * the reader, so the engine's own only pads what the reference pads. */
    s->run_opts.tile = UNET_TILE_WHOLE;
    s->run_opts.normalize = UNET_NORMALIZE_NONE;
    s->run_opts.border = s->same_padding ? UNET_BORDER_NETWORK : UNET_BORDER_REFLECT;
    s->run_opts.halo = -1;
    s->run_opts.unsafe_halo = false;
    s->run_opts.blend = 0;
    s->run_opts.batch = 1;
    s->run_opts.channel = -1; /* the session's image is already what the model reads */
    s->plane = calloc((size_t)s->planes, sizeof *s->plane);
    if (!s->plane)
        return unet__fail(UNET_E_NOMEM, "out of memory for a click session of %lld planes",
                          (long long)s->planes);
    return UNET_OK;
}

/* Post-processing and search settings from the options (the cell size known). */
static int configure_post(struct unet_click_session *s, const struct unet_click_opts *o)
{
    unet__seg_params post; /* as unet_segment cuts objects out */
    int rc = unet__seg_params_from_model(s->model, "click-to-segment", &o->inst, &post);
    if (rc != UNET_OK)
        return rc;
    if (o->max_extent < s->cell)
        return unet__fail(UNET_E_INVALID_ARG, "click option max_extent = %lld is below the "
                                              "model's cell size %lld",
                          (long long)o->max_extent, (long long)s->cell);
    s->post = post;
    s->max_extent = o->max_extent;
    s->first_window = o->first_window;
    s->threads = unet__resolve_threads(o->predict.threads);
    s->run_opts.threads = o->predict.threads;
    unet__opts_copy_values(table, &s->opts, o);
    return UNET_OK;
}

/* Whether two option sets give the same probabilities: every predict key but threads and
 * max_pixels (which do not change the numbers) and tile, blend and batch (which sessions do
 * not use). */
static bool same_prediction(const struct unet_predict_opts *a, const struct unet_predict_opts *b)
{
    static const char *const unused[] = {"threads", "tile", "blend", "batch", "max_pixels"};
    for (int i = 0; i < UNET__PREDICT_OPT_COUNT; i++) {
        const unet__opt *e = &unet__predict_opt_entries[i];
        bool skip = false;
        for (size_t k = 0; k < sizeof unused / sizeof unused[0]; k++)
            skip = skip || strcmp(e->name, unused[k]) == 0;
        if (!skip && !unet__opts_equal(e, 1, a, b))
            return false;
    }
    return true;
}

/* ---- sessions ---- */

/* The caller's image as the model reads it (channel rule), into an owned float32 copy that
 * the session then uses instead. */
static int convert_channels(struct unet_click_session *s, const unet__channel_rule *rule)
{
    const int64_t M = rule->model_channels;
    s->converted = malloc((size_t)(s->planes * M * s->height * s->width) * sizeof(float));
    if (!s->converted)
        return unet__fail(UNET_E_NOMEM, "out of memory converting a %lld-channel image of "
                                        "%lld x %lld for the model",
                          (long long)s->channels, (long long)s->height, (long long)s->width);
    int rc = unet__channel_rule_image(rule, s->image, s->dtype, s->planes, s->height, s->width,
                                      s->converted);
    if (rc != UNET_OK)
        return rc;
    s->image = s->converted;
    s->dtype = UNET_F32;
    s->channels = M;
    return UNET_OK;
}

int unet__click_session_new(const unet_model_t *m, const struct unet_click_opts *opts,
                            const void *image, unet_dtype_t dtype, int64_t planes,
                            int64_t channels, int64_t height, int64_t width,
                            struct unet_click_session **out)
{
    int rc = unet__predict_check_pixels(&opts->predict, planes, height, width);
    unet__channel_rule rule;
    if (rc == UNET_OK)
        rc = unet__channel_rule_resolve(channels, m->cfg.in_channels, opts->predict.channel,
                                        &rule);
    if (rc != UNET_OK)
        return rc;
    struct unet_click_session *s = calloc(1, sizeof *s);
    if (!s)
        return unet__fail(UNET_E_NOMEM, "out of memory for a click session");
    atomic_init(&s->cancel, 0);
    s->model = m;
    s->image = image;
    s->dtype = dtype;
    s->planes = planes;
    s->channels = channels;
    s->height = height;
    s->width = width;
    s->in_channels = m->cfg.in_channels;
    s->out_channels = m->cfg.out_channels;
    s->same_padding = m->cfg.same_padding;
    if (rule.kind != UNET__CHANNELS_AS_THEY_ARE) /* colour: what the model reads, once */
        rc = convert_channels(s, &rule);
    /* The image at scale 1 (resized grids are made from it), as the model reads it. */
    s->src_image = s->image;
    s->src_dtype = s->dtype;
    s->src_height = s->height;
    s->src_width = s->width;
    s->plane_state = rc == UNET_OK ? calloc((size_t)planes, 1) : NULL;
    if (rc == UNET_OK && !s->plane_state)
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a click session of %lld planes",
                        (long long)planes);
    if (rc == UNET_OK)
        rc = configure_prediction(s, &opts->predict);
    if (rc == UNET_OK)
        rc = configure_post(s, opts);
    if (rc == UNET_OK) /* the grid waits for the first click (scale.c) */
        rc = unet__scale_rules(m, "click", opts->scale, opts->diameter, 0, &s->scale);
    if (rc != UNET_OK) {
        unet__click_session_free(s);
        return rc;
    }
    *out = s;
    return UNET_OK;
}

void unet__click_session_free(struct unet_click_session *s)
{
    if (!s)
        return;
    unet__click_drop_grid(s);
    free(s->plane_state);
    free(s->converted);
    free(s);
}

int unet__click_session_set_opts(struct unet_click_session *s,
                                  const struct unet_click_opts *opts)
{
    if (opts->predict.channel != s->opts.predict.channel) /* the image was converted for it */
        return unet__fail(UNET_E_INVALID_ARG, "a click session reads the channel chosen when "
                                              "it was created (%lld); channel %lld needs a new "
                                              "session",
                          (long long)s->opts.predict.channel,
                          (long long)opts->predict.channel);
    unet__scale_choice choice;
    int rc = unet__scale_rules(s->model, "click", opts->scale, opts->diameter, 0, &choice);
    if (rc != UNET_OK)
        return rc;
    if (same_prediction(&s->opts.predict, &opts->predict)) {
        /* The cache stays valid while the grid keeps its scale (scale.c compares). An
         * estimate stands while nothing it was measured with changes. */
        bool same_cut = unet__opts_equal(unet__instance_opt_entries, UNET__INSTANCE_OPT_COUNT,
                                         &s->opts.inst, &opts->inst);
        bool keep = choice.pending && s->scale.from == UNET__SCALE_FROM_ESTIMATE &&
                    !s->scale.pending && same_cut;
        if ((rc = configure_post(s, opts)) != UNET_OK)
            return rc;
        if (!keep)
            s->scale = choice;
        if (s->gridded && !s->scale.pending && s->scale.scale != s->grid_scale)
            unet__click_drop_grid(s); /* another image size: the cache serves nothing */
        return UNET_OK;
    }
    /* New probabilities: settle everything on a copy, then drop the cache and the grid. */
    struct unet_click_session next = *s;
    next.plane = NULL;
    rc = configure_prediction(&next, &opts->predict);
    if (rc == UNET_OK)
        rc = configure_post(&next, opts);
    if (rc != UNET_OK) {
        free(next.plane);
        return rc;
    }
    unet__click_drop_grid(s); /* the next click makes the grid again (scale.c) */
    next.work = NULL;
    next.gridded = false;
    next.scale = choice;
    next.cached_pixels = 0;
    *s = next;
    return UNET_OK;
}

int unet__click_session_set_scale(struct unet_click_session *s, double scale)
{
    struct unet_click_opts o;
    unet__opts_init(table, &o);
    unet__opts_copy_values(table, &o, &s->opts);
    int rc = unet__opts_set_double(table, &o, "scale", scale);
    return rc == UNET_OK ? unet__click_session_set_opts(s, &o) : rc;
}

int unet__click_at(struct unet_click_session *s, int64_t x, int64_t y, int64_t plane,
                   struct unet_click_result **out)
{
    int rc = unet__click_check_cancel(s);
    if (rc == UNET_OK)
        rc = unet__click_settle(s, plane);
    if (rc != UNET_OK)
        return rc;
    int64_t gx, gy;
    unet__click_to_grid(s, x, y, &gx, &gy);
    if ((rc = unet__click_object(s, plane, gx, gy, out)) == UNET_OK &&
        (rc = unet__click_map_back(s, *out)) != UNET_OK) {
        unet__click_result_free(*out);
        *out = NULL;
    }
    return rc;
}
