/*
 * unet.h — the public C API of libunet, a U-Net engine for bioimage analysis.
 *
 * This header is the whole contract; nothing else is installed.
 *
 * Conventions
 *  - Every fallible function returns an int status: UNET_OK (0) or a negative UNET_E_* code.
 *    Outputs go through pointer arguments and are set to NULL/0 on failure.
 *  - unet_last_error() gives a thread-local message naming the offending value.
 *  - The library never aborts, exits or prints.
 *  - Objects are opaque, created by *_create / *_load and released by *_free (NULL-safe).
 *  - A model is immutable after load (except through unet_model_set_tensor / _set_metadata),
 *    so any number of threads may run forward passes on one model at once.
 *  - Options: every operation takes an opaque options object (NULL: defaults). Behind each kind
 *    of options object is one table (name, type, default, minimum, maximum, choices) that
 *    serves its typed setters, the generic unet_<x>_opts_set(opts, "key", "value"), the JSON
 *    setter unet_<x>_opts_set_json(opts, "{...}"), unet_<x>_opts_json (current values) and
 *    unet_<x>_opts_describe (the table as JSON, so hosts build their dialogs from it). A
 *    parameter has the same name and range wherever it appears:
 *      threads       0..1024 (0: all the CPUs the process may use)
 *      tile          0 (automatic), -1 (whole image) or 1..2^20, a multiple of the block multiple
 *      threshold     [0, 1]
 *      min_distance  1..1000 pixels
 *      min_size      0..2^31 pixels
 *      split         true / false (watershed split of touching objects, or plain components)
 *    Keys whose default comes from the model's metadata accept the value "auto" (JSON null).
 *    A value refused by a setter leaves the options unchanged.
 */
#ifndef UNET_H
#define UNET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versioning --------------------------------------------------------------------------- */
#define UNET_VERSION_MAJOR 1
#define UNET_VERSION_MINOR 0
#define UNET_VERSION_PATCH 0
#define UNET_VERSION_NUMBER \
    (UNET_VERSION_MAJOR * 10000 + UNET_VERSION_MINOR * 100 + UNET_VERSION_PATCH)

#if defined(UNET_BUILDING_LIBRARY) && defined(__GNUC__)
#define UNET_API __attribute__((visibility("default")))
#else
#define UNET_API
#endif

/* UNET_VERSION_NUMBER of the library actually loaded (may differ from the header's). */
UNET_API unsigned unet_version(void);
/* "MAJOR.MINOR.PATCH" of the library actually loaded. */
UNET_API const char *unet_version_string(void);

/* ---- status codes (stable values) --------------------------------------------------------- */
#define UNET_OK 0
#define UNET_E_INVALID_ARG (-1)  /* a bad argument, option, config key or value */
#define UNET_E_IO (-2)           /* a file could not be opened, read or written */
#define UNET_E_FORMAT (-3)       /* a file or document is malformed */
#define UNET_E_NOMEM (-4)        /* out of memory, or a size too large to allocate */
#define UNET_E_CANCELLED (-5)    /* cancelled by a callback or unet_*_cancel */
#define UNET_E_UNSUPPORTED (-6)  /* valid, but not supported by this build (e.g. 3-D models) */
#define UNET_E_SHAPE (-7)        /* an image or tensor shape the model cannot take */
#define UNET_E_INTERNAL (-8)     /* a bug in libunet; please report it */

/* A static string naming the code ("invalid argument", ...); never NULL. */
UNET_API const char *unet_status_string(int status);
/* The message of the last failure on the calling thread ("" if none); valid until the next
 * libunet call on this thread. */
UNET_API const char *unet_last_error(void);

/* ---- element types ------------------------------------------------------------------------ */
typedef enum unet_dtype {
    UNET_U8 = 1,
    UNET_U16 = 2,
    UNET_I16 = 3,
    UNET_U32 = 4,
    UNET_F32 = 5,
    UNET_F64 = 6
} unet_dtype_t;

/* ---- models ------------------------------------------------------------------------------- */
typedef struct unet_model unet_model_t;

/* A new model from a U-Net config (JSON object, keys of DESIGN section 5; "{}" gives the
 * defaults) with He-initialised weights drawn from `seed` (same seed, same weights). */
UNET_API int unet_model_create(const char *config_json, uint64_t seed, unet_model_t **out);

/* Load a .unet file (safetensors layout with libunet metadata). */
UNET_API int unet_model_load(const char *path, unet_model_t **out);
/* Load a plain safetensors file (e.g. a PyTorch state_dict) with its config given here; a
 * file that carries libunet metadata must then agree with `config_json`. */
UNET_API int unet_model_load_with_config(const char *path, const char *config_json,
                                         unet_model_t **out);
/* Load from memory. `config_json` may be NULL when the bytes carry libunet metadata. */
UNET_API int unet_model_load_memory(const void *data, size_t size, const char *config_json,
                                    unet_model_t **out);

UNET_API int unet_model_save(const unet_model_t *model, const char *path);
/* Serialise to a new buffer, released with unet_buffer_free. */
UNET_API int unet_model_save_memory(const unet_model_t *model, void **data, size_t *size);
UNET_API void unet_buffer_free(void *data);

UNET_API void unet_model_free(unet_model_t *model);

/* Built-in models, compiled into libunet.so: "nuclei" (the default fluorescence-nuclei
 * segmentation model). An unknown name is UNET_E_INVALID_ARG with a message listing the known
 * ones; a build without built-in models returns UNET_E_UNSUPPORTED. */
UNET_API int unet_model_load_builtin(const char *name, unet_model_t **out);
/* The names unet_model_load_builtin knows (static strings; count 0 in a build without). */
UNET_API int unet_model_builtin_names(const char *const **names, size_t *count);

/* Getters: UNET_OK and the value through the out-parameter (0 / NULL on failure). */
UNET_API int unet_model_ndim(const unet_model_t *model, int *ndim);
UNET_API int unet_model_in_channels(const unet_model_t *model, int *channels);
UNET_API int unet_model_out_channels(const unet_model_t *model, int *channels);
UNET_API int unet_model_depth(const unet_model_t *model, int *depth);
/* Receptive-field margin in pixels: how far an output pixel can see in each direction (for
 * valid padding, the amount by which the output shrinks on each side); a halo stated in the
 * model's metadata can only raise it. */
UNET_API int unet_model_halo(const unet_model_t *model, int *halo);
/* Product of the pooling factors: tile origins and same-padded input sizes are multiples. */
UNET_API int unet_model_block_multiple(const unet_model_t *model, int *block_multiple);
/* 1 for "same" padding, 0 for "valid". */
UNET_API int unet_model_is_same_padding(const unet_model_t *model, int *same);
UNET_API int unet_model_param_count(const unet_model_t *model, int64_t *count);
/* The architecture as a JSON object with every key present; owned by the model. */
UNET_API int unet_model_architecture(const unet_model_t *model, const char **json);
/* The whole libunet metadata document (format_version, architecture, preprocessing, output,
 * training, halo) as JSON; owned by the model, valid until the next change or free. */
UNET_API int unet_model_metadata(const unet_model_t *model, const char **json);
/* Replace one metadata section: key "preprocessing", "output" or "training" (a JSON object),
 * or "halo" (a non-negative integer); json_value NULL removes the section. */
UNET_API int unet_model_set_metadata(unet_model_t *model, const char *key,
                                     const char *json_value);

/* Parameter tensors, in file order, with the names of DESIGN section 5. `shape` has room for
 * 4 entries; the strings are owned by the model. */
UNET_API int unet_model_tensor_count(const unet_model_t *model, int *count);
UNET_API int unet_model_tensor_info(const unet_model_t *model, int index, const char **name,
                                    int *ndim, int64_t shape[4]);
/* Copy a tensor out / in; `count` must equal its number of elements. Setting a tensor is not
 * safe while another thread runs the model. */
UNET_API int unet_model_get_tensor(const unet_model_t *model, const char *name, float *out,
                                   size_t count);
UNET_API int unet_model_set_tensor(unet_model_t *model, const char *name, const float *data,
                                   size_t count);

