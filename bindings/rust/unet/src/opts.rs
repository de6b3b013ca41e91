//! What every options object of the C API has in common: create/free, the generic key/value
//! and JSON setters, the current values and the option table as JSON. The public options types
//! (predict, segment, click) wrap a [`RawOpts`] of their kind.

use std::ffi::{c_char, c_int, CStr, CString};
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

use unet_sys as sys;

use crate::error::{check, Error, Result};

/// One kind of C options object and its functions.
pub(crate) trait OptsKind {
    /// The opaque C type.
    type C;
    unsafe fn create(out: *mut *mut Self::C) -> c_int;
    unsafe fn free(opts: *mut Self::C);
    unsafe fn set(opts: *mut Self::C, key: *const c_char, value: *const c_char) -> c_int;
    unsafe fn set_json(opts: *mut Self::C, json: *const c_char) -> c_int;
    unsafe fn json(opts: *const Self::C, out: *mut *const c_char) -> c_int;
    unsafe fn describe(opts: *const Self::C, out: *mut *const c_char) -> c_int;
}

/// Options kinds with progress and a thread-safe cancel (predict and segment).
pub(crate) trait Cancellable: OptsKind {
    unsafe fn set_progress(
        opts: *mut Self::C,
        f: sys::unet_progress_fn,
        user: *mut std::ffi::c_void,
    ) -> c_int;
    unsafe fn cancel(opts: *mut Self::C) -> c_int;
    unsafe fn reset_cancel(opts: *mut Self::C) -> c_int;
}

macro_rules! opts_kind {
    ($kind:ident, $c:ident, $create:ident, $free:ident, $set:ident, $set_json:ident, $json:ident,
     $describe:ident) => {
        pub(crate) struct $kind;
        impl OptsKind for $kind {
            type C = sys::$c;
            unsafe fn create(out: *mut *mut sys::$c) -> c_int {
                sys::$create(out)
            }
            unsafe fn free(opts: *mut sys::$c) {
                sys::$free(opts)
            }
            unsafe fn set(opts: *mut sys::$c, key: *const c_char, value: *const c_char) -> c_int {
                sys::$set(opts, key, value)
            }
            unsafe fn set_json(opts: *mut sys::$c, json: *const c_char) -> c_int {
                sys::$set_json(opts, json)
            }
            unsafe fn json(opts: *const sys::$c, out: *mut *const c_char) -> c_int {
                sys::$json(opts, out)
            }
            unsafe fn describe(opts: *const sys::$c, out: *mut *const c_char) -> c_int {
                sys::$describe(opts, out)
            }
        }
    };
}

macro_rules! cancellable {
    ($kind:ident, $c:ident, $progress:ident, $cancel:ident, $reset:ident) => {
        impl Cancellable for $kind {
            unsafe fn set_progress(
                opts: *mut sys::$c,
                f: sys::unet_progress_fn,
                user: *mut std::ffi::c_void,
            ) -> c_int {
                sys::$progress(opts, f, user)
            }
            unsafe fn cancel(opts: *mut sys::$c) -> c_int {
                sys::$cancel(opts)
            }
            unsafe fn reset_cancel(opts: *mut sys::$c) -> c_int {
                sys::$reset(opts)
            }
        }
    };
}

opts_kind!(
    PredictKind,
    unet_predict_opts_t,
    unet_predict_opts_create,
    unet_predict_opts_free,
    unet_predict_opts_set,
    unet_predict_opts_set_json,
    unet_predict_opts_json,
    unet_predict_opts_describe
);
opts_kind!(
    SegmentKind,
    unet_segment_opts_t,
    unet_segment_opts_create,
    unet_segment_opts_free,
    unet_segment_opts_set,
    unet_segment_opts_set_json,
    unet_segment_opts_json,
    unet_segment_opts_describe
);
opts_kind!(
    ClickKind,
    unet_click_opts_t,
    unet_click_opts_create,
    unet_click_opts_free,
    unet_click_opts_set,
    unet_click_opts_set_json,
    unet_click_opts_json,
    unet_click_opts_describe
);
opts_kind!(
    SampleKind,
    unet_sample_opts_t,
    unet_sample_opts_create,
    unet_sample_opts_free,
    unet_sample_opts_set,
    unet_sample_opts_set_json,
    unet_sample_opts_json,
    unet_sample_opts_describe
);
cancellable!(
    PredictKind,
    unet_predict_opts_t,
    unet_predict_opts_set_progress,
    unet_predict_opts_cancel,
    unet_predict_opts_reset_cancel
);
cancellable!(
    SegmentKind,
    unet_segment_opts_t,
    unet_segment_opts_set_progress,
    unet_segment_opts_cancel,
    unet_segment_opts_reset_cancel
);

