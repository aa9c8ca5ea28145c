//! The commands: render, play, record, devices, latency.

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use amio_core::{
    Clip, Config, Entry, Event, NullConfig, NullDriver, NullMode, OutcomeKind, Playspec, Stream,
    StreamConfig,
};

use crate::limits::{
    check_range, seconds_to_frames, MAX_CHANNELS, MAX_FRAMES, MAX_FRAME_RATE, MAX_IMPULSES,
    MAX_PERIOD, MAX_RESAMPLED_SAMPLES,
};
use crate::output::{refuse_same, write_text, WavOutput};
use crate::session::{self, LoadOptions, Session};
use crate::signals;
use crate::status::{bar, clock, StatusLine};
use crate::CliError;

/// How long a running stream may process no frame at all before a command
/// gives up on it instead of waiting for ever.
const STALL: Duration = Duration::from_secs(10);

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
    /// Opens the backend's driver for a command that runs in real time
    /// (`play`, `record`, `latency`). The null backend runs paced (like a
    /// sound card) unless the options say otherwise; its `stepped` and
    /// `offline` modes are refused, as nothing would step the engine or the
    /// run would not last the command.
    fn driver(&self, command: &str) -> Result<Box<dyn amio_core::AudioDriver>, CliError> {
        let mut options = self.options.clone();
        if self.name == "null" {
            let mode = options.iter().rev().find_map(|o| {
                let (key, value) = o.split_once('=')?;
                (key.trim() == "mode").then(|| value.trim().to_string())
            });
            match mode.as_deref() {
                None => options.push("mode=paced".into()),
                Some("offline") => {
                    return Err(CliError::Usage(format!(
                        "amio {command} runs in real time; the null backend's mode=offline runs without a clock and would not play (use amio render SESSION -o OUT.wav to render offline, or mode=paced)"
                    )))
                }
                Some("stepped") => {
                    return Err(CliError::Usage(format!(
                        "amio {command} runs in real time; the null backend's mode=stepped waits to be stepped by a host program, which amio {command} is not (use mode=paced)"
                    )))
                }
                _ => {}
            }
        }
        Ok(amio_plugin::registry::driver(&self.name, &options.join("\n"))?.driver)
    }

    fn request(
        &self,
        frame_rate: Option<u32>,
        inputs: usize,
        outputs: usize,
    ) -> Result<StreamConfig, CliError> {
        if let Some(period) = self.period {
            check_range("--period", period, 1, MAX_PERIOD)?;
        }
        Ok(StreamConfig {
            device: self.device.clone(),
            frame_rate,
            period: self.period,
            in_channels: inputs,
            out_channels: outputs,
        })
    }
}

/// Checks what a backend gave: a frame rate amio's limits allow.
fn check_stream(stream: &Stream) -> Result<u32, CliError> {
    let info = stream.interface().info();
    check_range("the backend's period", info.max_period, 1, MAX_PERIOD)?;
    check_range(
        "the backend's frame rate",
        info.frame_rate,
        1,
        MAX_FRAME_RATE,
    )
}

/// Watches a running stream for a stall: no frame processed for [`STALL`].
struct StallGuard {
    last: u64,
    since: Instant,
}

impl StallGuard {
    fn new() -> StallGuard {
        StallGuard {
            last: 0,
            since: Instant::now(),
        }
    }

    fn check(&mut self, stream_frame: u64) -> Result<(), CliError> {
        if stream_frame != self.last {
            self.last = stream_frame;
            self.since = Instant::now();
        } else if self.since.elapsed() >= STALL {
            return Err(CliError::Failed(format!(
                "the backend has processed no frame for {} s (at stream frame {stream_frame}); giving up",
                STALL.as_secs()
            )));
        }
        Ok(())
    }
}

/// Installs the SIGINT/SIGTERM handler that the commands check.
pub fn handle_signals() {
    signals::install();
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

/// How `amio render` runs.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Frames per period (1 to [`MAX_PERIOD`]); the output does not depend
    /// on it.
    pub block: usize,
    /// Where to write the playspec outcomes as JSON lines, if anywhere.
    pub events: Option<PathBuf>,
    /// How the session is loaded.
    pub load: LoadOptions,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            block: 256,
            events: None,
            load: LoadOptions::default(),
        }
    }
}

