//! Sample formats devices offer, and conversion to and from the engine's
//! f32 into buffers allocated once.

use alsa::pcm::Format;

/// A sample format amio speaks with ALSA devices (little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFormat {
    /// 32-bit float.
    F32,
    /// 32-bit signed integer.
    S32,
    /// 24-bit signed integer in a 32-bit container (S24_LE).
    S24,
    /// 16-bit signed integer.
    S16,
}

impl SampleFormat {
    /// In order of preference: the first the device offers is used.
    pub const PREFERENCE: [SampleFormat; 4] = [
        SampleFormat::F32,
        SampleFormat::S32,
        SampleFormat::S24,
        SampleFormat::S16,
    ];

    pub(crate) fn alsa(self) -> Format {
        match self {
            SampleFormat::F32 => Format::FloatLE,
            SampleFormat::S32 => Format::S32LE,
            SampleFormat::S24 => Format::S24LE,
            SampleFormat::S16 => Format::S16LE,
        }
    }

    /// The name used in options: `f32`, `s32`, `s24`, `s16`.
    pub fn name(self) -> &'static str {
        match self {
            SampleFormat::F32 => "f32",
            SampleFormat::S32 => "s32",
            SampleFormat::S24 => "s24",
            SampleFormat::S16 => "s16",
        }
    }

    /// Parses a name as [`SampleFormat::name`] gives it.
    pub fn from_name(name: &str) -> Option<SampleFormat> {
        SampleFormat::PREFERENCE
            .into_iter()
            .find(|f| f.name() == name)
    }

    /// Full scale of the integer formats (2^(bits-1)).
    fn scale(self) -> f64 {
        match self {
            SampleFormat::F32 => 1.0,
            SampleFormat::S32 => 2_147_483_648.0,
            SampleFormat::S24 => 8_388_608.0,
            SampleFormat::S16 => 32_768.0,
        }
    }
}

/// A device-side buffer of one period, in the device's format.
pub(crate) enum DeviceBuffer {
    F32(Vec<f32>),
    I32(Vec<i32>, SampleFormat),
    I16(Vec<i16>),
}

impl DeviceBuffer {
    /// Room for `samples` samples of `format`.
    pub(crate) fn new(format: SampleFormat, samples: usize) -> DeviceBuffer {
        match format {
            SampleFormat::F32 => DeviceBuffer::F32(vec![0.0; samples]),
            SampleFormat::S32 | SampleFormat::S24 => DeviceBuffer::I32(vec![0; samples], format),
            SampleFormat::S16 => DeviceBuffer::I16(vec![0; samples]),
        }
    }

    /// Converts engine samples into the first `src.len()` device samples,
    /// rounding and clipping to the format's range. Real-time safe.
    pub(crate) fn fill_from(&mut self, src: &[f32]) {
        fn quantise(x: f32, format: SampleFormat) -> i64 {
            let s = format.scale();
            (f64::from(x) * s).round().clamp(-s, s - 1.0) as i64
        }
        match self {
            DeviceBuffer::F32(d) => d[..src.len()].copy_from_slice(src),
            DeviceBuffer::I32(d, format) => {
                for (o, &x) in d.iter_mut().zip(src) {
                    *o = quantise(x, *format) as i32;
                }
            }
            DeviceBuffer::I16(d) => {
                for (o, &x) in d.iter_mut().zip(src) {
                    *o = quantise(x, SampleFormat::S16) as i16;
                }
            }
        }
    }

    /// Converts the first `dst.len()` device samples into engine samples
    /// (integers divided by full scale). Real-time safe.
    pub(crate) fn copy_into(&self, dst: &mut [f32]) {
        match self {
            DeviceBuffer::F32(d) => dst.copy_from_slice(&d[..dst.len()]),
            DeviceBuffer::I32(d, format) => {
                let s = format.scale();
                for (o, &x) in dst.iter_mut().zip(d) {
                    // S24 lives in the low 24 bits; sign-extend it.
                    let v = if *format == SampleFormat::S24 {
                        (x << 8) >> 8
                    } else {
                        x
                    };
                    *o = (f64::from(v) / s) as f32;
                }
            }
            DeviceBuffer::I16(d) => {
                for (o, &x) in dst.iter_mut().zip(d) {
                    *o = f32::from(x) / 32_768.0;
                }
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
            let mut buf = DeviceBuffer::new(format, samples.len());
            buf.fill_from(&samples);
            let mut back = [0.0f32; 8];
            buf.copy_into(&mut back);
            let step = if format == SampleFormat::F32 {
                0.0
            } else {
                1.0 / format.scale() as f32
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
        let mut s16 = DeviceBuffer::new(SampleFormat::S16, 3);
        s16.fill_from(&[0.5, 1.0, -1.0]);
        assert!(matches!(&s16, DeviceBuffer::I16(v) if v == &vec![16384, 32767, -32768]));
        let mut s24 = DeviceBuffer::new(SampleFormat::S24, 2);
        s24.fill_from(&[-1.0, 0.5]);
        assert!(matches!(&s24, DeviceBuffer::I32(v, _) if v == &vec![-8_388_608, 4_194_304]));
    }
}