/// A C string for libunet; an interior NUL is refused (C would see a shorter string).
pub(crate) fn c_string(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("{what} {s:?} contains a NUL byte")))
}

/// Copies a string libunet returned through an out-parameter (NULL: empty).
pub(crate) fn owned_string(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: libunet returns NUL-terminated strings valid until the next change of the object.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// An owned C options object.
///
/// It is `Send + Sync` so that a cancel handle can hold it in an `Arc` and cancel from any
/// thread (the C cancel is thread-safe). Everything else that changes it goes through the
/// public wrappers, which are not `Sync` and so never touch it from two threads at once.
pub(crate) struct RawOpts<K: OptsKind> {
    ptr: NonNull<K::C>,
    _kind: PhantomData<K>,
}

// SAFETY: see the type's comment: only the thread-safe cancel is used through shared handles.
unsafe impl<K: OptsKind> Send for RawOpts<K> {}
unsafe impl<K: OptsKind> Sync for RawOpts<K> {}

impl<K: OptsKind> RawOpts<K> {
    /// New options holding the defaults.
    pub(crate) fn new() -> Result<Self> {
        let mut ptr = ptr::null_mut();
        // SAFETY: `ptr` is a valid out-parameter.
        check(unsafe { K::create(&mut ptr) })?;
        let ptr =
            NonNull::new(ptr).ok_or_else(|| Error::new(sys::UNET_E_INTERNAL, "NULL options"))?;
        Ok(RawOpts { ptr, _kind: PhantomData })
    }

    pub(crate) fn as_ptr(&self) -> *mut K::C {
        self.ptr.as_ptr()
    }

    /// Runs a C setter on the object; its failure becomes the error.
    pub(crate) fn apply(&self, setter: impl FnOnce(*mut K::C) -> c_int) -> Result<()> {
        check(setter(self.as_ptr()))
    }

    pub(crate) fn set(&self, key: &str, value: &str) -> Result<()> {
        let key = c_string("option key", key)?;
        let value = c_string("option value", value)?;
        // SAFETY: valid object and NUL-terminated strings.
        check(unsafe { K::set(self.as_ptr(), key.as_ptr(), value.as_ptr()) })
    }

    pub(crate) fn set_json(&self, json: &str) -> Result<()> {
        let json = c_string("options JSON", json)?;
        // SAFETY: valid object and NUL-terminated string.
        check(unsafe { K::set_json(self.as_ptr(), json.as_ptr()) })
    }

    pub(crate) fn json(&self) -> Result<String> {
        let mut out = ptr::null();
        // SAFETY: valid object and out-parameter; the string is copied before any other call.
        check(unsafe { K::json(self.as_ptr(), &mut out) })?;
        Ok(owned_string(out))
    }

    pub(crate) fn describe(&self) -> Result<String> {
        let mut out = ptr::null();
        // SAFETY: as for json().
        check(unsafe { K::describe(self.as_ptr(), &mut out) })?;
        Ok(owned_string(out))
    }
}

impl<K: OptsKind> Drop for RawOpts<K> {
    fn drop(&mut self) {
        // SAFETY: created by K::create, freed once.
        unsafe { K::free(self.as_ptr()) }
    }
}

/// The state of an options builder: the options so far, or the first error a setter gave.
pub(crate) struct Building<K: OptsKind>(Result<RawOpts<K>>);

impl<K: OptsKind> Building<K> {
    pub(crate) fn new() -> Self {
        Building(RawOpts::new())
    }

    /// Applies a setter unless an earlier one failed; `setter` may refuse the value itself
    /// (a conversion) or return the C status.
    pub(crate) fn with(self, setter: impl FnOnce(&RawOpts<K>) -> Result<()>) -> Self {
        Building(self.0.and_then(|raw| setter(&raw).map(|()| raw)))
    }

    pub(crate) fn finish(self) -> Result<RawOpts<K>> {
        self.0
    }
}

/// Defines a public options type wrapping `RawOpts<$kind>` and its builder, with the methods
/// every options type has; each type's own file adds its typed builder methods.
macro_rules! options_type {
    ($(#[$doc:meta])* $name:ident, $(#[$bdoc:meta])* $builder:ident, $kind:ty) => {
        $(#[$doc])*
        ///
        /// `Send` but not `Sync`: one thread uses an options object at a time (calls install
        /// their progress closure on it); make one per thread to run calls in parallel.
        pub struct $name {
            pub(crate) raw: std::sync::Arc<crate::opts::RawOpts<$kind>>,
            _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
        }

        $(#[$bdoc])*
        ///
        /// Each method applies its value at once through libunet's validating setter; the
        /// first value refused is the error [`build`](Self::build) returns.
        #[must_use]
        pub struct $builder {
            b: crate::opts::Building<$kind>,
        }

        impl $name {
            fn from_raw(raw: crate::opts::RawOpts<$kind>) -> Self {
                $name { raw: std::sync::Arc::new(raw), _not_sync: std::marker::PhantomData }
            }

            /// Options holding the defaults.
            pub fn new() -> crate::Result<Self> {
                Ok(Self::from_raw(crate::opts::RawOpts::new()?))
            }

            /// A builder starting from the defaults.
            pub fn builder() -> $builder {
                $builder { b: crate::opts::Building::new() }
            }

            /// Sets one option from text, as the C API's generic setter takes it
            /// (`set("tile", "256")`, `set("threshold", "auto")`); refused values leave the
            /// options unchanged.
            pub fn set(&mut self, key: &str, value: &str) -> crate::Result<()> {
                self.raw.set(key, value)
            }

            /// Sets the keys of a JSON object (`{"threads": 2, "border": "reflect"}`).
            pub fn set_json(&mut self, json: &str) -> crate::Result<()> {
                self.raw.set_json(json)
            }

            /// The current values as a JSON object.
            pub fn to_json(&self) -> crate::Result<String> {
                self.raw.json()
            }

            /// The option table as a JSON array of `{"name", "type", "default", "min", "max",
            /// "choices", "help"}`: what a host needs to build a dialog.
            pub fn describe(&self) -> crate::Result<String> {
                self.raw.describe()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.to_json() {
                    Ok(json) => write!(f, "{}({json})", stringify!($name)),
                    Err(_) => write!(f, "{}", stringify!($name)),
                }
            }
        }

        impl $builder {
            fn with(self, setter: impl FnOnce(&crate::opts::RawOpts<$kind>) -> crate::Result<()>) -> Self {
                $builder { b: self.b.with(setter) }
            }

            /// Sets one option from text (the generic setter; see the C header's tables).
            pub fn set(self, key: &str, value: &str) -> Self {
                self.with(|raw| raw.set(key, value))
            }

            /// Sets the keys of a JSON object.
            pub fn json(self, json: &str) -> Self {
                self.with(|raw| raw.set_json(json))
            }

            /// The options, or the first value libunet refused (its message names the bounds).
            pub fn build(self) -> crate::Result<$name> {
                Ok($name::from_raw(self.b.finish()?))
            }
        }
    };
}

/// Adds progress-free cancellation methods to an options type of a [`Cancellable`] kind.
macro_rules! cancellable_type {
    ($name:ident, $kind:ty) => {
        impl $name {
            /// A handle that cancels calls running with these options, from any thread.
            pub fn cancel_handle(&self) -> crate::CancelHandle {
                crate::CancelHandle::new(&self.raw)
            }

            /// Clears a cancel request, so later calls with these options run again.
            pub fn reset_cancel(&self) -> crate::Result<()> {
                use crate::opts::Cancellable;
                // SAFETY: a valid options object.
                self.raw.apply(|p| unsafe { <$kind as Cancellable>::reset_cancel(p) })
            }
        }
    };
}
