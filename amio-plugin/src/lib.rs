//! Driver plugins: backends in shared objects, chosen by name at run time.
//!
//! A plugin is a shared object (`libamio_<backend>.so`) that exports one
//! function, `amio_plugin_<backend>`, returning a [`PluginOps`] table of
//! `extern "C"` functions. Only C types cross: the driver inside the plugin
//! never sees the host's engine; it runs a stand-in engine whose every
//! period calls the host's `process` function ([`PluginHost`]), and whose
//! notifier forwards xruns, latency and faults the same way.
//!
//! - Plugin side: implement [`PluginFactory`] and invoke [`export_plugin!`](crate::export_plugin).
//! - Host side: [`load`] finds a plugin by backend name on the [`search_path`]
//!   (the `AMIO_PLUGIN_PATH` variable, the directory of the library or
//!   program holding amio-core, the install directory), refuses a table of
//!   another [`PLUGIN_ABI_VERSION`], and [`Plugin::driver`] makes an
//!   [`AudioDriver`] of it.

use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::driver::{AudioDriver, DeviceInfo, StreamConfig, StreamInfo};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::FaultKind;
use crate::shared::Notifier;

/// The version of the plugin table. A plugin built for another version is
/// refused when it is loaded.
pub const PLUGIN_ABI_VERSION: u32 = 1;

/// Status a plugin function returns: success.
pub const PLUGIN_OK: i32 = 0;
/// Status a plugin function returns: failure, explained in the error buffer.
pub const PLUGIN_ERROR: i32 = -1;

/// Bytes of the device name in [`PluginInfo`].
pub const PLUGIN_DEVICE_BYTES: usize = 256;

/// What the host gives a plugin when a stream starts: its engine, as C
/// callbacks. `process` is called on the plugin's real-time thread, the
/// others from any thread (they are lock-free and allocation-free).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginHost {
    /// Passed back to every callback.
    pub ctx: *mut c_void,
    /// The most frames one `process` call may carry.
    pub max_period: u32,
    /// Input channels (samples per input frame).
    pub in_channels: u32,
    /// Output channels (samples per output frame).
    pub out_channels: u32,
    /// Runs one period: `frames <= max_period` frames of interleaved input
    /// in, interleaved output out.
    pub process:
        unsafe extern "C" fn(ctx: *mut c_void, frames: u32, input: *const f32, output: *mut f32),
    /// Reports an xrun.
    pub xrun: unsafe extern "C" fn(ctx: *mut c_void),
    /// Reports the capture and playback latency in frames.
    pub set_latency: unsafe extern "C" fn(ctx: *mut c_void, capture: u64, playback: u64),
    /// Reports a fatal error ([`FaultKind`] as a number, UTF-8 message).
    pub fatal: unsafe extern "C" fn(ctx: *mut c_void, kind: u32, message: *const u8, len: usize),
    /// Reports a [`crate::Notice`] (as a number).
    pub notice: unsafe extern "C" fn(ctx: *mut c_void, notice: u32),
}

/// A stream request, as [`StreamConfig`] in C (0 means "the driver's
/// choice" for `frame_rate` and `period`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginRequest {
    /// The device, NUL-terminated, or null for the default.
    pub device: *const c_char,
    /// Frames per second, or 0.
    pub frame_rate: u32,
    /// Frames per period, or 0.
    pub period: u32,
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
}

/// What a plugin opened, as [`StreamInfo`] in C.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginInfo {
    /// Frames per second.
    pub frame_rate: u32,
    /// The nominal period.
    pub period: u32,
    /// The most frames per `process` call.
    pub max_period: u32,
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
    /// Capture latency in frames.
    pub capture_latency: u64,
    /// Playback latency in frames.
    pub playback_latency: u64,
    /// The device's name, NUL-terminated.
    pub device: [u8; PLUGIN_DEVICE_BYTES],
}

/// One device, as [`DeviceInfo`] in C; the strings live during the
/// callback only.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginDevice {
    /// The name to open it by, NUL-terminated.
    pub name: *const c_char,
    /// A description, NUL-terminated.
    pub description: *const c_char,
    /// Input channels (0 if unknown).
    pub in_channels: u32,
    /// Output channels (0 if unknown).
    pub out_channels: u32,
}

