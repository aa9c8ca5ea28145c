//! Audio files of any format amio knows: the format is chosen by the file's
//! extension, or, for reading a file whose extension amio does not know,
//! by its first bytes.
//!
//! | extension (any case) | first bytes | read as | written as |
//! | --- | --- | --- | --- |
//! | `.wav`, `.wave` | `RIFF`, then `WAVE` at byte 8 | [`Clip::from_wav`] | `.wav`: 32-bit float WAV ([`Clip::write_wav`]) |
//! | `.flac` | `fLaC` | [`Clip::from_flac`] | 24-bit FLAC ([`Clip::write_flac`]) |
//! | `.au`, `.snd` | `.snd` or `dns.` | [`Clip::from_au`] | not written |

use std::io::Read;
use std::path::Path;

use super::Clip;
use crate::error::{Error, Result};

/// The bit depth [`Clip::write_file`] gives FLAC files.
const FLAC_FILE_BITS: u32 = 24;

/// The formats amio reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Wav,
    Flac,
    Au,
}

/// The file's extension, if it has one that is text.
fn extension(path: &Path) -> Option<String> {
    path.extension().map(|e| e.to_string_lossy().into_owned())
}

/// The format the extension names, if it names one.
fn by_extension(extension: &str) -> Option<Format> {
    let is = |name: &str| extension.eq_ignore_ascii_case(name);
    if is("wav") || is("wave") {
        Some(Format::Wav)
    } else if is("flac") {
        Some(Format::Flac)
    } else if is("au") || is("snd") {
        Some(Format::Au)
    } else {
        None
    }
}

/// The format the file's first bytes show, if they show one.
fn by_content(start: &[u8]) -> Option<Format> {
    if start.len() >= 12 && &start[..4] == b"RIFF" && &start[8..12] == b"WAVE" {
        Some(Format::Wav)
    } else if start.starts_with(super::flac::MARKER) {
        Some(Format::Flac)
    } else if start.starts_with(b".snd") || start.starts_with(b"dns.") {
        Some(Format::Au)
    } else {
        None
    }
}

/// `O_NONBLOCK` where its value is the generic Linux one (checked against
/// libc's in the tests).
#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
))]
const O_NONBLOCK: Option<i32> = Some(0o4000);
/// Elsewhere unknown here: regular files are checked before opening.
#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "arm",
        target_arch = "aarch64",
        target_arch = "riscv64",
        target_arch = "powerpc64",
        target_arch = "s390x",
        target_arch = "loongarch64"
    )
)))]
const O_NONBLOCK: Option<i32> = None;

/// Opens a file for reading only if it is a regular file: a directory, a
/// named pipe, a device or a socket is refused ([`Error::NotAFile`]). The
/// file is opened without blocking (`O_NONBLOCK`, which regular files
/// ignore) and its type checked on the open descriptor, so a named pipe
/// put in its place after a check cannot make the open wait for a writer.
pub(crate) fn open_regular(path: &Path) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    match O_NONBLOCK {
        Some(flag) => {
            options.custom_flags(flag);
        }
        None => {
            // Without the flag, refuse what is not a regular file before
            // opening it (a pipe swapped in after this check could still
            // make the open wait).
            if let Ok(kind) = std::fs::metadata(path).map(|m| m.file_type()) {
                if let Some(kind) = crate::pending_file::not_a_file(kind) {
                    return Err(Error::NotAFile {
                        path: path.to_owned(),
                        kind,
                    });
                }
            }
        }
    }
    let file = options.open(path).map_err(|source| Error::Io {
        context: format!("opening {}", path.display()),
        source,
    })?;
    let kind = file
        .metadata()
        .map_err(|source| Error::Io {
            context: format!("reading {}", path.display()),
            source,
        })?
        .file_type();
    match crate::pending_file::not_a_file(kind) {
        None => Ok(file),
        Some(kind) => Err(Error::NotAFile {
            path: path.to_owned(),
            kind,
        }),
    }
}

/// Reads up to the first 12 bytes of the file.
fn first_bytes(path: &Path) -> Result<Vec<u8>> {
    let file = open_regular(path)?;
    let mut start = Vec::with_capacity(12);
    file.take(12)
        .read_to_end(&mut start)
        .map_err(|source| Error::Io {
            context: format!("reading {}", path.display()),
            source,
        })?;
    Ok(start)
}

