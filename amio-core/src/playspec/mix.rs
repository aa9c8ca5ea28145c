//! Mixing: summing the occurrences of a playspec into an output period.
//!
//! A [`Prepared`] playspec is a [`Playspec`] laid out for one interface:
//! for every entry, what the inner loops need (where its samples start,
//! its length and fades, its gains in the shape of its layout). It is built
//! on the control side when the playspec is scheduled and only read on the
//! audio thread.
//!
//! **The plan.** What sounds changes only where an occurrence starts or
//! ends, which for a multitrack session is rare next to the periods
//! between. So the audio thread keeps, in its [`Scratch`], a *plan*: the
//! occurrences that meet the positions from the current one up to the next
//! arrival (the timeline index's [`TimelineIndex::next_arrival`]: the next
//! start of an entry that does not sound everywhere; a repeat that tiles
//! the timeline stays in the plan across its own starts). Each stretch
//! that continues the last one and ends by then is mixed straight from the
//! plan; occurrences that end are dropped from it as they do. Only a
//! stretch that reaches past the next arrival, jumps (a locate, a change's
//! new position) or mixes another playspec makes a new plan: one index
//! query, sort and de-duplication. No 128-bit division is done per period;
//! the divisions of planning are done once per plan.
//!
//! **The cursor.** Each planned entry also keeps a cursor at the position
//! the next stretch starts at: for how many frames from there its part is
//! silence or the unfaded body of one occurrence from memory, and where
//! those samples start. A stretch within those frames is one kernel call
//! and a few additions; fades, crops, loop points, overlapping copies and
//! streamed clips go the general way, and only where they fall.
//!
//! **The order.** Every output sample is the sum of its contributions in a
//! fixed order (entry index, then occurrence `k`), whatever stretch of
//! positions is rendered at once and whatever plan it comes from: the plan
//! is sorted by (entry, k). That is what makes the output independent of
//! the block size, bit for bit; the [`Kernel`]s keep it so on every CPU.
//!
//! **Streamed clips.** An entry whose clip is streamed takes its samples
//! from the period's [`Reading`] of the interface's block cache, split at
//! block edges; each piece goes through the same loops, in the same order,
//! as from memory, so with every block ready the output is the in-memory
//! output bit for bit. A block that is not ready leaves its frames silent
//! and is noted in the scratch's [`MissingLog`] for the engine to report.
//!
//! [`TimelineIndex::next_arrival`]: crate::playspec::index::TimelineIndex::next_arrival

use crate::block_cache::{block_shift, Reading};
use crate::clip::Clip;
use crate::playspec::kernel::{prefetch_lead_in, Kernel, MixKernel, LANES, LINE_BYTES};
use crate::playspec::{fade_factor, Entry, Playspec};

/// How an entry's clip frames map onto the output, for the unfaded body.
enum Layout {
    /// The clip has the output's channels and they divide [`LANES`]: a
    /// stretch is one contiguous multiply-add with the gains repeated.
    Same([f32; LANES]),
    /// A mono clip on a stereo output.
    MonoToStereo([f32; 2]),
    /// Anything else: output channel `o` takes clip channel `o mod cc`.
    General,
}

/// Where a streamed entry's samples come from: blocks of `1 << shift`
/// frames of file `file`, made ready in the interface's block cache.
#[derive(Clone, Copy, Debug)]
struct Streamed {
    file: u64,
    shift: u32,
}

/// One entry, laid out for the audio thread.
struct Voice {
    clip: Clip,
    /// Set for a streamed clip: its samples come from the block cache.
    streamed: Option<Streamed>,
    /// The range's first clip frame `a`.
    first: u64,
    /// Index in the clip's samples of clip frame `a` (the range's start).
    offset: usize,
    /// Channels of the clip.
    cc: usize,
    /// `L = b - a`.
    len: u64,
    repeat: i64,
    fade_in: u64,
    fade_out: u64,
    /// `L - fade_out`: where the fade-out begins.
    body_end: u64,
    /// `gains[o]` for output channel `o`.
    gains: Box<[f32]>,
    layout: Layout,
}

