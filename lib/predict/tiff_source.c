/* A TIFF file as a region source (tiff_source.h). */
#include <string.h>

#include "predict/tiff_source.h"
#include "core/alloc.h"
#include "core/status.h"
#include "core/threads.h"

int unet__tiff_source_open(unet__tiff_source *s, const char *path,
                           const struct unet_predict_opts *opts)
{
    memset(s, 0, sizeof *s);
    int rc = unet__tiff_open(path, &s->reader);
    if (rc != UNET_OK)
        return rc;
    s->info = unet__tiff_reader_info(s->reader);
    /* Regions are read row band by row band: a cache of a few rows of chunks suffices (the
     * reader keeps at least one row of chunks whatever the budget). */
    unet__tiff_set_cache_bytes(s->reader, (size_t)16 << 20);
    unet__tiff_set_threads(s->reader, unet__resolve_threads(opts ? opts->threads : 0));
    s->pages = opts ? opts->pages : UNET__PAGES_PLANES;
    s->planes = s->info->pages;
    s->channels = s->info->channels;
    if (s->pages == UNET__PAGES_CHANNELS && s->info->pages > 1) {
        if (s->info->channels != 1) {
            rc = unet__fail(UNET_E_UNSUPPORTED, "'%.200s' has %d samples per pixel on each of "
                                                "its %lld pages; its pages cannot be channels too",
                            path, s->info->channels, (long long)s->info->pages);
            unet__tiff_source_close(s);
            return rc;
        }
        s->planes = 1;
        s->channels = s->info->pages;
    }
    return UNET_OK;
}

int unet__tiff_source_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h,
                           int64_t w, float *dst)
{
    unet__tiff_source *s = user;
    plane += s->first_plane;
    if (s->pages == UNET__PAGES_PLANES || s->info->pages == 1)
        return unet__tiff_read_region_float(s->reader, plane, y, x, h, w, &s->scratch,
                                            &s->scratch_bytes, dst);
    for (int64_t c = 0; c < s->channels; c++) { /* page c is channel c */
        int rc = unet__tiff_read_region_float(s->reader, c, y, x, h, w, &s->scratch,
                                              &s->scratch_bytes, dst + c * h * w);
        if (rc != UNET_OK)
            return rc;
    }
    return UNET_OK;
}

void unet__tiff_source_close(unet__tiff_source *s)
{
    if (!s)
        return;
    unet__tiff_close(s->reader);
    unet__free_aligned(s->scratch);
    s->reader = NULL;
    s->scratch = NULL;
    s->scratch_bytes = 0;
}
