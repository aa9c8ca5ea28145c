//! The fader: a volume in dB and a pan position turned into the two gains
//! of a stereo playspec entry, and the conversions between decibels and
//! amplitude factors that meters use too.

use crate::error::{Error, Result};

/// The amplitude factor of `db` decibels: `10^(db / 20)`. `-inf` dB is 0.
pub fn db_to_amplitude(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// The decibels of the amplitude factor `amplitude`: `20 · log10(|a|)`.
/// 0 is `-inf` dB (never NaN).
pub fn amplitude_to_db(amplitude: f64) -> f64 {
    20.0 * amplitude.abs().log10()
}

/// How the pan position splits the volume between left and right.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PanLaw {
    /// The original AMIO's law: left = v·(1 − pan), right = v·(1 + pan).
    /// Centre gives v to both sides; a hard pan gives 2v (+6 dB) to one.
    #[default]
    Linear,
    /// Equal power: left = v·√2·sin((1 − pan)·π/4), right =
    /// v·√2·sin((1 + pan)·π/4). Centre gives v to both sides, as the linear
    /// law does; left² + right² = 2v² everywhere, so a hard pan gives
    /// √2·v (+3 dB) to one side.
    EqualPower,
}

/// A stereo fader: a volume in dB and a pan position in -1 (left) ..
/// 1 (right), with its pan law. Built only through [`Fader::new`], so its
/// values are always valid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fader {
    volume_db: f64,
    pan: f64,
    law: PanLaw,
}

impl Fader {
    /// A fader at `volume_db` decibels (`-inf` is silence) and `pan`.
    ///
    /// A pan outside -1..1 or NaN is an error, never clamped; so is a NaN
    /// or `+inf` volume, or one too loud for a finite f32 gain.
    pub fn new(volume_db: f64, pan: f64, law: PanLaw) -> Result<Fader> {
        if !(-1.0..=1.0).contains(&pan) {
            return Err(Error::Argument {
                argument: "pan",
                rule: format!("{pan} is outside -1..1 (the rule is -1 <= pan <= 1)"),
            });
        }
        // Two sides at most 2v: 2v must be a finite f32.
        if volume_db.is_nan() || !((2.0 * db_to_amplitude(volume_db)) as f32).is_finite() {
            return Err(Error::Argument {
                argument: "volume_db",
                rule: format!(
                    "{volume_db} dB gives no finite gain (the rule is: -inf <= volume_db, gains finite)"
                ),
            });
        }
        Ok(Fader {
            volume_db,
            pan,
            law,
        })
    }

    /// The volume in dB.
    pub fn volume_db(&self) -> f64 {
        self.volume_db
    }

    /// The pan position, -1..1.
    pub fn pan(&self) -> f64 {
        self.pan
    }

    /// The pan law.
    pub fn law(&self) -> PanLaw {
        self.law
    }

    /// The gains `[left, right]` for a stereo entry's output channels.
    pub fn gains(&self) -> [f32; 2] {
        let v = db_to_amplitude(self.volume_db);
        let (left, right) = match self.law {
            PanLaw::Linear => (v * (1.0 - self.pan), v * (1.0 + self.pan)),
            PanLaw::EqualPower => {
                let quarter = std::f64::consts::FRAC_PI_4;
                let k = v * std::f64::consts::SQRT_2;
                (
                    k * ((1.0 - self.pan) * quarter).sin(),
                    k * ((1.0 + self.pan) * quarter).sin(),
                )
            }
        };
        [left as f32, right as f32]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decibels_and_amplitudes() {
        assert_eq!(db_to_amplitude(0.0), 1.0);
        assert_eq!(db_to_amplitude(-20.0), 0.1);
        assert_eq!(db_to_amplitude(f64::NEG_INFINITY), 0.0);
        assert_eq!(amplitude_to_db(1.0), 0.0);
        assert_eq!(amplitude_to_db(0.1), -20.0);
        assert_eq!(amplitude_to_db(-0.01), -40.0);
        assert_eq!(amplitude_to_db(0.0), f64::NEG_INFINITY);
        assert!((amplitude_to_db(0.5) - -6.020_599_913_279_624).abs() < 1e-12);
        for db in [-96.0, -12.5, -3.0, 0.0, 6.0] {
            assert!((amplitude_to_db(db_to_amplitude(db)) - db).abs() < 1e-12);
        }
    }

    #[test]
    fn the_original_law() {
        let g = |db, pan| Fader::new(db, pan, PanLaw::Linear).unwrap().gains();
        assert_eq!(g(0.0, 0.0), [1.0, 1.0]);
        assert_eq!(g(0.0, -1.0), [2.0, 0.0]);
        assert_eq!(g(0.0, 1.0), [0.0, 2.0]);
        assert_eq!(g(0.0, 0.5), [0.5, 1.5]);
        assert_eq!(g(-20.0, -0.5), [0.15, 0.05]);
        assert_eq!(g(f64::NEG_INFINITY, 0.3), [0.0, 0.0]);
    }

    #[test]
    fn equal_power() {
        let g = |pan| {
            Fader::new(0.0, pan, PanLaw::EqualPower)
                .unwrap()
                .gains()
                .map(f64::from)
        };
        assert_eq!(g(0.0), [1.0, 1.0]);
        assert_eq!(g(-1.0), [std::f32::consts::SQRT_2 as f64, 0.0]);
        assert_eq!(g(1.0), [0.0, std::f32::consts::SQRT_2 as f64]);
        for pan in [-0.9, -0.3, 0.2, 0.75] {
            let [l, r] = g(pan);
            assert!((l * l + r * r - 2.0).abs() < 1e-6, "pan {pan}");
        }
    }

    #[test]
    fn out_of_range_is_an_error() {
        for pan in [1.0001, -1.5, f64::NAN, f64::INFINITY] {
            let err = Fader::new(0.0, pan, PanLaw::Linear).unwrap_err();
            assert!(err.to_string().starts_with("pan: "), "{err}");
        }
        for db in [f64::NAN, f64::INFINITY, 800.0] {
            let err = Fader::new(db, 0.0, PanLaw::Linear).unwrap_err();
            assert!(err.to_string().starts_with("volume_db: "), "{err}");
        }
        assert_eq!(
            Fader::new(0.0, 2.0, PanLaw::EqualPower)
                .unwrap_err()
                .to_string(),
            "pan: 2 is outside -1..1 (the rule is -1 <= pan <= 1)"
        );
    }
}
