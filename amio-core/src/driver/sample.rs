//! Sample formats devices speak, and the one conversion rule between them
//! and the engine's `f32`.
//!
//! To an integer format of `b` bits: multiply by full scale `2^(b-1)`, round
//! to nearest with halves away from zero, clip to `[-2^(b-1), 2^(b-1) - 1]`
//! (NaN becomes 0). From one: divide by full scale, so `-2^(b-1)` is
//! exactly `-1.0`. 24-bit samples live in the low 24 bits of an `i32`
//! (ALSA's S24_LE). Every function here is real-time safe.

/// A sample format amio speaks with devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleFormat {
    /// 32-bit float.
    F32,
    /// 32-bit signed integer.
    S32,
    /// 24-bit signed integer in the low bits of a 32-bit container.
    S24,
    /// 16-bit signed integer.
    S16,
}

impl SampleFormat {
    /// In order of preference: the first a device offers is used.
    pub const PREFERENCE: [SampleFormat; 4] = [
        SampleFormat::F32,
        SampleFormat::S32,
        SampleFormat::S24,
        SampleFormat::S16,
    ];

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

    /// Full scale, `2^(bits-1)` (1 for float).
    pub fn full_scale(self) -> f64 {
        match self {
            SampleFormat::F32 => 1.0,
            SampleFormat::S32 => 2_147_483_648.0,
            SampleFormat::S24 => 8_388_608.0,
            SampleFormat::S16 => 32_768.0,
        }
    }

    /// An engine sample in this integer format (for `F32`: the value's
    /// bits as an integer are not meaningful; use the sample as is).
    pub fn quantise(self, x: f32) -> i32 {
        let s = self.full_scale();
        // `as` saturates and maps NaN to 0.
        (f64::from(x) * s).round().clamp(-s, s - 1.0) as i32
    }

    /// A sample of this integer format as an engine sample.
    pub fn to_f32(self, v: i32) -> f32 {
        let v = if self == SampleFormat::S24 {
            // Sign-extend the low 24 bits.
            (v << 8) >> 8
        } else {
            v
        };
        (f64::from(v) / self.full_scale()) as f32
    }
}

/// A device sample type, converted by this module's one rule.
pub trait DeviceSample: Copy + Send + 'static {
    /// The format it holds.
    const FORMAT: SampleFormat;
    /// Silence.
    const SILENCE: Self;
    /// An engine sample in this type.
    fn from_f32(x: f32) -> Self;
    /// This sample as an engine sample.
    fn to_f32(self) -> f32;
}

impl DeviceSample for f32 {
    const FORMAT: SampleFormat = SampleFormat::F32;
    const SILENCE: f32 = 0.0;
    fn from_f32(x: f32) -> f32 {
        x
    }
    fn to_f32(self) -> f32 {
        self
    }
}

impl DeviceSample for i16 {
    const FORMAT: SampleFormat = SampleFormat::S16;
    const SILENCE: i16 = 0;
    fn from_f32(x: f32) -> i16 {
        SampleFormat::S16.quantise(x) as i16
    }
    fn to_f32(self) -> f32 {
        f32::from(self) / 32_768.0
    }
}

impl DeviceSample for i32 {
    const FORMAT: SampleFormat = SampleFormat::S32;
    const SILENCE: i32 = 0;
    fn from_f32(x: f32) -> i32 {
        SampleFormat::S32.quantise(x)
    }
    fn to_f32(self) -> f32 {
        SampleFormat::S32.to_f32(self)
    }
}

/// Converts engine samples into device samples, `min(len)` of them.
pub fn from_f32<T: DeviceSample>(src: &[f32], dst: &mut [T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = T::from_f32(s);
    }
}

/// Converts device samples into engine samples, `min(len)` of them.
pub fn to_f32<T: DeviceSample>(src: &[T], dst: &mut [f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s.to_f32();
    }
}

/// Copies channel `channel` of interleaved `frames` (`channels` per frame)
/// out to `dst` (one sample per frame, `min` of the two lengths).
pub fn read_channel(interleaved: &[f32], channels: usize, channel: usize, dst: &mut [f32]) {
    if channel >= channels {
        return;
    }
    for (d, frame) in dst.iter_mut().zip(interleaved.chunks_exact(channels)) {
        *d = frame[channel];
    }
}

/// Writes `src` (one sample per frame) into channel `channel` of
/// interleaved frames (`channels` per frame).
pub fn write_channel(interleaved: &mut [f32], channels: usize, channel: usize, src: &[f32]) {
    if channel >= channels {
        return;
    }
    for (frame, &s) in interleaved.chunks_exact_mut(channels).zip(src) {
        frame[channel] = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_integer_format() {
        for format in [SampleFormat::S16, SampleFormat::S24, SampleFormat::S32] {
            let s = format.full_scale();
            assert_eq!(f64::from(format.quantise(1.0)), s - 1.0, "{format:?}");
            assert_eq!(f64::from(format.quantise(-1.0)), -s, "{format:?}");
            assert_eq!(format.quantise(f32::NAN), 0);
            assert_eq!(format.quantise(0.0), 0);
            assert_eq!(format.to_f32(format.quantise(-1.0)), -1.0);
            assert_eq!(format.to_f32(format.quantise(0.5)), 0.5);
        }
        // Halves round away from zero.
        assert_eq!(i16::from_f32(0.5 / 32768.0), 1);
        assert_eq!(i16::from_f32(-0.5 / 32768.0), -1);
        assert_eq!(i16::from_f32(1.5 / 32768.0), 2);
        // S24 is sign-extended from its low 24 bits.
        assert_eq!(SampleFormat::S24.to_f32(0x00FF_FFFF), -1.0 / 8_388_608.0);
        assert_eq!(i32::from_f32(2.0), i32::MAX);
        assert_eq!(SampleFormat::from_name("s24"), Some(SampleFormat::S24));
    }

    #[test]
    fn channels_in_and_out_of_frames() {
        let mut frames = [0.0f32; 6];
        write_channel(&mut frames, 3, 1, &[1.0, 2.0]);
        assert_eq!(frames, [0.0, 1.0, 0.0, 0.0, 2.0, 0.0]);
        let mut out = [0.0f32; 2];
        read_channel(&frames, 3, 1, &mut out);
        assert_eq!(out, [1.0, 2.0]);
        let mut device = [0i16; 2];
        from_f32(&out, &mut device);
        assert_eq!(device, [32767, 32767]);
    }
}
