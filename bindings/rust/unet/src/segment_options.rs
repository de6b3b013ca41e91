//! Segmentation options: every prediction option plus the post-processing and scale keys.

use unet_sys as sys;

use crate::element::{c_int_arg, i64_arg};
use crate::opts::SegmentKind;
use crate::predict_options::{PredictOptions, Tile};

options_type!(
    /// Options of [`Model::segment`](crate::Model::segment) (the C `unet_segment_opts_t`).
    ///
    /// Keys left unset are "auto": the model's output metadata decides (threshold,
    /// min_distance, split, min_size), else libunet's defaults.
    SegmentOptions,
    /// Builds [`SegmentOptions`]: `SegmentOptions::builder().predict(&p).min_size(30).build()?`.
    SegmentOptionsBuilder,
    SegmentKind
);
cancellable_type!(SegmentOptions, SegmentKind);

impl SegmentOptionsBuilder {
    /// Copies the values of every prediction option (not their progress or cancel state:
    /// segment options have their own).
    pub fn predict(self, predict: &PredictOptions) -> Self {
        // SAFETY (every setter below): valid options objects and plain values.
        self.with(|raw| {
            raw.apply(|p| unsafe {
                sys::unet_segment_opts_set_predict_opts(p, predict.raw.as_ptr())
            })
        })
    }

    /// Threads for each call (0: all; at most 1024).
    pub fn threads(self, threads: usize) -> Self {
        self.with(|raw| {
            let n = c_int_arg("threads", threads)?;
            raw.apply(|p| unsafe { sys::unet_segment_opts_set_threads(p, n) })
        })
    }

    /// Tile core size of the prediction.
    pub fn tile(self, tile: Tile) -> Self {
        self.with(|raw| {
            let t = tile.to_c()?;
            raw.apply(|p| unsafe { sys::unet_segment_opts_set_tile(p, t) })
        })
    }

    /// Foreground probability threshold in [0, 1] (one-channel models).
    pub fn threshold(self, threshold: f64) -> Self {
        self.with(|raw| {
            raw.apply(|p| unsafe { sys::unet_segment_opts_set_threshold(p, threshold) })
        })
    }

    /// Pixels (of the scaled image) between watershed seeds, 1 to 1000.
    pub fn min_distance(self, pixels: usize) -> Self {
        self.with(|raw| {
            let n = c_int_arg("min_distance", pixels)?;
            raw.apply(|p| unsafe { sys::unet_segment_opts_set_min_distance(p, n) })
        })
    }

    /// `true`: watershed split of touching objects; `false`: plain connected components.
    pub fn split(self, split: bool) -> Self {
        self.with(|raw| raw.apply(|p| unsafe { sys::unet_segment_opts_set_split(p, split as i32) }))
    }

    /// Objects smaller than this many pixels (of the scaled image) are removed.
    pub fn min_size(self, pixels: u64) -> Self {
        self.with(|raw| {
            let n = i64_arg("min_size", pixels)?;
            raw.apply(|p| unsafe { sys::unet_segment_opts_set_min_size(p, n) })
        })
    }

    /// Resize factor applied before prediction (0: automatic from the pixel sizes, else 0.05
    /// to 20); labels are mapped back to the image's size.
    pub fn scale(self, scale: f64) -> Self {
        self.with(|raw| raw.apply(|p| unsafe { sys::unet_segment_opts_set_scale(p, scale) }))
    }

    /// The image's pixel size, in the unit of the model's `pixel_size` (0: unknown).
    pub fn pixel_size(self, pixel_size: f64) -> Self {
        self.with(|raw| {
            raw.apply(|p| unsafe { sys::unet_segment_opts_set_pixel_size(p, pixel_size) })
        })
    }
}
