/*
 * Outline of a mask along pixel edges (crack following). Vertices are pixel corners: corner
 * (x, y) is the top-left corner of pixel (x, y). Every pixel side between the object and the
 * background is a directed edge with the object on its right as seen on screen (y down), so the
 * outer ring runs clockwise on screen and its shoelace sum (x_i y_{i+1} - x_{i+1} y_i) / 2 is
 * positive; holes come out negative and all rings together enclose exactly the mask's area.
 * Where two pixels touch only at a corner the tracer turns so that they stay joined (8-
 * connectivity) or apart (4), matching the object's connectivity.
 */
#include <stdlib.h>
#include <string.h>

#include "click/click.h"
#include "core/status.h"

enum { E = 1, S = 2, W = 4, N = 8 };

static const int DX[9] = {0, 1, 0, 0, -1, 0, 0, 0, 0}, DY[9] = {0, 0, 1, 0, 0, 0, 0, 0, -1};

typedef struct tracer {
    const uint8_t *mask;
    int64_t h, w;
} tracer;

static int px(const tracer *t, int64_t x, int64_t y)
{
    return x >= 0 && y >= 0 && x < t->w && y < t->h && t->mask[y * t->w + x];
}

/* Directions of the edges leaving corner (x, y). */
static int outgoing(const tracer *t, int64_t x, int64_t y)
{
    int a = px(t, x - 1, y - 1), b = px(t, x, y - 1), c = px(t, x - 1, y), d = px(t, x, y);
    return (d && !b ? E : 0) | (c && !d ? S : 0) | (a && !c ? W : 0) | (b && !a ? N : 0);
}

static int left_of(int d)
{
    return d == E ? N : d == S ? E : d == W ? S : W;
}

static int right_of(int d)
{
    return d == E ? S : d == S ? W : d == W ? N : E;
}

typedef struct ring_buf {
    int64_t *xy, n, cap;
} ring_buf;

static int push(ring_buf *b, int64_t x, int64_t y)
{
    if (b->n == b->cap) {
        int64_t cap = b->cap ? 2 * b->cap : 64;
        int64_t *p = realloc(b->xy, (size_t)(2 * cap) * sizeof *p);
        if (!p)
            return unet__fail(UNET_E_NOMEM, "out of memory for an outline");
        b->xy = p;
        b->cap = cap;
    }
    b->xy[2 * b->n] = x;
    b->xy[2 * b->n + 1] = y;
    b->n++;
    return UNET_OK;
}

/* Follow one ring from corner (x, y) leaving in direction d; marks used edges in `used`. */
static int trace(const tracer *t, uint8_t *used, int64_t x, int64_t y, int d, bool join,
                 int64_t ox, int64_t oy, ring_buf *b)
{
    /* A ring's first corner in raster order is always a turn, so it is its first vertex. */
    int64_t sx = x, sy = y;
    int sd = d, prev = 0;
    for (;;) {
        used[y * (t->w + 1) + x] |= (uint8_t)d;
        if (d != prev) {
            int rc = push(b, x + ox, y + oy);
            if (rc != UNET_OK)
                return rc;
        }
        prev = d;
        x += DX[d];
        y += DY[d];
        int out = outgoing(t, x, y);
        /* A corner where only diagonal pixels meet has two ways out. */
        int nd = out == (left_of(d) | right_of(d)) ? (join ? left_of(d) : right_of(d)) : out;
        if (x == sx && y == sy && nd == sd)
            break;
        d = nd;
    }
    return UNET_OK;
}

int unet__click_outline(const uint8_t *mask, int64_t h, int64_t w, int64_t x0, int64_t y0,
                        int rank, struct unet_click_result *r)
{
    tracer t = {mask, h, w};
    uint8_t *used = calloc((size_t)((h + 1) * (w + 1)), 1);
    ring_buf b = {0};
    int64_t *starts = NULL, nstarts = 0, cap = 0;
    int rc = used ? UNET_OK : unet__fail(UNET_E_NOMEM, "out of memory for an outline");
    /* Raster order: the first edge found lies on the outer boundary, the rest are holes. */
    for (int64_t y = 0; y <= h && rc == UNET_OK; y++)
        for (int64_t x = 0; x <= w && rc == UNET_OK; x++) {
            int free_edges = outgoing(&t, x, y) & ~used[y * (w + 1) + x];
            for (int d = E; d <= N && free_edges && rc == UNET_OK; d <<= 1) {
                if (!(free_edges & d))
                    continue;
                if (nstarts + 1 >= cap) {
                    cap = cap ? 2 * cap : 8;
                    int64_t *p = realloc(starts, (size_t)cap * sizeof *p);
                    if (!p) {
                        rc = unet__fail(UNET_E_NOMEM, "out of memory for an outline");
                        break;
                    }
                    starts = p;
                }
                starts[nstarts++] = b.n;
                rc = trace(&t, used, x, y, d, rank > 1, x0, y0, &b);
                free_edges = outgoing(&t, x, y) & ~used[y * (w + 1) + x];
            }
        }
    if (rc == UNET_OK && !starts && !(starts = calloc(1, sizeof *starts)))
        rc = unet__fail(UNET_E_NOMEM, "out of memory for an outline");
    if (rc == UNET_OK) {
        starts[nstarts] = b.n;
        r->nrings = nstarts;
        r->ring_start = starts;
        r->xy = b.xy;
    } else {
        free(starts);
        free(b.xy);
    }
    free(used);
    return rc;
}