impl Voice {
    fn new(entry: &Entry, out_channels: usize) -> Voice {
        let cc = entry.clip.channels();
        let gains: Box<[f32]> = entry.gains.clone().into_boxed_slice();
        let len = entry.length();
        let layout = if cc == out_channels && out_channels > 0 && LANES.is_multiple_of(out_channels)
        {
            Layout::Same(std::array::from_fn(|i| gains[i % out_channels]))
        } else if cc == 1 && out_channels == 2 {
            Layout::MonoToStereo([gains[0], gains[1]])
        } else {
            Layout::General
        };
        Voice {
            clip: entry.clip.clone(),
            streamed: entry.clip.streamed().map(|f| Streamed {
                file: f.id(),
                shift: block_shift(cc),
            }),
            first: entry.range.start,
            offset: (entry.range.start as usize).saturating_mul(cc),
            cc,
            len,
            repeat: entry.repeat,
            fade_in: entry.fade_in,
            fade_out: entry.fade_out,
            body_end: len - entry.fade_out,
            gains,
            layout,
        }
    }

    /// The samples of clip frames `j0..j1` of an occurrence.
    #[inline]
    fn src(&self, j0: u64, j1: u64) -> &[f32] {
        let samples = self.clip.memory_samples();
        &samples[self.offset + j0 as usize * self.cc..self.offset + j1 as usize * self.cc]
    }

    /// Moves `planned` to position `q`, the end of the stretch just mixed:
    /// drops the occurrences that ended by then and sets the cursor.
    /// Whether any occurrence is left. Out of line: inlined into the
    /// per-entry path, it made that path about 70 instructions longer per
    /// entry per period (callgrind, W(32, 256)), though it runs once per
    /// occurrence.
    #[inline(never)]
    fn advance(&self, planned: &mut Planned, q: i128) -> bool {
        let (len, r) = (i128::from(self.len), i128::from(self.repeat));
        while planned.count > 0 && planned.first + len <= q {
            planned.first += r;
            planned.count -= 1;
        }
        if planned.count == 0 {
            return false;
        }
        self.cursor(planned, q);
        true
    }

    /// Sets the cursor of `planned` at position `q`, where none of its
    /// occurrences has ended: its quick frames from `q` and where their
    /// samples start. Planning only: a few comparisons, no division.
    fn cursor(&self, planned: &mut Planned, q: i128) {
        let before = q - planned.first;
        (planned.quick, planned.at) = if before < 0 {
            // Nothing of the entry sounds until its first occurrence.
            (u64::try_from(-before).unwrap_or(u64::MAX), SILENT)
        } else if self.streamed.is_some()
            || before < i128::from(self.fade_in)
            || before >= i128::from(self.body_end)
        {
            (0, SILENT)
        } else {
            let j = before as u64;
            let mut quick = self.body_end - j;
            if planned.count > 1 {
                // Until the next occurrence starts (copies may overlap).
                let next = planned.first + i128::from(self.repeat) - q;
                quick = quick.min(u64::try_from(next).unwrap_or(0));
            }
            (quick, self.offset + j as usize * self.cc)
        };
    }

