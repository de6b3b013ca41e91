//! Progress closures, cancellation from the closure and from another thread, and panics.

mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;

use unet::{ErrorKind, PredictOptions, SegmentOptions, Tile};

#[test]
fn progress_rises_to_one_on_success() {
    let model = common::nuclei();
    let s = common::sample(128, 128, 2);
    let opts = PredictOptions::builder().tile(Tile::Pixels(32)).threads(1).build().unwrap();
    let mut seen = Vec::new();
    let out = model
        .predict_with_progress(&s.image, &[128, 128], Some(&opts), |f, stage| {
            seen.push((f, stage.to_string()));
            true
        })
        .unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "not non-decreasing: {seen:?}");
    assert_eq!(seen.last().unwrap().0, 1.0);
    assert!(seen.iter().all(|(_, stage)| !stage.is_empty()));
    // Same values as without a closure.
    assert_eq!(out, model.predict(&s.image, &[128, 128], Some(&opts)).unwrap());
}

#[test]
fn returning_false_cancels() {
    let model = common::nuclei();
    let s = common::sample(128, 128, 2);
    let opts = SegmentOptions::builder().tile(Tile::Pixels(32)).build().unwrap();
    let mut calls = 0;
    let err = model
        .segment_with_progress(&s.image, &[128, 128], Some(&opts), |_, _| {
            calls += 1;
            false
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(calls >= 1);
    // Without options, a closure still works (on temporary defaults).
    let err = model.predict_with_progress(&s.image, &[128, 128], None, |_, _| false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
}

#[test]
fn a_panic_in_the_closure_cancels_the_run_and_is_resumed() {
    let model = common::nuclei();
    let s = common::sample(128, 128, 4);
    let opts = PredictOptions::builder().tile(Tile::Pixels(32)).build().unwrap();
    let mut calls = 0;
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        model.predict_with_progress(&s.image, &[128, 128], Some(&opts), |f, _| {
            calls += 1;
            if f > 0.0 {
                panic!("closure failed at {f}");
            }
            true
        })
    }));
    let payload = caught.expect_err("the panic was not resumed");
    let message = payload.downcast_ref::<String>().expect("the original payload");
    assert!(message.starts_with("closure failed at"), "{message}");
    assert!(calls >= 1);
    // The process, the model and the options are fine: the progress closure was removed and
    // the options were not left cancelled.
    let again = model.predict(&s.image, &[128, 128], Some(&opts)).unwrap();
    assert_eq!(again.data.len(), 128 * 128 * model.out_channels().unwrap());
    let mut later = 0;
    model
        .predict_with_progress(&s.image, &[128, 128], Some(&opts), |_, _| {
            later += 1;
            true
        })
        .unwrap();
    assert!(later >= 1);
}

#[test]
fn a_cancel_handle_cancels_from_another_thread() {
    let model = common::nuclei();
    let s = common::sample(256, 256, 5);
    let opts = PredictOptions::builder().tile(Tile::Pixels(32)).threads(1).build().unwrap();
    let handle = opts.cancel_handle();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let (cancelled_tx, cancelled_rx) = mpsc::channel::<()>();
    std::thread::scope(|scope| {
        // The other thread cancels once the run has started, then lets the run go on.
        scope.spawn(move || {
            started_rx.recv().unwrap();
            handle.cancel();
            cancelled_tx.send(()).unwrap();
        });
        let mut first = true;
        let err = model
            .predict_with_progress(&s.image, &[256, 256], Some(&opts), |_, _| {
                if first {
                    first = false;
                    started_tx.send(()).unwrap();
                    cancelled_rx.recv().unwrap();
                }
                true
            })
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Cancelled);
    });
    // The request stays set until reset.
    let err = model.predict(&s.image, &[256, 256], Some(&opts)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    opts.reset_cancel().unwrap();
    model.predict(&s.image, &[256, 256], Some(&opts)).unwrap();
}

#[test]
fn a_cancel_handle_outlives_its_options() {
    let opts = SegmentOptions::new().unwrap();
    let handle = opts.cancel_handle();
    drop(opts);
    handle.cancel(); // keeps the C object alive: no use after free
    let copy = handle.clone();
    std::thread::spawn(move || copy.cancel()).join().unwrap();
}
