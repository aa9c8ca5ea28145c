//! The bridge between cpal's input and output streams: captured frames go
//! into a lock-free ring in the input callback (converted from the device's
//! samples by amio-core's one rule) and come out, an engine period at a
//! time, in the output callback where the engine runs. It remembers when
//! the latest block was captured, so the output side can tell when any
//! frame it takes was captured, and whether the input callback failed, so
//! the output side can fall silent.

use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use amio_core::driver::DeviceSample;
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
    /// Whether the input callback failed (panicked): no more input comes.
    failed: AtomicBool,
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
    if let Ok(chunk) = tx.write_chunk_uninit(primed.min(capacity) * channels) {
        chunk.fill_from_iter(std::iter::repeat(0.0));
    }
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
    /// Pushes interleaved device frames captured at `capture_nanos` (the
    /// input stream's clock), whose offset to the shared clock is now
    /// `input_offset`, as engine samples; what does not fit is dropped and
    /// counted. Real-time safe.
    pub(crate) fn push<T: DeviceSample>(
        &mut self,
        frames: &[T],
        capture_nanos: u64,
        input_offset: Option<i64>,
    ) {
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
        if let Ok(chunk) = self.ring.write_chunk_uninit(n * self.channels) {
            chunk.fill_from_iter(frames.iter().map(|s| s.to_f32()));
        }
        self.written += n as u64;
        let dropped = (offered - n) as u64;
        if dropped > 0 {
            self.shared.overflowed.fetch_add(dropped, Ordering::Relaxed);
        }
    }

    /// Marks the input side failed: no more input comes. Real-time safe.
    pub(crate) fn fail(&self) {
        self.shared.failed.store(true, Ordering::Release);
    }

    /// Whether the input side failed. Real-time safe.
    pub(crate) fn has_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }
}

impl BridgeReader {
    /// Whether the input side failed ([`BridgeWriter::fail`]): the output
    /// side falls silent. Real-time safe.
    pub(crate) fn writer_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

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

    #[test]
    fn device_samples_enter_by_the_one_rule() {
        let (mut w, mut r) = bridge(2, 8, 0, 48_000);
        w.push(&[i16::MIN, -1, 16_384, i16::MAX], 0, None);
        let mut out = [9.0f32; 4];
        assert_eq!(r.pop(&mut out), 0);
        assert_eq!(out, [-1.0, -1.0 / 32_768.0, 0.5, 32_767.0 / 32_768.0]);
        w.push(&[i32::MIN, 0], 0, None);
        let mut out = [9.0f32; 2];
        assert_eq!(r.pop(&mut out), 0);
        assert_eq!(out, [-1.0, 0.0]);
    }

    #[test]
    fn a_failed_input_side_is_seen_by_the_output_side() {
        let (w, r) = bridge(1, 4, 0, 48_000);
        assert!(!r.writer_failed() && !w.has_failed());
        w.fail();
        assert!(r.writer_failed() && w.has_failed());
    }
}
