/*
 * A session's scale (click.h): the automatic estimate measured once, on the first plane
 * clicked, exactly as unet_segment measures that image; the grid resized as unet_segment's
 * reader resizes it (same bilinear values, so the same probabilities); results mapped back to
 * the caller's image as unet_segment maps labels back. Clicked objects are then the objects
 * unet_segment gives with the same options.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "click/click.h"
#include "core/alloc.h"
#include "core/status.h"
#include "model/model.h"
#include "segment/resample.h"

#define BAND_ROWS 256 /* resized rows made at once */

/* The caller's plane p is finite (checked once). */
static int check_source(struct unet_click_session *s, int64_t p)
{
    if (s->plane_state[p] & UNET__CLICK_CHECKED)
        return UNET_OK;
    if (s->src_dtype == UNET_F32 || s->src_dtype == UNET_F64) {
        int64_t H = s->src_height, W = s->src_width;
        int64_t n = s->channels * H * W, base = p * n, i = 0;
        if (s->src_dtype == UNET_F32) {
            const float *v = (const float *)s->src_image + base;
            while (i < n && isfinite(v[i]))
                i++;
        } else { /* finite as a double, and as the float the network reads */
            const double *v = (const double *)s->src_image + base;
            while (i < n && isfinite((float)v[i]))
                i++;
        }
        if (i < n)
            return unet__fail(UNET_E_INVALID_ARG, "image pixel (plane %lld, channel %lld, y "
                                                  "%lld, x %lld) is not finite",
                              (long long)p, (long long)(i / (H * W)), (long long)(i / W % H),
                              (long long)(i % W));
    }
    s->plane_state[p] |= UNET__CLICK_CHECKED;
    return UNET_OK;
}

static int cancelled(void)
{
    return unet__fail(UNET_E_CANCELLED, "click cancelled (unet_click_session_cancel; "
                                        "unet_click_session_reset_cancel lets the session click "
                                        "again)");
}

int unet__click_check_cancel(const struct unet_click_session *s)
{
    return atomic_load(&((struct unet_click_session *)s)->cancel) ? cancelled() : UNET_OK;
}

/* The estimate's progress: it only asks whether the session was cancelled meanwhile. */
static int estimate_cancelled(void *user, double fraction, const char *stage)
{
    (void)fraction;
    (void)stage;
    return atomic_load(&((struct unet_click_session *)user)->cancel);
}

int unet__click_measure(struct unet_click_session *s, int64_t p)
{
    if (!s->scale.pending)
        return UNET_OK;
    int rc = check_source(s, p);
    if (rc != UNET_OK)
        return rc;
    /* How unet_segment cuts objects out, from the same options. */
    unet__seg_params seg = s->post;
    seg.threads = s->threads;
    unet__memory_image im = {s->src_image, s->src_dtype, s->channels, s->src_height,
                             s->src_width};
    unet__autoscale_job job = {s->model, &s->opts.predict, &seg,
                               {s->planes, s->channels, s->src_height, s->src_width,
                                unet__memory_read, &im},
                               p, estimate_cancelled, s, 0, 0};
    rc = unet__scale_estimate(&job, &s->scale);
    return rc == UNET_E_CANCELLED ? cancelled() : rc;
}

void unet__click_drop_grid(struct unet_click_session *s)
{
    unet__click_free_cache(s);
    unet__free_aligned(s->work);
    s->work = NULL;
    s->cached_pixels = 0;
    for (int64_t p = 0; s->plane_state && p < s->planes; p++)
        s->plane_state[p] &= (uint8_t)~UNET__CLICK_RESIZED;
    s->gridded = false;
}

int unet__click_settle(struct unet_click_session *s, int64_t p)
{
    int rc = unet__click_measure(s, p);
    if (rc != UNET_OK)
        return rc;
    if (s->gridded && s->grid_scale == s->scale.scale)
        return UNET_OK;
    unet__click_drop_grid(s);
    double scale = s->scale.scale;
    int64_t H = s->src_height, W = s->src_width;
    int64_t h = scale == 1 ? H : unet__scaled_size(H, scale);
    int64_t w = scale == 1 ? W : unet__scaled_size(W, scale);
    s->image = s->src_image;
    s->dtype = s->src_dtype;
    if (h != H || w != W) {
        /* Pages a plane never clicked does not touch cost no memory. */
        int64_t dims[4] = {s->planes, s->channels, h, w}, n = 0;
        if (unet__product(dims, 4, INT64_MAX / 8, &n))
            s->work = unet__alloc_floats((size_t)n);
        if (!s->work)
            return unet__fail(UNET_E_NOMEM, "out of memory for the %lld x %lld image at scale "
                                            "%g", (long long)h, (long long)w, scale);
        s->image = s->work;
        s->dtype = UNET_F32;
    }
    s->height = h;
    s->width = w;
    s->plane = calloc((size_t)s->planes, sizeof *s->plane);
    if (!s->plane)
        return unet__fail(UNET_E_NOMEM, "out of memory for a click session of %lld planes",
                          (long long)s->planes);
    unet__click_axes(s);
    s->grid_scale = scale;
    s->gridded = true;
    return UNET_OK;
}

