/*
 * The session's cache of predicted probabilities: a grid of aligned cells per plane, filled by
 * running the tiled engine on sub-regions of the whole-image canvas (see click.h for why the
 * numbers equal a whole-image pass).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "click/click.h"
#include "core/alloc.h"
#include "core/dtype.h"
#include "core/status.h"
#include "model/model.h"

static int64_t round_up(int64_t v, int64_t m)
{
    return (v + m - 1) / m * m;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int unet__click_geometry(struct unet_click_session *s)
{
    const unet_model_t *m = s->model;
    const struct unet_predict_opts *o = &s->run_opts;
    int64_t B = m->block_multiple;
    /* The reference's halo and border, by the engine's rule. */
    int64_t halo;
    int rc = unet__resolve_edges(s->same_padding, unet__model_halo(m), m->computed_halo,
                                 o->border, o->halo, o->unsafe_halo, &s->border, &halo);
    if (rc != UNET_OK)
        return rc;
    /* Runs start on multiples of 4 B in canvas coordinates: pooling grids and Winograd blocks
     * then sit where the whole-image pass has them. */
    int64_t a4 = 4 * B;
    s->cell = round_up(64, a4);
    s->context = round_up(halo, a4);
    s->halo = halo;
    unet__click_axes(s);
    return UNET_OK;
}

void unet__click_axes(struct unet_click_session *s)
{
    int64_t B = s->model->block_multiple, halo = s->halo;
    for (int axis = 0; axis < 2; axis++) {
        unet__click_axis *ax = axis ? &s->ax : &s->ay;
        ax->size = axis ? s->width : s->height;
        if (!s->same_padding) {
            ax->lo = INT64_MIN;
            ax->hi = INT64_MAX;
            ax->grid0 = 0;
        } else if (s->border == UNET_BORDER_NETWORK) {
            ax->lo = 0;
            ax->hi = round_up(ax->size, B);
            ax->grid0 = 0;
        } else {
            ax->lo = -round_up(halo, B);
            ax->hi = round_up(ax->size + halo, B);
            ax->grid0 = ax->lo;
        }
        ax->cells = (ax->size - ax->grid0 + s->cell - 1) / s->cell;
    }
}

/* ---- reading the caller's image ---- */

int unet__click_prepare_plane(struct unet_click_session *s, int64_t p)
{
    unet__click_plane *pl = &s->plane[p];
    if (pl->ready)
        return UNET_OK;
    int rc = unet__click_source_plane(s, p);
    if (rc != UNET_OK)
        return rc;
    if (!pl->affine)
        pl->affine = calloc((size_t)s->channels, sizeof *pl->affine);
    if (!pl->cells)
        pl->cells = calloc((size_t)(s->ay.cells * s->ax.cells), sizeof *pl->cells);
    if (!pl->affine || !pl->cells)
        return unet__fail(UNET_E_NOMEM, "out of memory for the cache of plane %lld",
                          (long long)p);
    /* The whole plane as a region source (for the statistics), raw values as float. */
    unet__memory_image im = {s->image, s->dtype, s->channels, s->height, s->width};
    unet__source src = {s->planes, s->channels, s->height, s->width, unet__memory_read, &im};
    rc = unet__click_plane_stats(s, p, &src, pl->affine);
    if (rc == UNET_OK)
        pl->ready = true;
    return rc;
}

/* ---- one engine run over a rectangle of cells ---- */

typedef struct window_run {
    struct unet_click_session *s;
    int64_t plane;
    int64_t sy0, sx0;       /* image coordinates of the sub-canvas' first pixel */
    int64_t ky0, ky1, kx0, kx1;
    const uint8_t *fill;    /* cells of the rectangle to write (the others are cached) */
    int64_t *map;           /* scratch: column map */
} window_run;

/* Image index of canvas coordinate v along an axis, or -1 for a zero pixel. */
static int64_t source_index(const struct unet_click_session *s, const unet__click_axis *ax,
                            int64_t v)
{
    if (v >= 0 && v < ax->size)
        return v;
    return s->border == UNET_BORDER_ZERO ? -1 : unet__reflect_index(v, ax->size);
}

