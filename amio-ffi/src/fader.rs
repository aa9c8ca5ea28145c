//! The fader and decibel conversions in C.

use amio_core::{Fader, PanLaw};

use crate::status::{amio_status, check_out, guard, write_out, Failure};

/// The original AMIO's pan law: left = v·(1 − pan), right = v·(1 + pan).
pub const AMIO_PAN_LINEAR: u32 = 0;
/// Equal power: left = v·√2·sin((1 − pan)·π/4), right = v·√2·sin((1 +
/// pan)·π/4); centre gives v to both sides, as the linear law does.
pub const AMIO_PAN_EQUAL_POWER: u32 = 1;

/// The amplitude factor of `db` decibels (`-INFINITY` gives 0). Any thread.
#[no_mangle]
pub extern "C" fn amio_db_to_amplitude(db: f64) -> f64 {
    amio_core::db_to_amplitude(db)
}

/// The decibels of the amplitude factor `amplitude` (0 gives `-INFINITY`,
/// never NaN). Any thread.
#[no_mangle]
pub extern "C" fn amio_amplitude_to_db(amplitude: f64) -> f64 {
    amio_core::amplitude_to_db(amplitude)
}

/// Turns a fader at `volume_db` and `pan` (-1 left .. 1 right) into the
/// gains of a stereo entry, `gains_out[0]` left and `gains_out[1]` right,
/// with `law` (`AMIO_PAN_*`). A pan outside -1..1 is
/// `AMIO_ERROR_INVALID_ARGUMENT`, never clamped. Any thread.
///
/// # Safety
/// `gains_out` must point to 2 writable floats.
#[no_mangle]
pub unsafe extern "C" fn amio_fader_gains(
    volume_db: f64,
    pan: f64,
    law: u32,
    gains_out: *mut f32,
) -> amio_status {
    guard("amio_fader_gains", || {
        check_out(gains_out, "gains_out")?;
        let law = match law {
            AMIO_PAN_LINEAR => PanLaw::Linear,
            AMIO_PAN_EQUAL_POWER => PanLaw::EqualPower,
            other => {
                return Err(Failure::invalid(format!(
                    "law is {other}, not AMIO_PAN_LINEAR (0) or AMIO_PAN_EQUAL_POWER (1)"
                )))
            }
        };
        let [left, right] = Fader::new(volume_db, pan, law)?.gains();
        // SAFETY: checked non-NULL; two floats per this function's contract.
        unsafe {
            write_out(gains_out, "gains_out", left)?;
            write_out(gains_out.add(1), "gains_out", right)
        }
    })
}
