//! The yardstick of amio's benches (issue 15): BENCHMARK.md's workload
//! W(N, P) defined once ([`workload`]), and the plainest C loop that mixes
//! it ([`PlainMix`]), compiled by the system C compiler at `-O3
//! -march=native -ffp-contract=off` so that amio's time can be stated as a
//! ratio to it, measured in the same run on the same clips.
//!
//! Used only as a dev-dependency (amio-core's and amio-cli's benches), so
//! building amio itself needs no C compiler.

mod plain;
pub mod stats;
pub mod workload;

pub use plain::{Entry, Error, PlainMix};
