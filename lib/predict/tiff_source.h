/*
 * TIFF files for the predictor, shared by unet_predict_tiff, unet_predict_to_tiff and
 * unet_segment_tiff: a file as a region source (tiff_source.c: samples per pixel are channels;
 * pages are planes (Z or T) or, with the option pages = channels, the channels of one plane;
 * the channel rule then applies as for any image), and a prediction written into a new TIFF
 * file (tiff_out.c).
 */
#ifndef UNET_PREDICT_TIFF_SOURCE_H
#define UNET_PREDICT_TIFF_SOURCE_H

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

/* ---- tiff_out.c ---- */
/* unet_predict_tiff after its argument checks (output_dtype and flags valid): the file at
 * input_path (its channels checked against the model before the output is started) predicted
 * into a new TIFF at output_path (planes as pages, output channels as samples, the input's
 * resolution), as unet_predict_tiff documents: U8 / U16 scaled by 255 / 65535 when the model
 * outputs probabilities; on failure no file is left. */
int unet__predict_tiff_file(const unet_model_t *m, const unet_predict_opts_t *opts,
                            const char *input_path, const char *output_path,
                            unet_dtype_t output_dtype, unsigned flags);
/* The same from an image in memory of sizes dims (P, C, H, W), checked (unet_predict_to_tiff). */
int unet__predict_memory_tiff(const unet_model_t *m, const unet_predict_opts_t *opts,
                              const void *input, unet_dtype_t dtype, const int64_t dims[4],
                              const char *output_path, unet_dtype_t output_dtype,
                              unsigned flags);

#endif
