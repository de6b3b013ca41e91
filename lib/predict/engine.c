/*
 * The tiled prediction engine. For every plane: normalisation statistics of the whole plane,
 * then tile rows top to bottom; each tile's input window is read from the source (mirrored or
 * zero-filled outside the image, per the border mode), normalised, run through the network in
 * batches of equal-shaped tiles, and its widened core is accumulated with its blend weights
 * into a band of output rows. Rows no later tile touches are written to the sink at once, so
 * memory is bounded by one band (tile height x image width) plus one batch of tiles.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/budget.h"
#include "core/status.h"
#include "predict/predict.h"

int64_t unet__reflect_index(int64_t i, int64_t n)
{
    if (n == 1)
        return 0;
    int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

/* Source coordinate of window coordinate v, or -1 for a zero pixel. */
static int64_t source_index(const unet__axis *ax, int64_t v)
{
    if (v >= 0 && v < ax->size)
        return v;
    if (ax->border == UNET_BORDER_ZERO)
        return -1;
    return unet__reflect_index(v, ax->size);
}

typedef struct engine {
    const unet__net *net;
    const struct unet_predict_opts *opts;
    const unet__source *src;
    const unet__sink *sink;
    unet__axis ay, ax;
    unet__affine *affine;    /* per channel of the current plane */
    int threads;
    /* scratch */
    float *region;           /* source region read for one tile */
    int64_t region_cap;
    int64_t *map_y, *map_x;  /* window -> source coordinates */
    float *batch_in, *batch_out;
    int64_t batch_in_cap, batch_out_cap;
    float *flip_in, *flip_out; /* test-time augmentation's flipped batch */
    int64_t flip_in_cap, flip_out_cap;
    float *band;             /* accumulated output rows [band0, band0 + band_rows) */
    int64_t band_rows, band0;
    unet__progress prog;
    /* progress: plane p spans [f0, f0 + share); statistics take its first stats_part */
    double f0, share, stats_part;
} engine;

static int report(engine *e, double tiles_done)
{
    double tiles = (double)(e->ay.count * e->ax.count);
    double f = e->f0 + e->share * (e->stats_part + (1 - e->stats_part) * tiles_done / tiles);
    return unet__progress_report(&e->prog, f, "predicting", false);
}

/* Make *buf hold `need` floats. Sizes were checked against the budget before the run
 * (budget.c); the products here saturate all the same, so a planning slip fails as NOMEM
 * instead of wrapping into a small buffer. */
static int grow(float **buf, int64_t *cap, uint64_t need)
{
    if (need <= (uint64_t)*cap)
        return UNET_OK;
    if (need > (uint64_t)INT64_MAX)
        return unet__fail(UNET_E_NOMEM, "tile buffers of more floats than can be counted");
    unet__free_aligned(*buf);
    *buf = unet__alloc_floats((size_t)need);
    *cap = *buf ? (int64_t)need : 0;
    if (!*buf)
        return unet__fail(UNET_E_NOMEM, "out of memory for %lld floats of tile buffers",
                          (long long)need);
    return UNET_OK;
}