/* ---- shapes and the raw forward pass ------------------------------------------------------ */
/* Shapes are (N, C, H, W) for 2-D models: ndim = 2 + unet_model_ndim(model). */

/* The network's output shape for an input shape, or UNET_E_SHAPE with a message naming the
 * nearest sizes the network accepts. */
UNET_API int unet_model_output_shape(const unet_model_t *model, int ndim,
                                     const int64_t *in_shape, int64_t *out_shape);
/* The smallest spatial input size >= `size` that the network accepts, and its output size. */
UNET_API int unet_model_fit_size(const unet_model_t *model, int64_t size, int64_t *input_size,
                                 int64_t *output_size);

/* The raw network (no preprocessing, no padding) on contiguous float32 NCHW input, into a
 * caller-owned contiguous float32 buffer of `output_count` elements (the output shape's
 * product). Of the predict options (NULL: defaults) `threads` and `precise` are used. */
typedef struct unet_predict_opts unet_predict_opts_t;
UNET_API int unet_model_forward(const unet_model_t *model, const unet_predict_opts_t *opts,
                                const float *input, int ndim, const int64_t *shape,
                                float *output, size_t output_count);

/* ---- prediction ----------------------------------------------------------------------------
 *
 * The reference is whole-image prediction: normalise with statistics of the whole plane, pad
 * once to the canvas the network needs (border mode), run the network, crop back. Tiled
 * prediction reproduces it to float rounding: tile cores start on multiples of the block
 * multiple in canvas coordinates and each is read with a halo >= the receptive-field margin,
 * taken from the canvas.
 *
 * Predict options (key: type, default, range):
 *   threads   int 0           0..1024
 *   tile      int 0           0 automatic, -1 whole, or 1..2^20 (multiple of the block multiple,
 *                             checked at predict time); also "auto" / "whole"
 *   halo      int -1          -1 (the model's) or 0..2^20; may only raise the receptive-field
 *                             margin unless unsafe_halo
 *   unsafe_halo bool false
 *   blend     int 0           0..2^20 pixels of sin^2 ramp on each side of a seam
 *   batch     int 1           1..64 tiles per network run
 *   border    name "auto"     auto network reflect zero
 *   normalize name "auto"     auto (the model's preprocessing) none zmuv percentile fixed
 *   norm_low  double 1        0..100  (percentile)
 *   norm_high double 99.8     0..100  (percentile)
 *   norm_mean double 0        (fixed)
 *   norm_std  double 1        > 0     (fixed)
 *   precise   bool false      direct convolutions everywhere (no Winograd)
 *   tta       bool false      test-time augmentation: every tile's output averaged over the
 *                             four flips of its input window (4x the network time)
 *   max_pixels int 0          0 (auto) or 1..2^62 pixels (planes x height x width) a call
 *                             accepts; auto: no limit for streaming calls, 2^28 for whole-image
 *                             reads (see unet_predict_opts_set_max_pixels)
 *   channel   int -1          -1 / "auto" (the channel rule below) or 0..65535: the image
 *                             channel a one-channel model reads
 *   pages     name "planes"   planes channels: what the pages of a multi-page TIFF are
 *                             (unet_predict_tiff, unet_segment_tiff); planes are predicted or
 *                             segmented one by one, channels make one multi-channel plane
 *
 * The channel rule, the same for every entry point (unet_predict*, unet_segment*, click
 * sessions, unet_channel_rule; the CLI and the hosts pass images through it): an image of C
 * channels given to a model with M input channels is read, before normalisation, as
 *   - channel k >= 0: channel k alone (one-channel models only);
 *   - C == M: the channels as they are;
 *   - M == 1, C == 3 or 4 (RGB, RGBA): per pixel, R when R, G and B are equal, otherwise the
 *     luminance 0.299 R + 0.587 G + 0.114 B (computed in double, rounded to float); alpha is
 *     ignored;
 *   - M == 3, C == 4: R, G, B (alpha ignored);
 *   - otherwise UNET_E_SHAPE: a one-channel model given 2 or more than 4 channels needs an
 *     explicit channel.
 */

typedef enum unet_border {
    UNET_BORDER_DEFAULT = 0, /* network for same-padding models, reflect for valid padding */
    UNET_BORDER_NETWORK = 1, /* pad far edges by reflection up to the block multiple, so the
                                convolutions' own zero padding acts at the image border */
    UNET_BORDER_REFLECT = 2, /* pad every side by the halo, by reflection */
    UNET_BORDER_ZERO = 3     /* pad every side by the halo, with zeros */
} unet_border_t;

typedef enum unet_normalize {
    UNET_NORMALIZE_MODEL = 0,      /* what the model's preprocessing metadata says */
    UNET_NORMALIZE_NONE = 1,       /* use the values as they are */
    UNET_NORMALIZE_ZMUV = 2,       /* (x - mean) / (std + 1e-6) per plane and channel */
    UNET_NORMALIZE_PERCENTILE = 3, /* (x - p_low) / (p_high - p_low + 1e-20), a=low, b=high */
    UNET_NORMALIZE_FIXED = 4       /* (x - a) / b with given mean a and std b */
} unet_normalize_t;

/* Progress: called on the calling thread only, `fraction` in [0, 1] non-decreasing, 1.0 only
 * on success; `stage` names the phase ("statistics", "predicting"). A non-zero return cancels:
 * the call then returns UNET_E_CANCELLED. */
typedef int (*unet_progress_fn)(void *user, double fraction, const char *stage);

UNET_API int unet_predict_opts_create(unet_predict_opts_t **out);
UNET_API void unet_predict_opts_free(unet_predict_opts_t *opts);
/* The generic option mechanism (see Conventions at the top). */
UNET_API int unet_predict_opts_set(unet_predict_opts_t *opts, const char *key,
                                   const char *value);
UNET_API int unet_predict_opts_set_json(unet_predict_opts_t *opts, const char *json_object);
/* Current values as a JSON object; owned by opts, valid until the next change or free. */
UNET_API int unet_predict_opts_json(const unet_predict_opts_t *opts, const char **json);
/* The table as a JSON array of {"name", "type" ("int", "double", "bool", "name", "text"),
 * "default", "min", "max", "choices", "special", "help"}; owned by opts, valid until it is
 * freed. min/max are null for bool, name and text keys; "choices" lists a name key's names (or
 * the only values an int key takes, e.g. connectivity); "special" lists the words a key takes
 * besides its range: "auto" (decided at run time; in values and defaults JSON null, or the
 * number that means automatic where the key has one, as tile's 0) and tile's "whole" (-1). */
UNET_API int unet_predict_opts_describe(const unet_predict_opts_t *opts, const char **json);
/* Threads for one call (0: all available; the library never changes the process default). */
UNET_API int unet_predict_opts_set_threads(unet_predict_opts_t *opts, int num_threads);
UNET_API int unet_predict_opts_set_border(unet_predict_opts_t *opts, unet_border_t border);
/* a, b: percentiles low/high (PERCENTILE), mean/std (FIXED); ignored otherwise. */
UNET_API int unet_predict_opts_set_normalize(unet_predict_opts_t *opts, unet_normalize_t mode,
                                             double a, double b);
/* Tile core size in pixels (the output region one tile produces), a multiple of the model's
 * block multiple (checked at predict time); 0 (default) lets the library choose from the image
 * and a memory budget; UNET_TILE_WHOLE predicts the whole canvas in one piece. */
#define UNET_TILE_WHOLE (-1)
UNET_API int unet_predict_opts_set_tile(unet_predict_opts_t *opts, int64_t tile);
/* Halo override in pixels: may raise the model's halo; lowering it below the receptive-field
 * margin is refused at predict time unless `unsafe` is non-zero (results then differ from
 * whole-image prediction). -1 restores the default. */
UNET_API int unet_predict_opts_set_halo(unet_predict_opts_t *opts, int64_t halo, int unsafe);
/* Raised-cosine (sin^2) blending over `width` pixels on each side of every tile seam (0: none,
 * exact stitching). Hides seams for models that are not exactly local. */
