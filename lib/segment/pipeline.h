/*
 * unet_segment's pipeline: the tiled predictor's output rows feed the strip segmenter
 * (segment.h), with the parameters the model's `output` metadata and the options give; an
 * optional resize makes objects match the size the model was trained on. api/segment.c checks
 * the arguments of the exported calls and calls these (api/segment*.c).
 */
#ifndef UNET_SEGMENT_PIPELINE_H
#define UNET_SEGMENT_PIPELINE_H

#include <stdatomic.h>
#include <stdint.h>

#include "predict/predict.h"
#include "segment/scale.h"
#include "segment/segment.h"
#include "unet.h"

struct unet_segment_opts {
    struct unet_predict_opts predict; /* a copy of every predict option */
    unet__instance_opts inst;         /* threshold, min_distance, split, min_size */
    double scale;                     /* 0: automatic (segment/scale.h) */
    double diameter;                  /* objects' diameter in image pixels; 0: unknown */
    double pixel_size;                /* 0: unknown */
    int64_t strip_rows, strip_overlap; /* 0: automatic */
    /* not options of the table */
    unet_progress_fn progress;
    void *progress_user;
    atomic_int cancel;
    char *json, *describe;
};

/* The segment options' table (segment/opts.c): the predict entries (section 0), the instance
 * entries and the segment entries. */
extern const unet__opts_table unet__segment_opts_table;

/* The share of a segmentation call's progress an automatic scale estimate takes. */
#define UNET__SEGMENT_ESTIMATE_SHARE 0.2

/* The scale unet_segment_stream would resize this image by (o NULL: defaults), estimated
 * from the image when the rules say so (progress over [0, f1] of the caller's call). */
int unet__segment_choose_scale(const unet_model_t *m, const unet_segment_opts_t *o,
                               int64_t channels, int64_t height, int64_t width,
                               unet_read_fn read, void *read_user, double f1,
                               unet__scale_choice *choice);
/* unet_segment_scale*'s answer: the choice above over [0, 0.99] of the progress, then 1.0
 * reported ("done"). */
int unet__segment_scale(const unet_model_t *m, const unet_segment_opts_t *o, int64_t channels,
                        int64_t height, int64_t width, unet_read_fn read, void *read_user,
                        unet__scale_choice *choice);
/* unet_segment_stream without argument checks, returning the segmenter's stats (tests);
 * o NULL means defaults; choice NULL: chosen here (unet__segment_choose_scale); an estimated
 * choice made by the caller is taken to have used the first UNET__SEGMENT_ESTIMATE_SHARE of
 * the progress. */
int unet__segment_run(const unet_model_t *m, const unet_segment_opts_t *o,
                      const unet__scale_choice *choice, int64_t channels, int64_t height,
                      int64_t width, unet_read_fn read, void *read_user,
                      unet_label_write_fn write, void *write_user, uint32_t *num_objects,
                      unet__seg_stats *stats);
/* The same for plane `part` of `parts` segmented one by one in one call (a TIFF stack): the
 * progress fractions of this run cover its share of what the estimate leaves, and "done" (1.0) is reported
 * after the last part only. */
int unet__segment_run_part(const unet_model_t *m, const unet_segment_opts_t *o,
                           const unet__scale_choice *choice, int64_t part, int64_t parts,
                           int64_t channels, int64_t height, int64_t width, unet_read_fn read,
                           void *read_user, unet_label_write_fn write, void *write_user,
                           uint32_t *num_objects, unet__seg_stats *stats);
/* An image in memory, (channels, height, width) of `dtype` (sizes checked), into labels of
 * height x width. */
int unet__segment_memory(const unet_model_t *m, const unet_segment_opts_t *o,
                         const void *input, unet_dtype_t dtype, int64_t channels,
                         int64_t height, int64_t width, uint32_t *labels,
                         uint32_t *num_objects);
/* Instances from probabilities (the model's out_channels x height x width, checked) made
 * elsewhere; foreground (optional) receives the pixels the objects were cut from. */
int unet__segment_probabilities(const unet_model_t *m, const unet_segment_opts_t *o,
                                const float *probs, int64_t height, int64_t width,
                                uint32_t *labels, uint8_t *foreground, uint32_t *num_objects);

/* ---- tiff.c: TIFF files (any number of planes) ---- */
/* unet_segment_scale_tiff after its argument checks: the scale of the file's first plane. */
int unet__segment_scale_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                             const char *input_path, unet__scale_choice *choice);
/* unet_segment_tiff after its argument checks (flags valid, the paths different files): a
 * label TIFF (uint16, or uint32 past 65535 objects in a plane) of a page per plane, the scale
 * in its ImageDescription; *num_objects (optional): the objects of all planes. */
int unet__segment_tiff(const unet_model_t *m, const unet_segment_opts_t *o,
                       const char *input_path, const char *output_path, unsigned flags,
                       uint32_t *num_objects);

#endif