int unet__click_source_plane(struct unet_click_session *s, int64_t p)
{
    int rc = check_source(s, p);
    if (rc != UNET_OK || !s->work || (s->plane_state[p] & UNET__CLICK_RESIZED))
        return rc;
    const int64_t C = s->channels, h = s->height, w = s->width;
    unet__memory_image im = {s->src_image, s->src_dtype, C, s->src_height, s->src_width};
    unet__scaled_reader sr = {unet__memory_read, &im, C, s->src_height, s->src_width, h, w,
                              NULL, 0, s->threads};
    int64_t rows = h < BAND_ROWS ? h : BAND_ROWS;
    float *band = unet__alloc_floats((size_t)(C * rows * w));
    if (!band)
        return unet__fail(UNET_E_NOMEM, "out of memory resizing the image");
    float *dst = s->work + p * C * h * w;
    for (int64_t y = 0; y < h && rc == UNET_OK; y += rows) {
        int64_t n = y + rows < h ? rows : h - y;
        rc = unet__scaled_read(&sr, p, y, 0, n, w, band);
        for (int64_t c = 0; c < C && rc == UNET_OK; c++)
            memcpy(dst + (c * h + y) * w, band + c * n * w, (size_t)(n * w) * sizeof *band);
    }
    unet__free_aligned(band);
    unet__scaled_reader_free(&sr);
    if (rc == UNET_OK)
        s->plane_state[p] |= UNET__CLICK_RESIZED;
    return rc;
}

void unet__click_to_grid(const struct unet_click_session *s, int64_t x, int64_t y, int64_t *gx,
                         int64_t *gy)
{
    *gx = s->width == s->src_width ? x : unet__scaled_index(x, s->src_width, s->width);
    *gy = s->height == s->src_height ? y : unet__scaled_index(y, s->src_height, s->height);
}

/* The first pixel i of an axis of n whose grid pixel (of m) is at least a. */
static int64_t first_at_least(int64_t a, int64_t n, int64_t m)
{
    int64_t i = (int64_t)floor((double)a * (double)n / (double)m);
    i = i < 0 ? 0 : i >= n ? n - 1 : i;
    while (i > 0 && unet__scaled_index(i - 1, n, m) >= a)
        i--;
    while (i < n && unet__scaled_index(i, n, m) < a)
        i++;
    return i;
}

int unet__click_map_back(const struct unet_click_session *s, struct unet_click_result *r)
{
    const int64_t H = s->src_height, W = s->src_width, h = s->height, w = s->width;
    if ((h == H && w == W) || r->area == 0)
        return UNET_OK;
    /* The caller's pixels whose grid pixels fall in the result's box. */
    int64_t y0 = first_at_least(r->y0, H, h), y1 = first_at_least(r->y0 + r->height, H, h);
    int64_t x0 = first_at_least(r->x0, W, w), x1 = first_at_least(r->x0 + r->width, W, w);
    int64_t bh = y1 - y0, bw = x1 - x0;
    uint8_t *full = bh > 0 && bw > 0 ? malloc((size_t)(bh * bw)) : NULL;
    int64_t *col = bw > 0 ? malloc((size_t)bw * sizeof *col) : NULL;
    if (!full || !col) {
        free(full);
        free(col);
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld object mask",
                          (long long)bh, (long long)bw);
    }
    for (int64_t x = 0; x < bw; x++)
        col[x] = unet__scaled_index(x0 + x, W, w) - r->x0;
    int64_t ty0 = bh, ty1 = -1, tx0 = bw, tx1 = -1, area = 0;
    for (int64_t y = 0; y < bh; y++) {
        const uint8_t *src = r->mask + (unet__scaled_index(y0 + y, H, h) - r->y0) * r->width;
        for (int64_t x = 0; x < bw; x++) {
            uint8_t v = full[y * bw + x] = src[col[x]];
            if (!v)
                continue;
            area++;
            ty0 = y < ty0 ? y : ty0;
            ty1 = y > ty1 ? y : ty1;
            tx0 = x < tx0 ? x : tx0;
            tx1 = x > tx1 ? x : tx1;
        }
    }
    free(col);
    /* The mask cut to its own box (upscaled grids skip some grid rows and columns). */
    int64_t th = ty1 - ty0 + 1, tw = tx1 - tx0 + 1;
    uint8_t *mask = area ? malloc((size_t)(th * tw)) : NULL;
    if (area && !mask) {
        free(full);
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld object mask",
                          (long long)th, (long long)tw);
    }
    for (int64_t y = 0; y < th && area; y++)
        memcpy(mask + y * tw, full + (y + ty0) * bw + tx0, (size_t)tw);
    free(full);
    free(r->mask);
    free(r->ring_start);
    free(r->xy);
    r->mask = mask;
    r->ring_start = NULL;
    r->xy = NULL;
    r->nrings = 0;
    r->area = area;
    if (!area) {
        r->x0 = r->y0 = r->width = r->height = 0;
        return UNET_OK;
    }
    r->x0 = x0 + tx0;
    r->y0 = y0 + ty0;
    r->width = tw;
    r->height = th;
    return unet__click_outline(mask, th, tw, r->x0, r->y0, s->post.rank, r);
}
