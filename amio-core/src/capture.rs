//! Input capture (SPEC.md, "Input capture").
//!
//! The input frame at stream frame `s` is tagged with the playspec id,
//! position and rolling state of the output frame at stream frame `s - L`.
//! The engine keeps a run-length tag history of the output tags it
//! rendered; after each period it tags the period's input from it and hands
//! the frames to the control side as pieces (a header and the samples)
//! through two lock-free queues. The control side joins
//! pieces whose tags run on into [`InputChunk`]s.

use rtrb::{Consumer, Producer};

/// The round-trip latency `L` of SPEC.md: the driver's capture plus
/// playback latency plus the user's (signed) extra, never below 0.
pub(crate) fn round_trip(capture: u64, playback: u64, extra: i64) -> u64 {
    let sum = i128::from(capture) + i128::from(playback) + i128::from(extra);
    u64::try_from(sum.max(0)).unwrap_or(u64::MAX)
}

/// What was audible at one output frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Tag {
    pub(crate) id: u64,
    pub(crate) position: i64,
    pub(crate) rolling: bool,
}

impl Tag {
    /// The tag `frames` frames after this one, were nothing to change.
    fn advanced(self, frames: u64) -> Tag {
        Tag {
            position: if self.rolling {
                self.position.wrapping_add(frames as i64)
            } else {
                self.position
            },
            ..self
        }
    }

    /// Whether `next`, `frames` frames after `self`, runs on from it: same
    /// id, same rolling state, position +1 per frame when rolling.
    pub(crate) fn runs_on(self, frames: u64, next: Tag) -> bool {
        self.advanced(frames) == next
    }
}

#[derive(Clone, Copy, Default)]
struct Segment {
    start: u64,
    tag: Tag,
}

/// The output tags of recent stream frames, as runs. Fixed capacity; the
/// oldest runs are forgotten first. With capacity `max_latency + max_period +
/// 1` it always covers every frame `s - L` the next period can ask for, since
/// each run is at least one frame long.
pub(crate) struct TagHistory {
    ring: Box<[Segment]>,
    oldest: usize,
    len: usize,
}

impl TagHistory {
    /// Room for `capacity` runs; an error, never an abort, when that does
    /// not fit in memory.
    pub(crate) fn new(capacity: usize) -> crate::Result<TagHistory> {
        let ring = crate::limits::filled(Some(capacity.max(1)), Segment::default(), "tag history")?;
        Ok(TagHistory {
            ring: ring.into_boxed_slice(),
            oldest: 0,
            len: 0,
        })
    }

    /// Slot of the `i`-th oldest run (`i < ring.len()`), without a
    /// division: the engine asks every period.
    fn slot(&self, i: usize) -> usize {
        let at = self.oldest + i;
        if at >= self.ring.len() {
            at - self.ring.len()
        } else {
            at
        }
    }

    fn get(&self, i: usize) -> &Segment {
        &self.ring[self.slot(i)]
    }

    /// Records that output frames from stream frame `start` on carry `tag`
    /// (until the next record). Real-time safe.
    pub(crate) fn record(&mut self, start: u64, tag: Tag) {
        if self.len > 0 {
            let last = self.get(self.len - 1);
            if last.tag.runs_on(start - last.start, tag) {
                return;
            }
        }
        if self.len == self.ring.len() {
            self.oldest = self.slot(1);
            self.len -= 1;
        }
        let slot = self.slot(self.len);
        self.ring[slot] = Segment { start, tag };
        self.len += 1;
    }

    /// The tag of output stream frame `u` (before frame 0: id 0, position 0,
    /// not rolling) and how many frames from `u` on it runs unchanged, as far
    /// as recorded.
    pub(crate) fn at(&self, u: i128) -> (Tag, u64) {
        let first_start = if self.len > 0 { self.get(0).start } else { 0 };
        if self.len == 0 || u < i128::from(first_start) {
            // Before the first recorded frame (stream frames before 0).
            let run = (i128::from(first_start) - u).clamp(1, i128::from(u64::MAX));
            return (Tag::default(), run as u64);
        }
        // Last segment with start <= u.
        let (mut lo, mut hi) = (0, self.len);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if i128::from(self.get(mid).start) <= u {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let seg = self.get(lo);
        let offset = (u - i128::from(seg.start)) as u64;
        let run = if lo + 1 < self.len {
            self.get(lo + 1).start - seg.start - offset
        } else {
            u64::MAX
        };
        (seg.tag.advanced(offset), run)
    }
}

/// One piece of captured input as it crosses to the control side: `frames`
/// frames from `stream_frame` on whose tags run on from `tag`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkHeader {
    stream_frame: u64,
    tag: Tag,
    frames: usize,
    /// Frames dropped just before this piece.
    lost_before: u64,
}

/// The audio thread's end of the capture queues.
pub(crate) struct CaptureWriter {
    headers: Producer<ChunkHeader>,
    samples: Producer<f32>,
    channels: usize,
    lost: u64,
}