/* Fill one tile's normalised input (C, wh, ww) from the source. */
static int load_window(engine *e, int64_t plane, const unet__span *sy, const unet__span *sx,
                       float *dst)
{
    int64_t C = e->src->channels, wh = sy->win1 - sy->win0, ww = sx->win1 - sx->win0;
    int64_t y_lo = INT64_MAX, y_hi = -1, x_lo = INT64_MAX, x_hi = -1;
    for (int64_t i = 0; i < wh; i++) {
        int64_t s = e->map_y[i] = source_index(&e->ay, sy->win0 + i);
        if (s >= 0) {
            y_lo = s < y_lo ? s : y_lo;
            y_hi = s > y_hi ? s : y_hi;
        }
    }
    for (int64_t i = 0; i < ww; i++) {
        int64_t s = e->map_x[i] = source_index(&e->ax, sx->win0 + i);
        if (s >= 0) {
            x_lo = s < x_lo ? s : x_lo;
            x_hi = s > x_hi ? s : x_hi;
        }
    }
    if (y_hi < 0 || x_hi < 0) { /* the window lies entirely in zero padding */
        memset(dst, 0, (size_t)(C * wh * ww) * sizeof(float));
        return UNET_OK;
    }
    int64_t rh = y_hi - y_lo + 1, rw = x_hi - x_lo + 1;
    int rc = grow(&e->region, &e->region_cap, unet__sat_mul3(C, rh, rw));
    if (rc != UNET_OK)
        return rc;
    rc = e->src->read(e->src->user, plane, y_lo, x_lo, rh, rw, e->region);
    if (rc != 0)
        return rc < 0 ? rc : unet__fail(UNET_E_IO, "reading region (%lld, %lld) %lld x %lld of "
                                                   "plane %lld failed (callback returned %d)",
                                        (long long)y_lo, (long long)x_lo, (long long)rh,
                                        (long long)rw, (long long)plane, rc);
    for (int64_t i = 0; i < C * rh * rw; i++)
        if (!isfinite(e->region[i]))
            return unet__fail(UNET_E_INVALID_ARG, "input pixel (plane %lld, channel %lld, y "
                                                  "%lld, x %lld) is not finite",
                              (long long)plane, (long long)(i / (rh * rw)),
                              (long long)(y_lo + i / rw % rh), (long long)(x_lo + i % rw));
    for (int64_t c = 0; c < C; c++) {
        double shift = e->affine[c].shift, scale = e->affine[c].scale;
        const float *reg = e->region + c * rh * rw;
        for (int64_t i = 0; i < wh; i++) {
            float *row = dst + (c * wh + i) * ww;
            if (e->map_y[i] < 0) {
                memset(row, 0, (size_t)ww * sizeof(float));
                continue;
            }
            const float *src_row = reg + (e->map_y[i] - y_lo) * rw;
            for (int64_t j = 0; j < ww; j++)
                row[j] = e->map_x[j] < 0
                             ? 0.0f
                             : (float)((src_row[e->map_x[j] - x_lo] - shift) * scale);
        }
    }
    return UNET_OK;
}

/* Add tile output (Cout, oh, ow) with blend weights into the band. */
static void accumulate(engine *e, int64_t ky, int64_t kx, const unet__span *sy,
                       const unet__span *sx, const float *out, int64_t oh, int64_t ow)
{
    int64_t C = e->net->out_channels, W = e->ax.size;
    for (int64_t y = sy->ext0; y < sy->ext1; y++) {
        double wy = unet__blend_weight(&e->ay, sy, ky, y);
        for (int64_t c = 0; c < C; c++) {
            const float *src = out + (c * oh + (y - sy->out0)) * ow - sx->out0;
            float *dst = e->band + (c * e->band_rows + (y - e->band0)) * W;
            if (wy == 1.0 && e->ax.blend == 0) {
                memcpy(dst + sx->ext0, src + sx->ext0,
                       (size_t)(sx->ext1 - sx->ext0) * sizeof(float));
                continue;
            }
            for (int64_t x = sx->ext0; x < sx->ext1; x++)
                dst[x] += (float)(wy * unet__blend_weight(&e->ax, sx, kx, x) * src[x]);
        }
    }
}

/* Run a batch of tiles kx0..kx1-1 of tile row ky (all with the same window shape). */
static int run_batch(engine *e, int64_t plane, int64_t ky, const unet__span *sy, int64_t kx0,
                     int64_t kx1)
{
    unet__span sx;
    unet__axis_span(e->net, &e->ax, kx0, &sx);
    int64_t C = e->src->channels, Co = e->net->out_channels, n = kx1 - kx0;
    int64_t wh = sy->win1 - sy->win0, ww = sx.win1 - sx.win0, oh = wh, ow = ww;
    if (!e->net->same_padding &&
        (e->net->axis_out(e->net->shape_ctx, wh, &oh) != UNET_OK ||
         e->net->axis_out(e->net->shape_ctx, ww, &ow) != UNET_OK))
        return unet__fail(UNET_E_INTERNAL, "tile window %lld x %lld does not fit the network",
                          (long long)wh, (long long)ww);
    int rc = grow(&e->batch_in, &e->batch_in_cap, unet__sat_mul(unet__sat_mul3(n, C, wh), ww));
    if (rc == UNET_OK)
        rc = grow(&e->batch_out, &e->batch_out_cap, unet__sat_mul(unet__sat_mul3(n, Co, oh), ow));
    int64_t origin_x[UNET__MAX_BATCH];
    for (int64_t k = kx0; k < kx1 && rc == UNET_OK; k++) {
        unet__axis_span(e->net, &e->ax, k, &sx);
        origin_x[k - kx0] = sx.win0 - e->ax.canvas0;
        rc = load_window(e, plane, sy, &sx, e->batch_in + (k - kx0) * C * wh * ww);
    }
    /* Origins relative to the canvas, where a whole-image pass starts. */
    unet__run_at at = {sy->win0 - e->ay.canvas0, origin_x, e->opts->precise};
    if (rc == UNET_OK && e->opts->tta) {
        rc = grow(&e->flip_in, &e->flip_in_cap, (uint64_t)e->batch_in_cap);
        if (rc == UNET_OK)
            rc = grow(&e->flip_out, &e->flip_out_cap, (uint64_t)e->batch_out_cap);
        unet__tta_run t = {e->batch_in, n, wh, ww, oh, ow, e->batch_out, e->flip_in, e->flip_out};
        if (rc == UNET_OK)
            rc = unet__run_tta(e->net, &t, e->threads, &at);
    } else if (rc == UNET_OK) {
        rc = e->net->run(e->net->run_ctx, e->batch_in, n, wh, ww, e->batch_out, e->threads, &at);
    }
    for (int64_t k = kx0; k < kx1 && rc == UNET_OK; k++) {
        unet__axis_span(e->net, &e->ax, k, &sx);
        accumulate(e, ky, k, sy, &sx, e->batch_out + (k - kx0) * Co * oh * ow, oh, ow);
    }
    return rc;
}

