//! The device side of sample formats: amio's [`SampleFormat`] as ALSA's
//! [`Format`], and a period buffer in the device's format.
//!
//! The conversion itself is amio-core's one rule
//! ([`amio_core::driver::sample`]): to an integer format, multiply by full
//! scale, round halves away from zero, clip; from one, divide by full
//! scale. This module only holds the samples and moves them.

use alsa::pcm::Format;
use amio_core::driver::sample;
use amio_core::driver::SampleFormat;

/// ALSA's name for a sample format (little-endian; s24 in the low 24 bits
/// of 32, S24_LE).
pub(crate) fn alsa_format(format: SampleFormat) -> Format {
    match format {
        SampleFormat::F32 => Format::FloatLE,
        SampleFormat::S32 => Format::S32LE,
        SampleFormat::S24 => Format::S24LE,
        SampleFormat::S16 => Format::S16LE,
    }
}

/// A device-side buffer of one period, in the device's format, interleaved
/// with `channels` samples per frame.
pub(crate) struct DeviceBuffer {
    channels: usize,
    samples: Samples,
}

/// The samples of a [`DeviceBuffer`], by container type.
enum Samples {
    F32(Vec<f32>),
    /// S32, or S24 in the low 24 bits.
    I32(Vec<i32>, SampleFormat),
    I16(Vec<i16>),
}

impl DeviceBuffer {
    /// Room for `frames` frames of `channels` samples of `format`. Control
    /// thread (allocates).
    pub(crate) fn new(format: SampleFormat, channels: usize, frames: usize) -> DeviceBuffer {
        let n = frames * channels;
        let samples = match format {
            SampleFormat::F32 => Samples::F32(vec![0.0; n]),
            SampleFormat::S32 | SampleFormat::S24 => Samples::I32(vec![0; n], format),
            SampleFormat::S16 => Samples::I16(vec![0; n]),
        };
        DeviceBuffer { channels, samples }
    }

    /// Converts interleaved engine samples into the buffer from frame
    /// `offset` on (as many as fit). Real-time safe.
    pub(crate) fn write(&mut self, offset: usize, src: &[f32]) {
        let at = offset * self.channels;
        match &mut self.samples {
            Samples::F32(d) => sample::from_f32(src, d.get_mut(at..).unwrap_or_default()),
            Samples::I16(d) => sample::from_f32(src, d.get_mut(at..).unwrap_or_default()),
            Samples::I32(d, format) => {
                for (o, &x) in d.get_mut(at..).unwrap_or_default().iter_mut().zip(src) {
                    *o = format.quantise(x);
                }
            }
        }
    }

    /// Converts the buffer's samples from frame `offset` on into
    /// interleaved engine samples (as many as `dst` holds and the buffer
    /// has). Real-time safe.
    pub(crate) fn read(&self, offset: usize, dst: &mut [f32]) {
        let at = offset * self.channels;
        match &self.samples {
            Samples::F32(d) => sample::to_f32(d.get(at..).unwrap_or_default(), dst),
            Samples::I16(d) => sample::to_f32(d.get(at..).unwrap_or_default(), dst),
            Samples::I32(d, format) => {
                for (o, &v) in dst.iter_mut().zip(d.get(at..).unwrap_or_default()) {
                    *o = format.to_f32(v);
                }
            }
        }
    }

    /// Fills the first `frames` frames with silence. Real-time safe.
    pub(crate) fn silence(&mut self, frames: usize) {
        let n = frames * self.channels;
        match &mut self.samples {
            Samples::F32(d) => d.iter_mut().take(n).for_each(|s| *s = 0.0),
            Samples::I32(d, _) => d.iter_mut().take(n).for_each(|s| *s = 0),
            Samples::I16(d) => d.iter_mut().take(n).for_each(|s| *s = 0),
        }
    }

