//! Raw declarations of libunet's C API, exactly as `include/unet.h` states them.
//!
//! Every function, constant, enum value and callback type of the header has its counterpart
//! here with the same name. The declarations are written by hand; `tests/header.rs` parses
//! `unet.h` and fails when a function is missing, extra, or differs in its parameter count or
//! types, so the two cannot drift apart. The contract of each function (ownership, ranges,
//! thread safety) is the header's comment; the safe wrapper is the `unet` crate.
//!
//! Linking: the build script takes libunet from `UNET_LIB_DIR`, else from pkg-config (`unet`).
#![no_std]
#![allow(non_camel_case_types)]
#![deny(missing_docs)]

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::marker::{PhantomData, PhantomPinned};

/// Declares opaque C types: never built or moved in Rust, only pointed to.
macro_rules! opaque {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[repr(C)]
        pub struct $name {
            _data: [u8; 0],
            _marker: PhantomData<(*mut u8, PhantomPinned)>,
        }
    )*};
}

opaque! {
    /// A model: graph, weights and metadata (immutable after load).
    unet_model_t;
    /// Prediction options.
    unet_predict_opts_t;
    /// Training options.
    unet_train_opts_t;
    /// A trainer updating one model's weights.
    unet_trainer_t;
    /// Post-processing options.
    unet_post_opts_t;
    /// Segmentation options.
    unet_segment_opts_t;
    /// Click-to-segment options.
    unet_click_opts_t;
    /// A click-to-segment session on one image.
    unet_click_session_t;
    /// The object found by one click.
    unet_click_result_t;
    /// Options of the synthetic sample generator.
    unet_sample_opts_t;
}

// ---- versioning ------------------------------------------------------------------------------
/// Major version of the header these declarations follow.
pub const UNET_VERSION_MAJOR: c_uint = 1;
/// Minor version of the header these declarations follow.
pub const UNET_VERSION_MINOR: c_uint = 0;
/// Patch version of the header these declarations follow.
pub const UNET_VERSION_PATCH: c_uint = 0;
/// MAJOR * 10000 + MINOR * 100 + PATCH, as `unet_version()` returns it.
pub const UNET_VERSION_NUMBER: c_uint =
    UNET_VERSION_MAJOR * 10000 + UNET_VERSION_MINOR * 100 + UNET_VERSION_PATCH;

// ---- status codes ----------------------------------------------------------------------------
/// Success.
pub const UNET_OK: c_int = 0;
/// A bad argument, option, config key or value.
pub const UNET_E_INVALID_ARG: c_int = -1;
/// A file could not be opened, read or written.
pub const UNET_E_IO: c_int = -2;
/// A file or document is malformed.
pub const UNET_E_FORMAT: c_int = -3;
/// Out of memory, or a size too large to allocate.
pub const UNET_E_NOMEM: c_int = -4;
/// Cancelled by a callback or `unet_*_cancel`.
pub const UNET_E_CANCELLED: c_int = -5;
/// Valid, but not supported by this build.
pub const UNET_E_UNSUPPORTED: c_int = -6;
/// An image or tensor shape the model cannot take.
pub const UNET_E_SHAPE: c_int = -7;
/// A bug in libunet.
pub const UNET_E_INTERNAL: c_int = -8;

// ---- enums (C enums with non-negative values: unsigned int in the x86-64 and AArch64 ABIs) ----
/// Element type of an image.
pub type unet_dtype_t = c_uint;
/// 8-bit unsigned.
pub const UNET_U8: unet_dtype_t = 1;
/// 16-bit unsigned.
pub const UNET_U16: unet_dtype_t = 2;
/// 16-bit signed.
pub const UNET_I16: unet_dtype_t = 3;
/// 32-bit unsigned.
pub const UNET_U32: unet_dtype_t = 4;
/// 32-bit float.
pub const UNET_F32: unet_dtype_t = 5;
/// 64-bit float.
pub const UNET_F64: unet_dtype_t = 6;

/// How the canvas around an image is made.
pub type unet_border_t = c_uint;
/// Network for same-padding models, reflect for valid padding.
pub const UNET_BORDER_DEFAULT: unet_border_t = 0;
/// Far edges padded by reflection up to the block multiple.
pub const UNET_BORDER_NETWORK: unet_border_t = 1;
/// Every side padded by the halo, by reflection.
pub const UNET_BORDER_REFLECT: unet_border_t = 2;
/// Every side padded by the halo, with zeros.
pub const UNET_BORDER_ZERO: unet_border_t = 3;

/// Input normalisation.
pub type unet_normalize_t = c_uint;
/// What the model's preprocessing metadata says.
pub const UNET_NORMALIZE_MODEL: unet_normalize_t = 0;
/// Values as they are.
pub const UNET_NORMALIZE_NONE: unet_normalize_t = 1;
/// Zero mean, unit variance per plane and channel.
pub const UNET_NORMALIZE_ZMUV: unet_normalize_t = 2;
/// Percentiles low and high mapped to 0 and 1.
pub const UNET_NORMALIZE_PERCENTILE: unet_normalize_t = 3;
/// (x - mean) / std with given mean and std.
pub const UNET_NORMALIZE_FIXED: unet_normalize_t = 4;

/// Where training data goes.
pub type unet_split_t = c_uint;
/// By the trainer's validation fraction.
pub const UNET_SPLIT_AUTO: unet_split_t = 0;
/// Training data.
pub const UNET_SPLIT_TRAIN: unet_split_t = 1;
/// Validation data.
pub const UNET_SPLIT_VAL: unet_split_t = 2;