/// Receives each device of a listing.
pub type PluginDeviceCallback =
    unsafe extern "C" fn(user: *mut c_void, device: *const PluginDevice);

/// The table a plugin exports. Every function returns [`PLUGIN_OK`] or
/// [`PLUGIN_ERROR`] with a NUL-terminated message written into `err`
/// (`err_len` bytes); none may unwind. Called from the host's control
/// thread, one at a time per instance.
#[repr(C)]
#[derive(Debug)]
pub struct PluginOps {
    /// [`PLUGIN_ABI_VERSION`] of the plugin.
    pub abi_version: u32,
    /// `size_of::<PluginOps>()` of the plugin.
    pub size: u32,
    /// The backend's name, NUL-terminated.
    pub backend: *const c_char,
    /// Makes a driver instance from options (`key=value` lines).
    pub create: unsafe extern "C" fn(
        options: *const c_char,
        instance: *mut *mut c_void,
        err: *mut c_char,
        err_len: usize,
    ) -> i32,
    /// Frees an instance (stopping it first).
    pub destroy: unsafe extern "C" fn(instance: *mut c_void),
    /// Lists the devices.
    pub devices: unsafe extern "C" fn(
        instance: *mut c_void,
        callback: PluginDeviceCallback,
        user: *mut c_void,
        err: *mut c_char,
        err_len: usize,
    ) -> i32,
    /// Opens a stream.
    pub open: unsafe extern "C" fn(
        instance: *mut c_void,
        request: *const PluginRequest,
        info: *mut PluginInfo,
        err: *mut c_char,
        err_len: usize,
    ) -> i32,
    /// Starts calling `host.process` on the plugin's real-time thread.
    pub start: unsafe extern "C" fn(
        instance: *mut c_void,
        host: *const PluginHost,
        err: *mut c_char,
        err_len: usize,
    ) -> i32,
    /// Stops; once it returns, no callback of the host's runs again.
    pub stop: unsafe extern "C" fn(instance: *mut c_void, err: *mut c_char, err_len: usize) -> i32,
}

// ---------------------------------------------------------------------------
// The plugin side.

/// Options for a plugin's driver: `key=value` lines (blank lines and lines
/// starting with `#` are ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PluginOptions(BTreeMap<String, String>);

impl PluginOptions {
    /// Parses `key=value` lines.
    pub fn parse(text: &str) -> Result<PluginOptions> {
        let mut map = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(Error::Config {
                    field: "options",
                    rule: format!("line {}: {line:?} is not key=value", n + 1),
                });
            };
            map.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        Ok(PluginOptions(map))
    }

    /// Takes the value of `key`, if given.
    pub fn take(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Refuses any option not taken.
    pub fn finish(self, backend: &str) -> Result<()> {
        match self.0.keys().next() {
            None => Ok(()),
            Some(key) => Err(Error::Config {
                field: "options",
                rule: format!("{key:?} is not an option of the {backend} backend"),
            }),
        }
    }
}

/// How a plugin makes its driver.
pub trait PluginFactory {
    /// The backend's name, as hosts pick it.
    const BACKEND: &'static CStr;
    /// Makes a driver from options.
    fn create(options: PluginOptions) -> Result<Box<dyn AudioDriver>>;
}

impl PluginOps {
    /// The table for a factory; [`export_plugin!`](crate::export_plugin) puts it in a static.
    pub const fn for_factory<F: PluginFactory>() -> PluginOps {
        PluginOps {
            abi_version: PLUGIN_ABI_VERSION,
            size: std::mem::size_of::<PluginOps>() as u32,
            backend: F::BACKEND.as_ptr(),
            create: plugin_create::<F>,
            destroy: plugin_destroy,
            devices: plugin_devices,
            open: plugin_open,
            start: plugin_start,
            stop: plugin_stop,
        }
    }
}

/// Exports a [`PluginFactory`] as a driver plugin: defines the entry point
/// `$symbol` (which must be `amio_plugin_<backend>`) returning its table.
#[macro_export]
macro_rules! export_plugin {
    ($symbol:ident, $factory:ty) => {
        /// The amio driver-plugin entry point: returns the plugin's table.
        #[no_mangle]
        pub extern "C" fn $symbol() -> *const $crate::plugin::PluginOps {
            struct Table($crate::plugin::PluginOps);
            // SAFETY: the table is immutable and its pointers point to
            // 'static data (a C string literal and functions).
            unsafe impl Sync for Table {}
            static TABLE: Table = Table($crate::plugin::PluginOps::for_factory::<$factory>());
            &TABLE.0
        }
    };
}

