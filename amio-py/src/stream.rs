//! `amio._native.Stream`: a driver running amio's engine, and the control
//! half of its interface, callable from any Python thread.
//!
//! Every method takes the stream's lock with the interpreter detached, does
//! its work (none of which touches Python), and converts the result to
//! Python objects afterwards: no Python code or object is ever on the audio
//! thread, a call that blocks (opening a device, stopping a driver) never
//! holds the interpreter, and a thread waiting for the lock never holds it
//! either, so calls from several threads and from callbacks cannot deadlock.

use std::os::fd::RawFd;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use amio_core::{
    Config, Event, FaultKind, InputChunk, Meter, MeterWindow, Metering, NullControl, OutcomeKind,
    PositionReader, Stream, StreamConfig, StreamInfo,
};
use amio_plugin::registry as backend;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::arrays::{buffer, empty, from_numpy, to_numpy};
use crate::errors::{check, invalid, state_error, CoreResult};
use crate::playspec::PyPlayspec;

/// A stream on any backend: open it, schedule playspecs, roll, stop and
/// locate (optionally at a target stream frame), read typed events and
/// tagged input. Made by `Stream.open`; closed by `close()` or when
/// collected.
#[pyclass(frozen, module = "amio._native", name = "Stream")]
pub(crate) struct PyStream {
    stream: Mutex<Stream>,
    /// The null backend's control handle (stepping, waiting, injecting).
    null: Option<NullControl>,
    position: PositionReader,
    info: StreamInfo,
    /// The engine's maximum period: `step` works in pieces of it.
    max_period: usize,
}

impl PyStream {
    fn lock(&self) -> MutexGuard<'_, Stream> {
        self.stream.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the stream with the interpreter detached.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Stream) -> CoreResult<T> + Send,
    ) -> PyResult<T> {
        let result = py.detach(|| f(&mut self.lock()));
        check(py, result)
    }

    fn null(&self, py: Python<'_>, what: &str) -> PyResult<&NullControl> {
        self.null.as_ref().ok_or_else(|| {
            state_error(
                py,
                format!(
                    "{what}: only a stream of the null backend can be {what} (this one is {:?})",
                    self.info.backend
                ),
            )
        })
    }
}

/// The interface's configuration from the keyword arguments of `open`.
#[allow(clippy::too_many_arguments)]
fn interface_config(
    py: Python<'_>,
    clamp: bool,
    extra_latency: i64,
    max_latency: Option<u64>,
    command_capacity: Option<usize>,
    outcome_capacity: Option<usize>,
    event_capacity: Option<usize>,
    input_buffer_frames: Option<usize>,
    metering: (String, u64),
    stream_read_ahead_ms: Option<u32>,
    stream_cache_bytes: Option<usize>,
) -> PyResult<Config> {
    let defaults = Config::default();
    let metering = match (metering.0.as_str(), metering.1) {
        ("off", _) => Metering::Off,
        ("period", _) => Metering::EveryPeriod,
        ("frames", n) => Metering::Window(MeterWindow::Frames(n)),
        ("per_second", n) => {
            Metering::Window(MeterWindow::PerSecond(u32::try_from(n).map_err(|_| {
                invalid(py, format!("metering: {n} windows a second is too many"))
            })?))
        }
        (other, _) => {
            return Err(invalid(
                py,
                format!("metering: {other:?} (the rule is: off, period, frames or per_second)"),
            ))
        }
    };
    Ok(Config {
        clamp,
        extra_latency,
        max_latency: max_latency.unwrap_or(defaults.max_latency),
        command_capacity: command_capacity.unwrap_or(defaults.command_capacity),
        outcome_capacity: outcome_capacity.unwrap_or(defaults.outcome_capacity),
        event_capacity: event_capacity.unwrap_or(defaults.event_capacity),
        input_buffer_frames: input_buffer_frames.unwrap_or(defaults.input_buffer_frames),
        metering,
        mix_kernel: defaults.mix_kernel,
        stream_read_ahead_ms: stream_read_ahead_ms.unwrap_or(defaults.stream_read_ahead_ms),
        stream_cache_bytes: stream_cache_bytes.unwrap_or(defaults.stream_cache_bytes),
    })
}

fn outcome_name(kind: OutcomeKind) -> &'static str {
    kind.name()
}

fn fault_name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::ServerGone => "server_gone",
        FaultKind::DeviceGone => "device_gone",
        FaultKind::StreamFailed => "stream_failed",
        FaultKind::ThreadFailed => "thread_failed",
    }
}

fn notice_name(notice: amio_core::Notice) -> &'static str {
    match notice {
        amio_core::Notice::NoRealtimePriority => "no_realtime_priority",
        amio_core::Notice::PacedByClock => "paced_by_clock",
    }
}

