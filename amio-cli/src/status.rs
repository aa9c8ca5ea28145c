//! What the commands show on the terminal while they run: a progress bar
//! or a status line on stderr, only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A line redrawn in place on stderr.
pub(crate) struct StatusLine {
    enabled: bool,
    last: Option<Instant>,
}

impl StatusLine {
    pub(crate) fn new() -> StatusLine {
        StatusLine {
            enabled: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Redraws the line, at most ten times a second.
    pub(crate) fn show(&mut self, text: impl FnOnce() -> String) {
        if !self.enabled
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", text());
        let _ = err.flush();
    }

    /// Clears the line.
    pub(crate) fn clear(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

/// A progress bar of `width` cells for `done` of `total`.
pub(crate) fn bar(done: u64, total: u64, width: usize) -> String {
    let fraction = if total == 0 {
        1.0
    } else {
        (done as f64 / total as f64).min(1.0)
    };
    let filled = (fraction * width as f64).round() as usize;
    format!(
        "[{}{}] {:3.0}%",
        "#".repeat(filled),
        ".".repeat(width - filled),
        fraction * 100.0
    )
}

/// `frames` at `frame_rate` as `m:ss.mmm` (any stream frame or position:
/// nothing wraps).
pub(crate) fn clock(frames: i128, frame_rate: u32) -> String {
    let ms = frames.saturating_mul(1000) / i128::from(frame_rate.max(1));
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.abs();
    format!(
        "{sign}{}:{:02}.{:03}",
        ms / 60_000,
        (ms / 1000) % 60,
        ms % 1000
    )
}