    /// Adds every planned occurrence's frames in positions `lo..hi` into
    /// `out` (the stretch's `hi - lo` frames), the general way: any fades,
    /// overlapping copies, streamed clips. Then moves `planned` to `hi`
    /// ([`Voice::advance`]); whether any occurrence is left. Out of line,
    /// so the quick path around it stays short.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn mix_planned(
        &self,
        planned: &mut Planned,
        kernel: Kernel,
        prefetch: Prefetch,
        ctx: &mut Ctx<'_>,
        oc: usize,
        (lo, hi): (i128, i128),
        out: &mut [f32],
    ) -> bool {
        let (len, r) = (i128::from(self.len), i128::from(self.repeat));
        let mut start = planned.first;
        // The occurrences are in order of start: those from `hi` on wait
        // for a later stretch.
        for _ in 0..planned.count {
            if start >= hi {
                break;
            }
            let from = lo.max(start);
            let to = hi.min(start + len);
            if from < to {
                let (j0, j1) = ((from - start) as u64, (to - start) as u64);
                let at = (from - lo) as usize * oc;
                let frames = (to - from) as usize;
                self.mix(
                    kernel,
                    prefetch,
                    ctx,
                    oc,
                    j0,
                    j1,
                    from as i64,
                    &mut out[at..at + frames * oc],
                );
            }
            start += r;
        }
        self.advance(planned, hi)
    }

    /// Adds frames `j0..j1` of one occurrence into `out` (exactly those
    /// frames, interleaved); `pos0` is the position of frame `j0`. The
    /// in-memory path takes the kernel and `prefetch` by value, so they stay
    /// in registers across the entries.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn mix(
        &self,
        kernel: Kernel,
        prefetch: Prefetch,
        ctx: &mut Ctx<'_>,
        oc: usize,
        j0: u64,
        j1: u64,
        pos0: i64,
        out: &mut [f32],
    ) {
        match self.streamed {
            None => self.mix_src(kernel, prefetch, oc, j0, j1, self.src(j0, j1), out),
            Some(streamed) => self.mix_streamed(streamed, ctx, oc, j0, j1, pos0, out),
        }
    }

    /// [`Voice::mix`] for a streamed clip: its frames come from
    /// `ctx.reading`, block by block; a block that is not ready leaves its
    /// frames silent and is noted in `ctx.missing`. Kept out of line, so
    /// the in-memory path stays as short as it was.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn mix_streamed(
        &self,
        streamed: Streamed,
        ctx: &mut Ctx<'_>,
        oc: usize,
        j0: u64,
        j1: u64,
        pos0: i64,
        out: &mut [f32],
    ) {
        let block_frames = 1u64 << streamed.shift;
        let mut j = j0;
        while j < j1 {
            let frame = self.first + j;
            let (block, in_block) = (frame >> streamed.shift, frame & (block_frames - 1));
            let take = (j1 - j).min(block_frames - in_block);
            let from = in_block as usize * self.cc;
            let to = from + take as usize * self.cc;
            let out_at = (j - j0) as usize * oc;
            let out = &mut out[out_at..out_at + take as usize * oc];
            match ctx
                .reading
                .and_then(|r| r.block(streamed.file, block))
                .and_then(|samples| samples.get(from..to))
            {
                Some(src) => self.mix_src(ctx.kernel, ctx.prefetch, oc, j, j + take, src, out),
                None => ctx.missing.note(Missing {
                    file: streamed.file,
                    position: pos0.wrapping_add((j - j0) as i64),
                    frames: take,
                }),
            }
            j += take;
        }
    }

    /// Adds frames `j0..j1` of one occurrence, whose samples are `src`,
    /// into `out`, splitting at the fades so the body takes the fast path.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn mix_src(
        &self,
        kernel: Kernel,
        prefetch: Prefetch,
        oc: usize,
        j0: u64,
        j1: u64,
        src: &[f32],
        out: &mut [f32],
    ) {
        if j0 >= self.fade_in && j1 <= self.body_end {
            self.mix_body(kernel, prefetch, oc, src, out);
            return;
        }
        let at = |j: u64| ((j - j0) as usize) * oc;
        let src_at = |j: u64| ((j - j0) as usize) * self.cc;
        let fade_in_end = j1.min(self.fade_in);
        if j0 < fade_in_end {
            self.mix_faded(
                oc,
                j0,
                &src[..src_at(fade_in_end)],
                &mut out[..at(fade_in_end)],
            );
        }
        let (b0, b1) = (j0.max(self.fade_in), j1.min(self.body_end));
        if b0 < b1 {
            self.mix_body(
                kernel,
                prefetch,
                oc,
                &src[src_at(b0)..src_at(b1)],
                &mut out[at(b0)..at(b1)],
            );
        }
        let fade_out_start = j0.max(self.body_end);
        if fade_out_start < j1 {
            self.mix_faded(
                oc,
                fade_out_start,
                &src[src_at(fade_out_start)..],
                &mut out[at(fade_out_start)..],
            );
        }
    }

    /// `out[f][o] += gains[o] * src[f][o mod cc]`: the unfaded body.
    #[inline(always)]
    fn mix_body(
        &self,
        kernel: Kernel,
        prefetch_to: Prefetch,
        oc: usize,
        src: &[f32],
        out: &mut [f32],
    ) {
        // The entry's next stretch most likely reads the samples after
        // these.
        let ahead = match prefetch_to {
            Prefetch::Off => None,
            Prefetch::NextIntoL1 => Some(src.len()),
            Prefetch::LeadInToL2 { lines } => {
                prefetch_lead_in(src.as_ptr().wrapping_add(src.len()), lines);
                None
            }
        };
        match &self.layout {
            Layout::Same(pattern) => kernel.same_layout(pattern, src, out, ahead),
            Layout::MonoToStereo(gains) => kernel.mono_to_stereo(*gains, src, out, ahead),
            Layout::General => {
                for (frame, sframe) in out.chunks_exact_mut(oc).zip(src.chunks_exact(self.cc)) {
                    for ((o, g), x) in frame
                        .iter_mut()
                        .zip(&self.gains[..])
                        .zip(sframe.iter().cycle())
                    {
                        *o += g * x;
                    }
                }
            }
        }
    }

    /// `out[f][o] += (gains[o] * fade(j)) * clip[a + j][o mod cc]` for
    /// the frames from `j0` that `src` holds.
    fn mix_faded(&self, oc: usize, j0: u64, src: &[f32], out: &mut [f32]) {
        for (j, (frame, sframe)) in
            (j0..).zip(out.chunks_exact_mut(oc).zip(src.chunks_exact(self.cc)))
        {
            let fade = fade_factor(j, self.len, self.fade_in, self.fade_out);
            for ((o, g), x) in frame
                .iter_mut()
                .zip(&self.gains[..])
                .zip(sframe.iter().cycle())
            {
                *o += (g * fade) * x;
            }
        }
    }
}