/* The sub-canvas, normalised as the engine normalises the whole image. */
static int read_window(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                       float *dst)
{
    (void)plane;
    const window_run *r = user;
    const struct unet_click_session *s = r->s;
    const unet__affine *aff = s->plane[r->plane].affine;
    for (int64_t j = 0; j < w; j++)
        r->map[j] = source_index(s, &s->ax, r->sx0 + x + j);
    for (int64_t c = 0; c < s->channels; c++)
        for (int64_t i = 0; i < h; i++) {
            float *row = dst + (c * h + i) * w;
            int64_t sy = source_index(s, &s->ay, r->sy0 + y + i);
            if (sy < 0) {
                memset(row, 0, (size_t)w * sizeof *row);
                continue;
            }
            int64_t base = ((r->plane * s->channels + c) * s->height + sy) * s->width;
            /* The pixel rounded to float first, as unet_predict's reader gives it. */
            for (int64_t j = 0; j < w; j++)
                row[j] = r->map[j] < 0
                             ? 0.0f
                             : (float)(((double)(float)unet__dtype_get(s->image, s->dtype,
                                                                        base + r->map[j]) -
                                        aff[c].shift) *
                                       aff[c].scale);
        }
    return 0;
}

/* Output rows of the sub-canvas: the parts inside cells being filled go to those cells. */
static int write_window(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                        const float *src)
{
    (void)plane;
    const window_run *r = user;
    const struct unet_click_session *s = r->s;
    const unet__click_axis *ay = &s->ay, *ax = &s->ax;
    int64_t T = s->cell, C = s->out_channels, nx = r->kx1 - r->kx0;
    float **cells = s->plane[r->plane].cells;
    for (int64_t i = 0; i < h; i++) {
        int64_t iy = r->sy0 + y + i;
        if (iy < 0 || iy >= ay->size)
            continue;
        int64_t ky = (iy - ay->grid0) / T, oy = (iy - ay->grid0) % T;
        if (ky < r->ky0 || ky >= r->ky1)
            continue;
        for (int64_t kx = r->kx0; kx < r->kx1; kx++) {
            if (!r->fill[(ky - r->ky0) * nx + (kx - r->kx0)])
                continue;
            int64_t c0 = ax->grid0 + kx * T, a = c0 > 0 ? c0 : 0;
            int64_t b = c0 + T < ax->size ? c0 + T : ax->size;
            float *cell = cells[ky * ax->cells + kx];
            for (int64_t c = 0; c < C; c++)
                memcpy(cell + (c * T + oy) * T + (a - c0),
                       src + (c * h + i) * w + (a - r->sx0 - x), (size_t)(b - a) * sizeof(float));
        }
    }
    return 0;
}

/* Core extent of cells [k0, k1) along an axis, in image coordinates. */
static void core_span(const unet__click_axis *ax, int64_t T, int64_t k0, int64_t k1,
                      int64_t *a, int64_t *b)
{
    *a = ax->grid0 + k0 * T;
    *b = ax->grid0 + k1 * T;
}

static int run_rect(struct unet_click_session *s, int64_t p, int64_t ky0, int64_t ky1,
                    int64_t kx0, int64_t kx1)
{
    unet__click_plane *pl = &s->plane[p];
    int64_t T = s->cell, nx = kx1 - kx0, ny = ky1 - ky0;
    int64_t cy0, cy1, cx0, cx1;
    core_span(&s->ay, T, ky0, ky1, &cy0, &cy1);
    core_span(&s->ax, T, kx0, kx1, &cx0, &cx1);
    /* Context around the cores; for same padding clipped to the whole image's canvas, where
     * the network's own zero padding then acts as it does in the whole-image pass. */
    int64_t sy0 = cy0 - s->context, sy1 = (cy1 < s->height ? cy1 : s->height) + s->context;
    int64_t sx0 = cx0 - s->context, sx1 = (cx1 < s->width ? cx1 : s->width) + s->context;
    if (s->same_padding) {
        sy0 = sy0 > s->ay.lo ? sy0 : s->ay.lo;
        sx0 = sx0 > s->ax.lo ? sx0 : s->ax.lo;
        sy1 = round_up(sy1 - sy0, s->model->block_multiple) + sy0;
        sx1 = round_up(sx1 - sx0, s->model->block_multiple) + sx0;
        sy1 = sy1 < s->ay.hi ? sy1 : s->ay.hi;
        sx1 = sx1 < s->ax.hi ? sx1 : s->ax.hi;
    }
    uint8_t *fill = calloc((size_t)(nx * ny), 1);
    int64_t *map = malloc((size_t)(sx1 - sx0) * sizeof *map);
    int rc = UNET_OK;
    if (!fill || !map)
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a click window");
    for (int64_t ky = ky0; ky < ky1 && rc == UNET_OK; ky++)
        for (int64_t kx = kx0; kx < kx1 && rc == UNET_OK; kx++) {
            float **cell = &pl->cells[ky * s->ax.cells + kx];
            if (*cell)
                continue;
            *cell = malloc((size_t)(s->out_channels * T * T) * sizeof **cell);
            if (!*cell)
                rc = unet__fail(UNET_E_NOMEM, "out of memory for the click cache");
            else
                fill[(ky - ky0) * nx + (kx - kx0)] = 1;
        }
    window_run r = {s, p, sy0, sx0, ky0, ky1, kx0, kx1, fill, map};
    unet__source src = {1, s->channels, sy1 - sy0, sx1 - sx0, read_window, &r};
    unet__sink sink = {write_window, &r};
    if (rc == UNET_OK)
        rc = unet__predict_with_model(s->model, &s->run_opts, &src, &sink);
    for (int64_t ky = ky0; ky < ky1 && fill; ky++)
        for (int64_t kx = kx0; kx < kx1; kx++) {
            if (!fill[(ky - ky0) * nx + (kx - kx0)])
                continue;
            if (rc != UNET_OK) { /* a failed run leaves no half-filled cells behind */
                free(pl->cells[ky * s->ax.cells + kx]);
                pl->cells[ky * s->ax.cells + kx] = NULL;
                continue;
            }
            int64_t a, b, c, d;
            core_span(&s->ay, T, ky, ky + 1, &a, &b);
            core_span(&s->ax, T, kx, kx + 1, &c, &d);
            a = a > 0 ? a : 0;
            c = c > 0 ? c : 0;
            b = b < s->height ? b : s->height;
            d = d < s->width ? d : s->width;
            s->cached_pixels += (b - a) * (d - c);
        }
    if (rc == UNET_OK) {
        s->runs++;
        s->run_pixels += (sy1 - sy0) * (sx1 - sx0);
    }
    free(fill);
    free(map);
    return rc;
}

