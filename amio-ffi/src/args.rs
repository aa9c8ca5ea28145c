//! Reading C arguments: slices and strings, checked.

use std::ffi::{c_char, CStr};
use std::path::PathBuf;

use crate::status::Failure;

/// Whether a C buffer of `len` items at `ptr` can be a slice: NULL only
/// when empty, and no larger than memory.
fn check_buffer<T>(is_null: bool, len: usize, name: &str) -> Result<(), Failure> {
    if len > 0 && is_null {
        return Err(Failure::null(name));
    }
    if len
        .checked_mul(std::mem::size_of::<T>())
        .is_none_or(|b| b > isize::MAX as usize)
    {
        return Err(Failure::invalid(format!(
            "{name}: {len} items is more than memory holds"
        )));
    }
    Ok(())
}

/// A C buffer of `len` items; NULL is allowed only when `len` is 0.
///
/// # Safety
/// When non-NULL, `ptr` must point to `len` readable items that outlive the
/// returned slice.
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    check_buffer::<T>(ptr.is_null(), len, name)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-NULL, length checked, validity per the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A writable C buffer of `len` items; NULL is allowed only when `len` is 0.
///
/// # Safety
/// As [`slice`], for writes.
pub(crate) unsafe fn slice_mut<'a, T>(
    ptr: *mut T,
    len: usize,
    name: &str,
) -> Result<&'a mut [T], Failure> {
    check_buffer::<T>(ptr.is_null(), len, name)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: as in `slice`.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// A NUL-terminated UTF-8 string.
///
/// # Safety
/// When non-NULL, `ptr` must point to a NUL-terminated string.
pub(crate) unsafe fn text(ptr: *const c_char, name: &str) -> Result<String, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map(str::to_owned)
        .map_err(|_| Failure::invalid(format!("{name} is not UTF-8")))
}

/// An optional NUL-terminated UTF-8 string (NULL: none).
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn optional_text(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<String>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: per the caller's contract.
        unsafe { text(ptr, name) }.map(Some)
    }
}

/// A NUL-terminated path (any bytes).
///
/// # Safety
/// As [`text`].
pub(crate) unsafe fn path(ptr: *const c_char, name: &str) -> Result<PathBuf, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// Copies `s` into a fixed C buffer, cut at a character boundary,
/// NUL-terminated.
pub(crate) fn fill<const N: usize>(out: &mut [c_char; N], s: &str) {
    let mut n = s.len().min(N - 1);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    for (o, b) in out.iter_mut().zip(&s.as_bytes()[..n]) {
        *o = *b as c_char;
    }
    out[n] = 0;
}