/// A driver instance inside a plugin.
struct Instance {
    driver: Box<dyn AudioDriver>,
    info: Option<StreamInfo>,
}

/// Writes `message` into a C error buffer, cut at a character boundary and
/// NUL-terminated.
fn write_error(err: *mut c_char, err_len: usize, message: &str) {
    if err.is_null() || err_len == 0 {
        return;
    }
    let mut n = message.len().min(err_len - 1);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller gave `err_len` writable bytes at `err`; n < err_len.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), err.cast::<u8>(), n);
        *err.add(n) = 0;
    }
}

/// Runs `f`, turning errors and panics into a status and a message.
fn guarded(err: *mut c_char, err_len: usize, f: impl FnOnce() -> Result<()>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => PLUGIN_OK,
        Ok(Err(e)) => {
            write_error(err, err_len, &e.to_string());
            PLUGIN_ERROR
        }
        Err(_) => {
            write_error(err, err_len, "the plugin panicked");
            PLUGIN_ERROR
        }
    }
}

/// # Safety
/// `instance` must come from `plugin_create` and not be destroyed.
unsafe fn instance<'a>(instance: *mut c_void) -> Result<&'a mut Instance> {
    if instance.is_null() {
        return Err(Error::NotRunning);
    }
    // SAFETY: per the contract above.
    Ok(unsafe { &mut *instance.cast::<Instance>() })
}

unsafe extern "C" fn plugin_create<F: PluginFactory>(
    options: *const c_char,
    out: *mut *mut c_void,
    err: *mut c_char,
    err_len: usize,
) -> i32 {
    guarded(err, err_len, || {
        if out.is_null() {
            return Err(Error::NotRunning);
        }
        let text = if options.is_null() {
            String::new()
        } else {
            // SAFETY: the host passes a NUL-terminated string or null.
            unsafe { CStr::from_ptr(options) }
                .to_string_lossy()
                .into_owned()
        };
        let driver = F::create(PluginOptions::parse(&text)?)?;
        let boxed = Box::new(Instance { driver, info: None });
        // SAFETY: `out` is a valid out-pointer (checked non-null above).
        unsafe { *out = Box::into_raw(boxed).cast() };
        Ok(())
    })
}

unsafe extern "C" fn plugin_destroy(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `instance` came from `plugin_create` and is destroyed once.
        let mut boxed = unsafe { Box::from_raw(instance.cast::<Instance>()) };
        let _ = boxed.driver.stop();
    }));
}

unsafe extern "C" fn plugin_devices(
    inst: *mut c_void,
    callback: PluginDeviceCallback,
    user: *mut c_void,
    err: *mut c_char,
    err_len: usize,
) -> i32 {
    guarded(err, err_len, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        for d in inst.driver.devices()? {
            let name = CString::new(d.name.replace('\0', " ")).unwrap_or_default();
            let description = CString::new(d.description.replace('\0', " ")).unwrap_or_default();
            let device = PluginDevice {
                name: name.as_ptr(),
                description: description.as_ptr(),
                in_channels: d.in_channels as u32,
                out_channels: d.out_channels as u32,
            };
            // SAFETY: the host's callback, with pointers valid for the call.
            unsafe { callback(user, &device) };
        }
        Ok(())
    })
}

