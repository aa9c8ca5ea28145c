//! The plugin ABI: the `#[repr(C)]` table a plugin exports and the C
//! shapes that cross with it. Only C types cross: a stream request, what
//! was opened, devices, errors, and the stream's lease
//! ([`amio_core::driver::RawLease`], itself C-shaped) when it starts.

use std::ffi::{c_char, c_void};

use amio_core::driver::RawLease;

/// The version of the plugin table. A plugin built for another version is
/// refused when it is loaded. Version 2: drivers receive a lease; every
/// slot is nullable and checked at load; errors carry their kind.
pub const PLUGIN_ABI_VERSION: u32 = 2;

/// Status a plugin function returns: success.
pub const PLUGIN_OK: i32 = 0;
/// Status a plugin function returns: failure, described in its
/// [`PluginError`].
pub const PLUGIN_ERROR: i32 = -1;

/// Bytes of the device name in [`PluginInfo`].
pub const PLUGIN_DEVICE_BYTES: usize = 256;
/// Bytes of [`PluginError::field`].
pub const PLUGIN_FIELD_BYTES: usize = 64;
/// Bytes of [`PluginError::message`].
pub const PLUGIN_MESSAGE_BYTES: usize = 512;

/// [`PluginError::kind`]: a driver's error; `driver_kind` says which
/// ([`amio_core::DriverErrorKind`] as a number).
pub const PLUGIN_ERROR_DRIVER: u32 = 0;
/// [`PluginError::kind`]: a configuration value broke a rule; `field`
/// names it, `message` gives the rule.
pub const PLUGIN_ERROR_CONFIG: u32 = 1;
/// [`PluginError::kind`]: the stream is not open or not running.
pub const PLUGIN_ERROR_NOT_RUNNING: u32 = 2;
/// [`PluginError::kind`]: the stream is already running.
pub const PLUGIN_ERROR_ALREADY_RUNNING: u32 = 3;

/// A plugin's error, written by the plugin when it returns
/// [`PLUGIN_ERROR`]. Strings are NUL-terminated UTF-8.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginError {
    /// What kind (`PLUGIN_ERROR_*`).
    pub kind: u32,
    /// For [`PLUGIN_ERROR_DRIVER`]: the driver error kind's number.
    pub driver_kind: u32,
    /// For [`PLUGIN_ERROR_CONFIG`]: the field.
    pub field: [u8; PLUGIN_FIELD_BYTES],
    /// What went wrong.
    pub message: [u8; PLUGIN_MESSAGE_BYTES],
}

impl Default for PluginError {
    fn default() -> PluginError {
        PluginError {
            kind: PLUGIN_ERROR_DRIVER,
            driver_kind: amio_core::DriverErrorKind::Other as u32,
            field: [0; PLUGIN_FIELD_BYTES],
            message: [0; PLUGIN_MESSAGE_BYTES],
        }
    }
}

/// A stream request, as [`amio_core::StreamConfig`] in C (0 means "the
/// driver's choice" for `frame_rate` and `period`).
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

/// What a plugin opened, as [`amio_core::StreamInfo`] in C.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct PluginInfo {
    /// Frames per second.
    pub frame_rate: u32,
    /// The nominal period.
    pub period: u32,
    /// The most frames per lease `process` call.
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

/// One device, as [`amio_core::DeviceInfo`] in C; the strings live during
/// the callback only.
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
/// [`PLUGIN_ERROR`] with its [`PluginError`] filled in; none may unwind.
/// Called from the host's control thread, one at a time per instance.
/// Every slot must be filled: a table with an empty one is refused at load,
/// naming it.
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
    pub create: Option<
        unsafe extern "C" fn(
            options: *const c_char,
            instance: *mut *mut c_void,
            err: *mut PluginError,
        ) -> i32,
    >,
    /// Frees an instance (stopping it first).
    pub destroy: Option<unsafe extern "C" fn(instance: *mut c_void)>,
    /// Lists the devices.
    pub devices: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            callback: PluginDeviceCallback,
            user: *mut c_void,
            err: *mut PluginError,
        ) -> i32,
    >,
    /// Opens a stream.
    pub open: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            request: *const PluginRequest,
            info: *mut PluginInfo,
            err: *mut PluginError,
        ) -> i32,
    >,
    /// Starts running the stream's engine through `lease` (borrowed for
    /// the call: the plugin takes its own references).
    pub start: Option<
        unsafe extern "C" fn(
            instance: *mut c_void,
            lease: *const RawLease,
            err: *mut PluginError,
        ) -> i32,
    >,
    /// Stops; once it returns, nothing calls through the lease again.
    pub stop: Option<unsafe extern "C" fn(instance: *mut c_void, err: *mut PluginError) -> i32>,
}

impl PluginOps {
    /// The name of the first empty slot, if any.
    pub fn missing_slot(&self) -> Option<&'static str> {
        [
            ("backend", self.backend.is_null()),
            ("create", self.create.is_none()),
            ("destroy", self.destroy.is_none()),
            ("devices", self.devices.is_none()),
            ("open", self.open.is_none()),
            ("start", self.start.is_none()),
            ("stop", self.stop.is_none()),
        ]
        .into_iter()
        .find_map(|(name, missing)| missing.then_some(name))
    }
}
