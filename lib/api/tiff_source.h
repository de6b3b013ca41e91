/*
 * A TIFF file as the predictor's region source, for unet_predict_tiff and unet_segment_tiff:
 * samples per pixel are channels, and pages are planes (Z or T) or, with the option pages =
 * channels, the channels of one plane. The channel rule then applies as for any image.
 */
#ifndef UNET_API_TIFF_SOURCE_H
#define UNET_API_TIFF_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "io/tiff.h"
#include "predict/predict.h"

typedef struct unet__tiff_source {
    unet__tiff_reader *reader;
    const unet__tiff_info *info;
    int64_t planes, channels; /* the image the file holds, by the pages option */
    int64_t first_plane;      /* added to the plane asked for (segmentation reads plane 0) */
    int pages;                /* UNET__PAGES_* */
    void *scratch;            /* one region in the file's element type */
    size_t scratch_bytes;
} unet__tiff_source;

/* Open `path` for reading with `opts`' pages option (NULL: defaults); UNET_E_UNSUPPORTED when
 * pages are to be channels but every page has several samples already. */
int unet__tiff_source_open(unet__tiff_source *s, const char *path,
                           const struct unet_predict_opts *opts);
/* A unet_read_fn whose user pointer is a unet__tiff_source. */
int unet__tiff_source_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h,
                           int64_t w, float *dst);
void unet__tiff_source_close(unet__tiff_source *s); /* NULL-safe, idempotent */

#endif
