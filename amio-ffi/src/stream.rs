//! Streams in C: open a backend by name, schedule, run the transport, read
//! events and input.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use amio_core::plugin::PluginOptions;
use amio_core::{
    Config, Event, Meter, Metering, NullConfig, NullControl, NullDriver, OutcomeKind,
    PositionReader, Stream, StreamConfig, StreamInfo,
};

use crate::args::{fill, optional_text, slice, slice_mut, text};
use crate::playspec::amio_playspec;
use crate::registry::{self, Object};
use crate::status::{
    amio_status, check_out, guard, write_out, Failure, AMIO_ERROR_CLOSED, AMIO_ERROR_WRONG_MODE,
};

/// A stream: a backend running amio's engine. Opaque; free with
/// [`amio_stream_free`].
pub struct amio_stream {
    _opaque: [u8; 0],
}

/// `at` meaning "at the start of the next period", not at a given stream
/// frame.
pub const AMIO_NOW: u64 = u64::MAX;

/// Receives each period's output (null backend, paced and offline modes),
/// on the driver's thread: the first frame's stream frame, `frames`
/// interleaved frames.
pub type amio_output_callback = Option<
    unsafe extern "C" fn(user: *mut c_void, stream_frame: u64, samples: *const f32, frames: usize),
>;

/// Fills each period's input (null backend, paced and offline modes), on
/// the driver's thread.
pub type amio_input_callback = Option<
    unsafe extern "C" fn(user: *mut c_void, stream_frame: u64, samples: *mut f32, frames: usize),
>;

/// Called from a libamio thread when events become available to poll; see
/// [`amio_stream_set_event_callback`].
pub type amio_event_callback = Option<unsafe extern "C" fn(user: *mut c_void)>;

/// How to open a stream. Initialise with [`amio_stream_config_init`], then
/// change what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct amio_stream_config {
    /// `sizeof(amio_stream_config)`, set by [`amio_stream_config_init`].
    pub struct_size: u32,
    /// The device (JACK: the server), or NULL for the default.
    pub device: *const c_char,
    /// Frames per second, or 0 for the backend's.
    pub frame_rate: u32,
    /// Frames per period, or 0 for the backend's.
    pub period: u32,
    /// Input channels to capture.
    pub in_channels: u32,
    /// Output channels to play.
    pub out_channels: u32,
    /// 1: clamp output to [-1, 1] (default); 0: don't.
    pub clamp: u32,
    /// Extra round-trip latency for input tags, in frames (negative to
    /// correct a driver that reports more than the real round trip).
    pub extra_latency: i64,
    /// The largest round-trip latency input tags can follow (0: default).
    pub max_latency: u64,
    /// Commands in flight (0: default).
    pub command_capacity: u32,
    /// Changes awaiting an outcome (0: default).
    pub outcome_capacity: u32,
    /// Captured frames buffered before input is dropped (0: default).
    pub input_buffer_frames: u32,
    /// Backend options, `key=value` lines, or NULL. null: `mode`
    /// (stepped, paced, offline), `frames`, `capture_latency`,
    /// `playback_latency`, `loopback`. jack: `client_name`, `server`,
    /// `input_names`, `output_names`, `connect`, `connect_inputs`,
    /// `connect_outputs`.
    pub options: *const c_char,
    /// null backend, paced and offline: receives the output.
    pub output_callback: amio_output_callback,
    /// null backend, paced and offline: fills the input.
    pub input_callback: amio_input_callback,
    /// Passed to both callbacks.
    pub callback_user: *mut c_void,
    /// Live meters (`AMIO_EVENT_METER`): `AMIO_METERING_OFF` (default),
    /// `AMIO_METERING_EVERY_PERIOD`, or `AMIO_WINDOW_FRAMES` /
    /// `AMIO_WINDOW_PER_SECOND` with `meter_window`.
    pub metering: u32,
    /// Frames per window, or windows per second, as `metering` says.
    pub meter_window: u64,
}

/// No live meters.
pub const AMIO_METERING_OFF: u32 = 0;
/// A live meter for every period.
pub const AMIO_METERING_EVERY_PERIOD: u32 = 1;

/// What a stream opened.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct amio_stream_info {
    /// The backend, NUL-terminated.
    pub backend: [c_char; 32],
    /// The device, NUL-terminated.
    pub device: [c_char; 256],
    /// Frames per second.
    pub frame_rate: u32,
    /// The nominal period.
    pub period: u32,
    /// The most frames the engine processes at once.
    pub max_period: u32,
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
    /// Capture latency reported by the driver, in frames.
    pub capture_latency: u64,
    /// Playback latency reported by the driver, in frames.
    pub playback_latency: u64,
}

