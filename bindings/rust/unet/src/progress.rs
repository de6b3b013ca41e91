//! Progress closures behind the C progress callback.
//!
//! libunet calls the callback on the calling thread only, so a closure needs no `Send`. A
//! panic must not unwind into C (that aborts the process): the trampoline catches it, asks
//! libunet to cancel (non-zero return), and the panic is resumed once the C call has returned
//! and cleaned up.

use std::any::Any;
use std::borrow::Cow;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use crate::error::{check, Result};
use crate::opts::{Cancellable, RawOpts};

/// A progress closure: receives the fraction done (0 to 1, non-decreasing; 1 only on success)
/// and the stage's name ("statistics", "predicting", ...); returns `true` to go on, `false` to
/// cancel (the call then fails with `ErrorKind::Cancelled`).
pub(crate) type Progress<'a> = &'a mut dyn FnMut(f64, &str) -> bool;

struct State<'a, 'f> {
    progress: &'a mut (dyn FnMut(f64, &str) -> bool + 'f),
    panic: Option<Box<dyn Any + Send + 'static>>,
}

unsafe extern "C" fn trampoline(user: *mut c_void, fraction: f64, stage: *const c_char) -> c_int {
    // SAFETY: `user` is the State that run() installed and keeps alive during the call.
    let state = unsafe { &mut *(user as *mut State<'_, '_>) };
    if state.panic.is_some() {
        return 1; // already cancelling: never call a closure that panicked again
    }
    let stage = if stage.is_null() {
        Cow::Borrowed("")
    } else {
        // SAFETY: libunet passes a NUL-terminated string valid during the callback.
        unsafe { CStr::from_ptr(stage) }.to_string_lossy()
    };
    let progress = &mut state.progress;
    match panic::catch_unwind(AssertUnwindSafe(|| progress(fraction, &stage))) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(payload) => {
            state.panic = Some(payload);
            1
        }
    }
}

/// Runs `call` (a C call taking the options; NULL for defaults) with `progress` installed on
/// `opts` (a temporary defaults object when there are none), removes it afterwards, and
/// resumes a panic of the closure once the call has returned.
pub(crate) fn run<K: Cancellable>(
    opts: Option<&RawOpts<K>>,
    progress: Option<Progress<'_>>,
    call: impl FnOnce(*const K::C) -> c_int,
) -> Result<()> {
    let Some(progress) = progress else {
        return check(call(opts.map_or(ptr::null(), |o| o.as_ptr())));
    };
    let defaults;
    let opts = match opts {
        Some(o) => o,
        None => {
            defaults = RawOpts::<K>::new()?;
            &defaults
        }
    };
    let mut state = State { progress, panic: None };
    let user = &mut state as *mut State<'_, '_> as *mut c_void;
    // SAFETY: `state` outlives the call; the callback is removed before it goes out of scope.
    opts.apply(|p| unsafe { K::set_progress(p, Some(trampoline), user) })?;
    // The result is taken at once: the error message is thread-local and the next libunet
    // call replaces it.
    let result = check(call(opts.as_ptr()));
    // SAFETY: a valid options object; removing the callback cannot fail for it.
    unsafe { K::set_progress(opts.as_ptr(), None, ptr::null_mut()) };
    if let Some(payload) = state.panic.take() {
        panic::resume_unwind(payload);
    }
    result
}