UNET_API int unet_predict_opts_set_blend(unet_predict_opts_t *opts, int64_t width);
/* Tiles run through the network together (1 to 64). */
UNET_API int unet_predict_opts_set_batch(unet_predict_opts_t *opts, int tiles_per_batch);
/* Non-zero: direct convolutions everywhere. By default 3x3 layers with >= 32 input and output
 * channels use Winograd F(4x4, 3x3), faster and within about 1e-5 relative of direct
 * convolution; tiled prediction equals whole-image prediction either way. */
UNET_API int unet_predict_opts_set_precise(unet_predict_opts_t *opts, int precise);
/* Key max_pixels: the largest image a call accepts, in pixels (planes x height x width, 1 to
 * 2^62); a larger one is refused with UNET_E_INVALID_ARG and a message naming max_pixels before
 * any pixel is read. 0 (auto, the default): no limit, as predict and segment calls stream the
 * image in bounded memory; calls that hold a whole image in memory (unet_tiff_read) default to
 * UNET_MAX_PIXELS_WHOLE. Whatever the limit, sizes whose buffers exceed the memory budget (the
 * machine's physical memory) are refused with UNET_E_NOMEM. */
UNET_API int unet_predict_opts_set_max_pixels(unet_predict_opts_t *opts, int64_t max_pixels);
UNET_API int unet_predict_opts_set_progress(unet_predict_opts_t *opts, unet_progress_fn fn,
                                            void *user);
/* Thread-safe: cancel calls running with these options (from a GUI's Cancel button); they
 * return UNET_E_CANCELLED within one tile batch. The request stays set, so calls started
 * afterwards are cancelled too, until unet_predict_opts_reset_cancel. */
UNET_API int unet_predict_opts_cancel(unet_predict_opts_t *opts);
UNET_API int unet_predict_opts_reset_cancel(unet_predict_opts_t *opts);

/* Predict an in-memory image: input of element type `dtype`, contiguous, shaped (H,W)
 * (ndim 2), (C,H,W) (3) or (P,C,H,W) (4; P planes — Z or T — predicted one by one); output
 * float32 (C_out,H,W) for ndim 2 and 3, (P,C_out,H,W) for 4 — the input's spatial size — in a
 * caller buffer of `output_count` elements. Applies normalisation, the border mode, the
 * network with its final activation, tiling and blending as the options say (NULL: defaults).
 * On failure or cancellation the output's contents are unspecified. */
UNET_API int unet_predict(const unet_model_t *model, const unet_predict_opts_t *opts,
                          const void *input, unet_dtype_t dtype, int ndim, const int64_t *shape,
                          float *output, size_t output_count);

/* Streaming: the image is read and written by region, so it never has to fit in memory.
 * `read` fills dst with plane `plane`, rows [y, y+h), columns [x, x+w) of every input
 * channel, as float32 (C, h, w); `write` receives the finished output region (C_out, h, w).
 * Regions lie inside the image; each output pixel is written exactly once. Either callback
 * returns 0 on success; non-zero stops the call with UNET_E_IO (or its own negative status).
 * With percentile or zmuv normalisation the input is read more than once (statistics first). */
typedef int (*unet_read_fn)(void *user, int64_t plane, int64_t y, int64_t x, int64_t h,
                            int64_t w, float *dst);
typedef int (*unet_write_fn)(void *user, int64_t plane, int64_t y, int64_t x, int64_t h,
                             int64_t w, const float *src);
UNET_API int unet_predict_stream(const unet_model_t *model, const unet_predict_opts_t *opts,
                                 int64_t planes, int64_t channels, int64_t height,
                                 int64_t width, unet_read_fn read, void *read_user,
                                 unet_write_fn write, void *write_user);

/* Normalisation statistics, for hosts that cut an image into pieces themselves (Dask chunks,
 * a cluster) and must normalise every piece as unet_predict normalises the whole plane. For
 * each plane and channel, `mean` and `std` receive the parameters for which normalize "fixed"
 * (norm_mean, norm_std) reproduces, bit for bit, the normalisation these options give the whole
 * plane: x -> (x - mean) * (1 / std), in double, rounded to float. That is: percentile -> the
 * low percentile and (high - low + 1e-20), exact, as NumPy's linear interpolation over the
 * plane's values read as float; zmuv -> mean and standard deviation + eps; fixed -> the given
 * mean and std; none -> 0 and 1; the model's preprocessing metadata when the options say auto.
 * The image is read through `read` as for unet_predict_stream (whole rows, in strips, several
 * passes for percentiles); memory stays bounded whatever its size. `mean` and `std` have
 * `count` = planes * channels elements, plane-major. Uses the options' normalize keys, progress
 * and cancel. */
UNET_API int unet_predict_stats(const unet_model_t *model, const unet_predict_opts_t *opts,
                                int64_t planes, int64_t channels, int64_t height,
                                int64_t width, unet_read_fn read, void *read_user,
                                double *mean, double *std, size_t count);

/* The channel rule (see the predict options above) on an in-memory image: input (H,W),
 * (C,H,W) or (P,C,H,W) of element type `dtype`, contiguous; output float32 (P, model_channels,
 * H, W) (P = 1 for ndim 2 and 3) in a caller buffer of `output_count` elements. `channel`:
 * UNET_CHANNEL_AUTO (-1) for the rule, or the channel to take. For hosts that prepare images
 * themselves (training data, previews); prediction and segmentation apply it on their own. */
#define UNET_CHANNEL_AUTO (-1)
UNET_API int unet_channel_rule(int model_channels, int64_t channel, const void *image,
                               unet_dtype_t dtype, int ndim, const int64_t *shape,
                               float *output, size_t output_count);

/* ---- TIFF files ------------------------------------------------------------------------------
 * Pages are planes (Z or T; or channels, by the predict option pages), samples per pixel are
 * channels. Readable: 8/16/32-bit unsigned,
 * 16/32-bit signed, 32/64-bit float; strips or tiles; any compression libtiff decodes (none,
 * LZW, deflate, PackBits, ...); classic or BigTIFF; chunky or planar channels. */

/* Size and element type of a TIFF file (int32 files report UNET_F64, read exactly). */
UNET_API int unet_tiff_info(const char *path, int64_t *planes, int64_t *channels,
                            int64_t *height, int64_t *width, unet_dtype_t *dtype);

#define UNET_TIFF_DEFLATE 1u /* deflate-compress the output */
#define UNET_TIFF_BIGTIFF 2u /* force BigTIFF (chosen automatically past 4 GB anyway) */

/* Read the first page of a TIFF file into a new float32 buffer (C, H, W) (release with
 * unet_buffer_free); shape receives C, H, W. The whole page is held in memory, so a page of
 * more than UNET_MAX_PIXELS_WHOLE pixels (H x W) is refused with UNET_E_INVALID_ARG, naming
 * max_pixels, before anything is read: see unet_tiff_read_limited. */
UNET_API int unet_tiff_read(const char *path, float **data, int64_t shape[3]);
/* The default pixel limit of calls that hold a whole image in memory: 2^28 = 16384^2. */
#define UNET_MAX_PIXELS_WHOLE 268435456
/* unet_tiff_read with the caller's pixel limit: max_pixels 0 is UNET_MAX_PIXELS_WHOLE. A page
 * whose buffers exceed the memory budget (the machine's physical memory) is refused with
 * UNET_E_NOMEM whatever the limit. */
UNET_API int unet_tiff_read_limited(const char *path, int64_t max_pixels, float **data,
                                    int64_t shape[3]);
/* Write a (H,W) or (C,H,W) image of element type `dtype` to a new TIFF file (flags as for
 * unet_predict_tiff). */
UNET_API int unet_tiff_write(const char *path, const void *data, unet_dtype_t dtype,
                             int ndim,
                             const int64_t *shape, unsigned flags);
/* The same with an ImageDescription (printable ASCII, up to 64 KiB; NULL: none), such as the
 * one unet_segment_tiff writes (see unet_segment_scale). */
UNET_API int unet_tiff_write_described(const char *path, const void *data, unet_dtype_t dtype,
                                       int ndim, const int64_t *shape, unsigned flags,
                                       const char *description);

