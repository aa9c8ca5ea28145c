//! Clips: immutable audio, shared cheaply between playspecs.
//!
//! A [`Clip`] holds `channels >= 1` channels of `frames >= 0` frames of f32
//! samples at a frame rate, stored interleaved (frame by frame). Cloning a clip
//! clones a reference count, never the samples. Clips are built on the control
//! side; the audio thread only reads them, and they are freed on the control
//! side when the last playspec that uses them is retired.
//!
//! Clips come from samples, from audio files — WAV ([`Clip::from_wav`]),
//! FLAC ([`Clip::from_flac`]) and AU/SND files of 32-bit floats
//! ([`Clip::from_au`]), or any of them chosen by extension or content
//! ([`Clip::from_file`]) — or from the clip tools ([`Clip::silence`],
//! [`Clip::sine`], [`Clip::concat`], [`Clip::overwrite`], [`Clip::resize`],
//! [`Clip::channel`], [`Clip::stereo`]), which return new clips and leave
//! theirs untouched. Clips are written as 32-bit float WAV
//! ([`Clip::write_wav`]; RF64 past 4 GiB, see [`WavWriter`]), 16- or 24-bit
//! FLAC ([`Clip::write_flac`]), or by extension ([`Clip::write_file`]);
//! every file is written beside its target and renamed into place when
//! complete ([`PendingFile`]).
//!
//! Files are read only when they are regular files: a directory, a named
//! pipe or a device is refused ([`Error::NotAFile`]) without blocking.

use std::io::Seek;
use std::path::Path;
use std::sync::Arc;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use crate::error::{Error, Result};
use crate::pending_file::PendingFile;

mod au;
mod edit;
mod file;
mod flac;
mod rf64;
mod streamed;
mod wav_reader;
mod wav_writer;

pub(crate) use file::open_regular;
pub use streamed::StreamedFile;
pub use wav_writer::{check_wav_shape, WavWriter, MAX_WAV_CHANNELS};

/// Immutable audio: channels, frames, a frame rate and interleaved f32 samples.
///
/// Cheap to clone (a reference count). Every sample is finite; the nominal
/// range is -1..1 but louder samples are kept as they are.
#[derive(Clone)]
pub struct Clip(Arc<ClipData>);

struct ClipData {
    frame_rate: u32,
    channels: usize,
    frames: usize,
    /// The samples of an in-memory clip; empty for a streamed one.
    samples: Box<[f32]>,
    /// The file a streamed clip's samples stay in.
    streamed: Option<Arc<StreamedFile>>,
    /// A streamed clip's samples, loaded the first time
    /// [`Clip::samples`] asks (control side only).
    loaded: std::sync::OnceLock<Box<[f32]>>,
}

impl std::fmt::Debug for Clip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clip")
            .field("frame_rate", &self.0.frame_rate)
            .field("channels", &self.0.channels)
            .field("frames", &self.0.frames)
            .finish()
    }
}

impl Clip {
    /// Builds a clip from interleaved samples (frame by frame, `channels`
    /// samples per frame).
    ///
    /// Refuses zero channels, a zero frame rate, a sample count that is not a
    /// whole number of frames, and NaN or infinite samples.
    pub fn from_interleaved(frame_rate: u32, channels: usize, samples: Vec<f32>) -> Result<Clip> {
        check_shape(frame_rate, channels)?;
        if !samples.len().is_multiple_of(channels) {
            return Err(Error::ClipPartialFrame {
                samples: samples.len(),
                channels,
            });
        }
        check_finite(&samples, channels)?;
        let frames = samples.len() / channels;
        Ok(Clip(Arc::new(ClipData {
            frame_rate,
            channels,
            frames,
            samples: samples.into_boxed_slice(),
            streamed: None,
            loaded: std::sync::OnceLock::new(),
        })))
    }

