//! `amio`: render, play and record amio sessions, list devices, measure
//! latency.

use std::path::PathBuf;
use std::process::ExitCode;

use amio_cli::commands::{
    self, BackendChoice, PlayOptions, Playable, RecordOptions, RenderOptions,
};
use amio_cli::session::LoadOptions;
use amio_cli::CliError;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "amio", version, about = "amio: real-time audio mixing and I/O")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Backend {
    /// The backend: null (built in) or a plugin such as jack.
    #[arg(long, default_value = "null")]
    backend: String,
    /// The device (for jack: the server).
    #[arg(long)]
    device: Option<String>,
    /// A backend option, key=value (repeatable), e.g. -O connect=none.
    #[arg(short = 'O', long = "option", value_name = "KEY=VALUE")]
    options: Vec<String>,
    /// Frames per period (1 to 65536), if the backend lets amio choose.
    #[arg(long)]
    period: Option<usize>,
}

#[derive(Args)]
struct Paths {
    /// Allow a session's clip paths to be absolute or to lead out of the
    /// session's folder (by default they must stay inside it).
    #[arg(long)]
    allow_any_path: bool,
}

impl Paths {
    fn load(&self) -> LoadOptions {
        LoadOptions {
            allow_any_path: self.allow_any_path,
        }
    }
}

impl Backend {
    fn choice(&self) -> BackendChoice {
        BackendChoice {
            name: self.backend.clone(),
            device: self.device.clone(),
            options: self.options.clone(),
            period: self.period,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Render a session offline to a 32-bit float WAV file (null backend;
    /// the session's clips may be WAV, FLAC or AU/SND files).
    Render {
        /// The session file (JSON).
        session: PathBuf,
        /// The WAV file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Frames per period (1 to 65536); the output does not depend on it.
        #[arg(long, default_value_t = 256)]
        block: usize,
        /// Also write the playspec outcomes as JSON lines (not the -o file).
        #[arg(long)]
        events: Option<PathBuf>,
        #[command(flatten)]
        paths: Paths,
    },
    /// Play a session file, or audio files (WAV, FLAC, AU/SND) together,
    /// through a backend.
    Play {
        /// A session file (.json), or audio files (WAV, FLAC, AU/SND).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Stream frames to play (default: the session's frames, where its
        /// render ends, or the longest file).
        #[arg(long)]
        frames: Option<u64>,
        #[command(flatten)]
        paths: Paths,
        #[command(flatten)]
        backend: Backend,
    },
    /// Record a take in place on a session's timeline (overdub).
    Record {
        /// The take's WAV file.
        #[arg(short, long)]
        output: PathBuf,
        /// The session to play while recording.
        #[arg(long)]
        session: Option<PathBuf>,
        /// The take's length in seconds (default: the session's frames).
        #[arg(long, allow_hyphen_values = true)]
        seconds: Option<f64>,
        /// Input channels to record (1 to 1024).
        #[arg(long, default_value_t = 2)]
        inputs: usize,
        /// Frames added to the driver's round-trip latency (negative to
        /// subtract); `amio latency` measures what is needed.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        extra_latency: i64,
        #[command(flatten)]
        paths: Paths,
        #[command(flatten)]
        backend: Backend,
    },
    /// List the backends that load here and their devices.
    Devices,
    /// Measure the round-trip latency through a loopback.
    Latency {
        /// Impulses to send (1 to 1000).
        #[arg(long, default_value_t = 5)]
        impulses: usize,
        #[command(flatten)]
        backend: Backend,
    },
}

fn run(cli: Cli) -> Result<(), CliError> {
    commands::handle_signals();
    match cli.command {
        Command::Render {
            session,
            output,
            block,
            events,
            paths,
        } => {
            let options = RenderOptions {
                block,
                events,
                load: paths.load(),
            };
            let r = commands::render(&session, &output, &options)?;
            println!(
                "wrote {}: {} frames, {} channels, {} Hz, 32-bit float",
                output.display(),
                r.frames,
                r.channels,
                r.frame_rate
            );
        }
        Command::Play {
            inputs,
            frames,
            paths,
            backend,
        } => {
            let what = if inputs.len() == 1 && inputs[0].extension().is_some_and(|e| e == "json") {
                Playable::Session(inputs[0].clone())
            } else {
                Playable::Files(inputs)
            };
            let options = PlayOptions {
                frames,
                load: paths.load(),
            };
            let frames = commands::play(&what, &backend.choice(), &options)?;
            println!("played {frames} frames");
        }
        Command::Record {
            output,
            session,
            seconds,
            inputs,
            extra_latency,
            paths,
            backend,
        } => {
            let options = RecordOptions {
                session,
                seconds,
                inputs,
                extra_latency,
                load: paths.load(),
            };
            let r = commands::record(&output, &backend.choice(), &options)?;
            println!(
                "wrote {}: {} frames, {} channels, placed on the session timeline (L = {} frames){}",
                output.display(),
                r.frames,
                r.channels,
                r.latency,
                if r.gaps > 0 {
                    format!("; {} frames were never captured and are silent", r.gaps)
                } else {
                    String::new()
                }
            );
        }
        Command::Devices => print!("{}", commands::devices()),
        Command::Latency { impulses, backend } => {
            let m = commands::latency(&backend.choice(), impulses)?;
            print!("{}", m.report());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("amio: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
