//! Playspecs in C: a list of entries built up one at a time, validated as
//! each is added.

use amio_core::{Entry, Error, Playspec};

use crate::args::slice;
use crate::clip::amio_clip;
use crate::registry::{self, Object};
use crate::status::{amio_status, check_out, guard, write_out, Failure};

/// A playspec under construction. Opaque; free with
/// [`amio_playspec_free`].
pub struct amio_playspec {
    _opaque: [u8; 0],
}

/// `range_end` meaning "to the end of the clip".
pub const AMIO_WHOLE_CLIP: u64 = u64::MAX;

/// One playspec entry (SPEC.md, "Playspec entry").
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct amio_entry {
    /// The clip to play.
    pub clip: *const amio_clip,
    /// First clip frame played (`a`).
    pub range_start: u64,
    /// One past the last clip frame played (`b`), or `AMIO_WHOLE_CLIP`.
    pub range_end: u64,
    /// Playspec position at which frame `a` sounds.
    pub play_at: i64,
    /// 0: once; else also at `play_at + k * repeat` for every integer k.
    pub repeat: i64,
    /// One gain per output channel of the stream it will play on.
    pub gains: *const f32,
    /// Number of gains.
    pub gain_count: usize,
    /// Fade-in length in frames (0: none).
    pub fade_in: u64,
    /// Fade-out length in frames (0: none).
    pub fade_out: u64,
}

/// The entries added so far, and the playspec built from them.
#[derive(Default)]
pub(crate) struct PlayspecObject {
    entries: Vec<Entry>,
    built: Option<Playspec>,
}

impl PlayspecObject {
    /// The playspec (built once per change).
    pub(crate) fn playspec(&mut self) -> Result<Playspec, Failure> {
        if let Some(p) = &self.built {
            return Ok(p.clone());
        }
        let p = Playspec::new(self.entries.clone())?;
        self.built = Some(p.clone());
        Ok(p)
    }
}

/// Makes an empty playspec. Any thread.
///
/// # Safety
/// `playspec_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_playspec_new(playspec_out: *mut *mut amio_playspec) -> amio_status {
    guard("amio_playspec_new", || {
        check_out(playspec_out, "playspec_out")?;
        let handle = registry::insert(Object::Playspec(PlayspecObject::default()));
        // SAFETY: checked writable above.
        unsafe { write_out(playspec_out, "playspec_out", handle) }
    })
}

/// Adds an entry. It is checked against every rule that does not depend on
/// the stream (range, repeat, finite gains, fades); a broken rule is
/// `AMIO_ERROR_INVALID_ENTRY`, the playspec is unchanged, and
/// [`crate::status::amio_last_error_entry`] gives the entry's index and
/// the rule. Gain count and frame rate are checked when it is scheduled.
/// The entry's index goes to `index_out` (may be NULL). Any thread.
///
/// # Safety
/// `entry` must point to an `amio_entry` whose `gains` holds `gain_count`
/// floats.
#[no_mangle]
pub unsafe extern "C" fn amio_playspec_add(
    playspec: *mut amio_playspec,
    entry: *const amio_entry,
    index_out: *mut u64,
) -> amio_status {
    guard("amio_playspec_add", || {
        if entry.is_null() {
            return Err(Failure::null("entry"));
        }
        // SAFETY: non-NULL, valid per this function's contract.
        let e = unsafe { *entry };
        let clip = registry::clip(e.clip, "entry->clip")?;
        // SAFETY: per this function's contract.
        let gains = unsafe { slice(e.gains, e.gain_count, "entry->gains") }?.to_vec();
        let end = if e.range_end == AMIO_WHOLE_CLIP {
            clip.frames() as u64
        } else {
            e.range_end
        };
        let new = Entry::new(clip, gains)
            .range(e.range_start..end)
            .play_at(e.play_at)
            .repeat(e.repeat)
            .fades(e.fade_in, e.fade_out);
        registry::with_playspec(playspec, "playspec", |p| {
            let index = p.entries.len();
            // Check the entry alone, naming it by its index here.
            Playspec::new(vec![new.clone()]).map_err(|err| match err {
                Error::Entry { rule, .. } => Failure::from(Error::Entry { entry: index, rule }),
                other => Failure::from(other),
            })?;
            p.entries.push(new);
            p.built = None;
            if !index_out.is_null() {
                // SAFETY: non-NULL out-pointer from the caller.
                unsafe { *index_out = index as u64 };
            }
            Ok(())
        })
    })
}

/// Writes the number of entries. Any thread.
///
/// # Safety
/// `count_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_playspec_entry_count(
    playspec: *const amio_playspec,
    count_out: *mut u64,
) -> amio_status {
    guard("amio_playspec_entry_count", || {
        check_out(count_out, "count_out")?;
        let n = registry::with_playspec(playspec, "playspec", |p| Ok(p.entries.len() as u64))?;
        // SAFETY: checked writable above.
        unsafe { write_out(count_out, "count_out", n) }
    })
}

/// Removes every entry. Any thread.
#[no_mangle]
pub extern "C" fn amio_playspec_clear(playspec: *mut amio_playspec) -> amio_status {
    guard("amio_playspec_clear", || {
        registry::with_playspec(playspec, "playspec", |p| {
            *p = PlayspecObject::default();
            Ok(())
        })
    })
}

/// Frees a playspec handle (scheduled copies play on). NULL does nothing.
/// Any thread.
#[no_mangle]
pub extern "C" fn amio_playspec_free(playspec: *mut amio_playspec) -> amio_status {
    guard("amio_playspec_free", || {
        registry::remove(playspec, "playspec", "a playspec", |o| {
            matches!(o, Object::Playspec(_))
        })?;
        Ok(())
    })
}
