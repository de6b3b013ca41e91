/*
 * Tile geometry along one axis, in image coordinates (pixel i of the image is coordinate i).
 *
 * Same padding: the canvas is [canvas0, canvas1): border mode "network" gives [0, S rounded
 * up to the alignment); "reflect"/"zero" put context of the halo (rounded up to the alignment)
 * before the image and at least the halo after it. Tile cores [k T, (k+1) T) start on
 * multiples of the alignment; each tile's network input window is its core widened by the
 * context (and the blend width), clipped to the canvas — never beyond it, because the whole-
 * image network pads every layer with zeros at the canvas edge, which a clipped window
 * reproduces with its own padding.
 *
 * Valid padding: the network shrinks its input by the halo on each side. Tile k's window
 * starts at k T - blend - halo, sized to the smallest accepted input that covers the core; its
 * output starts at k T - blend.
 */
#include <math.h>

#include "core/budget.h"
#include "core/status.h"
#include "predict/predict.h"

static int64_t round_up(int64_t v, int64_t m)
{
    return (v + m - 1) / m * m;
}

int unet__axis_plan(const unet__net *net, int border, int64_t size, int64_t tile, int64_t halo,
                    int64_t blend, unet__axis *ax)
{
    int64_t a = net->block_multiple;
    ax->size = size;
    ax->border = border;
    ax->same_padding = net->same_padding;
    ax->align = (int)a;
    ax->context = net->same_padding ? round_up(halo, a) : halo;
    ax->blend = blend;
    ax->blend_context = round_up(blend, a);
    if (net->same_padding) {
        if (border == UNET_BORDER_NETWORK) {
            ax->canvas0 = 0;
            ax->canvas1 = round_up(size, a);
        } else {
            ax->canvas0 = -ax->context;
            ax->canvas1 = round_up(size + halo, a);
        }
    } else {
        ax->canvas0 = ax->canvas1 = 0; /* unused: windows may reach any coordinate */
    }
    /* One tile for the whole image, or cores of `tile` pixels. */
    ax->tile = tile <= 0 ? round_up(size, a) : tile;
    ax->count = (size + ax->tile - 1) / ax->tile;
    if (ax->count < 1)
        ax->count = 1;
    if (blend > 0 && ax->count > 1 && 2 * blend > ax->tile)
        return unet__fail(UNET_E_INVALID_ARG, "blend width %lld is more than half the tile "
                                              "%lld", (long long)blend, (long long)ax->tile);
    return UNET_OK;
}

/* Bytes of one run on `batch` windows around a core of `tile` (0 when unknown). */
static size_t window_bytes(const unet__net *net, int64_t tile, int64_t halo, int batch,
                           int threads)
{
    int64_t win = round_up(tile + 2 * halo, net->block_multiple);
    if (!net->same_padding)
        win = net->fit(net->shape_ctx, tile + 2 * halo);
    size_t bytes = 0;
    /* A window whose input alone exceeds the budget is "too big" without asking the planner
     * (whose products are not meant for such sizes). */
    uint64_t in = unet__sat_mul(unet__sat_mul3(batch, net->in_channels, win), (uint64_t)win);
    if (unet__sat_mul(in, sizeof(float)) > unet__memory_budget())
        return SIZE_MAX;
    if (win <= 0 || !net->workspace ||
        net->workspace(net->run_ctx, batch, win, win, threads, &bytes) != UNET_OK)
        return 0;
    return bytes;
}

int64_t unet__auto_tile(const unet__net *net, int64_t height, int64_t width, int64_t halo,
                        int batch, int threads)
{
    const int64_t B = net->block_multiple;
    int64_t big = height > width ? height : width;
    int64_t want = 4 * halo > 512 ? 4 * halo : 512;
    int64_t t = round_up(want, B);
    if (big <= t + 2 * halo)
        return UNET_TILE_WHOLE;
    /* Equal cores of up to 1.5 x that, as few as cover the image: every seam costs two halos of
     * network work (a 1248-px side: two cores of 624 instead of 512 + 512 + 224). An image one
     * such core would cover keeps 512-px cores: as one window, dask's 532-px blocks raised the
     * peak memory of tests/dask's test_memory_bounded_by_blocks by 30-40 MB (see b0778fb). */
    int64_t n = (big + t + t / 2 - 1) / (t + t / 2);
    if (n > 1)
        t = round_up((big + n - 1) / n, B);
    while (t > B && window_bytes(net, t, halo, batch, threads) > UNET__AUTO_TILE_BUDGET)
        t = t / 2 / B * B > B ? t / 2 / B * B : B;
    return t;
}

void unet__axis_span(const unet__net *net, const unet__axis *ax, int64_t k, unet__span *sp)
{
    int64_t bw = ax->count > 1 ? ax->blend : 0, bctx = ax->count > 1 ? ax->blend_context : 0;
    sp->core0 = k * ax->tile;
    sp->core1 = sp->core0 + ax->tile < ax->size ? sp->core0 + ax->tile : ax->size;
    sp->ext0 = k > 0 ? sp->core0 - bw : sp->core0;
    sp->ext1 = k < ax->count - 1 ? sp->core1 + bw : sp->core1;
    if (sp->ext1 > ax->size) /* the last core may be narrower than the blend width */
        sp->ext1 = ax->size;
    if (net->same_padding) {
        int64_t w0 = sp->core0 - bctx - ax->context;
        int64_t w1 = round_up(sp->core1, ax->align) + bctx + ax->context;
        sp->win0 = w0 > ax->canvas0 ? w0 : ax->canvas0;
        sp->win1 = w1 < ax->canvas1 ? w1 : ax->canvas1;
        sp->out0 = sp->win0;
    } else {
        /* The output starts where the widened core starts; the input halo pixels earlier. */
        int64_t start = sp->core0 - bctx;
        int64_t in = net->fit(net->shape_ctx, sp->core1 + bctx - start + 2 * ax->context);
        sp->win0 = start - ax->context;
        sp->win1 = sp->win0 + in;
        sp->out0 = start;
    }
}

void unet__blend_pair(int64_t i, int64_t width, double *left, double *right)
{
    double t = (i + 0.5) / (2.0 * width);
    double s = sin(M_PI / 2 * t), c = cos(M_PI / 2 * t);
    /* Compute the larger weight and take the smaller as 1 - larger: by Sterbenz's lemma that
     * subtraction is exact, so the pair sums to exactly 1. */
    if (t >= 0.5) {
        *right = s * s;
        *left = 1.0 - *right;
    } else {
        *left = c * c;
        *right = 1.0 - *left;
    }
}

double unet__blend_weight(const unet__axis *ax, const unet__span *sp, int64_t k, int64_t x)
{
    if (x < sp->ext0 || x >= sp->ext1)
        return 0.0;
    double l, r;
    if (k > 0 && x < sp->core0 + ax->blend) { /* seam with tile k-1: this tile is the right */
        unet__blend_pair(x - (sp->core0 - ax->blend), ax->blend, &l, &r);
        return r;
    }
    if (k < ax->count - 1 && x >= sp->core1 - ax->blend) { /* seam with tile k+1 */
        unet__blend_pair(x - (sp->core1 - ax->blend), ax->blend, &l, &r);
        return l;
    }
    return 1.0;
}