// ---- other constants -------------------------------------------------------------------------
/// Tile size meaning "the whole canvas in one piece".
pub const UNET_TILE_WHOLE: i64 = -1;
/// Default pixel limit (2^28) of calls that hold a whole image in memory.
pub const UNET_MAX_PIXELS_WHOLE: i64 = 268435456;
/// unet_channel_rule's channel meaning "by the channel rule".
pub const UNET_CHANNEL_AUTO: i64 = -1;
/// TIFF output flag: deflate compression.
pub const UNET_TIFF_DEFLATE: c_uint = 1;
/// TIFF output flag: force BigTIFF.
pub const UNET_TIFF_BIGTIFF: c_uint = 2;

// ---- callbacks -------------------------------------------------------------------------------
/// Progress: called on the calling thread; a non-zero return cancels.
pub type unet_progress_fn =
    Option<unsafe extern "C" fn(user: *mut c_void, fraction: f64, stage: *const c_char) -> c_int>;
/// Reads plane `plane`, rows y..y+h, columns x..x+w of every channel as float32 (C, h, w).
pub type unet_read_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        plane: i64,
        y: i64,
        x: i64,
        h: i64,
        w: i64,
        dst: *mut f32,
    ) -> c_int,
>;
/// Receives a finished output region (C_out, h, w).
pub type unet_write_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        plane: i64,
        y: i64,
        x: i64,
        h: i64,
        w: i64,
        src: *const f32,
    ) -> c_int,
>;
/// Training progress after every step; a non-zero return cancels.
pub type unet_train_progress_fn = Option<
    unsafe extern "C" fn(
        user: *mut c_void,
        step: i64,
        total_steps: i64,
        loss: f64,
        metric: f64,
    ) -> c_int,
>;
/// Receives finished label rows y..y+h of the whole width w.
pub type unet_label_write_fn = Option<
    unsafe extern "C" fn(user: *mut c_void, y: i64, h: i64, w: i64, labels: *const u32) -> c_int,
>;

