//! One model shared by several threads at once gives each the result it gives alone.

mod common;

use std::sync::Arc;

use unet::{ClickSession, Model, PredictOptions, SegmentOptions, Tile};

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn the_types_are_as_thread_safe_as_the_c_api() {
    assert_send_sync::<Model>();
    assert_send_sync::<unet::CancelHandle>();
    assert_send_sync::<unet::ClickResult>();
    assert_send::<PredictOptions>();
    assert_send::<SegmentOptions>();
    assert_send::<ClickSession<'static>>();
}

#[test]
fn threads_share_one_model() {
    let model = Arc::new(common::nuclei());
    let images: Vec<_> = (0..4).map(|seed| common::sample(96, 120, seed)).collect();
    // Alone, one after the other.
    let alone: Vec<_> = images
        .iter()
        .map(|s| {
            let opts = PredictOptions::builder().threads(1).tile(Tile::Pixels(32)).build().unwrap();
            model.predict(&s.image, &[96, 120], Some(&opts)).unwrap()
        })
        .collect();
    // Together: every thread runs every image, each with its own options.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let model = Arc::clone(&model);
            let images = images.clone();
            std::thread::spawn(move || {
                let opts =
                    PredictOptions::builder().threads(1).tile(Tile::Pixels(32)).build().unwrap();
                (0..images.len())
                    .map(|i| {
                        let s = &images[(i + t) % images.len()];
                        (
                            (i + t) % images.len(),
                            model.predict(&s.image, &[96, 120], Some(&opts)).unwrap(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for handle in handles {
        for (i, out) in handle.join().unwrap() {
            assert_eq!(out, alone[i], "image {i} differs when threads share the model");
        }
    }
}

#[test]
fn scoped_threads_segment_and_click_with_one_borrowed_model() {
    let model = common::nuclei();
    let s = common::sample(128, 128, 11);
    let alone = model.segment(&s.image, &[128, 128], None).unwrap();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| model.segment(&s.image, &[128, 128], None).unwrap()))
            .collect();
        // Meanwhile a click session on this thread uses the same model.
        let mut session = model.click_session(&s.image, &[128, 128], None).unwrap();
        let _ = session.click(64, 64).unwrap();
        for w in workers {
            assert_eq!(w.join().unwrap(), alone);
        }
    });
}
