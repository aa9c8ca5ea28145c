//! A stream: a driver, the engine it runs through a lease, and the
//! interface that controls it.
//!
//! The stream keeps the engine. At every start it lends the engine's
//! periods to the driver under a new lease generation; after the driver's
//! `stop` returns it revokes that generation, so the engine is its own again
//! even if a misbehaving driver still held a lease (such a call gets
//! silence). The engine lives in a reference-counted cell, so no lease ever
//! points at freed memory.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::driver::lease::{LEASE_FAILED, LEASE_OK, LEASE_REVOKED};
use crate::driver::{AudioDriver, Lease, LeaseOps, Notifier, RawLease, StreamConfig};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::FaultKind;
use crate::interface::{Config, Interface};

/// Lease phases, in the low two bits of [`EngineCell::state`]; the
/// generation is in the bits above.
const IDLE: u64 = 0;
const BUSY: u64 = 1;
const REVOKED: u64 = 2;
const FAILED: u64 = 3;
const PHASE: u64 = 3;

/// The engine, shared by the stream and its leases.
struct EngineCell {
    /// `generation << 2 | phase`. A period runs only after moving the
    /// current generation from IDLE to BUSY; the stream takes the engine
    /// back by moving it from IDLE (or FAILED) to REVOKED.
    state: AtomicU64,
    /// Reached by a lease holder only while it holds BUSY, by the stream
    /// only while no generation is IDLE or BUSY.
    engine: UnsafeCell<Option<Engine>>,
    in_channels: usize,
    out_channels: usize,
    max_period: usize,
    /// Reports a panic of the engine.
    notifier: Notifier,
}

// SAFETY: `engine` is reached by one thread at a time, as the state machine
// above guarantees (acquire on taking BUSY, release on leaving it); Engine
// is Send. The other fields are immutable or Sync.
unsafe impl Sync for EngineCell {}
// SAFETY: as above.
unsafe impl Send for EngineCell {}

impl EngineCell {
    /// Opens generation `generation` for leasing. Control side, while no
    /// generation is leased.
    fn lend(&self, generation: u64) {
        self.state.store(generation << 2 | IDLE, Ordering::Release);
    }

    /// Takes the engine back from generation `generation`; returns whether
    /// it had failed (panicked). Control side, after the driver's stop.
    fn revoke(&self, generation: u64) -> bool {
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state >> 2 != generation || state & PHASE == REVOKED {
                return false;
            }
            if state & PHASE == BUSY {
                // Only a driver that broke AudioDriver::stop's promise can
                // still be inside a period; wait for that period to end.
                std::thread::yield_now();
                continue;
            }
            let revoked = generation << 2 | REVOKED;
            if self
                .state
                .compare_exchange(state, revoked, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return state & PHASE == FAILED;
            }
        }
    }

    /// The engine, when no lease can reach it.
    ///
    /// # Safety
    /// No generation may be IDLE or BUSY (every lease revoked), and the
    /// caller must be the stream (one control thread, `&mut Stream`).
    #[allow(clippy::mut_from_ref)]
    unsafe fn engine(&self) -> &mut Option<Engine> {
        // SAFETY: per the contract, nobody else can reach the engine.
        unsafe { &mut *self.engine.get() }
    }
}

unsafe extern "C" fn lease_retain(ctx: *const c_void) {
    // SAFETY: ctx is an `Arc<EngineCell>` pointer whose count the caller
    // holds one of.
    unsafe { Arc::increment_strong_count(ctx.cast::<EngineCell>()) }
}

unsafe extern "C" fn lease_release(ctx: *const c_void) {
    // SAFETY: the caller gives back one count it owns.
    unsafe { Arc::decrement_strong_count(ctx.cast::<EngineCell>()) }
}

unsafe extern "C" fn lease_process(
    ctx: *const c_void,
    generation: u64,
    frames: u32,
    input: *const f32,
    output: *mut f32,
) -> u32 {
    // SAFETY: the caller holds a count on the cell, so it lives for the call.
    let cell = unsafe { &*ctx.cast::<EngineCell>() };
    let n = frames as usize;
    let out: &mut [f32] = if output.is_null() || cell.out_channels == 0 {
        &mut []
    } else {
        // SAFETY: the caller passes room for `frames * out_channels`
        // samples (LeaseOps::process); checked against max_period below
        // before any is written beyond silence.
        unsafe {
            std::slice::from_raw_parts_mut(output, n.min(cell.max_period) * cell.out_channels)
        }
    };
    if n > cell.max_period {
        out.fill(0.0);
        return LEASE_FAILED;
    }
    let idle = generation << 2 | IDLE;
    if let Err(state) = cell.state.compare_exchange(
        idle,
        generation << 2 | BUSY,
        Ordering::Acquire,
        Ordering::Relaxed,
    ) {
        out.fill(0.0);
        return if state >> 2 == generation && state & PHASE == FAILED {
            LEASE_FAILED
        } else {
            LEASE_REVOKED
        };
    }
    let _audio = crate::rt_guard::enter();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: this thread holds BUSY for this generation, so it alone
        // reaches the engine until it leaves BUSY below.
        let Some(engine) = (unsafe { &mut *cell.engine.get() }).as_mut() else {
            out.fill(0.0);
            return;
        };
        let buf = engine.input_buffer(n);
        if input.is_null() {
            buf.fill(0.0);
        } else {
            // SAFETY: the caller passes `frames * in_channels` samples.
            buf.copy_from_slice(unsafe { std::slice::from_raw_parts(input, buf.len()) });
        }
        let rendered = engine.render(n);
        let k = rendered.len().min(out.len());
        out[..k].copy_from_slice(&rendered[..k]);
    }));
    match ran {
        Ok(()) => {
            cell.state.store(idle, Ordering::Release);
            LEASE_OK
        }
        Err(payload) => {
            cell.state
                .store(generation << 2 | FAILED, Ordering::Release);
            out.fill(0.0);
            cell.notifier.fatal(
                FaultKind::ThreadFailed,
                "the engine panicked on the audio thread",
            );
            drop(payload);
            LEASE_FAILED
        }
    }
}

