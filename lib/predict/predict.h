/*
 * Tiled prediction (DESIGN section 6): options, normalisation statistics, tile geometry and
 * blending weights, and the engine that streams an image through the network tile by tile.
 * The public wrappers live in api/predict.c. The engine sees a network only through a
 * unet__net view (model_net.c makes one of a model), so it can be tested with others.
 */
#ifndef UNET_PREDICT_PREDICT_H
#define UNET_PREDICT_PREDICT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/model.h"
#include "unet.h"

#define UNET__MAX_BATCH 64 /* tiles per batch */

struct unet_predict_opts {
    /* the table's entries (predict/opts.c) */
    int threads;
    int64_t tile;      /* 0 auto, UNET_TILE_WHOLE, or a core size */
    int64_t halo;      /* -1: the model's */
    bool unsafe_halo;
    int64_t blend;
    int batch;
    int border;        /* unet_border_t */
    int normalize;     /* unet_normalize_t */
    double norm_low, norm_high; /* percentiles */
    double norm_mean, norm_std; /* fixed */
    bool precise;      /* direct convolutions only (no Winograd) */
    bool tta;          /* outputs averaged over the four flips of every window (tta.c) */
    int64_t max_pixels; /* 0 (auto): none, as every predict call streams */
    int64_t channel;   /* the channel a one-channel model reads; -1: the channel rule */
    int pages;         /* TIFF pages: 0 planes, 1 channels (UNET__PAGES_*) */
    /* not options of the table */
    unet_progress_fn progress;
    void *progress_user;
    atomic_int cancel; /* set from any thread */
    char *json, *describe; /* cached strings returned to the caller */
};

/* The predict entries; segment and click options embed them (core/opts_table.h). */
#include "core/opts_table.h"
#define UNET__PREDICT_OPT_COUNT 17
enum { UNET__PAGES_PLANES = 0, UNET__PAGES_CHANNELS = 1 };
extern const unet__opt unet__predict_opt_entries[UNET__PREDICT_OPT_COUNT];
/* Normalisation parameters a, b of the options' mode (percentiles, or mean and std). */
void unet__predict_opts_norm_params(const struct unet_predict_opts *o, double *a, double *b);
/* What the table cannot check key by key: percentiles low < high. */
int unet__predict_opts_check(const struct unet_predict_opts *o);

void unet__predict_opts_defaults(struct unet_predict_opts *o);
/* The key table behind the unet_predict_opts_* setters (api/predict_opts.c). */
extern const unet__opts_table unet__predict_opts_table;
/* What the table's defaults leave out: the cancel flag (objects that embed predict options). */
void unet__predict_opts_init_flags(struct unet_predict_opts *o);
/* Mode and its two parameters together, checked as a whole: all change or none. */
int unet__predict_opts_set_normalize(struct unet_predict_opts *o, unet_normalize_t mode,
                                     double a, double b);
/* The halo, and whether it may be below the receptive-field margin. */
int unet__predict_opts_set_halo(struct unet_predict_opts *o, int64_t halo, int unsafe);

/* Where a batch of windows sits on the canvas: fast kernels anchor Winograd blocks to canvas
 * coordinates so that tiles reproduce whole-image results. */
typedef struct unet__run_at {
    int64_t origin_y;         /* canvas row of every window's first row */
    const int64_t *origin_x;  /* canvas column of each window's first column (n entries) */
    bool precise;             /* direct convolutions only */
} unet__run_at;

/* What prediction needs of a model. */
typedef int (*unet__run_fn)(const void *ctx, const float *in, int64_t n, int64_t h, int64_t w,
                            float *out, int threads, const unet__run_at *at);
typedef struct unet__net {
    unet__run_fn run;     /* the forward pass on [n][in_channels][h][w] */
    const void *run_ctx;
    int in_channels, out_channels;
    bool same_padding;
    int block_multiple;   /* tile origins and same-padded sizes are multiples */
    int margin;           /* receptive-field margin from shape analysis */
    int halo;             /* max(margin, the model's stated halo) */
    /* For valid padding: network output size for an input size, and the smallest accepted
     * input size >= a size (0 when none). */
    int (*axis_out)(const void *ctx, int64_t in, int64_t *out);
    int64_t (*fit)(const void *ctx, int64_t size);
    const void *shape_ctx;
    /* Bytes one network run on n windows of h x w needs (NULL: unknown); run_ctx. */
    int (*workspace)(const void *ctx, int64_t n, int64_t h, int64_t w, int threads,
                     size_t *bytes);
    /* Prepare the memory of the largest run of n windows of h x w (NULL: nothing to do). */
    int (*reserve)(const void *ctx, int64_t n, int64_t h, int64_t w, int threads);
} unet__net;