/// Where the engine is (see `PositionReport` in docs/engine.md).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct amio_position {
    /// The next stream frame to process.
    pub stream_frame: u64,
    /// The current playspec's id (0: the initial empty one).
    pub id: u64,
    /// The next frame's position.
    pub position: i64,
    /// Whether the transport rolls.
    pub rolling: bool,
}

/// Event kinds.
pub type amio_event_kind = u32;
/// A scheduled change was applied: `id`, `stream_frame`, `position`.
pub const AMIO_EVENT_APPLIED: amio_event_kind = 1;
/// A pending change was replaced by a newer one: `id`, `stream_frame`.
pub const AMIO_EVENT_SUPERSEDED: amio_event_kind = 2;
/// A change was pending when the stream closed: `id`, `stream_frame`.
pub const AMIO_EVENT_DROPPED: amio_event_kind = 3;
/// A position report: `stream_frame`, `id`, `position`, `rolling`.
pub const AMIO_EVENT_POSITION: amio_event_kind = 4;
/// xruns: `stream_frame`, `frames` new ones, `count` in all.
pub const AMIO_EVENT_XRUN: amio_event_kind = 5;
/// Captured input dropped: `stream_frame`, `frames`.
pub const AMIO_EVENT_INPUT_LOST: amio_event_kind = 6;
/// The latency for input tags: `stream_frame`, `frames` in use,
/// `count` asked for.
pub const AMIO_EVENT_LATENCY: amio_event_kind = 7;
/// Events dropped because they were not read: `count`.
pub const AMIO_EVENT_EVENTS_LOST: amio_event_kind = 8;
/// The driver failed: `fault_kind`, `message`.
pub const AMIO_EVENT_FATAL: amio_event_kind = 9;

/// The driver says something about how it runs: `count` is the notice
/// (`AMIO_NOTICE_*`), `message` describes it.
pub const AMIO_EVENT_NOTICE: amio_event_kind = 10;
/// Live meter levels for `frames` frames from `stream_frame`; read them
/// with [`crate::amio_stream_meter_levels`] before the next poll.
pub const AMIO_EVENT_METER: amio_event_kind = 11;

/// Notices of `AMIO_EVENT_NOTICE`.
pub type amio_notice = u32;
/// The audio thread runs without real-time priority.
pub const AMIO_NOTICE_NO_REALTIME_PRIORITY: amio_notice = 0;
/// The device is not paced by a clock; the driver paces it.
pub const AMIO_NOTICE_PACED_BY_CLOCK: amio_notice = 1;

/// Fault kinds of `AMIO_EVENT_FATAL`.
pub type amio_fault_kind = u32;
/// The sound server went away.
pub const AMIO_FAULT_SERVER_GONE: amio_fault_kind = 1;
/// The device vanished.
pub const AMIO_FAULT_DEVICE_GONE: amio_fault_kind = 2;
/// The stream failed otherwise.
pub const AMIO_FAULT_STREAM_FAILED: amio_fault_kind = 3;
/// The driver's thread ended unexpectedly.
pub const AMIO_FAULT_THREAD_FAILED: amio_fault_kind = 4;

/// One event; the fields that do not apply to its kind are 0.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct amio_event {
    /// `AMIO_EVENT_*`.
    pub kind: amio_event_kind,
    /// The playspec change's id (outcomes, positions).
    pub id: u64,
    /// The stream frame the event refers to.
    pub stream_frame: u64,
    /// A position (outcomes, positions).
    pub position: i64,
    /// Rolling (positions).
    pub rolling: bool,
    /// A count (xruns in all, events lost, latency asked for).
    pub count: u64,
    /// A number of frames (new xruns, input lost, latency in use).
    pub frames: u64,
    /// `AMIO_FAULT_*` (fatal).
    pub fault_kind: amio_fault_kind,
    /// The driver's message (fatal), NUL-terminated.
    pub message: [c_char; 256],
}

/// What [`amio_stream_read_input`] read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct amio_chunk_info {
    /// The stream frame of the first frame read.
    pub stream_frame: u64,
    /// The playspec id audible at those frames.
    pub id: u64,
    /// The position audible at the first frame read.
    pub position: i64,
    /// Whether the transport was rolling at the audible frames.
    pub rolling: bool,
    /// Frames dropped just before the first frame read.
    pub lost_before: u64,
    /// Frames read.
    pub frames: u64,
}

