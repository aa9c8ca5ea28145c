//! Clips in C.

use std::ffi::c_char;

use amio_core::Clip;

use crate::args::{path as c_path, slice, slice_mut};
use crate::registry::{self, Object};
use crate::status::{amio_status, check_out, guard, write_out, Failure};

/// A clip: immutable audio. Opaque; free with [`amio_clip_free`].
pub struct amio_clip {
    _opaque: [u8; 0],
}

/// What a clip holds.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct amio_clip_info {
    /// Frames per second.
    pub frame_rate: u32,
    /// Channels per frame.
    pub channels: u32,
    /// Frames.
    pub frames: u64,
}

fn check_rate_channels(frame_rate: u32, channels: u32) -> Result<(), Failure> {
    if frame_rate == 0 {
        return Err(Failure::invalid("frame_rate is 0"));
    }
    if channels == 0 {
        return Err(Failure::invalid("channels is 0"));
    }
    Ok(())
}

/// Makes a clip from `sample_count` interleaved f32 samples (`channels`
/// per frame; `sample_count` a multiple of `channels`; finite). The samples
/// are copied. Any thread.
///
/// # Safety
/// `samples` must point to `sample_count` floats (or be NULL with 0);
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_new_f32(
    frame_rate: u32,
    channels: u32,
    samples: *const f32,
    sample_count: usize,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_new_f32", || {
        check_out(clip_out, "clip_out")?;
        check_rate_channels(frame_rate, channels)?;
        // SAFETY: per this function's contract.
        let data = unsafe { slice(samples, sample_count, "samples") }?;
        let mut copy = Vec::new();
        copy.try_reserve_exact(data.len()).map_err(|_| {
            Failure::invalid(format!(
                "samples: {} samples would not fit in memory",
                data.len()
            ))
        })?;
        copy.extend_from_slice(data);
        let clip = Clip::from_interleaved(frame_rate, channels as usize, copy)?;
        // SAFETY: checked writable above.
        unsafe { write_out(clip_out, "clip_out", registry::insert(Object::Clip(clip))) }
    })
}

/// Makes a clip from interleaved 16-bit samples, each divided by 32768.
/// Any thread.
///
/// # Safety
/// As [`amio_clip_new_f32`], with `int16_t` samples.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_new_i16(
    frame_rate: u32,
    channels: u32,
    samples: *const i16,
    sample_count: usize,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_new_i16", || {
        check_out(clip_out, "clip_out")?;
        check_rate_channels(frame_rate, channels)?;
        // SAFETY: per this function's contract.
        let data = unsafe { slice(samples, sample_count, "samples") }?;
        let clip = Clip::from_i16(frame_rate, channels as usize, data)?;
        // SAFETY: checked writable above.
        unsafe { write_out(clip_out, "clip_out", registry::insert(Object::Clip(clip))) }
    })
}

/// Reads a WAV file (8/16/24/32-bit integer or 32-bit float, any channel
/// count) into a clip. Any thread.
///
/// # Safety
/// `path` must be NUL-terminated; `clip_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_new_wav(
    path: *const c_char,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_new_wav", || {
        check_out(clip_out, "clip_out")?;
        // SAFETY: per this function's contract.
        let p = unsafe { c_path(path, "path") }?;
        let clip = Clip::from_wav(&p)?;
        // SAFETY: checked writable above.
        unsafe { write_out(clip_out, "clip_out", registry::insert(Object::Clip(clip))) }
    })
}

