//! The driver's notifier: how a driver reports xruns, latency, notices and
//! fatal errors to the engine and the control side.
//!
//! A [`Notifier`] is C-shaped — a context pointer and a table of `extern
//! "C"` functions ([`RawNotifier`]) — so that it crosses the driver-plugin
//! boundary unchanged: a driver inside a plugin holds the very same context
//! and table as one linked into the host. The context is reference counted:
//! every clone holds a reference, so a notifier kept after its stream has
//! stopped (or closed) still points at live memory; its reports are then
//! simply not read by anyone.

use std::ffi::c_void;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::event::{FaultKind, Notice};
use crate::shared::Shared;

/// The functions behind a [`RawNotifier`]. Every function is lock-free,
/// allocation-free and callable from any thread, including a
/// signal-handler-like context (JACK's shutdown callback). None may unwind.
#[repr(C)]
#[derive(Debug)]
pub struct NotifierOps {
    /// Takes one more reference on the context.
    pub retain: Option<unsafe extern "C" fn(ctx: *const c_void)>,
    /// Drops one reference; the last frees the context.
    pub release: Option<unsafe extern "C" fn(ctx: *const c_void)>,
    /// Reports one xrun.
    pub xrun: Option<unsafe extern "C" fn(ctx: *const c_void)>,
    /// Reports the capture and playback latency in frames.
    pub set_latency: Option<unsafe extern "C" fn(ctx: *const c_void, capture: u64, playback: u64)>,
    /// Reports a [`Notice`] (its number).
    pub notice: Option<unsafe extern "C" fn(ctx: *const c_void, notice: u32)>,
    /// Reports a fatal error: a [`FaultKind`] (its number) and `len` bytes of
    /// UTF-8 message.
    pub fatal:
        Option<unsafe extern "C" fn(ctx: *const c_void, kind: u32, message: *const u8, len: usize)>,
    /// Whether a fatal error has been reported (1) or not (0).
    pub has_failed: Option<unsafe extern "C" fn(ctx: *const c_void) -> u32>,
}

impl NotifierOps {
    /// The name of the first empty slot, if any: a table with one is refused.
    pub fn missing_slot(&self) -> Option<&'static str> {
        [
            ("retain", self.retain.is_none()),
            ("release", self.release.is_none()),
            ("xrun", self.xrun.is_none()),
            ("set_latency", self.set_latency.is_none()),
            ("notice", self.notice.is_none()),
            ("fatal", self.fatal.is_none()),
            ("has_failed", self.has_failed.is_none()),
        ]
        .into_iter()
        .find_map(|(name, missing)| missing.then_some(name))
    }
}

/// A notifier as it crosses the plugin boundary: a context and its table.
/// Borrowed when passed; whoever keeps it calls `retain` (what
/// [`Notifier::from_raw`] does).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawNotifier {
    /// The context, passed back to every function.
    pub ctx: *const c_void,
    /// The functions; a `'static` table.
    pub ops: *const NotifierOps,
}

/// A driver's handle for reporting to the engine and the control side.
///
/// Every method is lock-free and allocation-free, safe from the real-time
/// thread, from a driver's notification thread, and from a
/// signal-handler-like context such as JACK's shutdown callback. Cloning
/// takes a reference on the shared context, so a notifier used after its
/// stream stopped is harmless: its reports go to state nobody reads any
/// more.
pub struct Notifier {
    raw: RawNotifier,
}

// SAFETY: the table's functions are callable from any thread (a rule of
// `NotifierOps`), and the context lives while this reference does.
unsafe impl Send for Notifier {}
// SAFETY: as above; no method takes `&mut self`.
unsafe impl Sync for Notifier {}

impl Notifier {
    /// The notifier of an engine's shared state, in this process.
    pub(crate) fn for_shared(shared: Arc<Shared>) -> Notifier {
        Notifier {
            raw: RawNotifier {
                ctx: Arc::into_raw(shared).cast(),
                ops: &SHARED_OPS,
            },
        }
    }