/* Memory the automatic tile size may give one network run (activations and scratch). */
#define UNET__AUTO_TILE_BUDGET ((size_t)256 << 20)

/* A source of input pixels: reads (C, h, w) float32 regions of one plane. */
typedef struct unet__source {
    int64_t planes, channels, height, width;
    unet_read_fn read;
    void *user;
} unet__source;

typedef struct unet__sink {
    unet_write_fn write;
    void *user;
} unet__sink;

/* Progress and cancellation of one call. */
typedef struct unet__progress {
    const struct unet_predict_opts *opts;
    double last_time, last_fraction;
} unet__progress;
/* Report progress (throttled); returns UNET_E_CANCELLED when the caller asked to stop. */
int unet__progress_report(unet__progress *p, double fraction, const char *stage, bool force);

/* Per plane and channel: x -> (x - shift) * scale, computed from the whole plane. */
typedef struct unet__affine {
    double shift, scale;
} unet__affine;
/* Per plane and channel, the normalisation as FIXED parameters: x -> (x - shift) / denominator
 * (percentile: p_low and p_high - p_low + 1e-20; zmuv: mean and std + eps; fixed: a, b; none:
 * 0, 1). */
typedef struct unet__norm_stats {
    double shift, denominator;
} unet__norm_stats;
int unet__plane_stats(const unet__source *src, int64_t plane, const unet__norm *norm,
                      unet__norm_stats *stats, unet__progress *prog, double f0, double f1);
/* NumPy's linear percentile q of the n values a histogram of integers counts (bin b holds the
 * value b - offset), exactly as the plane statistics compute it. */
double unet__hist_percentile(const int64_t *hist, int64_t offset, int64_t n, double q);
/* Statistics of one plane, every channel (affine has `channels` entries). Reads the plane in
 * strips (once, kept, up to 32 MiB); exact percentiles (NumPy's linear interpolation) in
 * bounded memory. */
int unet__plane_normalization(const unet__source *src, int64_t plane, const unet__norm *norm,
                              unet__affine *affine, unet__progress *prog, double f0, double f1);
/* unet_predict_stats after its argument checks (model_stats.c): per plane and model channel
 * (the image after the channel rule, opts not NULL) the shift and denominator into mean and
 * std (`count` must be planes x the model's channels; zeroed on failure); progress through
 * opts, 1.0 reported on success. */
int unet__predict_stats(const unet_model_t *m, const struct unet_predict_opts *opts,
                        const unet__source *image, double *mean, double *std, size_t count);

/* ---- geometry (predict/tiling.c) ---- */

/* One axis of the tiling. Coordinates are image coordinates (pixel i of the image is i). */
typedef struct unet__axis {
    int64_t size;          /* image size */
    int64_t canvas0;       /* canvas extent [canvas0, canvas1) (same padding) */
    int64_t canvas1;
    int64_t tile;          /* core size, a multiple of the alignment */
    int64_t count;         /* number of tiles */
    int64_t blend;         /* blend half-width */
    int64_t context;       /* halo rounded up to the alignment */
    int64_t blend_context; /* blend rounded up to the alignment */
    int border;
    bool same_padding;
    int align;
} unet__axis;

/* Where tile k sits along an axis. */
typedef struct unet__span {
    int64_t core0, core1;  /* the core: output pixels this tile owns */
    int64_t ext0, ext1;    /* the core widened by the blend width, inside the image */
    int64_t win0, win1;    /* network input window */
    int64_t out0;          /* image coordinate of network output index 0 */
} unet__span;

/* The automatic tile core for an image of height x width: the whole image when it is small,
 * else about 512 px (at least four halos) or, when the longer side needs two or more cores of
 * up to 1.5 times that, equal such cores, as few as cover it; halved (on the block grid) while
 * one network run of `batch` such windows would need more than UNET__AUTO_TILE_BUDGET. */
