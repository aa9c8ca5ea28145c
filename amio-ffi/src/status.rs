//! Status codes, the last error on each thread, and the guard every entry
//! point runs its body in.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use amio_core::{DriverErrorKind, EntryRule, Error};

/// What every fallible function returns. The values are fixed and never
/// reused; a readable message for the last failure on the calling thread is
/// in [`amio_last_error`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum amio_status {
    /// Success.
    AMIO_OK = 0,
    /// A pointer argument that must not be NULL was NULL.
    AMIO_ERROR_NULL_POINTER = 1,
    /// A handle is unknown, already freed, or of another kind.
    AMIO_ERROR_INVALID_HANDLE = 2,
    /// A value is out of range (a frame rate of 0, a bad enum value, …).
    AMIO_ERROR_INVALID_ARGUMENT = 3,
    /// A buffer's length does not match what the call needs.
    AMIO_ERROR_BUFFER_SIZE = 4,
    /// Clip data is unusable (no channels, partial frame, NaN, …).
    AMIO_ERROR_INVALID_CLIP = 5,
    /// A playspec entry broke a rule; see [`amio_last_error_entry`].
    AMIO_ERROR_INVALID_ENTRY = 6,
    /// Too many commands or changes are in flight; read events and retry.
    AMIO_ERROR_QUEUE_FULL = 7,
    /// The stream is not running (not started, stopped, or lost).
    AMIO_ERROR_NOT_RUNNING = 8,
    /// The stream is already running.
    AMIO_ERROR_ALREADY_RUNNING = 9,
    /// A file could not be read or written.
    AMIO_ERROR_IO = 10,
    /// A file's format is not supported.
    AMIO_ERROR_FORMAT = 11,
    /// No backend of that name is built in or found as a plugin.
    AMIO_ERROR_UNKNOWN_BACKEND = 12,
    /// A backend's plugin cannot be used (another ABI version, not a
    /// plugin, not loadable).
    AMIO_ERROR_PLUGIN = 13,
    /// The driver failed in a way none of the driver statuses from
    /// `AMIO_ERROR_NO_SERVER` on describes; the message says how.
    AMIO_ERROR_DRIVER = 14,
    /// The call needs another mode of the stream (stepping a stream that
    /// is not stepped, …).
    AMIO_ERROR_WRONG_MODE = 15,
    /// A configuration value or backend option is invalid.
    AMIO_ERROR_CONFIG = 16,
    /// The stream is closed: commands are refused (events and input stay
    /// readable).
    AMIO_ERROR_CLOSED = 17,
    /// amio itself failed (a bug); the message says where.
    AMIO_ERROR_INTERNAL = 18,
    /// The call is not allowed from inside one of libamio's callbacks (an
    /// output, input or event callback runs on a thread that closing,
    /// stopping, starting, waiting for or freeing the stream would wait
    /// for): call it from the control thread.
    AMIO_ERROR_IN_CALLBACK = 19,
    /// The driver found no sound server (JACK, PulseAudio, …) running or
    /// reachable; amio never starts one.
    AMIO_ERROR_NO_SERVER = 20,
    /// The driver found no such device, or it went away.
    AMIO_ERROR_NO_DEVICE = 21,
    /// The device is in use by another program.
    AMIO_ERROR_DEVICE_BUSY = 22,
    /// The device or server cannot do what was asked (frame rate, period,
    /// channels, sample format).
    AMIO_ERROR_UNSUPPORTED = 23,
    /// A system library the backend needs (libjack, …) is not installed.
    AMIO_ERROR_LIBRARY_MISSING = 24,
    /// The system refused the driver access (permissions).
    AMIO_ERROR_PERMISSION_DENIED = 25,
}

pub use amio_status::*;