/// A run of frames of a streamed clip that was not ready when it was to
/// be mixed: silence in the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Missing {
    /// The [`crate::StreamedFile::id`] of the clip's file.
    pub(crate) file: u64,
    /// The position of the first silent frame.
    pub(crate) position: i64,
    /// How many.
    pub(crate) frames: u64,
}

/// The runs of missing frames of a stretch, kept without allocating: at
/// most [`MISSING_RUNS`]; more are counted in `more`.
#[derive(Debug)]
pub(crate) struct MissingLog {
    runs: Vec<Missing>,
    /// Frames missing beyond the runs kept.
    more: u64,
}

/// Runs of missing frames one stretch keeps apart.
const MISSING_RUNS: usize = 64;

impl MissingLog {
    fn new() -> crate::Result<MissingLog> {
        let mut runs = Vec::new();
        runs.try_reserve_exact(MISSING_RUNS)
            .map_err(|_| crate::Error::Argument {
                argument: "playspec",
                rule: "the mixing scratch does not fit in memory".into(),
            })?;
        Ok(MissingLog { runs, more: 0 })
    }

    /// Notes a run, joined to the last one when it continues it.
    fn note(&mut self, m: Missing) {
        if let Some(last) = self.runs.last_mut() {
            if last.file == m.file && last.position.wrapping_add(last.frames as i64) == m.position {
                last.frames += m.frames;
                return;
            }
        }
        if self.runs.len() < self.runs.capacity() {
            self.runs.push(m);
        } else {
            self.more += m.frames;
        }
    }

    /// Hands every run noted since the last call to `f`, then forgets
    /// them; frames missing beyond the runs kept come last, as one run of
    /// file 0 at `stretch` (the stretch's first position). Real-time safe.
    #[inline]
    pub(crate) fn drain(&mut self, stretch: i64, mut f: impl FnMut(Missing)) {
        if self.runs.is_empty() && self.more == 0 {
            return; // the common case, at the cost of two compares
        }
        for m in self.runs.drain(..) {
            f(m);
        }
        let more = std::mem::take(&mut self.more);
        if more > 0 {
            f(Missing {
                file: 0,
                position: stretch,
                frames: more,
            });
        }
    }
}

/// What mixing an entry needs beyond the entry itself.
struct Ctx<'a> {
    kernel: Kernel,
    /// Where each entry's next stretch is asked for ([`prefetch_for`]).
    prefetch: Prefetch,
    /// The period's view of the interface's block cache, if it has one.
    reading: Option<&'a Reading<'a>>,
    missing: &'a mut MissingLog,
}

/// A playspec scheduled on one interface, ready for the audio thread.
pub(crate) struct Prepared {
    pub(crate) id: u64,
    playspec: Playspec,
    voices: Vec<Voice>,
    out_channels: usize,
}

