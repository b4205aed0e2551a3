//! Builds the provider components and test guests before the tests compile, and tells the
//! tests where they are (`PROVIDER_WASM_DIR`). A missing `wasm32-wasip2` target fails here
//! with the `rustup` hint.

fn main() {
    for path in xtask::provider_sources() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    match xtask::build_providers() {
        Ok(dir) => println!("cargo:rustc-env=PROVIDER_WASM_DIR={}", dir.display()),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(1);
        }
    }
}
