//! Prediction of in-memory images.

use unet_sys as sys;

use crate::element::{c_shape, Element};
use crate::error::{Error, Result};
use crate::predict_options::PredictOptions;
use crate::progress::{self, Progress};
use crate::{Model, Tensor};

impl Model {
    /// The output shape [`Model::predict`] gives for an image shape: (C_out, H, W) for (H, W)
    /// and (C, H, W) images, (P, C_out, H, W) for (P, C, H, W) stacks.
    pub fn prediction_shape(&self, image_shape: &[usize]) -> Result<Vec<usize>> {
        let c_out = self.out_channels()?;
        match *image_shape {
            [h, w] | [_, h, w] => Ok(vec![c_out, h, w]),
            [p, _, h, w] => Ok(vec![p, c_out, h, w]),
            _ => Err(Error::invalid(format!(
                "image shape {image_shape:?} has {} axes; expected 2, 3 or 4",
                image_shape.len()
            ))),
        }
    }

    /// Predicts an image: `image` holds `shape` = (H, W), (C, H, W) or (P, C, H, W) pixels in
    /// row-major order; the result is float32 of [`Model::prediction_shape`]. Normalisation,
    /// border, tiling and threads come from `opts` (`None`: defaults).
    pub fn predict<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&PredictOptions>,
    ) -> Result<Tensor<f32>> {
        self.predict_tensor(image, shape, opts, None)
    }

    /// As [`Model::predict`], reporting progress to a closure on this thread; the closure
    /// returns `false` to cancel. A panic in the closure cancels the run and is resumed once
    /// libunet has returned.
    pub fn predict_with_progress<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&PredictOptions>,
        mut progress: impl FnMut(f64, &str) -> bool,
    ) -> Result<Tensor<f32>> {
        self.predict_tensor(image, shape, opts, Some(&mut progress))
    }

    /// As [`Model::predict`], into a caller buffer of the prediction shape's element count.
    pub fn predict_into<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&PredictOptions>,
        output: &mut [f32],
    ) -> Result<()> {
        self.predict_raw(image, shape, opts, None, output)
    }

    fn predict_tensor<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&PredictOptions>,
        progress: Option<Progress<'_>>,
    ) -> Result<Tensor<f32>> {
        let out_shape = self.prediction_shape(shape)?;
        let count = out_shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        let count =
            count.ok_or_else(|| Error::invalid(format!("image shape {shape:?} is too large")))?;
        let mut data = vec![0f32; count];
        self.predict_raw(image, shape, opts, progress, &mut data)?;
        Ok(Tensor { data, shape: out_shape })
    }

    fn predict_raw<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&PredictOptions>,
        progress: Option<Progress<'_>>,
        output: &mut [f32],
    ) -> Result<()> {
        let dims = c_shape("image", image.len(), shape, &[2, 3, 4])?;
        let call = |opts_ptr: *const sys::unet_predict_opts_t| {
            // SAFETY: image holds product(shape) elements of T's dtype; libunet checks
            // output.len() against the prediction's size.
            unsafe {
                sys::unet_predict(
                    self.as_ptr(),
                    opts_ptr,
                    image.as_ptr().cast(),
                    T::DTYPE,
                    dims.len() as i32,
                    dims.as_ptr(),
                    output.as_mut_ptr(),
                    output.len(),
                )
            }
        };
        progress::run(opts.map(|o| &*o.raw), progress, call)
    }
}
