//! The commands: render, play, record, devices, latency.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use amio_core::{
    Clip, Config, Entry, Event, NullConfig, NullDriver, NullMode, OutcomeKind, Playspec, Stream,
    StreamConfig,
};

use crate::output::{write_text, WavOutput};
use crate::session::{self, Session};
use crate::status::{bar, clock, StatusLine};
use crate::CliError;

/// Which backend to use and how.
#[derive(Clone, Debug, Default)]
pub struct BackendChoice {
    /// The backend's name (`null`, `jack`, …).
    pub name: String,
    /// The device (JACK: the server).
    pub device: Option<String>,
    /// Backend options, `key=value` each.
    pub options: Vec<String>,
    /// Frames per period, if not the backend's choice.
    pub period: Option<usize>,
}

impl BackendChoice {
    /// Opens the backend's driver. The null backend runs paced (like a sound
    /// card) unless the options say otherwise.
    fn driver(&self) -> Result<Box<dyn amio_core::AudioDriver>, CliError> {
        let mut options = self.options.clone();
        if self.name == "null" && !options.iter().any(|o| o.trim_start().starts_with("mode")) {
            options.push("mode=paced".into());
        }
        Ok(amio_core::backend::driver(&self.name, &options.join("\n"))?.driver)
    }

    fn request(&self, frame_rate: Option<u32>, inputs: usize, outputs: usize) -> StreamConfig {
        StreamConfig {
            device: self.device.clone(),
            frame_rate,
            period: self.period,
            in_channels: inputs,
            out_channels: outputs,
        }
    }
}

/// Set by Ctrl-C; the running command stops cleanly.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Stops the running command on Ctrl-C instead of killing the process.
pub fn handle_ctrl_c() {
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst));
}

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The first fatal driver error among `events`.
fn fatal(events: &[Event]) -> Option<String> {
    events.iter().find_map(|e| match e {
        Event::Fatal(f) => Some(format!("the driver failed: {}", f.message)),
        _ => None,
    })
}

/// What `amio render` did.
#[derive(Debug)]
pub struct Rendered {
    /// Frames written.
    pub frames: u64,
    /// Channels.
    pub channels: usize,
    /// Frame rate.
    pub frame_rate: u32,
}

/// One outcome as a JSON line (SPEC.md's event log).
pub fn outcome_line(o: &amio_core::Outcome) -> String {
    let mut line = format!(
        "{{\"event\": \"{}\", \"id\": {}, \"stream_frame\": {}",
        o.kind.name(),
        o.id,
        o.stream_frame
    );
    if o.kind == OutcomeKind::Applied {
        let _ = write!(line, ", \"position\": {}", o.position);
    }
    line.push('}');
    line
}

/// `amio render`: renders a session offline through the null driver, as
/// fast as the machine allows, into a 32-bit float WAV file; optionally
/// writes the outcomes as JSON lines.
pub fn render(
    session_path: &Path,
    output: &Path,
    block: usize,
    events: Option<&Path>,
) -> Result<Rendered, CliError> {
    if block == 0 {
        return Err(CliError::Usage("--block must be at least 1".into()));
    }
    let session = Session::load(session_path)?;
    let wav = Arc::new(Mutex::new(Some(WavOutput::create(
        output,
        session.channels,
        session.frame_rate,
    )?)));
    let failure: Arc<Mutex<Option<CliError>>> = Arc::default();
    let (sink_wav, sink_failure) = (Arc::clone(&wav), Arc::clone(&failure));
    let driver = NullDriver::new(NullConfig {
        mode: NullMode::Offline {
            frames: session.frames,
        },
        ..NullConfig::default()
    })
    .with_output(Box::new(move |_, samples| {
        let mut w = sink_wav.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(w) = w.as_mut() {
            if let Err(e) = w.write(samples) {
                sink_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e);
            }
        }
    }));
    let control = driver.control();
    let request = StreamConfig {
        device: None,
        frame_rate: Some(session.frame_rate),
        period: Some(block),
        in_channels: 0,
        out_channels: session.channels,
    };
    let mut stream = Stream::open(Box::new(driver), &request, &session.config())?;
    session.issue(&mut stream)?;
    stream.start()?;
    let mut status = StatusLine::new();
    while !control.wait(Duration::from_millis(50)) {
        let done = stream.position().stream_frame;
        status.show(|| {
            format!(
                "rendering {} {} of {}",
                bar(done, session.frames, 30),
                clock(done as i64, session.frame_rate),
                clock(session.frames as i64, session.frame_rate)
            )
        });
    }
    status.clear();
    stream.close()?;
    if let Some(e) = failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        return Err(e);
    }
    if let Some(path) = events {
        let mut text = String::new();
        for e in stream.events() {
            if let Event::Outcome(o) = e {
                text.push_str(&outcome_line(&o));
                text.push('\n');
            }
        }
        write_text(path, &text)?;
    }
    let wav = wav.lock().unwrap_or_else(PoisonError::into_inner).take();
    let frames = match wav {
        Some(w) => w.commit()?,
        None => 0,
    };
    Ok(Rendered {
        frames,
        channels: session.channels,
        frame_rate: session.frame_rate,
    })
}

