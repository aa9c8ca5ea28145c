//! Writes the demo session's clips (demo/*.wav): a kick, a hat and two bass
//! notes, 16-bit mono at 48 kHz, made from formulas so anyone can remake
//! them: `cargo run -p amio-cli --example make_demo_clips`.

use std::f64::consts::PI;
use std::path::Path;

const RATE: u32 = 48_000;

fn write(path: &Path, samples: impl Iterator<Item = f64>) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec)?;
    for s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0).round() as i16)?;
    }
    w.finalize()
}

fn main() -> Result<(), hound::Error> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../demo");
    let t = |i: usize| i as f64 / f64::from(RATE);
    // A kick: a falling sine, 0.25 s.
    write(
        &dir.join("kick.wav"),
        (0..12_000).map(|i| {
            let phase = 2.0 * PI * (50.0 * t(i) + 60.0 * (1.0 - (-t(i) * 30.0).exp()) / 30.0);
            phase.sin() * (-t(i) * 14.0).exp() * 0.9
        }),
    )?;
    // A hat: xorshift noise, 0.06 s.
    let mut s: u32 = 0x2545_F491;
    write(
        &dir.join("hat.wav"),
        (0..2_880).map(move |i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            f64::from(s as i32) / f64::from(i32::MAX) * 0.3 * (-t(i) * 60.0).exp()
        }),
    )?;
    // Two bass notes (A1, D2), 0.5 s each.
    for (name, freq) in [("bass-a.wav", 55.0), ("bass-d.wav", 73.42)] {
        write(
            &dir.join(name),
            (0..24_000).map(move |i| {
                let x = 2.0 * PI * freq * t(i);
                (x.sin() + 0.3 * (2.0 * x).sin())
                    * 0.5
                    * (-t(i) * 3.0).exp()
                    * (1.0 - (-t(i) * 400.0).exp())
            }),
        )?;
    }
    println!("wrote the demo clips in {}", dir.display());
    Ok(())
}