    /// A clip whose samples stay in the WAV file at `path` (8/16/24/32-bit
    /// integer or 32-bit float, as [`Clip::from_wav`] reads), read from
    /// disk as it plays: usable everywhere a clip is, with sessions larger
    /// than memory. An interface that schedules it starts a reader thread
    /// that reads ahead what will sound ([`crate::Config`]'s
    /// `stream_read_ahead_ms` and `stream_cache_bytes`); when the disk
    /// keeps up the output is bit for bit that of the clip loaded with
    /// [`Clip::from_wav`]. Frames whose data is not ready in time play as
    /// silence and are reported ([`crate::Event::DataMissing`]); offline
    /// and stepped null drivers wait for the reader, so their renders are
    /// always complete.
    ///
    /// [`Clip::samples`] of a streamed clip reads the whole file into
    /// memory the first time it is called (the clip tools and writers use
    /// it); frames that can no longer be read are silence there, and a
    /// clip too big for memory has none.
    pub fn open_streamed(path: impl AsRef<Path>) -> Result<Clip> {
        let file = StreamedFile::open(path)?;
        let frames = usize::try_from(file.frames()).map_err(|_| Error::Argument {
            argument: "a streamed clip",
            rule: format!(
                "{}: too many frames for this machine",
                file.path().display()
            ),
        })?;
        Ok(Clip(Arc::new(ClipData {
            frame_rate: file.frame_rate(),
            channels: file.channels(),
            frames,
            samples: Box::new([]),
            streamed: Some(Arc::new(file)),
            loaded: std::sync::OnceLock::new(),
        })))
    }

    /// The samples of a clip in memory; empty for a streamed clip (whose
    /// samples the mixer takes from the block cache). For the audio thread:
    /// a plain borrow, without [`Clip::samples`]'s check for streaming.
    #[inline]
    pub(crate) fn memory_samples(&self) -> &[f32] {
        &self.0.samples
    }

    /// The file a streamed clip's samples stay in, or `None` for a clip in
    /// memory.
    pub(crate) fn streamed(&self) -> Option<&Arc<StreamedFile>> {
        self.0.streamed.as_ref()
    }

    /// The file of a streamed clip ([`Clip::open_streamed`]), whose
    /// [`StreamedFile::id`] names it in [`crate::Event::DataMissing`];
    /// `None` for a clip in memory.
    pub fn streamed_file(&self) -> Option<&StreamedFile> {
        self.0.streamed.as_deref()
    }

    /// Builds a clip from planar samples: one slice per channel, all of the
    /// same length.
    pub fn from_planar<S: AsRef<[f32]>>(frame_rate: u32, channels: &[S]) -> Result<Clip> {
        check_shape(frame_rate, channels.len())?;
        let frames = channels[0].as_ref().len();
        for (channel, data) in channels.iter().enumerate() {
            if data.as_ref().len() != frames {
                return Err(Error::ClipChannelLength {
                    channel,
                    frames: data.as_ref().len(),
                    expected: frames,
                });
            }
        }
        let mut samples =
            crate::limits::filled(frames.checked_mul(channels.len()), 0.0f32, "clip samples")?;
        samples.clear();
        for frame in 0..frames {
            samples.extend(channels.iter().map(|c| c.as_ref()[frame]));
        }
        Clip::from_interleaved(frame_rate, channels.len(), samples)
    }

    /// Builds a clip from interleaved 16-bit integer samples, each divided by
    /// 32768 (so -32768 is exactly -1.0).
    pub fn from_i16(frame_rate: u32, channels: usize, samples: &[i16]) -> Result<Clip> {
        let mut converted = crate::limits::filled(Some(samples.len()), 0.0f32, "clip samples")?;
        for (out, &s) in converted.iter_mut().zip(samples) {
            *out = f32::from(s) / 32768.0;
        }
        Clip::from_interleaved(frame_rate, channels, converted)
    }

    /// Writes the clip as a 32-bit float WAV file (RF64 when it is larger
    /// than 4 GiB; see [`WavWriter`]). A channel count or frame rate WAV
    /// cannot hold is refused ([`Error::WavLimit`]) before anything is
    /// made. The file is written beside `path` and renamed into place when
    /// complete ([`PendingFile`]), so a failure (a full disk, an error
    /// half-way) leaves an existing file untouched and nothing behind.
    pub fn write_wav(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        check_wav_shape(path, self.0.channels, self.0.frame_rate)?;
        let (pending, file) = PendingFile::create(path)?;
        let io_err = |source| Error::Io {
            context: format!("writing {}", path.display()),
            source,
        };
        let writer = self.write_wav_named(std::io::BufWriter::new(file), path)?;
        let file = writer.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        pending.commit()
    }

    /// Writes the clip as 32-bit float WAV data (RF64 past 4 GiB) to any
    /// seekable writer, from its start. What WAV cannot hold is refused
    /// before anything is written.
    pub fn write_wav_to<W: std::io::Write + Seek>(&self, writer: W) -> Result<()> {
        self.write_wav_named(writer, Path::new("<writer>"))
            .map(drop)
    }

    fn write_wav_named<W: std::io::Write + Seek>(&self, writer: W, path: &Path) -> Result<W> {
        let mut writer = WavWriter::new(writer, path, self.0.channels, self.0.frame_rate)?;
        writer.write(self.samples())?;
        writer.finish()
    }