/* Predict a TIFF file into a new TIFF file, streaming: the input is read strip by strip or
 * tile by tile and the output written as rows finish, so memory stays bounded by a band of
 * tiles whatever the image size. output_dtype: UNET_F32, or UNET_U8 / UNET_U16, for which the
 * values are scaled by 255 / 65535 when the model outputs probabilities (final sigmoid or
 * softmax) and rounded, then clipped to the type's range. Resolution tags are copied. On
 * failure or cancellation the output file is removed. */
UNET_API int unet_predict_tiff(const unet_model_t *model, const unet_predict_opts_t *opts,
                               const char *input_path, const char *output_path,
                               unet_dtype_t output_dtype, unsigned flags);

/* Predict an in-memory image (as unet_predict takes it) into a new TIFF file, written as
 * unet_predict_tiff writes its output (planes as pages, output_dtype and flags the same; no
 * resolution tags). For images a host has read itself (a PNG, a camera frame). */
UNET_API int unet_predict_to_tiff(const unet_model_t *model, const unet_predict_opts_t *opts,
                                  const void *input, unet_dtype_t dtype, int ndim,
                                  const int64_t *shape, const char *output_path,
                                  unet_dtype_t output_dtype, unsigned flags);

/* ---- training ------------------------------------------------------------------------------
 *
 * A trainer updates a model's weights in place: it needs exclusive use of the model while it
 * lives (no predictions with that model from other threads meanwhile). Between trainer calls
 * the model is consistent and may be used, saved or copied on the calling thread.
 *
 * Training runs on NCHW tensors with an explicit backward pass for every op (convolutions as
 * im2col + matrix products), batchnorm with batch statistics (running statistics updated as
 * PyTorch, momentum 0.1), dropout 0.1. Validation predicts through the model's own prediction
 * path. Results are deterministic for a fixed seed and do not depend on the thread count. */
typedef struct unet_train_opts unet_train_opts_t;
typedef struct unet_trainer unet_trainer_t;

/* Called on the training thread after every step with the step count so far, the total, the
 * step's training loss, and the latest validation metric (NaN before the first validation).
 * A non-zero return cancels: the running call returns UNET_E_CANCELLED after finishing the
 * current step, with the model consistent. */
typedef int (*unet_train_progress_fn)(void *user, int64_t step, int64_t total_steps,
                                      double loss, double metric);

UNET_API int unet_train_opts_create(unet_train_opts_t **out);
UNET_API void unet_train_opts_free(unet_train_opts_t *opts);
/* Set one option from text (the generic mechanism of the Conventions at the top); unknown keys, malformed values and values out of bounds are
 * refused with UNET_E_INVALID_ARG and a message naming the bounds. Keys (default):
 *   steps (1000; 0 with epochs set: from epochs), epochs (0: unused; one epoch = as many
 *   patches as cover the training pixels once), batch (4), patch (128: input patch size,
 *   rounded up to a size the network accepts), threads (0: all), seed (0),
 *   loss (auto: bce+dice for one output channel and label images, ce for several, mse for
 *   float targets; or mse, l1, bce, ce, dice, bce+dice), target (auto: foreground for one
 *   channel, 3class for three, distance for a 2-channel model whose output metadata says
 *   so (fine-tuning keeps the target), classes otherwise, image for float targets; or
 *   foreground, 3class, classes, image, distance: 2 sigmoid channels, the foreground and each
 *   instance's distance to its edge over its largest, 0 where it touches another),
 *   pos_weight (1), class_weights ("": none; "1,2,5"),
 *   ignore_label (-1: none; label value of unannotated pixels), border_weights (false: the
 *   U-Net paper's weight map with w0 (10) and sigma (5 px)),
 *   optimizer (adam; sgd, adamw), lr (1e-3), momentum (0.9), nesterov (false), beta1 (0.9),
 *   beta2 (0.999), eps (1e-8), weight_decay (0), clip_norm (0: none; global L2 norm),
 *   schedule (cosine; constant, plateau), warmup (0 steps), min_lr (0), plateau_factor
 *   (0.5), plateau_patience (5 validations), plateau_threshold (1e-4), plateau_cooldown (0),
 *   val_fraction (0.1: of the files, or of the width of a single image), normalize
 *   (percentile; zmuv, none), norm_low (1), norm_high (99.8), fg_bias (0.5: probability that
 *   a patch is centred on a foreground pixel), aug_flip (true), aug_rot90 (true),
 *   aug_elastic (0.5: probability; 3x3 grid, elastic_grid, of displacements with sd
 *   elastic_sigma 10 px, bicubic), aug_scale (0.1: intensity factor in [1-s, 1+s]),
 *   aug_shift (0.1), aug_gamma (0: off; g: gamma in [1/(1+g), 1+g] over the patch's range)
 *   (intensity changes apply to restoration targets too), noise_gauss (0: off; else the
 *   largest sd, drawn per patch, normalised units), noise_poisson (0: off; else the photon
 *   count of the patch's brightest pixel) (noise on the input only),
 *   val_every (0: ten validations per run), metric (auto: iou for segmentation, psnr for
 *   restoration; or dice, f1, ssim, loss), threshold (0.5), freeze_encoder (false),
 *   precise (false: 3x3 convolutions with 16k channels run by Winograd F(4x4, 3x3), about 2x
 *   faster, rounding ~1e-6 of the largest value; true: direct convolutions everywhere),
 *   checkpoint_dir ("": none; best.unet, last.unet and last.state are written there),
 *   log ("": none; a CSV file of the curves). */
UNET_API int unet_train_opts_set(unet_train_opts_t *opts, const char *key, const char *value);
/* Set the keys of a JSON object (numbers, booleans, strings). */
UNET_API int unet_train_opts_set_json(unet_train_opts_t *opts, const char *json_object);
/* Every key and its value as a JSON object; owned by opts, valid until the next change. */
UNET_API int unet_train_opts_json(const unet_train_opts_t *opts, const char **json);
/* The table as JSON, as unet_predict_opts_describe gives it. */
UNET_API int unet_train_opts_describe(const unet_train_opts_t *opts, const char **json);
UNET_API int unet_train_opts_set_progress(unet_train_opts_t *opts, unet_train_progress_fn fn,
                                          void *user);

/* A trainer for `model` (borrowed; it must outlive the trainer) with a copy of `opts` (NULL:
 * defaults). The loss is checked against the model's output channels and final activation.
 * The model's preprocessing metadata is set to the normalisation training uses, now; its
 * output and training (provenance) sections after every run of steps. */
UNET_API int unet_trainer_create(unet_model_t *model, const unet_train_opts_t *opts,
                                 unet_trainer_t **out);
UNET_API void unet_trainer_free(unet_trainer_t *trainer);

/* Where data goes: by the trainer's split (val_fraction of the files, or of the width of a
 * single image), or explicitly. */
typedef enum unet_split {
    UNET_SPLIT_AUTO = 0,
    UNET_SPLIT_TRAIN = 1,
    UNET_SPLIT_VAL = 2
} unet_split_t;

/* Add an image and its labels (copied; normalised now as the options say). image: (H,W) or
 * (C,H,W) of any element type; labels: (H,W) of an integer type (instance labels, binary
 * masks or class maps), or float (H,W) / (C,H,W) targets for restoration, the image's size.
 * The first pair decides segmentation or restoration (float labels, or option target "image":
 * restoration); later pairs follow that decision. Label pixels equal to ignore_label are
 * unannotated. Restoration targets with the image's channel count are normalised with the
 * image's own normalisation (so prediction outputs them in those units). */
UNET_API int unet_trainer_add_data(unet_trainer_t *trainer, const void *image,
                                   unet_dtype_t dtype, int ndim, const int64_t *shape,
                                   const void *labels, unet_dtype_t label_dtype, int label_ndim,
                                   const int64_t *label_shape, unet_split_t split);
/* Add every TIFF of images_dir with the file of the same name (or the same stem with any
 * .tif/.tiff extension) in labels_dir; UNET_E_IO when a folder has no pairs. */