/// Entry rules, as [`amio_last_error_entry`] reports them.
pub type amio_entry_rule = u32;
/// `a <= b` does not hold.
pub const AMIO_RULE_RANGE_REVERSED: amio_entry_rule = 1;
/// `b <= clip.frames` does not hold.
pub const AMIO_RULE_RANGE_PAST_CLIP: amio_entry_rule = 2;
/// `repeat >= 0` does not hold.
pub const AMIO_RULE_NEGATIVE_REPEAT: amio_entry_rule = 3;
/// Not one gain per output channel.
pub const AMIO_RULE_GAIN_COUNT: amio_entry_rule = 4;
/// A gain is NaN or infinite.
pub const AMIO_RULE_GAIN_NOT_FINITE: amio_entry_rule = 5;
/// `fade_in + fade_out <= b - a` does not hold.
pub const AMIO_RULE_FADES_TOO_LONG: amio_entry_rule = 6;
/// The clip's frame rate is not the stream's.
pub const AMIO_RULE_FRAME_RATE: amio_entry_rule = 7;

fn rule_code(rule: &EntryRule) -> amio_entry_rule {
    match rule {
        EntryRule::RangeReversed { .. } => AMIO_RULE_RANGE_REVERSED,
        EntryRule::RangePastClip { .. } => AMIO_RULE_RANGE_PAST_CLIP,
        EntryRule::NegativeRepeat { .. } => AMIO_RULE_NEGATIVE_REPEAT,
        EntryRule::GainCount { .. } => AMIO_RULE_GAIN_COUNT,
        EntryRule::GainNotFinite { .. } => AMIO_RULE_GAIN_NOT_FINITE,
        EntryRule::FadesTooLong { .. } => AMIO_RULE_FADES_TOO_LONG,
        EntryRule::FrameRateMismatch { .. } => AMIO_RULE_FRAME_RATE,
        _ => 0,
    }
}

/// The status of a driver's error of `kind`. A kind this libamio does not
/// know yet is `AMIO_ERROR_DRIVER`, as `DriverErrorKind::Other` is.
pub(crate) fn driver_status(kind: DriverErrorKind) -> amio_status {
    match kind {
        DriverErrorKind::NoServer => AMIO_ERROR_NO_SERVER,
        DriverErrorKind::NoDevice => AMIO_ERROR_NO_DEVICE,
        DriverErrorKind::DeviceBusy => AMIO_ERROR_DEVICE_BUSY,
        DriverErrorKind::Unsupported => AMIO_ERROR_UNSUPPORTED,
        DriverErrorKind::LibraryMissing => AMIO_ERROR_LIBRARY_MISSING,
        DriverErrorKind::PermissionDenied => AMIO_ERROR_PERMISSION_DENIED,
        _ => AMIO_ERROR_DRIVER,
    }
}

/// Why a call failed.
pub(crate) struct Failure {
    status: amio_status,
    message: String,
    entry: Option<(u64, amio_entry_rule)>,
}

impl Failure {
    pub(crate) fn new(status: amio_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
            entry: None,
        }
    }

    /// A NULL pointer where one is required.
    pub(crate) fn null(argument: &str) -> Failure {
        Failure::new(AMIO_ERROR_NULL_POINTER, format!("{argument} is NULL"))
    }

    /// A value out of range.
    pub(crate) fn invalid(message: impl Into<String>) -> Failure {
        Failure::new(AMIO_ERROR_INVALID_ARGUMENT, message)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        let status = match &e {
            Error::ClipNoChannels
            | Error::ClipFrameRate
            | Error::ClipPartialFrame { .. }
            | Error::ClipChannelLength { .. }
            | Error::ClipSampleNotFinite { .. }
            | Error::ClipsDiffer { .. } => AMIO_ERROR_INVALID_CLIP,
            Error::Argument { .. } => AMIO_ERROR_INVALID_ARGUMENT,
            Error::Au { .. } => AMIO_ERROR_FORMAT,
            Error::Wav {
                source: hound::Error::IoError(_),
                ..
            } => AMIO_ERROR_IO,
            Error::Wav { .. } | Error::WavFormat { .. } => AMIO_ERROR_FORMAT,
            Error::Flac { .. } | Error::UnknownFormat { .. } | Error::UnwritableFormat { .. } => {
                AMIO_ERROR_FORMAT
            }
            Error::FlacBits { .. } => AMIO_ERROR_INVALID_ARGUMENT,
            Error::WavLimit { .. } => AMIO_ERROR_FORMAT,
            Error::NotAFile { .. } => AMIO_ERROR_IO,
            Error::Resample { .. } => AMIO_ERROR_INVALID_ARGUMENT,
            Error::Entry { .. } => AMIO_ERROR_INVALID_ENTRY,
            Error::QueueFull { .. } => AMIO_ERROR_QUEUE_FULL,
            Error::Config { .. } => AMIO_ERROR_CONFIG,
            Error::BufferSize { .. } => AMIO_ERROR_BUFFER_SIZE,
            Error::NotRunning => AMIO_ERROR_NOT_RUNNING,
            Error::AlreadyRunning => AMIO_ERROR_ALREADY_RUNNING,
            Error::NoBackend { .. } => AMIO_ERROR_UNKNOWN_BACKEND,
            Error::Plugin { .. } => AMIO_ERROR_PLUGIN,
            Error::Driver { kind, .. } => driver_status(*kind),
            Error::Io { .. } => AMIO_ERROR_IO,
            _ => AMIO_ERROR_INTERNAL,
        };
        let entry = match &e {
            Error::Entry { entry, rule } => Some((*entry as u64, rule_code(rule))),
            _ => None,
        };
        Failure {
            status,
            message: e.to_string(),
            entry,
        }
    }
}

