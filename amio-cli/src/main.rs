//! `amio`: render, play and record amio sessions, list devices, measure
//! latency.

use std::path::PathBuf;
use std::process::ExitCode;

use amio_cli::commands::{self, BackendChoice, Playable, RecordOptions};
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
    /// Frames per period, if the backend lets amio choose.
    #[arg(long)]
    period: Option<usize>,
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
        /// Frames per period; the output does not depend on it.
        #[arg(long, default_value_t = 256)]
        block: usize,
        /// Also write the playspec outcomes as JSON lines.
        #[arg(long)]
        events: Option<PathBuf>,
    },
    /// Play a session file, or audio files (WAV, FLAC, AU/SND) together,
    /// through a backend.
    Play {
        /// A session file (.json), or audio files (WAV, FLAC, AU/SND).
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
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
        /// The take's length (default: the session's).
        #[arg(long)]
        seconds: Option<f64>,
        /// Input channels to record.
        #[arg(long, default_value_t = 2)]
        inputs: usize,
        /// Frames added to the driver's round-trip latency (negative to
        /// subtract); `amio latency` measures what is needed.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        extra_latency: i64,
        #[command(flatten)]
        backend: Backend,
    },
    /// List the backends that load here and their devices.
    Devices,
    /// Measure the round-trip latency through a loopback.
    Latency {
        /// Impulses to send.
        #[arg(long, default_value_t = 5)]
        impulses: usize,
        #[command(flatten)]
        backend: Backend,
    },
}

fn run(cli: Cli) -> Result<(), CliError> {
    commands::handle_ctrl_c();
    match cli.command {
        Command::Render {
            session,
            output,
            block,
            events,
        } => {
            let r = commands::render(&session, &output, block, events.as_deref())?;
            println!(
                "wrote {}: {} frames, {} channels, {} Hz, 32-bit float",
                output.display(),
                r.frames,
                r.channels,
                r.frame_rate
            );
        }
        Command::Play { inputs, backend } => {
            let what = if inputs.len() == 1 && inputs[0].extension().is_some_and(|e| e == "json") {
                Playable::Session(inputs[0].clone())
            } else {
                Playable::Files(inputs)
            };
            let frames = commands::play(&what, &backend.choice())?;
            println!("played {frames} frames");
        }
        Command::Record {
            output,
            session,
            seconds,
            inputs,
            extra_latency,
            backend,
        } => {
            let options = RecordOptions {
                session,
                seconds,
                inputs,
                extra_latency,
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
            ExitCode::FAILURE
        }
    }
}
