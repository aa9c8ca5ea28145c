//! The JACK driver: amio's engine as a JACK client.
//!
//! The driver is a thin adapter over [`amio_core::driver::Runtime`]: JACK's
//! process callback owns the runtime (and through it the lease), turns
//! amio's ports into the engine's interleaved buffers with
//! [`Runtime::process`] and runs under [`Runtime::callback`]'s real-time
//! guard and panic policy. Stopping closes the client on the control
//! thread; JACK's client close returns only after the process thread has
//! left its last callback, so nothing runs through the lease afterwards.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use amio_core::driver::sample::{read_channel, write_channel};
use amio_core::{
    AudioDriver, DeviceInfo, FaultKind, Lease, Notifier, Runtime, StreamConfig, StreamInfo,
};

use crate::client::{open_client, physical_ports};
use crate::error::JackError;
use crate::latency::LatencyWatch;

/// Where amio's ports are connected when the stream starts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Connect {
    /// Input `i` from the `i`-th physical capture port, output `i` to the
    /// `i`-th physical playback port, where those exist (as the original
    /// AMIO did).
    #[default]
    Physical,
    /// Input `i` from every port named in `inputs[i]`, output `i` to every
    /// port named in `outputs[i]` (full names, `client:port`). Missing
    /// lists mean no connection.
    Ports {
        /// Source ports for each input.
        inputs: Vec<Vec<String>>,
        /// Destination ports for each output.
        outputs: Vec<Vec<String>>,
    },
    /// No connections; the host or a patchbay makes them.
    None,
}

/// The JACK driver's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JackConfig {
    /// The client's name (JACK may add a suffix if it is taken). Default `amio`.
    pub client_name: String,
    /// The server to use; `None` for the default one. A
    /// [`StreamConfig::device`] overrides it.
    pub server_name: Option<String>,
    /// Input port names; empty for `in_1`, `in_2`, …
    pub input_names: Vec<String>,
    /// Output port names; empty for `out_1`, `out_2`, …
    pub output_names: Vec<String>,
    /// Connections made when the stream starts.
    pub connect: Connect,
}

impl Default for JackConfig {
    fn default() -> JackConfig {
        JackConfig {
            client_name: "amio".into(),
            server_name: None,
            input_names: Vec::new(),
            output_names: Vec::new(),
            connect: Connect::Physical,
        }
    }
}

/// The full names of the driver's client and ports, once open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JackPorts {
    /// The client's name as JACK registered it.
    pub client: String,
    /// Input ports, `client:port`.
    pub inputs: Vec<String>,
    /// Output ports, `client:port`.
    pub outputs: Vec<String>,
}

/// A handle on a JACK driver, usable after it is boxed into a stream.
#[derive(Clone, Default)]
pub struct JackHandle(Arc<Mutex<JackPorts>>);

impl JackHandle {
    /// The client's and ports' names (empty before the stream is opened).
    pub fn ports(&self) -> JackPorts {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, ports: JackPorts) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = ports;
    }
}

/// A client with its ports registered, not yet active.
struct Opened {
    client: jack::Client,
    inputs: Vec<jack::Port<jack::AudioIn>>,
    outputs: Vec<jack::Port<jack::AudioOut>>,
    /// Per port, the ports to connect it to.
    input_peers: Vec<Vec<String>>,
    output_peers: Vec<Vec<String>>,
    info: StreamInfo,
}

/// Where a started client is on its way to running the engine, and off it
/// ([`Process::connection`]).
mod connection {
    /// amio's own connections are being made: the engine does not run.
    pub(super) const CONNECTING: u8 = 0;
    /// The connections are made (the control thread says so after the last
    /// `jack_connect` returned). The cycle that sees this may have begun
    /// before that, on the old graph: it still plays silence.
    pub(super) const CONNECTED: u8 = 1;
    /// Every cycle from here on runs on the connected graph: the engine runs.
    pub(super) const RUNNING: u8 = 2;
    /// The client is being deactivated, which disconnects its ports: the
    /// engine does not run again. Set before the deactivation is asked for,
    /// so a cycle that sees RUNNING began on the connected graph, and no
    /// period of the engine is played or captured through ports that are
    /// being disconnected.
    pub(super) const STOPPING: u8 = 3;
}

