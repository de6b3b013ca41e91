//! Finds libunet for linking: `UNET_LIB_DIR` (a folder holding libunet.so, such as a meson build's
//! `lib/`) first, then pkg-config (`unet` >= 1.0, after `meson install`).
//!
//! The folder is passed on to dependent build scripts as `DEP_UNET_LIB_DIR` (this crate has
//! `links = "unet"`), so they can give their own binaries an rpath: cargo does not put link
//! folders outside `target/` on the run-time search path.

use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=UNET_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");

    let dir = match env::var_os("UNET_LIB_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if !dir.join("libunet.so").exists() {
                panic!("UNET_LIB_DIR={} holds no libunet.so", dir.display());
            }
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-lib=dylib=unet");
            Some(dir)
        }
        None => match pkg_config::Config::new().atleast_version("1.0").probe("unet") {
            // pkg-config has printed the link flags; keep its folder for the rpath.
            Ok(lib) => lib.link_paths.first().cloned(),
            Err(err) => panic!(
                "libunet not found: set UNET_LIB_DIR to the folder holding libunet.so \
                 (a meson build's lib/), or install libunet so that pkg-config finds unet.pc \
                 ({err})"
            ),
        },
    };
    if let Some(dir) = dir {
        // This crate's own tests run without LD_LIBRARY_PATH; dependents read DEP_UNET_LIB_DIR.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        println!("cargo:lib_dir={}", dir.display());
    }
}
