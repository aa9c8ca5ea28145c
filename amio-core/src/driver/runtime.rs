//! The driver runtime: what every driver's real-time callback is made of.
//!
//! - **The period adapter**: a device period of any length is cut into
//!   engine periods of at most `max_period` frames ([`Runtime::process`]);
//!   the driver only says how to fill the engine's interleaved input from
//!   its buffers and where the interleaved output goes (interleaved or
//!   planar, any sample format through [`crate::driver::sample`]).
//! - **The real-time guard**: [`Runtime::callback`] marks the thread as an
//!   audio thread ([`crate::rt_guard`]) for the whole callback.
//! - **The panic policy**: a panic on the audio path — in the driver's
//!   callback or in the engine — gives silence and one
//!   `Fatal(ThreadFailed)` event; the stream then stays silent until it is
//!   stopped. The same holds in a plugin, where the engine's side catches
//!   its own panics before they reach the C boundary.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::lease::{Lease, LEASE_FAILED, LEASE_OK};
use super::notifier::Notifier;
use crate::error::Result;
use crate::event::FaultKind;

/// How a driver moves one engine period's samples between its device
/// buffers and the engine ([`Runtime::process`]). A pair of closures
/// `(read_input, write_output)` is one.
pub trait DeviceIo {
    /// Fills the engine's interleaved `input` for device frames `offset..`
    /// (`input.len() / in_channels` of them). Samples left alone keep their
    /// previous values.
    fn read_input(&mut self, offset: usize, input: &mut [f32]);
    /// Takes the engine's interleaved `output` of device frames `offset..`.
    fn write_output(&mut self, offset: usize, output: &[f32]);
}

impl<I, O> DeviceIo for (I, O)
where
    I: FnMut(usize, &mut [f32]),
    O: FnMut(usize, &[f32]),
{
    fn read_input(&mut self, offset: usize, input: &mut [f32]) {
        (self.0)(offset, input)
    }
    fn write_output(&mut self, offset: usize, output: &[f32]) {
        (self.1)(offset, output)
    }
}

/// A driver's side of a running stream: the lease and the buffers the
/// period adapter uses.
///
/// Made on the control thread ([`Runtime::new`] allocates), moved to the
/// real-time thread, dropped anywhere.
pub struct Runtime {
    lease: Lease,
    input: Box<[f32]>,
    output: Box<[f32]>,
    failed: bool,
    /// Waited on before every engine period, for a driver without a clock
    /// ([`Runtime::wait_for_streams_with`]).
    gate: Option<crate::StreamsGate>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("lease", &self.lease)
            .field("failed", &self.failed)
            .finish()
    }
}

impl Runtime {
    /// A runtime for `lease`, with one engine period of input and output
    /// buffers; an error, never an abort, when they do not fit in memory.
    /// Control thread.
    pub fn new(lease: Lease) -> Result<Runtime> {
        let buffer = |channels: usize, what| {
            crate::limits::filled(lease.max_period().checked_mul(channels), 0.0f32, what)
                .map(Vec::into_boxed_slice)
        };
        let input = buffer(lease.in_channels(), "driver input buffer")?;
        let output = buffer(lease.out_channels(), "driver output buffer")?;
        Ok(Runtime {
            lease,
            input,
            output,
            failed: false,
            gate: None,
        })
    }

    /// Makes every engine period first wait until the interface's reader
    /// of streamed clips has their data ready ([`crate::StreamsGate`]), so
    /// that nothing is missing. Only for a driver that runs without a clock
    /// (offline, or stepped by hand): it blocks.
    pub fn wait_for_streams_with(&mut self, gate: crate::StreamsGate) {
        self.gate = Some(gate);
    }

    /// The most frames the engine runs at once.
    pub fn max_period(&self) -> usize {
        self.lease.max_period()
    }

    /// Input channels per frame.
    pub fn in_channels(&self) -> usize {
        self.lease.in_channels()
    }

    /// Output channels per frame.
    pub fn out_channels(&self) -> usize {
        self.lease.out_channels()
    }

    /// The stream's notifier (clone it for a driver's other threads).
    pub fn notifier(&self) -> &Notifier {
        self.lease.notifier()
    }

    /// Whether the audio path has failed (a panic, reported as
    /// `Fatal(ThreadFailed)`): from then on [`Runtime::process`] gives
    /// silence.
    pub fn has_failed(&self) -> bool {
        self.failed
    }

    /// Runs a driver's real-time callback `body` under the real-time guard
    /// and the panic policy. Returns `None` if `body` panicked: the driver
    /// then writes silence to its device buffers (the panic has been
    /// reported as `Fatal(ThreadFailed)`, once).
    ///
    /// Real-time thread.
    pub fn callback<R>(&mut self, body: impl FnOnce(&mut Runtime) -> R) -> Option<R> {
        let _audio = crate::rt_guard::enter();
        match catch_unwind(AssertUnwindSafe(|| body(self))) {
            Ok(r) => Some(r),
            Err(payload) => {
                self.fail("the driver's audio callback panicked");
                // The payload is freed on this thread: a panic has already
                // broken the period, and keeping it would leak per panic.
                drop(payload);
                None
            }
        }
    }

    /// Runs `frames` device frames through the engine, in engine periods of
    /// at most `max_period` frames: for each, `io.read_input(offset, input)`
    /// fills the engine's interleaved input for device frames `offset..`,
    /// then `io.write_output(offset, output)` takes the interleaved output
    /// of the same frames. After a failure the output is silence and the
    /// engine is not called.
    ///
    /// Real-time thread.
    pub fn process(&mut self, frames: usize, io: &mut impl DeviceIo) {
        let (ic, oc) = (self.in_channels(), self.out_channels());
        let max = self.max_period().max(1);
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(max);
            let input = &mut self.input[..n * ic];
            io.read_input(done, input);
            let output = &mut self.output[..n * oc];
            if let Some(gate) = &self.gate {
                gate.wait();
            }
            if self.failed {
                output.fill(0.0);
            } else {
                let status = self.lease.process(n, &self.input[..n * ic], output);
                if status == LEASE_FAILED {
                    self.failed = true;
                } else if status != LEASE_OK {
                    output.fill(0.0);
                }
            }
            io.write_output(done, &self.output[..n * oc]);
            done += n;
        }
    }

    /// [`Runtime::process`] over interleaved buffers: `input` should hold
    /// `frames * in_channels` samples (missing ones are taken as silence),
    /// `output` `frames * out_channels` (output that does not fit is
    /// discarded).
    ///
    /// Real-time thread.
    pub fn process_interleaved(&mut self, frames: usize, input: &[f32], output: &mut [f32]) {
        let (ic, oc) = (self.in_channels(), self.out_channels());
        self.process(
            frames,
            &mut (
                |offset: usize, buf: &mut [f32]| {
                    let src = input.get(offset * ic..).unwrap_or(&[]);
                    let k = buf.len().min(src.len());
                    buf[..k].copy_from_slice(&src[..k]);
                    buf[k..].fill(0.0);
                },
                |offset: usize, out: &[f32]| {
                    let dst = output.get_mut(offset * oc..).unwrap_or(&mut []);
                    let k = out.len().min(dst.len());
                    dst[..k].copy_from_slice(&out[..k]);
                },
            ),
        );
    }

    /// Reports a failure of the audio path once and silences the stream.
    fn fail(&mut self, message: &str) {
        if !self.failed {
            self.failed = true;
            self.lease
                .notifier()
                .fatal(FaultKind::ThreadFailed, message);
        }
    }
}