/// A running client: its process callback owns the stream's runtime.
struct Running {
    client: jack::AsyncClient<Notify, Process>,
    /// The process callback's [`connection`] state.
    connection: Arc<AtomicU8>,
    /// Dropped after the client, which holds a pointer to it.
    watch: Box<LatencyWatch>,
}

impl Running {
    /// Stops the engine's periods ([`connection::STOPPING`]), then
    /// deactivates and closes the client on this (control) thread. JACK
    /// returns from the close only once its process and notification
    /// threads are stopped, so no callback — and no call through the lease
    /// — runs after this; the runtime is dropped here with the callbacks'
    /// context.
    fn close(self) {
        self.connection
            .store(connection::STOPPING, Ordering::Release);
        drop(self.client);
        drop(self.watch);
    }
}

/// The JACK backend. See the crate docs.
pub struct JackDriver {
    config: JackConfig,
    request: Option<StreamConfig>,
    frame_rate: u32,
    idle: Option<Opened>,
    running: Option<Running>,
    handle: JackHandle,
}

impl JackDriver {
    /// A JACK driver with the given settings. Nothing talks to JACK until
    /// [`AudioDriver::open`].
    pub fn new(config: JackConfig) -> JackDriver {
        JackDriver {
            config,
            request: None,
            frame_rate: 0,
            idle: None,
            running: None,
            handle: JackHandle::default(),
        }
    }

    /// A handle that reports the client's and ports' names.
    pub fn handle(&self) -> JackHandle {
        self.handle.clone()
    }

    fn server<'a>(&'a self, request: &'a StreamConfig) -> Option<&'a str> {
        request
            .device
            .as_deref()
            .or(self.config.server_name.as_deref())
    }

    fn names(
        given: &[String],
        count: usize,
        prefix: &str,
        what: &'static str,
    ) -> Result<Vec<String>, JackError> {
        if given.is_empty() {
            return Ok((1..=count).map(|i| format!("{prefix}_{i}")).collect());
        }
        if given.len() != count {
            return Err(JackError::PortCount {
                what,
                given: given.len(),
                expected: count,
            });
        }
        Ok(given.to_vec())
    }

    fn open_client(&mut self, request: &StreamConfig) -> Result<Opened, JackError> {
        let server = self.server(request).map(str::to_owned);
        let client = open_client(&self.config.client_name, server.as_deref())?;
        let frame_rate = client.sample_rate();
        if let Some(requested) = request.frame_rate.filter(|&r| r != frame_rate) {
            return Err(JackError::FrameRate {
                server: server.unwrap_or_else(|| "default".into()),
                actual: frame_rate,
                requested,
            });
        }
        let input_names = Self::names(
            &self.config.input_names,
            request.in_channels,
            "in",
            "input_names",
        )?;
        let output_names = Self::names(
            &self.config.output_names,
            request.out_channels,
            "out",
            "output_names",
        )?;
        let mut inputs = Vec::new();
        for name in &input_names {
            let port = client
                .register_port(name, jack::AudioIn::default())
                .map_err(|source| JackError::Register {
                    port: name.clone(),
                    source,
                })?;
            inputs.push(port);
        }
        let mut outputs = Vec::new();
        for name in &output_names {
            let port = client
                .register_port(name, jack::AudioOut::default())
                .map_err(|source| JackError::Register {
                    port: name.clone(),
                    source,
                })?;
            outputs.push(port);
        }
        let (input_peers, output_peers) = match &self.config.connect {
            Connect::Physical => {
                let capture = physical_ports(&client, true);
                let playback = physical_ports(&client, false);
                (
                    (0..inputs.len())
                        .map(|i| capture.get(i).cloned().into_iter().collect())
                        .collect(),
                    (0..outputs.len())
                        .map(|i| playback.get(i).cloned().into_iter().collect())
                        .collect(),
                )
            }
            Connect::Ports {
                inputs: i,
                outputs: o,
            } => (
                (0..inputs.len())
                    .map(|k| i.get(k).cloned().unwrap_or_default())
                    .collect(),
                (0..outputs.len())
                    .map(|k| o.get(k).cloned().unwrap_or_default())
                    .collect(),
            ),
            Connect::None => (
                vec![Vec::new(); inputs.len()],
                vec![Vec::new(); outputs.len()],
            ),
        };
        // The latency the peers report now; the latency callback refines it
        // once connected.
        let peer_latency = |peers: &[Vec<String>], mode| {
            peers
                .iter()
                .flatten()
                .filter_map(|name| client.port_by_name(name))
                .map(|port| u64::from(port.get_latency_range(mode).1))
                .max()
                .unwrap_or(0)
        };
        let capture_latency = peer_latency(&input_peers, jack::LatencyType::Capture);
        let playback_latency = peer_latency(&output_peers, jack::LatencyType::Playback);
        let period = client.buffer_size() as usize;
        let ports = JackPorts {
            client: client.name().to_owned(),
            inputs: inputs.iter().filter_map(|p| p.name().ok()).collect(),
            outputs: outputs.iter().filter_map(|p| p.name().ok()).collect(),
        };
        let info = StreamInfo {
            backend: "jack".into(),
            device: server.unwrap_or_else(|| "default".into()),
            frame_rate,
            period,
            max_period: period.max(1),
            in_channels: inputs.len(),
            out_channels: outputs.len(),
            capture_latency,
            playback_latency,
        };
        self.handle.set(ports);
        Ok(Opened {
            client,
            inputs,
            outputs,
            input_peers,
            output_peers,
            info,
        })
    }