thread_local! {
    /// Set on a libamio thread while it runs one of the host's callbacks.
    static IN_CALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a host callback, marking the thread as inside one.
fn in_callback<R>(f: impl FnOnce() -> R) -> R {
    IN_CALLBACK.with(|c| c.set(true));
    let r = f();
    IN_CALLBACK.with(|c| c.set(false));
    r
}

/// Refuses `function` on a thread that is running one of libamio's
/// callbacks: it would wait for that very thread (a deadlock).
fn not_in_callback(function: &str) -> Result<(), Failure> {
    if IN_CALLBACK.with(std::cell::Cell::get) {
        return Err(Failure::new(
            crate::status::AMIO_ERROR_IN_CALLBACK,
            format!("{function} is not allowed from inside a libamio callback (it would wait for the callback's own thread); call it from the control thread"),
        ));
    }
    Ok(())
}

/// A pointer a host gave us, to pass back from our threads.
#[derive(Clone, Copy)]
struct UserPtr(*mut c_void);
// SAFETY: we only hand it back to the host's callbacks, which the host
// wrote to be called from our threads.
unsafe impl Send for UserPtr {}
// SAFETY: as above.
unsafe impl Sync for UserPtr {}

impl UserPtr {
    /// The pointer (a method, so closures capture the whole `Send` wrapper).
    fn get(self) -> *mut c_void {
        self.0
    }
}

/// Wakes a host's event loop when events become available.
#[derive(Default)]
struct Wake {
    /// The read and write ends of the pipe, once asked for.
    pipe: Option<(i32, i32)>,
    callback: amio_event_callback,
    user: Option<UserPtr>,
    watcher: Option<JoinHandle<()>>,
    /// The pipe that tells the watcher to end (read, write).
    quit: Option<(i32, i32)>,
}

/// A stream as the registry holds it.
pub(crate) struct StreamObject {
    stream: Mutex<Stream>,
    /// The engine's position, readable from any thread without the lock
    /// (which close holds while it joins the driver's thread).
    position: PositionReader,
    /// What the driver opened.
    info: StreamInfo,
    null: Option<NullControl>,
    wake: Mutex<Wake>,
    /// Set when events were signalled and not yet all polled.
    signalled: AtomicBool,
    quit: AtomicBool,
    /// The last meter event polled, for [`crate::amio_stream_meter_levels`].
    last_meter: Mutex<Option<Meter>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StreamObject {
    fn stream(&self) -> MutexGuard<'_, Stream> {
        lock(&self.stream)
    }

    /// The last meter event polled.
    pub(crate) fn last_meter(&self) -> Option<Meter> {
        lock(&self.last_meter).clone()
    }

    /// Watches for events and wakes the host (one thread per stream, made
    /// on the first request for a file descriptor or callback). It sleeps
    /// in `poll` on the engine's own wake-up descriptor (written at the end
    /// of a period, or by a fatal driver error) and on a pipe that `shut`
    /// writes to: no timer.
    fn watch(self: Arc<StreamObject>, engine_fd: i32, quit_fd: i32) {
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: engine_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: quit_fd,
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: two valid pollfd structs; both descriptors stay open
            // until this thread has been joined (`shut` joins before closing
            // the pipe; the engine's descriptor lives as long as the stream,
            // which this thread keeps alive through its Arc).
            let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
            if n < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            if fds[1].revents != 0 || self.quit.load(Ordering::Acquire) {
                return;
            }
            let waiting = {
                let mut stream = self.stream();
                stream.clear_wake();
                stream.has_events()
            };
            if !waiting || self.signalled.swap(true, Ordering::AcqRel) {
                continue;
            }
            let (pipe, callback, user) = {
                let w = lock(&self.wake);
                (w.pipe, w.callback, w.user)
            };
            if let Some((_, write_fd)) = pipe {
                let byte = 1u8;
                // SAFETY: our own non-blocking pipe; a full pipe is fine
                // (the host has a wake-up waiting already).
                unsafe { libc::write(write_fd, (&byte as *const u8).cast(), 1) };
            }
            if let (Some(cb), Some(user)) = (callback, user) {
                // SAFETY: the host's callback, documented to be called from
                // a libamio thread.
                in_callback(|| unsafe { cb(user.get()) });
            }
        }
    }

    /// Called when a poll found nothing: re-arm the wake-up.
    fn rearm(&self) {
        if !self.signalled.swap(false, Ordering::AcqRel) {
            return;
        }
        if let Some((read_fd, _)) = lock(&self.wake).pipe {
            let mut buf = [0u8; 64];
            // SAFETY: our own non-blocking pipe, drained until empty.
            while unsafe { libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
        }
    }

    fn ensure_watcher(self: &Arc<StreamObject>, wake: &mut Wake) -> Result<(), Failure> {
        if wake.watcher.is_some() {
            return Ok(());
        }
        let engine_fd = self.stream().wake_fd()?;
        let mut quit = [0i32; 2];
        // SAFETY: a valid array of two descriptors.
        if unsafe { libc::pipe2(quit.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
            return Err(Failure::from(amio_core::Error::Io {
                context: "making the event watcher's pipe".into(),
                source: std::io::Error::last_os_error(),
            }));
        }
        let me = Arc::clone(self);
        let quit_read = quit[0];
        let handle = std::thread::Builder::new()
            .name("amio-events".into())
            .spawn(move || me.watch(engine_fd, quit_read));
        match handle {
            Ok(handle) => {
                wake.watcher = Some(handle);
                wake.quit = Some((quit[0], quit[1]));
                Ok(())
            }
            Err(e) => {
                for fd in quit {
                    // SAFETY: the pipe made above, used by no one.
                    unsafe { libc::close(fd) };
                }
                Err(Failure::from(amio_core::Error::Io {
                    context: "starting the event watcher".into(),
                    source: e,
                }))
            }
        }
    }

    /// Stops the watcher and closes the pipes (before the stream is dropped).
    fn shut(&self) {
        self.quit.store(true, Ordering::Release);
        let (watcher, pipe, quit) = {
            let mut w = lock(&self.wake);
            (w.watcher.take(), w.pipe.take(), w.quit.take())
        };
        if let Some((_, write_fd)) = quit {
            let byte = 1u8;
            // SAFETY: the watcher's own quit pipe, still open.
            unsafe { libc::write(write_fd, (&byte as *const u8).cast(), 1) };
        }
        if let Some(handle) = watcher {
            let _ = handle.join();
        }
        for (r, w) in [pipe, quit].into_iter().flatten() {
            // SAFETY: our own descriptors, closed once, after the watcher
            // that used them has ended.
            unsafe {
                libc::close(r);
                libc::close(w);
            }
        }
    }
}

fn defaults() -> amio_stream_config {
    let c = Config::default();
    amio_stream_config {
        struct_size: std::mem::size_of::<amio_stream_config>() as u32,
        device: std::ptr::null(),
        frame_rate: 0,
        period: 0,
        in_channels: 2,
        out_channels: 2,
        clamp: 1,
        extra_latency: c.extra_latency,
        max_latency: 0,
        command_capacity: 0,
        outcome_capacity: 0,
        input_buffer_frames: 0,
        options: std::ptr::null(),
        output_callback: None,
        input_callback: None,
        callback_user: std::ptr::null_mut(),
        metering: AMIO_METERING_OFF,
        meter_window: 0,
    }
}

/// Fills `config` with the defaults: the backend's frame rate and period,
/// 2 in and 2 out, clamping on, no options. Any thread.
///
/// # Safety
/// `config` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_config_init(config: *mut amio_stream_config) -> amio_status {
    guard("amio_stream_config_init", || {
        // SAFETY: per this function's contract.
        unsafe { write_out(config, "config", defaults()) }
    })
}

/// Opens a stream on a backend by name: `"null"` (built in) or a plugin
/// (`"jack"`, …) found on the plugin search path. The stream does not run
/// until [`amio_stream_start`]; commands issued before then take effect at
/// their target frames. `config` may be NULL for the defaults. Control
/// thread (any thread, one call at a time per stream).
///
/// # Safety
/// `backend` must be NUL-terminated; `config` NULL or a valid config;
/// `stream_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_open(
    backend: *const c_char,
    config: *const amio_stream_config,
    stream_out: *mut *mut amio_stream,
) -> amio_status {
    guard("amio_stream_open", || {
        check_out(stream_out, "stream_out")?;
        // SAFETY: per this function's contract.
        let backend = unsafe { text(backend, "backend") }?;
        let c = if config.is_null() {
            defaults()
        } else {
            // SAFETY: non-NULL; the first field tells how big it is.
            let size = unsafe { (*config).struct_size };
            if size as usize != std::mem::size_of::<amio_stream_config>() {
                return Err(Failure::invalid(format!(
                    "config->struct_size is {size}, this libamio's amio_stream_config has {} bytes (call amio_stream_config_init)",
                    std::mem::size_of::<amio_stream_config>()
                )));
            }
            // SAFETY: the whole struct is there.
            unsafe { *config }
        };
        if c.clamp > 1 {
            return Err(Failure::invalid(format!(
                "config->clamp is {}, not 0 or 1",
                c.clamp
            )));
        }
        // SAFETY: per this function's contract.
        let options = unsafe { optional_text(c.options, "config->options") }?.unwrap_or_default();
        // SAFETY: per this function's contract.
        let device = unsafe { optional_text(c.device, "config->device") }?;
        let request = StreamConfig {
            device,
            frame_rate: (c.frame_rate != 0).then_some(c.frame_rate),
            period: (c.period != 0).then_some(c.period as usize),
            in_channels: c.in_channels as usize,
            out_channels: c.out_channels as usize,
        };
        let d = Config::default();
        let nonzero = |v: u64, default: u64| if v == 0 { default } else { v };
        let engine_config = Config {
            clamp: c.clamp == 1,
            extra_latency: c.extra_latency,
            max_latency: nonzero(c.max_latency, d.max_latency),
            command_capacity: nonzero(u64::from(c.command_capacity), d.command_capacity as u64)
                as usize,
            outcome_capacity: nonzero(u64::from(c.outcome_capacity), d.outcome_capacity as u64)
                as usize,
            event_capacity: d.event_capacity,
            input_buffer_frames: nonzero(
                u64::from(c.input_buffer_frames),
                d.input_buffer_frames as u64,
            ) as usize,
            metering: match c.metering {
                AMIO_METERING_OFF => Metering::Off,
                AMIO_METERING_EVERY_PERIOD => Metering::EveryPeriod,
                kind => Metering::Window(crate::meter::window(
                    kind,
                    c.meter_window,
                    "config->metering",
                )?),
            },
        };
        let (driver, null): (Box<dyn amio_core::AudioDriver>, _) = if backend == "null" {
            let mut driver =
                NullDriver::new(NullConfig::from_options(PluginOptions::parse(&options)?)?);
            let user = UserPtr(c.callback_user);
            let (ic, oc) = (c.in_channels as usize, c.out_channels as usize);
            if let Some(cb) = c.output_callback {
                driver = driver.with_output(Box::new(move |s, out| {
                    let frames = out.len().checked_div(oc).unwrap_or(0);
                    // SAFETY: the host's callback, with `frames` frames valid
                    // for the call.
                    in_callback(|| unsafe { cb(user.get(), s, out.as_ptr(), frames) })
                }));
            }
            if let Some(cb) = c.input_callback {
                driver = driver.with_input(Box::new(move |s, input| {
                    let frames = input.len().checked_div(ic).unwrap_or(0);
                    // SAFETY: as above, for writing.
                    in_callback(|| unsafe { cb(user.get(), s, input.as_mut_ptr(), frames) })
                }));
            }
            let control = driver.control();
            (Box::new(driver), Some(control))
        } else {
            if c.output_callback.is_some() || c.input_callback.is_some() {
                return Err(Failure::new(
                    crate::status::AMIO_ERROR_CONFIG,
                    format!("config->output_callback and input_callback are for the null backend, not {backend:?}"),
                ));
            }
            let opened = amio_core::backend::driver(&backend, &options)?;
            (opened.driver, opened.null)
        };
        let stream = Stream::open(driver, &request, &engine_config)?;
        let object = StreamObject {
            position: stream.position_reader(),
            info: stream.info().clone(),
            stream: Mutex::new(stream),
            null,
            wake: Mutex::new(Wake::default()),
            signalled: AtomicBool::new(false),
            quit: AtomicBool::new(false),
            last_meter: Mutex::new(None),
        };
        let handle = registry::insert(Object::Stream(Arc::new(object)));
        // SAFETY: checked writable above.
        unsafe { write_out(stream_out, "stream_out", handle) }
    })
}

