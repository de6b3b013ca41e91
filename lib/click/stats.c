/*
 * A plane's normalisation for the session. Percentiles of 8- and 16-bit images come from one
 * histogram of the pixels as they are (no conversion to float), combined by predict/stats.c's
 * own formula (unet__hist_percentile), so the numbers are identical; everything else goes
 * through predict/stats.c.
 */
#include <stdlib.h>

#include "click/click.h"
#include "core/status.h"

static int integer_percentiles(const struct unet_click_session *s, int64_t p,
                               unet__affine *affine)
{
    int64_t bins = s->dtype == UNET_U8 ? 256 : 65536, offset = s->dtype == UNET_I16 ? 32768 : 0;
    int64_t n = s->height * s->width;
    if (!(s->norm.a >= 0 && s->norm.a <= 100 && s->norm.b >= 0 && s->norm.b <= 100))
        return unet__fail(UNET_E_INVALID_ARG, "percentiles %g and %g must lie in [0, 100]",
                          s->norm.a, s->norm.b);
    int64_t *hist = malloc((size_t)bins * sizeof *hist);
    if (!hist)
        return unet__fail(UNET_E_NOMEM, "out of memory for a histogram");
    for (int64_t c = 0; c < s->channels; c++) {
        for (int64_t b = 0; b < bins; b++)
            hist[b] = 0;
        int64_t base = (p * s->channels + c) * n;
        if (s->dtype == UNET_U8) {
            const uint8_t *v = (const uint8_t *)s->image + base;
            for (int64_t i = 0; i < n; i++)
                hist[v[i]]++;
        } else if (s->dtype == UNET_U16) {
            const uint16_t *v = (const uint16_t *)s->image + base;
            for (int64_t i = 0; i < n; i++)
                hist[v[i]]++;
        } else {
            const int16_t *v = (const int16_t *)s->image + base;
            for (int64_t i = 0; i < n; i++)
                hist[v[i] + 32768]++;
        }
        double lo = unet__hist_percentile(hist, offset, n, s->norm.a);
        double hi = unet__hist_percentile(hist, offset, n, s->norm.b);
        affine[c] = (unet__affine){lo, 1.0 / (hi - lo + 1e-20)};
    }
    free(hist);
    return UNET_OK;
}

int unet__click_plane_stats(struct unet_click_session *s, int64_t p, const unet__source *src,
                            unet__affine *affine)
{
    bool small_ints = s->dtype == UNET_U8 || s->dtype == UNET_U16 || s->dtype == UNET_I16;
    if (s->norm.mode == UNET_NORMALIZE_PERCENTILE && small_ints)
        return integer_percentiles(s, p, affine);
    unet__progress prog = {&s->run_opts, -1.0, 0.0};
    return unet__plane_normalization(src, p, &s->norm, affine, &prog, 0.0, 0.0);
}