unsafe extern "C" fn plugin_open(
    inst: *mut c_void,
    request: *const PluginRequest,
    info: *mut PluginInfo,
    err: *mut c_char,
    err_len: usize,
) -> i32 {
    guarded(err, err_len, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        if request.is_null() || info.is_null() {
            return Err(Error::NotRunning);
        }
        // SAFETY: checked non-null; the host's request lives for the call.
        let r = unsafe { &*request };
        let device = (!r.device.is_null()).then(|| {
            // SAFETY: a NUL-terminated string from the host.
            unsafe { CStr::from_ptr(r.device) }
                .to_string_lossy()
                .into_owned()
        });
        let config = StreamConfig {
            device,
            frame_rate: (r.frame_rate != 0).then_some(r.frame_rate),
            period: (r.period != 0).then_some(r.period as usize),
            in_channels: r.in_channels as usize,
            out_channels: r.out_channels as usize,
        };
        let got = inst.driver.open(&config)?;
        let mut device = [0u8; PLUGIN_DEVICE_BYTES];
        let name = got.device.as_bytes();
        let n = name.len().min(PLUGIN_DEVICE_BYTES - 1);
        device[..n].copy_from_slice(&name[..n]);
        let c = PluginInfo {
            frame_rate: got.frame_rate,
            period: u32::try_from(got.period).unwrap_or(u32::MAX),
            max_period: u32::try_from(got.max_period).unwrap_or(u32::MAX),
            in_channels: got.in_channels as u32,
            out_channels: got.out_channels as u32,
            capture_latency: got.capture_latency,
            playback_latency: got.playback_latency,
            device,
        };
        // SAFETY: checked non-null; the host's out-struct.
        unsafe { *info = c };
        inst.info = Some(got);
        Ok(())
    })
}

unsafe extern "C" fn plugin_start(
    inst: *mut c_void,
    host: *const PluginHost,
    err: *mut c_char,
    err_len: usize,
) -> i32 {
    guarded(err, err_len, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        if host.is_null() {
            return Err(Error::NotRunning);
        }
        // SAFETY: checked non-null; the table is copied.
        let host = unsafe { *host };
        inst.driver.start(Engine::remote(Remote::new(host)))
    })
}

unsafe extern "C" fn plugin_stop(inst: *mut c_void, err: *mut c_char, err_len: usize) -> i32 {
    guarded(err, err_len, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        // The stand-in engine holds nothing of the host's; drop it here.
        drop(inst.driver.stop()?);
        Ok(())
    })
}

/// Inside a plugin: the stand-in for the host's engine.
pub(crate) struct Remote {
    host: PluginHost,
    input: Box<[f32]>,
    output: Box<[f32]>,
    stream_frame: u64,
    reporter: HostReporter,
}

// SAFETY: the host's callbacks may be called from any thread (process only
// from the one real-time thread that owns this engine).
unsafe impl Send for Remote {}

impl Remote {
    fn new(host: PluginHost) -> Remote {
        let max = host.max_period as usize;
        Remote {
            host,
            input: vec![0.0; max * host.in_channels as usize].into_boxed_slice(),
            output: vec![0.0; max * host.out_channels as usize].into_boxed_slice(),
            stream_frame: 0,
            reporter: HostReporter {
                host,
                failed: Arc::new(AtomicBool::new(false)),
            },
        }
    }

    pub(crate) fn max_period(&self) -> usize {
        self.host.max_period as usize
    }

    pub(crate) fn in_channels(&self) -> usize {
        self.host.in_channels as usize
    }

    pub(crate) fn out_channels(&self) -> usize {
        self.host.out_channels as usize
    }

    pub(crate) fn stream_frame(&self) -> u64 {
        self.stream_frame
    }

    pub(crate) fn notifier(&self) -> Notifier {
        Notifier::host(self.reporter.clone())
    }

    pub(crate) fn input_buffer(&mut self, frames: usize) -> &mut [f32] {
        let n = frames.min(self.max_period()) * self.in_channels();
        &mut self.input[..n]
    }

    pub(crate) fn render(&mut self, frames: usize) -> &[f32] {
        let n = frames.min(self.max_period());
        // SAFETY: the host's process callback with buffers of n frames.
        unsafe {
            (self.host.process)(
                self.host.ctx,
                n as u32,
                self.input.as_ptr(),
                self.output.as_mut_ptr(),
            )
        };
        self.stream_frame += n as u64;
        &self.output[..n * self.out_channels()]
    }
}

/// Inside a plugin: the notifier that reports to the host.
#[derive(Clone)]
pub(crate) struct HostReporter {
    host: PluginHost,
    failed: Arc<AtomicBool>,
}

// SAFETY: the host's reporting callbacks are callable from any thread.
unsafe impl Send for HostReporter {}
// SAFETY: as above; nothing here is mutated but the atomic.
unsafe impl Sync for HostReporter {}

impl HostReporter {
    pub(crate) fn xrun(&self) {
        // SAFETY: the host's callback, callable from any thread.
        unsafe { (self.host.xrun)(self.host.ctx) }
    }

    pub(crate) fn set_latency(&self, capture: u64, playback: u64) {
        // SAFETY: as above.
        unsafe { (self.host.set_latency)(self.host.ctx, capture, playback) }
    }

