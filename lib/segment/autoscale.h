/*
 * Automatic scale: the typical object diameter of an image, measured by quick passes of the
 * model itself, so segmentation can resize the image until its objects have the diameter the
 * model was trained on (the model's output metadata "diameter").
 *
 * How: the model segments the image at coarse-to-fine levels (1/8, 1/4, 1/2, 1), each on at
 * most about 512^2 pixels of the resized image (the whole image when small, else four 256^2
 * windows). At every level the confident objects (mean probability >= 0.8, not touching their
 * window's edge) give a median equivalent diameter. A level "resolves" the objects when that
 * median is at least 16 resized pixels over at least 5 objects: objects seen smaller than that
 * are merged (touching small nuclei seen as one) or missed, while objects much larger than the
 * model's training range are cut into their textures (chromocentres) at finer levels, so the
 * coarsest resolving level is the one to trust (levels a factor 2 apart: objects resolved at
 * one level under 16 px are under 32 px, well inside the training range, at the next). A
 * level's objects count only if the next finer level still finds objects over at least 30% of
 * their pixels: out-of-focus haze shrunk 4-8x looks like nuclei, but a model that learnt haze
 * as background sees nothing there at twice the resolution, while real nuclei stay objects
 * (large ones cut into their textures, still mostly inside objects). With no resolving level
 * the finest level with 5 confident objects speaks, if every finer level confirms it; with
 * none at all there is no estimate (diameter 0: empty or unclear fields keep scale 1). Every
 * constant was chosen on `unet sample` images of 256 and 384 px resampled by 0.5..3, on empty
 * haze fields and on nuclei2d, never on validation data; tools/eval_autoscale.py measures the
 * estimator there.
 */
#ifndef UNET_SEGMENT_AUTOSCALE_H
#define UNET_SEGMENT_AUTOSCALE_H

#include <stdint.h>

#include "predict/predict.h"
#include "segment/segment.h"

/* The automatic scale stays within these (upscaling costs the square in time). */
#define UNET__AUTOSCALE_MIN 0.05
#define UNET__AUTOSCALE_MAX 2.0

typedef struct unet__autoscale_job {
    const struct unet_model *model;
    /* The caller's prediction options: threads, border, halo, normalisation, precise. Their
     * progress and cancel are not used (see progress below). */
    const struct unet_predict_opts *predict;
    /* How objects are cut out of the model's output (kind, threshold, min_distance, min_size,
     * split, rank, threads); the strip fields are ignored. */
    const unet__seg_params *seg;
    /* The image at its own size: src.planes may be > 1, `plane` is the one measured. */
    unet__source src;
    int64_t plane;
    /* Progress over [f0, f1] of the caller's call (may be NULL); non-zero cancels. */
    unet_progress_fn progress;
    void *progress_user;
    double f0, f1;
} unet__autoscale_job;

typedef struct unet__autoscale {
    double diameter; /* typical object diameter in image pixels; 0: no estimate */
    int64_t objects; /* confident objects measured at the level it comes from */
    double level;    /* scale of that level; 0 without an estimate */
} unet__autoscale;

int unet__estimate_diameter(const unet__autoscale_job *job, unet__autoscale *out);

/* The scale that brings objects of `diameter` image pixels to the model's training diameter,
 * within [UNET__AUTOSCALE_MIN, UNET__AUTOSCALE_MAX]; 1 when either is not positive. */
double unet__scale_for_diameter(double model_diameter, double diameter);

#endif