    /// Takes a reference on a notifier handed over as C (by a host across
    /// the plugin boundary).
    ///
    /// # Safety
    /// `raw.ops` must point to a `'static` table whose slots are all filled
    /// (see [`NotifierOps::missing_slot`]) and whose functions keep the
    /// rules of [`NotifierOps`]; `raw.ctx` must be a live context of that
    /// table (the caller holds a reference for the duration of this call).
    pub unsafe fn from_raw(raw: RawNotifier) -> Notifier {
        // SAFETY: per the contract, the table is 'static and complete, and
        // ctx is live while we take our own reference.
        unsafe {
            if let Some(retain) = (*raw.ops).retain {
                retain(raw.ctx);
            }
        }
        Notifier { raw }
    }

    /// The notifier as C, borrowed: valid while `self` lives. A receiver
    /// that keeps it takes its own reference ([`Notifier::from_raw`]).
    pub fn as_raw(&self) -> RawNotifier {
        self.raw
    }

    fn ops(&self) -> &NotifierOps {
        // SAFETY: the table is 'static (checked complete when it came in).
        unsafe { &*self.raw.ops }
    }

    /// Reports one xrun. The engine turns it into an [`crate::Event::Xrun`]
    /// at the start of the next period it processes.
    pub fn xrun(&self) {
        if let Some(f) = self.ops().xrun {
            // SAFETY: our reference keeps ctx alive; any thread may call.
            unsafe { f(self.raw.ctx) }
        }
    }

    /// Reports the driver's current capture and playback latency in frames.
    /// The engine uses the new sum for input tags from its next period on.
    pub fn set_latency(&self, capture: u64, playback: u64) {
        if let Some(f) = self.ops().set_latency {
            // SAFETY: as in `xrun`.
            unsafe { f(self.raw.ctx, capture, playback) }
        }
    }

    /// Reports a [`Notice`]; the engine turns it into an
    /// [`crate::Event::Notice`] at its next period, once per kind.
    pub fn notice(&self, notice: Notice) {
        if let Some(f) = self.ops().notice {
            // SAFETY: as in `xrun`.
            unsafe { f(self.raw.ctx, notice as u32) }
        }
    }

    /// Reports a fatal error: the stream no longer runs. Only the first
    /// report is kept; `message` is cut to 256 bytes.
    pub fn fatal(&self, kind: FaultKind, message: &str) {
        if let Some(f) = self.ops().fatal {
            // SAFETY: as in `xrun`; the message is valid for the call.
            unsafe { f(self.raw.ctx, kind as u32, message.as_ptr(), message.len()) }
        }
    }

    /// Whether a fatal error has been reported.
    pub fn has_failed(&self) -> bool {
        // SAFETY: as in `xrun`.
        self.ops()
            .has_failed
            .is_some_and(|f| unsafe { f(self.raw.ctx) } != 0)
    }
}

impl Clone for Notifier {
    fn clone(&self) -> Notifier {
        if let Some(retain) = self.ops().retain {
            // SAFETY: our reference keeps ctx alive while we take another.
            unsafe { retain(self.raw.ctx) }
        }
        Notifier { raw: self.raw }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if let Some(release) = self.ops().release {
            // SAFETY: we own one reference, given back exactly once here.
            unsafe { release(self.raw.ctx) }
        }
    }
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("failed", &self.has_failed())
            .finish()
    }
}

// The in-process table: the context is an `Arc<Shared>` turned into a raw
// pointer (`Arc::into_raw`), one strong count per `Notifier`.

/// # Safety (for every function below)
/// `ctx` comes from `Arc::<Shared>::into_raw` and the caller holds one of
/// its strong counts, so the `Shared` is alive for the call.
unsafe fn shared<'a>(ctx: *const c_void) -> &'a Shared {
    // SAFETY: per the contract above.
    unsafe { &*ctx.cast::<Shared>() }
}