    pub(crate) fn fatal(&self, kind: FaultKind, message: &str) {
        self.failed.store(true, Ordering::Release);
        // SAFETY: as above; the message is valid for the call.
        unsafe { (self.host.fatal)(self.host.ctx, kind as u32, message.as_ptr(), message.len()) }
    }

    pub(crate) fn has_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    pub(crate) fn notice(&self, notice: crate::event::Notice) {
        // SAFETY: the host's callback, callable from any thread.
        unsafe { (self.host.notice)(self.host.ctx, notice as u32) }
    }
}

// ---------------------------------------------------------------------------
// The host side.

/// The environment variable listing directories to search for plugins
/// first (separated by `:`).
pub const PLUGIN_PATH_VAR: &str = "AMIO_PLUGIN_PATH";

/// The install directory searched last; set `AMIO_PLUGIN_DIR` when
/// building to change it.
pub const PLUGIN_INSTALL_DIR: &str = match option_env!("AMIO_PLUGIN_DIR") {
    Some(dir) => dir,
    None => "/usr/local/lib/amio",
};

/// The file name of a backend's plugin.
pub fn file_name(backend: &str) -> String {
    format!(
        "{}amio_{backend}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// The directory of the shared object (or program) that holds this code.
fn own_directory() -> Option<PathBuf> {
    let mut info = libc::Dl_info {
        dli_fname: std::ptr::null(),
        dli_fbase: std::ptr::null_mut(),
        dli_sname: std::ptr::null(),
        dli_saddr: std::ptr::null_mut(),
    };
    let here = own_directory as *const c_void;
    // SAFETY: dladdr only reads its arguments; `info` is a valid out-struct.
    if unsafe { libc::dladdr(here, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr filled in a NUL-terminated path.
    let file = unsafe { CStr::from_ptr(info.dli_fname) }
        .to_string_lossy()
        .into_owned();
    let path = std::fs::canonicalize(&file).unwrap_or_else(|_| PathBuf::from(file));
    path.parent().map(Path::to_path_buf)
}

/// Where plugins are looked for, in order: each directory in
/// `AMIO_PLUGIN_PATH`, the directory of the library or program holding
/// amio-core (so plugins installed beside libamio are found), and
/// [`PLUGIN_INSTALL_DIR`].
pub fn search_path() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os(PLUGIN_PATH_VAR)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    dirs.extend(own_directory());
    dirs.push(PathBuf::from(PLUGIN_INSTALL_DIR));
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let fresh = !seen.contains(d);
        seen.push(d.clone());
        fresh
    });
    dirs
}

/// The backends whose plugin files are on the search path (found, not yet
/// loaded), by name.
pub fn available() -> Vec<(String, PathBuf)> {
    let prefix = format!("{}amio_", std::env::consts::DLL_PREFIX);
    let suffix = std::env::consts::DLL_SUFFIX;
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for dir in search_path() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        names.sort();
        for path in names {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if let Some(backend) = name
                .strip_prefix(&prefix)
                .and_then(|n| n.strip_suffix(suffix))
            {
                if !backend.is_empty() && !found.iter().any(|(b, _)| b == backend) {
                    found.push((backend.to_owned(), path.clone()));
                }
            }
        }
    }
    found
}

/// A loaded plugin.
#[derive(Clone)]
pub struct Plugin {
    library: Arc<libloading::Library>,
    ops: *const PluginOps,
    backend: String,
    path: PathBuf,
}

// SAFETY: the table is immutable and its functions are thread-safe per
// instance; the library stays loaded while any clone lives.
unsafe impl Send for Plugin {}
// SAFETY: as above.
unsafe impl Sync for Plugin {}

fn plugin_error(backend: &str, message: String) -> Error {
    Error::Driver {
        backend: backend.into(),
        message,
    }
}

