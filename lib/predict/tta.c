/*
 * Test-time augmentation (the predict option tta): a batch of windows run through the network
 * four times, as it is and flipped left-right, up-down and both ways; each output is flipped
 * back and the four are averaged (probabilities, for models with a final activation).
 *
 * A flipped window's canvas origin is mirrored too: pixel x of the canvas sits at -x - 1 in
 * every flipped run, whatever window holds it, so the fast kernels anchor their Winograd blocks
 * and pooling grids at the same places in every tile (and in click sessions' windows, whose
 * origins agree with the whole image's modulo the anchoring period): tiled results still equal
 * a whole-image pass.
 */
#include <string.h>

#include "core/status.h"
#include "predict/predict.h"

/* dst (+)= src flipped: `planes` planes of h x w, rows reversed when fy, columns when fx. */
static void flip_planes(const float *src, float *dst, int64_t planes, int64_t h, int64_t w,
                        bool fy, bool fx, bool add)
{
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < h; y++) {
            const float *s = src + (p * h + (fy ? h - 1 - y : y)) * w;
            float *d = dst + (p * h + y) * w;
            if (add)
                for (int64_t x = 0; x < w; x++)
                    d[x] += s[fx ? w - 1 - x : x];
            else if (fx)
                for (int64_t x = 0; x < w; x++)
                    d[x] = s[w - 1 - x];
            else
                memcpy(d, s, (size_t)w * sizeof *d);
        }
}

int unet__run_tta(const unet__net *net, const unet__tta_run *t, int threads,
                  const unet__run_at *at)
{
    const int64_t n = t->n, in_planes = n * net->in_channels, out_planes = n * net->out_channels;
    if (n > UNET__MAX_BATCH)
        return unet__fail(UNET_E_INTERNAL, "a batch of %lld windows", (long long)n);
    int rc = net->run(net->run_ctx, t->in, n, t->h, t->w, t->out, threads, at);
    int64_t origin_x[UNET__MAX_BATCH];
    for (int f = 1; f < 4 && rc == UNET_OK; f++) {
        const bool fx = f & 1, fy = f & 2;
        unet__run_at flipped = *at;
        if (fy)
            flipped.origin_y = -(at->origin_y + t->h);
        for (int64_t k = 0; k < n; k++)
            origin_x[k] = fx ? -(at->origin_x[k] + t->w) : at->origin_x[k];
        flipped.origin_x = origin_x;
        flip_planes(t->in, t->flip_in, in_planes, t->h, t->w, fy, fx, false);
        rc = net->run(net->run_ctx, t->flip_in, n, t->h, t->w, t->flip_out, threads, &flipped);
        if (rc == UNET_OK)
            flip_planes(t->flip_out, t->out, out_planes, t->oh, t->ow, fy, fx, true);
    }
    const int64_t count = out_planes * t->oh * t->ow;
    for (int64_t i = 0; i < count && rc == UNET_OK; i++)
        t->out[i] *= 0.25f;
    return rc;
}
