//! The model: creation, loading (files, memory, built-in), saving, properties and tensors.

use std::ffi::{c_char, c_int, CStr, CString};
use std::path::Path;
use std::ptr::{self, NonNull};

use unet_sys as sys;

use crate::element::{c_dims, c_shape};
use crate::error::{check, Error, Result};
use crate::opts::{c_string, owned_string};
use crate::predict_options::PredictOptions;
use crate::Tensor;

/// A U-Net: its graph, weights and metadata.
///
/// `Send + Sync`: libunet models are immutable after loading, so any number of threads may
/// predict, segment and click with one model at once (share it with `Arc` or by reference in
/// scoped threads). What changes a model (`set_tensor`, `set_metadata`) takes `&mut self`.
/// The C object is freed on drop.
pub struct Model {
    ptr: NonNull<sys::unet_model_t>,
}

// SAFETY: the C API allows concurrent use of a model through const pointers (every `&self`
// method here); mutation goes through `&mut self`.
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

/// Name and shape of one parameter tensor (PyTorch layouts and names, `down0.conv0.weight`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
}

pub(crate) fn path_string(path: &Path) -> Result<CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::invalid(format!("path {path:?} is not valid Unicode")))?
        .as_bytes()
        .to_vec();
    CString::new(bytes).map_err(|_| Error::invalid(format!("path {path:?} contains a NUL byte")))
}

impl Model {
    /// Wraps the model a C constructor returns through its out-parameter.
    fn from_constructor(make: impl FnOnce(*mut *mut sys::unet_model_t) -> c_int) -> Result<Model> {
        let mut ptr = ptr::null_mut();
        check(make(&mut ptr))?;
        NonNull::new(ptr)
            .map(|ptr| Model { ptr })
            .ok_or_else(|| Error::new(sys::UNET_E_INTERNAL, "libunet returned no model"))
    }

    pub(crate) fn as_ptr(&self) -> *const sys::unet_model_t {
        self.ptr.as_ptr()
    }

    /// A new model from a U-Net config (a JSON object; `"{}"` gives the defaults) with
    /// He-initialised weights drawn from `seed` (same seed, same weights).
    pub fn create(config_json: &str, seed: u64) -> Result<Model> {
        let config = c_string("config", config_json)?;
        // SAFETY (every constructor below): valid strings and out-parameter.
        Model::from_constructor(|out| unsafe { sys::unet_model_create(config.as_ptr(), seed, out) })
    }

