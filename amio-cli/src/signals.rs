//! SIGINT (Ctrl-C) and SIGTERM: the running command is told, and stops at
//! its next check (a few tens of milliseconds) as it chooses: `render`
//! abandons its output, `record` keeps what it captured, `play` stops.
//! The handler only stores the signal's number and counts it; everything
//! else happens on the command's own thread.

use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// The last signal received (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// How many were received.
static COUNT: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // Async-signal-safe: lock-free atomic stores only.
    SIGNAL.store(signal, Ordering::SeqCst);
    COUNT.fetch_add(1, Ordering::SeqCst);
}

/// Installs the handler for SIGINT and SIGTERM (once, at the start).
pub fn install() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction(2) with a zeroed, then filled, struct that lives
        // across the call; the handler only touches lock-free atomics,
        // which is async-signal-safe, on whichever thread the signal lands.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The last SIGINT or SIGTERM received, if any.
pub fn received() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// How many were received so far.
pub fn count() -> u32 {
    COUNT.load(Ordering::SeqCst)
}

/// The signal's name.
pub fn name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT (Ctrl-C)",
        libc::SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
