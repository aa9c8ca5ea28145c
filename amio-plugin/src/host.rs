//! The host side: loading a plugin and running its driver as an
//! [`AudioDriver`].

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use amio_core::driver::{AudioDriver, DeviceInfo, Lease, StreamConfig, StreamInfo};
use amio_core::{Error, Result};

use crate::abi::{
    PluginDevice, PluginError, PluginInfo, PluginOps, PluginRequest, PLUGIN_ABI_VERSION,
    PLUGIN_DEVICE_BYTES, PLUGIN_OK,
};
use crate::error::{read, read_text};
use crate::search::{file_name, search_path};

/// A loaded plugin.
#[derive(Clone)]
pub struct Plugin {
    /// The shared object, or `None` for a table linked into this program.
    library: Option<Arc<libloading::Library>>,
    ops: &'static PluginOps,
    backend: String,
    path: PathBuf,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("backend", &self.backend)
            .field("path", &self.path)
            .finish()
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

/// Loads the plugin for `backend` from a given file: refuses another ABI
/// version or table size, and a table with an empty slot (naming it).
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
    // written to be unloaded and loaded again. It also keeps the plugin's
    // table 'static.
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
    // SAFETY: the entry point returns a table that lives as long as the
    // library, which is never unloaded (RTLD_NODELETE); its first two
    // fields are the same in every ABI version, and `checked` reads the
    // rest only once they match this one's.
    let ops = unsafe { checked(ops) }.map_err(|(problem, abi)| fail(problem, abi))?;
    Ok(Plugin {
        library: Some(Arc::new(library)),
        ops,
        backend: backend.into(),
        path: path.to_path_buf(),
    })
}

/// Checks a plugin table: its ABI version and size, then every slot.
///
/// # Safety
/// `ops` must point to a table that lives for the rest of the process and
/// whose first two fields are `abi_version` and `size` (as in every
/// version of the ABI).
unsafe fn checked(ops: *const PluginOps) -> Result<&'static PluginOps, (String, bool)> {
    // SAFETY: per the contract, the first two fields are readable.
    let (version, size) = unsafe { ((*ops).abi_version, (*ops).size) };
    if version != PLUGIN_ABI_VERSION || size as usize != std::mem::size_of::<PluginOps>() {
        return Err((
            format!(
                "plugin ABI version {version} (table of {size} bytes), this amio speaks version {PLUGIN_ABI_VERSION} ({} bytes); rebuild the plugin",
                std::mem::size_of::<PluginOps>()
            ),
            true,
        ));
    }
    // SAFETY: version and size match, so the table has this layout; it
    // lives for the rest of the process.
    let ops: &'static PluginOps = unsafe { &*ops };
    if let Some(slot) = ops.missing_slot() {
        return Err((
            format!("its table has no {slot} function (the slot is empty)"),
            false,
        ));
    }
    Ok(ops)
}

impl Plugin {
    /// A plugin whose table is linked into this program (a driver exported
    /// with [`export_plugin!`](crate::export_plugin) in the same binary),
    /// checked as [`load_path`] checks a loaded one. The driver then runs
    /// through the same C table and the same lease as a loaded plugin's.
    pub fn linked(ops: &'static PluginOps, backend: &str) -> Result<Plugin> {
        // SAFETY: a 'static table; its first two fields are the version's.
        let ops = unsafe { checked(ops) }.map_err(|(problem, abi_mismatch)| Error::Plugin {
            backend: backend.into(),
            path: PathBuf::from("(linked in)"),
            problem,
            abi_mismatch,
        })?;
        Ok(Plugin {
            library: None,
            ops,
            backend: backend.into(),
            path: PathBuf::from("(linked in)"),
        })
    }
}

/// Calls a slot checked full at load.
macro_rules! slot {
    ($plugin:expr, $name:ident) => {
        match $plugin.ops.$name {
            Some(f) => f,
            None => unreachable!(concat!("slot ", stringify!($name), " checked at load")),
        }
    };
}

impl Plugin {
    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The backend's name.
    pub fn backend(&self) -> &str {
        &self.backend
    }

    /// The backend's name as the plugin itself gives it.
    pub fn declared_backend(&self) -> String {
        // SAFETY: checked non-null at load; a NUL-terminated 'static string.
        unsafe { CStr::from_ptr(self.ops.backend) }
            .to_string_lossy()
            .into_owned()
    }

