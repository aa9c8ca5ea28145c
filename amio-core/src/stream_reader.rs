//! The reader thread of streamed clips (issue 16): reads ahead what will
//! sound and makes it ready in the interface's block cache.
//!
//! One per interface, started the first time a playspec with a streamed
//! clip is scheduled. It is neither the audio thread nor the control
//! thread: it waits on a condition variable (woken by every schedule and
//! locate, and at least every [`PASS_INTERVAL`]), and each *pass* works out
//! the blocks that sound within the read-ahead window of
//!
//! - the position the engine last published, in its current playspec,
//! - every pending change, in its playspec, from where it would start if it
//!   were applied now (`start_from + max(0, p - insert_at)`, as the engine
//!   applies it) and if it were applied after each pending locate,
//! - every pending locate, in the current and every pending playspec,
//!
//! most urgent first, drops the other blocks from the cache, and reads the
//! missing ones from disk into free slots, publishing them in small batches
//! so the nearest are ready soonest. When the cache is full the later
//! blocks wait: memory stays within the cache the interface was given.
//!
//! A host that renders offline asks for a whole pass before each period
//! ([`StreamReader::wait_pass`]): then every block the next period needs is
//! ready (if the cache holds the window), and the render is deterministic.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::block_cache::{block_shift, CacheWriter};
use crate::playspec::mix::{streamed_runs, StreamedRun};
use crate::playspec::Playspec;
use crate::shared::PositionReader;

/// The longest a reader sleeps between passes.
pub(crate) const PASS_INTERVAL: Duration = Duration::from_millis(5);

/// Blocks read before they are published together.
const BATCH: usize = 8;

/// A change as it was scheduled.
struct Scheduled {
    playspec: Playspec,
    insert_at: i64,
    start_from: i64,
    /// The stream frame its command takes effect at.
    at: u64,
}

/// What the control side has told the reader.
#[derive(Default)]
struct ReaderState {
    /// The playspecs that may sound: the current one and pending changes,
    /// by id.
    playspecs: BTreeMap<u64, Scheduled>,
    /// Locates not yet applied: (stream frame, position).
    locates: Vec<(u64, i64)>,
    /// Passes asked for, and done.
    wanted: u64,
    done: u64,
    /// Schedules and locates told so far.
    commands: u64,
    /// After a pass that found nothing pending but the current playspec
    /// and made every block of its window ready: the commands told then,
    /// and the stream frame up to which the next periods are surely ready
    /// (so a driver without a clock need not wait for a pass every period).
    ready_through: Option<(u64, u64)>,
    closing: bool,
}

struct ReaderShared {
    state: Mutex<ReaderState>,
    /// Where the engine stands.
    position: PositionReader,
    /// The reader waits on it for work.
    wake: Condvar,
    /// [`StreamReader::wait_pass`] waits on it for a pass.
    passed: Condvar,
}

impl ReaderShared {
    fn lock(&self) -> MutexGuard<'_, ReaderState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits `delay` (the tests' slow disk; `Duration::MAX`: until the
    /// reader closes), or less if the reader closes; whether it is closing.
    fn pause(&self, delay: Duration) -> bool {
        let deadline = std::time::Instant::now().checked_add(delay);
        let mut state = self.lock();
        while !state.closing {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(std::time::Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return false;
            }
            state = self
                .wake
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// What a driver that runs without a clock (the null driver offline or
/// stepped) waits on before each period, so that a streamed clip's data is
/// always ready and the render is the same as with the clips in memory:
/// [`StreamsGate::wait`]. Given to every driver by
/// [`crate::Stream::open`] ([`crate::AudioDriver::set_streams_gate`]);
/// real-time drivers ignore it. Cheap to clone.
#[derive(Clone, Default)]
pub struct StreamsGate(Arc<OnceLock<Weak<ReaderShared>>>);

impl std::fmt::Debug for StreamsGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamsGate")
            .field("reader", &self.0.get().is_some())
            .finish()
    }
}

impl StreamsGate {
    /// Waits until the interface's reader thread has made ready what
    /// sounds within its read-ahead of where the engine stands (and of
    /// every pending change and locate); returns at once when no streamed
    /// clip was ever scheduled. Blocks: never call it on a real-time
    /// thread.
    pub fn wait(&self) {
        if let Some(shared) = self.0.get().and_then(Weak::upgrade) {
            wait_pass(&shared);
        }
    }
}

/// The control side's handle of the reader thread; dropping it ends the
/// thread.
pub(crate) struct StreamReader {
    shared: Arc<ReaderShared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader").finish_non_exhaustive()
    }
}

