//! The plugin side: a driver crate exports its driver as a plugin with
//! [`export_plugin!`](crate::export_plugin), which builds the [`PluginOps`]
//! table over these functions. Every function catches panics and errors
//! and describes them in the host's [`PluginError`]; none unwinds.

use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use amio_core::driver::{AudioDriver, Lease, RawLease, StreamConfig};
use amio_core::{Error, Result};

use crate::abi::{
    PluginDevice, PluginDeviceCallback, PluginError, PluginInfo, PluginOps, PluginRequest,
    PLUGIN_ABI_VERSION, PLUGIN_DEVICE_BYTES, PLUGIN_ERROR, PLUGIN_OK,
};
use crate::error::{describe, write_text};

/// How a plugin makes its driver; [`export_plugin!`](crate::export_plugin)
/// implements it.
pub trait PluginFactory {
    /// The backend's name, as hosts pick it.
    const BACKEND: &'static CStr;
    /// Makes a driver from its options text (`key=value` lines).
    fn create(options: &str) -> Result<Box<dyn AudioDriver>>;
}

/// The table for a factory; [`export_plugin!`](crate::export_plugin) puts
/// it in a static.
pub const fn table<F: PluginFactory>() -> PluginOps {
    PluginOps {
        abi_version: PLUGIN_ABI_VERSION,
        size: std::mem::size_of::<PluginOps>() as u32,
        backend: F::BACKEND.as_ptr(),
        create: Some(plugin_create::<F>),
        destroy: Some(plugin_destroy),
        devices: Some(plugin_devices),
        open: Some(plugin_open),
        start: Some(plugin_start),
        stop: Some(plugin_stop),
    }
}

/// Exports a driver as an amio plugin: defines the entry point `$symbol`
/// (which must be `amio_plugin_<backend>`) returning the table, for the
/// backend named `$backend` (a C string literal) whose drivers `$create`
/// (a `fn(&str) -> amio_core::Result<Box<dyn AudioDriver>>`) makes from
/// their options.
///
/// ```
/// use amio_core::driver::BackendConfig;
/// use amio_core::{AudioDriver, NullConfig, NullDriver, Result};
///
/// fn make_driver(options: &str) -> Result<Box<dyn AudioDriver>> {
///     Ok(Box::new(NullDriver::new(NullConfig::from_options(options)?)))
/// }
///
/// amio_plugin::export_plugin!(amio_plugin_example, c"example", make_driver);
///
/// // SAFETY: the entry point only returns its static table.
/// let table = unsafe { &*amio_plugin_example() };
/// let plugin = amio_plugin::Plugin::linked(table, "example")?;
/// let mut driver = plugin.driver("mode=paced")?;
/// assert_eq!(driver.backend(), "example");
/// # Ok::<(), amio_core::Error>(())
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($symbol:ident, $backend:expr, $create:path) => {
        /// The amio driver-plugin entry point: returns the plugin's table.
        #[no_mangle]
        pub extern "C" fn $symbol() -> *const $crate::abi::PluginOps {
            struct Factory;
            impl $crate::export::PluginFactory for Factory {
                const BACKEND: &'static ::std::ffi::CStr = $backend;
                fn create(
                    options: &str,
                ) -> ::amio_core::Result<::std::boxed::Box<dyn ::amio_core::AudioDriver>> {
                    $create(options)
                }
            }
            struct Table($crate::abi::PluginOps);
            // SAFETY: the table is immutable and its pointers point to
            // 'static data (a C string literal and functions).
            unsafe impl Sync for Table {}
            static TABLE: Table = Table($crate::export::table::<Factory>());
            &TABLE.0
        }
    };
}

/// A driver instance inside a plugin.
struct Instance {
    driver: Box<dyn AudioDriver>,
}