UNET_API int unet_trainer_add_folders(unet_trainer_t *trainer, const char *images_dir,
                                      const char *labels_dir);

/* Train until the total step count (validating, checkpointing, logging, reporting). */
UNET_API int unet_trainer_train(unet_trainer_t *trainer);
/* Take `steps` more steps (past the total too; the schedule then holds its last value). */
UNET_API int unet_trainer_step(unet_trainer_t *trainer, int64_t steps);
/* Validate now: loss and the chosen metric (NaN when there is no validation data). */
UNET_API int unet_trainer_evaluate(unet_trainer_t *trainer, double *loss, double *metric);
/* The last validation's figures as JSON ({"step", "loss", "iou", "dice", "f1", ...}), and the
 * steps taken and planned. */
UNET_API int unet_trainer_metrics(const unet_trainer_t *trainer, const char **json);
UNET_API int unet_trainer_progress(const unet_trainer_t *trainer, int64_t *step,
                                   int64_t *total_steps);
/* Plan the run to end at step total_steps (1 to 1e9): unet_trainer_train trains up to it, the
 * schedule spans it, and without a val_every option validation runs every tenth of it. After
 * unet_trainer_load_state this continues a resumed run to a new total instead of the saved
 * one (with a schedule over the new total); a total at or below the steps already taken makes
 * unet_trainer_train return at once. */
UNET_API int unet_trainer_set_total_steps(unet_trainer_t *trainer, int64_t total_steps);
/* Thread-safe: stop the running call after its current step (UNET_E_CANCELLED); calls started
 * afterwards are cancelled too, until unet_trainer_reset_cancel. */
UNET_API int unet_trainer_cancel(unet_trainer_t *trainer);
/* Thread-safe: let the trainer run again after a cancel; it continues from where the cancelled
 * call stopped (weights, optimizer state, step). */
UNET_API int unet_trainer_reset_cancel(unet_trainer_t *trainer);

/* Save the model as a .unet file with preprocessing and training provenance metadata. */
UNET_API int unet_trainer_save(unet_trainer_t *trainer, const char *path);
/* Save / restore everything a resumed run needs (weights, optimizer and schedule state, step,
 * best metric); a resumed run continues the same trajectory as an uninterrupted one, given the
 * same data and options. */
UNET_API int unet_trainer_save_state(unet_trainer_t *trainer, const char *path);
UNET_API int unet_trainer_load_state(unet_trainer_t *trainer, const char *path);

/* Low level, for custom data pipelines and tests. A batch is input [N][C_in][H][W] (float32)
 * with targets for the output region [N][C][oh][ow]: C = 1 class index per pixel for ce and
 * for dice on a softmax model, else C = output channels; a NaN target marks a pixel as not
 * annotated. weights: [N][1][oh][ow] per-pixel loss weights, or NULL. */
/* Loss and parameter gradients in training mode (batch statistics, dropout of the current
 * step), without changing the model. */
UNET_API int unet_trainer_compute_gradients(unet_trainer_t *trainer, const float *input,
                                            int ndim, const int64_t *shape,
                                            const float *target, size_t target_count,
                                            const float *weights, double *loss);
/* The gradient of one tensor from the last compute_gradients or step_batch. */
UNET_API int unet_trainer_get_gradient(const unet_trainer_t *trainer, const char *name,
                                       float *out, size_t count);
/* One optimizer step on this batch (running statistics, schedule and step count advance). */
UNET_API int unet_trainer_step_batch(unet_trainer_t *trainer, const float *input, int ndim,
                                     const int64_t *shape, const float *target,
                                     size_t target_count, const float *weights, double *loss);

/* ---- post-processing: probabilities to instance labels ---------------------------------------
 * Images are one plane (H, W) (ndim 2) or a volume (D, H, W) (ndim 3), contiguous in row-major
 * order, each axis 1 to 2^31. Masks are uint8 (non-zero is foreground). Instance labels are
 * uint32 with 0 for background; every call that makes instances numbers them 1..N in raster
 * order of their first pixel (the order of scipy.ndimage.label). num_objects (may be NULL)
 * receives N; it is 0 on failure. Output buffers are the caller's and hold one element per
 * pixel. spacing: ndim pixel sizes (z, y, x order as the shape), NULL for 1.
 *
 * Post-processing options (NULL: defaults; key: type, default, range):
 *   threads       int 0        0..1024
 *   connectivity  int 0        0 (4 in 2-D, 6 in 3-D), 4 or 8 in 2-D, 6, 18 or 26 in 3-D
 *   threshold     double 0.5   [0, 1]
 *   min_distance  int 4        1..1000
 *   min_size      int 0        0..2^31
 *   max_size      int 0        0 (no limit)..2^62 */
typedef struct unet_post_opts unet_post_opts_t;

UNET_API int unet_post_opts_create(unet_post_opts_t **out);
UNET_API void unet_post_opts_free(unet_post_opts_t *opts);
UNET_API int unet_post_opts_set(unet_post_opts_t *opts, const char *key, const char *value);
UNET_API int unet_post_opts_set_json(unet_post_opts_t *opts, const char *json_object);
UNET_API int unet_post_opts_json(const unet_post_opts_t *opts, const char **json);
UNET_API int unet_post_opts_describe(const unet_post_opts_t *opts, const char **json);
UNET_API int unet_post_opts_set_threads(unet_post_opts_t *opts, int num_threads);
UNET_API int unet_post_opts_set_connectivity(unet_post_opts_t *opts, int connectivity);
UNET_API int unet_post_opts_set_threshold(unet_post_opts_t *opts, double threshold);
UNET_API int unet_post_opts_set_min_distance(unet_post_opts_t *opts, int min_distance);
UNET_API int unet_post_opts_set_min_size(unet_post_opts_t *opts, int64_t min_size);
UNET_API int unet_post_opts_set_max_size(unet_post_opts_t *opts, int64_t max_size);

/* mask = prob > threshold; a NaN probability is refused. Uses threshold, threads. */
UNET_API int unet_threshold(const float *prob, int ndim, const int64_t *shape,
                            const unet_post_opts_t *opts, uint8_t *mask);

/* Connected components of the mask's foreground. Uses connectivity, threads. */
UNET_API int unet_label_components(const uint8_t *mask, int ndim, const int64_t *shape,
                                   const unet_post_opts_t *opts, uint32_t *labels,
                                   uint32_t *num_objects);

/* Exact Euclidean distance from every foreground pixel to the nearest background pixel (0 on
 * background; +inf everywhere if the image has no background; outside the image is not
 * background), as scipy.ndimage.distance_transform_edt gives it, in float. Uses threads. */
UNET_API int unet_distance_transform(const uint8_t *mask, int ndim, const int64_t *shape,
                                     const double *spacing, const unet_post_opts_t *opts,
                                     float *distance);

/* Peaks of an image, as skimage.feature.peak_local_max(image, min_distance, labels=regions,
 * exclude_border=False): pixels equal to the maximum of their (2 min_distance + 1)^ndim window
 * (pixels of their own region only) and above the image's minimum, kept from the highest down
 * (ties: raster order) unless closer than min_distance (Chebyshev, pixels) to a peak of their
 * region kept before. regions (labels, may be NULL: the whole image is one region) bounds the
 * search; in a region whose pixels are all equal every pixel is a candidate (so its first
 * pixel is a peak). markers receives the peaks numbered 1..N in raster order, 0 elsewhere.
 * Uses min_distance, threads. */
UNET_API int unet_local_maxima(const float *image, const uint32_t *regions, int ndim,
                               const int64_t *shape, const unet_post_opts_t *opts,
                               uint32_t *markers, uint32_t *num_peaks);

/* Seeded watershed of a landscape, as skimage.segmentation.watershed(landscape, markers,
 * connectivity, mask): the non-zero markers (inside the mask) keep their labels and flood the
 * landscape lowest first (ties: first come; markers of equal value start in raster order);
 * pixels outside the mask (NULL: no mask) and pixels no marker reaches are 0. labels may be
 * the markers' buffer. The mask's connected components flood in parallel. Uses connectivity,
 * threads. */
