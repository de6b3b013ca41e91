/* TIFF in, label TIFF out: unet_segment_stream fed by the TIFF region reader and drained into
 * the strip writer, so neither the image nor the labels sit in memory. Labels go out as uint16
 * until an id passes 65535; the file is then written again as uint32. */
#include <string.h>

#include "core/alloc.h"
#include "core/files.h"
#include "core/status.h"
#include "io/tiff.h"
#include "segment/pipeline.h"

typedef struct source {
    unet__tiff_reader *reader;
    const unet__tiff_info *info;
    void *raw; /* one region in the file's element type */
    size_t raw_cap;
} source;

static int read_region(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                       float *dst)
{
    source *s = user;
    (void)plane;
    return unet__tiff_read_region_float(s->reader, 0, y, x, h, w, &s->raw, &s->raw_cap, dst);
}

typedef struct sink {
    unet__tiff_writer *writer;
    int dtype;
    bool overflow; /* a uint16 file met an id past 65535 */
    uint16_t *narrow;
    int64_t narrow_cap;
} sink;

static int write_rows(void *user, int64_t y, int64_t h, int64_t w, const uint32_t *labels)
{
    sink *s = user;
    if (s->dtype == UNET_U32)
        return unet__tiff_write_rows(s->writer, 0, y, h, labels);
    if (h * w > s->narrow_cap) {
        unet__free_aligned(s->narrow);
        s->narrow = unet__alloc_aligned((size_t)(h * w) * sizeof *s->narrow);
        s->narrow_cap = s->narrow ? h * w : 0;
        if (!s->narrow)
            return unet__fail(UNET_E_NOMEM, "out of memory writing %lld label rows",
                              (long long)h);
    }
    for (int64_t i = 0; i < h * w; i++) {
        if (labels[i] > 65535) {
            s->overflow = true;
            return unet__fail(UNET_E_CANCELLED, "more than 65535 objects: uint32 labels");
        }
        s->narrow[i] = (uint16_t)labels[i];
    }
    return unet__tiff_write_rows(s->writer, 0, y, h, s->narrow);
}

/* Open a one-page TIFF for segmentation. */
static int open_input(const char *path, source *in)
{
    int rc = unet__tiff_open(path, &in->reader);
    if (rc != UNET_OK)
        return rc;
    in->info = unet__tiff_reader_info(in->reader);
    unet__tiff_set_cache_bytes(in->reader, (size_t)16 << 20);
    if (in->info->pages > 1) {
        long long pages = in->info->pages;
        unet__tiff_close(in->reader);
        in->reader = NULL;
        return unet__fail(UNET_E_UNSUPPORTED, "'%.200s' has %lld pages; segmentation takes one "
                                              "2-D image", path, pages);
    }
    return UNET_OK;
}

UNET_API int unet_segment_scale_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                                     const char *input_path, double *scale,
                                     double *diameter)
{
    unet__clear_error();
    if (scale)
        *scale = 0;
    if (diameter)
        *diameter = 0;
    if (!m || !input_path || !scale)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_scale_tiff: model, path or scale "
                                              "is NULL");
    source in = {0};
    int rc = open_input(input_path, &in);
    if (rc != UNET_OK)
        return rc;
    unet__scale_choice c;
    rc = unet__segment_choose_scale(m, o, in.info->channels, in.info->height, in.info->width,
                                    read_region, &in, 0.99, &c);
    if (rc == UNET_OK && o && o->progress && o->progress(o->progress_user, 1.0, "done") != 0)
        rc = unet__fail(UNET_E_CANCELLED, "cancelled by the progress callback");
    if (rc == UNET_OK) {
        *scale = c.scale;
        if (diameter)
            *diameter = c.diameter;
    }
    unet__tiff_close(in.reader);
    unet__free_aligned(in.raw);
    return rc;
}

UNET_API int unet_segment_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                               const char *input_path, const char *output_path, unsigned flags,
                               uint32_t *num_objects)
{
    unet__clear_error();
    if (num_objects)
        *num_objects = 0;
    if (!m || !input_path || !output_path)
        return unet__fail(UNET_E_INVALID_ARG, "unet_segment_tiff: model or path is NULL");
    if (flags & ~(UNET_TIFF_DEFLATE | UNET_TIFF_BIGTIFF))
        return unet__fail(UNET_E_INVALID_ARG, "unknown TIFF flags 0x%x", flags);
    /* Same file by device and inode ("./in.tif", links), not by spelling; the output is
     * written beside its target and renamed into place, so a failure never touches it. */
    int same = unet__refuse_same_file(input_path, output_path);
    if (same != UNET_OK)
        return same;
    source in = {0};
    int rc = open_input(input_path, &in);
    if (rc != UNET_OK)
        return rc;
    /* The scale first (measured once, even when the file is written twice), so the output's
     * ImageDescription can say it. */
    unet__scale_choice choice;
    char description[256];
    rc = unet__segment_choose_scale(m, o, in.info->channels, in.info->height, in.info->width,
                                    read_region, &in, UNET__SEGMENT_ESTIMATE_SHARE,
                                    &choice);
    if (rc == UNET_OK)
        rc = unet__scale_describe(&choice, description, sizeof description);
    if (rc != UNET_OK) {
        unet__tiff_close(in.reader);
        unet__free_aligned(in.raw);
        return rc;
    }
    unet__tiff_write_opts wo = {0};
    wo.description = description;
    wo.deflate = flags & UNET_TIFF_DEFLATE;
    wo.force_bigtiff = flags & UNET_TIFF_BIGTIFF;
    if (in.info->has_resolution) {
        wo.x_resolution = in.info->x_resolution;
        wo.y_resolution = in.info->y_resolution;
        wo.resolution_unit = in.info->resolution_unit;
    }
    sink out = {0};
    for (int dtype = UNET_U16;; dtype = UNET_U32) {
        out.dtype = dtype;
        out.overflow = false;
        rc = unet__tiff_writer_open(output_path, in.info->width, in.info->height, 1, 1,
                                    (unet_dtype_t)dtype, &wo, &out.writer);
        if (rc != UNET_OK)
            break;
        rc = unet__segment_run(m, o, &choice, in.info->channels, in.info->height,
                               in.info->width, read_region, &in, write_rows, &out, num_objects,
                               NULL);
        if (rc == UNET_OK) {
            rc = unet__tiff_writer_close(out.writer);
            break;
        }
        unet__tiff_writer_discard(out.writer);
        if (!(out.overflow && dtype == UNET_U16))
            break;
        unet__clear_error();
    }
    if (rc != UNET_OK && num_objects)
        *num_objects = 0;
    unet__tiff_close(in.reader);
    unet__free_aligned(in.raw);
    unet__free_aligned(out.narrow);
    return rc;
}