    /// Loads a `.unet` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path_string(path.as_ref())?;
        Model::from_constructor(|out| unsafe { sys::unet_model_load(path.as_ptr(), out) })
    }

    /// Loads a plain safetensors file (a PyTorch state dict) with its U-Net config.
    pub fn load_with_config(path: impl AsRef<Path>, config_json: &str) -> Result<Model> {
        let path = path_string(path.as_ref())?;
        let config = c_string("config", config_json)?;
        Model::from_constructor(|out| unsafe {
            sys::unet_model_load_with_config(path.as_ptr(), config.as_ptr(), out)
        })
    }

    /// Loads a model from the bytes of a `.unet` (or, with a config, safetensors) file.
    pub fn from_bytes(bytes: &[u8], config_json: Option<&str>) -> Result<Model> {
        let config = config_json.map(|c| c_string("config", c)).transpose()?;
        let config_ptr = config.as_ref().map_or(ptr::null(), |c| c.as_ptr());
        Model::from_constructor(|out| unsafe {
            sys::unet_model_load_memory(bytes.as_ptr().cast(), bytes.len(), config_ptr, out)
        })
    }

    /// A model compiled into libunet, by name (`"nuclei"`: fluorescence nuclei segmentation).
    pub fn builtin(name: &str) -> Result<Model> {
        let name = c_string("model name", name)?;
        Model::from_constructor(|out| unsafe { sys::unet_model_load_builtin(name.as_ptr(), out) })
    }

    /// The names [`Model::builtin`] knows (empty for a build without built-in models).
    pub fn builtin_names() -> Result<Vec<&'static str>> {
        let mut names: *const *const c_char = ptr::null();
        let mut count = 0usize;
        // SAFETY: valid out-parameters; the names are static strings of the library.
        check(unsafe { sys::unet_model_builtin_names(&mut names, &mut count) })?;
        (0..count)
            .map(|i| {
                // SAFETY: `names` has `count` entries, each a static NUL-terminated string.
                unsafe { CStr::from_ptr(*names.add(i)) }.to_str().map_err(|_| {
                    Error::new(sys::UNET_E_INTERNAL, "built-in model name is not UTF-8")
                })
            })
            .collect()
    }

    /// Saves the model as a `.unet` file (written beside and renamed into place).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path_string(path.as_ref())?;
        // SAFETY: valid model and path.
        check(unsafe { sys::unet_model_save(self.as_ptr(), path.as_ptr()) })
    }

    /// The bytes of the model's `.unet` file.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut data = ptr::null_mut();
        let mut size = 0usize;
        // SAFETY: valid out-parameters; the buffer is copied, then released once.
        unsafe {
            check(sys::unet_model_save_memory(self.as_ptr(), &mut data, &mut size))?;
            let bytes = std::slice::from_raw_parts(data as *const u8, size).to_vec();
            sys::unet_buffer_free(data);
            Ok(bytes)
        }
    }

    fn get_int(
        &self,
        getter: unsafe extern "C" fn(*const sys::unet_model_t, *mut c_int) -> c_int,
    ) -> Result<usize> {
        let mut value = 0;
        // SAFETY: a valid model and out-parameter.
        check(unsafe { getter(self.as_ptr(), &mut value) })?;
        Ok(value as usize)
    }

    /// Spatial dimensions (2 for 2-D models).
    pub fn ndim(&self) -> Result<usize> {
        self.get_int(sys::unet_model_ndim)
    }

    /// Input channels.
    pub fn in_channels(&self) -> Result<usize> {
        self.get_int(sys::unet_model_in_channels)
    }

    /// Output channels.
    pub fn out_channels(&self) -> Result<usize> {
        self.get_int(sys::unet_model_out_channels)
    }

    /// Resolution levels.
    pub fn depth(&self) -> Result<usize> {
        self.get_int(sys::unet_model_depth)
    }

    /// Receptive-field margin in pixels.
    pub fn halo(&self) -> Result<usize> {
        self.get_int(sys::unet_model_halo)
    }

    /// Product of the pooling factors: tile origins and same-padded sizes are its multiples.
    pub fn block_multiple(&self) -> Result<usize> {
        self.get_int(sys::unet_model_block_multiple)
    }

    /// `true` for "same" padding, `false` for "valid".
    pub fn is_same_padding(&self) -> Result<bool> {
        Ok(self.get_int(sys::unet_model_is_same_padding)? != 0)
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> Result<u64> {
        let mut count = 0i64;
        // SAFETY: a valid model and out-parameter.
        check(unsafe { sys::unet_model_param_count(self.as_ptr(), &mut count) })?;
        Ok(count as u64)
    }

    /// The architecture as a JSON object with every key present.
    pub fn architecture(&self) -> Result<String> {
        let mut json = ptr::null();
        // SAFETY: a valid model and out-parameter; the string is copied at once.
        check(unsafe { sys::unet_model_architecture(self.as_ptr(), &mut json) })?;
        Ok(owned_string(json))
    }

    /// The whole libunet metadata document (architecture, preprocessing, output, training,
    /// halo) as JSON.
    pub fn metadata(&self) -> Result<String> {
        let mut json = ptr::null();
        // SAFETY: as for architecture().
        check(unsafe { sys::unet_model_metadata(self.as_ptr(), &mut json) })?;
        Ok(owned_string(json))
    }

    /// Replaces one metadata section (`"preprocessing"`, `"output"`, `"training"`: a JSON
    /// object; `"halo"`: an integer); `None` removes it.
    pub fn set_metadata(&mut self, key: &str, json: Option<&str>) -> Result<()> {
        let key = c_string("metadata key", key)?;
        let value = json.map(|j| c_string("metadata", j)).transpose()?;
        let value_ptr = value.as_ref().map_or(ptr::null(), |v| v.as_ptr());
        // SAFETY: exclusive access to a valid model; valid strings.
        check(unsafe { sys::unet_model_set_metadata(self.ptr.as_ptr(), key.as_ptr(), value_ptr) })
    }

    /// The parameter tensors, in file order.
    pub fn tensors(&self) -> Result<Vec<TensorInfo>> {
        let count = self.get_int(sys::unet_model_tensor_count)?;
        (0..count)
            .map(|index| {
                let mut name = ptr::null();
                let mut ndim = 0;
                let mut shape = [0i64; 4];
                // SAFETY: index < count; out-parameters with room for 4 axes.
                check(unsafe {
                    sys::unet_model_tensor_info(
                        self.as_ptr(),
                        index as c_int,
                        &mut name,
                        &mut ndim,
                        shape.as_mut_ptr(),
                    )
                })?;
                let ndim = (ndim.clamp(0, 4)) as usize;
                Ok(TensorInfo {
                    name: owned_string(name),
                    shape: shape[..ndim].iter().map(|&d| d as usize).collect(),
                })
            })
            .collect()
    }

    fn tensor_len(&self, name: &str) -> Result<usize> {
        self.tensors()?
            .into_iter()
            .find(|t| t.name == name)
            .map(|t| t.shape.iter().product())
            .ok_or_else(|| Error::invalid(format!("the model has no tensor named {name:?}")))
    }

    /// A copy of one parameter tensor's values (row-major, its shape in [`Model::tensors`]).
    pub fn tensor(&self, name: &str) -> Result<Vec<f32>> {
        let mut data = vec![0f32; self.tensor_len(name)?];
        let cname = c_string("tensor name", name)?;
        // SAFETY: a buffer of exactly the tensor's element count.
        check(unsafe {
            sys::unet_model_get_tensor(self.as_ptr(), cname.as_ptr(), data.as_mut_ptr(), data.len())
        })?;
        Ok(data)
    }

    /// Replaces one parameter tensor's values (`data` must have its element count).
    pub fn set_tensor(&mut self, name: &str, data: &[f32]) -> Result<()> {
        let cname = c_string("tensor name", name)?;
        // SAFETY: exclusive access to a valid model; libunet checks the count.
        check(unsafe {
            sys::unet_model_set_tensor(self.ptr.as_ptr(), cname.as_ptr(), data.as_ptr(), data.len())
        })
    }

    /// The network's output shape (N, C, H, W) for an input shape (N, C, H, W).
    pub fn output_shape(&self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let shape = c_dims("input", input_shape, &[4])?;
        let mut out = [0i64; 4];
        // SAFETY: 4-axis shapes on both sides.
        check(unsafe {
            sys::unet_model_output_shape(self.as_ptr(), 4, shape.as_ptr(), out.as_mut_ptr())
        })?;
        Ok(out.iter().map(|&d| d as usize).collect())
    }

    /// The raw network (no normalisation, no padding, no tiling) on float32 (N, C, H, W)
    /// input. Of the options, `threads` and `precise` are used.
    pub fn forward(
        &self,
        input: &[f32],
        shape: &[usize],
        opts: Option<&PredictOptions>,
    ) -> Result<Tensor<f32>> {
        let c_in = c_shape("input", input.len(), shape, &[4])?;
        let out_shape = self.output_shape(shape)?;
        let mut data = vec![0f32; out_shape.iter().product()];
        let opts_ptr = opts.map_or(ptr::null(), |o| o.raw.as_ptr() as *const _);
        // SAFETY: input holds product(shape) floats, output the output shape's product.
        check(unsafe {
            sys::unet_model_forward(
                self.as_ptr(),
                opts_ptr,
                input.as_ptr(),
                4,
                c_in.as_ptr(),
                data.as_mut_ptr(),
                data.len(),
            )
        })?;
        Ok(Tensor { data, shape: out_shape })
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: created by a libunet constructor, freed once.
        unsafe { sys::unet_model_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.architecture() {
            Ok(arch) => write!(f, "Model({arch})"),
            Err(_) => f.write_str("Model"),
        }
    }
}
