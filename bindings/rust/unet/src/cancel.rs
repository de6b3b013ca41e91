//! Cancelling a running call from another thread.

use std::fmt;
use std::sync::Arc;

use crate::opts::{Cancellable, RawOpts};

trait Target: Send + Sync {
    fn cancel(&self);
}

impl<K: Cancellable> Target for RawOpts<K> {
    fn cancel(&self) {
        // SAFETY: unet_*_opts_cancel is thread-safe and the Arc keeps the object alive; it
        // cannot fail on a valid object.
        unsafe { K::cancel(self.as_ptr()) };
    }
}

/// Cancels the calls running with one options object, from any thread (a GUI's Cancel button,
/// a request timeout).
///
/// Get one from [`PredictOptions::cancel_handle`](crate::PredictOptions::cancel_handle) or
/// [`SegmentOptions::cancel_handle`](crate::SegmentOptions::cancel_handle). The running call
/// returns [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) within one tile batch. The
/// request stays set: later calls with those options are cancelled too until the options'
/// `reset_cancel`. The handle keeps the options' C object alive, so it may outlive them.
#[derive(Clone)]
pub struct CancelHandle {
    target: Arc<dyn Target>,
}

impl CancelHandle {
    pub(crate) fn new<K: Cancellable + 'static>(opts: &Arc<RawOpts<K>>) -> Self {
        CancelHandle { target: opts.clone() }
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.target.cancel();
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelHandle")
    }
}