/* Write band rows [y0, y1) to the sink. */
static int flush_rows(engine *e, int64_t plane, int64_t y0, int64_t y1)
{
    if (y1 <= y0)
        return UNET_OK;
    int64_t C = e->net->out_channels, W = e->ax.size, h = y1 - y0;
    /* The sink takes (C, h, W): contiguous when the band holds exactly these rows and one
     * channel; otherwise gather into the batch_in scratch first. */
    const float *src = e->band + (y0 - e->band0) * W;
    if (C > 1) {
        int rc = grow(&e->region, &e->region_cap, unet__sat_mul3(C, h, W));
        if (rc != UNET_OK)
            return rc;
        for (int64_t c = 0; c < C; c++)
            memcpy(e->region + c * h * W, e->band + (c * e->band_rows + (y0 - e->band0)) * W,
                   (size_t)(h * W) * sizeof(float));
        src = e->region;
    }
    int rc = e->sink->write(e->sink->user, plane, y0, 0, h, W, src);
    if (rc != 0)
        return rc < 0 ? rc : unet__fail(UNET_E_IO, "writing rows %lld..%lld of plane %lld "
                                                   "failed (callback returned %d)",
                                        (long long)y0, (long long)y1, (long long)plane, rc);
    return UNET_OK;
}

static int predict_plane(engine *e, int64_t plane)
{
    int rc = UNET_OK;
    double tiles_done = 0;
    int64_t W = e->ax.size, C = e->net->out_channels, batch = e->opts->batch;
    for (int64_t ky = 0; ky < e->ay.count && rc == UNET_OK; ky++) {
        unet__span sy;
        unet__axis_span(e->net, &e->ay, ky, &sy);
        /* The band now starts at this row's widened core; rows carried over from the previous
         * tile row (its seam overlap) were moved to the top already. */
        e->band0 = sy.ext0;
        int64_t kx = 0;
        while (kx < e->ax.count && rc == UNET_OK) {
            unet__span a, b;
            unet__axis_span(e->net, &e->ax, kx, &a);
            int64_t end = kx + 1;
            while (end < e->ax.count && end - kx < batch) {
                unet__axis_span(e->net, &e->ax, end, &b);
                if (b.win1 - b.win0 != a.win1 - a.win0)
                    break;
                end++;
            }
            /* Cancellation is checked before and after every batch. */
            rc = report(e, tiles_done);
            if (rc == UNET_OK)
                rc = run_batch(e, plane, ky, &sy, kx, end);
            tiles_done += (double)(end - kx);
            if (rc == UNET_OK)
                rc = report(e, tiles_done);
            kx = end;
        }
        if (rc != UNET_OK)
            break;
        bool last = ky == e->ay.count - 1;
        int64_t final_end = last ? sy.ext1 : sy.core1 - e->ay.blend;
        rc = flush_rows(e, plane, sy.ext0, final_end);
        if (rc != UNET_OK || last)
            break;
        /* Carry the seam overlap [final_end, ext1) to the top; clear the rest. */
        int64_t carry = sy.ext1 - final_end;
        for (int64_t c = 0; c < C; c++) {
            float *band = e->band + c * e->band_rows * W;
            memmove(band, band + (final_end - sy.ext0) * W, (size_t)(carry * W) * sizeof(float));
            memset(band + carry * W, 0, (size_t)((e->band_rows - carry) * W) * sizeof(float));
        }
    }
    return rc;
}

