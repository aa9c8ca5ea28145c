//! The committed header is what cbindgen makes of the crate now, and the
//! version macros are the crate's version.
#![allow(clippy::unwrap_used)]

use std::path::Path;

fn generate() -> String {
    let dir = env!("CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(Path::new(dir).join("cbindgen.toml")).unwrap();
    let mut out = Vec::new();
    cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not parse amio-ffi")
        .write(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn header_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/amio.h");
    let fresh = generate();
    if std::env::var_os("AMIO_BLESS").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/amio.h is stale: run `AMIO_BLESS=1 cargo test -p amio-ffi --test header` and commit it"
    );
}

#[test]
fn version_macros_are_the_crate_version() {
    let parse = |v: &str| v.parse::<u32>().unwrap();
    assert_eq!(
        amio::AMIO_VERSION_MAJOR,
        parse(env!("CARGO_PKG_VERSION_MAJOR"))
    );
    assert_eq!(
        amio::AMIO_VERSION_MINOR,
        parse(env!("CARGO_PKG_VERSION_MINOR"))
    );
    assert_eq!(
        amio::AMIO_VERSION_PATCH,
        parse(env!("CARGO_PKG_VERSION_PATCH"))
    );
    // SAFETY: amio_version returns a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(amio::amio_version()) };
    assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    assert_eq!(amio::amio_abi_version(), amio::AMIO_ABI_VERSION);
}