/// The occurrences of one entry in the plan: `count` of them, the first
/// starting at position `first`, the next ones every `repeat`; and a
/// cursor at the position the plan's next stretch starts at (see
/// [`Voice::cursor`]).
#[derive(Clone, Copy, Debug)]
struct Planned {
    entry: u32,
    count: u64,
    /// Starts can lie before `i64::MIN` (a repeat reaching back past the
    /// timeline's start): kept in i128, where adding and comparing stay
    /// cheap.
    first: i128,
    /// For how many frames from the cursor the entry's part is quick to
    /// mix: silence before its first occurrence (`at` is [`SILENT`]), or
    /// the unfaded body of that occurrence alone, from memory (`at` is the
    /// index of the cursor's frame in the clip's samples). 0 when neither.
    quick: u64,
    at: usize,
}

/// [`Planned::at`] when the quick frames are silence.
const SILENT: usize = usize::MAX;

/// The audio thread's working space for mixing: the plan (see the module
/// docs) and the candidate buffer planning queries into. One per
/// interface, sized for the largest playspec scheduled so far (the control
/// side sends a bigger one along with a change that needs it), so neither
/// scheduling nor planning allocates on the audio thread.
pub(crate) struct Scratch {
    candidates: Vec<u32>,
    /// The occurrences meeting `[next, end)`, sorted by (entry, first).
    plan: Vec<Planned>,
    /// The playspec the plan is for (its id), if any.
    plan_for: Option<u64>,
    /// The position the next stretch must start at for the plan to hold.
    next: i128,
    /// The position of the next arrival: the plan holds until it.
    end: i128,
    /// The bytes of samples the plan's entries read again and again: the
    /// sum of their ranges if every one repeats (then they can stay in
    /// cache from one pass to the next), else `usize::MAX`.
    working_set: usize,
    /// Streamed frames that were not ready, for the engine to report.
    pub(crate) missing: MissingLog,
}

impl Scratch {
    /// Scratch for playspecs whose index yields at most `capacity`
    /// candidates; an error (never an abort) when that does not fit in
    /// memory.
    pub(crate) fn with_capacity(capacity: usize) -> crate::Result<Scratch> {
        let too_big = |_| crate::Error::Argument {
            argument: "playspec",
            rule: format!("mixing scratch for {capacity} entries does not fit in memory"),
        };
        let mut candidates = Vec::new();
        candidates.try_reserve_exact(capacity).map_err(too_big)?;
        let mut plan = Vec::new();
        plan.try_reserve_exact(capacity).map_err(too_big)?;
        Ok(Scratch {
            candidates,
            plan,
            plan_for: None,
            next: 0,
            end: 0,
            working_set: 0,
            missing: MissingLog::new()?,
        })
    }

    /// The most candidates it holds without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.candidates.capacity().min(self.plan.capacity())
    }
}

impl Prepared {
    /// Lays out `playspec` for an interface with `out_channels` outputs. The
    /// caller has checked [`Playspec::check_for`].
    pub(crate) fn new(id: u64, playspec: Playspec, out_channels: usize) -> Prepared {
        let voices = playspec
            .data()
            .entries
            .iter()
            .map(|e| Voice::new(e, out_channels))
            .collect();
        Prepared {
            id,
            playspec,
            voices,
            out_channels,
        }
    }

    /// The scratch capacity mixing this playspec needs.
    pub(crate) fn scratch_needed(&self) -> usize {
        self.playspec.data().index.capacity()
    }

