//! Renders a demo arrangement offline through the null driver: no audio
//! stack needed. Writes `target/amio-demo.wav` (or the path given) and
//! prints what happened.
//!
//! ```text
//! cargo run -p amio-core --example render_demo [OUT.wav]
//! ```

use std::f64::consts::PI;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amio_core::{
    Clip, Config, Entry, Event, NullConfig, NullDriver, NullMode, Playspec, Stream, StreamConfig,
};

const RATE: u32 = 48_000;

/// A decaying tone: a plucked note of `frames` frames.
fn pluck(freq: f64, frames: usize) -> amio_core::Result<Clip> {
    let samples = (0..frames)
        .map(|i| {
            let t = i as f64 / f64::from(RATE);
            ((2.0 * PI * freq * t).sin() * (-6.0 * t).exp() * 0.6) as f32
        })
        .collect();
    Clip::from_interleaved(RATE, 1, samples)
}

/// A short noise burst, like a hi-hat.
fn hat(frames: usize) -> amio_core::Result<Clip> {
    let mut s: u32 = 0x1234_5678;
    let samples = (0..frames)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let noise = f64::from(s as i32) / f64::from(i32::MAX);
            (noise * 0.25 * (-(i as f64) / 600.0).exp()) as f32
        })
        .collect();
    Clip::from_interleaved(RATE, 1, samples)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/amio-demo.wav".into());
    let beat = 12_000i64; // 4 beats per second at 48 kHz
    let bar = 4 * beat;

    // Two arrangements: a bass line with hats, then the same an octave up.
    let hats = Entry::new(hat(4_000)?, vec![0.5, 0.35]).repeat(beat / 2);
    let verse = Playspec::new(vec![
        hats.clone(),
        Entry::new(pluck(110.0, bar as usize)?, vec![0.7, 0.7])
            .repeat(bar)
            .fades(50, 2_000),
        Entry::new(pluck(164.8, 2 * beat as usize)?, vec![0.2, 0.6])
            .play_at(2 * beat)
            .repeat(bar)
            .fades(50, 500),
    ])?;
    let chorus = Playspec::new(vec![
        hats,
        Entry::new(pluck(220.0, bar as usize)?, vec![0.6, 0.6])
            .repeat(bar / 2)
            .fades(50, 2_000),
    ])?;

    let frames = 8 * bar as u64;
    let rendered = Arc::new(Mutex::new(Vec::<f32>::new()));
    let sink = Arc::clone(&rendered);
    let driver = NullDriver::new(NullConfig {
        mode: NullMode::Offline { frames },
        ..NullConfig::default()
    })
    .with_output(Box::new(move |_, out| {
        if let Ok(mut r) = sink.lock() {
            r.extend_from_slice(out);
        }
    }));
    let control = driver.control();
    let request = StreamConfig {
        frame_rate: Some(RATE),
        period: Some(256),
        in_channels: 0,
        out_channels: 2,
        device: None,
    };
    let mut stream = Stream::open(Box::new(driver), &request, &Config::default())?;
    // Verse from the start; when it reaches bar 4 the chorus goes in from
    // its top, exactly on the bar; two bars into the chorus, back to the top
    // of the verse.
    stream.interface_mut().schedule(&verse, 0, 0, Some(0))?;
    stream.interface_mut().roll(Some(0))?;
    stream
        .interface_mut()
        .schedule(&chorus, 4 * bar, 0, Some(1))?;
    stream
        .interface_mut()
        .schedule(&verse, 2 * bar, 0, Some(5 * bar as u64))?;
    stream.start()?;
    if !control.wait(Duration::from_secs(60)) {
        return Err("the offline render did not finish".into());
    }
    stream.close()?;

    for event in stream.interface_mut().events() {
        if let Event::Outcome(o) = event {
            println!(
                "playspec {} {} at stream frame {} (position {})",
                o.id,
                o.kind.name(),
                o.stream_frame,
                o.position
            );
        }
    }
    let samples = std::mem::take(&mut *rendered.lock().map_err(|_| "render thread panicked")?);
    let clip = Clip::from_interleaved(RATE, 2, samples)?;
    clip.write_wav(&out_path)?;
    println!(
        "wrote {out_path}: {} frames, {} channels, {} Hz, 32-bit float ({:.1} s)",
        clip.frames(),
        clip.channels(),
        clip.frame_rate(),
        clip.frames() as f64 / f64::from(RATE)
    );
    Ok(())
}
