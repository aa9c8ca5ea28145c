//! Test helpers shared by amio's crates: a private JACK server per test and
//! independent JACK peers (a recorder and a signal generator) that talk to
//! amio as any other JACK client would.
//!
//! Every process started here runs with `JACK_NO_START_SERVER=1` and the
//! test's own server name; servers are killed by their own pid.
//!
//! JACK2's shared-memory registry holds 8 servers, and a server that dies
//! by SIGKILL keeps its entry until a server of the same name starts. So
//! test servers take their names from 8 slots, `amio-test-0` to
//! `amio-test-7`, each held through a lock file for the life of the server
//! (released even if the test process is killed): a dead server's entry is
//! reclaimed when its slot's name is next used, and a server a killed test
//! left running is ended by the pid recorded in the slot's lock file.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Said by a check that failed only because xruns (a machine too loaded
/// for real time) left too few frames to check, not because anything was
/// wrong: [`child::run`] runs such a test again.
pub const TOO_BUSY: &str = "the machine was too busy for a clean run";

/// Slots for test servers (JACK's registry size).
const SLOTS: usize = 8;

/// One of the slots, held while its lock file is locked.
struct Slot {
    name: String,
    lock: File,
}

impl Slot {
    /// Claims a free slot, waiting for one (a hang guard of two minutes).
    fn claim() -> Slot {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            for i in 0..SLOTS {
                let path = std::env::temp_dir().join(format!("amio-test-jackd-{i}.lock"));
                let Ok(lock) = File::options()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&path)
                else {
                    continue;
                };
                // SAFETY: flock on a descriptor we own.
                if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                    continue;
                }
                let slot = Slot {
                    name: format!("amio-test-{i}"),
                    lock,
                };
                slot.end_orphan();
                return slot;
            }
            assert!(
                Instant::now() < deadline,
                "no free JACK test-server slot in two minutes"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Ends a server that a killed test left running in this slot.
    fn end_orphan(&self) {
        let mut text = String::new();
        let mut lock = &self.lock;
        let _ = lock.read_to_string(&mut text);
        let Ok(pid) = text.trim().parse::<i32>() else {
            return;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let ours = format!("-n\0{}\0", self.name);
        if cmdline.starts_with(b"jackd\0")
            && cmdline.windows(ours.len()).any(|w| w == ours.as_bytes())
        {
            // SAFETY: kill(2) on the pid of a jackd this slot started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::path::Path::new(&format!("/proc/{pid}")).exists()
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Records the pid of the server now in this slot.
    fn record(&self, pid: u32) {
        let mut lock = &self.lock;
        let _ = lock.set_len(0);
        let _ = lock.rewind();
        let _ = write!(lock, "{pid}");
        let _ = lock.flush();
    }
}

/// A private `jackd` with the dummy backend.
pub struct JackServer {
    slot: Slot,
    name: String,
    period: u32,
    synchronous: bool,
    loopback: bool,
    child: Option<Child>,
    log: PathBuf,
}

static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// A server name no other test uses: the pid and a counter.
pub fn unique_name(what: &str) -> String {
    format!(
        "amio-{what}-{}-{}",
        std::process::id(),
        SERVERS.fetch_add(1, Ordering::Relaxed)
    )
}

/// The JACK client name for `base` on the test server `server`, unique
/// among the clients of all test servers (`recorder-amio-test-3`).
///
/// libjack names the socket on which a client hears from its server after
/// the client alone, not the server: two processes that open clients of
/// one name at the same moment, each on its own server, take each other's
/// socket, and one open fails ("Cannot connect to client name = …" in the
/// server's log). Test servers' names are unique while they run (the
/// slots), so names made with theirs are too.
pub fn client_name(base: &str, server: &str) -> String {
    format!("{base}-{server}")
}

fn jack_command(program: &str, server: &str) -> Command {
    let mut c = Command::new(program);
    c.env("JACK_NO_START_SERVER", "1")
        .env("JACK_DEFAULT_SERVER", server)
        .stdin(Stdio::null());
    c
}

impl JackServer {
    /// Starts a server at 48 kHz with the given period and waits until it
    /// answers. Synchronous mode (`-S`): the server waits for every client
    /// each cycle, so a busy test machine slows the graph down instead of
    /// dropping cycles.
    pub fn start(period: u32) -> JackServer {
        let mut server = JackServer::new(period, true);
        server.launch();
        server
    }

    /// Starts an asynchronous server (no `-S`): a client that misses its
    /// cycle causes an xrun, as on real hardware.
    pub fn start_async(period: u32) -> JackServer {
        let mut server = JackServer::new(period, false);
        server.launch();
        server
    }

    /// Starts a server that also runs JACK's loopback driver: its ports
    /// `loopback:playback_N` come back as `loopback:capture_N`, as a cable
    /// from an output to an input would.
    pub fn start_with_loopback(period: u32, synchronous: bool) -> JackServer {
        let mut server = JackServer::new(period, synchronous);
        server.loopback = true;
        server.launch();
        server
    }

    /// Whether the server answers (`jack_wait -c`).
    pub fn is_running(name: &str) -> bool {
        jack_command("jack_wait", name)
            .args(["-s", name, "-c"])
            .stdout(Stdio::piped())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "running")
            .unwrap_or(false)
    }

    fn new(period: u32, synchronous: bool) -> JackServer {
        let slot = Slot::claim();
        let name = slot.name.clone();
        JackServer {
            log: std::env::temp_dir().join(format!("{name}-{}.log", std::process::id())),
            slot,
            name,
            period,
            synchronous,
            loopback: false,
            child: None,
        }
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(&self.log).expect("creating the jackd log");
        let err = log.try_clone().expect("cloning the jackd log");
        // One period of wall-clock time per cycle.
        let wait_us = (u64::from(self.period) * 1_000_000 / 48_000).to_string();
        let mut command = jack_command("jackd", &self.name);
        // The dummy backend's clock must keep its nominal rate, as a sound
        // card's does: JACK stamps cycles in microseconds (cpal's JACK host
        // passes those on), and a server whose frames run slow against
        // them turns a round trip of 1536 frames into 1537 to 1541. The
        // dummy backend sleeps each cycle relative to that cycle's start,
        // so every late wake-up adds up: measured here, 0.1 to 1.4 % slow
        // with the default 50 µs timer slack and normal scheduling (worst
        // with both cores busy), within 0.002 % with a timer slack of 1 ns
        // and real-time scheduling (`-R`, which jackd drops, with a
        // warning, where the system does not allow it).
        command.args(["-n", &self.name, "-R", "-t", "10000"]);
        // SAFETY: runs in the forked child before exec; prctl(2) is
        // async-signal-safe and only sets the child's own timer slack,
        // which exec keeps.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0);
                Ok(())
            });
        }
        if self.synchronous {
            command.arg("-S");
        }
        if self.loopback {
            command.args(["-X", "loopback"]);
        }
        let child = command
            .args(["-d", "dummy", "-r", "48000", "-p"])
            .arg(self.period.to_string())
            .args(["-w", &wait_us])
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("starting jackd (is jackd2 installed?)");
        self.slot.record(child.id());
        self.child = Some(child);
        // `jack_wait -w` gives up, instead of waiting on, when it meets a
        // server that is still setting up (or the registry entry of a
        // killed one under the same name, which the new server reclaims
        // as it starts): ask again while our jackd lives (a hang guard of
        // 20 s).
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let up = jack_command("jack_wait", &self.name)
                .args(["-s", &self.name, "-w", "-t", "20"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("running jack_wait");
            if up.success() {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .is_none_or(|c| !matches!(c.try_wait(), Ok(None)));
            assert!(
                !exited && Instant::now() < deadline,
                "jackd {} did not come up; log: {}",
                self.name,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the server with SIGKILL (by its pid), as a crash would, and
    /// reaps it. JACK keeps a killed server's registry slot until a server
    /// of the same name starts: follow with [`JackServer::restart`].
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server with SIGTERM (by its pid), so it leaves JACK's
    /// registry (which has 8 slots), waiting up to 10 s before SIGKILL.
    pub fn terminate(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) on our own child's pid; it has not been reaped.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Reaps a server killed by someone else (by its pid).
    pub fn reap(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }

    /// Starts the server again under the same name.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Sets the server's buffer size with `jack_bufsize`.
    pub fn set_buffer_size(&self, frames: u32) {
        let ok = jack_command("jack_bufsize", &self.name)
            .arg(frames.to_string())
            .stdout(Stdio::null())
            .status()
            .expect("running jack_bufsize");
        assert!(ok.success(), "jack_bufsize {frames} failed");
    }

    /// Connects two ports with `jack_connect`.
    pub fn connect(&self, from: &str, to: &str) {
        let ok = jack_command("jack_connect", &self.name)
            .args(["-s", &self.name, from, to])
            .status()
            .expect("running jack_connect");
        assert!(ok.success(), "jack_connect {from} {to} failed");
    }
}

impl Drop for JackServer {
    fn drop(&mut self) {
        self.terminate();
        if std::thread::panicking() {
            // The test failed: what the server said is part of the story.
            eprintln!("jackd {} log:\n{}", self.name, self.log());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

/// Frames recorded by a [`Recorder`], per channel, from its first cycle.
#[derive(Default)]
struct Tape {
    channels: Vec<Vec<f32>>,
    /// The JACK frame time of the first frame.
    first_frame_time: Option<u64>,
}

struct RecordProcess {
    ports: Vec<jack::Port<jack::AudioIn>>,
    tape: Arc<Mutex<Tape>>,
}

impl jack::ProcessHandler for RecordProcess {
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        // A test peer, not amio: a lock is fine (the server is synchronous).
        let mut tape = self.tape.lock().unwrap_or_else(PoisonError::into_inner);
        tape.first_frame_time
            .get_or_insert(u64::from(ps.last_frame_time()));
        for (ch, port) in self.ports.iter().enumerate() {
            tape.channels[ch].extend_from_slice(port.as_slice(ps));
        }
        jack::Control::Continue
    }
}

/// An independent JACK client that records its input ports.
pub struct Recorder {
    client: Option<jack::AsyncClient<(), RecordProcess>>,
    tape: Arc<Mutex<Tape>>,
    /// The full names of its input ports.
    pub ports: Vec<String>,
}

impl Recorder {
    /// Opens a recorder with `channels` input ports on `server`, each
    /// connected from the matching port in `sources`. Its client is
    /// [`client_name`]`(name, server)`.
    pub fn start(server: &str, name: &str, channels: usize, sources: &[String]) -> Recorder {
        let client = amio_jack::open_client(&client_name(name, server), Some(server))
            .expect("opening the recorder");
        let ports: Vec<_> = (0..channels)
            .map(|i| {
                client
                    .register_port(&format!("in_{}", i + 1), jack::AudioIn::default())
                    .expect("recorder port")
            })
            .collect();
        let names: Vec<String> = ports.iter().map(|p| p.name().expect("port name")).collect();
        let tape = Arc::new(Mutex::new(Tape {
            channels: vec![Vec::new(); channels],
            first_frame_time: None,
        }));
        let process = RecordProcess {
            ports,
            tape: Arc::clone(&tape),
        };
        let active = client
            .activate_async((), process)
            .expect("activating the recorder");
        for (source, port) in sources.iter().zip(&names) {
            active
                .as_client()
                .connect_ports_by_name(source, port)
                .expect("connecting the recorder");
        }
        Recorder {
            client: Some(active),
            tape,
            ports: names,
        }
    }

    /// Frames recorded so far (per channel).
    pub fn frames(&self) -> usize {
        self.tape
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .channels
            .first()
            .map_or(0, Vec::len)
    }

    /// Waits until at least `frames` frames are recorded (or panics after
    /// `timeout`, a hang guard).
    pub fn wait_for(&self, frames: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.frames() < frames {
            assert!(
                Instant::now() < deadline,
                "recorded only {} of {frames} frames",
                self.frames()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The JACK frame time of the first recorded frame, once recording.
    pub fn first_frame_time(&self) -> Option<u64> {
        self.tape
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first_frame_time
    }

    /// Stops and returns the recording, interleaved.
    pub fn finish(mut self) -> Vec<f32> {
        drop(self.client.take());
        let tape = self.tape.lock().unwrap_or_else(PoisonError::into_inner);
        let frames = tape.channels.first().map_or(0, Vec::len);
        let mut out = Vec::with_capacity(frames * tape.channels.len());
        for f in 0..frames {
            for ch in &tape.channels {
                out.push(ch[f]);
            }
        }
        out
    }
}

struct GenerateProcess {
    ports: Vec<jack::Port<jack::AudioOut>>,
}

/// The generator's signal: channel `c` at JACK frame time `t` plays
/// `(t mod 2^20) * 8 + c`, exact in f32, so a captured sample says which
/// frame (and channel) it was.
pub fn generator_sample(frame_time: u64, channel: usize) -> f32 {
    ((frame_time % (1 << 20)) * 8 + channel as u64) as f32
}

impl jack::ProcessHandler for GenerateProcess {
    fn process(&mut self, _: &jack::Client, ps: &jack::ProcessScope) -> jack::Control {
        let start = u64::from(ps.last_frame_time());
        for (ch, port) in self.ports.iter_mut().enumerate() {
            for (i, y) in port.as_mut_slice(ps).iter_mut().enumerate() {
                *y = generator_sample(start + i as u64, ch);
            }
        }
        jack::Control::Continue
    }
}

/// An independent JACK client that plays [`generator_sample`] on its output
/// ports.
pub struct Generator {
    _client: jack::AsyncClient<(), GenerateProcess>,
    /// The full names of its output ports.
    pub ports: Vec<String>,
}

impl Generator {
    /// Opens a generator with `channels` output ports on `server`, each
    /// connected to the matching port in `destinations`. Its client is
    /// [`client_name`]`(name, server)`.
    pub fn start(server: &str, name: &str, channels: usize, destinations: &[String]) -> Generator {
        let client = amio_jack::open_client(&client_name(name, server), Some(server))
            .expect("opening the generator");
        let ports: Vec<_> = (0..channels)
            .map(|i| {
                client
                    .register_port(&format!("out_{}", i + 1), jack::AudioOut::default())
                    .expect("generator port")
            })
            .collect();
        let names: Vec<String> = ports.iter().map(|p| p.name().expect("port name")).collect();
        let active = client
            .activate_async((), GenerateProcess { ports })
            .expect("activating the generator");
        for (port, destination) in names.iter().zip(destinations) {
            active
                .as_client()
                .connect_ports_by_name(port, destination)
                .expect("connecting the generator");
        }
        Generator {
            _client: active,
            ports: names,
        }
    }
}

struct StallProcess {
    stall: Arc<AtomicUsize>,
}

impl jack::ProcessHandler for StallProcess {
    fn process(&mut self, _: &jack::Client, _: &jack::ProcessScope) -> jack::Control {
        let ms = self.stall.swap(0, Ordering::AcqRel);
        if ms > 0 {
            std::thread::sleep(Duration::from_millis(ms as u64));
        }
        jack::Control::Continue
    }
}

/// An independent JACK client that, when asked, sleeps through its process
/// callback once: on an asynchronous server that is an xrun for the graph.
pub struct Staller {
    _client: jack::AsyncClient<(), StallProcess>,
    stall: Arc<AtomicUsize>,
}

impl Staller {
    /// Opens the staller on `server`, as [`client_name`]`(name, server)`.
    pub fn start(server: &str, name: &str) -> Staller {
        let client = amio_jack::open_client(&client_name(name, server), Some(server))
            .expect("opening the staller");
        let stall = Arc::new(AtomicUsize::new(0));
        let active = client
            .activate_async(
                (),
                StallProcess {
                    stall: Arc::clone(&stall),
                },
            )
            .expect("activating the staller");
        Staller {
            _client: active,
            stall,
        }
    }

    /// Sleeps `ms` milliseconds in its next process callback.
    pub fn stall(&self, ms: usize) {
        self.stall.store(ms, Ordering::Release);
    }
}

/// Running a test's body in a process of its own, a child whose
/// environment is set before anything starts.
///
/// Two reasons: libraries such as ALSA (`ALSA_CONFIG_PATH`) and the JACK
/// PCM plugin (`JACK_DEFAULT_SERVER`) read their environment once, on first
/// use; and libjack keeps process-wide state per server, so one process
/// that talks to several private servers (`cargo test` runs a binary's
/// tests as threads of one process) can crash inside libjack when one of
/// them dies. Every test that starts a JACK client, directly or through a
/// driver, runs its body in a child: one test, one process, one server.
pub mod child {
    use std::io::Read;
    use std::process::{Command, Output, Stdio};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    const CHILD: &str = "AMIO_TEST_CHILD";

    /// Whether this process is the child that runs `test`'s body.
    pub fn is_child(test: &str) -> bool {
        std::env::var(CHILD).as_deref() == Ok(test)
    }

    /// How many times a child that failed only because the machine was
    /// [too busy](crate::TOO_BUSY) is run.
    pub const ATTEMPTS: usize = 3;

    /// How long a child may run before it is taken for hung, killed (by
    /// its pid) and failed: a hang guard for runners without one of their
    /// own (`cargo test`), not a timing assertion.
    pub const HANG_GUARD: Duration = Duration::from_secs(300);

    /// Runs `body` in a process of its own: in the child that [`run`]
    /// starts for `test` (this test binary's test of that name), `body`
    /// runs; in the parent, that child is started and must pass.
    pub fn in_own_process(test: &str, body: impl FnOnce()) {
        if is_child(test) {
            body();
        } else {
            run(test, &[]);
        }
    }

    /// Runs `test` (this test binary's test of that name) in a child
    /// process with `env` added, and fails unless it passed. A child that
    /// failed only because xruns left too little to check is run again, up
    /// to [`ATTEMPTS`] times; any other failure fails at once.
    pub fn run(test: &str, env: &[(&str, String)]) {
        for attempt in 1..=ATTEMPTS {
            let out = run_once(test, env);
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            eprintln!("{stdout}{stderr}");
            if !out.status.success() && stderr.contains(crate::TOO_BUSY) && attempt < ATTEMPTS {
                eprintln!("attempt {attempt} of {ATTEMPTS} was too disturbed to check; again");
                continue;
            }
            assert!(out.status.success(), "the child test failed");
            assert!(stdout.contains("1 passed"), "the child ran no test");
            return;
        }
    }

    /// One run of the child, its output collected as it comes, killed
    /// after [`HANG_GUARD`].
    fn run_once(test: &str, env: &[(&str, String)]) -> Output {
        let mut child = Command::new(std::env::current_exe().expect("the test binary"))
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, test)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running the child test");
        fn collect<R: Read + Send + 'static>(pipe: Option<R>) -> JoinHandle<Vec<u8>> {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut bytes);
                }
                bytes
            })
        }
        let stdout = collect(child.stdout.take());
        let stderr = collect(child.stderr.take());
        let deadline = Instant::now() + HANG_GUARD;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for the child test") {
                break status;
            }
            if Instant::now() > deadline {
                // Our own child, by its pid.
                let _ = child.kill();
                let _ = child.wait();
                let text = |h: JoinHandle<Vec<u8>>| {
                    String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
                };
                panic!(
                    "the child test {test} hung (killed after {HANG_GUARD:?}):\n{}{}",
                    text(stdout),
                    text(stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        }
    }

    /// Writes an ALSA configuration (the system's, plus `extra`) into `dir`
    /// and returns its path, for `ALSA_CONFIG_PATH`.
    pub fn alsa_config(dir: &std::path::Path, extra: &str) -> String {
        let path = dir.join("asound.conf");
        std::fs::write(&path, format!("</usr/share/alsa/alsa.conf>\n{extra}\n"))
            .expect("writing the ALSA config");
        path.display().to_string()
    }
}

/// A reference session for driver tests: a stereo noise loop that never
/// falls silent, rolling at [`reference::ROLL`], and its null render.
pub mod reference {
    use std::ops::Range;

    use amio_core::{Clip, Config, Entry, Event, InputChunk, Interface, Playspec, StreamInfo};

    /// Frame rate.
    pub const RATE: u32 = 48_000;
    /// The stream frame at which the transport rolls.
    pub const ROLL: u64 = 4_800;

    fn playspec() -> Playspec {
        let mut s: u32 = 7;
        let noise: Vec<f32> = (0..6_000 * 2)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s >> 8) as f32 / (1u32 << 24) as f32 * 0.6 + 0.1
            })
            .collect();
        let clip = Clip::from_interleaved(RATE, 2, noise).expect("the reference clip");
        Playspec::new(vec![Entry::new(clip, vec![0.9, 0.7])
            .repeat(6_000)
            .fades(30, 30)])
        .expect("the reference playspec")
    }

    /// Schedules the session and rolls at [`ROLL`].
    pub fn issue(interface: &mut Interface) {
        issue_at(interface, 0);
    }

    /// Schedules the session at stream frame `start` and rolls at
    /// `start +` [`ROLL`]: stream frame `start + s` then plays what
    /// [`null_render`] has at `s`.
    pub fn issue_at(interface: &mut Interface, start: u64) {
        interface
            .schedule(&playspec(), 0, 0, Some(start))
            .expect("schedule");
        interface.roll(Some(start + ROLL)).expect("roll");
    }

    /// (rolling, position) of the output `s` frames after the session's
    /// start.
    pub fn tag(s: i64) -> (bool, i64) {
        if s >= ROLL as i64 {
            (true, s - ROLL as i64)
        } else {
            (false, 0)
        }
    }

    /// The null driver's render of the session: `frames` stereo frames.
    pub fn null_render(frames: usize) -> Vec<f32> {
        let info = StreamInfo {
            backend: "null".into(),
            device: "null".into(),
            frame_rate: RATE,
            period: 256,
            max_period: 256,
            in_channels: 0,
            out_channels: 2,
            capture_latency: 0,
            playback_latency: 0,
        };
        let (mut interface, mut engine) =
            Interface::new(&info, &Config::default()).expect("an interface");
        issue(&mut interface);
        let mut out = vec![0.0; frames * 2];
        engine.process_interleaved(frames, &[], &mut out);
        out
    }

    /// The index of the first frame that is not silent.
    pub fn first_sound(interleaved: &[f32]) -> Option<usize> {
        interleaved.iter().position(|&x| x != 0.0).map(|i| i / 2)
    }

    /// The true round trip through a JACK graph, measured by the peers:
    /// output stream frame `s` reached the [`Recorder`](crate::Recorder)
    /// at JACK frame time `out(s)`; the input captured at stream frame `s`
    /// left the [`Generator`](crate::Generator) at `in(s)`; what was
    /// audible when that input was recorded is the output whose `out`
    /// equals `in(s)`, so L is `out(s) − in(s)` (constant in the `clean`
    /// window, whose start is the session's). `recording` began at JACK
    /// frame time `recorded_from`.
    pub fn peer_round_trip(
        recording: &[f32],
        recorded_from: u64,
        chunks: &[InputChunk],
        clean: &Range<u64>,
    ) -> i64 {
        let w0 = first_sound(&null_render(48_000)).expect("the reference sounds") as i64;
        let r0 = first_sound(recording).expect("something was recorded") as i64;
        let (s, x) = chunks
            .iter()
            .find_map(|c| {
                (0..c.frames())
                    .map(|i| (c.stream_frame + i as u64, c.samples[i * 2 + 1]))
                    .find(|&(s, x)| clean.contains(&s) && x != 0.0)
            })
            .expect("the generator's signal was captured");
        let input_time = ((x as u64 - 1) / 8) as i64;
        // Stream frame clean.start + w0 reached the recorder at r0.
        let output_time = recorded_from as i64 + r0 + (s as i64 - clean.start as i64 - w0);
        (output_time - input_time).rem_euclid(1 << 20)
    }

    /// The Latency events as (from stream frame, L).
    pub fn latency_events(events: &[Event]) -> Vec<(u64, u64)> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Latency {
                    stream_frame,
                    frames,
                    ..
                } => Some((*stream_frame, *frames)),
                _ => None,
            })
            .collect()
    }

    /// The L the last Latency event gave (0 if none came).
    pub fn reported_latency(events: &[Event]) -> u64 {
        latency_events(events).last().map_or(0, |l| l.1)
    }

    /// The L in use when the `clean` window ([`clean_window`]) ends: what
    /// the last Latency event before that gave (0 if none came). A driver
    /// that recovers from an xrun after the window restarts its devices
    /// and measures L anew, for frames that are not checked.
    pub fn latency_in(events: &[Event], clean: &Range<u64>) -> u64 {
        latency_events(events)
            .iter()
            .rev()
            .find(|(at, _)| *at < clean.end)
            .map_or(0, |l| l.1)
    }

    /// At least this many frames must be checked exactly before any xrun.
    pub const CLEAN_FRAMES: usize = 24_000;

    /// The stream frames of a run through a JACK graph that are checked
    /// exactly, for a session issued at `start` ([`issue_at`]): from
    /// `start` to the end when no xrun was reported from four periods
    /// before `start` on, else to four periods before the first such xrun
    /// (JACK reports an xrun after the late cycle, and the independent
    /// peers share the graph). A loaded machine may make the graph miss a
    /// cycle; what is played and captured after that is no longer the
    /// reference's, but everything before must be. A fatal error fails the
    /// test.
    pub fn clean_window(events: &[Event], period: u32, start: u64) -> Range<u64> {
        assert!(
            !events.iter().any(|e| matches!(e, Event::Fatal(_))),
            "{events:?}"
        );
        let margin = 4 * u64::from(period);
        let window = match events.iter().find_map(|e| match e {
            Event::Xrun { stream_frame, .. } if *stream_frame + margin > start => {
                Some(*stream_frame)
            }
            _ => None,
        }) {
            Some(x) => {
                eprintln!("first xrun at stream frame {x}; checking the frames before it");
                start..x.saturating_sub(margin).max(start)
            }
            None => start..u64::MAX,
        };
        assert!(
            window.end - window.start >= CLEAN_FRAMES as u64,
            "{}: only stream frames {window:?} are clean",
            crate::TOO_BUSY
        );
        window
    }

    /// The stream frames of a run through a synchronous JACK graph (a
    /// [`JackServer::start`](crate::JackServer::start) server, every
    /// client a JACK client) that are checked exactly: all from `start`
    /// on. A synchronous server runs every client in every cycle and waits
    /// for it; its xruns are the dummy backend waking late, which loses no
    /// frame (unlike an ALSA device's under- or overrun), so nothing is
    /// left out and a lost frame fails the check. A fatal error fails the
    /// test.
    pub fn sync_window(events: &[Event], start: u64) -> Range<u64> {
        assert!(
            !events.iter().any(|e| matches!(e, Event::Fatal(_))),
            "{events:?}"
        );
        start..u64::MAX
    }

    /// The recording (stereo, interleaved) equals the null render from the
    /// first sound on, for `frames` frames, or for the frames of the
    /// `clean` window when that ends sooner (at least [`CLEAN_FRAMES`]).
    pub fn assert_plays_the_null_render(recording: &[f32], frames: usize, clean: &Range<u64>) {
        let want = null_render(frames + 48_000);
        let w0 = first_sound(&want).expect("the reference sounds");
        // Stream frame clean.start + s plays null-render frame s.
        let sound_from = clean.start + w0 as u64;
        let frames =
            frames.min(usize::try_from(clean.end.saturating_sub(sound_from)).unwrap_or(usize::MAX));
        assert!(
            frames >= CLEAN_FRAMES,
            "{}: only {frames} frames of sound before the first xrun",
            crate::TOO_BUSY
        );
        let r0 = first_sound(recording).expect("something was recorded");
        assert!(
            recording.len() / 2 >= r0 + frames,
            "recorded {} frames",
            recording.len() / 2
        );
        if let Some(i) = recording[r0 * 2..(r0 + frames) * 2]
            .iter()
            .zip(&want[w0 * 2..(w0 + frames) * 2])
            .position(|(a, b)| a != b)
        {
            panic!(
                "the recording differs from the null render at frame {}",
                i / 2
            );
        }
    }

    /// Every captured frame (stereo, fed by a [`Generator`](crate::Generator))
    /// in the `clean` window is the generator's, none lost or repeated once
    /// it started, and carries SPEC.md's tag for the L the Latency events
    /// give; at least [`CLEAN_FRAMES`] of them. The stream frames of all
    /// chunks follow each other.
    pub fn assert_tags_and_continuity(chunks: &[InputChunk], events: &[Event], clean: &Range<u64>) {
        let latencies = latency_events(events);
        eprintln!("latency events {latencies:?}");
        let l_at = |s: u64| {
            latencies
                .iter()
                .rev()
                .find(|(at, _)| *at <= s)
                .map_or(0, |l| l.1)
        };
        let mut expect_s = 0;
        let mut offset: Option<u64> = None;
        let mut checked = 0;
        for c in chunks {
            assert_eq!(c.stream_frame, expect_s, "input is continuous");
            for i in 0..c.frames() {
                let s = c.stream_frame + i as u64;
                if !clean.contains(&s) {
                    continue;
                }
                let got = if c.rolling {
                    c.position + i as i64
                } else {
                    c.position
                };
                assert_eq!(
                    (c.rolling, got),
                    tag(s as i64 - clean.start as i64 - l_at(s) as i64),
                    "stream frame {s}"
                );
                let x = c.samples[i * 2 + 1];
                if x != 0.0 {
                    let t = ((x as u64 - 1) / 8) as i64;
                    let o = *offset.get_or_insert(((t - s as i64).rem_euclid(1 << 20)) as u64);
                    assert_eq!(x, crate::generator_sample(o + s, 1), "stream frame {s}");
                    checked += 1;
                } else {
                    assert!(
                        offset.is_none(),
                        "the generator's signal stopped at stream frame {s}"
                    );
                }
            }
            expect_s += c.frames() as u64;
        }
        assert!(
            checked >= CLEAN_FRAMES,
            "{}: only {checked} generator frames came through in stream frames {clean:?}",
            crate::TOO_BUSY
        );
    }
}