unsafe extern "C" fn shared_retain(ctx: *const c_void) {
    // SAFETY: ctx is a live Arc<Shared> pointer (the caller holds a count).
    unsafe { Arc::increment_strong_count(ctx.cast::<Shared>()) }
}

unsafe extern "C" fn shared_release(ctx: *const c_void) {
    // SAFETY: the caller gives back one count it owns; the last one frees.
    unsafe { Arc::decrement_strong_count(ctx.cast::<Shared>()) }
}

unsafe extern "C" fn shared_xrun(ctx: *const c_void) {
    // SAFETY: see `shared`.
    unsafe { shared(ctx) }.xruns.fetch_add(1, Ordering::Relaxed);
}

unsafe extern "C" fn shared_set_latency(ctx: *const c_void, capture: u64, playback: u64) {
    // SAFETY: see `shared`.
    let s = unsafe { shared(ctx) };
    s.capture_latency.store(capture, Ordering::Relaxed);
    s.playback_latency.store(playback, Ordering::Relaxed);
}

unsafe extern "C" fn shared_notice(ctx: *const c_void, notice: u32) {
    if let Some(n) = Notice::ALL.iter().find(|n| **n as u32 == notice) {
        // SAFETY: see `shared`.
        unsafe { shared(ctx) }
            .notices
            .fetch_or(n.bit(), Ordering::Relaxed);
    }
}

unsafe extern "C" fn shared_fatal(ctx: *const c_void, kind: u32, message: *const u8, len: usize) {
    let bytes: &[u8] = if message.is_null() {
        &[]
    } else {
        // SAFETY: the caller passes `len` readable bytes.
        unsafe { std::slice::from_raw_parts(message, len) }
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        // Cut at the last whole character (the message may have been cut
        // by a plugin); never allocate here.
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    };
    let kind = FaultKind::from_u8(u8::try_from(kind).unwrap_or(0));
    // SAFETY: see `shared`.
    let s = unsafe { shared(ctx) };
    s.fault.set(kind, text);
    s.wake.force();
}

unsafe extern "C" fn shared_has_failed(ctx: *const c_void) -> u32 {
    // SAFETY: see `shared`.
    u32::from(unsafe { shared(ctx) }.fault.is_set())
}

static SHARED_OPS: NotifierOps = NotifierOps {
    retain: Some(shared_retain),
    release: Some(shared_release),
    xrun: Some(shared_xrun),
    set_latency: Some(shared_set_latency),
    notice: Some(shared_notice),
    fatal: Some(shared_fatal),
    has_failed: Some(shared_has_failed),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_keep_the_context_alive() {
        let shared = Arc::new(Shared::default());
        let notifier = Notifier::for_shared(Arc::clone(&shared));
        let kept = notifier.clone();
        assert_eq!(Arc::strong_count(&shared), 3);
        drop(notifier);
        drop(shared);
        // Only `kept` holds the context now: reporting is harmless.
        kept.xrun();
        kept.fatal(FaultKind::ThreadFailed, "late");
        assert!(kept.has_failed());
    }

    #[test]
    fn a_raw_notifier_round_trips() {
        let shared = Arc::new(Shared::default());
        let notifier = Notifier::for_shared(Arc::clone(&shared));
        // SAFETY: the in-process table is complete and static; `notifier`
        // holds a reference during the call.
        let other = unsafe { Notifier::from_raw(notifier.as_raw()) };
        drop(notifier);
        other.set_latency(3, 4);
        other.notice(Notice::PacedByClock);
        assert_eq!(shared.capture_latency.load(Ordering::Relaxed), 3);
        assert_ne!(shared.notices.load(Ordering::Relaxed), 0);
        drop(other);
        assert_eq!(Arc::strong_count(&shared), 1);
        assert!(SHARED_OPS.missing_slot().is_none());
    }
}
