//! Following JACK's latency ranges: the capture latency of the ports that
//! feed amio's inputs and the playback latency of the ports amio's outputs
//! feed, refreshed whenever JACK's latency callback fires.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use amio_core::Notifier;

/// What the latency callback reads: amio's ports and where to report.
/// Boxed, so its address stays put while JACK holds it.
pub(crate) struct LatencyWatch {
    client: *mut jack_sys::jack_client_t,
    inputs: Vec<*mut jack_sys::jack_port_t>,
    outputs: Vec<*mut jack_sys::jack_port_t>,
    notifier: Notifier,
    /// Callbacks are ignored until amio's own connections are made: the
    /// latency computed from the intended peers at open holds until then.
    armed: AtomicBool,
}

// SAFETY: the client and port pointers are only passed to libjack's
// queries, which are safe from any thread while the client is open; the
// watch is dropped only after the client is closed.
unsafe impl Send for LatencyWatch {}
// SAFETY: as above; the watch is never mutated after it is built.
unsafe impl Sync for LatencyWatch {}

impl LatencyWatch {
    pub(crate) fn new(
        client: &jack::Client,
        inputs: &[jack::Port<jack::AudioIn>],
        outputs: &[jack::Port<jack::AudioOut>],
        notifier: Notifier,
    ) -> Box<LatencyWatch> {
        Box::new(LatencyWatch {
            client: client.raw(),
            inputs: inputs.iter().map(|p| p.raw()).collect(),
            outputs: outputs.iter().map(|p| p.raw()).collect(),
            notifier,
            armed: AtomicBool::new(false),
        })
    }

    /// Reads the ranges and reports (capture, playback): the largest capture
    /// latency of any port feeding an input and the largest playback latency
    /// of any port an output feeds. (The ranges of amio's own ports are not
    /// reliable here: JACK leaves them to the client.)
    pub(crate) fn refresh(&self) -> (u64, u64) {
        let capture = self.worst_peer(&self.inputs, jack_sys::JackCaptureLatency);
        let playback = self.worst_peer(&self.outputs, jack_sys::JackPlaybackLatency);
        self.notifier.set_latency(capture, playback);
        (capture, playback)
    }

    /// The largest latency of `mode` among the ports connected to `ports`.
    fn worst_peer(
        &self,
        ports: &[*mut jack_sys::jack_port_t],
        mode: jack_sys::jack_latency_callback_mode_t,
    ) -> u64 {
        let mut worst = 0;
        for &port in ports {
            // SAFETY: `port` belongs to our open client; the list is NULL or a
            // NULL-terminated array of names that we free with jack_free.
            let names = unsafe { jack_sys::jack_port_get_connections(port) };
            if names.is_null() {
                continue;
            }
            let mut i = 0;
            loop {
                // SAFETY: within the NULL-terminated array.
                let name = unsafe { *names.add(i) };
                if name.is_null() {
                    break;
                }
                // SAFETY: a port name from JACK; our client is open.
                let peer = unsafe { jack_sys::jack_port_by_name(self.client, name) };
                if !peer.is_null() {
                    let mut range = jack_sys::jack_latency_range_t { min: 0, max: 0 };
                    // SAFETY: a live port and a valid out-pointer.
                    unsafe { jack_sys::jack_port_get_latency_range(peer, mode, &mut range) };
                    worst = worst.max(u64::from(range.max));
                }
                i += 1;
            }
            // SAFETY: the array came from jack_port_get_connections.
            unsafe { jack_sys::jack_free(names.cast()) };
        }
        worst
    }

    /// Starts following JACK's latency callbacks, reading the ranges now.
    pub(crate) fn arm(&self) {
        self.armed.store(true, Ordering::Release);
        self.refresh();
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
    if watch.armed.load(Ordering::Acquire) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| watch.refresh()));
    }
}