int unet__click_ensure(struct unet_click_session *s, int64_t p, int64_t ky0, int64_t ky1,
                       int64_t kx0, int64_t kx1)
{
    float **cells = s->plane[p].cells;
    /* Rows of cells with the same span of missing cells run together. */
    int64_t ky = ky0;
    while (ky < ky1) {
        int64_t a = kx1, b = kx0;
        for (int64_t kx = kx0; kx < kx1; kx++)
            if (!cells[ky * s->ax.cells + kx]) {
                a = kx < a ? kx : a;
                b = kx + 1;
            }
        if (a >= b) {
            ky++;
            continue;
        }
        int64_t end = ky + 1;
        for (; end < ky1; end++) {
            int64_t a2 = kx1, b2 = kx0;
            for (int64_t kx = kx0; kx < kx1; kx++)
                if (!cells[end * s->ax.cells + kx]) {
                    a2 = kx < a2 ? kx : a2;
                    b2 = kx + 1;
                }
            if (a2 != a || b2 != b)
                break;
        }
        int rc = run_rect(s, p, ky, end, a, b);
        if (rc != UNET_OK)
            return rc;
        ky = end;
    }
    return UNET_OK;
}

void unet__click_gather(const struct unet_click_session *s, int64_t p, int64_t y0, int64_t y1,
                        int64_t x0, int64_t x1, float *dst)
{
    int64_t T = s->cell, h = y1 - y0, w = x1 - x0;
    float *const *cells = s->plane[p].cells;
    for (int64_t y = y0; y < y1; y++) {
        int64_t ky = floor_div(y - s->ay.grid0, T), oy = y - s->ay.grid0 - ky * T;
        int64_t x = x0;
        while (x < x1) {
            int64_t kx = floor_div(x - s->ax.grid0, T), c0 = s->ax.grid0 + kx * T;
            int64_t end = c0 + T < x1 ? c0 + T : x1;
            const float *cell = cells[ky * s->ax.cells + kx];
            for (int64_t c = 0; c < s->out_channels; c++)
                memcpy(dst + (c * h + (y - y0)) * w + (x - x0), cell + (c * T + oy) * T + (x - c0),
                       (size_t)(end - x) * sizeof(float));
            x = end;
        }
    }
}

void unet__click_free_cache(struct unet_click_session *s)
{
    if (!s->plane)
        return;
    for (int64_t p = 0; p < s->planes; p++) {
        unet__click_plane *pl = &s->plane[p];
        if (pl->cells)
            for (int64_t i = 0; i < s->ay.cells * s->ax.cells; i++)
                free(pl->cells[i]);
        free(pl->cells);
        free(pl->affine);
    }
    free(s->plane);
    s->plane = NULL;
}
