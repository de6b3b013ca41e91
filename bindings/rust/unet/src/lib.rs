//! Safe Rust bindings of libunet, a U-Net engine for bioimage analysis (its C API is
//! `include/unet.h`; the raw declarations are re-exported as [`sys`]).
//!
//! ```no_run
//! # fn main() -> unet::Result<()> {
//! let model = unet::Model::builtin("nuclei")?;
//! let sample = unet::sample_nuclei(256, 256, 1, 16)?;
//! let opts = unet::SegmentOptions::builder().threads(2).min_size(20).build()?;
//! let seg = model.segment(&sample.image, &[256, 256], Some(&opts))?;
//! println!("{} objects", seg.num_objects);
//! # Ok(())
//! # }
//! ```
//!
//! - Images are slices in row-major order with an explicit shape: (H, W), (C, H, W) or
//!   (P, C, H, W), of any [`Element`] type.
//! - Every fallible call returns [`Result`]; an [`Error`] carries libunet's status code and
//!   message. Nothing here panics on bad input or aborts the process.
//! - A [`Model`] is `Send + Sync`: threads may predict with one model at once.
//! - Progress closures run on the calling thread; returning `false` cancels, and a panic
//!   inside one cancels the C call and is resumed after it returns. A [`CancelHandle`]
//!   cancels from another thread.
//! - A [`ClickSession`] borrows its model and image, so neither can change or go away while
//!   it lives.
//!
//! libunet is found at build time through `UNET_LIB_DIR`, then pkg-config (see `unet-sys`).
#![deny(missing_docs)]

#[macro_use]
mod opts;

mod cancel;
mod click;
mod click_options;
mod element;
mod error;
mod model;
mod predict;
mod predict_options;
mod progress;
mod sample;
mod segment;
mod segment_options;

pub use cancel::CancelHandle;
pub use click::{BBox, ClickResult, ClickSession, ClickStats};
pub use click_options::{ClickOptions, ClickOptionsBuilder};
pub use element::Element;
pub use error::{Error, ErrorKind, Result};
pub use model::{Model, TensorInfo};
pub use predict_options::{Border, Normalize, PredictOptions, PredictOptionsBuilder, Tile};
pub use sample::{sample_nuclei, Sample};
pub use segment::Segmentation;
pub use segment_options::{SegmentOptions, SegmentOptionsBuilder};

/// The raw C declarations, for what this crate does not wrap.
pub use unet_sys as sys;

/// A dense array: `data` in row-major order and its `shape`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor<T> {
    /// The values, row-major.
    pub data: Vec<T>,
    /// The shape.
    pub shape: Vec<usize>,
}

/// The version of the libunet actually loaded ("1.0.0").
pub fn version() -> &'static str {
    // SAFETY: a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(sys::unet_version_string()) }.to_str().unwrap_or("")
}