    /// Adds the sum of every occurrence at positions `[p0, p0 + n)` into
    /// `out` (`n` interleaved frames), with `kernel`'s inner loops, planning
    /// in `scratch` when the plan there does not cover the stretch.
    /// Real-time safe: no allocation (the control side sized `scratch` for
    /// this playspec). `p0 + n` must not pass the end of the timeline
    /// (`i64::MAX + 1`), as the engine guarantees.
    #[inline]
    pub(crate) fn mix(
        &self,
        scratch: &mut Scratch,
        kernel: Kernel,
        reading: Option<&Reading<'_>>,
        p0: i64,
        n: usize,
        out: &mut [f32],
    ) {
        match kernel.which() {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a `Kernel` holds Avx512 only when the CPU has AVX-512F
            // and AVX2 (`MixKernel::is_available`); the arguments are
            // borrowed for the call, as by the portable path.
            MixKernel::Avx512 => unsafe { self.mix_avx512(scratch, kernel, reading, p0, n, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above, with AVX2.
            MixKernel::Avx2 => unsafe { self.mix_avx2(scratch, kernel, reading, p0, n, out) },
            _ => self.mix_with(scratch, kernel, reading, p0, n, out),
        }
    }

    /// [`Prepared::mix`] compiled for AVX2, so that the kernel's loops
    /// inline into the per-entry path instead of being called per entry.
    /// The CPU must have AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn mix_avx2(
        &self,
        scratch: &mut Scratch,
        kernel: Kernel,
        reading: Option<&Reading<'_>>,
        p0: i64,
        n: usize,
        out: &mut [f32],
    ) {
        self.mix_with(scratch, kernel, reading, p0, n, out);
    }

    /// [`Prepared::mix`] compiled for AVX-512. The CPU must have AVX-512F
    /// and AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2")]
    unsafe fn mix_avx512(
        &self,
        scratch: &mut Scratch,
        kernel: Kernel,
        reading: Option<&Reading<'_>>,
        p0: i64,
        n: usize,
        out: &mut [f32],
    ) {
        self.mix_with(scratch, kernel, reading, p0, n, out);
    }

    /// The body of [`Prepared::mix`], inlined into each of its versions.
    #[inline(always)]
    fn mix_with(
        &self,
        scratch: &mut Scratch,
        kernel: Kernel,
        reading: Option<&Reading<'_>>,
        p0: i64,
        n: usize,
        out: &mut [f32],
    ) {
        let oc = self.out_channels;
        if oc == 0 || n == 0 {
            return; // a capture-only interface: nothing to mix into
        }
        if scratch.capacity() < self.scratch_needed() {
            // Not reachable: a change that needs more scratch brings it.
            // Silence is the real-time-safe answer; growing would allocate.
            return;
        }
        let (lo, hi) = (i128::from(p0), i128::from(p0) + n as i128);
        if scratch.plan_for != Some(self.id) || scratch.next != lo || hi > scratch.end {
            self.plan(scratch, p0, n as u64);
        }
        scratch.next = hi;
        let plan = &mut scratch.plan;
        if plan.is_empty() {
            return;
        }
        let out = &mut out[..n * oc];
        let prefetch = prefetch_for(plan.len(), scratch.working_set, plan.len() * n * oc * 4);
        let mut ctx = Ctx {
            kernel,
            prefetch,
            reading,
            missing: &mut scratch.missing,
        };
        let n64 = n as u64;
        let mut kept = 0;
        for i in 0..plan.len() {
            // Updated in place: copying the entry out and back made the
            // copy back wait on the field stores (no store forwarding).
            let planned = &mut plan[i];
            let voice = &self.voices[planned.entry as usize];
            let kept_it = if n64 <= planned.quick {
                // The common case: the whole stretch is silence before the
                // entry's next occurrence, or the unfaded body of one
                // occurrence of an in-memory clip, whose samples the
                // cursor points at.
                planned.quick -= n64;
                if planned.at != SILENT {
                    let samples = n * voice.cc;
                    let src = &voice.clip.memory_samples()[planned.at..planned.at + samples];
                    voice.mix_body(kernel, prefetch, oc, src, out);
                    planned.at += samples;
                }
                planned.quick > 0 || voice.advance(planned, hi)
            } else {
                voice.mix_planned(planned, kernel, prefetch, &mut ctx, oc, (lo, hi), out)
            };
            if kept_it {
                if kept != i {
                    plan[kept] = plan[i];
                }
                kept += 1;
            }
        }
        plan.truncate(kept);
    }

    /// Makes the plan for a stretch `[p0, p0 + n)`: every occurrence that
    /// meets `[p0, w)`, where `w` is the first arrival at or after `p0 + n`,
    /// sorted by (entry, k), each entry's cursor at `p0`. Real-time safe:
    /// the scratch holds [`Prepared::scratch_needed`] candidates.
    fn plan(&self, scratch: &mut Scratch, p0: i64, n: u64) {
        let data = self.playspec.data();
        let stretch_end = i128::from(p0) + i128::from(n);
        // Nothing arrives in [p0 + n, w); the plan can hold until w.
        let w = data
            .index
            .next_arrival(stretch_end)
            .map_or(i128::from(i64::MAX) + 1, i128::from)
            .max(stretch_end);
        let span = u64::try_from(w - i128::from(p0)).unwrap_or(u64::MAX);
        let Scratch {
            candidates,
            plan,
            working_set,
            ..
        } = scratch;
        candidates.clear();
        data.index.query(p0, span, candidates);
        candidates.sort_unstable();
        candidates.dedup();
        plan.clear();
        *working_set = 0;
        for &entry in candidates.iter() {
            let e = &data.entries[entry as usize];
            if let Some((k_lo, k_hi)) = occurrences(e, p0, span) {
                let mut planned = Planned {
                    entry,
                    count: u64::try_from(k_hi - k_lo + 1).unwrap_or(u64::MAX),
                    first: i128::from(e.play_at) + k_lo * i128::from(e.repeat),
                    quick: 0,
                    at: SILENT,
                };
                let voice = &self.voices[entry as usize];
                voice.cursor(&mut planned, i128::from(p0));
                plan.push(planned);
                // Only a repeat reads its samples again; an entry played
                // once streams them however short it is.
                let bytes = if voice.repeat == 0 {
                    usize::MAX
                } else {
                    usize::try_from(voice.len)
                        .unwrap_or(usize::MAX)
                        .saturating_mul(voice.cc * 4)
                };
                *working_set = working_set.saturating_add(bytes);
            }
        }
        scratch.plan_for = Some(self.id);
        scratch.next = i128::from(p0);
        scratch.end = w;
    }
}

/// A run of a streamed clip's frames that sounds in a window of positions
/// ([`streamed_runs`]).
#[derive(Clone, Debug)]
pub(crate) struct StreamedRun {
    /// The clip's file.
    pub(crate) file: std::sync::Arc<crate::clip::StreamedFile>,
    /// The clip frames that sound.
    pub(crate) frames: std::ops::Range<u64>,
    /// The position the first of them sounds at.
    pub(crate) position: i64,
}

/// Every run of streamed frames that sounds at positions `[from, from +
/// len)` of `playspec`: one per occurrence of a streamed entry that meets
/// the window, clipped to it. For the reader thread (it allocates).
pub(crate) fn streamed_runs(playspec: &Playspec, from: i64, len: u64, out: &mut Vec<StreamedRun>) {
    let data = playspec.data();
    let mut candidates = Vec::new();
    data.index.query(from, len, &mut candidates);
    candidates.sort_unstable();
    candidates.dedup();
    let (lo, hi) = (i128::from(from), i128::from(from) + i128::from(len));
    for &i in &candidates {
        let e = &data.entries[i as usize];
        let Some(file) = e.clip.streamed() else {
            continue;
        };
        let Some((k_lo, k_hi)) = occurrences(e, from, len) else {
            continue;
        };
        let l = i128::from(e.length());
        for k in k_lo..=k_hi {
            let start = i128::from(e.play_at) + k * i128::from(e.repeat);
            let (a, b) = (lo.max(start), hi.min(start + l));
            if a >= b {
                continue;
            }
            let first = e.range.start + (a - start) as u64;
            out.push(StreamedRun {
                file: std::sync::Arc::clone(file),
                frames: first..first + (b - a) as u64,
                position: a as i64,
            });
        }
    }
}

/// What the memory system is asked for while an entry's stretch is mixed:
/// the samples of its next stretch, which the hardware prefetcher cannot
/// foresee when dozens of short runs each begin a period later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prefetch {
    /// Nothing: the samples stay in cache from one pass to the next.
    Off,
    /// The whole next stretch into L1, as the kernel reads this one.
    NextIntoL1,
    /// The first `lines` cache lines of the next stretch into L2: the
    /// hardware prefetcher takes up the stream from there. Asking for whole
    /// next periods floods the caches when a period reads much.
    LeadInToL2 {
        /// Cache lines per entry ([`LEAD_IN_BUDGET`] shared).
        lines: usize,
    },
}