    fn start_opened(&mut self, opened: Opened, lease: Lease) -> amio_core::Result<()> {
        let runtime = Runtime::new(lease)?;
        let notifier = runtime.notifier().clone();
        let watch = LatencyWatch::new(
            &opened.client,
            &opened.inputs,
            &opened.outputs,
            notifier.clone(),
        );
        watch.register(&opened.client)?;
        let connection = Arc::new(AtomicU8::new(connection::CONNECTING));
        let process = Process {
            runtime,
            inputs: opened.inputs,
            outputs: opened.outputs,
            connection: Arc::clone(&connection),
        };
        let notify = Notify {
            notifier,
            frame_rate: self.frame_rate,
        };
        let client = opened
            .client
            .activate_async(notify, process)
            .map_err(|source| JackError::Jack {
                context: "activating the client",
                source,
            })?;
        let running = Running {
            client,
            connection: Arc::clone(&connection),
            watch,
        };
        // Connect, now that the client is active.
        let ports = self.handle.ports();
        let pairs = opened
            .input_peers
            .iter()
            .zip(&ports.inputs)
            .flat_map(|(peers, ours)| peers.iter().map(move |p| (p.clone(), ours.clone(), p)))
            .chain(
                opened
                    .output_peers
                    .iter()
                    .zip(&ports.outputs)
                    .flat_map(|(peers, ours)| {
                        peers.iter().map(move |p| (ours.clone(), p.clone(), p))
                    }),
            );
        for (from, to, peer) in pairs {
            let client = running.client.as_client();
            if let Err(source) = client.connect_ports_by_name(&from, &to) {
                let error = if client.port_by_name(peer).is_none() {
                    JackError::NoPort { port: peer.clone() }
                } else {
                    JackError::Connect { from, to, source }
                };
                // Nothing runs through the lease once this returns.
                running.close();
                return Err(error.into());
            }
        }
        running.watch.arm();
        // The engine's first frame is the first one played through these
        // connections: frames processed before would be lost (an output
        // nobody hears, an input that hears nothing).
        connection.store(connection::CONNECTED, Ordering::Release);
        self.running = Some(running);
        Ok(())
    }
}

impl AudioDriver for JackDriver {
    fn backend(&self) -> &str {
        "jack"
    }

    fn devices(&self) -> amio_core::Result<Vec<DeviceInfo>> {
        let server = self.config.server_name.as_deref();
        let client = open_client("amio-devices", server)?;
        let capture = physical_ports(&client, true);
        let playback = physical_ports(&client, false);
        Ok(vec![DeviceInfo {
            name: server.unwrap_or("default").into(),
            description: format!(
                "JACK server at {} Hz, {} frames per period; capture {:?}, playback {:?}",
                client.sample_rate(),
                client.buffer_size(),
                capture,
                playback
            ),
            in_channels: capture.len(),
            out_channels: playback.len(),
        }])
    }

    fn open(&mut self, request: &StreamConfig) -> amio_core::Result<StreamInfo> {
        if self.running.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        self.idle = None;
        let opened = self.open_client(request)?;
        let info = opened.info.clone();
        self.frame_rate = info.frame_rate;
        self.request = Some(request.clone());
        self.idle = Some(opened);
        Ok(info)
    }