impl StreamReader {
    /// Starts the reader thread, filling `writer`'s cache with what sounds
    /// within `read_ahead` frames of the positions `position` publishes
    /// (for an engine of periods of at most `max_period` frames); `delay`
    /// is waited before every block read (zero but in tests that need a
    /// slow disk).
    pub(crate) fn start(
        writer: CacheWriter,
        position: PositionReader,
        read_ahead: u64,
        max_period: u64,
        delay: Duration,
    ) -> crate::Result<StreamReader> {
        let shared = Arc::new(ReaderShared {
            state: Mutex::new(ReaderState::default()),
            position,
            wake: Condvar::new(),
            passed: Condvar::new(),
        });
        let thread = std::thread::Builder::new()
            .name("amio-reader".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || {
                    // A panic ends the reader as closing does: whoever
                    // waits for a pass is let go (the engine then reports
                    // the data it misses).
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run(&shared, writer, read_ahead, max_period, delay)
                    }));
                    if run.is_err() {
                        shared.lock().closing = true;
                        shared.passed.notify_all();
                    }
                }
            })
            .map_err(|source| crate::Error::Io {
                context: "starting the reader thread of streamed clips".into(),
                source,
            })?;
        Ok(StreamReader {
            shared,
            thread: Some(thread),
        })
    }

    /// A playspec was scheduled as change `id`, inserted at `insert_at`,
    /// starting from `start_from`, by a command for stream frame `at` (no
    /// earlier than where the engine stood when it was sent).
    pub(crate) fn scheduled(
        &self,
        id: u64,
        playspec: &Playspec,
        insert_at: i64,
        start_from: i64,
        at: u64,
    ) {
        let mut state = self.shared.lock();
        state.commands += 1;
        state.playspecs.insert(
            id,
            Scheduled {
                playspec: playspec.clone(),
                insert_at,
                start_from,
                at,
            },
        );
        self.shared.wake.notify_one();
    }

    /// A locate to `position` was sent for stream frame `at` (no earlier
    /// than where the engine stood when it was sent).
    pub(crate) fn located(&self, position: i64, at: u64) {
        let mut state = self.shared.lock();
        state.commands += 1;
        state.locates.push((at, position));
        drop(state);
        self.shared.wake.notify_one();
    }

    /// Waits until the reader has done a whole pass that started after this
    /// call: what sounds within the read-ahead window of where the engine
    /// stands now is ready (as far as the cache holds it). For offline
    /// rendering, between periods; never for the audio thread.
    pub(crate) fn wait_pass(&self) {
        wait_pass(&self.shared);
    }

    /// Lets `gate` wait for this reader.
    pub(crate) fn open_gate(&self, gate: &StreamsGate) {
        let _ = gate.0.set(Arc::downgrade(&self.shared));
    }
}

