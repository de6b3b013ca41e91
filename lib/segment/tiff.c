/* TIFF in, label TIFF out (pipeline.h): the segmentation pipeline fed by the TIFF region
 * reader and drained into the strip writer, so neither the image nor the labels sit in memory.
 * A stack (pages that are planes) is segmented plane by plane into a label stack, ids 1..N in
 * each plane, at one scale (measured on the first plane when automatic, recorded in the
 * ImageDescription). Labels go out as uint16 until an id passes 65535; the file is then
 * written again as uint32. */
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/tiff.h"
#include "predict/channels.h"
#include "predict/tiff_source.h"
#include "segment/pipeline.h"

typedef struct sink {
    unet__tiff_writer *writer;
    int64_t page;
    int dtype;
    bool overflow; /* a uint16 file met an id past 65535 */
    uint16_t *narrow;
    int64_t narrow_cap;
} sink;

static int write_rows(void *user, int64_t y, int64_t h, int64_t w, const uint32_t *labels)
{
    sink *s = user;
    if (s->dtype == UNET_U32)
        return unet__tiff_write_rows(s->writer, s->page, y, h, labels);
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
    return unet__tiff_write_rows(s->writer, s->page, y, h, s->narrow);
}

/* Every plane of the file into the writer's pages at the scale chosen; *total: the objects of
 * all planes. */
static int segment_planes(const unet_model_t *m, const unet_segment_opts_t *o,
                          const unet__scale_choice *choice, unet__tiff_source *in, sink *out,
                          uint32_t *total)
{
    uint64_t sum = 0;
    for (int64_t p = 0; p < in->planes; p++) {
        uint32_t count = 0;
        in->first_plane = p;
        out->page = p;
        int rc = unet__segment_run_part(m, o, choice, p, in->planes, in->channels,
                                        in->info->height, in->info->width,
                                        unet__tiff_source_read, in, write_rows, out, &count,
                                        NULL);
        if (rc != UNET_OK)
            return rc;
        sum += count;
    }
    *total = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
    return UNET_OK;
}

/* Open a TIFF for segmentation and check it before any output exists: its channels against
 * the model (the channel rule) and its pixels, the whole stack as given, against max_pixels. */
static int open_input(const unet_model_t *m, const unet_segment_opts_t *o, const char *path,
                      unet__tiff_source *in)
{
    const struct unet_predict_opts *po = o ? &o->predict : NULL;
    int rc = unet__tiff_source_open(in, path, po);
    if (rc == UNET_OK)
        rc = unet__channel_check(in->channels, m->cfg.in_channels, po);
    if (rc == UNET_OK && po)
        rc = unet__predict_check_pixels(po, in->planes, in->info->height, in->info->width);
    if (rc != UNET_OK)
        unet__tiff_source_close(in);
    return rc;
}

/* The scale of the file's first plane (a stack is taken to hold objects of one size); f1: the
 * share of the caller's progress the estimate covers. */
static int choose_scale(const unet_model_t *m, const unet_segment_opts_t *o,
                        unet__tiff_source *in, double f1, unet__scale_choice *choice)
{
    in->first_plane = 0;
    return unet__segment_choose_scale(m, o, in->channels, in->info->height, in->info->width,
                                      unet__tiff_source_read, in, f1, choice);
}

int unet__segment_scale_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                             const char *input_path, unet__scale_choice *choice)
{
    unet__tiff_source in;
    int rc = open_input(m, o, input_path, &in);
    if (rc != UNET_OK)
        return rc;
    in.first_plane = 0;
    rc = unet__segment_scale(m, o, in.channels, in.info->height, in.info->width,
                             unet__tiff_source_read, &in, choice);
    unet__tiff_source_close(&in);
    return rc;
}

int unet__segment_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                       const char *input_path, const char *output_path, unsigned flags,
                       uint32_t *num_objects)
{
    unet__tiff_source in;
    int rc = open_input(m, o, input_path, &in);
    if (rc != UNET_OK)
        return rc;
    /* The scale first (measured once, even when the file is written twice), so the output's
     * ImageDescription can say it. */
    unet__scale_choice choice;
    char description[256];
    rc = choose_scale(m, o, &in, UNET__SEGMENT_ESTIMATE_SHARE, &choice);
    if (rc == UNET_OK)
        rc = unet__scale_describe(&choice, description, sizeof description);
    if (rc != UNET_OK) {
        unet__tiff_source_close(&in);
        return rc;
    }
    unet__tiff_write_opts wo;
    unet__tiff_write_opts_init(&wo, flags, in.info);
    wo.threads = o ? o->predict.threads : 0;
    wo.description = description;
    sink out = {0};
    uint32_t total = 0;
    for (int dtype = UNET_U16;; dtype = UNET_U32) {
        out.dtype = dtype;
        out.overflow = false;
        rc = unet__tiff_writer_open(output_path, in.info->width, in.info->height, in.planes, 1,
                                    (unet_dtype_t)dtype, &wo, &out.writer);
        if (rc != UNET_OK)
            break;
        rc = segment_planes(m, o, &choice, &in, &out, &total);
        if (rc == UNET_OK) {
            rc = unet__tiff_writer_close(out.writer);
            break;
        }
        unet__tiff_writer_discard(out.writer);
        if (!(out.overflow && dtype == UNET_U16))
            break;
        unet__clear_error();
    }
    if (rc == UNET_OK && num_objects)
        *num_objects = total;
    unet__tiff_source_close(&in);
    unet__free_aligned(out.narrow);
    return rc;
}