/// What to ask for ([`Prefetch`]) while mixing a stretch from a plan of
/// `streams` entries that can read `working_set` bytes of samples,
/// `stretch_bytes` of them in this stretch: nothing when the working set
/// stays in cache from one pass to the next ([`CACHED_BYTES`]); else the
/// whole next stretch into L1 when a stretch's samples fit there beside
/// the output ([`NEAR_BYTES`]); else a lead-in of each entry's next stretch
/// into L2, [`LEAD_IN_BUDGET`] bytes shared among the entries, from 8 to 32
/// lines each.
///
/// Measured on W(N, P) with 10 s clips (Xeon, AVX-512, 2 MiB L2; µs per
/// period, medians of alternating runs), lead-ins of 4 / 8 / 16 / 32 lines
/// and nothing:
///
/// | N, P | 4 | 8 | 16 | 32 | nothing |
/// |---|---|---|---|---|---|
/// | 64, 256 | 15.6 | 15.1 | 13.9 | **13.3** | 17.3 |
/// | 128, 256 | 27.9 | 27.0 | **25.1** | 28.4 | 33.2 |
/// | 256, 256 | 52.1 | **51.1** | 68.5 | 66.4 | 59.7 |
///
/// Asking for the whole next stretch into L2 instead: 12.6 at W(64, 256)
/// but 65.1 at W(256, 256) and 64.0 against 59.0 at W(64, 1024).
/// Cache-resident clips at W(32, 256): 1.61 with nothing against 1.66 with
/// an 8-line lead-in and 1.79 with the whole stretch into L1.
fn prefetch_for(streams: usize, working_set: usize, stretch_bytes: usize) -> Prefetch {
    if working_set <= CACHED_BYTES {
        Prefetch::Off
    } else if stretch_bytes <= NEAR_BYTES {
        Prefetch::NextIntoL1
    } else {
        Prefetch::LeadInToL2 {
            lines: (LEAD_IN_BUDGET / LINE_BYTES / streams.max(1)).clamp(8, 32),
        }
    }
}

