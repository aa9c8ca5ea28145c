//! `amio.Entry` and `amio.Playspec`: SPEC.md's playspec entries, with
//! per-channel gains, ranges, repeats and fades.

use amio_core::{Entry, Playspec};
use pyo3::prelude::*;

use crate::clip::PyClip;
use crate::errors::check;

/// One playspec entry: a cropped clip at a position, with one gain per
/// output channel, an optional repeat and fades (SPEC.md, "Playspec entry").
///
/// `Entry(clip, gains, *, range=None, play_at=0, repeat=0, fade_in=0,
/// fade_out=0)`: `range` is `(a, b)` in clip frames (default the whole
/// clip); the rules are checked when the entry joins a `Playspec`, whose
/// error names the entry and the rule.
#[pyclass(frozen, module = "amio._native", name = "Entry")]
pub(crate) struct PyEntry {
    pub(crate) entry: Entry,
    clip: Py<PyClip>,
}

#[pymethods]
impl PyEntry {
    #[new]
    #[pyo3(signature = (clip, gains, *, range=None, play_at=0, repeat=0, fade_in=0, fade_out=0))]
    fn new(
        clip: Bound<'_, PyClip>,
        gains: Vec<f64>,
        range: Option<(u64, u64)>,
        play_at: i64,
        repeat: i64,
        fade_in: u64,
        fade_out: u64,
    ) -> PyEntry {
        let mut entry = Entry::new(
            clip.get().clip.clone(),
            gains.iter().map(|&g| g as f32).collect(),
        )
        .play_at(play_at)
        .repeat(repeat)
        .fades(fade_in, fade_out);
        if let Some((a, b)) = range {
            entry = entry.range(a..b);
        }
        PyEntry {
            entry,
            clip: clip.unbind(),
        }
    }

    /// The clip.
    #[getter]
    fn clip(&self, py: Python<'_>) -> Py<PyClip> {
        self.clip.clone_ref(py)
    }

    /// One gain factor per output channel.
    #[getter]
    fn gains(&self) -> Vec<f32> {
        self.entry.gains.clone()
    }

    /// `(a, b)`: the clip frames played.
    #[getter]
    fn range(&self) -> (u64, u64) {
        (self.entry.range.start, self.entry.range.end)
    }

    /// The playspec position at which clip frame `a` sounds.
    #[getter]
    fn play_at(&self) -> i64 {
        self.entry.play_at
    }

    /// 0: once; else also at `play_at + k * repeat` for every integer k.
    #[getter]
    fn repeat(&self) -> i64 {
        self.entry.repeat
    }

    /// Fade-in length in frames, per occurrence.
    #[getter]
    fn fade_in(&self) -> u64 {
        self.entry.fade_in
    }

    /// Fade-out length in frames, per occurrence.
    #[getter]
    fn fade_out(&self) -> u64 {
        self.entry.fade_out
    }

    fn __repr__(&self) -> String {
        let e = &self.entry;
        format!(
            "amio.Entry(clip=<{} frames, {} ch, {} Hz>, gains={:?}, range=({}, {}), play_at={}, repeat={}, fade_in={}, fade_out={})",
            e.clip.frames(),
            e.clip.channels(),
            e.clip.frame_rate(),
            e.gains,
            e.range.start,
            e.range.end,
            e.play_at,
            e.repeat,
            e.fade_in,
            e.fade_out
        )
    }
}

/// An arrangement to play: a list of entries, validated and indexed by
/// time when made (an entry that breaks a rule raises `EntryError` naming
/// the entry and the rule). Immutable; schedule it on any number of streams.
#[pyclass(frozen, module = "amio._native", name = "Playspec")]
pub(crate) struct PyPlayspec {
    pub(crate) playspec: Playspec,
    entries: Vec<Py<PyEntry>>,
}

#[pymethods]
impl PyPlayspec {
    #[new]
    #[pyo3(signature = (entries=Vec::new()))]
    fn new(py: Python<'_>, entries: Vec<Bound<'_, PyEntry>>) -> PyResult<PyPlayspec> {
        let core: Vec<Entry> = entries.iter().map(|e| e.get().entry.clone()).collect();
        let playspec = check(py, py.detach(|| Playspec::new(core)))?;
        Ok(PyPlayspec {
            playspec,
            entries: entries.into_iter().map(Bound::unbind).collect(),
        })
    }

    /// The entries, in order.
    #[getter]
    fn entries(&self, py: Python<'_>) -> Vec<Py<PyEntry>> {
        self.entries.iter().map(|e| e.clone_ref(py)).collect()
    }

    fn __len__(&self) -> usize {
        self.entries.len()
    }

    fn __repr__(&self) -> String {
        format!("amio.Playspec(<{} entries>)", self.entries.len())
    }
}