/// Finds and loads the plugin for `backend` on the [`search_path`].
pub fn load(backend: &str) -> Result<Plugin> {
    let file = file_name(backend);
    let dirs = search_path();
    for dir in &dirs {
        let path = dir.join(&file);
        if path.is_file() {
            return load_path(&path, backend);
        }
    }
    Err(Error::NoBackend {
        backend: backend.into(),
        file,
        searched: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// The loader's error with its reasons: libloading says only "dlopen
/// failed" and keeps dlerror's text (the missing library, say) as its
/// source.
fn loader_reason(error: &libloading::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(reason) = source {
        text.push_str(": ");
        text.push_str(&reason.to_string());
        source = reason.source();
    }
    text
}

/// Loads the plugin for `backend` from a given file.
pub fn load_path(path: &Path, backend: &str) -> Result<Plugin> {
    let fail = |problem: String, abi_mismatch: bool| Error::Plugin {
        backend: backend.into(),
        path: path.to_path_buf(),
        problem,
        abi_mismatch,
    };
    // Loaded RTLD_NODELETE: a plugin and the system libraries it pulled in
    // stay for the life of the process even after its last handle is
    // dropped. Unloading libasound would lose its configuration cache (and
    // leak it: ~68 KB per failed ALSA open), and libraries like it are not
    // written to be unloaded and loaded again.
    // SAFETY: loading a shared object runs its initialisers; amio plugins
    // have none beyond Rust's and libc's.
    let library: libloading::Library = unsafe {
        libloading::os::unix::Library::open(
            Some(path),
            libc::RTLD_NOW | libc::RTLD_LOCAL | libc::RTLD_NODELETE,
        )
    }
    .map_err(|e| fail(loader_reason(&e), false))?
    .into();
    let symbol = format!("amio_plugin_{backend}");
    // SAFETY: the entry point's signature is part of the plugin ABI.
    let entry =
        unsafe { library.get::<unsafe extern "C" fn() -> *const PluginOps>(symbol.as_bytes()) }
            .map_err(|_| fail(format!("not an amio plugin (no {symbol})"), false))?;
    // SAFETY: calling the plugin's entry point, which only returns a pointer.
    let ops = unsafe { entry() };
    if ops.is_null() {
        return Err(fail("its entry point returned no table".into(), false));
    }
    // SAFETY: the first two fields are the same in every ABI version.
    let (version, size) = unsafe { ((*ops).abi_version, (*ops).size) };
    if version != PLUGIN_ABI_VERSION || size as usize != std::mem::size_of::<PluginOps>() {
        return Err(fail(
            format!(
                "plugin ABI version {version} (table of {size} bytes), this amio speaks version {PLUGIN_ABI_VERSION} ({} bytes); rebuild the plugin",
                std::mem::size_of::<PluginOps>()
            ),
            true,
        ));
    }
    Ok(Plugin {
        library: Arc::new(library),
        ops,
        backend: backend.into(),
        path: path.to_path_buf(),
    })
}

impl Plugin {
    fn ops(&self) -> &PluginOps {
        // SAFETY: checked at load; lives as long as the library.
        unsafe { &*self.ops }
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The backend's name.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// Makes a driver instance from `key=value` options.
    pub fn driver(&self, options: &str) -> Result<PluginDriver> {
        let options = CString::new(options).map_err(|_| Error::Config {
            field: "options",
            rule: "contains a NUL byte".into(),
        })?;
        let mut instance = std::ptr::null_mut();
        let mut err = [0 as c_char; 512];
        // SAFETY: valid pointers for the call, per the table's contract.
        let status = unsafe {
            (self.ops().create)(options.as_ptr(), &mut instance, err.as_mut_ptr(), err.len())
        };
        self.check(status, &err)?;
        Ok(PluginDriver {
            plugin: self.clone(),
            instance,
            running: None,
            last_engine: None,
        })
    }

    fn check(&self, status: i32, err: &[c_char]) -> Result<()> {
        if status == PLUGIN_OK {
            return Ok(());
        }
        // SAFETY: the plugin NUL-terminates within the buffer (write_error),
        // and the buffer ends in our own zero otherwise.
        let message = unsafe { CStr::from_ptr(err.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        Err(plugin_error(&self.backend, message))
    }
}

/// The host's engine as the plugin's callbacks reach it.
struct HostCtx {
    notifier: Notifier,
    /// Touched only by the plugin's real-time thread, through `process`.
    engine: UnsafeCell<Engine>,
}

// SAFETY: `engine` is only accessed by the one thread the plugin runs
// `process` on, while the stream runs; `notifier` is Sync.
unsafe impl Sync for HostCtx {}

unsafe extern "C" fn host_process(
    ctx: *mut c_void,
    frames: u32,
    input: *const f32,
    output: *mut f32,
) {
    // SAFETY: `ctx` is the HostCtx given at start, alive until stop returns;
    // only this thread touches the engine.
    let engine = unsafe { &mut *(*ctx.cast::<HostCtx>()).engine.get() };
    let n = (frames as usize).min(engine.max_period());
    let (ic, oc) = (engine.in_channels(), engine.out_channels());
    let buf = engine.input_buffer(n);
    if !input.is_null() && ic > 0 {
        // SAFETY: the plugin passes n * ic input samples.
        buf.copy_from_slice(unsafe { std::slice::from_raw_parts(input, n * ic) });
    }
    let out = engine.render(n);
    if !output.is_null() && oc > 0 {
        // SAFETY: the plugin passes room for n * oc output samples.
        unsafe { std::slice::from_raw_parts_mut(output, n * oc) }.copy_from_slice(out);
    }
}

unsafe extern "C" fn host_xrun(ctx: *mut c_void) {
    // SAFETY: `ctx` is the HostCtx, alive until stop returns.
    unsafe { &*ctx.cast::<HostCtx>() }.notifier.xrun();
}

unsafe extern "C" fn host_set_latency(ctx: *mut c_void, capture: u64, playback: u64) {
    // SAFETY: as above.
    unsafe { &*ctx.cast::<HostCtx>() }
        .notifier
        .set_latency(capture, playback);
}

unsafe extern "C" fn host_fatal(ctx: *mut c_void, kind: u32, message: *const u8, len: usize) {
    let bytes: &[u8] = if message.is_null() {
        &[]
    } else {
        // SAFETY: the plugin passes `len` bytes of message.
        unsafe { std::slice::from_raw_parts(message, len) }
    };
    let text = std::str::from_utf8(bytes).unwrap_or("the driver failed (message not UTF-8)");
    // SAFETY: as above.
    unsafe { &*ctx.cast::<HostCtx>() }
        .notifier
        .fatal(FaultKind::from_u8(u8::try_from(kind).unwrap_or(0)), text);
}

unsafe extern "C" fn host_notice(ctx: *mut c_void, notice: u32) {
    if let Some(&n) = crate::event::Notice::ALL
        .iter()
        .find(|n| **n as u32 == notice)
    {
        // SAFETY: `ctx` is the HostCtx, alive until stop returns.
        unsafe { &*ctx.cast::<HostCtx>() }.notifier.notice(n);
    }
}

/// A driver living in a plugin, as an [`AudioDriver`].
pub struct PluginDriver {
    plugin: Plugin,
    instance: *mut c_void,
    running: Option<*mut HostCtx>,
    /// The engine of a start that failed, for stop() to hand back.
    last_engine: Option<Engine>,
}

// SAFETY: the instance is used from one control thread at a time (`&mut
// self`), as the plugin table requires.
unsafe impl Send for PluginDriver {}

impl PluginDriver {
    fn error_buf() -> [c_char; 512] {
        [0; 512]
    }

    fn take_running(&mut self) -> Option<Engine> {
        let ctx = self.running.take()?;
        // SAFETY: `ctx` came from Box::into_raw in start, and the plugin no
        // longer calls back (stop returned).
        let ctx = unsafe { Box::from_raw(ctx) };
        Some(ctx.engine.into_inner())
    }
}

impl AudioDriver for PluginDriver {
    fn backend(&self) -> &str {
        &self.plugin.backend
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>> {
        unsafe extern "C" fn collect(user: *mut c_void, device: *const PluginDevice) {
            // SAFETY: `user` is the Vec below; the device lives for the call.
            let (list, d) = unsafe { (&mut *user.cast::<Vec<DeviceInfo>>(), &*device) };
            let text = |p: *const c_char| {
                if p.is_null() {
                    String::new()
                } else {
                    // SAFETY: NUL-terminated strings valid during the call.
                    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
                }
            };
            list.push(DeviceInfo {
                name: text(d.name),
                description: text(d.description),
                in_channels: d.in_channels as usize,
                out_channels: d.out_channels as usize,
            });
        }
        let mut list: Vec<DeviceInfo> = Vec::new();
        let mut err = Self::error_buf();
        // SAFETY: our live instance and a callback that matches the ABI.
        let status = unsafe {
            (self.plugin.ops().devices)(
                self.instance,
                collect,
                (&mut list as *mut Vec<DeviceInfo>).cast(),
                err.as_mut_ptr(),
                err.len(),
            )
        };
        self.plugin.check(status, &err)?;
        Ok(list)
    }

    fn open(&mut self, config: &StreamConfig) -> Result<StreamInfo> {
        let device = config
            .device
            .as_deref()
            .map(CString::new)
            .transpose()
            .map_err(|_| Error::Config {
                field: "device",
                rule: "contains a NUL byte".into(),
            })?;
        let request = PluginRequest {
            device: device.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            frame_rate: config.frame_rate.unwrap_or(0),
            period: config
                .period
                .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX)),
            in_channels: config.in_channels as u32,
            out_channels: config.out_channels as u32,
        };
        let mut info = PluginInfo {
            frame_rate: 0,
            period: 0,
            max_period: 0,
            in_channels: 0,
            out_channels: 0,
            capture_latency: 0,
            playback_latency: 0,
            device: [0; PLUGIN_DEVICE_BYTES],
        };
        let mut err = Self::error_buf();
        // SAFETY: our live instance and valid pointers for the call.
        let status = unsafe {
            (self.plugin.ops().open)(
                self.instance,
                &request,
                &mut info,
                err.as_mut_ptr(),
                err.len(),
            )
        };
        self.plugin.check(status, &err)?;
        let end = info
            .device
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(PLUGIN_DEVICE_BYTES);
        Ok(StreamInfo {
            backend: self.plugin.backend.clone(),
            device: String::from_utf8_lossy(&info.device[..end]).into_owned(),
            frame_rate: info.frame_rate,
            period: info.period as usize,
            max_period: info.max_period as usize,
            in_channels: info.in_channels as usize,
            out_channels: info.out_channels as usize,
            capture_latency: info.capture_latency,
            playback_latency: info.playback_latency,
        })
    }

    fn start(&mut self, engine: Engine) -> Result<()> {
        if self.running.is_some() {
            return Err(Error::AlreadyRunning);
        }
        let host_table = |ctx: *mut HostCtx, engine: &Engine| PluginHost {
            ctx: ctx.cast(),
            max_period: u32::try_from(engine.max_period()).unwrap_or(u32::MAX),
            in_channels: engine.in_channels() as u32,
            out_channels: engine.out_channels() as u32,
            process: host_process,
            xrun: host_xrun,
            set_latency: host_set_latency,
            fatal: host_fatal,
            notice: host_notice,
        };
        let notifier = engine.notifier();
        let ctx = Box::into_raw(Box::new(HostCtx {
            notifier,
            engine: UnsafeCell::new(engine),
        }));
        // SAFETY: `ctx` is live; the engine is not touched here until stop.
        let host = host_table(ctx, unsafe { &*(*ctx).engine.get() });
        self.running = Some(ctx);
        let mut err = Self::error_buf();
        // SAFETY: our live instance and a host table valid until stop.
        let status =
            unsafe { (self.plugin.ops().start)(self.instance, &host, err.as_mut_ptr(), err.len()) };
        if let Err(e) = self.plugin.check(status, &err) {
            // A failed start promises no callbacks; keep the engine for stop().
            let mut stop_err = Self::error_buf();
            // SAFETY: as above.
            unsafe {
                (self.plugin.ops().stop)(self.instance, stop_err.as_mut_ptr(), stop_err.len())
            };
            self.last_engine = self.take_running();
            return Err(e);
        }
        Ok(())
    }

    fn stop(&mut self) -> Result<Option<Engine>> {
        if let Some(engine) = self.last_engine.take() {
            return Ok(Some(engine));
        }
        if self.running.is_none() {
            return Ok(None);
        }
        let mut err = Self::error_buf();
        // SAFETY: our live instance.
        let status =
            unsafe { (self.plugin.ops().stop)(self.instance, err.as_mut_ptr(), err.len()) };
        // Once stop returns, the plugin calls back no more, error or not.
        let engine = self.take_running();
        self.plugin.check(status, &err)?;
        Ok(engine)
    }
}

impl Drop for PluginDriver {
    fn drop(&mut self) {
        let _ = self.stop();
        // SAFETY: our instance, destroyed once; the library is still loaded
        // (we hold a clone of it).
        unsafe { (self.plugin.ops().destroy)(self.instance) };
        let _ = &self.plugin.library;
    }
}