    /// Returns a new clip resampled to `frame_rate` (a control-side step; the
    /// engine never resamples). The result has `ceil(frames * to / from)`
    /// frames, aligned with the original (the resampler's delay is removed).
    /// Resampling to the clip's own rate returns a clone.
    pub fn resample(&self, frame_rate: u32) -> Result<Clip> {
        let from = self.0.frame_rate;
        if frame_rate == 0 {
            return Err(Error::ClipFrameRate);
        }
        if frame_rate == from {
            return Ok(self.clone());
        }
        let resample_err = |message: String| Error::Resample {
            from,
            to: frame_rate,
            message,
        };
        let channels = self.0.channels;
        let frames = self.0.frames;
        // Rates and sizes are checked before rubato allocates (it aborts
        // when memory runs out): the output, and its FFTs, whose lengths
        // are the rates over their greatest common divisor.
        for (what, rate) in [
            ("frame rate to resample to", frame_rate),
            ("the clip's frame rate", from),
        ] {
            if rate > crate::limits::MAX_FRAME_RATE {
                return Err(Error::Argument {
                    argument: "resample",
                    rule: format!(
                        "{what} is {rate} Hz, above amio's limit of {} Hz",
                        crate::limits::MAX_FRAME_RATE
                    ),
                });
            }
        }
        let out_samples = (frames as u128 * u128::from(frame_rate))
            .div_ceil(u128::from(from))
            .checked_mul(channels as u128)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| resample_err("the resampled clip would not fit in memory".into()))?;
        let gcd = {
            let (mut a, mut b) = (from, frame_rate);
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        let fft = (from / gcd + frame_rate / gcd) as usize;
        crate::limits::can_allocate::<f32>(out_samples, "resampled clip")
            .and_then(|()| {
                crate::limits::can_allocate::<[f32; 2]>(
                    fft.saturating_mul(channels).saturating_mul(4),
                    "resampler",
                )
            })
            .map_err(|_| {
                resample_err("the resampler or its output would not fit in memory".into())
            })?;
        let mut resampler = Fft::<f32>::new(
            from as usize,
            frame_rate as usize,
            1024,
            channels,
            FixedSync::Input,
        )
        .map_err(|e| resample_err(e.to_string()))?;
        let input = InterleavedSlice::new(self.samples(), channels, frames)
            .map_err(|e| resample_err(e.to_string()))?;
        let output = resampler
            .process_all(&input, frames, None)
            .map_err(|e| resample_err(e.to_string()))?;
        // rubato sizes its output with a float ratio; the exact length is
        // ceil(frames * to / from), in integers.
        let exact = (frames as u128 * u128::from(frame_rate)).div_ceil(u128::from(from)) as usize;
        let mut samples = output.take_data();
        samples.resize(exact * channels, 0.0);
        Clip::from_interleaved(frame_rate, channels, samples)
    }

    /// The clip's frame rate in frames per second.
    pub fn frame_rate(&self) -> u32 {
        self.0.frame_rate
    }

    /// The number of channels (at least 1).
    pub fn channels(&self) -> usize {
        self.0.channels
    }

    /// The number of frames.
    pub fn frames(&self) -> usize {
        self.0.frames
    }

    /// All samples, interleaved. Real-time safe (a borrow) for a clip in
    /// memory.
    pub fn samples(&self) -> &[f32] {
        match &self.0.streamed {
            None => &self.0.samples,
            Some(file) => self
                .0
                .loaded
                .get_or_init(|| load_streamed(file, self.0.frames)),
        }
    }

    /// The samples of frame `frame`, one per channel, or `None` past the end.
    pub fn frame(&self, frame: usize) -> Option<&[f32]> {
        let c = self.0.channels;
        self.samples().get(frame * c..(frame + 1) * c)
    }