/// `[(peak_db, rms_db), …]` per channel.
fn levels(levels: &[amio_core::Level]) -> Vec<(f32, f32)> {
    levels.iter().map(|l| (l.peak_db, l.rms_db)).collect()
}

/// An event as a tuple whose first item names its kind; the Python half
/// (`amio/_events.py`) turns it into a typed object.
fn event_tuple<'py>(py: Python<'py>, event: Event) -> PyResult<Bound<'py, PyTuple>> {
    let t = match event {
        Event::Outcome(o) => (
            "outcome",
            o.id,
            outcome_name(o.kind),
            o.stream_frame,
            o.position,
        )
            .into_pyobject(py)?,
        Event::Position(p) => {
            ("position", p.stream_frame, p.id, p.position, p.rolling).into_pyobject(py)?
        }
        Event::Xrun {
            stream_frame,
            new,
            count,
        } => ("xrun", stream_frame, new, count).into_pyobject(py)?,
        Event::InputLost {
            stream_frame,
            frames,
        } => ("input_lost", stream_frame, frames).into_pyobject(py)?,
        Event::Latency {
            stream_frame,
            frames,
            requested,
        } => ("latency", stream_frame, frames, requested).into_pyobject(py)?,
        Event::EventsLost { count } => ("events_lost", count).into_pyobject(py)?,
        Event::Notice {
            stream_frame,
            notice,
        } => (
            "notice",
            stream_frame,
            notice_name(notice),
            notice.describe(),
        )
            .into_pyobject(py)?,
        Event::Fatal(fault) => {
            ("fatal", fault_name(fault.kind), fault.message).into_pyobject(py)?
        }
        Event::Meter(Meter {
            stream_frame,
            frames,
            input,
            output,
        }) => (
            "meter",
            stream_frame,
            frames,
            levels(&input),
            levels(&output),
        )
            .into_pyobject(py)?,
        Event::DataMissing {
            stream_frame,
            file,
            position,
            frames,
        } => ("data_missing", stream_frame, file, position, frames).into_pyobject(py)?,
        other => ("unknown", format!("{other:?}")).into_pyobject(py)?,
    };
    Ok(t)
}

/// A captured chunk as `(stream_frame, id, position, rolling, lost_before,
/// samples)`, the samples a new float32 `(frames, channels)` array.
fn chunk_tuple<'py>(py: Python<'py>, chunk: InputChunk) -> PyResult<Bound<'py, PyTuple>> {
    let samples = to_numpy(py, &chunk.samples, chunk.channels.max(1))?;
    (
        chunk.stream_frame,
        chunk.id,
        chunk.position,
        chunk.rolling,
        chunk.lost_before,
        samples,
    )
        .into_pyobject(py)
}

fn events_list<'py>(py: Python<'py>, events: Vec<Event>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for event in events {
        list.append(event_tuple(py, event)?)?;
    }
    Ok(list)
}

fn chunks_list<'py>(py: Python<'py>, chunks: Vec<InputChunk>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for chunk in chunks {
        list.append(chunk_tuple(py, chunk)?)?;
    }
    Ok(list)
}

/// Every captured chunk available now.
fn all_input(stream: &mut Stream) -> Vec<InputChunk> {
    std::iter::from_fn(|| stream.interface_mut().read_input()).collect()
}

#[pymethods]
impl PyStream {
    /// Opens a stream on `backend` ("null" is built in; "jack", "alsa",
    /// "cpal" load as plugins) with `options` (`key=value` lines, the
    /// backend's own) and the interface's configuration. The stream does not
    /// run until `start()`; commands issued before wait for their frames.
    #[staticmethod]
    #[pyo3(signature = (
        backend, options="", *, device=None, frame_rate=None, period=None,
        in_channels=2, out_channels=2, clamp=true, extra_latency=0,
        max_latency=None, command_capacity=None, outcome_capacity=None,
        event_capacity=None, input_buffer_frames=None,
        metering=("off".to_owned(), 0), stream_read_ahead_ms=None,
        stream_cache_bytes=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn open(
        py: Python<'_>,
        backend: &str,
        options: &str,
        device: Option<String>,
        frame_rate: Option<u32>,
        period: Option<usize>,
        in_channels: usize,
        out_channels: usize,
        clamp: bool,
        extra_latency: i64,
        max_latency: Option<u64>,
        command_capacity: Option<usize>,
        outcome_capacity: Option<usize>,
        event_capacity: Option<usize>,
        input_buffer_frames: Option<usize>,
        metering: (String, u64),
        stream_read_ahead_ms: Option<u32>,
        stream_cache_bytes: Option<usize>,
    ) -> PyResult<PyStream> {
        let config = interface_config(
            py,
            clamp,
            extra_latency,
            max_latency,
            command_capacity,
            outcome_capacity,
            event_capacity,
            input_buffer_frames,
            metering,
            stream_read_ahead_ms,
            stream_cache_bytes,
        )?;
        let request = StreamConfig {
            device,
            frame_rate,
            period,
            in_channels,
            out_channels,
        };
        let opened = py.detach(|| -> CoreResult<_> {
            let made = backend::driver(backend, options)?;
            let stream = Stream::open(made.driver, &request, &config)?;
            Ok((stream, made.null))
        });
        let (stream, null) = check(py, opened)?;
        let info = stream.interface().info().clone();
        let position = stream.interface().position_reader();
        Ok(PyStream {
            max_period: info.max_period,
            stream: Mutex::new(stream),
            null,
            position,
            info,
        })
    }

