//! Gives this crate's tests and examples an rpath to the libunet that unet-sys linked
//! (`DEP_UNET_LIB_DIR`, from its `links = "unet"`), so `cargo test` and `cargo run --example`
//! find the library without LD_LIBRARY_PATH. Programs that depend on this crate need their own
//! rpath, LD_LIBRARY_PATH, or libunet installed where the loader looks.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_UNET_LIB_DIR");
    if let Ok(dir) = std::env::var("DEP_UNET_LIB_DIR") {
        // Applies to this package's linked targets only: tests, examples, benches.
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