impl CaptureWriter {
    /// Sends one piece, or drops it (counting the frames) when the control
    /// side has not made room. Returns whether it was sent. Real-time safe.
    pub(crate) fn write(&mut self, stream_frame: u64, tag: Tag, samples: &[f32]) -> bool {
        let frames = samples.len() / self.channels;
        if self.headers.slots() == 0 || self.samples.slots() < samples.len() {
            self.lost += frames as u64;
            return false;
        }
        let Ok(mut chunk) = self.samples.write_chunk(samples.len()) else {
            self.lost += frames as u64;
            return false;
        };
        let (a, b) = chunk.as_mut_slices();
        a.copy_from_slice(&samples[..a.len()]);
        b.copy_from_slice(&samples[a.len()..]);
        chunk.commit_all();
        let header = ChunkHeader {
            stream_frame,
            tag,
            frames,
            lost_before: std::mem::take(&mut self.lost),
        };
        // A slot was free above and only this thread pushes.
        let _ = self.headers.push(header);
        true
    }
}

/// A run of captured frames whose tags run on: consecutive stream frames,
/// the same playspec id and rolling state, the position +1 per frame while
/// rolling (constant while stopped).
#[derive(Clone, Debug, PartialEq)]
pub struct InputChunk {
    /// The stream frame at which the first frame was captured.
    pub stream_frame: u64,
    /// The id of the playspec that was audible when it was captured.
    pub id: u64,
    /// The position that was audible when the first frame was captured.
    pub position: i64,
    /// Whether the transport was rolling at the audible frame.
    pub rolling: bool,
    /// Frames dropped just before this chunk because the control side read
    /// too slowly (0 normally).
    pub lost_before: u64,
    /// Channels per frame.
    pub channels: usize,
    /// The samples, interleaved.
    pub samples: Vec<f32>,
}

impl InputChunk {
    /// Number of frames in the chunk.
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }
}

/// The description of input read into a caller's buffer by
/// [`crate::Interface::read_input_into`]: a chunk, or the next part of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    /// The stream frame of the first frame read.
    pub stream_frame: u64,
    /// The playspec id audible at those frames.
    pub id: u64,
    /// The position audible at the first frame read.
    pub position: i64,
    /// The rolling state at the audible frames.
    pub rolling: bool,
    /// Frames dropped just before the first frame read.
    pub lost_before: u64,
    /// Frames written into the buffer.
    pub frames: usize,
}

/// The control side's end of the capture queues.
pub(crate) struct InputReader {
    headers: Consumer<ChunkHeader>,
    samples: Consumer<f32>,
    channels: usize,
    /// The piece being read, with the frames of it not yet read.
    current: Option<ChunkHeader>,
}

impl InputReader {
    /// The next piece, continuing the current one if it was read in part.
    fn next_piece(&mut self) -> Option<ChunkHeader> {
        self.current.take().or_else(|| self.headers.pop().ok())
    }

    /// Whether the next queued piece runs on from `h` with nothing lost.
    fn runs_on(&mut self, h: &ChunkHeader) -> bool {
        let Ok(next) = self.headers.peek() else {
            return false;
        };
        next.lost_before == 0
            && next.stream_frame == h.stream_frame + h.frames as u64
            && h.tag.runs_on(h.frames as u64, next.tag)
    }

    fn pop_samples(&mut self, out: &mut [f32]) {
        // The engine pushes a piece's samples before its header.
        if self.samples.pop_entire_slice(out).is_err() {
            out.fill(0.0);
        }
    }

    /// Reads everything that runs on into one chunk.
    pub(crate) fn read(&mut self) -> Option<InputChunk> {
        let first = self.next_piece()?;
        let mut samples = vec![0.0; first.frames * self.channels];
        self.pop_samples(&mut samples);
        let mut last = first;
        while self.runs_on(&last) {
            let Ok(next) = self.headers.pop() else { break };
            let at = samples.len();
            samples.resize(at + next.frames * self.channels, 0.0);
            self.pop_samples(&mut samples[at..]);
            last = next;
        }
        Some(InputChunk {
            stream_frame: first.stream_frame,
            id: first.tag.id,
            position: first.tag.position,
            rolling: first.tag.rolling,
            lost_before: first.lost_before,
            channels: self.channels,
            samples,
        })
    }

    /// Reads as many frames as fit into `buf` from one run; what does not fit
    /// stays for the next call.
    pub(crate) fn read_into(&mut self, buf: &mut [f32]) -> Option<ChunkInfo> {
        let capacity = buf.len() / self.channels.max(1);
        if capacity == 0 {
            return None;
        }
        let first = self.next_piece()?;
        let mut info = ChunkInfo {
            stream_frame: first.stream_frame,
            id: first.tag.id,
            position: first.tag.position,
            rolling: first.tag.rolling,
            lost_before: first.lost_before,
            frames: 0,
        };
        let mut piece = first;
        loop {
            let take = piece.frames.min(capacity - info.frames);
            let at = info.frames * self.channels;
            self.pop_samples(&mut buf[at..at + take * self.channels]);
            info.frames += take;
            if take < piece.frames {
                self.current = Some(ChunkHeader {
                    stream_frame: piece.stream_frame + take as u64,
                    tag: piece.tag.advanced(take as u64),
                    frames: piece.frames - take,
                    lost_before: 0,
                });
                return Some(info);
            }
            if info.frames == capacity || !self.runs_on(&piece) {
                return Some(info);
            }
            match self.headers.pop() {
                Ok(next) => piece = next,
                Err(_) => return Some(info),
            }
        }
    }
}

