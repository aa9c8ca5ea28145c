//! Where plugins are looked for, and which are there.

use std::ffi::{c_void, CStr};
use std::path::{Path, PathBuf};

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