/// What `amio play` plays: a session file, or audio files side by side.
pub enum Playable {
    /// A session file.
    Session(PathBuf),
    /// Audio files in any format amio reads (WAV, FLAC, AU/SND), played
    /// from position 0 together.
    Files(Vec<PathBuf>),
}

/// `amio play`: plays through any backend, showing position and xruns on
/// the terminal, until the end or Ctrl-C. Returns the frames played.
pub fn play(what: &Playable, backend: &BackendChoice) -> Result<u64, CliError> {
    let (session, mut stream) = match what {
        Playable::Session(path) => {
            let session = Session::load(path)?;
            let request = backend.request(Some(session.frame_rate), 0, session.channels);
            let stream = Stream::open(backend.driver()?, &request, &session.config())?;
            (session, stream)
        }
        Playable::Files(paths) => {
            let mut clips = Vec::new();
            for p in paths {
                clips.push(Clip::from_file(p)?);
            }
            let channels = clips.iter().map(Clip::channels).max().unwrap_or(2).max(1);
            let request = backend.request(None, 0, channels);
            let stream = Stream::open(backend.driver()?, &request, &Config::default())?;
            // Files at another rate are resampled to the device's, explicitly.
            let rate = stream.info().frame_rate;
            let mut resampled = Vec::new();
            for (clip, path) in clips.into_iter().zip(paths) {
                if clip.frame_rate() != rate {
                    eprintln!(
                        "{}: resampling {} Hz to {rate} Hz",
                        path.display(),
                        clip.frame_rate()
                    );
                }
                resampled.push(clip.resample(rate)?);
            }
            (
                session::of_files(resampled, stream.info().out_channels)?,
                stream,
            )
        }
    };
    session.issue(&mut stream)?;
    stream.start()?;
    let end = session
        .commands
        .iter()
        .map(|(at, _)| *at)
        .max()
        .unwrap_or(0)
        + session.frames;
    let rate = stream.info().frame_rate;
    let mut status = StatusLine::new();
    let mut xruns = 0;
    let result = loop {
        std::thread::sleep(Duration::from_millis(20));
        let events = stream.events();
        for e in &events {
            if let Event::Xrun { count, .. } = e {
                xruns = *count;
            }
        }
        if let Some(message) = fatal(&events) {
            break Err(CliError::Failed(message));
        }
        let r = stream.position();
        status.show(|| {
            format!(
                "{} {}  position {}  xruns {xruns}",
                if r.rolling { "playing" } else { "stopped" },
                bar(r.stream_frame, end, 20),
                clock(r.position, rate)
            )
        });
        if interrupted() {
            status.clear();
            eprintln!("stopped at {} (Ctrl-C)", clock(r.position, rate));
            break Ok(r.stream_frame);
        }
        if r.stream_frame >= end {
            break Ok(r.stream_frame);
        }
    };
    status.clear();
    stream.close()?;
    result
}

/// What `amio record` wrote.
#[derive(Debug)]
pub struct Recorded {
    /// Frames of the take (session positions 0 to this).
    pub frames: u64,
    /// Channels of the take.
    pub channels: usize,
    /// The round-trip latency the tags used.
    pub latency: u64,
    /// Frames of the take that no captured frame covered (left silent).
    pub gaps: u64,
}

/// How `amio record` runs.
#[derive(Clone, Debug)]
pub struct RecordOptions {
    /// The session to play while recording, if any.
    pub session: Option<PathBuf>,
    /// The take's length in seconds (default: the session's length).
    pub seconds: Option<f64>,
    /// Input channels to record.
    pub inputs: usize,
    /// Extra round-trip latency (negative to subtract), see `amio latency`.
    pub extra_latency: i64,
}