static LEASE_OPS: LeaseOps = LeaseOps {
    retain: Some(lease_retain),
    release: Some(lease_release),
    process: Some(lease_process),
};

/// A driver, the engine it runs and the interface that controls it.
///
/// The driver is started with [`Stream::start`] and suspended with
/// [`Stream::pause`]; the transport (`roll`, `stop`, `locate`), scheduling,
/// events and input are the [`Interface`]'s ([`Stream::interface_mut`]).
/// Control thread only. Dropping a stream closes it.
pub struct Stream {
    driver: Box<dyn AudioDriver>,
    interface: Interface,
    cell: Arc<EngineCell>,
    /// The current lease generation (0: never started).
    generation: u64,
    running: bool,
}

impl Stream {
    /// Opens the driver's stream and makes the interface, without starting
    /// it: commands issued before [`Stream::start`] wait in the queue and
    /// take effect at their target frames.
    pub fn open(
        mut driver: Box<dyn AudioDriver>,
        request: &StreamConfig,
        config: &Config,
    ) -> Result<Stream> {
        let info = driver.open(request)?;
        let (interface, engine) = Interface::new(&info, config)?;
        driver.set_streams_gate(interface.streams_gate());
        let cell = Arc::new(EngineCell {
            state: AtomicU64::new(REVOKED),
            in_channels: engine.in_channels(),
            out_channels: engine.out_channels(),
            max_period: engine.max_period(),
            engine: UnsafeCell::new(Some(engine)),
            notifier: interface.notifier(),
        });
        Ok(Stream {
            driver,
            interface,
            cell,
            generation: 0,
            running: false,
        })
    }

    /// Starts (or restarts) the driver under a new lease.
    pub fn start(&mut self) -> Result<()> {
        if self.interface.is_closed() {
            return Err(Error::NotRunning);
        }
        if self.running {
            return Err(Error::AlreadyRunning);
        }
        self.generation += 1;
        self.cell.lend(self.generation);
        let raw = RawLease {
            ctx: Arc::as_ptr(&self.cell).cast(),
            ops: &LEASE_OPS,
            generation: self.generation,
            max_period: u32::try_from(self.cell.max_period).unwrap_or(u32::MAX),
            in_channels: self.cell.in_channels as u32,
            out_channels: self.cell.out_channels as u32,
            notifier: self.cell.notifier.as_raw(),
        };
        // SAFETY: both tables are this crate's complete statics; the stream
        // holds references on both contexts during the call.
        let lease = unsafe { Lease::from_raw(raw) };
        match self.driver.start(lease) {
            Ok(()) => {
                self.running = true;
                Ok(())
            }
            Err(e) => {
                self.cell.revoke(self.generation);
                Err(e)
            }
        }
    }

    /// Stops the driver; [`Stream::start`] resumes. The engine's state
    /// (stream frame, position, playspecs) is kept. (The transport's stop is
    /// [`Interface::stop`].) If the engine panicked on the audio thread the
    /// stream is closed and [`Error::NotRunning`] returned.
    pub fn pause(&mut self) -> Result<()> {
        if !self.running || self.interface.is_closed() {
            return Ok(());
        }
        let stopped = self.driver.stop();
        self.running = false;
        if self.cell.revoke(self.generation) {
            self.close_with_engine();
            return Err(Error::NotRunning);
        }
        stopped
    }

    /// Whether the driver is running the engine.
    pub fn is_running(&self) -> bool {
        self.running && !self.interface.is_closed()
    }

    /// Stops the driver and closes the interface: changes still pending are
    /// reported dropped. Events and captured input stay readable.
    pub fn close(&mut self) -> Result<()> {
        if self.interface.is_closed() {
            return Ok(());
        }
        let stopped = if self.running {
            self.running = false;
            self.driver.stop()
        } else {
            Ok(())
        };
        self.cell.revoke(self.generation);
        self.close_with_engine();
        stopped
    }

    /// Closes the interface with the engine, dropped here on the control
    /// side. Every lease is revoked.
    fn close_with_engine(&mut self) {
        // SAFETY: every generation is revoked (callers revoke first), and
        // `&mut self` makes this the stream's one control thread.
        let engine = unsafe { self.cell.engine() }.take();
        self.interface.close(engine);
    }

    /// The driver's backend name.
    pub fn backend(&self) -> &str {
        self.driver.backend()
    }

    /// The interface: the latest position, events and captured input.
    pub fn interface(&self) -> &Interface {
        &self.interface
    }

    /// The interface, to schedule playspecs, run the transport (`roll`,
    /// `stop`, `locate`: the transport's stop, not the driver's, which is
    /// [`Stream::pause`]), and take events and input.
    pub fn interface_mut(&mut self) -> &mut Interface {
        &mut self.interface
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("backend", &self.driver.backend())
            .field("running", &self.is_running())
            .field("interface", &self.interface)
            .finish()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