    fn start(&mut self, lease: Lease) -> amio_core::Result<()> {
        if self.running.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        let opened = match self.idle.take() {
            Some(opened) => opened,
            None => {
                // Restarting after stop(): open a new client like the first.
                let request = self.request.clone().ok_or(JackError::NotOpen)?;
                let request = StreamConfig {
                    frame_rate: Some(self.frame_rate),
                    ..request
                };
                self.open_client(&request)?
            }
        };
        self.start_opened(opened, lease)
    }

    fn stop(&mut self) -> amio_core::Result<()> {
        if let Some(running) = self.running.take() {
            running.close();
        }
        Ok(())
    }
}

impl Drop for JackDriver {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.close();
        }
    }
}

/// The process callback: runs the engine's periods through the runtime on
/// JACK's real-time thread.
struct Process {
    runtime: Runtime,
    inputs: Vec<jack::Port<jack::AudioIn>>,
    outputs: Vec<jack::Port<jack::AudioOut>>,
    /// [`connection`]: the engine runs only once amio's connections are
    /// in the graph, so stream frame 0 is heard and captured through them.
    connection: Arc<AtomicU8>,
}

impl Process {
    /// Whether this cycle runs the engine (the connections are in the
    /// graph for the whole cycle). Real-time thread.
    fn connected(&self) -> bool {
        match self.connection.load(Ordering::Acquire) {
            connection::RUNNING => true,
            connection::CONNECTED => {
                // This cycle may have started on the old graph; the next
                // one starts on the connected graph (unless the control
                // thread is stopping the client meanwhile).
                let _ = self.connection.compare_exchange(
                    connection::CONNECTED,
                    connection::RUNNING,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                false
            }
            // CONNECTING or STOPPING.
            _ => false,
        }
    }
}

impl jack::ProcessHandler for Process {
    /// Real-time thread: no allocation, no lock, no blocking call. A period
    /// longer than the engine's (after a buffer-size change) is worked in
    /// pieces by [`Runtime::process`]; nothing is reallocated.
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let connected = self.connected();
        let Process {
            runtime,
            inputs,
            outputs,
            ..
        } = self;
        let ran = runtime.callback(|rt| {
            if !connected {
                return false;
            }
            let (ic, oc) = (rt.in_channels(), rt.out_channels());
            let read_input = |offset: usize, input: &mut [f32]| {
                for (ch, port) in inputs.iter().enumerate() {
                    let samples = port.as_slice(ps).get(offset..).unwrap_or(&[]);
                    write_channel(input, ic, ch, samples);
                }
            };
            let write_output = |offset: usize, output: &[f32]| {
                for (ch, port) in outputs.iter_mut().enumerate() {
                    let samples = port.as_mut_slice(ps).get_mut(offset..).unwrap_or(&mut []);
                    read_channel(output, oc, ch, samples);
                }
            };
            rt.process(ps.n_frames() as usize, &mut (read_input, write_output));
            true
        });
        if ran != Some(true) {
            // Waiting for the connections, or the callback panicked (the
            // runtime reported it once as Fatal(ThreadFailed)): silence.
            for port in outputs.iter_mut() {
                port.as_mut_slice(ps).fill(0.0);
            }
        }
        jack::Control::Continue
    }
}

/// JACK's notifications, turned into reports through the engine's notifier.
struct Notify {
    notifier: Notifier,
    frame_rate: u32,
}

impl jack::NotificationHandler for Notify {
    fn xrun(&mut self, _: &jack::Client) -> jack::Control {
        self.notifier.xrun();
        jack::Control::Continue
    }

    fn sample_rate(&mut self, _: &jack::Client, frame_rate: jack::Frames) -> jack::Control {
        if frame_rate != self.frame_rate {
            self.notifier.fatal(
                FaultKind::StreamFailed,
                "the JACK server changed its frame rate under the stream",
            );
        }
        jack::Control::Continue
    }

    unsafe fn shutdown(&mut self, _status: jack::ClientStatus, reason: &str) {
        // Called like a signal handler: the notifier only copies and stores.
        self.notifier.fatal(FaultKind::ServerGone, reason);
    }
}