/// Runs `f`, turning errors and panics into a status and a description.
fn guarded(err: *mut PluginError, f: impl FnOnce() -> Result<()>) -> i32 {
    let error = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return PLUGIN_OK,
        Ok(Err(e)) => e,
        Err(_) => Error::driver(
            "plugin",
            amio_core::DriverErrorKind::Other,
            "the plugin panicked",
        ),
    };
    if !err.is_null() {
        // SAFETY: the host passes a valid PluginError for the call.
        describe(&error, unsafe { &mut *err });
    }
    PLUGIN_ERROR
}

fn null_argument(what: &'static str) -> Error {
    Error::Argument {
        argument: what,
        rule: "the host passed a null pointer".into(),
    }
}

/// # Safety
/// `instance` must come from `plugin_create` and not be destroyed.
unsafe fn instance<'a>(instance: *mut c_void) -> Result<&'a mut Instance> {
    if instance.is_null() {
        return Err(null_argument("instance"));
    }
    // SAFETY: per the contract above; the host calls one function at a time
    // per instance.
    Ok(unsafe { &mut *instance.cast::<Instance>() })
}

unsafe extern "C" fn plugin_create<F: PluginFactory>(
    options: *const c_char,
    out: *mut *mut c_void,
    err: *mut PluginError,
) -> i32 {
    guarded(err, || {
        if out.is_null() {
            return Err(null_argument("instance out-pointer"));
        }
        let text = if options.is_null() {
            String::new()
        } else {
            // SAFETY: the host passes a NUL-terminated string or null.
            unsafe { CStr::from_ptr(options) }
                .to_string_lossy()
                .into_owned()
        };
        let driver = F::create(&text)?;
        let boxed = Box::new(Instance { driver });
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
    err: *mut PluginError,
) -> i32 {
    guarded(err, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        for d in inst.driver.devices()? {
            let name = CString::new(d.name.replace('\0', " ")).unwrap_or_default();
            let description = CString::new(d.description.replace('\0', " ")).unwrap_or_default();
            let device = PluginDevice {
                name: name.as_ptr(),
                description: description.as_ptr(),
                in_channels: u32::try_from(d.in_channels).unwrap_or(u32::MAX),
                out_channels: u32::try_from(d.out_channels).unwrap_or(u32::MAX),
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
    err: *mut PluginError,
) -> i32 {
    guarded(err, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        if request.is_null() || info.is_null() {
            return Err(null_argument("request or info"));
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
        write_text(&mut device, &got.device);
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let c = PluginInfo {
            frame_rate: got.frame_rate,
            period: to_u32(got.period),
            max_period: to_u32(got.max_period),
            in_channels: to_u32(got.in_channels),
            out_channels: to_u32(got.out_channels),
            capture_latency: got.capture_latency,
            playback_latency: got.playback_latency,
            device,
        };
        // SAFETY: checked non-null; the host's out-struct.
        unsafe { *info = c };
        Ok(())
    })
}

unsafe extern "C" fn plugin_start(
    inst: *mut c_void,
    lease: *const RawLease,
    err: *mut PluginError,
) -> i32 {
    guarded(err, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        if lease.is_null() {
            return Err(null_argument("lease"));
        }
        // SAFETY: checked non-null; the host's lease lives for the call.
        let raw = unsafe { *lease };
        let missing = raw.ops.is_null()
            || raw.notifier.ops.is_null()
            // SAFETY: both checked non-null just above (|| short-circuits);
            // the host's tables are 'static.
            || unsafe { (*raw.ops).missing_slot().is_some() || (*raw.notifier.ops).missing_slot().is_some() };
        if missing {
            return Err(Error::driver(
                "plugin",
                amio_core::DriverErrorKind::Other,
                "the host's lease has an empty function slot",
            ));
        }
        // SAFETY: complete 'static tables (checked), live contexts (the host
        // holds references during the call); we take our own.
        let lease = unsafe { Lease::from_raw(raw) };
        inst.driver.start(lease)
    })
}

unsafe extern "C" fn plugin_stop(inst: *mut c_void, err: *mut PluginError) -> i32 {
    guarded(err, || {
        // SAFETY: the host passes its live instance.
        let inst = unsafe { instance(inst) }?;
        inst.driver.stop()
    })
}