/// The bytes of lead-in a stretch asks for, shared among its entries.
const LEAD_IN_BUDGET: usize = 128 * 1024;

/// The most bytes of samples a plan may read for them to stay in cache from
/// one pass to the next: half the L2 of the CPU measured, and within the
/// L2 or L3 of any CPU with AVX2.
const CACHED_BYTES: usize = 1 << 20;

/// The most bytes of samples a stretch may read for the next one to be
/// asked into L1 (half the smallest L1 data cache of the CPUs with AVX2,
/// 32 KiB).
const NEAR_BYTES: usize = 16 * 1024;

/// The occurrences `k_lo..=k_hi` of `e` that meet `[p0, p0 + n)`, if any.
/// Occurrence k is `[t + k r, t + k r + len)`; it meets the stretch for
/// `ceil((p0 - t - len + 1) / r) <= k <= floor((p0 + n - 1 - t) / r)`.
/// Planning only: it divides.
fn occurrences(e: &Entry, p0: i64, n: u64) -> Option<(i128, i128)> {
    let len = e.length();
    if len == 0 || n == 0 {
        return None;
    }
    if e.repeat == 0 {
        let (t, lo) = (i128::from(e.play_at), i128::from(p0));
        return (t < lo + i128::from(n) && t + i128::from(len) > lo).then_some((0, 0));
    }
    // In i64 when nothing overflows (always, short of the timeline's ends).
    let fast = (|| {
        let len = i64::try_from(len).ok()?;
        let first = p0
            .checked_sub(e.play_at)?
            .checked_sub(len)?
            .checked_add(1)?;
        let last = p0
            .checked_add(i64::try_from(n).ok()?)?
            .checked_sub(1)?
            .checked_sub(e.play_at)?;
        let r = e.repeat;
        let k_lo = first.div_euclid(r) + i64::from(first.rem_euclid(r) != 0);
        Some((i128::from(k_lo), i128::from(last.div_euclid(r))))
    })();
    let (k_lo, k_hi) = fast.unwrap_or_else(|| {
        let r = i128::from(e.repeat);
        let first = i128::from(p0) - i128::from(e.play_at) - i128::from(len) + 1;
        let last = i128::from(p0) + i128::from(n) - 1 - i128::from(e.play_at);
        (
            first.div_euclid(r) + i128::from(first.rem_euclid(r) != 0),
            last.div_euclid(r),
        )
    });
    (k_lo <= k_hi).then_some((k_lo, k_hi))
}