impl Drop for StreamReader {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        self.shared.passed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Asks for a pass and waits until it is done (or the reader closes);
/// returns at once when the last pass made the next periods ready and no
/// command came since.
fn wait_pass(shared: &ReaderShared) {
    let mut state = shared.lock();
    if let Some((commands, through)) = state.ready_through {
        if commands == state.commands && shared.position.read().stream_frame <= through {
            return;
        }
    }
    state.wanted += 1;
    let want = state.wanted;
    shared.wake.notify_one();
    while state.done < want && !state.closing {
        state = shared.passed.wait(state).unwrap_or_else(|e| e.into_inner());
    }
}

/// The most positions a pass considers a pending change applying from
/// (chains of changes within one period; see [`run`]).
const FROMS: usize = 64;

/// The reader thread.
fn run(
    shared: &ReaderShared,
    mut writer: CacheWriter,
    read_ahead: u64,
    max_period: u64,
    delay: Duration,
) {
    let position = &shared.position;
    let (mut samples, mut bytes) = (Vec::new(), Vec::new());
    loop {
        // What to read: a snapshot of the state, taken at the pass's start.
        let (pass, windows, through) = {
            let mut state = shared.lock();
            if state.wanted == state.done && !state.closing {
                state = shared
                    .wake
                    .wait_timeout(state, PASS_INTERVAL)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if state.closing {
                return;
            }
            // The pending change is read on both sides of the report, so
            // that one pending when the report was made is among them.
            let pending_before = position.pending_change();
            let report = position.read();
            let pending_after = position.pending_change();
            // A command recorded for stream frame `at` (no earlier than the
            // engine stood when it was sent) takes effect by `at +
            // max_period` (the engine takes commands at a period's start).
            // Past that, a change is current, pending, or gone (applied and
            // replaced, or superseded); a locate is in the position.
            let now = report.stream_frame;
            let taken = |at: u64| at.saturating_add(max_period) < now;
            state.playspecs.retain(|&id, c| {
                id == report.id || id == pending_before || id == pending_after || !taken(c.at)
            });
            state.locates.retain(|&(at, _)| !taken(at));
            // Each window: the playspec, where it starts, and in how many
            // stream frames at least it is needed (for urgency).
            let mut windows: Vec<(Playspec, i64, u64)> = Vec::new();
            if let Some(c) = state.playspecs.get(&report.id) {
                windows.push((c.playspec.clone(), report.position, 0));
            }
            let after = |at: u64| at.saturating_sub(now);
            // Where a change starts if applied at position `at`: the
            // engine's rule.
            let start = |insert_at: i64, start_from: i64, at: i64| {
                start_from.wrapping_add(at.saturating_sub(insert_at).max(0))
            };
            // Where the timeline may stand when a pending change applies,
            // and in how many stream frames at least: where it stands now,
            // where a pending locate puts it, and where other pending
            // changes start it (from either). Several changes can apply
            // within one period, each from where the one before started.
            let soonest_of = |c: &Scheduled| {
                // Not before its command, nor (rolling on) before the
                // position reaches its insert point.
                after(c.at).max(
                    u64::try_from(i128::from(c.insert_at) - i128::from(report.position))
                        .unwrap_or(0),
                )
            };
            let mut froms: Vec<(i64, u64)> = vec![(report.position, 0)];
            froms.extend(state.locates.iter().map(|&(at, to)| (to, after(at))));
            // Chains of changes, one more change per round, each start
            // once, at most FROMS of them.
            let pending = state
                .playspecs
                .keys()
                .filter(|&&id| id != report.id)
                .count();
            let mut level = 0..froms.len();
            for _ in 0..pending {
                let begin = froms.len();
                for (&id, d) in &state.playspecs {
                    if id != report.id {
                        for k in level.clone() {
                            let (from, soonest) = froms[k];
                            let to = start(d.insert_at, d.start_from, from);
                            if froms.len() < FROMS && froms.iter().all(|f| f.0 != to) {
                                froms.push((to, soonest.max(soonest_of(d))));
                            }
                        }
                    }
                }
                level = begin..froms.len();
            }
            for (&id, c) in &state.playspecs {
                if id != report.id {
                    for (k, &(from, soonest)) in froms.iter().enumerate() {
                        let soonest = if k == 0 {
                            soonest_of(c)
                        } else {
                            soonest.max(after(c.at))
                        };
                        windows.push((
                            c.playspec.clone(),
                            start(c.insert_at, c.start_from, from),
                            soonest,
                        ));
                    }
                }
            }
            for &(at, to) in &state.locates {
                for c in state.playspecs.values() {
                    windows.push((c.playspec.clone(), to, after(at)));
                }
            }
            // Only the current playspec can sound: the window tells all
            // that sounds until the engine has moved `read_ahead` on.
            let settled =
                state.locates.is_empty() && state.playspecs.keys().all(|&id| id == report.id);
            let through = settled.then(|| {
                (
                    state.commands,
                    report.stream_frame.saturating_add(read_ahead / 2),
                )
            });
            (state.wanted, windows, through)
        };
        // Every run with the stream frames until its window is needed.
        let mut runs: Vec<StreamedRun> = Vec::new();
        let mut soonest: Vec<(i64, u64)> = Vec::new();
        for (playspec, from, delay) in &windows {
            streamed_runs(playspec, *from, read_ahead, &mut runs);
            soonest.resize(runs.len(), (*from, *delay));
        }
        // The blocks, most urgent first (the soonest needed), each once.
        let mut order: Vec<(usize, u64, u64, u64)> = Vec::new();
        for (w, run) in runs.iter().enumerate() {
            let (from, delay) = soonest[w];
            let shift = block_shift(run.file.channels());
            let (first, last) = (run.frames.start >> shift, (run.frames.end - 1) >> shift);
            for block in first..=last {
                let offset = ((block << shift).max(run.frames.start) - run.frames.start) as i64;
                let at = (run.position - from + offset).max(0) as u64;
                order.push((w, delay.saturating_add(at), run.file.id(), block));
            }
        }
        order.sort_by_key(|&(_, at, _, _)| at);
        // `keep` ends as the set of every wanted block.
        let mut keep: HashSet<(u64, u64)> = HashSet::new();
        let wanted: Vec<(u64, u64, usize)> = order
            .iter()
            .filter(|&&(_, _, file, block)| keep.insert((file, block)))
            .map(|&(w, _, file, block)| (file, block, w))
            .collect();
        let keep_fn = |file: u64, block: u64| keep.contains(&(file, block));
        // Drop what is no longer wanted first, so its slots come free.
        if writer.holds_other_than(keep_fn) {
            let _ = writer.publish(keep_fn, &[]);
        }
        let mut complete = true;
        let mut batch: Vec<(u64, u64, Vec<f32>)> = Vec::new();
        let mut free = writer.free_slots();
        for &(file_id, block, w) in &wanted {
            if writer.is_ready(file_id, block) {
                continue;
            }
            if free == 0 {
                free = flush(&mut writer, &keep_fn, &mut batch);
                if free == 0 {
                    complete = false;
                    break; // the cache is full of nearer blocks
                }
            }
            let file = &runs[w].file;
            let shift = block_shift(file.channels());
            let start = block << shift;
            let n = (1u64 << shift).min(file.frames() - start) as usize;
            if !delay.is_zero() && shared.pause(delay) {
                return; // closing while the tests' slow disk waited
            }
            // A block that cannot be read stays missing: the engine plays
            // silence for it and reports the frames (DataMissing).
            if file.read_into(start, n, &mut samples, &mut bytes).is_ok() {
                batch.push((file_id, block, std::mem::take(&mut samples)));
                free -= 1;
            } else {
                complete = false;
            }
            if batch.len() >= BATCH {
                free = flush(&mut writer, &keep_fn, &mut batch);
            }
        }
        flush(&mut writer, &keep_fn, &mut batch);
        let mut state = shared.lock();
        state.done = state.done.max(pass);
        state.ready_through = through.filter(|_| complete);
        drop(state);
        shared.passed.notify_all();
    }
}

/// Publishes `batch` and empties it; returns the slots free after.
fn flush(
    writer: &mut CacheWriter,
    keep: &impl Fn(u64, u64) -> bool,
    batch: &mut Vec<(u64, u64, Vec<f32>)>,
) -> usize {
    if !batch.is_empty() {
        let add: Vec<(u64, u64, &[f32])> = batch.iter().map(|(f, b, d)| (*f, *b, &d[..])).collect();
        let _ = writer.publish(keep, &add);
        batch.clear();
    }
    writer.free_slots()
}
