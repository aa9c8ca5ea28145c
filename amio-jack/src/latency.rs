//! Following JACK's latency ranges: the capture latency of the ports that
//! feed amio's inputs and the playback latency of the ports amio's outputs
//! feed, refreshed whenever JACK's latency callback fires.

use std::ffi::c_void;

use amio_core::Notifier;

/// What the latency callback reads: amio's ports and where to report.
/// Boxed, so its address stays put while JACK holds it.
pub(crate) struct LatencyWatch {
    inputs: Vec<*mut jack_sys::jack_port_t>,
    outputs: Vec<*mut jack_sys::jack_port_t>,
    notifier: Notifier,
}

// SAFETY: the port pointers are only passed to libjack's latency queries,
// which are safe from any thread while the client is open; the watch is
// dropped only after the client is closed.
unsafe impl Send for LatencyWatch {}
// SAFETY: as above; the watch is never mutated after it is built.
unsafe impl Sync for LatencyWatch {}

impl LatencyWatch {
    pub(crate) fn new(
        inputs: &[jack::Port<jack::AudioIn>],
        outputs: &[jack::Port<jack::AudioOut>],
        notifier: Notifier,
    ) -> Box<LatencyWatch> {
        Box::new(LatencyWatch {
            inputs: inputs.iter().map(|p| p.raw()).collect(),
            outputs: outputs.iter().map(|p| p.raw()).collect(),
            notifier,
        })
    }

    /// Reads the ranges and reports (capture, playback): the largest capture
    /// latency of any input port and the largest playback latency of any
    /// output port.
    pub(crate) fn refresh(&self) -> (u64, u64) {
        let worst = |ports: &[*mut jack_sys::jack_port_t], mode| {
            ports
                .iter()
                .map(|&port| {
                    let mut range = jack_sys::jack_latency_range_t { min: 0, max: 0 };
                    // SAFETY: `port` belongs to our open client and `range`
                    // is a valid out-pointer.
                    unsafe { jack_sys::jack_port_get_latency_range(port, mode, &mut range) };
                    u64::from(range.max)
                })
                .max()
                .unwrap_or(0)
        };
        let capture = worst(&self.inputs, jack_sys::JackCaptureLatency);
        let playback = worst(&self.outputs, jack_sys::JackPlaybackLatency);
        self.notifier.set_latency(capture, playback);
        (capture, playback)
    }

    /// Registers the callback on an inactive client. The watch must outlive
    /// the client.
    pub(crate) fn register(&self, client: &jack::Client) -> Result<(), crate::JackError> {
        let arg = self as *const LatencyWatch as *mut c_void;
        // SAFETY: the client is open and inactive; `arg` points to a boxed
        // watch that the driver keeps until after the client is closed.
        let status =
            unsafe { jack_sys::jack_set_latency_callback(client.raw(), Some(on_latency), arg) };
        if status == 0 {
            Ok(())
        } else {
            Err(crate::JackError::Jack {
                context: "setting the latency callback",
                source: jack::Error::CallbackRegistrationError,
            })
        }
    }
}

/// JACK's latency callback (a notification thread, not the process thread).
unsafe extern "C" fn on_latency(_mode: jack_sys::jack_latency_callback_mode_t, arg: *mut c_void) {
    // SAFETY: `arg` is the watch registered in `LatencyWatch::register`,
    // alive until the client is closed.
    let watch = unsafe { &*(arg as *const LatencyWatch) };
    // A panic must not unwind into C; refresh has none, but be sure.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| watch.refresh()));
}
