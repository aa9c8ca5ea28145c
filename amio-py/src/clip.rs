//! `amio.Clip`: amio-core's immutable clip, to and from numpy.

use std::path::PathBuf;

use amio_core::{Clip, MeterWindow};
use numpy::{PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::arrays::{from_numpy, to_numpy};
use crate::errors::{check, invalid};

/// Immutable audio in amio's engine form: `channels >= 1`, `frames >= 0`, a
/// frame rate and float32 samples (nominal range -1..1). Shared, never
/// copied, when used in playspecs.
///
/// `Clip(samples, frame_rate)` copies a numpy array (or anything numpy can
/// turn into one) shaped `(frames,)` for mono or `(frames, channels)`.
/// Every sample must be finite.
#[pyclass(frozen, module = "amio._native", name = "Clip")]
pub(crate) struct PyClip {
    pub(crate) clip: Clip,
}

impl PyClip {
    pub(crate) fn wrap(clip: Clip) -> PyClip {
        PyClip { clip }
    }
}

#[pymethods]
impl PyClip {
    #[new]
    #[pyo3(signature = (samples, frame_rate))]
    fn new(py: Python<'_>, samples: &Bound<'_, PyAny>, frame_rate: u32) -> PyResult<PyClip> {
        let (channels, samples) = from_numpy(py, samples, "clip samples")?;
        let clip = py.detach(|| Clip::from_interleaved(frame_rate, channels, samples));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// Opens a WAV file as a streamed clip: its samples stay on disk and a
    /// stream that plays it reads ahead what will sound (``Stream.open``'s
    /// ``stream_read_ahead_ms`` and ``stream_cache_bytes``). It plays bit
    /// for bit as the file loaded; frames whose data is late play as
    /// silence and are reported (``DataMissing`` events). The null backend
    /// offline or stepped waits for the data. ``to_numpy`` reads the whole
    /// file.
    #[staticmethod]
    fn open_streamed(py: Python<'_>, path: PathBuf) -> PyResult<PyClip> {
        let clip = py.detach(|| Clip::open_streamed(&path));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// The id of a streamed clip's file, as ``DataMissing`` events name it;
    /// ``None`` for a clip in memory.
    #[getter]
    fn stream_id(&self) -> Option<u64> {
        self.clip.streamed_file().map(|f| f.id())
    }

    /// Reads an audio file, its format chosen by its extension (WAV, FLAC,
    /// AU/SND) or, failing that, by its first bytes.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: PathBuf) -> PyResult<PyClip> {
        let clip = py.detach(|| Clip::from_file(&path));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// Reads an AU/SND file of 32-bit float samples (either byte order,
    /// as Audacity writes its block files).
    #[staticmethod]
    fn from_au(py: Python<'_>, path: PathBuf) -> PyResult<PyClip> {
        let clip = py.detach(|| Clip::from_au(&path));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// `frames` frames of silence.
    #[staticmethod]
    fn silence(
        py: Python<'_>,
        frame_rate: u32,
        channels: usize,
        frames: usize,
    ) -> PyResult<PyClip> {
        let clip = py.detach(|| Clip::silence(frame_rate, channels, frames));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// A sine of `frequency` Hz and peak `amplitude`, starting at phase 0,
    /// the same in every channel.
    #[staticmethod]
    #[pyo3(signature = (frame_rate, channels, frames, frequency, amplitude=1.0))]
    fn sine(
        py: Python<'_>,
        frame_rate: u32,
        channels: usize,
        frames: usize,
        frequency: f64,
        amplitude: f32,
    ) -> PyResult<PyClip> {
        let clip = py.detach(|| Clip::sine(frame_rate, channels, frames, frequency, amplitude));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// The clips one after another (same frame rate and channels).
    #[staticmethod]
    fn concat(py: Python<'_>, clips: Vec<PyRef<'_, PyClip>>) -> PyResult<PyClip> {
        let clips: Vec<Clip> = clips.iter().map(|c| c.clip.clone()).collect();
        let clip = py.detach(|| Clip::concat(&clips));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// A stereo clip from two mono clips of the same rate and length.
    #[staticmethod]
    fn stereo(py: Python<'_>, left: &PyClip, right: &PyClip) -> PyResult<PyClip> {
        Ok(PyClip::wrap(check(
            py,
            Clip::stereo(&left.clip, &right.clip),
        )?))
    }

    /// Frames per second.
    #[getter]
    fn frame_rate(&self) -> u32 {
        self.clip.frame_rate()
    }

    /// Channels per frame.
    #[getter]
    fn channels(&self) -> usize {
        self.clip.channels()
    }

    /// Length in frames.
    #[getter]
    fn frames(&self) -> usize {
        self.clip.frames()
    }

    fn __len__(&self) -> usize {
        self.clip.frames()
    }

    fn __repr__(&self) -> String {
        format!(
            "amio.Clip(frames={}, channels={}, frame_rate={})",
            self.clip.frames(),
            self.clip.channels(),
            self.clip.frame_rate()
        )
    }

    /// A copy of the samples: a float32 array shaped `(frames, channels)`.
    fn to_numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        to_numpy(py, self.clip.samples(), self.clip.channels())
    }

    /// numpy's array protocol: `numpy.asarray(clip)` is [`to_numpy`].
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if copy == Some(false) {
            return Err(invalid(
                py,
                "a Clip's samples cannot be viewed without a copy (copy=False)".into(),
            ));
        }
        let array = to_numpy(py, self.clip.samples(), self.clip.channels())?.into_any();
        match dtype {
            Some(dtype) => array.call_method1("astype", (dtype,)),
            None => Ok(array),
        }
    }

    /// The clip resampled to `frame_rate` (rubato's FFT resampler): `ceil(frames
    /// · to / from)` frames, lined up with the original.
    fn resample(&self, py: Python<'_>, frame_rate: u32) -> PyResult<PyClip> {
        let clip = py.detach(|| self.clip.resample(frame_rate));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// A new clip: this one with `other` written over it from frame `at`
    /// (negative drops the front of `other`); past the end it is dropped
    /// unless `extend`, which pads any gap with silence.
    #[pyo3(signature = (other, at, extend=false))]
    fn overwrite(&self, py: Python<'_>, other: &PyClip, at: i64, extend: bool) -> PyResult<PyClip> {
        let clip = py.detach(|| self.clip.overwrite(&other.clip, at, extend));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// A new clip of `frames` frames: cut, or padded with silence.
    fn resize(&self, py: Python<'_>, frames: usize) -> PyResult<PyClip> {
        let clip = py.detach(|| self.clip.resize(frames));
        Ok(PyClip::wrap(check(py, clip)?))
    }

    /// One channel as a mono clip.
    fn channel(&self, py: Python<'_>, channel: usize) -> PyResult<PyClip> {
        Ok(PyClip::wrap(check(py, self.clip.channel(channel))?))
    }

    /// Writes the clip, the format chosen by the extension: `.wav` (32-bit
    /// float) or `.flac` (24-bit). Written beside the target and renamed
    /// when complete.
    fn write(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let result = py.detach(|| self.clip.write_file(&path));
        check(py, result)
    }

    /// Writes a 32-bit float WAV file.
    fn write_wav(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let result = py.detach(|| self.clip.write_wav(&path));
        check(py, result)
    }

    /// Writes a FLAC file of 16 or 24 bits per sample (samples beyond full
    /// scale are clamped).
    #[pyo3(signature = (path, bits=24))]
    fn write_flac(&self, py: Python<'_>, path: PathBuf, bits: u32) -> PyResult<()> {
        let result = py.detach(|| self.clip.write_flac(&path, bits));
        check(py, result)
    }

    /// Peak and RMS levels per window: `frames` frames each, or `per_second`
    /// windows a second (window j starts at floor(j · rate / n)). Returns
    /// `(starts, lengths, peak_db, rms_db)`: int64 arrays of the windows'
    /// first frames and lengths, and float32 arrays shaped `(windows,
    /// channels)` in dB (-inf for silence).
    #[pyo3(signature = (*, frames=None, per_second=None))]
    fn meter<'py>(
        &self,
        py: Python<'py>,
        frames: Option<u64>,
        per_second: Option<u32>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let window = meter_window(py, frames, per_second)?;
        let readings = py.detach(|| self.clip.meter(window));
        let readings = check(py, readings)?;
        let ch = self.clip.channels();
        let starts: Vec<i64> = readings.iter().map(|r| r.frame as i64).collect();
        let lengths: Vec<i64> = readings.iter().map(|r| r.frames as i64).collect();
        let mut peak = Vec::with_capacity(readings.len() * ch);
        let mut rms = Vec::with_capacity(readings.len() * ch);
        for r in &readings {
            peak.extend(r.levels.iter().map(|l| l.peak_db));
            rms.extend(r.levels.iter().map(|l| l.rms_db));
        }
        PyTuple::new(
            py,
            [
                PyArray1::from_vec(py, starts).into_any(),
                PyArray1::from_vec(py, lengths).into_any(),
                to_numpy(py, &peak, ch)?.into_any(),
                to_numpy(py, &rms, ch)?.into_any(),
            ],
        )
    }
}

/// The meter window from exactly one of `frames` and `per_second`.
pub(crate) fn meter_window(
    py: Python<'_>,
    frames: Option<u64>,
    per_second: Option<u32>,
) -> PyResult<MeterWindow> {
    match (frames, per_second) {
        (Some(f), None) => Ok(MeterWindow::Frames(f)),
        (None, Some(n)) => Ok(MeterWindow::PerSecond(n)),
        _ => Err(invalid(
            py,
            "meter window: give exactly one of frames= and per_second=".into(),
        )),
    }
}
