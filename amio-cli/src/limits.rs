//! The limits of the `amio` command: every number from the command line or a
//! session file that reaches an allocation or a loop bound is checked
//! against one of these, and refused with an error that names it, before
//! anything is opened or written. The same checks run in debug and release
//! builds; arithmetic on these numbers is checked, never wrapping.

use crate::CliError;

/// The most output or input channels (`channels`, `--inputs`).
pub const MAX_CHANNELS: usize = 1024;

/// The highest frame rate in Hz (`frame_rate`, a device's rate, a rate to
/// resample to).
pub const MAX_FRAME_RATE: u32 = 768_000;

/// The most frames per period (`--block`, `--period`).
pub const MAX_PERIOD: usize = 65_536;

/// The most frames a render, a play or a take may last (`frames`,
/// `--frames`, `--seconds` times the rate): 2^62, so that every sum of
/// frames the command makes fits 64 bits.
pub const MAX_FRAMES: u64 = 1 << 62;

/// The most bytes of a session file (64 MiB).
pub const MAX_SESSION_BYTES: u64 = 64 << 20;

/// The most gains a session's entries may hold in all (entries × output
/// channels, given or defaulted): 2^24, 64 MiB of gains.
pub const MAX_GAINS: usize = 1 << 24;

/// The most samples (frames × channels) a clip resampled by `amio play` may
/// have: 2^30, 4 GiB of samples.
pub const MAX_RESAMPLED_SAMPLES: u64 = 1 << 30;

/// The most impulses `amio latency` sends.
pub const MAX_IMPULSES: usize = 1000;

/// Checks that `value` of `what` is within `min..=max`; the error names it,
/// the value and the range.
pub fn check_range<T>(what: &str, value: T, min: T, max: T) -> Result<T, CliError>
where
    T: PartialOrd + std::fmt::Display + Copy,
{
    if value < min || value > max {
        return Err(CliError::Usage(format!(
            "{what} is {value}; it must be from {min} to {max}"
        )));
    }
    Ok(value)
}

/// A number of seconds for a message: plain, or with an exponent when
/// it is very large or very small.
fn seconds_text(x: f64) -> String {
    if x != 0.0 && (x.abs() >= 1e9 || x.abs() < 1e-6) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Frames in `seconds` at `frame_rate`, rounded to the nearest frame:
/// `seconds` must be a finite number above 0 whose frames are at least 1
/// and at most [`MAX_FRAMES`].
pub fn seconds_to_frames(what: &str, seconds: f64, frame_rate: u32) -> Result<u64, CliError> {
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(CliError::Usage(format!(
            "{what} is {}; it must be a number of seconds above 0",
            seconds_text(seconds)
        )));
    }
    let frames = (seconds * f64::from(frame_rate)).round();
    // MAX_FRAMES is a power of two, exact in f64.
    if frames > MAX_FRAMES as f64 {
        return Err(CliError::Usage(format!(
            "{what} is {}: more than {MAX_FRAMES} frames at {frame_rate} Hz, the most a take may have",
            seconds_text(seconds)
        )));
    }
    if frames < 1.0 {
        return Err(CliError::Usage(format!(
            "{what} is {}: less than one frame at {frame_rate} Hz",
            seconds_text(seconds)
        )));
    }
    Ok(frames as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_seconds_are_checked_with_their_names() {
        assert_eq!(check_range("--block", 256, 1, MAX_PERIOD).ok(), Some(256));
        assert_eq!(
            check_range("--block", 0, 1, MAX_PERIOD)
                .unwrap_err()
                .to_string(),
            "--block is 0; it must be from 1 to 65536"
        );
        assert_eq!(
            seconds_to_frames("--seconds", 1.5, 48_000).ok(),
            Some(72_000)
        );
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(seconds_to_frames("--seconds", bad, 48_000).is_err());
        }
        assert_eq!(
            seconds_to_frames("--seconds", 1e300, 48_000)
                .unwrap_err()
                .to_string(),
            "--seconds is 1e300: more than 4611686018427387904 frames at 48000 Hz, the most a take may have"
        );
        assert!(seconds_to_frames("--seconds", 1e-9, 48_000).is_err());
    }
}
