//! Click sessions: the object under a click, its mask and outline, against the C API.

mod common;

use std::ptr;

use unet::{sys, ClickOptions};

/// Shoelace area of a ring of pixel-corner vertices.
fn ring_area(ring: &[[i64; 2]]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1])
        .sum::<i64>()
        / 2
}

/// A pixel inside the largest labelled object of a sample (its label, and x, y).
fn inside_an_object(s: &unet::Sample) -> (usize, usize) {
    let mut counts = vec![0usize; s.num_objects as usize + 1];
    for &l in &s.labels {
        counts[l as usize] += 1;
    }
    let biggest = (1..counts.len()).max_by_key(|&l| counts[l]).unwrap();
    // The pixel of that object farthest from its bounding-box edges is well inside.
    let pixels: Vec<usize> =
        (0..s.labels.len()).filter(|&i| s.labels[i] as usize == biggest).collect();
    let (xs, ys): (Vec<_>, Vec<_>) = pixels.iter().map(|&i| (i % s.width, i / s.width)).unzip();
    let cx = (xs.iter().min().unwrap() + xs.iter().max().unwrap()) / 2;
    let cy = (ys.iter().min().unwrap() + ys.iter().max().unwrap()) / 2;
    pixels
        .iter()
        .map(|&i| (i % s.width, i / s.width))
        .min_by_key(|&(x, y)| (x as i64 - cx as i64).pow(2) + (y as i64 - cy as i64).pow(2))
        .unwrap()
}

#[test]
fn a_click_gives_the_object_as_the_c_api_does() {
    let model = common::nuclei();
    let s = common::sample(192, 192, 7);
    let (x, y) = inside_an_object(&s);
    let opts = ClickOptions::builder().threads(1).build().unwrap();
    let mut session = model.click_session(&s.image, &[192, 192], Some(&opts)).unwrap();
    let result = session.click(x, y).unwrap();
    assert!(result.area() > 0, "no object under ({x}, {y})");
    let b = result.bbox();
    assert!(b.x <= x && x < b.x + b.width && b.y <= y && y < b.y + b.height, "{b:?}");
    let mask = result.mask();
    assert_eq!(mask.len(), b.width * b.height);
    assert_eq!(mask.iter().filter(|&&m| m == 1).count() as u64, result.area());
    assert_eq!(mask[(y - b.y) * b.width + (x - b.x)], 1);
    let rings = result.rings().unwrap();
    assert!(!rings.is_empty());
    assert!(ring_area(rings[0]) > 0, "outline not clockwise on screen");
    assert_eq!(rings.iter().map(|r| ring_area(r)).sum::<i64>(), result.area() as i64);
    assert!(session.stats().unwrap().network_runs >= 1);

    // The same click through the C API directly.
    unsafe {
        let name = std::ffi::CString::new("nuclei").unwrap();
        let mut m = ptr::null_mut();
        assert_eq!(sys::unet_model_load_builtin(name.as_ptr(), &mut m), sys::UNET_OK);
        let mut o = ptr::null_mut();
        assert_eq!(sys::unet_click_opts_create(&mut o), sys::UNET_OK);
        assert_eq!(sys::unet_click_opts_set_threads(o, 1), sys::UNET_OK);
        let shape = [192i64, 192];
        let mut session_c = ptr::null_mut();
        let rc = sys::unet_click_session_create(
            m,
            o,
            s.image.as_ptr().cast(),
            sys::UNET_U16,
            2,
            shape.as_ptr(),
            &mut session_c,
        );
        assert_eq!(rc, sys::UNET_OK);
        let mut r = ptr::null_mut();
        assert_eq!(sys::unet_click(session_c, x as i64, y as i64, 0, &mut r), sys::UNET_OK);
        let mut area = 0i64;
        let mut bbox = [0i64; 4];
        sys::unet_click_result_area(r, &mut area);
        sys::unet_click_result_bbox(r, bbox.as_mut_ptr());
        let mut cmask = ptr::null();
        sys::unet_click_result_mask(r, &mut cmask);
        let cmask = std::slice::from_raw_parts(cmask, (bbox[2] * bbox[3]) as usize);
        assert_eq!(area as u64, result.area());
        assert_eq!(bbox, [b.x as i64, b.y as i64, b.width as i64, b.height as i64]);
        assert_eq!(cmask, mask);
        sys::unet_click_result_free(r);
        sys::unet_click_session_free(session_c);
        sys::unet_click_opts_free(o);
        sys::unet_model_free(m);
    }
}

#[test]
fn options_change_and_bad_clicks_are_errors() {
    let model = common::nuclei();
    let s = common::sample(96, 96, 8);
    let mut session = model.click_session(&s.image, &[96, 96], None).unwrap();
    let err = session.click(96, 10).unwrap_err();
    assert_eq!(err.kind(), unet::ErrorKind::InvalidArgument, "{err}");
    let err = session.click_plane(10, 10, 1).unwrap_err();
    assert_eq!(err.kind(), unet::ErrorKind::InvalidArgument, "{err}");
    let (x, y) = inside_an_object(&s);
    let first = session.click(x, y).unwrap();
    let runs = session.stats().unwrap().network_runs;
    // A post-processing key keeps the cache: no new network run for the same click.
    session.set_options(&ClickOptions::builder().min_size(1).build().unwrap()).unwrap();
    let again = session.click(x, y).unwrap();
    assert_eq!(session.stats().unwrap().network_runs, runs);
    assert!(again.area() > 0 && first.area() > 0);
    assert!(ClickOptions::builder().min_distance(0).build().is_err());
}

#[test]
fn a_cancel_handle_stops_a_click_and_the_reset_click_is_unchanged() {
    let model = common::nuclei();
    let s = common::sample(1024, 1024, 8);
    let (x, y) = inside_an_object(&s);
    let want = {
        let mut fresh = model.click_session(&s.image, &[1024, 1024], None).unwrap();
        let r = fresh.click(x, y).unwrap();
        (r.bbox(), r.area(), r.mask().to_vec())
    };
    // Cancelled before the click: it stays so until the reset.
    let mut session = model.click_session(&s.image, &[1024, 1024], None).unwrap();
    let handle = session.cancel_handle();
    handle.cancel();
    let err = session.click(x, y).unwrap_err();
    assert_eq!(err.kind(), unet::ErrorKind::Cancelled);
    assert_eq!(session.stats().unwrap().network_runs, 0);
    session.reset_cancel().unwrap();
    let r = session.click(x, y).unwrap();
    assert_eq!((r.bbox(), r.area(), r.mask().to_vec()), want);
    // From another thread during first clicks (statistics, scale, network runs): the click
    // stops or finished first; after the reset it gives the same object.
    let mut stopped = 0;
    for micros in [200u64, 2000, 20000] {
        let mut session = model.click_session(&s.image, &[1024, 1024], None).unwrap();
        let handle = session.cancel_handle();
        let result = std::thread::scope(|scope| {
            scope.spawn(move || {
                std::thread::sleep(std::time::Duration::from_micros(micros));
                handle.cancel();
            });
            session.click(x, y)
        });
        match result {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.kind(), unet::ErrorKind::Cancelled);
                stopped += 1;
            }
        }
        session.reset_cancel().unwrap();
        let r = session.click(x, y).unwrap();
        assert_eq!((r.bbox(), r.area(), r.mask().to_vec()), want);
    }
    assert!(stopped > 0);
    // A handle that outlives its session does nothing (no use after free).
    let handle = model.click_session(&s.image, &[1024, 1024], None).unwrap().cancel_handle();
    handle.cancel();
}