/// Opens a WAV file (8/16/24/32-bit integer or 32-bit float) as a
/// *streamed* clip: its samples stay on disk and a stream that plays it
/// reads ahead what will sound (`amio_stream_config`'s
/// `stream_read_ahead_ms` and `stream_cache_bytes`). It is usable wherever
/// a clip is and plays bit for bit as the file loaded by
/// [`amio_clip_new_wav`]; frames whose data is not ready in time play as
/// silence and are reported (`AMIO_EVENT_DATA_MISSING`). The null backend
/// offline or stepped waits for the data, so its renders are complete.
/// [`amio_clip_read`] of a streamed clip reads the whole file. Any thread.
///
/// # Safety
/// `path` must be NUL-terminated; `clip_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_open_streamed(
    path: *const c_char,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_open_streamed", || {
        check_out(clip_out, "clip_out")?;
        // SAFETY: per this function's contract.
        let p = unsafe { c_path(path, "path") }?;
        let clip = Clip::open_streamed(&p)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, clip) }
    })
}

/// Writes the id of a streamed clip's file, as `AMIO_EVENT_DATA_MISSING`
/// events name it (`amio_event.id`), or 0 for a clip in memory. Any
/// thread.
///
/// # Safety
/// `id_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_stream_id(
    clip: *const amio_clip,
    id_out: *mut u64,
) -> amio_status {
    guard("amio_clip_stream_id", || {
        check_out(id_out, "id_out")?;
        let c = registry::clip(clip, "clip")?;
        let id = c.streamed_file().map_or(0, |f| f.id());
        // SAFETY: checked writable above.
        unsafe { write_out(id_out, "id_out", id) }
    })
}

/// Reads an audio file in any format amio reads into a clip: WAV (`.wav`,
/// `.wave`), FLAC (`.flac`, 4 to 32 bits) or AU/SND (`.au`, `.snd`), chosen
/// by the extension in any case, or by the first bytes when the extension
/// is another or missing. Integer samples are divided by 2^(bits-1). A file
/// in no format amio reads, or a corrupt or truncated one, is
/// `AMIO_ERROR_FORMAT`; one that cannot be opened or read,
/// `AMIO_ERROR_IO`. Any thread.
///
/// # Safety
/// `path` must be NUL-terminated; `clip_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_new_file(
    path: *const c_char,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_new_file", || {
        check_out(clip_out, "clip_out")?;
        // SAFETY: per this function's contract.
        let p = unsafe { c_path(path, "path") }?;
        let clip = Clip::from_file(&p)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, clip) }
    })
}

/// Makes a new clip: `clip` resampled to `frame_rate`. Any thread.
///
/// # Safety
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_resample(
    clip: *const amio_clip,
    frame_rate: u32,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_resample", || {
        check_out(clip_out, "clip_out")?;
        let c = registry::clip(clip, "clip")?;
        if frame_rate == 0 {
            return Err(Failure::invalid("frame_rate is 0"));
        }
        let out = c.resample(frame_rate)?;
        // SAFETY: checked writable above.
        unsafe { write_out(clip_out, "clip_out", registry::insert(Object::Clip(out))) }
    })
}

/// Writes a clip as a 32-bit float WAV file, beside `path` and renamed
/// into place when complete (a failure leaves an existing file untouched).
/// Any thread.
///
/// # Safety
/// `path` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_write_wav(
    clip: *const amio_clip,
    path: *const c_char,
) -> amio_status {
    guard("amio_clip_write_wav", || {
        let c = registry::clip(clip, "clip")?;
        // SAFETY: per this function's contract.
        let p = unsafe { c_path(path, "path") }?;
        Ok(c.write_wav(&p)?)
    })
}

/// Writes a clip as a FLAC file of `bits` bits per sample, 16 or 24 (else
/// `AMIO_ERROR_INVALID_ARGUMENT`): samples are scaled by 2^(bits-1),
/// rounded to nearest and clamped to the integer range, since FLAC cannot
/// hold values beyond full scale. More than 8 channels or a frame rate
/// above 655350 Hz is `AMIO_ERROR_FORMAT`. The file is written beside
/// `path` and renamed into place when complete: on any failure an existing
/// file is untouched and nothing is left behind. Any thread.
///
/// # Safety
/// `path` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_write_flac(
    clip: *const amio_clip,
    path: *const c_char,
    bits: u32,
) -> amio_status {
    guard("amio_clip_write_flac", || {
        let c = registry::clip(clip, "clip")?;
        // SAFETY: per this function's contract.
        let p = unsafe { c_path(path, "path") }?;
        Ok(c.write_flac(&p, bits)?)
    })
}