UNET_API int unet_watershed_markers(const float *landscape, const uint32_t *markers,
                                    const uint8_t *mask, int ndim, const int64_t *shape,
                                    const unet_post_opts_t *opts, uint32_t *labels);

/* Split touching objects of a mask: its distance transform (with spacing, as above), the peaks
 * of that distance at least min_distance pixels apart within each connected component, and the
 * watershed of -distance from them inside the mask. Every foreground pixel gets a label. Uses
 * min_distance, connectivity, threads. */
UNET_API int unet_watershed(const uint8_t *mask, int ndim, const int64_t *shape,
                            const double *spacing, const unet_post_opts_t *opts,
                            uint32_t *labels, uint32_t *num_objects);

/* Instances from 3-class probabilities (background, interior, boundary), laid out
 * (3, [D,] H, W) as unet_predict writes them; `shape` is the spatial shape. Every pixel takes
 * its most probable class; connected interiors are the objects, grown over the boundary pixels
 * around them (most interior-like first). Boundary pixels that touch no interior stay 0. Uses
 * connectivity, threads. */
UNET_API int unet_labels_from_3class(const float *probs, int ndim, const int64_t *shape,
                                     const unet_post_opts_t *opts, uint32_t *labels,
                                     uint32_t *num_objects);

/* Renumber any labels, in place, to 1..N in raster order of first pixel. */
UNET_API int unet_relabel(uint32_t *labels, int ndim, const int64_t *shape,
                          uint32_t *num_objects);
/* Remove, in place, objects of fewer than min_size pixels or more than max_size (0: no upper
 * limit), then renumber 1..N. Objects are pixels sharing a label, connected or not. Uses
 * min_size, max_size. */
UNET_API int unet_filter_sizes(uint32_t *labels, int ndim, const int64_t *shape,
                               const unet_post_opts_t *opts, uint32_t *num_objects);

/* Instance F1 of predicted labels against true labels: a prediction and a true object match
 * when their IoU is >= iou_threshold (in (0, 1]), each at most once, with as many matches as
 * possible (as StarDist's matching counts them). f1 = 2 tp / (2 tp + fp + fn), and 1 when
 * both images are empty. tp, fp, fn may be NULL. */
UNET_API int unet_instance_f1(const uint32_t *pred, const uint32_t *truth, int ndim,
                              const int64_t *shape, double iou_threshold, double *f1,
                              int64_t *tp, int64_t *fp, int64_t *fn);

/* ---- segmentation: image -> instance labels -------------------------------------------------
 * Prediction through the tiled predictor, then post-processing as the model's `output`
 * metadata says: one probability channel ("target" "foreground" or "type" "probability"; a
 * model without a final activation is read as logits) -> threshold + distance-transform
 * watershed; three channels with "target" "3class" (or a softmax) -> unet_labels_from_3class;
 * two channels with "target" "distance" (the foreground and each object's distance to its
 * edge over its largest, the trainer's target distance) -> foreground above the threshold,
 * cores where the distance passes "seed_level" (default 0.5), each core's component grown
 * down the distance over the foreground (foreground no core reaches stays background).
 * The probability map is processed in horizontal strips with overlapping context, so memory is
 * bounded by (strip + 2 overlap) x width: an object whose connected foreground is shorter than
 * the overlap is segmented exactly as in a whole-image pass; taller foreground is labelled
 * strip by strip, each object continuing the label it had across the seam. Objects smaller than
 * min_size are removed; labels are 1..N in raster order of first pixel. */
typedef struct unet_segment_opts unet_segment_opts_t;

/* Segment options hold a copy of every predict option (same keys, same table entries: threads,
 * tile, halo, blend, batch, border, normalize, ..., precise) and these (key: type, default,
 * range):
 *   threshold     double auto   [0, 1]: foreground probability (one-channel models); auto: the
 *                               model's output "threshold", else 0.5
 *   min_distance  int auto      1..1000 pixels of the scaled image between watershed seeds;
 *                               auto: the model's output "min_distance", else 4
 *   split         bool auto     watershed split of touching objects (false: connected
 *                               components); auto: false when the model's output says
 *                               "instances": "components", else true
 *   min_size      int auto      0..2^31 pixels of the scaled image; smaller objects are removed
 *                               (exact while min_size <= the overlap); auto: the model's output
 *                               "min_size", else 16
 *   scale         double 0      0 (auto) or [0.05, 20]: resize factor applied to the image
 *                               before prediction (bilinear), labels mapped back (nearest); 0.5
 *                               halves the image. auto, in order: from the diameter option;
 *                               image pixel size / the model's output "pixel_size" when both
 *                               are known; estimated from the image when the model's output
 *                               metadata records its training "diameter" (below); else 1
 *   diameter      double 0      0 (auto: unknown) or [1, 1e5]: the objects' typical diameter in
 *                               image pixels; the scale is then the model's "diameter" / this
 *                               (a model without one refuses it). An explicit scale wins (the
 *                               diameter is then only recorded)
 *   pixel_size    double 0      0 (unknown) or > 0, in the unit of the model's "pixel_size"
 *   strip_rows    int 0         0 (automatic, about 4 Mpixels) or 1..2^31 rows per strip
 *   strip_overlap int 0         0 (automatic, 128) or 1..2^31 rows of context between strips */
UNET_API int unet_segment_opts_create(unet_segment_opts_t **out);
UNET_API void unet_segment_opts_free(unet_segment_opts_t *opts);
UNET_API int unet_segment_opts_set(unet_segment_opts_t *opts, const char *key,
                                   const char *value);
UNET_API int unet_segment_opts_set_json(unet_segment_opts_t *opts, const char *json_object);
UNET_API int unet_segment_opts_json(const unet_segment_opts_t *opts, const char **json);
UNET_API int unet_segment_opts_describe(const unet_segment_opts_t *opts, const char **json);
/* Copy the values of every predict option into these options (progress and cancel state are
 * not copied: segment options have their own). */
UNET_API int unet_segment_opts_set_predict_opts(unet_segment_opts_t *opts,
                                                const unet_predict_opts_t *predict_opts);
UNET_API int unet_segment_opts_set_threads(unet_segment_opts_t *opts, int num_threads);
UNET_API int unet_segment_opts_set_tile(unet_segment_opts_t *opts, int64_t tile);
UNET_API int unet_segment_opts_set_threshold(unet_segment_opts_t *opts, double threshold);
UNET_API int unet_segment_opts_set_min_distance(unet_segment_opts_t *opts, int min_distance);
UNET_API int unet_segment_opts_set_split(unet_segment_opts_t *opts, int split);
UNET_API int unet_segment_opts_set_min_size(unet_segment_opts_t *opts, int64_t min_size);
UNET_API int unet_segment_opts_set_scale(unet_segment_opts_t *opts, double scale);
UNET_API int unet_segment_opts_set_pixel_size(unet_segment_opts_t *opts, double pixel_size);
/* max_pixels as for predict options, counted on the image as given (before `scale`). */
UNET_API int unet_segment_opts_set_max_pixels(unet_segment_opts_t *opts, int64_t max_pixels);
/* Progress of the whole call (statistics, prediction, post-processing) and cancellation, as
 * for predict options. */
UNET_API int unet_segment_opts_set_progress(unet_segment_opts_t *opts, unet_progress_fn fn,
                                            void *user);
UNET_API int unet_segment_opts_cancel(unet_segment_opts_t *opts);
UNET_API int unet_segment_opts_reset_cancel(unet_segment_opts_t *opts);

