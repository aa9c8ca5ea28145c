//! Timing across cpal's two streams: the round trip `L` from cpal's
//! timestamps.
//!
//! cpal's `StreamInstant`s count from an origin of each stream's own (its
//! creation, on the ALSA host), so an input stream's capture instant and an
//! output stream's playback instant cannot be compared as they are. Each
//! callback also reads the monotonic clock; `now − callback instant` is the
//! stream's offset plus the time the callback took to wake, never negative,
//! so the smallest offset seen is the stream's ([`StreamClock`]). cpal's
//! JACK host stamps every stream from JACK's own microsecond clock, already
//! shared: there the instants are taken as they are, which is exact.
//!
//! The timestamps of one period jitter by a few frames against the other
//! stream's (the hosts stamp a callback when they wake it), so the round
//! trip is the median of many periods' estimates ([`RoundTrip`]).

use std::time::Instant;

/// One stream's clock against the shared one. Real-time safe: it reads the
/// monotonic clock (vDSO) and keeps a running minimum.
pub(crate) struct StreamClock {
    /// `None`: the stream's instants are already shared.
    origin: Option<Instant>,
    /// The smallest `now − callback instant` seen, in nanoseconds.
    offset: Option<i64>,
}

impl StreamClock {
    /// A stream clock whose shared instants count from `origin`, or, when
    /// `origin` is `None`, the host's instants as they are (they already
    /// share one clock).
    pub(crate) fn new(origin: Option<Instant>) -> StreamClock {
        StreamClock {
            origin,
            offset: origin.map_or(Some(0), |_| None),
        }
    }

    /// Called at the start of each callback with its callback instant
    /// (stream clock, nanoseconds).
    pub(crate) fn observe(&mut self, callback_nanos: u64) {
        let Some(origin) = self.origin else {
            return;
        };
        let now = Instant::now().saturating_duration_since(origin).as_nanos();
        self.observe_at(callback_nanos, i64::try_from(now).unwrap_or(i64::MAX));
    }

    fn observe_at(&mut self, callback_nanos: u64, now: i64) {
        let offset = now.saturating_sub(i64::try_from(callback_nanos).unwrap_or(i64::MAX));
        self.offset = Some(self.offset.map_or(offset, |o| o.min(offset)));
    }

    /// What to add to this stream's instants to put them on the shared
    /// clock; `None` before the first callback was observed.
    pub(crate) fn offset(&self) -> Option<i64> {
        self.offset
    }
}

/// Periods' estimates of the round trip kept for their median.
const WINDOW: usize = 256;

/// Estimates of the round trip, one a period, in nanoseconds between an
/// output period's playback instant (output stream clock) and the capture
/// instant of the first input frame consumed with it (input stream clock).
/// Fixed storage: real-time safe.
pub(crate) struct RoundTrip {
    samples: [i64; WINDOW],
    count: usize,
}

impl RoundTrip {
    /// No estimates yet.
    pub(crate) fn new() -> RoundTrip {
        RoundTrip {
            samples: [0; WINDOW],
            count: 0,
        }
    }

    /// Forgets every estimate (the bridge's delay changed).
    pub(crate) fn clear(&mut self) {
        self.count = 0;
    }

    /// Adds a period's estimate; beyond the window's size, ignored.
    pub(crate) fn add(&mut self, nanos: i64) {
        if let Some(slot) = self.samples.get_mut(self.count) {
            *slot = nanos;
            self.count += 1;
        }
    }

    /// The round trip in frames at `frame_rate`: the median estimate put
    /// on the shared clock by the two streams' offsets; `None` without
    /// estimates or offsets.
    pub(crate) fn frames(
        &mut self,
        input_offset: Option<i64>,
        output_offset: Option<i64>,
        frame_rate: u32,
    ) -> Option<u64> {
        let (input_offset, output_offset) = (input_offset?, output_offset?);
        let estimates = &mut self.samples[..self.count];
        if estimates.is_empty() {
            return None;
        }
        let mid = estimates.len() / 2;
        let median = *estimates.select_nth_unstable(mid).1;
        let nanos = i128::from(median) + i128::from(output_offset) - i128::from(input_offset);
        let frames = nanos.max(0) as f64 * f64::from(frame_rate) / 1e9;
        Some(frames.round() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_smallest_wake_delay_sets_the_offset() {
        let mut c = StreamClock::new(Some(Instant::now()));
        assert_eq!(c.offset(), None);
        // Stream instants 1000 ns behind the shared clock, woken late by
        // 300, 20 and 90 ns.
        c.observe_at(0, 1_300);
        c.observe_at(10_000, 11_020);
        c.observe_at(20_000, 21_090);
        assert_eq!(c.offset(), Some(1_020));
    }

    #[test]
    fn shared_instants_are_taken_as_they_are() {
        let mut c = StreamClock::new(None);
        c.observe(10_000);
        assert_eq!(c.offset(), Some(0));
    }

    #[test]
    fn the_round_trip_is_the_median_put_on_one_clock() {
        let mut r = RoundTrip::new();
        assert_eq!(r.frames(Some(0), Some(0), 48_000), None);
        // 20 ms ± jitter, one outlier; the output clock 1 ms ahead.
        for ms in [20.1, 19.9, 20.0, 35.0, 20.0] {
            r.add((ms * 1e6) as i64);
        }
        assert_eq!(r.frames(None, Some(0), 48_000), None);
        assert_eq!(r.frames(Some(0), Some(1_000_000), 48_000), Some(1_008));
        r.clear();
        assert_eq!(r.frames(Some(0), Some(0), 48_000), None);
        for _ in 0..WINDOW + 10 {
            r.add(1_000_000);
        }
        assert_eq!(r.frames(Some(500_000), Some(0), 48_000), Some(24));
    }
}