/// Runs `f` on a live stream, refusing commands once it is closed.
fn with_stream<R>(
    stream: *const amio_stream,
    f: impl FnOnce(&StreamObject, &mut Stream) -> Result<R, Failure>,
) -> Result<R, Failure> {
    let object = registry::stream(stream, "stream")?;
    let mut s = object.stream();
    f(&object, &mut s)
}

fn open_for_commands(s: &Stream) -> Result<(), Failure> {
    if s.is_closed() {
        Err(Failure::new(AMIO_ERROR_CLOSED, "the stream is closed"))
    } else {
        Ok(())
    }
}

fn target(at: u64) -> Option<u64> {
    (at != AMIO_NOW).then_some(at)
}

/// Writes what the stream opened. Any thread.
///
/// # Safety
/// `info_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_get_info(
    stream: *const amio_stream,
    info_out: *mut amio_stream_info,
) -> amio_status {
    guard("amio_stream_get_info", || {
        check_out(info_out, "info_out")?;
        let object = registry::stream(stream, "stream")?;
        let info = &object.info;
        let mut out = amio_stream_info {
            backend: [0; 32],
            device: [0; 256],
            frame_rate: info.frame_rate,
            period: u32::try_from(info.period).unwrap_or(u32::MAX),
            max_period: u32::try_from(info.max_period).unwrap_or(u32::MAX),
            in_channels: info.in_channels as u32,
            out_channels: info.out_channels as u32,
            capture_latency: info.capture_latency,
            playback_latency: info.playback_latency,
        };
        fill(&mut out.backend, &info.backend);
        fill(&mut out.device, &info.device);
        // SAFETY: checked writable above.
        unsafe { write_out(info_out, "info_out", out) }
    })
}

