/*
 * What a prediction may cost, checked before anything is allocated. An image's element count
 * stays far from int64's range (so every product of its sizes in the engine is exact), a
 * max_pixels the caller set is honoured, and the memory of one run (a band of output rows,
 * one batch of windows, the network's workspace, the statistics strip) must fit the memory
 * budget: a huge tile, halo or "whole" on a big image is refused with a message instead of
 * being asked of the allocator (or the kernel's overcommit).
 */
#include <stdio.h>

#include "core/budget.h"
#include "core/status.h"
#include "predict/predict.h"

int unet__predict_check_image(int64_t planes, int64_t channels, int64_t out_channels,
                              int64_t height, int64_t width)
{
    int64_t c = channels > out_channels ? channels : out_channels;
    uint64_t n = unet__sat_mul(unet__sat_mul3(planes, c, height), (uint64_t)width);
    if (n > (uint64_t)(INT64_MAX / 64))
        return unet__fail(UNET_E_NOMEM, "image of %lld x %lld x %lld x %lld is too large",
                          (long long)planes, (long long)channels, (long long)height,
                          (long long)width);
    return UNET_OK;
}

int unet__predict_check_pixels(const struct unet_predict_opts *opts, int64_t planes,
                               int64_t height, int64_t width)
{
    char what[96];
    snprintf(what, sizeof what, "the image (%lld x %lld x %lld)", (long long)planes,
             (long long)height, (long long)width);
    return unet__check_max_pixels(unet__sat_mul3(planes, height, width), opts->max_pixels,
                                  what);
}

/* Floats of a window batch: n x channels x wy x wx. */
static uint64_t batch_floats(int64_t n, int64_t channels, int64_t wy, int64_t wx)
{
    return unet__sat_mul(unet__sat_mul3(n, channels, wy), (uint64_t)wx);
}

int unet__predict_check_run(const unet__net *net, const unet__run_size *rs, int threads)
{
    const uint64_t f = sizeof(float), budget = unet__memory_budget();
    uint64_t in = unet__sat_mul(batch_floats(rs->batch, net->in_channels, rs->win_y, rs->win_x),
                                f);
    uint64_t out = unet__sat_mul(batch_floats(rs->batch, net->out_channels, rs->win_y,
                                              rs->win_x), f);
    uint64_t band = unet__sat_mul(unet__sat_mul3(net->out_channels, rs->band_rows, rs->width),
                                  f);
    /* The region buffer holds one window's source pixels, or the band's rows gathered. */
    uint64_t region = unet__sat_mul(batch_floats(1, net->in_channels, rs->win_y, rs->win_x), f);
    region = region > band ? region : band;
    uint64_t strip = unet__sat_mul(unet__sat_mul((uint64_t)net->in_channels, (uint64_t)rs->width),
                                   f);
    strip = strip > ((uint64_t)4 << 20) ? strip : (uint64_t)4 << 20;
    uint64_t maps = unet__sat_mul((uint64_t)(rs->win_y > rs->win_x ? rs->win_y : rs->win_x),
                                  2 * sizeof(int64_t));
    uint64_t total = unet__sat_add(unet__sat_add(in, out), unet__sat_add(band, region));
    if (rs->tta) /* the flipped copies of the windows and their outputs */
        total = unet__sat_add(total, unet__sat_add(in, out));
    total = unet__sat_add(total, unet__sat_add(strip, maps));
    /* The network's activations, asked only for windows whose input fits at all (so the
     * planner never sees sizes its own products could not hold). */
    if (total <= budget && net->workspace) {
        size_t ws = 0;
        int rc = net->workspace(net->run_ctx, rs->batch, rs->win_y, rs->win_x, threads, &ws);
        if (rc != UNET_OK)
            return rc;
        total = unet__sat_add(total, ws);
    }
    char what[200];
    snprintf(what, sizeof what, "prediction with windows of %lld x %lld (batch %lld) and a band "
                                "of %lld x %lld output pixels",
             (long long)rs->win_y, (long long)rs->win_x, (long long)rs->batch,
             (long long)rs->band_rows, (long long)rs->width);
    return unet__check_budget(total, what, "; use a smaller tile, halo or batch");
}
