//! A stream: a driver running an engine, and its interface.

use crate::driver::{AudioDriver, StreamConfig};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::interface::{Config, Interface};

/// A driver, the engine it runs and the interface that controls it.
///
/// Dereferences to [`Interface`] for scheduling, transport, events and input.
/// Control thread only. Dropping a stream closes it.
pub struct Stream {
    driver: Box<dyn AudioDriver>,
    interface: Interface,
    /// The engine while the stream is not running.
    idle: Option<Engine>,
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
        Ok(Stream {
            driver,
            interface,
            idle: Some(engine),
        })
    }

    /// Starts (or restarts) the stream.
    pub fn start(&mut self) -> Result<()> {
        if self.interface.is_closed() {
            return Err(Error::NotRunning);
        }
        let engine = self.idle.take().ok_or(Error::AlreadyRunning)?;
        self.driver.start(engine)
    }

    /// Stops the driver; [`Stream::start`] resumes. The engine's state
    /// (stream frame, position, playspecs) is kept. (The transport's stop is
    /// [`Interface::stop`].)
    pub fn pause(&mut self) -> Result<()> {
        if self.idle.is_some() || self.interface.is_closed() {
            return Ok(());
        }
        match self.driver.stop()? {
            Some(engine) => {
                self.idle = Some(engine);
                Ok(())
            }
            None => {
                self.interface.close(None);
                Err(Error::NotRunning)
            }
        }
    }

    /// Whether the driver is running the engine.
    pub fn is_running(&self) -> bool {
        self.idle.is_none() && !self.interface.is_closed()
    }

    /// Stops the driver and closes the interface: changes still pending are
    /// reported dropped. Events and captured input stay readable.
    pub fn close(&mut self) -> Result<()> {
        if self.interface.is_closed() {
            return Ok(());
        }
        let stopped = match self.idle.take() {
            Some(engine) => Ok(Some(engine)),
            None => self.driver.stop(),
        };
        let (engine, result) = match stopped {
            Ok(engine) => (engine, Ok(())),
            Err(e) => (None, Err(e)),
        };
        self.interface.close(engine);
        result
    }

    /// The driver's backend name.
    pub fn backend(&self) -> &str {
        self.driver.backend()
    }

    /// The interface (also reachable through `Deref`).
    pub fn interface(&mut self) -> &mut Interface {
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

impl std::ops::Deref for Stream {
    type Target = Interface;
    fn deref(&self) -> &Interface {
        &self.interface
    }
}

impl std::ops::DerefMut for Stream {
    fn deref_mut(&mut self) -> &mut Interface {
        &mut self.interface
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