impl Clip {
    /// Reads an audio file in any format amio reads: WAV (`.wav`,
    /// `.wave`), FLAC (`.flac`) or AU/SND (`.au`, `.snd`), chosen by the
    /// extension in any case. A file with another extension or none is
    /// read by what its first bytes show (`RIFF`…`WAVE`, `fLaC`, `.snd` or
    /// `dns.`); otherwise [`Error::UnknownFormat`] names the file and the
    /// formats amio reads.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Clip> {
        let path = path.as_ref();
        let extension = extension(path);
        let format = match extension.as_deref().and_then(by_extension) {
            Some(format) => format,
            None => by_content(&first_bytes(path)?).ok_or_else(|| Error::UnknownFormat {
                path: path.to_owned(),
                extension,
            })?,
        };
        match format {
            Format::Wav => Clip::from_wav(path),
            Format::Flac => Clip::from_flac(path),
            Format::Au => Clip::from_au(path),
        }
    }

    /// Writes the clip in the format its extension names, in any case:
    /// `.wav` as 32-bit float WAV ([`Clip::write_wav`]), `.flac` as 24-bit
    /// FLAC ([`Clip::write_flac`]). Any other extension, or none, is
    /// [`Error::UnwritableFormat`], and nothing is written.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let extension = extension(path);
        match extension.as_deref() {
            Some(e) if e.eq_ignore_ascii_case("wav") => self.write_wav(path),
            Some(e) if e.eq_ignore_ascii_case("flac") => self.write_flac(path, FLAC_FILE_BITS),
            _ => Err(Error::UnwritableFormat {
                path: path.to_owned(),
                extension,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o_nonblock_is_libcs() {
        if let Some(flag) = O_NONBLOCK {
            assert_eq!(flag, libc::O_NONBLOCK);
        }
    }

    /// An AU file of big-endian float samples (header of six words).
    fn au_bytes(rate: u32, channels: u32, samples: &[f32]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [0x2e73_6e64, 24, 4 * samples.len() as u32, 6, rate, channels] {
            out.extend_from_slice(&u32::to_be_bytes(w));
        }
        for s in samples {
            out.extend_from_slice(&s.to_be_bytes());
        }
        out
    }

    /// A clip that every format holds exactly (16-bit FLAC included).
    fn clip() -> Clip {
        Clip::from_interleaved(48_000, 2, vec![0.5, -0.25, 0.125, 0.75, -1.0, 0.0]).unwrap()
    }

    #[test]
    fn the_extension_chooses_the_format_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let c = clip();
        for name in ["a.wav", "b.WAV", "c.Wave"] {
            let path = dir.path().join(name);
            c.write_wav(&path).unwrap();
            assert_eq!(
                Clip::from_file(&path).unwrap().samples(),
                c.samples(),
                "{name}"
            );
        }
        for name in ["d.flac", "e.FLAC"] {
            let path = dir.path().join(name);
            c.write_flac(&path, 16).unwrap();
            assert_eq!(
                Clip::from_file(&path).unwrap().samples(),
                c.samples(),
                "{name}"
            );
        }
        for name in ["f.au", "g.SND"] {
            let path = dir.path().join(name);
            std::fs::write(&path, au_bytes(48_000, 2, c.samples())).unwrap();
            assert_eq!(
                Clip::from_file(&path).unwrap().samples(),
                c.samples(),
                "{name}"
            );
        }
        // The extension decides: FLAC data named .wav is read as WAV, and refused.
        let liar = dir.path().join("h.wav");
        c.write_flac(&liar, 16).unwrap();
        assert!(matches!(Clip::from_file(&liar), Err(Error::Wav { .. })));
    }

    #[test]
    fn an_unknown_or_missing_extension_is_sniffed() {
        let dir = tempfile::tempdir().unwrap();
        let c = clip();
        let wav = dir.path().join("take.bin");
        c.write_wav(dir.path().join("w.wav")).unwrap();
        std::fs::copy(dir.path().join("w.wav"), &wav).unwrap();
        assert_eq!(Clip::from_file(&wav).unwrap().samples(), c.samples());
        let flac = dir.path().join("take");
        c.write_flac(dir.path().join("f.flac"), 24).unwrap();
        std::fs::copy(dir.path().join("f.flac"), &flac).unwrap();
        assert_eq!(Clip::from_file(&flac).unwrap().samples(), c.samples());
        let au = dir.path().join("block.data");
        std::fs::write(&au, au_bytes(48_000, 2, c.samples())).unwrap();
        assert_eq!(Clip::from_file(&au).unwrap().samples(), c.samples());
        // Audacity's little-endian block files start with "dns.".
        let mut le = Vec::new();
        for w in [0x2e73_6e64u32, 24, 8, 6, 44_100, 1] {
            le.extend_from_slice(&w.to_le_bytes());
        }
        le.extend_from_slice(&0.5f32.to_le_bytes());
        le.extend_from_slice(&(-0.5f32).to_le_bytes());
        let au_le = dir.path().join("e0001.x");
        std::fs::write(&au_le, &le).unwrap();
        assert_eq!(Clip::from_file(&au_le).unwrap().samples(), &[0.5, -0.5]);
    }

    #[test]
    fn what_is_no_known_format_is_refused_naming_the_formats() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("song.mp3");
        std::fs::write(&junk, b"ID3\x04\x00 not audio amio reads").unwrap();
        let err = Clip::from_file(&junk).unwrap_err();
        assert!(matches!(&err, Error::UnknownFormat { extension: Some(e), .. } if e == "mp3"));
        assert_eq!(
            err.to_string(),
            format!(
                "{}: not an audio file amio reads: the extension .mp3 is not one amio knows, and its first bytes are not those of WAV (RIFF…WAVE), FLAC (fLaC) or AU/SND (.snd or dns.); amio reads WAV (.wav, .wave), FLAC (.flac) and AU/SND (.au, .snd)",
                junk.display()
            )
        );
        let bare = dir.path().join("noext");
        std::fs::write(&bare, b"RIFF").unwrap();
        let err = Clip::from_file(&bare).unwrap_err().to_string();
        assert!(
            err.contains(": not an audio file amio reads: it has no extension, and"),
            "{err}"
        );
        let empty = dir.path().join("empty.dat");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            Clip::from_file(&empty),
            Err(Error::UnknownFormat { .. })
        ));
        assert!(Clip::from_file(dir.path().join("missing.xyz"))
            .unwrap_err()
            .to_string()
            .starts_with("opening "));
    }

    #[test]
    fn directories_pipes_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.wav");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) with a NUL-terminated path that lives across the
        // call; no other thread uses it.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        let sniffed = dir.path().join("pipe");
        std::fs::rename(&fifo, &sniffed).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        for (path, kind) in [
            (fifo.clone(), "a named pipe (FIFO)"),
            (sniffed, "a named pipe (FIFO)"),
            (dir.path().to_path_buf(), "a directory"),
            ("/dev/zero".into(), "a character device"),
        ] {
            let err = Clip::from_file(&path).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("{}: {kind}, not a regular file", path.display())
            );
        }
        for read in [Clip::from_wav, Clip::from_flac, Clip::from_au] {
            assert!(matches!(read(&fifo), Err(Error::NotAFile { .. })));
        }
    }

    #[test]
    fn write_file_writes_wav_and_24_bit_flac_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let c = Clip::from_interleaved(44_100, 1, vec![0.1, -0.3, 1.5]).unwrap();
        let wav = dir.path().join("out.WAV");
        c.write_file(&wav).unwrap();
        assert_eq!(Clip::from_wav(&wav).unwrap().samples(), c.samples());
        let flac = dir.path().join("out.flac");
        c.write_file(&flac).unwrap();
        let back = Clip::from_flac(&flac).unwrap();
        let q = |s: f64| ((s * 8_388_608.0).round().min(8_388_607.0) / 8_388_608.0) as f32;
        assert_eq!(
            back.samples(),
            &[q(0.1f32.into()), q((-0.3f32).into()), q(1.5)]
        );
        for name in ["out.mp3", "out.au", "out"] {
            let err = c.write_file(dir.path().join(name)).unwrap_err();
            assert!(matches!(err, Error::UnwritableFormat { .. }));
            let message = err.to_string();
            assert!(
                message.ends_with("; it writes .wav (32-bit float WAV) and .flac (24-bit FLAC)"),
                "{message}"
            );
        }
        assert!(c
            .write_file(dir.path().join("x.mp3"))
            .unwrap_err()
            .to_string()
            .contains("amio does not write .mp3 files;"));
        assert!(c
            .write_file(dir.path().join("x"))
            .unwrap_err()
            .to_string()
            .contains("amio does not write files without an extension;"));
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["out.WAV", "out.flac"]);
    }
}