int unet__predict_run(const unet__net *net, const struct unet_predict_opts *opts,
                      const unet__norm *norm, const unet__source *src, const unet__sink *sink)
{
    engine e;
    memset(&e, 0, sizeof e);
    e.net = net;
    e.opts = opts;
    e.src = src;
    e.sink = sink;
    e.prog.opts = opts;
    e.prog.last_time = -1.0;
    e.threads = opts->threads;

    /* Sizes before anything is allocated: the image (its products exact, max_pixels) ... */
    int rc = unet__predict_check_image(src->planes, src->channels, net->out_channels,
                                       src->height, src->width);
    if (rc == UNET_OK)
        rc = unet__predict_check_pixels(opts, src->planes, src->height, src->width);
    if (rc != UNET_OK)
        return rc;
    int border;
    int64_t halo;
    int erc = unet__resolve_edges(net->same_padding, net->halo, net->margin, opts->border,
                                  opts->halo, opts->unsafe_halo, &border, &halo);
    if (erc != UNET_OK)
        return erc;
    int64_t B = net->block_multiple, tile = opts->tile;
    if (tile > 0 && tile % B != 0)
        return unet__fail(UNET_E_INVALID_ARG, "tile %lld is not a multiple of the model's block "
                                              "multiple %lld", (long long)tile, (long long)B);
    if (tile == 0)
        tile = unet__auto_tile(net, src->height, src->width, halo, opts->batch, opts->threads);
    rc = unet__axis_plan(net, border, src->height, tile, halo, opts->blend, &e.ay);
    if (rc == UNET_OK)
        rc = unet__axis_plan(net, border, src->width, tile, halo, opts->blend, &e.ax);
    if (rc != UNET_OK)
        return rc;

    /* ... and one run's memory (windows, band, network workspace) against the budget. */
    int64_t win[2] = {0, 0};
    for (int axis = 0; axis < 2; axis++) {
        const unet__axis *ax = axis ? &e.ax : &e.ay;
        for (int64_t k = 0; k < ax->count; k++) {
            unet__span s;
            unet__axis_span(net, ax, k, &s);
            win[axis] = s.win1 - s.win0 > win[axis] ? s.win1 - s.win0 : win[axis];
        }
    }
    int64_t max_win = win[0] > win[1] ? win[0] : win[1];
    e.band_rows = e.ay.tile + 2 * e.ay.blend;
    if (e.band_rows > e.ay.size)
        e.band_rows = e.ay.size;
    unet__run_size rs = {opts->batch < e.ax.count ? opts->batch : e.ax.count, win[0], win[1],
                         e.band_rows, e.ax.size, opts->tta};
    rc = unet__predict_check_run(net, &rs, opts->threads);
    if (rc == UNET_OK && net->reserve)
        rc = net->reserve(net->run_ctx, rs.batch, rs.win_y, rs.win_x, opts->threads);
    if (rc != UNET_OK)
        return rc;

    /* Scratch sized once: window maps, the band. */
    e.map_y = malloc((size_t)max_win * sizeof *e.map_y);
    e.map_x = malloc((size_t)max_win * sizeof *e.map_x);
    e.band = unet__alloc_floats((size_t)(net->out_channels * e.band_rows * e.ax.size));
    e.affine = calloc((size_t)src->channels, sizeof *e.affine);
    if (!e.map_y || !e.map_x || !e.band || !e.affine)
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a band of %lld x %lld output pixels",
                        (long long)e.band_rows, (long long)e.ax.size);
    bool needs_stats = norm->mode == UNET_NORMALIZE_ZMUV || norm->mode == UNET_NORMALIZE_PERCENTILE;
    e.share = 1.0 / (double)src->planes;
    e.stats_part = needs_stats ? 0.1 : 0.0;
    for (int64_t p = 0; p < src->planes && rc == UNET_OK; p++) {
        e.f0 = (double)p * e.share;
        rc = unet__plane_normalization(src, p, norm, e.affine, &e.prog, e.f0,
                                       e.f0 + e.stats_part * e.share);
        if (rc != UNET_OK)
            break;
        memset(e.band, 0, (size_t)(net->out_channels * e.band_rows * e.ax.size) * sizeof(float));
        rc = predict_plane(&e, p);
    }
    if (rc == UNET_OK)
        rc = unet__progress_report(&e.prog, 1.0, "done", true);
    free(e.map_y);
    free(e.map_x);
    unet__free_aligned(e.band);
    unet__free_aligned(e.region);
    unet__free_aligned(e.batch_in);
    unet__free_aligned(e.batch_out);
    unet__free_aligned(e.flip_in);
    unet__free_aligned(e.flip_out);
    free(e.affine);
    return rc;
}