extern "C" {
    /// UNET_VERSION_NUMBER of the library actually loaded (may differ from the header's).
    pub fn unet_version() -> c_uint;
    /// "MAJOR.MINOR.PATCH" of the library actually loaded.
    pub fn unet_version_string() -> *const c_char;
    /// A static string naming the code ("invalid argument", ...); never NULL.
    pub fn unet_status_string(status: c_int) -> *const c_char;
    /// The message of the last failure on the calling thread ("" if none); valid until the next
    /// libunet call on this thread.
    pub fn unet_last_error() -> *const c_char;
    /// A new model from a U-Net config (JSON object, keys of DESIGN section 5; "{}" gives the
    /// defaults) with He-initialised weights drawn from `seed` (same seed, same weights).
    pub fn unet_model_create(
        config_json: *const c_char,
        seed: u64,
        out: *mut *mut unet_model_t,
    ) -> c_int;
    /// Load a .unet file (safetensors layout with libunet metadata).
    pub fn unet_model_load(path: *const c_char, out: *mut *mut unet_model_t) -> c_int;
    /// Load a plain safetensors file (a PyTorch state_dict, say) with its config given here.
    pub fn unet_model_load_with_config(
        path: *const c_char,
        config_json: *const c_char,
        out: *mut *mut unet_model_t,
    ) -> c_int;
    /// Load from memory.
    pub fn unet_model_load_memory(
        data: *const c_void,
        size: usize,
        config_json: *const c_char,
        out: *mut *mut unet_model_t,
    ) -> c_int;
    /// Save a model as a .unet file.
    pub fn unet_model_save(model: *const unet_model_t, path: *const c_char) -> c_int;
    /// Serialise to a new buffer, released with unet_buffer_free.
    pub fn unet_model_save_memory(
        model: *const unet_model_t,
        data: *mut *mut c_void,
        size: *mut usize,
    ) -> c_int;
    /// Releases the object (NULL-safe).
    pub fn unet_buffer_free(data: *mut c_void);
    /// Releases the object (NULL-safe).
    pub fn unet_model_free(model: *mut unet_model_t);
    /// Built-in models, compiled into libunet.so: "nuclei" (the default fluorescence-nuclei
    /// segmentation model).
    pub fn unet_model_load_builtin(name: *const c_char, out: *mut *mut unet_model_t) -> c_int;
    /// The names unet_model_load_builtin knows (static strings; count 0 in a build without).
    pub fn unet_model_builtin_names(names: *mut *const *const c_char, count: *mut usize) -> c_int;
    /// Getters: UNET_OK and the value through the out-parameter (0 / NULL on failure).
    pub fn unet_model_ndim(model: *const unet_model_t, ndim: *mut c_int) -> c_int;
    /// Input channels of the model.
    pub fn unet_model_in_channels(model: *const unet_model_t, channels: *mut c_int) -> c_int;
    /// Output channels of the model.
    pub fn unet_model_out_channels(model: *const unet_model_t, channels: *mut c_int) -> c_int;
    /// Resolution levels of the U-Net.
    pub fn unet_model_depth(model: *const unet_model_t, depth: *mut c_int) -> c_int;
    /// Receptive-field margin in pixels (metadata can only raise it).
    pub fn unet_model_halo(model: *const unet_model_t, halo: *mut c_int) -> c_int;
    /// Product of the pooling factors: tile origins and same-padded input sizes are multiples.
    pub fn unet_model_block_multiple(
        model: *const unet_model_t,
        block_multiple: *mut c_int,
    ) -> c_int;
    /// 1 for "same" padding, 0 for "valid".
    pub fn unet_model_is_same_padding(model: *const unet_model_t, same: *mut c_int) -> c_int;
    /// Number of trainable parameters.
    pub fn unet_model_param_count(model: *const unet_model_t, count: *mut i64) -> c_int;
    /// The architecture as a JSON object with every key present; owned by the model.
    pub fn unet_model_architecture(model: *const unet_model_t, json: *mut *const c_char) -> c_int;
    /// The whole libunet metadata document (format_version, architecture, preprocessing, output,
    /// training, halo) as JSON; owned by the model, valid until the next change or free.
    pub fn unet_model_metadata(model: *const unet_model_t, json: *mut *const c_char) -> c_int;
    /// Replace one metadata section: key "preprocessing", "output" or "training" (a JSON object), or
    /// "halo" (a non-negative integer); json_value NULL removes the section.
    pub fn unet_model_set_metadata(
        model: *mut unet_model_t,
        key: *const c_char,
        json_value: *const c_char,
    ) -> c_int;
    /// Parameter tensors, in file order, with the names of DESIGN section 5.
    pub fn unet_model_tensor_count(model: *const unet_model_t, count: *mut c_int) -> c_int;
    /// Name, rank and shape (room for 4 entries) of parameter tensor `index`.
    pub fn unet_model_tensor_info(
        model: *const unet_model_t,
        index: c_int,
        name: *mut *const c_char,
        ndim: *mut c_int,
        shape: *mut i64,
    ) -> c_int;
    /// Copy a tensor out / in; `count` must equal its number of elements.
    pub fn unet_model_get_tensor(
        model: *const unet_model_t,
        name: *const c_char,
        out: *mut f32,
        count: usize,
    ) -> c_int;
    /// Copy a tensor in; not safe while another thread runs the model.
    pub fn unet_model_set_tensor(
        model: *mut unet_model_t,
        name: *const c_char,
        data: *const f32,
        count: usize,
    ) -> c_int;
    /// The network's output shape for an input shape, or UNET_E_SHAPE with a message naming the
    /// nearest sizes the network accepts.
    pub fn unet_model_output_shape(
        model: *const unet_model_t,
        ndim: c_int,
        in_shape: *const i64,
        out_shape: *mut i64,
    ) -> c_int;
    /// The smallest spatial input size >= `size` that the network accepts, and its output size.
    pub fn unet_model_fit_size(
        model: *const unet_model_t,
        size: i64,
        input_size: *mut i64,
        output_size: *mut i64,
    ) -> c_int;
    /// The raw network (no preprocessing, no padding) on contiguous float32 NCHW input.
    pub fn unet_model_forward(
        model: *const unet_model_t,
        opts: *const unet_predict_opts_t,
        input: *const f32,
        ndim: c_int,
        shape: *const i64,
        output: *mut f32,
        output_count: usize,
    ) -> c_int;
    /// A new options object holding the defaults.
    pub fn unet_predict_opts_create(out: *mut *mut unet_predict_opts_t) -> c_int;
    /// Releases an options object (NULL-safe).
    pub fn unet_predict_opts_free(opts: *mut unet_predict_opts_t);
    /// Sets one option from text: key and value.
    pub fn unet_predict_opts_set(
        opts: *mut unet_predict_opts_t,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    /// Sets the keys of a JSON object.
    pub fn unet_predict_opts_set_json(
        opts: *mut unet_predict_opts_t,
        json_object: *const c_char,
    ) -> c_int;
    /// Current values as a JSON object; owned by opts, valid until the next change or free.
    pub fn unet_predict_opts_json(
        opts: *const unet_predict_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// The table as a JSON array of {"name", "type" ("int", "double", "bool", "name", "text"),
    /// "default", "min", "max", "choices", "help"}; owned by opts, valid until it is freed.
    pub fn unet_predict_opts_describe(
        opts: *const unet_predict_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// Threads for one call (0: all available; the library never changes the process default).
    pub fn unet_predict_opts_set_threads(
        opts: *mut unet_predict_opts_t,
        num_threads: c_int,
    ) -> c_int;
    /// Sets the `border` option.
    pub fn unet_predict_opts_set_border(
        opts: *mut unet_predict_opts_t,
        border: unet_border_t,
    ) -> c_int;
    /// a, b: percentiles low/high (PERCENTILE), mean/std (FIXED); ignored otherwise.
    pub fn unet_predict_opts_set_normalize(
        opts: *mut unet_predict_opts_t,
        mode: unet_normalize_t,
        a: f64,
        b: f64,
    ) -> c_int;
    /// Sets the `tile` option.
    pub fn unet_predict_opts_set_tile(opts: *mut unet_predict_opts_t, tile: i64) -> c_int;
    /// Halo override in pixels (-1: default); lowering it needs `unsafe_halo` non-zero.
    pub fn unet_predict_opts_set_halo(
        opts: *mut unet_predict_opts_t,
        halo: i64,
        unsafe_halo: c_int,
    ) -> c_int;
    /// Raised-cosine (sin^2) blending over `width` pixels on each side of every tile seam (0: none,
    /// exact stitching).
    pub fn unet_predict_opts_set_blend(opts: *mut unet_predict_opts_t, width: i64) -> c_int;
    /// Tiles run through the network together (1 to 64).
    pub fn unet_predict_opts_set_batch(
        opts: *mut unet_predict_opts_t,
        tiles_per_batch: c_int,
    ) -> c_int;
    /// Non-zero: direct convolutions everywhere.
    pub fn unet_predict_opts_set_precise(opts: *mut unet_predict_opts_t, precise: c_int) -> c_int;
    /// Largest image a call accepts in pixels (0: auto).
    pub fn unet_predict_opts_set_max_pixels(
        opts: *mut unet_predict_opts_t,
        max_pixels: i64,
    ) -> c_int;
    /// Sets the progress callback (NULL: none) and its user pointer.
    pub fn unet_predict_opts_set_progress(
        opts: *mut unet_predict_opts_t,
        progress: unet_progress_fn,
        user: *mut c_void,
    ) -> c_int;
    /// Thread-safe: cancel calls running with these options (from a GUI's Cancel button); they return
    /// UNET_E_CANCELLED within one tile batch.
    pub fn unet_predict_opts_cancel(opts: *mut unet_predict_opts_t) -> c_int;
    /// Clears a cancel request.
    pub fn unet_predict_opts_reset_cancel(opts: *mut unet_predict_opts_t) -> c_int;
    /// Predict an in-memory image (H,W), (C,H,W) or (P,C,H,W) into float32 output.
    pub fn unet_predict(
        model: *const unet_model_t,
        opts: *const unet_predict_opts_t,
        input: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        output: *mut f32,
        output_count: usize,
    ) -> c_int;
    /// Predict an image read and written by region (bounded memory).
    pub fn unet_predict_stream(
        model: *const unet_model_t,
        opts: *const unet_predict_opts_t,
        planes: i64,
        channels: i64,
        height: i64,
        width: i64,
        read: unet_read_fn,
        read_user: *mut c_void,
        write: unet_write_fn,
        write_user: *mut c_void,
    ) -> c_int;
    /// Whole-plane normalisation of `opts` as "fixed" mean and std per plane and channel.
    pub fn unet_predict_stats(
        model: *const unet_model_t,
        opts: *const unet_predict_opts_t,
        planes: i64,
        channels: i64,
        height: i64,
        width: i64,
        read: unet_read_fn,
        read_user: *mut c_void,
        mean: *mut f64,
        std: *mut f64,
        count: usize,
    ) -> c_int;
    /// The channel rule on an in-memory image: (P, model_channels, H, W) float32 out.
    pub fn unet_channel_rule(
        model_channels: c_int,
        channel: i64,
        image: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        output: *mut f32,
        output_count: usize,
    ) -> c_int;
    /// Size and element type of a TIFF file (int32 files report UNET_F64, read exactly).
    pub fn unet_tiff_info(
        path: *const c_char,
        planes: *mut i64,
        channels: *mut i64,
        height: *mut i64,
        width: *mut i64,
        dtype: *mut unet_dtype_t,
    ) -> c_int;
    /// Read the first page of a TIFF file into a new float32 buffer (C, H, W) (release with
    /// unet_buffer_free); shape receives C, H, W.
    pub fn unet_tiff_read(path: *const c_char, data: *mut *mut f32, shape: *mut i64) -> c_int;
    /// unet_tiff_read with the caller's pixel limit (0: UNET_MAX_PIXELS_WHOLE).
    pub fn unet_tiff_read_limited(
        path: *const c_char,
        max_pixels: i64,
        data: *mut *mut f32,
        shape: *mut i64,
    ) -> c_int;
    /// Write a (H,W) or (C,H,W) image of element type `dtype` to a new TIFF file (flags as for
    /// unet_predict_tiff).
    pub fn unet_tiff_write(
        path: *const c_char,
        data: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        flags: c_uint,
    ) -> c_int;
    /// The same with an ImageDescription (printable ASCII, up to 64 KiB; NULL: none).
    pub fn unet_tiff_write_described(
        path: *const c_char,
        data: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        flags: c_uint,
        description: *const c_char,
    ) -> c_int;
    /// Predict a TIFF file into a new TIFF file, streaming in bounded memory.
    pub fn unet_predict_tiff(
        model: *const unet_model_t,
        opts: *const unet_predict_opts_t,
        input_path: *const c_char,
        output_path: *const c_char,
        output_dtype: unet_dtype_t,
        flags: c_uint,
    ) -> c_int;
    /// An in-memory image predicted into a new TIFF file, written as unet_predict_tiff writes.
    pub fn unet_predict_to_tiff(
        model: *const unet_model_t,
        opts: *const unet_predict_opts_t,
        input: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        output_path: *const c_char,
        output_dtype: unet_dtype_t,
        flags: c_uint,
    ) -> c_int;
    /// A new options object holding the defaults.
    pub fn unet_train_opts_create(out: *mut *mut unet_train_opts_t) -> c_int;
    /// Releases an options object (NULL-safe).
    pub fn unet_train_opts_free(opts: *mut unet_train_opts_t);
    /// Set one training option from text (keys listed in unet.h).
    pub fn unet_train_opts_set(
        opts: *mut unet_train_opts_t,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    /// Set the keys of a JSON object (numbers, booleans, strings).
    pub fn unet_train_opts_set_json(
        opts: *mut unet_train_opts_t,
        json_object: *const c_char,
    ) -> c_int;
    /// Every key and its value as a JSON object; owned by opts, valid until the next change.
    pub fn unet_train_opts_json(opts: *const unet_train_opts_t, json: *mut *const c_char) -> c_int;
    /// The table as JSON, as unet_predict_opts_describe gives it.
    pub fn unet_train_opts_describe(
        opts: *const unet_train_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// Sets the progress callback (NULL: none) and its user pointer.
    pub fn unet_train_opts_set_progress(
        opts: *mut unet_train_opts_t,
        progress: unet_train_progress_fn,
        user: *mut c_void,
    ) -> c_int;
    /// A trainer for `model` (borrowed; it must outlive the trainer) with a copy of `opts` (NULL:
    /// defaults).
    pub fn unet_trainer_create(
        model: *mut unet_model_t,
        opts: *const unet_train_opts_t,
        out: *mut *mut unet_trainer_t,
    ) -> c_int;
    /// Releases the object (NULL-safe).
    pub fn unet_trainer_free(trainer: *mut unet_trainer_t);
    /// Add an image and its labels (copied; normalised now as the options say).
    pub fn unet_trainer_add_data(
        trainer: *mut unet_trainer_t,
        image: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        labels: *const c_void,
        label_dtype: unet_dtype_t,
        label_ndim: c_int,
        label_shape: *const i64,
        split: unet_split_t,
    ) -> c_int;
    /// Add every TIFF of images_dir with the file of the same name (or the same stem with any
    /// .tif/.tiff extension) in labels_dir; UNET_E_IO when a folder has no pairs.
    pub fn unet_trainer_add_folders(
        trainer: *mut unet_trainer_t,
        images_dir: *const c_char,
        labels_dir: *const c_char,
    ) -> c_int;
    /// Train until the total step count (validating, checkpointing, logging, reporting).
    pub fn unet_trainer_train(trainer: *mut unet_trainer_t) -> c_int;
    /// Take `steps` more steps (past the total too; the schedule then holds its last value).
    pub fn unet_trainer_step(trainer: *mut unet_trainer_t, steps: i64) -> c_int;
    /// Validate now: loss and the chosen metric (NaN when there is no validation data).
    pub fn unet_trainer_evaluate(
        trainer: *mut unet_trainer_t,
        loss: *mut f64,
        metric: *mut f64,
    ) -> c_int;
    /// The last validation's figures as JSON.
    pub fn unet_trainer_metrics(trainer: *const unet_trainer_t, json: *mut *const c_char) -> c_int;
    /// Steps taken and planned.
    pub fn unet_trainer_progress(
        trainer: *const unet_trainer_t,
        step: *mut i64,
        total_steps: *mut i64,
    ) -> c_int;
    /// Plan the run to end at step total_steps (continues a resumed run to a new total).
    pub fn unet_trainer_set_total_steps(trainer: *mut unet_trainer_t, total_steps: i64) -> c_int;
    /// Thread-safe: stop the running call after its current step (UNET_E_CANCELLED), and
    /// calls started afterwards, until unet_trainer_reset_cancel.
    pub fn unet_trainer_cancel(trainer: *mut unet_trainer_t) -> c_int;
    /// Thread-safe: let the trainer run again after a cancel (from where it stopped).
    pub fn unet_trainer_reset_cancel(trainer: *mut unet_trainer_t) -> c_int;
    /// Save the model as a .unet file with preprocessing and training provenance metadata.
    pub fn unet_trainer_save(trainer: *mut unet_trainer_t, path: *const c_char) -> c_int;
    /// Save everything a resumed run needs (weights, optimizer, schedule, step).
    pub fn unet_trainer_save_state(trainer: *mut unet_trainer_t, path: *const c_char) -> c_int;
    /// Restore what a resumed run needs (weights, optimizer, schedule, step).
    pub fn unet_trainer_load_state(trainer: *mut unet_trainer_t, path: *const c_char) -> c_int;
    /// Loss and parameter gradients in training mode (batch statistics, dropout of the current step),
    /// without changing the model.
    pub fn unet_trainer_compute_gradients(
        trainer: *mut unet_trainer_t,
        input: *const f32,
        ndim: c_int,
        shape: *const i64,
        target: *const f32,
        target_count: usize,
        weights: *const f32,
        loss: *mut f64,
    ) -> c_int;
    /// The gradient of one tensor from the last compute_gradients or step_batch.
    pub fn unet_trainer_get_gradient(
        trainer: *const unet_trainer_t,
        name: *const c_char,
        out: *mut f32,
        count: usize,
    ) -> c_int;
    /// One optimizer step on this batch (running statistics, schedule and step count advance).
    pub fn unet_trainer_step_batch(
        trainer: *mut unet_trainer_t,
        input: *const f32,
        ndim: c_int,
        shape: *const i64,
        target: *const f32,
        target_count: usize,
        weights: *const f32,
        loss: *mut f64,
    ) -> c_int;
    /// A new options object holding the defaults.
    pub fn unet_post_opts_create(out: *mut *mut unet_post_opts_t) -> c_int;
    /// Releases an options object (NULL-safe).
    pub fn unet_post_opts_free(opts: *mut unet_post_opts_t);
    /// Sets one option from text: key and value.
    pub fn unet_post_opts_set(
        opts: *mut unet_post_opts_t,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    /// Sets the keys of a JSON object.
    pub fn unet_post_opts_set_json(
        opts: *mut unet_post_opts_t,
        json_object: *const c_char,
    ) -> c_int;
    /// The current values as a JSON object, owned by the options.
    pub fn unet_post_opts_json(opts: *const unet_post_opts_t, json: *mut *const c_char) -> c_int;
    /// The option table as JSON, owned by the options.
    pub fn unet_post_opts_describe(
        opts: *const unet_post_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// Sets the `threads` option.
    pub fn unet_post_opts_set_threads(opts: *mut unet_post_opts_t, num_threads: c_int) -> c_int;
    /// Sets the `connectivity` option.
    pub fn unet_post_opts_set_connectivity(
        opts: *mut unet_post_opts_t,
        connectivity: c_int,
    ) -> c_int;
    /// Sets the `threshold` option.
    pub fn unet_post_opts_set_threshold(opts: *mut unet_post_opts_t, threshold: f64) -> c_int;
    /// Sets the `min_distance` option.
    pub fn unet_post_opts_set_min_distance(
        opts: *mut unet_post_opts_t,
        min_distance: c_int,
    ) -> c_int;
    /// Sets the `min_size` option.
    pub fn unet_post_opts_set_min_size(opts: *mut unet_post_opts_t, min_size: i64) -> c_int;
    /// Sets the `max_size` option.
    pub fn unet_post_opts_set_max_size(opts: *mut unet_post_opts_t, max_size: i64) -> c_int;
    /// mask = prob > threshold; a NaN probability is refused.
    pub fn unet_threshold(
        prob: *const f32,
        ndim: c_int,
        shape: *const i64,
        opts: *const unet_post_opts_t,
        mask: *mut u8,
    ) -> c_int;
    /// Connected components of the mask's foreground.
    pub fn unet_label_components(
        mask: *const u8,
        ndim: c_int,
        shape: *const i64,
        opts: *const unet_post_opts_t,
        labels: *mut u32,
        num_objects: *mut u32,
    ) -> c_int;
    /// Exact Euclidean distance of every foreground pixel to the background.
    pub fn unet_distance_transform(
        mask: *const u8,
        ndim: c_int,
        shape: *const i64,
        spacing: *const f64,
        opts: *const unet_post_opts_t,
        distance: *mut f32,
    ) -> c_int;
    /// Peaks of an image, as skimage.feature.peak_local_max.
    pub fn unet_local_maxima(
        image: *const f32,
        regions: *const u32,
        ndim: c_int,
        shape: *const i64,
        opts: *const unet_post_opts_t,
        markers: *mut u32,
        num_peaks: *mut u32,
    ) -> c_int;
    /// Seeded watershed of a landscape, as skimage.segmentation.watershed.
    pub fn unet_watershed_markers(
        landscape: *const f32,
        markers: *const u32,
        mask: *const u8,
        ndim: c_int,
        shape: *const i64,
        opts: *const unet_post_opts_t,
        labels: *mut u32,
    ) -> c_int;
    /// Split touching objects of a mask: distance transform, peaks, watershed.
    pub fn unet_watershed(
        mask: *const u8,
        ndim: c_int,
        shape: *const i64,
        spacing: *const f64,
        opts: *const unet_post_opts_t,
        labels: *mut u32,
        num_objects: *mut u32,
    ) -> c_int;
    /// Instances from 3-class probabilities (background, interior, boundary).
    pub fn unet_labels_from_3class(
        probs: *const f32,
        ndim: c_int,
        shape: *const i64,
        opts: *const unet_post_opts_t,
        labels: *mut u32,
        num_objects: *mut u32,
    ) -> c_int;
    /// Renumber any labels, in place, to 1..N in raster order of first pixel.
    pub fn unet_relabel(
        labels: *mut u32,
        ndim: c_int,
        shape: *const i64,
        num_objects: *mut u32,
    ) -> c_int;
    /// Remove, in place, objects of fewer than min_size pixels or more than max_size (0: no upper
    /// limit), then renumber 1..N.
    pub fn unet_filter_sizes(
        labels: *mut u32,
        ndim: c_int,
        shape: *const i64,
        opts: *const unet_post_opts_t,
        num_objects: *mut u32,
    ) -> c_int;
    /// Instance F1 of predicted labels against true labels at an IoU threshold.
    pub fn unet_instance_f1(
        pred: *const u32,
        truth: *const u32,
        ndim: c_int,
        shape: *const i64,
        iou_threshold: f64,
        f1: *mut f64,
        tp: *mut i64,
        fp: *mut i64,
        progress: *mut i64,
    ) -> c_int;
    /// A new segmentation options object (every predict option plus post-processing and scale keys).
    pub fn unet_segment_opts_create(out: *mut *mut unet_segment_opts_t) -> c_int;
    /// Releases an options object (NULL-safe).
    pub fn unet_segment_opts_free(opts: *mut unet_segment_opts_t);
    /// Sets one option from text: key and value.
    pub fn unet_segment_opts_set(
        opts: *mut unet_segment_opts_t,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    /// Sets the keys of a JSON object.
    pub fn unet_segment_opts_set_json(
        opts: *mut unet_segment_opts_t,
        json_object: *const c_char,
    ) -> c_int;
    /// The current values as a JSON object, owned by the options.
    pub fn unet_segment_opts_json(
        opts: *const unet_segment_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// The option table as JSON, owned by the options.
    pub fn unet_segment_opts_describe(
        opts: *const unet_segment_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// Copy the values of every predict option into these options (progress and cancel state are not
    /// copied: segment options have their own).
    pub fn unet_segment_opts_set_predict_opts(
        opts: *mut unet_segment_opts_t,
        predict_opts: *const unet_predict_opts_t,
    ) -> c_int;
    /// Sets the `threads` option.
    pub fn unet_segment_opts_set_threads(
        opts: *mut unet_segment_opts_t,
        num_threads: c_int,
    ) -> c_int;
    /// Sets the `tile` option.
    pub fn unet_segment_opts_set_tile(opts: *mut unet_segment_opts_t, tile: i64) -> c_int;
    /// Sets the `threshold` option.
    pub fn unet_segment_opts_set_threshold(opts: *mut unet_segment_opts_t, threshold: f64)
        -> c_int;
    /// Sets the `min_distance` option.
    pub fn unet_segment_opts_set_min_distance(
        opts: *mut unet_segment_opts_t,
        min_distance: c_int,
    ) -> c_int;
    /// Sets the `split` option.
    pub fn unet_segment_opts_set_split(opts: *mut unet_segment_opts_t, split: c_int) -> c_int;
    /// Sets the `min_size` option.
    pub fn unet_segment_opts_set_min_size(opts: *mut unet_segment_opts_t, min_size: i64) -> c_int;
    /// Sets the `scale` option.
    pub fn unet_segment_opts_set_scale(opts: *mut unet_segment_opts_t, scale: f64) -> c_int;
    /// Sets the `pixel_size` option.
    pub fn unet_segment_opts_set_pixel_size(
        opts: *mut unet_segment_opts_t,
        pixel_size: f64,
    ) -> c_int;
    /// max_pixels as for predict options, counted before `scale`.
    pub fn unet_segment_opts_set_max_pixels(
        opts: *mut unet_segment_opts_t,
        max_pixels: i64,
    ) -> c_int;
    /// Progress of the whole call (statistics, prediction, post-processing) and cancellation, as for
    /// predict options.
    pub fn unet_segment_opts_set_progress(
        opts: *mut unet_segment_opts_t,
        progress: unet_progress_fn,
        user: *mut c_void,
    ) -> c_int;
    /// Thread-safe: cancels the calls running with these options.
    pub fn unet_segment_opts_cancel(opts: *mut unet_segment_opts_t) -> c_int;
    /// Clears a cancel request.
    pub fn unet_segment_opts_reset_cancel(opts: *mut unet_segment_opts_t) -> c_int;
    /// The scale `unet_segment` resizes this image by with these options (the automatic
    /// estimate measured here when the options and the model call for one), and the objects'
    /// diameter it comes from (0: unknown; may be NULL).
    pub fn unet_segment_scale(
        model: *const unet_model_t,
        opts: *const unet_segment_opts_t,
        input: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        scale: *mut f64,
        diameter: *mut f64,
    ) -> c_int;
    /// Segment an in-memory image (H,W) or (C,H,W) of element type `dtype` into caller-owned uint32
    /// labels of H*W elements (label_count).
    pub fn unet_segment(
        model: *const unet_model_t,
        opts: *const unet_segment_opts_t,
        input: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        labels: *mut u32,
        label_count: usize,
        num_objects: *mut u32,
    ) -> c_int;
    /// Labels from a prediction made elsewhere, as `unet_segment` cuts them.
    pub fn unet_segment_probabilities(
        model: *const unet_model_t,
        opts: *const unet_segment_opts_t,
        probs: *const f32,
        ndim: c_int,
        shape: *const i64,
        labels: *mut u32,
        label_count: usize,
        foreground: *mut u8,
        num_objects: *mut u32,
    ) -> c_int;
    /// Segment an image read by region; finished label rows go to `write`.
    pub fn unet_segment_stream(
        model: *const unet_model_t,
        opts: *const unet_segment_opts_t,
        channels: i64,
        height: i64,
        width: i64,
        read: unet_read_fn,
        read_user: *mut c_void,
        write: unet_label_write_fn,
        write_user: *mut c_void,
        num_objects: *mut u32,
    ) -> c_int;
    /// The scale `unet_segment_stream` uses for this image.
    pub fn unet_segment_scale_stream(
        model: *const unet_model_t,
        opts: *const unet_segment_opts_t,
        channels: i64,
        height: i64,
        width: i64,
        read: unet_read_fn,
        read_user: *mut c_void,
        scale: *mut f64,
        diameter: *mut f64,
    ) -> c_int;
    /// Segment a one-page TIFF into a new label TIFF, streaming (bounded memory whatever the size):
    /// uint16 labels while the objects fit, else uint32 (the file is then written again).
    pub fn unet_segment_tiff(
        model: *const unet_model_t,
        opts: *const unet_segment_opts_t,
        input_path: *const c_char,
        output_path: *const c_char,
        flags: c_uint,
        num_objects: *mut u32,
    ) -> c_int;
    /// The scale `unet_segment_tiff` uses for this file.
    pub fn unet_segment_scale_tiff(
        model: *const unet_model_t,
        opts: *const unet_segment_opts_t,
        input_path: *const c_char,
        scale: *mut f64,
        diameter: *mut f64,
    ) -> c_int;
    /// A new click options object (predict options plus object search and post-processing keys).
    pub fn unet_click_opts_create(out: *mut *mut unet_click_opts_t) -> c_int;
    /// Releases an options object (NULL-safe).
    pub fn unet_click_opts_free(opts: *mut unet_click_opts_t);
    /// Sets one option from text: key and value.
    pub fn unet_click_opts_set(
        opts: *mut unet_click_opts_t,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    /// Sets the keys of a JSON object.
    pub fn unet_click_opts_set_json(
        opts: *mut unet_click_opts_t,
        json_object: *const c_char,
    ) -> c_int;
    /// The current values as a JSON object, owned by the options.
    pub fn unet_click_opts_json(opts: *const unet_click_opts_t, json: *mut *const c_char) -> c_int;
    /// The option table as JSON, owned by the options.
    pub fn unet_click_opts_describe(
        opts: *const unet_click_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// Copy the values of every predict option into these options.
    pub fn unet_click_opts_set_predict_opts(
        opts: *mut unet_click_opts_t,
        predict_opts: *const unet_predict_opts_t,
    ) -> c_int;
    /// Sets the `threads` option.
    pub fn unet_click_opts_set_threads(opts: *mut unet_click_opts_t, num_threads: c_int) -> c_int;
    /// Sets the `threshold` option.
    pub fn unet_click_opts_set_threshold(opts: *mut unet_click_opts_t, threshold: f64) -> c_int;
    /// Sets the `min_distance` option.
    pub fn unet_click_opts_set_min_distance(
        opts: *mut unet_click_opts_t,
        min_distance: c_int,
    ) -> c_int;
    /// Sets the `split` option.
    pub fn unet_click_opts_set_split(opts: *mut unet_click_opts_t, split: c_int) -> c_int;
    /// Sets the `min_size` option.
    pub fn unet_click_opts_set_min_size(opts: *mut unet_click_opts_t, min_size: i64) -> c_int;
    /// Sets the `max_extent` option.
    pub fn unet_click_opts_set_max_extent(opts: *mut unet_click_opts_t, pixels: i64) -> c_int;
    /// Sets the `first_window` option.
    pub fn unet_click_opts_set_first_window(opts: *mut unet_click_opts_t, pixels: i64) -> c_int;
    /// A session on an image as unet_predict takes it: (H,W), (C,H,W) or (P,C,H,W), contiguous, of
    /// element type `dtype`, with a copy of `opts` (NULL: defaults).
    pub fn unet_click_session_create(
        model: *const unet_model_t,
        opts: *const unet_click_opts_t,
        image: *const c_void,
        dtype: unet_dtype_t,
        ndim: c_int,
        shape: *const i64,
        out: *mut *mut unet_click_session_t,
    ) -> c_int;
    /// Releases the object (NULL-safe).
    pub fn unet_click_session_free(session: *mut unet_click_session_t);
    /// Replace the session's options by a copy of `opts`.
    pub fn unet_click_session_set_opts(
        session: *mut unet_click_session_t,
        opts: *const unet_click_opts_t,
    ) -> c_int;
    /// The session's scale: 0 (automatic) or 0.05..20; a different resized image drops the cache.
    pub fn unet_click_session_set_scale(session: *mut unet_click_session_t, scale: f64) -> c_int;
    /// The scale clicks use (an automatic one not measured yet is measured now, on plane 0).
    pub fn unet_click_session_scale(session: *mut unet_click_session_t, scale: *mut f64) -> c_int;
    /// Thread-safe: stop a click running in another thread (UNET_E_CANCELLED), and clicks
    /// started afterwards, until unet_click_session_reset_cancel.
    pub fn unet_click_session_cancel(session: *mut unet_click_session_t) -> c_int;
    /// Thread-safe: let the session click again after a cancel.
    pub fn unet_click_session_reset_cancel(session: *mut unet_click_session_t) -> c_int;
    /// Work done so far (any pointer may be NULL): network runs, input pixels they processed (halo
    /// included), and image pixels whose probabilities are cached.
    pub fn unet_click_session_stats(
        session: *const unet_click_session_t,
        network_runs: *mut i64,
        network_pixels: *mut i64,
        cached_pixels: *mut i64,
    ) -> c_int;
    /// The object under pixel (x, y) of plane `plane` (0 for 2-D and (C,H,W) images), into a new
    /// result (release with unet_click_result_free).
    pub fn unet_click(
        session: *mut unet_click_session_t,
        x: i64,
        y: i64,
        plane: i64,
        out: *mut *mut unet_click_result_t,
    ) -> c_int;
    /// Releases the object (NULL-safe).
    pub fn unet_click_result_free(result: *mut unet_click_result_t);
    /// Bounding box of the object: x, y (its top-left pixel), width, height; zeros when empty.
    pub fn unet_click_result_bbox(result: *const unet_click_result_t, bbox: *mut i64) -> c_int;
    /// The object's pixel count (0 when empty).
    pub fn unet_click_result_area(result: *const unet_click_result_t, area: *mut i64) -> c_int;
    /// 1 when the object was found whole, 0 when max_extent cut it.
    pub fn unet_click_result_complete(
        result: *const unet_click_result_t,
        complete: *mut c_int,
    ) -> c_int;
    /// The object's mask, height x width of the bounding box row by row, 1 on the object, 0 off it;
    /// owned by the result; NULL when empty.
    pub fn unet_click_result_mask(
        result: *const unet_click_result_t,
        mask: *mut *const u8,
    ) -> c_int;
    /// Number of outline rings (ring 0 the outline, the others holes).
    pub fn unet_click_result_ring_count(
        result: *const unet_click_result_t,
        count: *mut i64,
    ) -> c_int;
    /// Ring `index`: num_vertices (x, y) pairs (2 * num_vertices int64 values), owned by the result;
    /// UNET_E_INVALID_ARG on a bad index.
    pub fn unet_click_result_ring(
        result: *const unet_click_result_t,
        index: i64,
        xy: *mut *const i64,
        num_vertices: *mut i64,
    ) -> c_int;
    /// A new options object holding the defaults.
    pub fn unet_sample_opts_create(out: *mut *mut unet_sample_opts_t) -> c_int;
    /// Releases an options object (NULL-safe).
    pub fn unet_sample_opts_free(opts: *mut unet_sample_opts_t);
    /// Sets one option from text: key and value.
    pub fn unet_sample_opts_set(
        opts: *mut unet_sample_opts_t,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    /// Sets the keys of a JSON object.
    pub fn unet_sample_opts_set_json(
        opts: *mut unet_sample_opts_t,
        json_object: *const c_char,
    ) -> c_int;
    /// The current values as a JSON object, owned by the options.
    pub fn unet_sample_opts_json(
        opts: *const unet_sample_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// The option table as JSON, owned by the options.
    pub fn unet_sample_opts_describe(
        opts: *const unet_sample_opts_t,
        json: *mut *const c_char,
    ) -> c_int;
    /// Sets the `seed` option.
    pub fn unet_sample_opts_set_seed(opts: *mut unet_sample_opts_t, seed: u64) -> c_int;
    /// An image of height x width (each 16..16384) into caller buffers of height * width elements:
    /// the image as uint16 (values below 2^bits) and its instance labels 1..N (labels may be NULL).
    pub fn unet_sample_nuclei(
        opts: *const unet_sample_opts_t,
        height: i64,
        width: i64,
        image: *mut u16,
        labels: *mut u32,
        num_objects: *mut u32,
    ) -> c_int;
}