/// Writes a clip in the format its path's extension names, in any case:
/// `.wav` as 32-bit float WAV, `.flac` as 24-bit FLAC (as
/// [`amio_clip_write_flac`]). Any other extension, or none, is
/// `AMIO_ERROR_FORMAT` and nothing is written. Any thread.
///
/// # Safety
/// `path` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_write_file(
    clip: *const amio_clip,
    path: *const c_char,
) -> amio_status {
    guard("amio_clip_write_file", || {
        let c = registry::clip(clip, "clip")?;
        // SAFETY: per this function's contract.
        let p = unsafe { c_path(path, "path") }?;
        Ok(c.write_file(&p)?)
    })
}

/// Writes a clip's frame rate, channels and frames. Any thread.
///
/// # Safety
/// `info_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_get_info(
    clip: *const amio_clip,
    info_out: *mut amio_clip_info,
) -> amio_status {
    guard("amio_clip_get_info", || {
        check_out(info_out, "info_out")?;
        let c = registry::clip(clip, "clip")?;
        let info = amio_clip_info {
            frame_rate: c.frame_rate(),
            channels: c.channels() as u32,
            frames: c.frames() as u64,
        };
        // SAFETY: checked writable above.
        unsafe { write_out(info_out, "info_out", info) }
    })
}

/// Copies interleaved samples from frame `first_frame` on into `buffer`
/// (`buffer_len` samples, whole frames), and the number of frames copied
/// into `frames_out`. Any thread.
///
/// # Safety
/// `buffer` must hold `buffer_len` floats; `frames_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_read(
    clip: *const amio_clip,
    first_frame: u64,
    buffer: *mut f32,
    buffer_len: usize,
    frames_out: *mut u64,
) -> amio_status {
    guard("amio_clip_read", || {
        check_out(frames_out, "frames_out")?;
        let c = registry::clip(clip, "clip")?;
        // SAFETY: per this function's contract.
        let buf = unsafe { slice_mut(buffer, buffer_len, "buffer") }?;
        let ch = c.channels();
        let first = usize::try_from(first_frame)
            .unwrap_or(usize::MAX)
            .min(c.frames());
        let frames = (buf.len() / ch).min(c.frames() - first);
        buf[..frames * ch].copy_from_slice(&c.samples()[first * ch..(first + frames) * ch]);
        // SAFETY: checked writable above.
        unsafe { write_out(frames_out, "frames_out", frames as u64) }
    })
}

/// Hands a new clip out through `clip_out`.
///
/// # Safety
/// `clip_out` must be writable (checked non-NULL by the caller first).
unsafe fn put(clip_out: *mut *mut amio_clip, clip: Clip) -> Result<(), Failure> {
    // SAFETY: per this function's contract.
    unsafe { write_out(clip_out, "clip_out", registry::insert(Object::Clip(clip))) }
}

/// Reads an AU/SND file of 32-bit float samples, big- or little-endian (as
/// Sun and Audacity's block files have them) into a clip; another encoding
/// is `AMIO_ERROR_FORMAT`. Any thread.
///
/// # Safety
/// `path` must be NUL-terminated; `clip_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_new_au(
    path: *const c_char,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_new_au", || {
        check_out(clip_out, "clip_out")?;
        // SAFETY: per this function's contract.
        let p = unsafe { c_path(path, "path") }?;
        let clip = Clip::from_au(&p)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, clip) }
    })
}

/// Makes `frames` frames of silence in `channels` channels. Any thread.
///
/// # Safety
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_new_silence(
    frame_rate: u32,
    channels: u32,
    frames: u64,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_new_silence", || {
        check_out(clip_out, "clip_out")?;
        check_rate_channels(frame_rate, channels)?;
        let frames = usize::try_from(frames).unwrap_or(usize::MAX);
        let clip = Clip::silence(frame_rate, channels as usize, frames)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, clip) }
    })
}

