//! The lease: what a driver receives when its stream starts, instead of the
//! engine itself.
//!
//! A lease is C-shaped — a context, a table of `extern "C"` functions, the
//! lease's generation, the engine's period and channel counts, and the
//! stream's [`RawNotifier`] ([`RawLease`]) — so it crosses the
//! driver-plugin boundary unchanged. The [`crate::Stream`] keeps the engine;
//! a lease only lets its holder run periods of it, for as long as the
//! stream has not taken it back: once [`crate::AudioDriver::stop`] returns,
//! the stream revokes the generation, and any later call through the lease
//! (a driver that broke the contract) gets silence instead of the engine.
//! The context is reference counted, so a lease, like a notifier, never
//! points at freed memory.

use std::ffi::c_void;

use super::notifier::{Notifier, RawNotifier};

/// What [`LeaseOps::process`] returns: the period ran.
pub const LEASE_OK: u32 = 0;
/// What [`LeaseOps::process`] returns: the lease was taken back; the output
/// is silence.
pub const LEASE_REVOKED: u32 = 1;
/// What [`LeaseOps::process`] returns: the engine panicked in this or an
/// earlier period of this lease (reported once as
/// `Fatal(ThreadFailed)`); the output is silence.
pub const LEASE_FAILED: u32 = 2;

/// The functions behind a [`RawLease`]. None may unwind.
#[repr(C)]
#[derive(Debug)]
pub struct LeaseOps {
    /// Takes one more reference on the context (any thread).
    pub retain: Option<unsafe extern "C" fn(ctx: *const c_void)>,
    /// Drops one reference; the last frees the context (any thread; the
    /// stream holds one until it is dropped, on the control thread).
    pub release: Option<unsafe extern "C" fn(ctx: *const c_void)>,
    /// Runs one period of the engine for lease `generation`: `frames` (at
    /// most `max_period`) frames of interleaved input (`frames *
    /// in_channels` samples, or null when there are no input channels) in,
    /// `frames * out_channels` samples out. Returns [`LEASE_OK`],
    /// [`LEASE_REVOKED`] or [`LEASE_FAILED`] (output silence).
    ///
    /// Real-time thread, one thread at a time per lease: no allocation, no
    /// lock, no blocking call.
    pub process: Option<
        unsafe extern "C" fn(
            ctx: *const c_void,
            generation: u64,
            frames: u32,
            input: *const f32,
            output: *mut f32,
        ) -> u32,
    >,
}

impl LeaseOps {
    /// The name of the first empty slot, if any: a table with one is refused.
    pub fn missing_slot(&self) -> Option<&'static str> {
        [
            ("retain", self.retain.is_none()),
            ("release", self.release.is_none()),
            ("process", self.process.is_none()),
        ]
        .into_iter()
        .find_map(|(name, missing)| missing.then_some(name))
    }
}

/// A lease as it crosses the plugin boundary. Borrowed when passed: the
/// receiver takes its own references ([`Lease::from_raw`]).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawLease {
    /// The engine's context, passed back to every function.
    pub ctx: *const c_void,
    /// The functions; a `'static` table.
    pub ops: *const LeaseOps,
    /// The lease's generation (a new one at every start).
    pub generation: u64,
    /// The most frames one `process` call may carry.
    pub max_period: u32,
    /// Input channels (samples per input frame).
    pub in_channels: u32,
    /// Output channels (samples per output frame).
    pub out_channels: u32,
    /// The stream's notifier.
    pub notifier: RawNotifier,
}

/// The right to run an engine's periods, given to a driver by
/// [`crate::AudioDriver::start`].
///
/// Move it to the real-time thread (usually inside a
/// [`crate::driver::Runtime`]); it is `Send` but not `Clone`: one thread
/// runs the engine. Dropping it anywhere is harmless.
pub struct Lease {
    raw: RawLease,
    notifier: Notifier,
}

// SAFETY: the engine behind the lease is Send and is reached by one thread
// at a time (`process` takes `&mut self`, and `Lease` is not Clone); the
// context is reference counted and its retain/release are thread-safe.
unsafe impl Send for Lease {}

impl Lease {
    /// Takes references on a lease handed over as C (a host's, across the
    /// plugin boundary, or [`crate::Stream`]'s own).
    ///
    /// # Safety
    /// `raw.ops` and `raw.notifier.ops` must point to `'static`, complete
    /// tables keeping the rules of [`LeaseOps`] and
    /// [`crate::driver::NotifierOps`]; both contexts must be live for the
    /// duration of this call (the caller holds references).
    pub unsafe fn from_raw(raw: RawLease) -> Lease {
        // SAFETY: per the contract; we take our own references.
        let notifier = unsafe { Notifier::from_raw(raw.notifier) };
        // SAFETY: as above.
        unsafe {
            if let Some(retain) = (*raw.ops).retain {
                retain(raw.ctx);
            }
        }
        Lease { raw, notifier }
    }

    /// The lease as C, borrowed: valid while `self` lives.
    pub fn as_raw(&self) -> RawLease {
        RawLease {
            notifier: self.notifier.as_raw(),
            ..self.raw
        }
    }

    /// The most frames one [`Lease::process`] runs.
    pub fn max_period(&self) -> usize {
        self.raw.max_period as usize
    }

    /// Input channels per frame.
    pub fn in_channels(&self) -> usize {
        self.raw.in_channels as usize
    }

    /// Output channels per frame.
    pub fn out_channels(&self) -> usize {
        self.raw.out_channels as usize
    }

    /// The stream's notifier.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Runs one period of `frames` frames: `input` must hold `frames *
    /// in_channels` samples and `output` room for `frames * out_channels`.
    /// Returns [`LEASE_OK`], or another status with `output` silent (also
    /// when `frames` exceeds `max_period` or a buffer is too short:
    /// [`LEASE_FAILED`]).
    ///
    /// Real-time thread: no allocation, no lock, no blocking call.
    pub fn process(&mut self, frames: usize, input: &[f32], output: &mut [f32]) -> u32 {
        let (ic, oc) = (self.in_channels(), self.out_channels());
        let fits = frames <= self.max_period()
            && input.len() >= frames * ic
            && output.len() >= frames * oc;
        if !fits {
            output.fill(0.0);
            return LEASE_FAILED;
        }
        let Some(process) = self.ops().process else {
            output.fill(0.0);
            return LEASE_FAILED;
        };
        let input = if ic == 0 {
            std::ptr::null()
        } else {
            input.as_ptr()
        };
        // SAFETY: our reference keeps ctx alive; `&mut self` makes this the
        // only caller; the buffers hold the sizes checked above, and
        // `frames <= max_period <= u32::MAX`.
        unsafe {
            process(
                self.raw.ctx,
                self.raw.generation,
                frames as u32,
                input,
                output.as_mut_ptr(),
            )
        }
    }

    fn ops(&self) -> &LeaseOps {
        // SAFETY: the table is 'static (checked complete when it came in).
        unsafe { &*self.raw.ops }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(release) = self.ops().release {
            // SAFETY: we own one reference, given back exactly once here.
            unsafe { release(self.raw.ctx) }
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("generation", &self.raw.generation)
            .field("max_period", &self.raw.max_period)
            .field("in_channels", &self.raw.in_channels)
            .field("out_channels", &self.raw.out_channels)
            .finish()
    }
}