int64_t unet__auto_tile(const unet__net *net, int64_t height, int64_t width, int64_t halo,
                        int batch, int threads);

/* Index i mirrored into [0, n) without repeating the edge (NumPy's "reflect"): the border
 * rule of the reflect canvas, shared with click-to-segment's windows. */
int64_t unet__reflect_index(int64_t i, int64_t n);

int unet__axis_plan(const unet__net *net, int border, int64_t size, int64_t tile, int64_t halo,
                    int64_t blend, unet__axis *ax);
void unet__axis_span(const unet__net *net, const unet__axis *ax, int64_t k, unet__span *sp);
/* Blend weight of tile k at image coordinate x (0 outside its widened core); along an axis
 * the weights of all tiles sum to exactly 1.0. */
double unet__blend_weight(const unet__axis *ax, const unet__span *sp, int64_t k, int64_t x);
/* Weights of the left and right tile at position i of a seam region of 2*width pixels;
 * they sum to exactly 1.0 (the larger is computed, the smaller is 1 - larger). */
void unet__blend_pair(int64_t i, int64_t width, double *left, double *right);

/* ---- what a run may cost (predict/budget.c) ---- */

/* UNET_E_NOMEM unless planes x max(channels, out_channels) x height x width <= INT64_MAX / 64,
 * so that every product of these sizes in the engine is exact. */
int unet__predict_check_image(int64_t planes, int64_t channels, int64_t out_channels,
                              int64_t height, int64_t width);
/* UNET_E_INVALID_ARG, naming the option, when the options set max_pixels and planes x height
 * x width exceeds it. */
int unet__predict_check_pixels(const struct unet_predict_opts *opts, int64_t planes,
                               int64_t height, int64_t width);
/* The largest buffers of one run. */
typedef struct unet__run_size {
    int64_t batch;          /* windows per network run */
    int64_t win_y, win_x;   /* the largest window along each axis */
    int64_t band_rows, width;
    bool tta;               /* a second copy of the batch's windows, for the flipped runs */
} unet__run_size;
/* UNET_E_NOMEM with a message when one run's memory (windows, band, the network's workspace)
 * exceeds the memory budget. */
int unet__predict_check_run(const unet__net *net, const unet__run_size *rs, int threads);

/* ---- test-time augmentation (predict/tta.c) ---- */

/* A batch of n windows (C, h, w) -> outputs (C_out, oh, ow), and scratch of the same sizes. */
typedef struct unet__tta_run {
    const float *in;
    int64_t n, h, w, oh, ow;
    float *out;
    float *flip_in, *flip_out;
} unet__tta_run;
/* The network's outputs for the batch averaged over the four flips of its windows. */
int unet__run_tta(const unet__net *net, const unet__tta_run *t, int threads,
                  const unet__run_at *at);

/* ---- the engine (predict/engine.c) ---- */

/* Predict every plane of `src` into `sink`, as the options say. */
int unet__predict_run(const unet__net *net, const struct unet_predict_opts *opts,
                      const unet__norm *norm, const unet__source *src, const unet__sink *sink);

/* ---- a model as the engine's network (predict/model_net.c) ---- */

/* Run the tiled predictor for a model over any source and sink; opts NULL means defaults. */
int unet__predict_with_model(const struct unet_model *m, const struct unet_predict_opts *opts,
                             const unet__source *src, const unet__sink *sink);
/* An image in memory, (planes, channels, height, width) of `dtype`, as a region source:
 * unet__memory_read is a unet_read_fn whose user pointer is a unet__memory_image. */
typedef struct unet__memory_image {
    const void *data;
    int dtype;
    int64_t channels, height, width;
} unet__memory_image;
int unet__memory_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      float *dst);
/* Predict an image in memory, (planes, channels, h, w) of `dtype` (sizes already checked),
 * into output (planes, out_channels, h, w) (predict/memory.c). */
int unet__predict_memory(const struct unet_model *m, const struct unet_predict_opts *opts,
                         const void *input, int dtype, int64_t planes, int64_t channels,
                         int64_t h, int64_t w, float *output);
/* The normalisation in force for a prediction: the options' override, else the model's
 * preprocessing metadata. */
unet__norm unet__predict_norm(const struct unet_model *m, const struct unet_predict_opts *o);

#endif