/// Makes a sine of `frequency` Hz and peak `amplitude`, from phase 0, the
/// same in each of `channels` channels. Any thread.
///
/// # Safety
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_new_sine(
    frame_rate: u32,
    channels: u32,
    frames: u64,
    frequency: f64,
    amplitude: f32,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_new_sine", || {
        check_out(clip_out, "clip_out")?;
        check_rate_channels(frame_rate, channels)?;
        let frames = usize::try_from(frames).unwrap_or(usize::MAX);
        let clip = Clip::sine(frame_rate, channels as usize, frames, frequency, amplitude)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, clip) }
    })
}

/// Makes the `count` clips one after another; they must share frame rate
/// and channels (else `AMIO_ERROR_INVALID_CLIP`, the message naming the
/// clip and what differs). Any thread.
///
/// # Safety
/// `clips` must point to `count` handles; `clip_out` writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_concat(
    clips: *const *const amio_clip,
    count: usize,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_concat", || {
        check_out(clip_out, "clip_out")?;
        // SAFETY: per this function's contract.
        let handles = unsafe { slice(clips, count, "clips") }?;
        let clips = handles
            .iter()
            .map(|&h| registry::clip(h, "clips[i]"))
            .collect::<Result<Vec<_>, _>>()?;
        let clip = Clip::concat(&clips)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, clip) }
    })
}

/// Makes a copy of `clip` with the frames from `at` on replaced by
/// `other`'s. Frames of `other` before frame 0 are left out; frames past
/// the end too, unless `extend` (then the clip grows, silence filling any
/// gap). Any thread.
///
/// # Safety
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_overwrite(
    clip: *const amio_clip,
    other: *const amio_clip,
    at: i64,
    extend: bool,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_overwrite", || {
        check_out(clip_out, "clip_out")?;
        let c = registry::clip(clip, "clip")?;
        let o = registry::clip(other, "other")?;
        let out = c.overwrite(&o, at, extend)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, out) }
    })
}

/// Makes a copy of `clip` cut to `frames` frames or padded with silence to
/// them. Any thread.
///
/// # Safety
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_resize(
    clip: *const amio_clip,
    frames: u64,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_resize", || {
        check_out(clip_out, "clip_out")?;
        let c = registry::clip(clip, "clip")?;
        let out = c.resize(usize::try_from(frames).unwrap_or(usize::MAX))?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, out) }
    })
}

/// Makes a mono clip of channel `channel` (from 0) of `clip`. Any thread.
///
/// # Safety
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_channel(
    clip: *const amio_clip,
    channel: u32,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_channel", || {
        check_out(clip_out, "clip_out")?;
        let c = registry::clip(clip, "clip")?;
        let out = c.channel(channel as usize)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, out) }
    })
}

/// Makes a stereo clip from two mono clips of the same frame rate and
/// length. Any thread.
///
/// # Safety
/// `clip_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn amio_clip_stereo(
    left: *const amio_clip,
    right: *const amio_clip,
    clip_out: *mut *mut amio_clip,
) -> amio_status {
    guard("amio_clip_stereo", || {
        check_out(clip_out, "clip_out")?;
        let l = registry::clip(left, "left")?;
        let r = registry::clip(right, "right")?;
        let out = Clip::stereo(&l, &r)?;
        // SAFETY: checked writable above.
        unsafe { put(clip_out, out) }
    })
}

/// Frees a clip handle. The samples live on while a playspec uses them.
/// NULL does nothing; a handle already freed is `AMIO_ERROR_INVALID_HANDLE`.
/// Any thread.
#[no_mangle]
pub extern "C" fn amio_clip_free(clip: *mut amio_clip) -> amio_status {
    guard("amio_clip_free", || {
        registry::remove(clip, "clip", "a clip", |o| matches!(o, Object::Clip(_)))?;
        Ok(())
    })
}