/// `amio record`: plays the session (if any) while capturing, and writes
/// the take placed on the session's timeline by the input tags: frame `i`
/// of the take is what was captured while position `i` was audible.
pub fn record(
    output: &Path,
    backend: &BackendChoice,
    options: &RecordOptions,
) -> Result<Recorded, CliError> {
    let session = match &options.session {
        Some(path) => Some(Session::load(path)?),
        None => None,
    };
    if options.inputs == 0 {
        return Err(CliError::Usage("--inputs must be at least 1".into()));
    }
    let (rate, channels) = session
        .as_ref()
        .map_or((None, 0), |s| (Some(s.frame_rate), s.channels));
    let mut config = session
        .as_ref()
        .map_or_else(Config::default, Session::config);
    config.extra_latency = options.extra_latency;
    let request = backend.request(rate, options.inputs, channels);
    let mut stream = Stream::open(backend.driver()?, &request, &config)?;
    let rate = stream.info().frame_rate;
    let length = match (options.seconds, &session) {
        (Some(s), _) if s > 0.0 => (s * f64::from(rate)).round() as u64,
        (Some(_), _) => return Err(CliError::Usage("--seconds must be above 0".into())),
        (None, Some(s)) => s.frames,
        (None, None) => {
            return Err(CliError::Usage(
                "give --seconds, or a --session to record along".into(),
            ))
        }
    };
    let last_command = match &session {
        Some(s) => {
            s.issue(&mut stream)?;
            s.commands.iter().map(|(at, _)| *at).max().unwrap_or(0)
        }
        None => {
            stream.roll(Some(0))?;
            0
        }
    };
    let ic = options.inputs;
    let len =
        usize::try_from(length).map_err(|_| CliError::Usage("the take is too long".into()))?;
    let mut take = vec![0.0f32; len * ic];
    let mut covered = vec![false; len];
    stream.start()?;
    let mut status = StatusLine::new();
    let mut latency = 0;
    let period = stream.info().period as u64;
    let place = |c: &amio_core::InputChunk, covered: &mut Vec<bool>, take: &mut Vec<f32>| {
        if !c.rolling {
            return;
        }
        for i in 0..c.frames() {
            let p = c.position as i128 + i as i128;
            if p >= 0 && p < len as i128 {
                let p = p as usize;
                take[p * ic..(p + 1) * ic].copy_from_slice(&c.samples[i * ic..(i + 1) * ic]);
                covered[p] = true;
            }
        }
    };
    let result = loop {
        std::thread::sleep(Duration::from_millis(10));
        let events = stream.events();
        for e in &events {
            if let Event::Latency { frames, .. } = e {
                latency = *frames;
            }
        }
        if let Some(message) = fatal(&events) {
            break Err(CliError::Failed(message));
        }
        while let Some(c) = stream.read_input() {
            place(&c, &mut covered, &mut take);
        }
        let r = stream.position();
        // Done once every position has had time to be heard and captured.
        let end = last_command + length + latency + 2 * period;
        status.show(|| {
            format!(
                "recording {}  position {}",
                bar(r.stream_frame, end, 20),
                clock(r.position, rate)
            )
        });
        if interrupted() {
            status.clear();
            eprintln!(
                "stopped at {} (Ctrl-C); writing what was recorded",
                clock(r.position, rate)
            );
            break Ok(());
        }
        if r.stream_frame >= end {
            break Ok(());
        }
    };
    status.clear();
    stream.close()?;
    while let Some(c) = stream.read_input() {
        place(&c, &mut covered, &mut take);
    }
    result?;
    let mut wav = WavOutput::create(output, ic, rate)?;
    wav.write(&take)?;
    let frames = wav.commit()?;
    Ok(Recorded {
        frames,
        channels: ic,
        latency,
        gaps: covered.iter().filter(|c| !**c).count() as u64,
    })
}

/// `amio devices`: the backends that load here and their devices, as text.
pub fn devices() -> String {
    let mut out = String::new();
    for b in amio_core::backend::list() {
        let location = b
            .path
            .as_ref()
            .map_or("built in".to_string(), |p| p.display().to_string());
        let _ = writeln!(out, "{} ({location})", b.name);
        if let Err(e) = &b.loads {
            let _ = writeln!(out, "  does not load: {e}");
            continue;
        }
        match amio_core::backend::driver(&b.name, "").and_then(|d| d.driver.devices()) {
            Ok(list) if list.is_empty() => {
                let _ = writeln!(out, "  no devices");
            }
            Ok(list) => {
                for d in list {
                    let _ = writeln!(
                        out,
                        "  {}: {} in, {} out; {}",
                        d.name, d.in_channels, d.out_channels, d.description
                    );
                }
            }
            Err(e) => {
                let _ = writeln!(out, "  no devices: {e}");
            }
        }
    }
    out
}

