//! Compiles the plain C mixing loop with the system C compiler, always at
//! `-O3 -march=native` (whatever the Cargo profile) and without floating
//! point contraction, so that it rounds exactly as amio does: a multiply,
//! then an add, never a fused multiply-add.
fn main() {
    println!("cargo:rerun-if-changed=csrc/plain_mix.c");
    cc::Build::new()
        .file("csrc/plain_mix.c")
        .opt_level(3)
        .flag("-std=c99")
        .flag("-march=native")
        .flag("-ffp-contract=off")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("amio_benchref_plain_mix");
}