/// Makes the two ends of the capture queues: room for `frames` frames of
/// `channels` channels and `pieces` headers; an error, never an abort, when
/// they do not fit in memory.
pub(crate) fn queues(
    channels: usize,
    frames: usize,
    pieces: usize,
) -> crate::Result<(CaptureWriter, InputReader)> {
    let samples = frames.checked_mul(channels).ok_or(crate::Error::Argument {
        argument: "input buffer",
        rule: format!("{frames} frames of {channels} channels overflow"),
    })?;
    crate::limits::can_allocate::<ChunkHeader>(pieces.max(1), "input buffer")?;
    crate::limits::can_allocate::<f32>(samples.max(1), "input buffer")?;
    let (hp, hc) = crate::queue::mapped_ring(pieces.max(1), || ChunkHeader {
        stream_frame: 0,
        tag: Tag::default(),
        frames: 0,
        lost_before: 0,
    });
    let (sp, sc) = crate::queue::mapped_ring(samples.max(1), || 0.0f32);
    Ok((
        CaptureWriter {
            headers: hp,
            samples: sp,
            channels: channels.max(1),
            lost: 0,
        },
        InputReader {
            headers: hc,
            samples: sc,
            channels,
            current: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(id: u64, position: i64, rolling: bool) -> Tag {
        Tag {
            id,
            position,
            rolling,
        }
    }

    #[test]
    fn history_runs_and_lookups() {
        let mut h = TagHistory::new(16).unwrap();
        h.record(0, tag(0, 0, false));
        h.record(10, tag(0, 0, false)); // runs on (stopped, same position)
        h.record(20, tag(1, 100, true));
        h.record(25, tag(1, 105, true)); // runs on
        h.record(30, tag(1, 0, true)); // locate
        assert_eq!(h.at(-5), (tag(0, 0, false), 5));
        assert_eq!(h.at(0), (tag(0, 0, false), 20));
        assert_eq!(h.at(19), (tag(0, 0, false), 1));
        assert_eq!(h.at(22), (tag(1, 102, true), 8));
        assert_eq!(h.at(35), (tag(1, 5, true), u64::MAX));
    }

    #[test]
    fn history_forgets_oldest_first() {
        let mut h = TagHistory::new(3).unwrap();
        for s in 0..10u64 {
            h.record(s, tag(s, 0, false));
        }
        assert_eq!(h.at(9).0.id, 9);
        assert_eq!(h.at(7).0.id, 7);
        assert_eq!(h.len, 3);
    }

    #[test]
    fn reader_joins_pieces_that_run_on() {
        let (mut w, mut r) = queues(2, 64, 8).unwrap();
        assert!(w.write(0, tag(1, 10, true), &[1.0, 2.0, 3.0, 4.0]));
        assert!(w.write(2, tag(1, 12, true), &[5.0, 6.0]));
        assert!(w.write(3, tag(1, 50, true), &[7.0, 8.0]));
        let c = r.read().unwrap();
        assert_eq!((c.stream_frame, c.position, c.frames()), (0, 10, 3));
        assert_eq!(c.samples, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let c = r.read().unwrap();
        assert_eq!((c.stream_frame, c.position, c.frames()), (3, 50, 1));
        assert!(r.read().is_none());
    }

    #[test]
    fn lost_frames_are_carried_by_the_next_piece() {
        let (mut w, mut r) = queues(1, 4, 8).unwrap();
        assert!(w.write(0, tag(1, 0, true), &[0.5; 3]));
        assert!(!w.write(3, tag(1, 3, true), &[0.5; 3]));
        let c = r.read().unwrap();
        assert_eq!(c.lost_before, 0);
        assert!(w.write(6, tag(1, 6, true), &[0.25; 2]));
        let c = r.read().unwrap();
        assert_eq!((c.stream_frame, c.lost_before, c.frames()), (6, 3, 2));
    }

    #[test]
    fn read_into_splits_and_resumes() {
        let (mut w, mut r) = queues(1, 64, 8).unwrap();
        assert!(w.write(0, tag(2, 7, true), &[1.0, 2.0, 3.0]));
        assert!(w.write(3, tag(2, 10, true), &[4.0, 5.0]));
        let mut buf = [0.0; 4];
        let i = r.read_into(&mut buf).unwrap();
        assert_eq!((i.stream_frame, i.position, i.frames), (0, 7, 4));
        assert_eq!(buf, [1.0, 2.0, 3.0, 4.0]);
        let i = r.read_into(&mut buf).unwrap();
        assert_eq!((i.stream_frame, i.position, i.frames), (4, 11, 1));
        assert_eq!(buf[0], 5.0);
        assert!(r.read_into(&mut buf).is_none());
    }
}