/* Automatic scale: with scale auto and no diameter or pixel sizes to go by, a model whose
 * output metadata records "diameter" (the median equivalent diameter of the objects it was
 * trained on, in pixels) has the image measured first: quick passes of the model at 1/8, 1/4,
 * 1/2 and 1 of the image size, each on at most about 512 x 512 resized pixels, find the median
 * equivalent diameter d of the confident objects at the coarsest size that resolves them, and
 * the scale becomes "diameter" / d, within [0.05, 2] (1 when no confident object is found).
 * Each image is measured once per call, on the first 20% of the call's progress.
 * unet_segment_scale* give the scale a segmentation of the same image with the same options
 * uses, and (diameter, may be NULL) the objects' diameter in image pixels it comes from (given
 * or measured; 0 when unknown or no object was found), so a host can show them, or pass them
 * back as the scale and diameter options to segment without measuring again (with an explicit
 * scale the diameter option is only recorded). unet_segment_tiff records both in the label
 * file's ImageDescription as JSON: {"libunet":{"scale":0.194,"diameter":88.1}} (the diameter
 * when known). unet_segment_probabilities has no image to measure: an automatic scale is 1
 * there. */
UNET_API int unet_segment_scale(const unet_model_t *model, const unet_segment_opts_t *opts,
                                const void *input, unet_dtype_t dtype, int ndim,
                                const int64_t *shape, double *scale, double *diameter);

/* Segment an in-memory image (H,W) or (C,H,W) of element type `dtype` into caller-owned
 * uint32 labels of H*W elements (label_count). num_objects (may be NULL) receives N. */
UNET_API int unet_segment(const unet_model_t *model, const unet_segment_opts_t *opts,
                          const void *input, unet_dtype_t dtype, int ndim, const int64_t *shape,
                          uint32_t *labels, size_t label_count, uint32_t *num_objects);

/* Streaming: `read` as for unet_predict_stream (plane is always 0); `write` receives finished
 * label rows [y, y+h) of the whole width w, in order, each row exactly once. */
typedef int (*unet_label_write_fn)(void *user, int64_t y, int64_t h, int64_t w,
                                   const uint32_t *labels);
UNET_API int unet_segment_stream(const unet_model_t *model, const unet_segment_opts_t *opts,
                                 int64_t channels, int64_t height, int64_t width,
                                 unet_read_fn read, void *read_user, unet_label_write_fn write,
                                 void *write_user, uint32_t *num_objects);
/* The scale unet_segment_stream uses for this image (see unet_segment_scale). */
UNET_API int unet_segment_scale_stream(const unet_model_t *model,
                                       const unet_segment_opts_t *opts, int64_t channels,
                                       int64_t height, int64_t width, unet_read_fn read,
                                       void *read_user, double *scale, double *diameter);

/* Instances from a prediction made elsewhere (by pieces, on a cluster): `probs` is what
 * unet_predict writes for an image with this model, float32 (C_out, H, W) contiguous (ndim 3;
 * ndim 2 (H, W) for one output channel), and `labels` (H*W) receives what unet_segment gives for
 * that image: the same rules from the model's output metadata, the same instance options
 * (threshold, min_distance, split, min_size) and strips (strip_rows, strip_overlap); prediction
 * options are not used, and scale must resolve to 1. `foreground` (may be NULL) receives H*W
 * bytes: 1 on the pixels objects are cut from (probability above the threshold; 3-class:
 * interior or boundary), objects removed by min_size included, 0 elsewhere. A NaN probability
 * is UNET_E_INVALID_ARG. num_objects (may be NULL) receives N. */
UNET_API int unet_segment_probabilities(const unet_model_t *model,
                                        const unet_segment_opts_t *opts, const float *probs,
                                        int ndim, const int64_t *shape, uint32_t *labels,
                                        size_t label_count, uint8_t *foreground,
                                        uint32_t *num_objects);

/* Segment a TIFF into a new label TIFF, streaming (bounded memory whatever the size): uint16
 * labels while the objects fit, else uint32 (the file is then written again). A stack (pages
 * that are planes, the default of the option `pages`) is segmented plane by plane into a label
 * stack of as many pages, objects numbered 1..N in each plane; num_objects then receives the
 * sum over the planes. Colour follows the channel rule. flags as for unet_predict_tiff;
 * resolution tags are copied; the ImageDescription records the scale (see unet_segment_scale).
 * On failure the output is removed. */
UNET_API int unet_segment_tiff(const unet_model_t *model, const unet_segment_opts_t *opts,
                               const char *input_path, const char *output_path, unsigned flags,
                               uint32_t *num_objects);
/* The scale unet_segment_tiff uses for this file (see unet_segment_scale). */
UNET_API int unet_segment_scale_tiff(const unet_model_t *model, const unet_segment_opts_t *opts,
                                     const char *input_path, double *scale,
                                     double *diameter);


/* ---- click-to-segment ------------------------------------------------------------------------
 * A session holds one image and predicts only what clicks need: a click predicts a window
 * around it plus the halo, in cells aligned to the tiled predictor's grid, so the
 * probabilities equal a whole-image unet_predict with the same options (normalisation uses the
 * whole plane's statistics, computed on the plane's first click); predicted cells are cached,
 * so later clicks nearby run no network. The window grows until the object under the click is
 * complete (or max_extent is reached). The object is cut out as unet_segment cuts it, from the
 * model's `output` metadata: one probability channel -> threshold, then the distance-transform
 * watershed of the click's 4-connected foreground component (min_distance; with split false,
 * the component itself); three channels ("target" "3class", or a softmax) ->
 * unet_labels_from_3class; two distance channels ("target" "distance") -> the cores of the
 * click's component grown down the distance, as unet_segment. Objects smaller than min_size
 * count as background. The image is resized by the session's scale exactly as unet_segment
 * resizes it (options scale and diameter; automatic by default: measured once per session,
 * on the first plane clicked, as unet_segment measures that image), and the object is
 * mapped back to the image's pixels as unet_segment maps labels back, so a clicked object is
 * the object unet_segment gives with the same options. min_size, first_window, max_extent
 * and the session's statistics count pixels of the resized image.
 *
 * The session keeps a pointer to the caller's image: it must stay alive and unchanged while
 * the session lives (free the session and create a new one after editing the image). The model
 * is borrowed too. A session is used from one thread at a time; several sessions may share a
 * model across threads. The cache grows with the area clicked, up to the model's output
 * channels x height x width floats per plane clicked; free the session to release it. */
typedef struct unet_click_opts unet_click_opts_t;
typedef struct unet_click_session unet_click_session_t;
typedef struct unet_click_result unet_click_result_t;

/* Click options hold a copy of every predict option (of which threads, halo, border,
 * normalize..., precise, tta are used; tile, blend and batch are the session's business) and these
 * (key: type, default, range):
 *   threshold, min_distance, split, min_size   as for segment options (auto: the model's)
 *   max_extent    int 1024      the largest window side searched for one object, from the cell
 *                               size (64 px for most models) to 2^31
 *   first_window  int 192       1..2^31: side of the window predicted around a click on pixels
 *                               not yet cached (rounded out to whole cells): larger costs the
 *                               first click more and makes more later clicks nearby free
 *   scale, diameter               as for segment options (no pixel size): auto by default */
UNET_API int unet_click_opts_create(unet_click_opts_t **out);
UNET_API void unet_click_opts_free(unet_click_opts_t *opts);
UNET_API int unet_click_opts_set(unet_click_opts_t *opts, const char *key, const char *value);
UNET_API int unet_click_opts_set_json(unet_click_opts_t *opts, const char *json_object);
UNET_API int unet_click_opts_json(const unet_click_opts_t *opts, const char **json);
UNET_API int unet_click_opts_describe(const unet_click_opts_t *opts, const char **json);
/* Copy the values of every predict option into these options. */
UNET_API int unet_click_opts_set_predict_opts(unet_click_opts_t *opts,
                                              const unet_predict_opts_t *predict_opts);
UNET_API int unet_click_opts_set_threads(unet_click_opts_t *opts, int num_threads);
UNET_API int unet_click_opts_set_threshold(unet_click_opts_t *opts, double threshold);
UNET_API int unet_click_opts_set_min_distance(unet_click_opts_t *opts, int min_distance);
UNET_API int unet_click_opts_set_split(unet_click_opts_t *opts, int split);
UNET_API int unet_click_opts_set_min_size(unet_click_opts_t *opts, int64_t min_size);
UNET_API int unet_click_opts_set_max_extent(unet_click_opts_t *opts, int64_t pixels);
UNET_API int unet_click_opts_set_first_window(unet_click_opts_t *opts, int64_t pixels);