/// Starts (or restarts) the stream. Control thread; from inside a libamio
/// callback it is `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_start(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_start", || {
        not_in_callback("amio_stream_start")?;
        with_stream(stream, |_, s| {
            open_for_commands(s)?;
            Ok(s.start()?)
        })
    })
}

/// Stops the stream; it keeps its state and can start again. Control
/// thread; from inside a libamio callback it is `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_stop(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_stop", || {
        not_in_callback("amio_stream_stop")?;
        with_stream(stream, |_, s| Ok(s.pause()?))
    })
}

/// Closes the stream: stops the driver; changes still pending are reported
/// dropped. Commands are refused from now on (`AMIO_ERROR_CLOSED`); events
/// and captured input stay readable until [`amio_stream_free`]. Closing
/// twice is fine. Control thread; from inside a libamio callback (which
/// closing would wait for) it is `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_close(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_close", || {
        not_in_callback("amio_stream_close")?;
        with_stream(stream, |_, s| Ok(s.close()?))
    })
}

/// Closes (if needed) and frees a stream. NULL does nothing; a freed handle
/// is `AMIO_ERROR_INVALID_HANDLE`. Control thread; from inside a libamio
/// callback it is `AMIO_ERROR_IN_CALLBACK`.
#[no_mangle]
pub extern "C" fn amio_stream_free(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_free", || {
        not_in_callback("amio_stream_free")?;
        let removed = registry::remove(stream, "stream", "a stream", |o| {
            matches!(o, Object::Stream(_))
        })?;
        if let Some(Object::Stream(object)) = removed {
            object.shut();
            let _ = object.stream().close();
        }
        Ok(())
    })
}