/// The error of a command stopped by a signal that wrote nothing.
fn nothing_written(signal: i32, outputs: &[&Path]) -> CliError {
    let names: Vec<String> = outputs.iter().map(|p| p.display().to_string()).collect();
    let (pronoun, verb) = if names.len() > 1 {
        ("they", "were")
    } else {
        ("it", "was")
    };
    CliError::Interrupted {
        signal,
        message: format!(
            "nothing was written; {} kept as {pronoun} {verb}",
            names.join(" and ")
        ),
    }
}

/// `amio render`: renders a session offline through the null driver, as
/// fast as the machine allows, into a 32-bit float WAV file (RF64 past
/// 4 GiB); optionally writes the outcomes as JSON lines. Both files are
/// written beside their targets and put in place only when the whole
/// render succeeded; on any failure, or SIGINT/SIGTERM, neither is touched
/// and no temporary file is left. `-o` and `--events` may not name one
/// file, nor the session or one of its clips.
pub fn render(
    session_path: &Path,
    output: &Path,
    options: &RenderOptions,
) -> Result<Rendered, CliError> {
    let block = check_range("--block", options.block, 1, MAX_PERIOD)?;
    let events = options.events.as_deref();
    let mut others: Vec<(&str, &Path)> = vec![("the session", session_path)];
    if let Some(e) = events {
        others.push(("--events", e));
        refuse_same("--events", e, &[("the session", session_path)])?;
    }
    refuse_same("-o", output, &others)?;
    let session = Session::load_with(session_path, &options.load)?;
    for clip in &session.clip_files {
        refuse_same("-o", output, &[("a clip of the session", clip)])?;
        if let Some(e) = events {
            refuse_same("--events", e, &[("a clip of the session", clip)])?;
        }
    }
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
        if let Some(out) = w.as_mut() {
            if let Err(e) = out.write(samples) {
                sink_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get_or_insert(e);
                // Dropped: the temporary file goes at once.
                *w = None;
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
    session.issue(stream.interface_mut())?;
    stream.start()?;
    let mut status = StatusLine::new();
    let mut outputs = vec![output];
    outputs.extend(events);
    let stopped = loop {
        if control.wait(Duration::from_millis(50)) {
            break None;
        }
        if let Some(signal) = signals::received() {
            break Some(signal);
        }
        if failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            break None;
        }
        let done = stream.interface().position().stream_frame;
        status.show(|| {
            format!(
                "rendering {} {} of {}",
                bar(done, session.frames, 30),
                clock(i128::from(done), session.frame_rate),
                clock(i128::from(session.frames), session.frame_rate)
            )
        });
    };
    status.clear();
    stream.close()?;
    let wav = wav.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(signal) = stopped {
        drop(wav);
        return Err(nothing_written(signal, &outputs));
    }
    if let Some(e) = failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
    {
        return Err(e);
    }
    let Some(wav) = wav else {
        return Err(CliError::Failed(format!(
            "{}: the render stopped before the end",
            output.display()
        )));
    };
    let events_file = match events {
        Some(path) => {
            let mut text = String::new();
            for e in stream.interface_mut().events() {
                if let Event::Outcome(o) = e {
                    text.push_str(&outcome_line(&o));
                    text.push('\n');
                }
            }
            Some(write_text(path, &text)?)
        }
        None => None,
    };
    let finished = wav.finish()?;
    if let Some(signal) = signals::received() {
        return Err(nothing_written(signal, &outputs));
    }
    let frames = finished.commit()?;
    if let Some(e) = events_file {
        e.commit()?;
    }
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

/// How `amio play` runs.
#[derive(Clone, Debug, Default)]
pub struct PlayOptions {
    /// Stream frames to play instead of the session's `frames` (or the
    /// longest file's length): more, to hear past the end of a render.
    pub frames: Option<u64>,
    /// How a session is loaded.
    pub load: LoadOptions,
}

/// Resamples `clip` (read from `path`) to `rate`, refusing a rate above
/// the limit or a result larger than [`MAX_RESAMPLED_SAMPLES`].
fn resample(clip: Clip, path: &Path, rate: u32) -> Result<Clip, CliError> {
    if clip.frame_rate() == rate {
        return Ok(clip);
    }
    check_range(
        &format!("{}: the frame rate", path.display()),
        clip.frame_rate(),
        1,
        MAX_FRAME_RATE,
    )?;
    let frames = (clip.frames() as u128 * u128::from(rate)).div_ceil(u128::from(clip.frame_rate()));
    let samples = frames * clip.channels() as u128;
    if samples > u128::from(MAX_RESAMPLED_SAMPLES) {
        return Err(CliError::Usage(format!(
            "{}: resampling {} frames from {} Hz to {rate} Hz would make {frames} frames of {} channels; amio play resamples at most {MAX_RESAMPLED_SAMPLES} samples",
            path.display(),
            clip.frames(),
            clip.frame_rate(),
            clip.channels()
        )));
    }
    eprintln!(
        "{}: resampling {} Hz to {rate} Hz",
        path.display(),
        clip.frame_rate()
    );
    Ok(clip.resample(rate)?)
}

/// `amio play`: plays through any backend, showing position and xruns on
/// the terminal, for the session's `frames` stream frames (as `amio render`
/// renders them) or [`PlayOptions::frames`], or until SIGINT/SIGTERM.
/// Returns the frames played.
pub fn play(
    what: &Playable,
    backend: &BackendChoice,
    options: &PlayOptions,
) -> Result<u64, CliError> {
    if let Some(frames) = options.frames {
        check_range("--frames", frames, 0, MAX_FRAMES)?;
    }
    let (session, mut stream) = match what {
        Playable::Session(path) => {
            let session = Session::load_with(path, &options.load)?;
            let request = backend.request(Some(session.frame_rate), 0, session.channels)?;
            let mut config = session.config();
            // Room for the stop at the end.
            config.command_capacity += 1;
            let stream = Stream::open(backend.driver("play")?, &request, &config)?;
            (session, stream)
        }
        Playable::Files(paths) => {
            let paths_read: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            let clips = session::read_clips(&paths_read)
                .into_iter()
                .collect::<amio_core::Result<Vec<Clip>>>()?;
            let channels = clips.iter().map(Clip::channels).max().unwrap_or(2).max(1);
            check_range("the files' channels", channels, 1, MAX_CHANNELS)?;
            let request = backend.request(None, 0, channels)?;
            let stream = Stream::open(backend.driver("play")?, &request, &Config::default())?;
            // Files at another rate are resampled to the device's, explicitly.
            let rate = check_stream(&stream)?;
            let mut resampled = Vec::new();
            for (clip, path) in clips.into_iter().zip(paths) {
                resampled.push(resample(clip, path, rate)?);
            }
            (
                session::of_files(resampled, stream.interface().info().out_channels)?,
                stream,
            )
        }
    };
    let rate = check_stream(&stream)?;
    session.issue(stream.interface_mut())?;
    let end = options.frames.unwrap_or(session.frames);
    // The transport stops exactly at the end, as a render ends there, even
    // if the backend runs a little longer before it is closed.
    stream.interface_mut().stop(Some(end))?;
    stream.start()?;
    let mut status = StatusLine::new();
    let mut xruns = 0;
    let mut stall = StallGuard::new();
    let result = loop {
        let r = stream.interface().position();
        if r.stream_frame >= end {
            break Ok(end);
        }
        std::thread::sleep(Duration::from_millis(20));
        let events = stream.interface_mut().events();
        for e in &events {
            if let Event::Xrun { count, .. } = e {
                xruns = *count;
            }
        }
        if let Some(message) = fatal(&events) {
            break Err(CliError::Failed(message));
        }
        let r = stream.interface().position();
        status.show(|| {
            format!(
                "{} {}  position {}  xruns {xruns}",
                if r.rolling { "playing" } else { "stopped" },
                bar(r.stream_frame, end, 20),
                clock(i128::from(r.position), rate)
            )
        });
        if let Some(signal) = signals::received() {
            status.clear();
            eprintln!(
                "stopped at {} ({})",
                clock(i128::from(r.position), rate),
                signals::name(signal)
            );
            break Ok(r.stream_frame);
        }
        if let Err(e) = stall.check(r.stream_frame) {
            break Err(e);
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
    /// Input channels to record (1 to [`MAX_CHANNELS`]).
    pub inputs: usize,
    /// Extra round-trip latency (negative to subtract), see `amio latency`.
    pub extra_latency: i64,
    /// How the session is loaded.
    pub load: LoadOptions,
}

/// The positions captured so far, as sorted, disjoint ranges.
#[derive(Default)]
struct Covered(Vec<Range<u64>>);

impl Covered {
    fn add(&mut self, r: Range<u64>) {
        if r.is_empty() {
            return;
        }
        // Input comes in order: most ranges extend the last one.
        if let Some(last) = self.0.last_mut() {
            if r.start >= last.start && r.start <= last.end {
                last.end = last.end.max(r.end);
                return;
            }
        }
        self.0.push(r);
        self.0.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::with_capacity(self.0.len());
        for r in self.0.drain(..) {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r),
            }
        }
        self.0 = merged;
    }

    fn total(&self) -> u64 {
        self.0.iter().map(|r| r.end - r.start).sum()
    }

    fn end(&self) -> u64 {
        self.0.last().map_or(0, |r| r.end)
    }
}

/// Writes the rolling part of a captured chunk that falls on positions
/// `0..length` into the take at those positions.
fn place(
    c: &amio_core::InputChunk,
    length: u64,
    take: &mut WavOutput,
    covered: &mut Covered,
) -> Result<(), CliError> {
    let ic = take.channels();
    if !c.rolling || c.frames() == 0 {
        return Ok(());
    }
    let first = i128::from(c.position);
    let last = first + c.frames() as i128;
    let from = first.max(0);
    let to = last.min(i128::from(length));
    if from >= to {
        return Ok(());
    }
    let skip = (from - first) as usize;
    let count = (to - from) as usize;
    take.write_at(from as u64, &c.samples[skip * ic..(skip + count) * ic])?;
    covered.add(from as u64..to as u64);
    Ok(())
}

/// `amio record`: plays the session (if any) while capturing, and writes
/// the take placed on the session's timeline by the input tags: frame `i`
/// of the take is what was captured while position `i` was audible. The
/// stream runs for the take's length (stream frames 0 to `frames`, as
/// `amio render` renders the session) plus the round trip and two periods,
/// so that the last positions are captured. The take is written to a
/// temporary file beside `output` as it comes in (memory does not grow
/// with its length) and put in place at the end.
///
/// On SIGINT or SIGTERM it stops capturing and keeps what it captured: the
/// take up to the last position captured, in place of `output`, and
/// returns [`CliError::Interrupted`] saying so; if nothing was captured,
/// `output` is left as it was. A second signal while the take is being
/// finished abandons it (the old file is kept).
pub fn record(
    output: &Path,
    backend: &BackendChoice,
    options: &RecordOptions,
) -> Result<Recorded, CliError> {
    let ic = check_range("--inputs", options.inputs, 1, MAX_CHANNELS)?;
    if let Some(path) = &options.session {
        refuse_same("-o", output, &[("the session", path)])?;
    }
    let session = match &options.session {
        Some(path) => Some(Session::load_with(path, &options.load)?),
        None => None,
    };
    if let Some(s) = &session {
        for clip in &s.clip_files {
            refuse_same("-o", output, &[("a clip of the session", clip)])?;
        }
    }
    if options.seconds.is_none() && session.is_none() {
        return Err(CliError::Usage(
            "give --seconds, or a --session to record along".into(),
        ));
    }
    let (rate, channels) = session
        .as_ref()
        .map_or((None, 0), |s| (Some(s.frame_rate), s.channels));
    let mut config = session
        .as_ref()
        .map_or_else(Config::default, Session::config);
    config.extra_latency = options.extra_latency;
    let request = backend.request(rate, ic, channels)?;
    let mut stream = Stream::open(backend.driver("record")?, &request, &config)?;
    let rate = check_stream(&stream)?;
    let length = match (options.seconds, &session) {
        (Some(s), _) => seconds_to_frames("--seconds", s, rate)?,
        (None, Some(s)) => s.frames,
        (None, None) => 0,
    };
    let mut take = WavOutput::create(output, ic, rate)?;
    match &session {
        Some(s) => {
            s.issue(stream.interface_mut())?;
        }
        None => stream.interface_mut().roll(Some(0))?,
    }
    stream.start()?;
    let mut status = StatusLine::new();
    let mut latency = 0;
    let period = stream.interface().info().period as u64;
    let mut covered = Covered::default();
    let mut stall = StallGuard::new();
    let stopped: Result<Option<i32>, CliError> = loop {
        std::thread::sleep(Duration::from_millis(10));
        let events = stream.interface_mut().events();
        for e in &events {
            if let Event::Latency { frames, .. } = e {
                latency = *frames;
            }
        }
        if let Some(message) = fatal(&events) {
            break Err(CliError::Failed(message));
        }
        let mut failed = None;
        while let Some(c) = stream.interface_mut().read_input() {
            if let Err(e) = place(&c, length, &mut take, &mut covered) {
                failed = Some(e);
                break;
            }
        }
        if let Some(e) = failed {
            break Err(e);
        }
        let r = stream.interface().position();
        // Done once every stream frame up to the take's length has been
        // heard and captured.
        let end = length
            .saturating_add(latency)
            .saturating_add(period.saturating_mul(2));
        status.show(|| {
            format!(
                "recording {}  position {}",
                bar(r.stream_frame, end, 20),
                clock(i128::from(r.position), rate)
            )
        });
        if let Some(signal) = signals::received() {
            break Ok(Some(signal));
        }
        if r.stream_frame >= end {
            break Ok(None);
        }
        if let Err(e) = stall.check(r.stream_frame) {
            break Err(e);
        }
    };
    status.clear();
    stream.close()?;
    let stopped = stopped?;
    while let Some(c) = stream.interface_mut().read_input() {
        place(&c, length, &mut take, &mut covered)?;
    }
    let signals_before = signals::count();
    let frames = match stopped {
        Some(signal) => {
            if covered.total() == 0 {
                drop(take);
                return Err(nothing_written(signal, &[output]));
            }
            covered.end()
        }
        None => length,
    };
    take.extend_to(frames)?;
    let finished = take.finish()?;
    if signals::count() > signals_before || (stopped.is_none() && signals::received().is_some()) {
        // A signal while the take was being finished: abandon it.
        drop(finished);
        let signal = signals::received().unwrap_or(libc::SIGINT);
        return Err(nothing_written(signal, &[output]));
    }
    let frames = finished.commit()?;
    let gaps = frames - covered.total().min(frames);
    let gap_note = if gaps > 0 {
        format!("; {gaps} frames were never captured and are silent")
    } else {
        String::new()
    };
    if let Some(signal) = stopped {
        return Err(CliError::Interrupted {
            signal,
            message: format!(
                "wrote the take captured so far to {}: {frames} frames, {ic} channels, placed on the session timeline (L = {latency} frames){gap_note}",
                output.display()
            ),
        });
    }
    Ok(Recorded {
        frames,
        channels: ic,
        latency,
        gaps,
    })
}

/// `amio devices`: the backends that load here and their devices, as text.
pub fn devices() -> String {
    let mut out = String::new();
    for b in amio_plugin::registry::list() {
        let location = b
            .path
            .as_ref()
            .map_or("built in".to_string(), |p| p.display().to_string());
        let _ = writeln!(out, "{} ({location})", b.name);
        if let Err(e) = &b.loads {
            let _ = writeln!(out, "  does not load: {e}");
            continue;
        }
        match amio_plugin::registry::driver(&b.name, "").and_then(|d| d.driver.devices()) {
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
    check_range("--impulses", impulses, 1, MAX_IMPULSES)?;
    let request = backend.request(None, 1, 1)?;
    let mut stream = Stream::open(backend.driver("latency")?, &request, &Config::default())?;
    let rate = check_stream(&stream)?;
    let info = stream.interface().info().clone();
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
    stream.interface_mut().schedule(&playspec, 0, 0, Some(0))?;
    stream.interface_mut().roll(Some(start))?;
    stream
        .interface_mut()
        .stop(Some(start + spacing * impulses as u64))?;
    stream.start()?;
    let mut heard: Vec<u64> = Vec::new();
    let give_up = start + spacing * (impulses as u64 + 4) + u64::from(rate);
    let mut stall = StallGuard::new();
    let result = loop {
        std::thread::sleep(Duration::from_millis(10));
        if let Some(message) = fatal(&stream.interface_mut().events()) {
            break Err(CliError::Failed(message));
        }
        while let Some(c) = stream.interface_mut().read_input() {
            for (i, &x) in c.samples.iter().enumerate() {
                if x > 0.5 {
                    heard.push(c.stream_frame + i as u64);
                }
            }
        }
        let done = stream.interface().position().stream_frame;
        if heard.len() >= impulses || done > give_up {
            break Ok(());
        }
        if let Some(signal) = signals::received() {
            break Err(CliError::Interrupted {
                signal,
                message: "no latency was measured".into(),
            });
        }
        if let Err(e) = stall.check(done) {
            break Err(e);
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
