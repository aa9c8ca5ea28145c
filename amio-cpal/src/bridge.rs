//! The bridge between cpal's input and output streams: captured frames go
//! into a lock-free ring in the input callback and come out, a period at a
//! time, in the output callback where the engine runs. It remembers when
//! the latest block was captured, so the output side can tell when any
//! frame it takes was captured.

use std::sync::atomic::{fence, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use rtrb::{Consumer, Producer};

/// The latest captured block: its first frame's index and capture instant
/// (the input stream's clock), under a sequence lock (one writer, the input
/// callback).
#[derive(Default)]
struct Block {
    seq: AtomicU64,
    first_frame: AtomicU64,
    capture_nanos: AtomicI64,
}

#[derive(Default)]
pub(crate) struct BridgeShared {
    block: Block,
    /// Frames the input callback could not fit (the output side fell behind).
    pub(crate) overflowed: AtomicU64,
    /// The input stream's clock offset (crate::timing); `i64::MIN` until
    /// known.
    input_offset: AtomicI64,
}

/// The input callback's end.
pub(crate) struct BridgeWriter {
    ring: Producer<f32>,
    channels: usize,
    written: u64,
    shared: Arc<BridgeShared>,
}

/// The output callback's end.
pub(crate) struct BridgeReader {
    ring: Consumer<f32>,
    channels: usize,
    read: u64,
    /// Overflowed frames already told of.
    overflow_seen: u64,
    frame_rate: u32,
    shared: Arc<BridgeShared>,
}

/// A bridge of `capacity` frames of `channels` channels, primed with
/// `primed` frames of silence (the depth the output side reads behind).
pub(crate) fn bridge(
    channels: usize,
    capacity: usize,
    primed: usize,
    frame_rate: u32,
) -> (BridgeWriter, BridgeReader) {
    let shared = Arc::new(BridgeShared {
        input_offset: AtomicI64::new(i64::MIN),
        ..BridgeShared::default()
    });
    let (mut tx, rx) = rtrb::RingBuffer::new((capacity * channels).max(1));
    let silence = vec![0.0f32; primed.min(capacity) * channels];
    let _ = tx.push_entire_slice(&silence);
    (
        BridgeWriter {
            ring: tx,
            channels,
            written: primed.min(capacity) as u64,
            shared: Arc::clone(&shared),
        },
        BridgeReader {
            ring: rx,
            channels,
            read: 0,
            overflow_seen: 0,
            frame_rate,
            shared,
        },
    )
}

impl BridgeWriter {
    /// Pushes interleaved frames captured at `capture_nanos` (the input
    /// stream's clock), whose offset to the shared clock is now
    /// `input_offset`; what does not fit is dropped and counted. Real-time
    /// safe.
    pub(crate) fn push(&mut self, frames: &[f32], capture_nanos: u64, input_offset: Option<i64>) {
        if let Some(offset) = input_offset {
            self.shared.input_offset.store(offset, Ordering::Relaxed);
        }
        let block = &self.shared.block;
        let seq = block.seq.load(Ordering::Relaxed);
        block.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        block.first_frame.store(self.written, Ordering::Relaxed);
        block.capture_nanos.store(
            i64::try_from(capture_nanos).unwrap_or(i64::MAX),
            Ordering::Relaxed,
        );
        block.seq.store(seq.wrapping_add(2), Ordering::Release);
        // Whole frames only, so the two ends never fall out of step.
        let offered = frames.len() / self.channels;
        let room = self.ring.slots() / self.channels;
        let n = offered.min(room);
        let _ = self.ring.push_entire_slice(&frames[..n * self.channels]);
        self.written += n as u64;
        let dropped = (offered - n) as u64;
        if dropped > 0 {
            self.shared.overflowed.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

impl BridgeReader {
    /// Fills `dst` (whole frames) from the bridge; returns the frames that
    /// were missing and are silence. Real-time safe.
    pub(crate) fn pop(&mut self, dst: &mut [f32]) -> usize {
        let wanted = dst.len() / self.channels;
        let n = wanted.min(self.ring.slots() / self.channels);
        let (taken, rest) = dst.split_at_mut(n * self.channels);
        let _ = self.ring.pop_entire_slice(taken);
        rest.fill(0.0);
        self.read += n as u64;
        wanted - n
    }

    /// Whether input frames were dropped since the last call because the
    /// bridge was full (the output side fell behind). Real-time safe.
    pub(crate) fn overflowed(&mut self) -> bool {
        let total = self.shared.overflowed.load(Ordering::Relaxed);
        let new = total != self.overflow_seen;
        self.overflow_seen = total;
        new
    }

    /// The index of the next frame [`BridgeReader::pop`] will take.
    pub(crate) fn next_frame(&self) -> u64 {
        self.read
    }

    /// The input stream's clock offset (crate::timing), once known.
    pub(crate) fn input_offset(&self) -> Option<i64> {
        let offset = self.shared.input_offset.load(Ordering::Relaxed);
        (offset != i64::MIN).then_some(offset)
    }

    /// When frame `index` was (or will be) captured, in the input stream's
    /// clock (nanoseconds), from the latest block's timestamp.
    pub(crate) fn capture_nanos(&self, index: u64) -> Option<i128> {
        let block = &self.shared.block;
        for _ in 0..4 {
            let before = block.seq.load(Ordering::Acquire);
            if before % 2 == 1 || before == 0 {
                continue;
            }
            let first = block.first_frame.load(Ordering::Relaxed);
            let nanos = block.capture_nanos.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if block.seq.load(Ordering::Relaxed) == before {
                let offset = i128::from(index) - i128::from(first);
                return Some(
                    i128::from(nanos) + offset * 1_000_000_000 / i128::from(self.frame_rate.max(1)),
                );
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_pass_through_in_order_behind_the_priming() {
        let (mut w, mut r) = bridge(2, 16, 3, 48_000);
        w.push(&[1.0, 1.5, 2.0, 2.5], 1_000_000, Some(7));
        let mut out = [9.0f32; 10];
        assert_eq!(r.pop(&mut out), 0);
        assert_eq!(out, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.5, 2.0, 2.5]);
        // Frame 3 (the first pushed) was captured at the block's time; frame
        // 5, 2 frames later.
        assert_eq!(r.capture_nanos(3), Some(1_000_000));
        assert_eq!(
            r.capture_nanos(5),
            Some(1_000_000 + 2 * 1_000_000_000 / 48_000)
        );
        assert_eq!(r.next_frame(), 5);
        assert_eq!(r.input_offset(), Some(7));
        let mut more = [9.0f32; 4];
        assert_eq!(r.pop(&mut more), 2, "nothing left: silence");
        assert_eq!(more, [0.0; 4]);
    }

    #[test]
    fn a_full_bridge_drops_and_counts() {
        let (mut w, mut r) = bridge(1, 4, 0, 48_000);
        assert!(!r.overflowed());
        w.push(&[1.0; 6], 0, None);
        assert_eq!(w.shared.overflowed.load(Ordering::Relaxed), 2);
        assert!(r.overflowed(), "told once");
        assert!(!r.overflowed());
    }
}