    /// Reads (capture) or writes (playback) frames `done..frames` of the
    /// buffer from or to `pcm`; returns the frames moved. Real-time safe.
    ///
    /// # Safety
    /// `pcm`'s sample format must be the buffer's (set at open), and no
    /// other IO object may exist for `pcm` during the call.
    pub(crate) unsafe fn transfer(
        &mut self,
        pcm: &alsa::pcm::PCM,
        dir: alsa::Direction,
        done: usize,
        frames: usize,
    ) -> alsa::Result<usize> {
        use alsa::Direction::{Capture, Playback};
        let (a, b) = (done * self.channels, frames * self.channels);
        // SAFETY: per the contract above: the container type is the PCM's
        // format, and this is the only IO object.
        unsafe {
            match (&mut self.samples, dir) {
                (Samples::F32(v), Playback) => pcm.io_unchecked::<f32>().writei(&v[a..b]),
                (Samples::F32(v), Capture) => pcm.io_unchecked::<f32>().readi(&mut v[a..b]),
                (Samples::I32(v, _), Playback) => pcm.io_unchecked::<i32>().writei(&v[a..b]),
                (Samples::I32(v, _), Capture) => pcm.io_unchecked::<i32>().readi(&mut v[a..b]),
                (Samples::I16(v), Playback) => pcm.io_unchecked::<i16>().writei(&v[a..b]),
                (Samples::I16(v), Capture) => pcm.io_unchecked::<i16>().readi(&mut v[a..b]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip_at_full_scale() {
        let samples = [0.0f32, 0.5, -0.5, 1.0, -1.0, 0.25, 1.5, -1.5];
        for format in SampleFormat::PREFERENCE {
            let mut buf = DeviceBuffer::new(format, 2, 4);
            buf.write(0, &samples);
            let mut back = [0.0f32; 8];
            buf.read(0, &mut back);
            let step = if format == SampleFormat::F32 {
                0.0
            } else {
                1.0 / format.full_scale() as f32
            };
            for (i, (&a, &b)) in samples.iter().zip(&back).enumerate() {
                let want = if format == SampleFormat::F32 {
                    a
                } else {
                    a.clamp(-1.0, 1.0 - step)
                };
                assert!(
                    (want - b).abs() <= step,
                    "{format:?} sample {i}: {a} -> {b}"
                );
            }
            // Full-scale negative is exact in every integer format.
            assert_eq!(back[4], -1.0, "{format:?}");
        }
        let mut s16 = DeviceBuffer::new(SampleFormat::S16, 1, 3);
        s16.write(0, &[0.5, 1.0, -1.0]);
        assert!(matches!(&s16.samples, Samples::I16(v) if v == &vec![16384, 32767, -32768]));
        let mut s24 = DeviceBuffer::new(SampleFormat::S24, 1, 2);
        s24.write(0, &[-1.0, 0.5]);
        assert!(matches!(&s24.samples, Samples::I32(v, _) if v == &vec![-8_388_608, 4_194_304]));
    }

    #[test]
    fn the_one_rule_of_amio_core() {
        // Halves away from zero, as amio_core::driver::sample rounds for
        // every driver.
        let mut s16 = DeviceBuffer::new(SampleFormat::S16, 1, 2);
        s16.write(0, &[0.5 / 32_768.0, -1.5 / 32_768.0]);
        assert!(matches!(&s16.samples, Samples::I16(v) if v == &vec![1, -2]));
    }

    #[test]
    fn offsets_are_frames() {
        let mut buf = DeviceBuffer::new(SampleFormat::S16, 2, 4);
        buf.write(2, &[0.5, -0.5, 0.25, -0.25]);
        assert!(
            matches!(&buf.samples, Samples::I16(v) if v == &vec![0, 0, 0, 0, 16384, -16384, 8192, -8192])
        );
        let mut out = [9.0f32; 2];
        buf.read(3, &mut out);
        assert_eq!(out, [0.25, -0.25]);
        buf.silence(4);
        buf.read(2, &mut out);
        assert_eq!(out, [0.0, 0.0]);
        // Past the end: nothing moves, nothing panics.
        buf.write(9, &[1.0]);
        buf.read(9, &mut out);
    }
}
