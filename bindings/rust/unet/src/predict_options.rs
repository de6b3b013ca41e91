//! Prediction options: tiling, border, normalisation, threads, precision.

use unet_sys as sys;

use crate::element::{c_int_arg, i64_arg};
use crate::opts::PredictKind;

/// How the canvas around the image is made (the `border` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Border {
    /// `Network` for same-padding models, `Reflect` for valid padding.
    Default,
    /// Far edges padded by reflection up to the block multiple, so the network's own zero
    /// padding acts at the image border (as in a whole-image forward pass).
    Network,
    /// Every side padded by the halo, by reflection.
    Reflect,
    /// Every side padded by the halo, with zeros.
    Zero,
}

/// Input normalisation (the `normalize` option and its parameters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Normalize {
    /// What the model's preprocessing metadata says.
    Model,
    /// The values as they are.
    None,
    /// Zero mean, unit variance per plane and channel.
    Zmuv,
    /// Percentiles `low` and `high` (0 to 100) mapped to 0 and 1.
    Percentile {
        /// Lower percentile.
        low: f64,
        /// Upper percentile.
        high: f64,
    },
    /// `(x - mean) / std`.
    Fixed {
        /// Subtracted from every value.
        mean: f64,
        /// Divides every value (> 0).
        std: f64,
    },
}

/// Tile core size (the `tile` option).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tile {
    /// Chosen by libunet from the image and a memory budget.
    Auto,
    /// The whole canvas in one piece.
    Whole,
    /// Output pixels per tile side, a multiple of the model's block multiple.
    Pixels(usize),
}

impl Tile {
    /// The C `tile` value: 0 automatic, UNET_TILE_WHOLE, or the size.
    pub(crate) fn to_c(self) -> crate::Result<i64> {
        match self {
            Tile::Auto => Ok(0),
            Tile::Whole => Ok(sys::UNET_TILE_WHOLE),
            Tile::Pixels(n) => i64_arg("tile", n as u64),
        }
    }
}

options_type!(
    /// Options of [`Model::predict`](crate::Model::predict) (the C `unet_predict_opts_t`).
    ///
    /// Tiled prediction equals whole-image prediction to float rounding whatever the tile.
    PredictOptions,
    /// Builds [`PredictOptions`]: `PredictOptions::builder().threads(2).tile(Tile::Pixels(256)).build()?`.
    PredictOptionsBuilder,
    PredictKind
);
cancellable_type!(PredictOptions, PredictKind);

impl PredictOptionsBuilder {
    /// Threads for each call (0: all the CPUs the process may use; at most 1024).
    pub fn threads(self, threads: usize) -> Self {
        // SAFETY (every setter below): a valid options object and plain values.
        self.with(|raw| {
            let n = c_int_arg("threads", threads)?;
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_threads(p, n) })
        })
    }

    /// Tile core size.
    pub fn tile(self, tile: Tile) -> Self {
        self.with(|raw| {
            let t = tile.to_c()?;
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_tile(p, t) })
        })
    }

    /// Halo in pixels; may only raise the model's receptive-field margin.
    pub fn halo(self, halo: usize) -> Self {
        self.with(|raw| {
            let h = i64_arg("halo", halo as u64)?;
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_halo(p, h, 0) })
        })
    }

    /// Halo in pixels, also below the receptive-field margin (tiles then differ from the
    /// whole-image result).
    pub fn unsafe_halo(self, halo: usize) -> Self {
        self.with(|raw| {
            let h = i64_arg("halo", halo as u64)?;
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_halo(p, h, 1) })
        })
    }

    /// Pixels of sin² blending on each side of every tile seam (0: exact stitching).
    pub fn blend(self, width: usize) -> Self {
        self.with(|raw| {
            let w = i64_arg("blend", width as u64)?;
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_blend(p, w) })
        })
    }

    /// Tiles run through the network together (1 to 64).
    pub fn batch(self, tiles: usize) -> Self {
        self.with(|raw| {
            let n = c_int_arg("batch", tiles)?;
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_batch(p, n) })
        })
    }

    /// Border mode.
    pub fn border(self, border: Border) -> Self {
        let b = match border {
            Border::Default => sys::UNET_BORDER_DEFAULT,
            Border::Network => sys::UNET_BORDER_NETWORK,
            Border::Reflect => sys::UNET_BORDER_REFLECT,
            Border::Zero => sys::UNET_BORDER_ZERO,
        };
        self.with(|raw| raw.apply(|p| unsafe { sys::unet_predict_opts_set_border(p, b) }))
    }

    /// Input normalisation.
    pub fn normalize(self, normalize: Normalize) -> Self {
        let (mode, a, b) = match normalize {
            Normalize::Model => (sys::UNET_NORMALIZE_MODEL, 0.0, 0.0),
            Normalize::None => (sys::UNET_NORMALIZE_NONE, 0.0, 0.0),
            Normalize::Zmuv => (sys::UNET_NORMALIZE_ZMUV, 0.0, 0.0),
            Normalize::Percentile { low, high } => (sys::UNET_NORMALIZE_PERCENTILE, low, high),
            Normalize::Fixed { mean, std } => (sys::UNET_NORMALIZE_FIXED, mean, std),
        };
        self.with(|raw| {
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_normalize(p, mode, a, b) })
        })
    }

    /// `true`: direct convolutions everywhere (no Winograd; slower, about 1e-5 closer to exact).
    pub fn precise(self, precise: bool) -> Self {
        self.with(|raw| {
            raw.apply(|p| unsafe { sys::unet_predict_opts_set_precise(p, precise as i32) })
        })
    }
}
