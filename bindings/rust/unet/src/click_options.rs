//! Click-to-segment options: prediction values plus the object search and post-processing keys.

use unet_sys as sys;

use crate::element::{c_int_arg, i64_arg};
use crate::opts::ClickKind;
use crate::predict_options::PredictOptions;

options_type!(
    /// Options of a [`ClickSession`](crate::ClickSession) (the C `unet_click_opts_t`).
    ClickOptions,
    /// Builds [`ClickOptions`]: `ClickOptions::builder().min_size(20).build()?`.
    ClickOptionsBuilder,
    ClickKind
);

impl ClickOptionsBuilder {
    /// Copies the values of every prediction option (threads, halo, border, normalisation and
    /// precise are used; tiles are the session's business).
    pub fn predict(self, predict: &PredictOptions) -> Self {
        // SAFETY (every setter below): valid options objects and plain values.
        self.with(|raw| {
            raw.apply(|p| unsafe { sys::unet_click_opts_set_predict_opts(p, predict.raw.as_ptr()) })
        })
    }

    /// Threads for each click's prediction (0: all; at most 1024).
    pub fn threads(self, threads: usize) -> Self {
        self.with(|raw| {
            let n = c_int_arg("threads", threads)?;
            raw.apply(|p| unsafe { sys::unet_click_opts_set_threads(p, n) })
        })
    }

    /// Foreground probability threshold in [0, 1].
    pub fn threshold(self, threshold: f64) -> Self {
        self.with(|raw| raw.apply(|p| unsafe { sys::unet_click_opts_set_threshold(p, threshold) }))
    }

    /// Pixels between watershed seeds, 1 to 1000.
    pub fn min_distance(self, pixels: usize) -> Self {
        self.with(|raw| {
            let n = c_int_arg("min_distance", pixels)?;
            raw.apply(|p| unsafe { sys::unet_click_opts_set_min_distance(p, n) })
        })
    }

    /// `true`: watershed split of touching objects; `false`: the clicked component itself.
    pub fn split(self, split: bool) -> Self {
        self.with(|raw| raw.apply(|p| unsafe { sys::unet_click_opts_set_split(p, split as i32) }))
    }

    /// Objects smaller than this many pixels count as background.
    pub fn min_size(self, pixels: u64) -> Self {
        self.with(|raw| {
            let n = i64_arg("min_size", pixels)?;
            raw.apply(|p| unsafe { sys::unet_click_opts_set_min_size(p, n) })
        })
    }

    /// The largest window side searched for one object.
    pub fn max_extent(self, pixels: u64) -> Self {
        self.with(|raw| {
            let n = i64_arg("max_extent", pixels)?;
            raw.apply(|p| unsafe { sys::unet_click_opts_set_max_extent(p, n) })
        })
    }

    /// Side of the window predicted around a click on pixels not yet cached.
    pub fn first_window(self, pixels: u64) -> Self {
        self.with(|raw| {
            let n = i64_arg("first_window", pixels)?;
            raw.apply(|p| unsafe { sys::unet_click_opts_set_first_window(p, n) })
        })
    }
}