    /// Makes a driver instance from `key=value` options.
    pub fn driver(&self, options: &str) -> Result<PluginDriver> {
        let options = CString::new(options).map_err(|_| Error::Config {
            field: "options",
            rule: "contains a NUL byte".into(),
        })?;
        let mut instance = std::ptr::null_mut();
        let mut err = PluginError::default();
        // SAFETY: valid pointers for the call, per the table's contract.
        let status = unsafe { slot!(self, create)(options.as_ptr(), &mut instance, &mut err) };
        self.check(status, &err)?;
        if instance.is_null() {
            return Err(Error::driver(
                &self.backend,
                amio_core::DriverErrorKind::Other,
                "the plugin made no driver instance",
            ));
        }
        Ok(PluginDriver {
            plugin: self.clone(),
            instance,
            running: false,
        })
    }

    fn check(&self, status: i32, err: &PluginError) -> Result<()> {
        if status == PLUGIN_OK {
            Ok(())
        } else {
            Err(read(&self.backend, err))
        }
    }
}

/// A driver living in a plugin, as an [`AudioDriver`]. The stream's lease
/// passes to the plugin unchanged.
pub struct PluginDriver {
    plugin: Plugin,
    instance: *mut c_void,
    running: bool,
}

// SAFETY: the instance is used from one control thread at a time (`&mut
// self`), as the plugin table requires.
unsafe impl Send for PluginDriver {}

impl std::fmt::Debug for PluginDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginDriver")
            .field("plugin", &self.plugin)
            .field("running", &self.running)
            .finish()
    }
}

impl AudioDriver for PluginDriver {
    fn backend(&self) -> &str {
        &self.plugin.backend
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>> {
        unsafe extern "C" fn collect(user: *mut c_void, device: *const PluginDevice) {
            if user.is_null() || device.is_null() {
                return;
            }
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
        let mut err = PluginError::default();
        // SAFETY: our live instance and a callback that matches the ABI.
        let status = unsafe {
            slot!(self.plugin, devices)(
                self.instance,
                collect,
                (&mut list as *mut Vec<DeviceInfo>).cast(),
                &mut err,
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
        let to_u32 = |field: &'static str, n: usize| {
            u32::try_from(n).map_err(|_| Error::Config {
                field,
                rule: format!("is {n}, more than a plugin can be asked for"),
            })
        };
        let request = PluginRequest {
            device: device.as_ref().map_or(std::ptr::null(), |d| d.as_ptr()),
            frame_rate: config.frame_rate.unwrap_or(0),
            period: config.period.map_or(Ok(0), |p| to_u32("period", p))?,
            in_channels: to_u32("in_channels", config.in_channels)?,
            out_channels: to_u32("out_channels", config.out_channels)?,
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
        let mut err = PluginError::default();
        // SAFETY: our live instance and valid pointers for the call.
        let status =
            unsafe { slot!(self.plugin, open)(self.instance, &request, &mut info, &mut err) };
        self.plugin.check(status, &err)?;
        Ok(StreamInfo {
            backend: self.plugin.backend.clone(),
            device: read_text(&info.device),
            frame_rate: info.frame_rate,
            period: info.period as usize,
            max_period: info.max_period as usize,
            in_channels: info.in_channels as usize,
            out_channels: info.out_channels as usize,
            capture_latency: info.capture_latency,
            playback_latency: info.playback_latency,
        })
    }

    fn start(&mut self, lease: Lease) -> Result<()> {
        if self.running {
            return Err(Error::AlreadyRunning);
        }
        let raw = lease.as_raw();
        let mut err = PluginError::default();
        // SAFETY: our live instance; the lease (held by `lease` until after
        // the call) is borrowed by the plugin, which takes its own
        // references.
        let status = unsafe { slot!(self.plugin, start)(self.instance, &raw, &mut err) };
        drop(lease);
        self.plugin.check(status, &err)?;
        self.running = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<()> {
        if !self.running {
            return Ok(());
        }
        self.running = false;
        let mut err = PluginError::default();
        // SAFETY: our live instance. Once stop returns the plugin calls
        // through the lease no more, error or not.
        let status = unsafe { slot!(self.plugin, stop)(self.instance, &mut err) };
        self.plugin.check(status, &err)
    }
}

impl Drop for PluginDriver {
    fn drop(&mut self) {
        let _ = self.stop();
        // SAFETY: our instance, destroyed once; the library is still loaded
        // (we hold a clone of it, and it is never unloaded).
        unsafe { slot!(self.plugin, destroy)(self.instance) };
        let _ = &self.plugin.library;
    }
}
