//! amio-core: the engine of amio, a real-time audio mixing and I/O engine.
//!
//! A host builds [`Clip`]s and [`Playspec`]s on its control thread and hands
//! them to an [`Interface`]; the interface's other half, the [`Engine`],
//! mixes them on a driver's real-time thread with frame-exact timing
//! (SPEC.md is the contract), swaps playspecs at a chosen position, runs the
//! transport and captures input tagged with what was audible.
//!
//! ```
//! use amio_core::{Clip, Config, Entry, Interface, Playspec, StreamInfo};
//!
//! let info = StreamInfo {
//!     backend: "null".into(), device: "null".into(),
//!     frame_rate: 48000, period: 4, max_period: 4,
//!     in_channels: 0, out_channels: 2,
//!     capture_latency: 0, playback_latency: 0,
//! };
//! let (mut interface, mut engine) = Interface::new(&info, &Config::default())?;
//! let clip = Clip::from_interleaved(48000, 1, vec![0.5, 0.25, 0.125])?;
//! let playspec = Playspec::new(vec![Entry::new(clip, vec![1.0, 0.5]).play_at(1)])?;
//! let id = interface.schedule(&playspec, 0, 0, Some(0))?;
//! interface.roll(Some(0))?;
//! // The driver's real-time thread would do this, a period at a time:
//! let out = engine.render(4);
//! assert_eq!(out, &[0.0, 0.0, 0.5, 0.25, 0.25, 0.125, 0.125, 0.0625]);
//! assert!(interface.events().iter().any(|e| matches!(e,
//!     amio_core::Event::Outcome(o) if o.id == id && o.kind == amio_core::OutcomeKind::Applied)));
//! # Ok::<(), amio_core::Error>(())
//! ```

mod block_cache;

/// The unit tests count what audio-thread code allocates (see
/// [`rt_guard`]); outside a guard it is the system allocator.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOC: rt_guard::CountingAllocator = rt_guard::CountingAllocator;
pub mod capture;
pub mod clip;
pub mod driver;
pub mod engine;
pub mod error;
pub mod event;
pub mod fader;
pub mod interface;
pub mod limits;
pub mod meter;
pub mod null;
pub mod pending_file;
pub mod playspec;
mod queue;
pub mod rt_guard;
mod shared;
pub mod stream;
mod stream_reader;
#[cfg(test)]
mod streamed_tests;

pub use capture::{ChunkInfo, InputChunk};
pub use clip::{Clip, StreamedFile};
pub use driver::{AudioDriver, DeviceInfo, Lease, Notifier, Runtime, StreamConfig, StreamInfo};
pub use engine::Engine;
pub use error::{DriverErrorKind, EntryRule, Error, Result};
pub use event::{DriverFault, Event, FaultKind, Notice, Outcome, OutcomeKind, PositionReport};
pub use fader::{amplitude_to_db, db_to_amplitude, Fader, PanLaw};
pub use interface::{Config, Interface};
pub use meter::{Level, Meter, MeterWindow, Metering, Reading};
pub use null::{InputSource, NullConfig, NullControl, NullDriver, NullMode, OutputSink};
pub use pending_file::PendingFile;
pub use playspec::{Entry, MixKernel, Playspec};
pub use shared::PositionReader;
pub use stream::Stream;
pub use stream_reader::StreamsGate;