/* A session on an image as unet_predict takes it: (H,W), (C,H,W) or (P,C,H,W), contiguous,
 * of element type `dtype`, with a copy of `opts` (NULL: defaults). */
UNET_API int unet_click_session_create(const unet_model_t *model, const unet_click_opts_t *opts,
                                       const void *image, unet_dtype_t dtype, int ndim,
                                       const int64_t *shape, unet_click_session_t **out);
UNET_API void unet_click_session_free(unet_click_session_t *session);
/* Replace the session's options by a copy of `opts`. Changing only post-processing keys
 * (threshold, min_distance, split, min_size, max_extent, first_window) keeps the cache; any
 * prediction key that changes the probabilities (halo, unsafe_halo, border, normalize,
 * norm_*, precise, tta) drops it; threads applies to later network runs (tile, blend and batch are
 * not used by sessions). Applies to later clicks; on failure the session is unchanged. */
UNET_API int unet_click_session_set_opts(unet_click_session_t *session,
                                         const unet_click_opts_t *opts);
/* The session's scale: 0 (automatic, the default: from the options' diameter, else measured
 * at the next click) or [0.05, 20], as the options' scale key. A scale that changes the
 * resized image drops the cache; keys the automatic estimate depends on (prediction and
 * instance keys) have it measured again at the next click, keeping the cache when the scale
 * comes out the same. Applies to later clicks; on failure the session is unchanged. */
UNET_API int unet_click_session_set_scale(unet_click_session_t *session, double scale);
/* The scale clicks use; an automatic one not measured yet is measured now, on plane 0. */
UNET_API int unet_click_session_scale(unet_click_session_t *session, double *scale);
/* Thread-safe: stop a click running in another thread at its next check (during the plane's
 * statistics, the scale estimate and each network run; UNET_E_CANCELLED); clicks started
 * afterwards are cancelled too, until unet_click_session_reset_cancel. What finished before
 * the cancel stays cached; nothing half-done is kept, so after the reset a click gives what
 * it would have given without the cancel. */
UNET_API int unet_click_session_cancel(unet_click_session_t *session);
/* Thread-safe: let the session click again after a cancel. */
UNET_API int unet_click_session_reset_cancel(unet_click_session_t *session);
/* Work done so far (any pointer may be NULL): network runs, input pixels they processed
 * (halo included), and image pixels whose probabilities are cached. */
UNET_API int unet_click_session_stats(const unet_click_session_t *session, int64_t *network_runs,
                                      int64_t *network_pixels, int64_t *cached_pixels);

/* The object under pixel (x, y) of plane `plane` (0 for 2-D and (C,H,W) images), into a new
 * result (release with unet_click_result_free). A click on background gives an empty result
 * (area 0, no rings) and UNET_OK. The first click on a plane checks its pixels: a NaN or
 * infinite one gives UNET_E_INVALID_ARG naming it. */
UNET_API int unet_click(unet_click_session_t *session, int64_t x, int64_t y, int64_t plane,
                        unet_click_result_t **out);
UNET_API void unet_click_result_free(unet_click_result_t *result);
/* Bounding box of the object: x, y (its top-left pixel), width, height; zeros when empty. */
UNET_API int unet_click_result_bbox(const unet_click_result_t *result, int64_t bbox[4]);
/* The object's pixel count (0 when empty). */
UNET_API int unet_click_result_area(const unet_click_result_t *result, int64_t *area);
/* 1 when the object was found whole, 0 when max_extent cut it. */
UNET_API int unet_click_result_complete(const unet_click_result_t *result, int *complete);
/* The object's mask, height x width of the bounding box row by row, 1 on the object, 0 off
 * it; owned by the result; NULL when empty. */
UNET_API int unet_click_result_mask(const unet_click_result_t *result, const uint8_t **mask);
/* Outline rings along pixel edges, vertices at pixel corners in image coordinates (corner
 * (x, y) is the top-left corner of pixel (x, y)), only where the direction changes; the last
 * vertex joins the first. Ring 0 is the outline: clockwise on screen (y down), its shoelace
 * area sum(x_i y_{i+1} - x_{i+1} y_i) / 2 is positive. Further rings are holes, with negative
 * areas; all rings' areas add up to the object's pixel count. Diagonal-only contacts of the
 * object's pixels are kept apart (4-connectivity). */
UNET_API int unet_click_result_ring_count(const unet_click_result_t *result, int64_t *count);
/* Ring `index`: num_vertices (x, y) pairs (2 * num_vertices int64 values), owned by the
 * result; UNET_E_INVALID_ARG on a bad index. */
UNET_API int unet_click_result_ring(const unet_click_result_t *result, int64_t index,
                                   const int64_t **xy, int64_t *num_vertices);

/* ---- sample images -----------------------------------------------------------------------
 * Synthetic fluorescence nuclei with their instance labels: what `unet sample` writes and what
 * the built-in models are trained on. The same options give the same image on any machine.
 * Two scenes: "classic" (nuclei 10-60 px, touching, elongated, textured, blurred, uneven
 * background, Poisson + Gaussian noise; what today's built-in model was trained on, and its
 * output for bits 8 and 16 never changes) and "wide" (nuclei of every size in
 * [min_diameter, max_diameter], dense clusters of 50+ touching nuclei, dim out-of-focus nuclei
 * and debris that are not labelled, uneven illumination, several textures per image, fields
 * with no nuclei). Setting any of nuclei, min_diameter, max_diameter, clusters or background
 * selects the wide scene; without them (scene auto) the image is the classic one.
 * Sample options (key: type, default, range):
 *   seed          int 0       0..2^53
 *   bits          int 16      8, 12 or 16: the image's values lie in [0, 2^bits)
 *   scene         name auto   auto | classic | wide (classic with a wide-only key: error)
 *   nuclei        int auto    0..65535: how many to place (fewer when the image cannot hold
 *                             them); 0 gives a field with no nuclei (auto: from a coverage of
 *                             3-50% drawn per seed)
 *   min_diameter  double auto 4..400 px: every nucleus whose label does not touch the image
 *                             border has an equivalent diameter sqrt(4 area / pi) of at least
 *                             this (auto: 8)
 *   max_diameter  double auto 4..400 px, >= min_diameter + 1: and at most this (auto: 90)
 *   clusters      int auto    0..16 dense clusters of 50 or more touching nuclei each (fewer
 *                             when nuclei is below 50 per cluster or the image is full; auto:
 *                             none, one or two per seed); needs nuclei > 0
 *   background    name auto   what lies around the nuclei, never labelled: flat (noise only),
 *                             ramp (uneven illumination), haze (dim out-of-focus nuclei,
 *                             diffuse clouds), debris (specks, clumps, fibres), noise (few
 *                             photons, strong and correlated noise, hot pixels), auto (a
 *                             mixture drawn per seed; with nuclei 0, one kind or several) */
typedef struct unet_sample_opts unet_sample_opts_t;
UNET_API int unet_sample_opts_create(unet_sample_opts_t **out);
UNET_API void unet_sample_opts_free(unet_sample_opts_t *opts);
UNET_API int unet_sample_opts_set(unet_sample_opts_t *opts, const char *key, const char *value);
UNET_API int unet_sample_opts_set_json(unet_sample_opts_t *opts, const char *json_object);
UNET_API int unet_sample_opts_json(const unet_sample_opts_t *opts, const char **json);
UNET_API int unet_sample_opts_describe(const unet_sample_opts_t *opts, const char **json);
UNET_API int unet_sample_opts_set_seed(unet_sample_opts_t *opts, uint64_t seed);
/* An image of height x width (each 16..8192) into caller buffers of height * width elements:
 * the image as uint16 (values below 2^bits) and its instance labels 1..N (labels may be NULL).
 * num_objects (may be NULL) receives N. */
UNET_API int unet_sample_nuclei(const unet_sample_opts_t *opts, int64_t height, int64_t width,
                                uint16_t *image, uint32_t *labels, uint32_t *num_objects);

#ifdef __cplusplus
}
#endif
#endif /* UNET_H */