/// Schedules a playspec change: once `p >= insert_at` the playspec becomes
/// current and `p = start_from + (p - insert_at)`. The command takes effect
/// at stream frame `at` (or `AMIO_NOW`: the next period). Writes the
/// change's id (strictly increasing from 1) to `id_out`. A playspec whose
/// entries do not fit the stream (gain count, frame rate) is
/// `AMIO_ERROR_INVALID_ENTRY` and nothing changes. Control thread.
///
/// # Safety
/// `id_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_schedule(
    stream: *mut amio_stream,
    playspec: *const amio_playspec,
    insert_at: i64,
    start_from: i64,
    at: u64,
    id_out: *mut u64,
) -> amio_status {
    guard("amio_stream_schedule", || {
        check_out(id_out, "id_out")?;
        let p = registry::with_playspec(playspec, "playspec", |p| p.playspec())?;
        let id = with_stream(stream, |_, s| {
            open_for_commands(s)?;
            Ok(s.schedule(&p, insert_at, start_from, target(at))?)
        })?;
        // SAFETY: checked writable above.
        unsafe { write_out(id_out, "id_out", id) }
    })
}

/// Starts the transport at stream frame `at` (or `AMIO_NOW`). Control
/// thread.
#[no_mangle]
pub extern "C" fn amio_transport_roll(stream: *mut amio_stream, at: u64) -> amio_status {
    guard("amio_transport_roll", || {
        with_stream(stream, |_, s| {
            open_for_commands(s)?;
            Ok(s.roll(target(at))?)
        })
    })
}

/// Stops the transport at stream frame `at` (or `AMIO_NOW`). Control
/// thread.
#[no_mangle]
pub extern "C" fn amio_transport_stop(stream: *mut amio_stream, at: u64) -> amio_status {
    guard("amio_transport_stop", || {
        with_stream(stream, |_, s| {
            open_for_commands(s)?;
            Ok(s.stop(target(at))?)
        })
    })
}

/// Sets the position at stream frame `at` (or `AMIO_NOW`). Control thread.
#[no_mangle]
pub extern "C" fn amio_transport_locate(
    stream: *mut amio_stream,
    position: i64,
    at: u64,
) -> amio_status {
    guard("amio_transport_locate", || {
        with_stream(stream, |_, s| {
            open_for_commands(s)?;
            Ok(s.locate(position, target(at))?)
        })
    })
}

/// Sets the extra round-trip latency for input tags (negative to subtract).
/// Control thread.
#[no_mangle]
pub extern "C" fn amio_stream_set_extra_latency(
    stream: *mut amio_stream,
    frames: i64,
) -> amio_status {
    guard("amio_stream_set_extra_latency", || {
        with_stream(stream, |_, s| {
            s.set_extra_latency(frames);
            Ok(())
        })
    })
}

/// Writes the engine's latest position. Any thread, also from inside a
/// libamio callback while another thread closes the stream: it takes no
/// lock that closing holds.
///
/// # Safety
/// `position_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_get_position(
    stream: *const amio_stream,
    position_out: *mut amio_position,
) -> amio_status {
    guard("amio_stream_get_position", || {
        check_out(position_out, "position_out")?;
        let r = registry::stream(stream, "stream")?.position.read();
        let p = amio_position {
            stream_frame: r.stream_frame,
            id: r.id,
            position: r.position,
            rolling: r.rolling,
        };
        // SAFETY: checked writable above.
        unsafe { write_out(position_out, "position_out", p) }
    })
}