    /// Whether two handles share the same samples.
    pub fn ptr_eq(a: &Clip, b: &Clip) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

/// All of a streamed clip's samples, for the control-side uses of
/// [`Clip::samples`] (the clip tools, writing, offline meters). A file
/// that can no longer be read gives silence where its frames are missing,
/// as playback does.
///
/// A clip too big for memory gives no samples at all (never an abort).
fn load_streamed(file: &StreamedFile, frames: usize) -> Box<[f32]> {
    let c = file.channels();
    let Ok(mut all) = crate::limits::filled(frames.checked_mul(c), 0.0f32, "clip samples") else {
        return Box::new([]);
    };
    let (mut block, mut bytes) = (Vec::new(), Vec::new());
    const STEP: usize = 1 << 16;
    for first in (0..frames).step_by(STEP) {
        let n = STEP.min(frames - first);
        if file
            .read_into(first as u64, n, &mut block, &mut bytes)
            .is_ok()
        {
            all[first * c..(first + n) * c].copy_from_slice(&block);
        }
    }
    all.into_boxed_slice()
}

fn check_shape(frame_rate: u32, channels: usize) -> Result<()> {
    if channels == 0 {
        return Err(Error::ClipNoChannels);
    }
    if frame_rate == 0 {
        return Err(Error::ClipFrameRate);
    }
    Ok(())
}

/// Refuses the first sample that is NaN or infinite. The samples are
/// scanned in blocks without an early exit, so that the scan vectorises (a
/// sample's bits without the sign are at least `0x7f80_0000` exactly when
/// it is not finite); only a block that has one is searched for it.
fn check_finite(samples: &[f32], channels: usize) -> Result<()> {
    const BLOCK: usize = 4096;
    const NOT_FINITE: u32 = 0x7f80_0000;
    for (b, block) in samples.chunks(BLOCK).enumerate() {
        let most = block
            .iter()
            .fold(0u32, |m, s| m.max(s.to_bits() & 0x7fff_ffff));
        if most < NOT_FINITE {
            continue;
        }
        if let Some(at) = block.iter().position(|s| !s.is_finite()) {
            let i = b * BLOCK + at;
            return Err(Error::ClipSampleNotFinite {
                frame: i / channels,
                channel: i % channels,
                value: samples[i],
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaved_and_planar_agree() {
        let a = Clip::from_interleaved(48000, 2, vec![0.1, 0.2, 0.3, 0.4]).unwrap();
        let b = Clip::from_planar(48000, &[vec![0.1, 0.3], vec![0.2, 0.4]]).unwrap();
        assert_eq!(a.samples(), b.samples());
        assert_eq!(a.frames(), 2);
        assert_eq!(a.frame(1), Some(&[0.3, 0.4][..]));
        assert_eq!(a.frame(2), None);
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(matches!(
            Clip::from_interleaved(48000, 0, vec![]),
            Err(Error::ClipNoChannels)
        ));
        assert!(matches!(
            Clip::from_interleaved(0, 1, vec![]),
            Err(Error::ClipFrameRate)
        ));
        assert!(matches!(
            Clip::from_interleaved(48000, 2, vec![0.0; 3]),
            Err(Error::ClipPartialFrame {
                samples: 3,
                channels: 2
            })
        ));
        assert!(matches!(
            Clip::from_planar(48000, &[vec![0.0; 3], vec![0.0; 2]]),
            Err(Error::ClipChannelLength {
                channel: 1,
                frames: 2,
                expected: 3
            })
        ));
        let err = Clip::from_interleaved(48000, 2, vec![0.0, 0.0, 0.0, f32::NAN]).unwrap_err();
        assert!(matches!(
            err,
            Error::ClipSampleNotFinite {
                frame: 1,
                channel: 1,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "clip sample at frame 1, channel 1 is not finite (NaN)"
        );
    }

    #[test]
    fn empty_clip_is_valid() {
        let c = Clip::from_interleaved(44100, 3, vec![]).unwrap();
        assert_eq!((c.frames(), c.channels()), (0, 3));
    }

    #[test]
    fn i16_scaling_is_exact() {
        let c = Clip::from_i16(48000, 1, &[-32768, 0, 16384, 32767]).unwrap();
        assert_eq!(c.samples(), &[-1.0, 0.0, 0.5, 32767.0 / 32768.0]);
    }

    fn wav_bytes(
        spec: hound::WavSpec,
        write: impl FnOnce(&mut hound::WavWriter<&mut std::io::Cursor<Vec<u8>>>),
    ) -> Vec<u8> {
        let mut cursor = std::io::Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
            write(&mut w);
            w.finalize().unwrap();
        }
        cursor.into_inner()
    }

    #[test]
    fn wav_integer_depths_scale_to_full_scale() {
        for bits in [8u16, 16, 24, 32] {
            let spec = hound::WavSpec {
                channels: 3,
                sample_rate: 22050,
                bits_per_sample: bits,
                sample_format: hound::SampleFormat::Int,
            };
            let full = 1i64 << (bits - 1);
            let values = [-full, 0, full / 2, -(full / 4), full - 1, 1];
            let bytes = wav_bytes(spec, |w| {
                for v in values {
                    w.write_sample(v as i32).unwrap();
                }
            });
            let clip = Clip::from_wav_reader(std::io::Cursor::new(bytes), "t.wav").unwrap();
            assert_eq!(
                (clip.channels(), clip.frames(), clip.frame_rate()),
                (3, 2, 22050)
            );
            let expected: Vec<f32> = values
                .iter()
                .map(|&v| (v as f64 / full as f64) as f32)
                .collect();
            assert_eq!(clip.samples(), &expected[..], "{bits}-bit");
            assert_eq!(clip.samples()[0], -1.0);
        }
    }

    #[test]
    fn wav_float_round_trips() {
        let clip =
            Clip::from_interleaved(96000, 5, (0..50).map(|i| i as f32 / 64.0 - 0.4).collect())
                .unwrap();
        let mut cursor = std::io::Cursor::new(Vec::new());
        clip.write_wav_to(&mut cursor).unwrap();
        let back = Clip::from_wav_reader(std::io::Cursor::new(cursor.into_inner()), "x").unwrap();
        assert_eq!(back.samples(), clip.samples());
        assert_eq!((back.channels(), back.frame_rate()), (5, 96000));
    }

    /// Runs `test` (this test binary's test of that name) in a child
    /// process whose files may not grow past `bytes` (RLIMIT_FSIZE), as on
    /// a disk that is full, with `AMIO_FULL_DISK_CHILD` set; returns whether
    /// it passed.
    fn run_with_a_full_disk(test: &str, bytes: u64, dir: &Path) -> bool {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args(["--exact", test, "--nocapture"])
            .env("AMIO_FULL_DISK_CHILD", dir);
        // SAFETY: between fork and exec the closure only calls signal(2)
        // and setrlimit(2), which are async-signal-safe, on the child's own
        // process; it touches no memory the parent's threads use.
        unsafe {
            child.pre_exec(move || {
                // Past the limit, write(2) fails with EFBIG instead of the
                // process being killed by SIGXFSZ.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        child.status().unwrap().success()
    }

    #[test]
    fn a_full_disk_leaves_the_old_file_and_nothing_behind() {
        let test = "clip::tests::a_full_disk_leaves_the_old_file_and_nothing_behind";
        if let Some(dir) = std::env::var_os("AMIO_FULL_DISK_CHILD") {
            // The child: 1 MB of samples cannot be written.
            let target = Path::new(&dir).join("take.wav");
            // Noise, so that FLAC cannot squeeze it under the limit either.
            let noise = (0..256 * 1024u64)
                .map(|i| (i.wrapping_mul(2_654_435_761) % 65_536) as f32 / 65_536.0 - 0.5)
                .collect();
            let clip = Clip::from_interleaved(48_000, 2, noise).unwrap();
            let err = clip.write_wav(&target).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with(&format!("writing {}: File too large", target.display())),
                "{err}"
            );
            let err = clip
                .write_file(Path::new(&dir).join("take.flac"))
                .unwrap_err();
            assert!(err.to_string().contains("File too large"), "{err}");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("take.wav");
        std::fs::write(&target, b"the old take").unwrap();
        assert!(run_with_a_full_disk(test, 64 * 1024, dir.path()));
        assert_eq!(std::fs::read(&target).unwrap(), b"the old take");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["take.wav"]);
    }

    #[test]
    fn wav_unsupported_format_is_named() {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 8000,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let mut bytes = wav_bytes(spec, |w| w.write_sample(0.5f32).unwrap());
        // Patch bits-per-sample (offset 34 in the canonical header) to 64.
        bytes[34] = 64;
        let err = Clip::from_wav_reader(std::io::Cursor::new(bytes), "odd.wav").unwrap_err();
        assert!(err.to_string().starts_with("odd.wav"), "{err}");
    }

    #[test]
    fn resample_keeps_length_and_pitch() {
        // A 1 kHz sine at 44.1 kHz resampled to 48 kHz stays a 1 kHz sine.
        let n = 44100;
        let sine: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 44100.0).sin() as f32 * 0.5)
            .collect();
        let clip = Clip::from_interleaved(44100, 1, sine).unwrap();
        let out = clip.resample(48000).unwrap();
        assert_eq!(out.frame_rate(), 48000);
        assert_eq!(out.frames(), 48000);
        // Away from the edges, compare with the ideal sine at 48 kHz.
        let worst = (2000..46000)
            .map(|i| {
                let ideal = (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48000.0).sin() * 0.5;
                (out.samples()[i] as f64 - ideal).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst < 1e-3, "worst deviation {worst}");
        assert!(Clip::ptr_eq(&clip.resample(44100).unwrap(), &clip));
    }
}