struct LastError {
    message: CString,
    entry: Option<(u64, amio_entry_rule)>,
}

thread_local! {
    static LAST: RefCell<LastError> = RefCell::new(LastError { message: CString::default(), entry: None });
}

fn set_last(message: String, entry: Option<(u64, amio_entry_rule)>) {
    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST.with(|l| *l.borrow_mut() = LastError { message, entry });
}

/// Runs an entry point's body: errors become a status and the thread's last
/// error ("<function>: <message>"); panics never cross into C.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> Result<(), Failure>) -> amio_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => AMIO_OK,
        Ok(Err(f)) => {
            set_last(format!("{function}: {}", f.message), f.entry);
            f.status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_last(format!("{function}: internal error (panic: {what})"), None);
            AMIO_ERROR_INTERNAL
        }
    }
}

/// The message of the last failure on the calling thread ("" if none yet).
/// Valid until the next failing call on this thread. Any thread.
#[no_mangle]
pub extern "C" fn amio_last_error() -> *const c_char {
    LAST.with(|l| l.borrow().message.as_ptr())
}

/// If the last failure on the calling thread was a playspec entry breaking
/// a rule, writes the entry's index and the rule (`AMIO_RULE_*`) and
/// returns `AMIO_OK`; otherwise returns `AMIO_ERROR_INVALID_ARGUMENT` and
/// writes nothing. Either out-pointer may be NULL. Any thread.
///
/// # Safety
/// Non-NULL out-pointers must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_last_error_entry(
    entry_out: *mut u64,
    rule_out: *mut amio_entry_rule,
) -> amio_status {
    let Some((entry, rule)) = LAST.with(|l| l.borrow().entry) else {
        return AMIO_ERROR_INVALID_ARGUMENT;
    };
    // SAFETY: out-pointers from the caller, written only when non-NULL.
    unsafe {
        if !entry_out.is_null() {
            *entry_out = entry;
        }
        if !rule_out.is_null() {
            *rule_out = rule;
        }
    }
    AMIO_OK
}