fn c_event(e: &Event) -> amio_event {
    let mut out = amio_event {
        kind: 0,
        id: 0,
        stream_frame: 0,
        position: 0,
        rolling: false,
        count: 0,
        frames: 0,
        fault_kind: 0,
        message: [0; 256],
    };
    match e {
        Event::Outcome(o) => {
            out.kind = match o.kind {
                OutcomeKind::Applied => AMIO_EVENT_APPLIED,
                OutcomeKind::Superseded => AMIO_EVENT_SUPERSEDED,
                OutcomeKind::Dropped => AMIO_EVENT_DROPPED,
            };
            out.id = o.id;
            out.stream_frame = o.stream_frame;
            out.position = o.position;
        }
        Event::Position(r) => {
            out.kind = AMIO_EVENT_POSITION;
            out.id = r.id;
            out.stream_frame = r.stream_frame;
            out.position = r.position;
            out.rolling = r.rolling;
        }
        Event::Xrun {
            stream_frame,
            new,
            count,
        } => {
            out.kind = AMIO_EVENT_XRUN;
            out.stream_frame = *stream_frame;
            out.frames = *new;
            out.count = *count;
        }
        Event::InputLost {
            stream_frame,
            frames,
        } => {
            out.kind = AMIO_EVENT_INPUT_LOST;
            out.stream_frame = *stream_frame;
            out.frames = *frames;
        }
        Event::Latency {
            stream_frame,
            frames,
            requested,
        } => {
            out.kind = AMIO_EVENT_LATENCY;
            out.stream_frame = *stream_frame;
            out.frames = *frames;
            out.count = *requested;
        }
        Event::EventsLost { count } => {
            out.kind = AMIO_EVENT_EVENTS_LOST;
            out.count = *count;
        }
        Event::Notice {
            stream_frame,
            notice,
        } => {
            out.kind = AMIO_EVENT_NOTICE;
            out.stream_frame = *stream_frame;
            out.count = *notice as u64;
            fill(&mut out.message, notice.describe());
        }
        Event::Meter(m) => {
            out.kind = AMIO_EVENT_METER;
            out.stream_frame = m.stream_frame;
            out.frames = m.frames;
        }
        Event::Fatal(f) => {
            out.kind = AMIO_EVENT_FATAL;
            out.fault_kind = f.kind as u32;
            fill(&mut out.message, &f.message);
        }
        _ => {}
    }
    out
}

/// Takes the next event, if any: writes it to `event_out` and sets
/// `*got_out` to true, or sets `*got_out` to false when there is none (which
/// also re-arms the wake-up of [`amio_stream_event_fd`] and
/// [`amio_stream_set_event_callback`]). Works after close. Control thread.
///
/// # Safety
/// `event_out` and `got_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_poll_event(
    stream: *mut amio_stream,
    event_out: *mut amio_event,
    got_out: *mut bool,
) -> amio_status {
    guard("amio_stream_poll_event", || {
        check_out(event_out, "event_out")?;
        check_out(got_out, "got_out")?;
        let event = with_stream(stream, |object, s| {
            let e = s.poll_event();
            if e.is_none() {
                object.rearm();
            }
            if let Some(Event::Meter(m)) = &e {
                *lock(&object.last_meter) = Some(m.clone());
            }
            Ok(e)
        })?;
        // SAFETY: both checked writable above.
        unsafe {
            if let Some(e) = &event {
                write_out(event_out, "event_out", c_event(e))?;
            }
            write_out(got_out, "got_out", event.is_some())
        }
    })
}

/// Reads captured input into `buffer` (`buffer_len` samples, whole frames
/// of `in_channels`): as many frames of one run of consecutive tags as fit.
/// Sets `*got_out` to false when no input is waiting. Works after close.
/// Control thread.
///
/// # Safety
/// `buffer` must hold `buffer_len` floats; `info_out`, `got_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_read_input(
    stream: *mut amio_stream,
    buffer: *mut f32,
    buffer_len: usize,
    info_out: *mut amio_chunk_info,
    got_out: *mut bool,
) -> amio_status {
    guard("amio_stream_read_input", || {
        check_out(info_out, "info_out")?;
        check_out(got_out, "got_out")?;
        // SAFETY: per this function's contract.
        let buf = unsafe { slice_mut(buffer, buffer_len, "buffer") }?;
        let read = with_stream(stream, |_, s| {
            let ic = s.info().in_channels;
            if ic > 0 && buf.len() < ic {
                return Err(Failure::new(
                    crate::status::AMIO_ERROR_BUFFER_SIZE,
                    format!(
                        "buffer_len {} holds no whole frame of {ic} channels",
                        buf.len()
                    ),
                ));
            }
            Ok(s.read_input_into(buf))
        })?;
        // SAFETY: both checked writable above.
        unsafe {
            if let Some(c) = read {
                let info = amio_chunk_info {
                    stream_frame: c.stream_frame,
                    id: c.id,
                    position: c.position,
                    rolling: c.rolling,
                    lost_before: c.lost_before,
                    frames: c.frames as u64,
                };
                write_out(info_out, "info_out", info)?;
            }
            write_out(got_out, "got_out", read.is_some())
        }
    })
}