/// What `amio latency` found.
#[derive(Debug, PartialEq, Eq)]
pub struct Measured {
    /// The round trip found by the impulses, in frames.
    pub measured: u64,
    /// The driver's capture latency.
    pub capture: u64,
    /// The driver's playback latency.
    pub playback: u64,
    /// Impulses found.
    pub impulses: usize,
    /// The frame rate.
    pub frame_rate: u32,
}

impl Measured {
    /// The report `amio latency` prints.
    pub fn report(&self) -> String {
        let reported = self.capture + self.playback;
        let ms = |f: u64| f as f64 * 1000.0 / f64::from(self.frame_rate.max(1));
        let mut text = format!(
            "round trip measured: {} frames ({:.3} ms at {} Hz), the same on {} impulses\n\
             driver reports: {reported} frames (capture {} + playback {}, {:.3} ms)\n",
            self.measured,
            ms(self.measured),
            self.frame_rate,
            self.impulses,
            self.capture,
            self.playback,
            ms(reported)
        );
        let correction = self.measured as i64 - reported as i64;
        if correction == 0 {
            text.push_str("the driver's figure is right: record needs no --extra-latency\n");
        } else {
            let _ = writeln!(
                text,
                "to record in place on this loop: --extra-latency {correction}"
            );
        }
        text
    }
}

/// `amio latency`: plays impulses out, finds them again in the input (the
/// output must be looped back to the input, by cable or by connection), and
/// measures the round trip beside what the driver reports.
pub fn latency(backend: &BackendChoice, impulses: usize) -> Result<Measured, CliError> {
    if impulses == 0 {
        return Err(CliError::Usage("--impulses must be at least 1".into()));
    }
    let request = backend.request(None, 1, 1);
    let mut stream = Stream::open(backend.driver()?, &request, &Config::default())?;
    let info = stream.info().clone();
    let rate = info.frame_rate;
    // One impulse every quarter second, the first after half a second.
    let spacing = u64::from(rate / 4).max(2 * info.max_period as u64).max(64);
    let start = u64::from(rate / 2);
    let mut click = vec![0.0f32; spacing as usize];
    click[0] = 1.0;
    let playspec = Playspec::new(vec![Entry::new(
        Clip::from_interleaved(rate, 1, click)?,
        vec![1.0],
    )
    .repeat(spacing as i64)])?;
    stream.schedule(&playspec, 0, 0, Some(0))?;
    stream.roll(Some(start))?;
    stream.stop(Some(start + spacing * impulses as u64))?;
    stream.start()?;
    let mut heard: Vec<u64> = Vec::new();
    let give_up = start + spacing * (impulses as u64 + 4) + u64::from(rate);
    let result = loop {
        std::thread::sleep(Duration::from_millis(10));
        if let Some(message) = fatal(&stream.events()) {
            break Err(CliError::Failed(message));
        }
        while let Some(c) = stream.read_input() {
            for (i, &x) in c.samples.iter().enumerate() {
                if x > 0.5 {
                    heard.push(c.stream_frame + i as u64);
                }
            }
        }
        if heard.len() >= impulses || stream.position().stream_frame > give_up {
            break Ok(());
        }
        if interrupted() {
            break Err(CliError::Failed("interrupted".into()));
        }
    };
    stream.close()?;
    result?;
    // Impulse k left at stream frame start + k * spacing.
    let delays: Vec<u64> = heard
        .iter()
        .filter(|&&s| s >= start)
        .map(|&s| (s - start) % spacing)
        .collect();
    let Some(&measured) = delays.first() else {
        return Err(CliError::Failed(
            "no impulse came back: loop the output back to the input (for JACK: -O connect=ports -O connect_outputs=… -O connect_inputs=…)".into(),
        ));
    };
    if delays.iter().any(|&d| d != measured) {
        return Err(CliError::Failed(format!(
            "the impulses came back with different delays: {delays:?}"
        )));
    }
    Ok(Measured {
        measured,
        capture: info.capture_latency,
        playback: info.playback_latency,
        impulses: delays.len(),
        frame_rate: rate,
    })
}
