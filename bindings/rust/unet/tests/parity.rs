//! The safe wrapper gives exactly what libunet's C API gives on the same input and options.

mod common;

use std::ptr;

use unet::{sys, PredictOptions, SegmentOptions, Tile};

/// unet_predict called directly, with threads and tile set by the typed C setters.
fn c_predict(c_out: usize, image: &[u16], h: usize, w: usize, tile: i64) -> Vec<f32> {
    let mut out = vec![0f32; c_out * h * w];
    let shape = [h as i64, w as i64];
    unsafe {
        let mut opts = ptr::null_mut();
        assert_eq!(sys::unet_predict_opts_create(&mut opts), sys::UNET_OK);
        assert_eq!(sys::unet_predict_opts_set_threads(opts, 1), sys::UNET_OK);
        assert_eq!(sys::unet_predict_opts_set_tile(opts, tile), sys::UNET_OK);
        let model_ptr = c_builtin();
        let rc = sys::unet_predict(
            model_ptr,
            opts,
            image.as_ptr().cast(),
            sys::UNET_U16,
            2,
            shape.as_ptr(),
            out.as_mut_ptr(),
            out.len(),
        );
        sys::unet_predict_opts_free(opts);
        sys::unet_model_free(model_ptr);
        assert_eq!(rc, sys::UNET_OK);
    }
    out
}

/// The built-in model loaded through the C API itself (not through the wrapper).
fn c_builtin() -> *mut sys::unet_model_t {
    let mut m = ptr::null_mut();
    let name = std::ffi::CString::new("nuclei").unwrap();
    assert_eq!(unsafe { sys::unet_model_load_builtin(name.as_ptr(), &mut m) }, sys::UNET_OK);
    m
}

#[test]
fn predict_equals_the_c_call() {
    let model = common::nuclei();
    let s = common::sample(200, 168, 3);
    let opts = PredictOptions::builder().threads(1).tile(Tile::Pixels(64)).build().unwrap();
    let rust = model.predict(&s.image, &[s.height, s.width], Some(&opts)).unwrap();
    assert_eq!(rust.shape, vec![model.out_channels().unwrap(), 200, 168]);
    let c = c_predict(model.out_channels().unwrap(), &s.image, 200, 168, 64);
    assert!(rust.data.iter().all(|v| v.is_finite()));
    assert_eq!(rust.data, c, "Rust and C predictions differ");
    // The wrapper's predict_into writes the same values into a caller buffer.
    let mut into = vec![f32::NAN; rust.data.len()];
    model.predict_into(&s.image, &[200, 168], Some(&opts), &mut into).unwrap();
    assert_eq!(into, c);
}

#[test]
fn segment_of_the_real_image_equals_the_c_call() {
    let path = common::shared_data().join("nuclei2d/img2d.tif");
    let (image, [h, w]) = common::read_tiff_u16(&path);
    let model = common::nuclei();
    let opts = SegmentOptions::builder().threads(2).build().unwrap();
    let rust = model.segment(&image, &[h, w], Some(&opts)).unwrap();

    let mut labels = vec![0u32; h * w];
    let mut n = 0u32;
    let shape = [h as i64, w as i64];
    let rc = unsafe {
        let m = c_builtin();
        let rc = sys::unet_segment(
            m,
            ptr::null(),
            image.as_ptr().cast(),
            sys::UNET_U16,
            2,
            shape.as_ptr(),
            labels.as_mut_ptr(),
            labels.len(),
            &mut n,
        );
        sys::unet_model_free(m);
        rc
    };
    assert_eq!(rc, sys::UNET_OK);
    assert!(n > 10, "the real image has many nuclei, C found {n}");
    assert_eq!(rust.num_objects, n);
    assert_eq!((rust.height, rust.width), (h, w));
    assert!(rust.labels == labels, "Rust and C labels differ");
}

#[test]
fn every_element_type_reaches_c_as_itself() {
    // The same grey values as u8, u16, i16, u32, f32 and f64 predict the same with fixed
    // normalisation (the values, not their type, matter).
    let model = common::nuclei();
    let s = common::sample(64, 64, 9);
    let small: Vec<u8> = s.image.iter().map(|&v| (v >> 8) as u8).collect();
    let opts = PredictOptions::builder()
        .threads(1)
        .normalize(unet::Normalize::Fixed { mean: 100.0, std: 50.0 })
        .build()
        .unwrap();
    let shape = [64, 64];
    let reference = model.predict(&small, &shape, Some(&opts)).unwrap().data;
    let as_u16: Vec<u16> = small.iter().map(|&v| v.into()).collect();
    let as_i16: Vec<i16> = small.iter().map(|&v| v.into()).collect();
    let as_u32: Vec<u32> = small.iter().map(|&v| v.into()).collect();
    let as_f32: Vec<f32> = small.iter().map(|&v| v.into()).collect();
    let as_f64: Vec<f64> = small.iter().map(|&v| v.into()).collect();
    assert_eq!(model.predict(&as_u16, &shape, Some(&opts)).unwrap().data, reference);
    assert_eq!(model.predict(&as_i16, &shape, Some(&opts)).unwrap().data, reference);
    assert_eq!(model.predict(&as_u32, &shape, Some(&opts)).unwrap().data, reference);
    assert_eq!(model.predict(&as_f32, &shape, Some(&opts)).unwrap().data, reference);
    assert_eq!(model.predict(&as_f64, &shape, Some(&opts)).unwrap().data, reference);
}