fn null_control(stream: *const amio_stream, what: &str) -> Result<NullControl, Failure> {
    let object = registry::stream(stream, "stream")?;
    object.null.clone().ok_or_else(|| {
        Failure::new(
            AMIO_ERROR_WRONG_MODE,
            format!(
                "{what} needs the null backend; this stream runs {}",
                object.stream().backend()
            ),
        )
    })
}

/// null backend, stepped mode: processes `frames` frames. `input` holds
/// `frames * in_channels` interleaved samples (`input_len`), `output`
/// receives `frames * out_channels` (`output_len`); the caller's thread acts
/// as the audio thread. The host's own "audio" thread.
///
/// # Safety
/// `input` must hold `input_len` floats, `output` `output_len`.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_step(
    stream: *mut amio_stream,
    frames: u32,
    input: *const f32,
    input_len: usize,
    output: *mut f32,
    output_len: usize,
) -> amio_status {
    guard("amio_stream_step", || {
        let control = null_control(stream, "amio_stream_step")?;
        // SAFETY: per this function's contract.
        let (inp, out) = unsafe {
            (
                slice(input, input_len, "input")?,
                slice_mut(output, output_len, "output")?,
            )
        };
        control
            .step(frames as usize, inp, out)
            .map_err(|e| {
                match e {
            amio_core::Error::NotRunning => Failure::new(
                crate::status::AMIO_ERROR_NOT_RUNNING,
                "the stream is not running (start it; a paced or offline null stream steps itself)",
            ),
            other => other.into(),
        }
            })
    })
}

/// null backend: reports an xrun as a sound card would. Any thread.
#[no_mangle]
pub extern "C" fn amio_stream_inject_xrun(stream: *mut amio_stream) -> amio_status {
    guard("amio_stream_inject_xrun", || {
        Ok(null_control(stream, "amio_stream_inject_xrun")?.inject_xrun()?)
    })
}

/// null backend, paced or offline: waits up to `timeout_ms` for the run to
/// end (offline: every frame rendered) and writes whether it did. Control
/// thread; from inside a libamio callback it is `AMIO_ERROR_IN_CALLBACK`.
///
/// # Safety
/// `finished_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_wait(
    stream: *mut amio_stream,
    timeout_ms: u32,
    finished_out: *mut bool,
) -> amio_status {
    guard("amio_stream_wait", || {
        not_in_callback("amio_stream_wait")?;
        check_out(finished_out, "finished_out")?;
        let control = null_control(stream, "amio_stream_wait")?;
        let done = control.wait(Duration::from_millis(u64::from(timeout_ms)));
        // SAFETY: checked writable above.
        unsafe { write_out(finished_out, "finished_out", done) }
    })
}

/// Writes a file descriptor that becomes readable when events are waiting
/// (a libamio thread watches the stream). Poll it in the host's event loop,
/// then call [`amio_stream_poll_event`] until it reports none, which also
/// drains the descriptor. The descriptor belongs to the stream: do not
/// close it. Control thread.
///
/// # Safety
/// `fd_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_stream_event_fd(
    stream: *mut amio_stream,
    fd_out: *mut i32,
) -> amio_status {
    guard("amio_stream_event_fd", || {
        check_out(fd_out, "fd_out")?;
        let object = registry::stream(stream, "stream")?;
        let mut wake = lock(&object.wake);
        let fd = match wake.pipe {
            Some((r, _)) => r,
            None => {
                let mut fds = [0i32; 2];
                // SAFETY: a valid array of two descriptors.
                if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0
                {
                    return Err(Failure::from(amio_core::Error::Io {
                        context: "making the event pipe".into(),
                        source: std::io::Error::last_os_error(),
                    }));
                }
                wake.pipe = Some((fds[0], fds[1]));
                fds[0]
            }
        };
        object.ensure_watcher(&mut wake)?;
        // SAFETY: checked writable above.
        unsafe { write_out(fd_out, "fd_out", fd) }
    })
}

/// Sets a callback that a libamio thread calls when events become waiting
/// (once, until a poll finds none); NULL removes it. The callback should
/// only wake the host's loop; it may call [`amio_stream_poll_event`] but not
/// free the stream. Control thread.
#[no_mangle]
pub extern "C" fn amio_stream_set_event_callback(
    stream: *mut amio_stream,
    callback: amio_event_callback,
    user: *mut c_void,
) -> amio_status {
    guard("amio_stream_set_event_callback", || {
        let object = registry::stream(stream, "stream")?;
        let mut wake = lock(&object.wake);
        wake.callback = callback;
        wake.user = Some(UserPtr(user));
        object.ensure_watcher(&mut wake)
    })
}