    /// What the driver opened: `(backend, device, frame_rate, period,
    /// max_period, in_channels, out_channels, capture_latency,
    /// playback_latency)`.
    #[getter]
    fn info(&self) -> (String, String, u32, usize, usize, usize, usize, u64, u64) {
        let i = &self.info;
        (
            i.backend.clone(),
            i.device.clone(),
            i.frame_rate,
            i.period,
            i.max_period,
            i.in_channels,
            i.out_channels,
            i.capture_latency,
            i.playback_latency,
        )
    }

    /// Starts (or restarts) the driver.
    fn start(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |s| s.start())
    }

    /// Stops the driver; `start()` resumes. The engine's state is kept.
    fn pause(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |s| s.pause())
    }

    /// Stops the driver and closes the interface: changes still pending
    /// are reported dropped. Events and captured input stay readable.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |s| s.close())
    }

    /// Whether the driver is running the engine.
    #[getter]
    fn running(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().is_running())
    }

    /// Whether the stream is closed.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.lock().interface().is_closed())
    }

    /// Schedules a playspec change (SPEC.md "Commands"): once the position
    /// reaches `insert_at`, the playspec becomes current and the position
    /// becomes `start_from + (p - insert_at)`. Takes effect at stream frame
    /// `at` (or the next period). Returns the change's id.
    #[pyo3(signature = (playspec, insert_at=0, start_from=0, at=None))]
    fn schedule(
        &self,
        py: Python<'_>,
        playspec: &PyPlayspec,
        insert_at: i64,
        start_from: i64,
        at: Option<u64>,
    ) -> PyResult<u64> {
        let playspec = &playspec.playspec;
        self.with(py, |s| {
            match s
                .interface_mut()
                .schedule(playspec, insert_at, start_from, at)
            {
                // Outcomes waiting in the queue still count as in flight
                // until they are read: read them (they stay queued as
                // events) and try once more.
                Err(amio_core::Error::QueueFull { queue, .. }) if queue != "command" => {
                    s.interface_mut().has_events();
                    s.interface_mut()
                        .schedule(playspec, insert_at, start_from, at)
                }
                other => other,
            }
        })
    }

    /// Starts the transport at stream frame `at` (or the next period).
    #[pyo3(signature = (at=None))]
    fn roll(&self, py: Python<'_>, at: Option<u64>) -> PyResult<()> {
        self.with(py, |s| s.interface_mut().roll(at))
    }

    /// Stops the transport at stream frame `at` (or the next period). (The
    /// driver is stopped by `pause()` or `close()`.)
    #[pyo3(signature = (at=None))]
    fn stop(&self, py: Python<'_>, at: Option<u64>) -> PyResult<()> {
        self.with(py, |s| s.interface_mut().stop(at))
    }

    /// Sets the position at stream frame `at` (or the next period).
    #[pyo3(signature = (position, at=None))]
    fn locate(&self, py: Python<'_>, position: i64, at: Option<u64>) -> PyResult<()> {
        self.with(py, |s| s.interface_mut().locate(position, at))
    }

    /// Sets the extra round-trip latency (frames, may be negative) added to
    /// the driver's for input tags, from the next period on.
    fn set_extra_latency(&self, py: Python<'_>, frames: i64) -> PyResult<()> {
        self.with(py, |s| {
            s.interface_mut().set_extra_latency(frames);
            Ok(())
        })
    }

    /// The latest position report `(stream_frame, id, position, rolling)`,
    /// read without a lock.
    fn position(&self) -> (u64, u64, i64, bool) {
        let r = self.position.read();
        (r.stream_frame, r.id, r.position, r.rolling)
    }

    /// Ids scheduled that have no outcome yet.
    fn unresolved(&self, py: Python<'_>) -> PyResult<Vec<u64>> {
        self.with(py, |s| Ok(s.interface().unresolved().collect()))
    }

    /// Every event available now, as tuples naming their kind.
    fn events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let events = self.with(py, |s| Ok(s.interface_mut().events()))?;
        events_list(py, events)
    }

    /// The next captured chunk `(stream_frame, id, position, rolling,
    /// lost_before, samples)`, or None.
    fn read_input<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let chunk = self.with(py, |s| Ok(s.interface_mut().read_input()))?;
        chunk.map(|c| chunk_tuple(py, c)).transpose()
    }

    /// The file descriptor that becomes readable when events or input
    /// arrive (watch it with `loop.add_reader`); see `drain`.
    fn wake_fd(&self, py: Python<'_>) -> PyResult<RawFd> {
        self.with(py, |s| s.interface_mut().wake_fd())
    }

    /// Clears the wake-up, then takes every event and every captured chunk
    /// available: `(events, chunks)`.
    fn drain<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyList>, Bound<'py, PyList>)> {
        let (events, chunks) = self.with(py, |s| {
            s.interface_mut().clear_wake();
            Ok((s.interface_mut().events(), all_input(s)))
        })?;
        Ok((events_list(py, events)?, chunks_list(py, chunks)?))
    }

    /// Null backend, stepped mode: processes `frames` frames as a sound card
    /// would, with `input` (`(frames, in_channels)`, silence if None), and
    /// returns the output, a new float32 `(frames, out_channels)` array.
    #[pyo3(signature = (frames, input=None))]
    fn step<'py>(
        &self,
        py: Python<'py>,
        frames: usize,
        input: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, numpy::PyArray2<f32>>> {
        let null = self.null(py, "stepped")?;
        let (ic, oc) = (self.info.in_channels, self.info.out_channels);
        let input = match input {
            None => {
                let n = frames
                    .checked_mul(ic)
                    .ok_or_else(|| invalid(py, format!("step: {frames} frames is too many")))?;
                let mut silence = Vec::new();
                silence.try_reserve_exact(n).map_err(|_| {
                    invalid(
                        py,
                        format!("step: {frames} frames of input do not fit in memory"),
                    )
                })?;
                silence.resize(n, 0.0);
                silence
            }
            Some(array) => {
                let (channels, samples) = from_numpy(py, array, "step input")?;
                if channels != ic || samples.len() != frames.saturating_mul(ic) {
                    return Err(invalid(
                        py,
                        format!(
                            "step input: {} frames of {channels} channels (the rule is: ({frames}, {ic}), one row per frame and a column per input channel)",
                            samples.len().checked_div(channels).unwrap_or(0)
                        ),
                    ));
                }
                samples
            }
        };
        let mut output = empty(py, frames, oc)?;
        let out = buffer(&mut output);
        let result = py.detach(|| null.step(frames, &input, out));
        check(py, result)?;
        Ok(output)
    }

    /// Null backend, offline mode: waits until every frame is rendered or
    /// `timeout` seconds pass; returns whether it finished.
    fn wait(&self, py: Python<'_>, timeout: f64) -> PyResult<bool> {
        let null = self.null(py, "waited for")?;
        let timeout = Duration::try_from_secs_f64(timeout).map_err(|_| {
            invalid(
                py,
                format!("wait: timeout {timeout} s (the rule is: finite, at least 0)"),
            )
        })?;
        Ok(py.detach(|| null.wait(timeout)))
    }

    /// Null backend: reports an xrun as a sound card would.
    fn inject_xrun(&self, py: Python<'_>) -> PyResult<()> {
        let null = self.null(py, "given an xrun")?;
        check(py, null.inject_xrun())
    }

    /// Null backend: reports a fatal error as a failing device would.
    /// `kind` is server_gone, device_gone, stream_failed or thread_failed.
    fn inject_fault(&self, py: Python<'_>, kind: &str, message: &str) -> PyResult<()> {
        let null = self.null(py, "given a fault")?;
        let kind = match kind {
            "server_gone" => FaultKind::ServerGone,
            "device_gone" => FaultKind::DeviceGone,
            "stream_failed" => FaultKind::StreamFailed,
            "thread_failed" => FaultKind::ThreadFailed,
            other => {
                return Err(invalid(
                    py,
                    format!("inject_fault: kind {other:?} (the rule is: server_gone, device_gone, stream_failed or thread_failed)"),
                ))
            }
        };
        check(py, null.inject_fault(kind, message))
    }

    /// The most frames the engine processes at once.
    #[getter]
    fn max_period(&self) -> usize {
        self.max_period
    }

    fn __repr__(&self) -> String {
        format!(
            "amio._native.Stream(backend={:?}, device={:?}, frame_rate={}, period={}, in_channels={}, out_channels={})",
            self.info.backend,
            self.info.device,
            self.info.frame_rate,
            self.info.period,
            self.info.in_channels,
            self.info.out_channels
        )
    }
}