/// The packages whose libraries tests load: libamio and every driver
/// plugin.
pub const LIBRARY_PACKAGES: [&str; 4] = ["amio-ffi", "amio-jack", "amio-alsa", "amio-cpal"];

/// Builds libamio and every driver plugin (`cargo build -p … --lib` of
/// [`LIBRARY_PACKAGES`], with this test binary's profile, into its target
/// directory) and returns the directory they are in: `target/<profile>`,
/// beside this binary's `deps`.
///
/// `cargo test` builds the rlibs the tests link, not the cdylibs (libamio,
/// the plugins), so a test that loads one builds them first: once per
/// process, under a file lock in the target directory so that test
/// processes running at the same time build one at a time (cargo's own
/// lock would make them wait too, but they would interleave their output).
/// Always the same set of packages: builds of different sets can resolve
/// features differently and relink the same files, under a test of
/// another process that is loading them. Fails with cargo's output when
/// the build fails.
pub fn build_libraries() -> PathBuf {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let exe = std::env::current_exe().expect("the test binary");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the test binary's profile directory")
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .expect("the target directory")
        .to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(name) => name.to_owned(),
    };
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    if *built {
        return profile_dir;
    }
    let lock_path = target_dir.join("amio-testkit-build.lock");
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("opening {}: {e}", lock_path.display()));
    // SAFETY: flock on a descriptor we own; it is released when `lock` is
    // closed, at the end of this function or when the process dies.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(locked, 0, "locking {}", lock_path.display());
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--manifest-path")
        .arg(&workspace)
        .arg("--target-dir")
        .arg(&target_dir)
        .args(["--profile", &profile, "--lib", "--quiet"])
        .stdin(Stdio::null());
    for package in LIBRARY_PACKAGES {
        command.args(["-p", package]);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", cargo.to_string_lossy()));
    assert!(
        out.status.success(),
        "building {} failed:\n{}{}",
        LIBRARY_PACKAGES.join(", "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    *built = true;
    profile_dir
}

/// A driver plugin (`libamio_<backend>.so`, the cdylib of the crate
/// `amio-<backend>`), [built](build_libraries) for this test and loaded as
/// libamio loads plugins. A plugin that does not load fails the test with
/// the loader's own reason (dlerror's text, which amio-core keeps).
pub fn built_plugin(backend: &str) -> amio_plugin::Plugin {
    let dir = build_libraries();
    let path = dir.join(format!("libamio_{backend}.so"));
    amio_plugin::load_path(&path, backend)
        .unwrap_or_else(|e| panic!("loading the {backend} plugin: {e}"))
}

/// A raw file of little-endian f32 samples (what ALSA's `file` plugin
/// writes for FLOAT_LE).
pub fn read_raw_f32(path: &std::path::Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("reading the raw file")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Waits until `done`, panicking after `timeout` (a hang guard).
pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A fresh scratch directory for a test's files, removed when dropped.
/// Bind it to a variable that lives as long as the files are needed.
pub struct Scratch(PathBuf);

impl Scratch {
    /// Makes `amio-<name>-<pid>` in the temporary directory.
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("amio-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("making a scratch directory");
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