/// The name of a status value, as a static string (`"AMIO_OK"`, …;
/// `"AMIO_UNKNOWN_STATUS"` for a value that is not one). Any thread.
#[no_mangle]
pub extern "C" fn amio_status_name(status: i32) -> *const c_char {
    let name: &'static [u8] = match status {
        0 => b"AMIO_OK\0",
        1 => b"AMIO_ERROR_NULL_POINTER\0",
        2 => b"AMIO_ERROR_INVALID_HANDLE\0",
        3 => b"AMIO_ERROR_INVALID_ARGUMENT\0",
        4 => b"AMIO_ERROR_BUFFER_SIZE\0",
        5 => b"AMIO_ERROR_INVALID_CLIP\0",
        6 => b"AMIO_ERROR_INVALID_ENTRY\0",
        7 => b"AMIO_ERROR_QUEUE_FULL\0",
        8 => b"AMIO_ERROR_NOT_RUNNING\0",
        9 => b"AMIO_ERROR_ALREADY_RUNNING\0",
        10 => b"AMIO_ERROR_IO\0",
        11 => b"AMIO_ERROR_FORMAT\0",
        12 => b"AMIO_ERROR_UNKNOWN_BACKEND\0",
        13 => b"AMIO_ERROR_PLUGIN\0",
        14 => b"AMIO_ERROR_DRIVER\0",
        15 => b"AMIO_ERROR_WRONG_MODE\0",
        16 => b"AMIO_ERROR_CONFIG\0",
        17 => b"AMIO_ERROR_CLOSED\0",
        18 => b"AMIO_ERROR_INTERNAL\0",
        19 => b"AMIO_ERROR_IN_CALLBACK\0",
        20 => b"AMIO_ERROR_NO_SERVER\0",
        21 => b"AMIO_ERROR_NO_DEVICE\0",
        22 => b"AMIO_ERROR_DEVICE_BUSY\0",
        23 => b"AMIO_ERROR_UNSUPPORTED\0",
        24 => b"AMIO_ERROR_LIBRARY_MISSING\0",
        25 => b"AMIO_ERROR_PERMISSION_DENIED\0",
        _ => b"AMIO_UNKNOWN_STATUS\0",
    };
    name.as_ptr().cast()
}

/// Fails unless an out-pointer is non-NULL (checked before any work, so
/// nothing is made and lost).
pub(crate) fn check_out<T>(out: *mut T, name: &str) -> Result<(), Failure> {
    if out.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(())
    }
}

/// Writes `value` through an out-pointer that the caller promised valid.
///
/// # Safety
/// `out` must be valid for writes of `T` (checked non-NULL here).
pub(crate) unsafe fn write_out<T>(out: *mut T, name: &str, value: T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and valid per the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn name(status: i32) -> &'static str {
        // SAFETY: amio_status_name returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(amio_status_name(status)) }
            .to_str()
            .unwrap_or_default()
    }

    #[test]
    fn every_status_has_its_name_and_fixed_value() {
        let all = [
            (AMIO_OK, 0, "AMIO_OK"),
            (AMIO_ERROR_DRIVER, 14, "AMIO_ERROR_DRIVER"),
            (AMIO_ERROR_IN_CALLBACK, 19, "AMIO_ERROR_IN_CALLBACK"),
            (AMIO_ERROR_NO_SERVER, 20, "AMIO_ERROR_NO_SERVER"),
            (AMIO_ERROR_NO_DEVICE, 21, "AMIO_ERROR_NO_DEVICE"),
            (AMIO_ERROR_DEVICE_BUSY, 22, "AMIO_ERROR_DEVICE_BUSY"),
            (AMIO_ERROR_UNSUPPORTED, 23, "AMIO_ERROR_UNSUPPORTED"),
            (AMIO_ERROR_LIBRARY_MISSING, 24, "AMIO_ERROR_LIBRARY_MISSING"),
            (
                AMIO_ERROR_PERMISSION_DENIED,
                25,
                "AMIO_ERROR_PERMISSION_DENIED",
            ),
        ];
        for (status, value, text) in all {
            assert_eq!(status as i32, value);
            assert_eq!(name(value), text);
        }
        for value in 0..=25 {
            assert_ne!(name(value), "AMIO_UNKNOWN_STATUS", "{value}");
        }
        assert_eq!(name(26), "AMIO_UNKNOWN_STATUS");
    }

    #[test]
    fn driver_error_kinds_have_statuses_of_their_own() {
        let statuses: Vec<amio_status> = DriverErrorKind::ALL
            .into_iter()
            .map(|kind| Failure::from(Error::driver("test", kind, "message")).status)
            .collect();
        assert_eq!(
            statuses,
            [
                AMIO_ERROR_DRIVER,
                AMIO_ERROR_NO_SERVER,
                AMIO_ERROR_NO_DEVICE,
                AMIO_ERROR_DEVICE_BUSY,
                AMIO_ERROR_UNSUPPORTED,
                AMIO_ERROR_LIBRARY_MISSING,
                AMIO_ERROR_PERMISSION_DENIED,
            ]
        );
        let f = Failure::from(Error::driver(
            "jack",
            DriverErrorKind::NoServer,
            "no JACK server",
        ));
        assert_eq!(f.message, "jack: no JACK server");
    }
}
