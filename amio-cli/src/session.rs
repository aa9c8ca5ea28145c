//! Session files (SPEC.md, "Session files"): read, checked and turned into
//! clips, playspecs and timed commands.
//!
//! Every refusal names the file, the place in it (`frame_rate`,
//! `clips.drums`, `playspecs[1].entries[0].gains`, `commands[3].at`, or
//! `line 4, column 12` where the text is not JSON) and the rule, in plain
//! words.
//!
//! Clip paths are relative to the session file's folder and must stay in
//! it: an absolute path, a path that climbs out (`..`) or a symbolic link
//! that leads out is refused unless [`LoadOptions::allow_any_path`] is set
//! (`--allow-any-path`). Clips and the session file itself must be regular
//! files; a directory, a named pipe or a device is refused without being
//! opened for reading, so nothing blocks. Sizes are bounded by
//! [`crate::limits`].
//!
//! **Streamed clips** (beyond SPEC.md's format): a clip may be given as
//! `{ "file": "take.wav", "stream": true }`, and the session's
//! `"stream_clips_above": BYTES` streams every clip file larger than that
//! unless its clip says `"stream": false`. A streamed clip stays on disk
//! ([`Clip::open_streamed`]: WAV files only) and renders exactly as loaded.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use amio_core::{Clip, Entry, EntryRule, Error, Interface, Playspec};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::limits::{MAX_CHANNELS, MAX_FRAMES, MAX_FRAME_RATE, MAX_GAINS, MAX_SESSION_BYTES};

/// Why a session file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {place}{message}")]
pub struct SessionError {
    /// The session file.
    pub file: PathBuf,
    /// Where in it (`playspecs[0].entries[2].gains: `), or empty.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

/// How a session file is loaded.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Allow clip paths that are absolute or lead out of the session's
    /// folder (`--allow-any-path`).
    pub allow_any_path: bool,
}

/// A command of a session, at its target stream frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `schedule(playspecs[playspec], insert_at, start_from)`.
    Schedule {
        /// Index into [`Session::playspecs`].
        playspec: usize,
        /// Where the change goes in.
        insert_at: i64,
        /// Where the new playspec starts.
        start_from: i64,
    },
    /// roll (true) or stop (false).
    Roll(bool),
    /// locate(position).
    Locate(i64),
}

/// A session ready to play: its clips loaded, playspecs built.
#[derive(Debug)]
pub struct Session {
    /// Frames per second.
    pub frame_rate: u32,
    /// Output channels.
    pub channels: usize,
    /// Clamp output to [-1, 1].
    pub clamp: bool,
    /// The playspecs, in file order.
    pub playspecs: Vec<Playspec>,
    /// The commands with their target stream frames, in order.
    pub commands: Vec<(u64, Command)>,
    /// The length of a render.
    pub frames: u64,
    /// The clip files, resolved (what a render must not overwrite).
    pub clip_files: Vec<PathBuf>,
}

/// A JSON value as written, objects keeping their keys in order (so that a
/// key given twice is seen and refused).
enum Json {
    Null,
    Bool(bool),
    Unsigned(u64),
    Negative(i64),
    Float(f64),
    Text(String),
    List(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Unsigned(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(match u64::try_from(v) {
            Ok(u) => Json::Unsigned(u),
            Err(_) => Json::Negative(v),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::Text(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields: Vec<(String, Json)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format_args!(
                    "the key {key:?} is given twice in one object"
                )));
            }
            let value = map.next_value()?;
            fields.push((key, value));
        }
        Ok(Json::Object(fields))
    }
}

/// What a value is, in words, for messages.
fn describe(v: &Json) -> String {
    match v {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Unsigned(n) => n.to_string(),
        Json::Negative(n) => n.to_string(),
        Json::Float(x) => format!("{x:?}"),
        Json::Text(s) => {
            let short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                format!("the text {short:?}…")
            } else {
                format!("the text {short:?}")
            }
        }
        Json::List(items) => format!("a list of {}", items.len()),
        Json::Object(_) => "an object".into(),
    }
}

/// serde_json's syntax errors in plain words.
fn syntax_message(raw: &str) -> String {
    let plain = [
        ("trailing characters", "there is more text after the end of the session; a session file holds one JSON object"),
        ("trailing comma", "a comma before a closing bracket; JSON allows no comma after the last item"),
        ("expected value", "a value is expected here: a number, text in double quotes, true, false, null, a list [ … ] or an object { … }"),
        ("expected ident", "an unknown word; JSON knows only true, false and null"),
        ("expected `:`", "a colon (:) must follow each key of an object"),
        ("expected `,` or `]`", "a comma (,) or the end of the list (]) is expected here"),
        ("expected `,` or `}`", "a comma (,) or the end of the object (}) is expected here"),
        ("key must be a string", "an object's keys must be text in double quotes"),
        ("EOF while parsing a list", "the file ends inside a list: a ] is missing"),
        ("EOF while parsing an object", "the file ends inside an object: a } is missing"),
        ("EOF while parsing a string", "the file ends inside a text: a closing \" is missing"),
        ("EOF while parsing a value", "the file ends where a value is expected; it is empty or cut short"),
        ("invalid number", "a number is written wrongly"),
        ("number out of range", "a number is too large for JSON"),
        ("invalid escape", "a backslash escape in a text is not one JSON knows"),
        ("invalid unicode code point", "a \\u escape in a text is not a Unicode character"),
        ("lone leading surrogate in hex escape", "a \\u escape in a text is half of a character"),
        ("unexpected end of hex escape", "a \\u escape in a text is cut short"),
        ("control character (\\u0000-\\u001F) found while parsing a string", "a text contains a control character (a tab or a line break must be written \\t or \\n)"),
        ("recursion limit exceeded", "lists and objects are nested too deep (more than 128 levels)"),
        ("expected `\"`", "a key in double quotes is expected here"),
    ];
    for (serde, words) in plain {
        if raw == serde {
            return words.to_string();
        }
    }
    if let Some(rest) = raw.strip_prefix("the key ") {
        return format!("the key {rest}");
    }
    format!("this is not JSON as a session file must be ({raw})")
}

/// Line and column (1-based, in characters) of byte `offset` in `bytes`.
fn line_and_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

/// Builds errors naming the file.
struct Fail<'a> {
    file: &'a Path,
}

impl Fail<'_> {
    fn at(&self, place: &str, message: impl Into<String>) -> SessionError {
        SessionError {
            file: self.file.to_path_buf(),
            place: if place.is_empty() {
                String::new()
            } else {
                format!("{place}: ")
            },
            message: message.into(),
        }
    }
}

/// `parent.key`, or `key` at the top.
fn join(parent: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), plain) {
        (true, true) => key.to_string(),
        (true, false) => format!("[{key:?}]"),
        (false, true) => format!("{parent}.{key}"),
        (false, false) => format!("{parent}[{key:?}]"),
    }
}

/// An object's fields, checked against the keys it may have.
struct Fields<'a> {
    place: String,
    fields: &'a [(String, Json)],
}

impl<'a> Fields<'a> {
    fn new(
        fail: &Fail<'_>,
        place: &str,
        v: &'a Json,
        what: &str,
        keys: &[&str],
    ) -> Result<Fields<'a>, SessionError> {
        let Json::Object(fields) = v else {
            return Err(fail.at(
                place,
                format!("{what} must be an object {{ … }}; found {}", describe(v)),
            ));
        };
        for (key, _) in fields {
            if !keys.contains(&key.as_str()) {
                let short: String = key.chars().take(40).collect();
                return Err(fail.at(
                    place,
                    format!(
                        "unknown field {short:?}; {what} has the fields {}",
                        keys.join(", ")
                    ),
                ));
            }
        }
        Ok(Fields {
            place: place.to_string(),
            fields,
        })
    }

    fn get(&self, key: &str) -> Option<&'a Json> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn place(&self, key: &str) -> String {
        join(&self.place, key)
    }

    fn required(&self, fail: &Fail<'_>, key: &str, what: &str) -> Result<&'a Json, SessionError> {
        self.get(key)
            .ok_or_else(|| fail.at(&self.place(key), format!("is missing ({what})")))
    }
}

/// A whole number in `min..=max`.
fn whole<T>(
    fail: &Fail<'_>,
    place: &str,
    v: &Json,
    min: T,
    max: T,
    unit: &str,
) -> Result<T, SessionError>
where
    T: TryFrom<i128> + Into<i128> + Copy + fmt::Display,
{
    let range = || {
        if unit.is_empty() {
            format!("from {min} to {max}")
        } else {
            format!("from {min} to {max} ({unit})")
        }
    };
    let n: i128 = match v {
        Json::Unsigned(n) => i128::from(*n),
        Json::Negative(n) => i128::from(*n),
        Json::Float(x) => {
            return Err(fail.at(
                place,
                format!(
                "must be a whole number {}, written without a fraction or exponent; found {x:?}",
                range()
            ),
            ))
        }
        other => {
            return Err(fail.at(
                place,
                format!(
                    "must be a whole number {}; found {}",
                    range(),
                    describe(other)
                ),
            ))
        }
    };
    if n < min.into() || n > max.into() {
        return Err(fail.at(place, format!("is {n}; it must be {}", range())));
    }
    T::try_from(n).map_err(|_| fail.at(place, format!("is {n}; it must be {}", range())))
}

fn any_i64(fail: &Fail<'_>, place: &str, v: &Json, unit: &str) -> Result<i64, SessionError> {
    whole(fail, place, v, i64::MIN, i64::MAX, unit)
}

fn boolean(fail: &Fail<'_>, place: &str, v: &Json) -> Result<bool, SessionError> {
    match v {
        Json::Bool(b) => Ok(*b),
        other => Err(fail.at(
            place,
            format!("must be true or false; found {}", describe(other)),
        )),
    }
}

fn text<'a>(fail: &Fail<'_>, place: &str, v: &'a Json) -> Result<&'a str, SessionError> {
    match v {
        Json::Text(s) => Ok(s),
        other => Err(fail.at(
            place,
            format!("must be text in double quotes; found {}", describe(other)),
        )),
    }
}

fn list<'a>(
    fail: &Fail<'_>,
    place: &str,
    v: &'a Json,
    what: &str,
) -> Result<&'a [Json], SessionError> {
    match v {
        Json::List(items) => Ok(items),
        other => Err(fail.at(
            place,
            format!("must be a list [ … ] of {what}; found {}", describe(other)),
        )),
    }
}

/// A gain: a number that a 32-bit float holds (finite).
fn gain(fail: &Fail<'_>, place: &str, v: &Json) -> Result<f32, SessionError> {
    let x = match v {
        Json::Unsigned(n) => *n as f64,
        Json::Negative(n) => *n as f64,
        Json::Float(x) => *x,
        other => {
            return Err(fail.at(
                place,
                format!(
                    "must be a number (a gain factor); found {}",
                    describe(other)
                ),
            ))
        }
    };
    let g = x as f32;
    if !g.is_finite() {
        return Err(fail.at(
            place,
            format!(
                "is {x:e}, beyond what a gain (a 32-bit float, at most {:e} in size) holds",
                f32::MAX
            ),
        ));
    }
    Ok(g)
}

/// `path` with `.` and `..` applied to its words, without following links;
/// `None` if it climbs above its start.
fn lexically_inside(path: &Path) -> bool {
    let mut depth: usize = 0;
    for c in path.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// An I/O error in plain words (without "(os error N)").
fn plain_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// A clip's file name and whether it is to stream (`None`: unsaid): a
/// clip is `"file.wav"` or `{ "file": "file.wav", "stream": true }`.
fn clip_file<'a>(
    fail: &Fail<'_>,
    place: &str,
    v: &'a Json,
) -> Result<(&'a str, Option<bool>), SessionError> {
    if let Json::Object(_) = v {
        let f = Fields::new(fail, place, v, "a clip", &["file", "stream"])?;
        let file = text(
            fail,
            &f.place("file"),
            f.required(fail, "file", "the clip's file name")?,
        )?;
        let stream = match f.get("stream") {
            Some(b) => Some(boolean(fail, &f.place("stream"), b)?),
            None => None,
        };
        return Ok((file, stream));
    }
    Ok((text(fail, place, v)?, None))
}

/// Resolves a clip's path against the session's folder under the path
/// rules; returns the path to read it by.
fn clip_path(folder: &Path, name: &str, options: &LoadOptions) -> Result<PathBuf, String> {
    if name.is_empty() {
        return Err("the file name is empty; name a file in the session's folder".into());
    }
    let given = Path::new(name);
    let allow = " (--allow-any-path allows any path)";
    if !options.allow_any_path && given.is_absolute() {
        return Err(format!(
            "{name:?} is an absolute path; clip paths are relative to the session's folder{allow}"
        ));
    }
    if !options.allow_any_path && !lexically_inside(given) {
        return Err(format!(
            "{name:?} climbs out of the session's folder; clip paths must stay inside it{allow}"
        ));
    }
    let path = folder.join(given);
    let real = std::fs::canonicalize(&path)
        .map_err(|e| format!("{}: {}", path.display(), plain_io(&e)))?;
    if !options.allow_any_path && !real.starts_with(folder) {
        return Err(format!(
            "{name:?} leads out of the session's folder (to {}) through a symbolic link; clip paths must stay inside it{allow}",
            real.display()
        ));
    }
    Ok(path)
}

/// Reads a regular file of at most `limit` bytes without blocking on
/// anything else (a named pipe, a device).
pub(crate) fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| plain_io(&e))?;
    let meta = file.metadata().map_err(|e| plain_io(&e))?;
    if let Some(kind) = crate::output::kind_of(meta.file_type()) {
        return Err(format!("{kind}, not a regular file"));
    }
    if meta.len() > limit {
        return Err(format!(
            "is {} bytes; a session file may have at most {limit} bytes",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| plain_io(&e))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "has more than {limit} bytes; a session file may have at most {limit} bytes"
        ));
    }
    Ok(bytes)
}

/// The most threads [`read_clips`] reads with.
const MAX_READERS: usize = 8;

/// Reads audio files ([`Clip::from_file`]) side by side, on as many
/// threads as the machine has cores (at most [`MAX_READERS`]); the results
/// are in the order of `paths`. Where a thread cannot be started, the
/// files are read on the threads there are.
pub(crate) fn read_clips(paths: &[&Path]) -> Vec<amio_core::Result<Clip>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let readers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_READERS)
        .min(paths.len());
    if readers <= 1 {
        return paths.iter().map(Clip::from_file).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<amio_core::Result<Clip>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    let read = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(path) = paths.get(i) else { break };
        let clip = Clip::from_file(path);
        *results[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(clip);
    };
    std::thread::scope(|scope| {
        for _ in 1..readers {
            let started = std::thread::Builder::new()
                .name("amio-read".into())
                .spawn_scoped(scope, read);
            if started.is_err() {
                break;
            }
        }
        read();
    });
    results
        .into_iter()
        .map(|r| {
            r.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .unwrap_or_else(|| {
                    Err(Error::Argument {
                        argument: "clips",
                        rule: "a clip was not read".into(),
                    })
                })
        })
        .collect()
}

/// The entry rule's field, for the place in the file.
fn rule_field(rule: &EntryRule) -> Option<&'static str> {
    match rule {
        EntryRule::RangeReversed { .. } | EntryRule::RangePastClip { .. } => Some("range"),
        EntryRule::NegativeRepeat { .. } => Some("repeat"),
        EntryRule::GainCount { .. } | EntryRule::GainNotFinite { .. } => Some("gains"),
        _ => None,
    }
}

impl Session {
    /// Reads and checks a session file, loading its clips (paths relative
    /// to the file's folder, which they must stay in).
    pub fn load(path: &Path) -> Result<Session, SessionError> {
        Session::load_with(path, &LoadOptions::default())
    }

    /// Reads and checks a session file with `options`.
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Session, SessionError> {
        let fail = Fail { file: path };
        let bytes = read_regular(path, MAX_SESSION_BYTES).map_err(|m| fail.at("", m))?;
        Session::parse_bytes(&bytes, path, options)
    }

    /// Parses a session from JSON text named `name` (its clip paths are
    /// relative to `name`'s folder), with the default options.
    pub fn parse(text: &str, name: &Path) -> Result<Session, SessionError> {
        Session::parse_bytes(text.as_bytes(), name, &LoadOptions::default())
    }

    /// Parses a session from the bytes of a file named `name`.
    pub fn parse_bytes(
        bytes: &[u8],
        name: &Path,
        options: &LoadOptions,
    ) -> Result<Session, SessionError> {
        let fail = Fail { file: name };
        if bytes.len() as u64 > MAX_SESSION_BYTES {
            return Err(fail.at(
                "",
                format!(
                    "is {} bytes; a session file may have at most {MAX_SESSION_BYTES} bytes",
                    bytes.len()
                ),
            ));
        }
        if let Err(e) = std::str::from_utf8(bytes) {
            let (line, column) = line_and_column(bytes, e.valid_up_to());
            return Err(fail.at(
                &format!("line {line}, column {column}"),
                "this is not UTF-8 text; a session file is JSON text",
            ));
        }
        let json: Json = serde_json::from_slice(bytes).map_err(|e| {
            let raw = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let raw = raw.strip_suffix(&suffix).unwrap_or(&raw);
            fail.at(
                &format!("line {}, column {}", e.line(), e.column()),
                syntax_message(raw),
            )
        })?;
        Session::from_json(&json, name, options)
    }

    fn from_json(json: &Json, name: &Path, options: &LoadOptions) -> Result<Session, SessionError> {
        let fail = Fail { file: name };
        let top = Fields::new(
            &fail,
            "",
            json,
            "a session",
            &[
                "frame_rate",
                "channels",
                "clamp",
                "clips",
                "playspecs",
                "commands",
                "frames",
                "stream_clips_above",
            ],
        )?;
        let frame_rate: u32 = whole(
            &fail,
            "frame_rate",
            top.required(&fail, "frame_rate", "frames per second")?,
            1,
            MAX_FRAME_RATE,
            "frames per second",
        )?;
        let channels: usize = whole::<u16>(
            &fail,
            "channels",
            top.required(&fail, "channels", "output channels")?,
            1,
            MAX_CHANNELS as u16,
            "output channels",
        )?
        .into();
        let clamp = match top.get("clamp") {
            Some(v) => boolean(&fail, "clamp", v)?,
            None => true,
        };
        let frames = whole(
            &fail,
            "frames",
            top.required(&fail, "frames", "the length of a render, in frames")?,
            0,
            MAX_FRAMES,
            "frames",
        )?;

        // Clip files larger than this many bytes stay on disk and stream
        // (unless their clip says otherwise).
        let stream_above = match top.get("stream_clips_above") {
            Some(v) => Some(whole::<u64>(
                &fail,
                "stream_clips_above",
                v,
                0,
                u64::MAX,
                "bytes",
            )?),
            None => None,
        };

        // Clips.
        let folder_of = name.parent().filter(|p| !p.as_os_str().is_empty());
        let folder = std::fs::canonicalize(folder_of.unwrap_or(Path::new(".")))
            .map_err(|e| fail.at("", format!("its folder cannot be found: {}", plain_io(&e))))?;
        let clips_json = top.required(&fail, "clips", "an object of clip names and file names")?;
        let Json::Object(clip_fields) = clips_json else {
            return Err(fail.at(
                "clips",
                format!(
                    "must be an object {{ \"name\": \"file.wav\", … }}; found {}",
                    describe(clips_json)
                ),
            ));
        };
        // Every path is checked first, in order; the clips up to the first
        // refused one are read side by side; then each is taken in order,
        // so the error reported is the one reading them one by one would
        // meet first.
        let mut named = Vec::new();
        let mut refused = None;
        for (clip_name, clip_json) in clip_fields {
            let place = join("clips", clip_name);
            let path = clip_file(&fail, &place, clip_json).and_then(|(file_name, stream)| {
                clip_path(&folder, file_name, options)
                    .map(|path| (file_name, path, stream))
                    .map_err(|m| fail.at(&place, m))
            });
            match path {
                Ok((file_name, path, stream)) => {
                    // Unsaid: by the file's size against the threshold.
                    let stream = stream.unwrap_or_else(|| {
                        stream_above.is_some_and(|above| {
                            std::fs::metadata(&path).is_ok_and(|m| m.len() > above)
                        })
                    });
                    named.push((clip_name, place, file_name, path, stream));
                }
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        // Clips in memory are read side by side; streamed ones only opened.
        let in_memory: Vec<&Path> = named
            .iter()
            .filter(|c| !c.4)
            .map(|c| c.3.as_path())
            .collect();
        let mut loaded = read_clips(&in_memory).into_iter();
        let read: Vec<amio_core::Result<Clip>> = named
            .iter()
            .map(|c| {
                if c.4 {
                    Clip::open_streamed(&c.3)
                } else {
                    loaded.next().unwrap_or_else(|| {
                        Err(Error::Argument {
                            argument: "clips",
                            rule: "a clip was not read".into(),
                        })
                    })
                }
            })
            .collect();
        let mut clips = BTreeMap::new();
        let mut clip_files = Vec::new();
        for ((clip_name, place, file_name, path, _), clip) in named.into_iter().zip(read) {
            let clip = clip.map_err(|e| fail.at(&place, e.to_string()))?;
            if clip.frame_rate() != frame_rate {
                return Err(fail.at(
                    &place,
                    format!(
                        "{file_name} is {} Hz, the session runs at {frame_rate} Hz (resample the clip first)",
                        clip.frame_rate()
                    ),
                ));
            }
            clip_files.push(path);
            clips.insert(clip_name.clone(), clip);
        }
        if let Some(e) = refused {
            return Err(e);
        }

        // Playspecs.
        let mut playspecs = Vec::new();
        let mut gains_total: usize = 0;
        let specs = list(
            &fail,
            "playspecs",
            top.required(&fail, "playspecs", "a list of playspecs")?,
            "playspecs",
        )?;
        for (p, spec) in specs.iter().enumerate() {
            let place = format!("playspecs[{p}]");
            let spec = Fields::new(&fail, &place, spec, "a playspec", &["entries"])?;
            let entries_json = list(
                &fail,
                &spec.place("entries"),
                spec.required(&fail, "entries", "a list of entries")?,
                "entries",
            )?;
            let mut entries = Vec::new();
            for (e, entry) in entries_json.iter().enumerate() {
                let place = format!("playspecs[{p}].entries[{e}]");
                let f = Fields::new(
                    &fail,
                    &place,
                    entry,
                    "an entry",
                    &[
                        "clip", "range", "play_at", "repeat", "gains", "fade_in", "fade_out",
                    ],
                )?;
                let clip_name = text(
                    &fail,
                    &f.place("clip"),
                    f.required(&fail, "clip", "the name of a clip in clips")?,
                )?;
                let clip = clips.get(clip_name).ok_or_else(|| {
                    fail.at(
                        &f.place("clip"),
                        format!("no clip named {clip_name:?} in clips"),
                    )
                })?;
                let range = match f.get("range") {
                    None => None,
                    Some(v) => {
                        let items = list(&fail, &f.place("range"), v, "two frames [a, b]")?;
                        let [a, b] = items else {
                            return Err(fail.at(
                                &f.place("range"),
                                format!(
                                    "must be two frames [a, b]; found a list of {}",
                                    items.len()
                                ),
                            ));
                        };
                        let a: u64 = whole(
                            &fail,
                            &format!("{}[0]", f.place("range")),
                            a,
                            0,
                            u64::MAX,
                            "clip frames; the rule is 0 <= a <= b",
                        )?;
                        let b: u64 = whole(
                            &fail,
                            &format!("{}[1]", f.place("range")),
                            b,
                            0,
                            u64::MAX,
                            "clip frames; the rule is 0 <= a <= b",
                        )?;
                        Some((a, b))
                    }
                };
                let number = |key: &str, min: i64, unit: &str| -> Result<i64, SessionError> {
                    match f.get(key) {
                        None => Ok(0),
                        Some(v) => whole(&fail, &f.place(key), v, min, i64::MAX, unit),
                    }
                };
                let play_at = match f.get("play_at") {
                    None => 0,
                    Some(v) => any_i64(&fail, &f.place("play_at"), v, "a playspec position")?,
                };
                let repeat = number("repeat", 0, "frames; 0 plays once")?;
                let fade_in = number("fade_in", 0, "frames")?;
                let fade_out = number("fade_out", 0, "frames")?;
                gains_total = gains_total.saturating_add(channels);
                if gains_total > MAX_GAINS {
                    return Err(fail.at(
                        &place,
                        format!(
                            "the entries hold more than {MAX_GAINS} gains in all (entries × {channels} channels); a session may hold at most {MAX_GAINS}"
                        ),
                    ));
                }
                let gains = match f.get("gains") {
                    None => vec![1.0; channels],
                    Some(v) => {
                        let items =
                            list(&fail, &f.place("gains"), v, "gains, one per output channel")?;
                        if items.len() != channels {
                            return Err(fail.at(
                                &f.place("gains"),
                                format!(
                                    "{} gains for {channels} output channels (the rule is one gain per output channel)",
                                    items.len()
                                ),
                            ));
                        }
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, g)| gain(&fail, &format!("{}[{i}]", f.place("gains")), g))
                            .collect::<Result<Vec<f32>, _>>()?
                    }
                };
                let mut built = Entry::new(clip.clone(), gains)
                    .play_at(play_at)
                    .repeat(repeat)
                    .fades(fade_in as u64, fade_out as u64);
                if let Some((a, b)) = range {
                    built = built.range(a..b);
                }
                entries.push(built);
            }
            let built = Playspec::new(entries)
                .and_then(|ps| ps.check_for(channels, frame_rate).map(|()| ps))
                .map_err(|err| match err {
                    Error::Entry { entry, rule } => {
                        let place = format!("playspecs[{p}].entries[{entry}]");
                        let place = match rule_field(&rule) {
                            Some(field) => join(&place, field),
                            None => place,
                        };
                        fail.at(&place, rule.to_string())
                    }
                    other => fail.at(&place, other.to_string()),
                })?;
            playspecs.push(built);
        }

        // Commands.
        let mut commands = Vec::new();
        let mut last_at = 0;
        let list_json = list(
            &fail,
            "commands",
            top.required(&fail, "commands", "a list of commands")?,
            "commands",
        )?;
        for (i, c) in list_json.iter().enumerate() {
            let place = format!("commands[{i}]");
            let f = Fields::new(
                &fail,
                &place,
                c,
                "a command",
                &[
                    "at",
                    "schedule",
                    "insert_at",
                    "start_from",
                    "roll",
                    "locate",
                ],
            )?;
            let at: u64 = whole(
                &fail,
                &f.place("at"),
                f.required(&fail, "at", "the command's target stream frame")?,
                0,
                u64::MAX,
                "a stream frame",
            )?;
            if i > 0 && at < last_at {
                return Err(fail.at(
                    &f.place("at"),
                    format!(
                        "{at} comes before commands[{}]'s at {last_at} (commands must be in order of at)",
                        i - 1
                    ),
                ));
            }
            last_at = at;
            let command = match (f.get("schedule"), f.get("roll"), f.get("locate")) {
                (Some(v), None, None) => {
                    let count = playspecs.len();
                    if count == 0 {
                        return Err(fail.at(
                            &f.place("schedule"),
                            "names a playspec, but there are no playspecs",
                        ));
                    }
                    let playspec: usize = whole(
                        &fail,
                        &f.place("schedule"),
                        v,
                        0u64,
                        count as u64 - 1,
                        "the index of a playspec in playspecs",
                    )? as usize;
                    let position = |key: &str| -> Result<i64, SessionError> {
                        match f.get(key) {
                            None => Ok(0),
                            Some(v) => any_i64(&fail, &f.place(key), v, "a playspec position"),
                        }
                    };
                    Command::Schedule {
                        playspec,
                        insert_at: position("insert_at")?,
                        start_from: position("start_from")?,
                    }
                }
                (None, Some(v), None) => Command::Roll(boolean(&fail, &f.place("roll"), v)?),
                (None, None, Some(v)) => Command::Locate(any_i64(
                    &fail,
                    &f.place("locate"),
                    v,
                    "a playspec position",
                )?),
                _ => {
                    return Err(fail.at(&place, "needs exactly one of schedule, roll and locate"));
                }
            };
            if !matches!(command, Command::Schedule { .. })
                && (f.get("insert_at").is_some() || f.get("start_from").is_some())
            {
                return Err(fail.at(&place, "insert_at and start_from go with schedule"));
            }
            commands.push((at, command));
        }
        Ok(Session {
            frame_rate,
            channels,
            clamp,
            playspecs,
            commands,
            frames,
            clip_files,
        })
    }

    /// The number of schedule commands.
    pub fn schedules(&self) -> usize {
        self.commands
            .iter()
            .filter(|(_, c)| matches!(c, Command::Schedule { .. }))
            .count()
    }

    /// An engine configuration with room for every command up front.
    pub fn config(&self) -> amio_core::Config {
        amio_core::Config {
            clamp: self.clamp,
            command_capacity: self.commands.len().max(1),
            outcome_capacity: self.schedules().max(1),
            ..amio_core::Config::default()
        }
    }

    /// Issues every command to an interface, targeted at its stream frame;
    /// returns the schedule ids (1, 2, 3… in command order).
    pub fn issue(&self, interface: &mut Interface) -> amio_core::Result<Vec<u64>> {
        let mut ids = Vec::new();
        for (at, command) in &self.commands {
            match command {
                Command::Schedule {
                    playspec,
                    insert_at,
                    start_from,
                } => {
                    let Some(playspec) = self.playspecs.get(*playspec) else {
                        return Err(Error::Argument {
                            argument: "schedule",
                            rule: format!(
                                "playspec {playspec}, but the playspecs are numbered 0 to {}",
                                self.playspecs.len().saturating_sub(1)
                            ),
                        });
                    };
                    ids.push(interface.schedule(playspec, *insert_at, *start_from, Some(*at))?)
                }
                Command::Roll(true) => interface.roll(Some(*at))?,
                Command::Roll(false) => interface.stop(Some(*at))?,
                Command::Locate(p) => interface.locate(*p, Some(*at))?,
            }
        }
        Ok(ids)
    }
}

/// A session that plays audio files side by side from position 0: one
/// playspec with every file, `channels` output channels.
pub fn of_files(clips: Vec<Clip>, channels: usize) -> amio_core::Result<Session> {
    let frame_rate = clips.first().map_or(48_000, Clip::frame_rate);
    let frames = clips.iter().map(|c| c.frames() as u64).max().unwrap_or(0);
    let entries = clips
        .into_iter()
        .map(|c| Entry::new(c, vec![1.0; channels]))
        .collect();
    Ok(Session {
        frame_rate,
        channels,
        clamp: true,
        playspecs: vec![Playspec::new(entries)?],
        commands: vec![
            (
                0,
                Command::Schedule {
                    playspec: 0,
                    insert_at: 0,
                    start_from: 0,
                },
            ),
            (0, Command::Roll(true)),
        ],
        frames,
        clip_files: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> String {
        let dir = std::env::temp_dir();
        match Session::parse(text, &dir.join("s.json")) {
            Ok(_) => "ok".into(),
            Err(e) => format!("{}{}", e.place, e.message),
        }
    }

    #[test]
    fn json_syntax_is_named_in_plain_words_with_line_and_column() {
        assert_eq!(
            parse("{}\n x"),
            "line 2, column 2: there is more text after the end of the session; a session file holds one JSON object"
        );
        assert_eq!(
            parse("{ \"frames\": }"),
            "line 1, column 13: a value is expected here: a number, text in double quotes, true, false, null, a list [ … ] or an object { … }"
        );
        assert_eq!(
            parse(""),
            "line 1, column 0: the file ends where a value is expected; it is empty or cut short"
        );
        assert_eq!(
            parse("{ \"a\": 1, \"a\": 2 }"),
            "line 1, column 13: the key \"a\" is given twice in one object"
        );
        assert_eq!(
            parse("[1,]"),
            "line 1, column 4: a comma before a closing bracket; JSON allows no comma after the last item"
        );
        let deep = "[".repeat(200);
        assert_eq!(
            parse(&deep),
            "line 1, column 128: lists and objects are nested too deep (more than 128 levels)"
        );
        let err = Session::parse_bytes(
            b"{\n \"x\xff\": 1}",
            Path::new("s.json"),
            &LoadOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "s.json: line 2, column 4: this is not UTF-8 text; a session file is JSON text"
        );
    }

    #[test]
    fn values_are_named_by_their_place() {
        let base = r#""frame_rate": 48000, "channels": 2, "clips": {}, "playspecs": [], "commands": [], "frames": 10"#;
        assert_eq!(parse(&format!("{{ {base} }}")), "ok");
        assert_eq!(
            parse("[]"),
            "a session must be an object { … }; found a list of 0"
        );
        assert_eq!(
            parse(&format!("{{ {base}, \"extra\": 1 }}")),
            "unknown field \"extra\"; a session has the fields frame_rate, channels, clamp, clips, playspecs, commands, frames, stream_clips_above"
        );
        assert_eq!(
            parse(&base.replace("48000", "-1").pipe_obj()),
            "frame_rate: is -1; it must be from 1 to 768000 (frames per second)"
        );
        assert_eq!(
            parse(&base.replace("\"channels\": 2", "\"channels\": 2.5").pipe_obj()),
            "channels: must be a whole number from 1 to 1024 (output channels), written without a fraction or exponent; found 2.5"
        );
        assert_eq!(
            parse(&base.replace(", \"frames\": 10", "").pipe_obj()),
            "frames: is missing (the length of a render, in frames)"
        );
        assert_eq!(
            parse(&base.replace("\"frames\": 10", "\"frames\": \"10\"").pipe_obj()),
            "frames: must be a whole number from 0 to 4611686018427387904 (frames); found the text \"10\""
        );
        assert_eq!(
            parse(
                &base
                    .replace(
                        "\"commands\": []",
                        "\"commands\": [{\"at\": 5, \"roll\": true}, {\"at\": 4, \"roll\": false}]"
                    )
                    .pipe_obj()
            ),
            "commands[1].at: 4 comes before commands[0]'s at 5 (commands must be in order of at)"
        );
        assert_eq!(
            parse(
                &base
                    .replace(
                        "\"commands\": []",
                        "\"commands\": [{\"at\": 18446744073709551615, \"schedule\": 0}]"
                    )
                    .pipe_obj()
            ),
            "commands[0].schedule: names a playspec, but there are no playspecs"
        );
        assert_eq!(
            parse(&base.replace("\"commands\": []", "\"commands\": [{\"at\": 18446744073709551616, \"roll\": true}]").pipe_obj()),
            "commands[0].at: must be a whole number from 0 to 18446744073709551615 (a stream frame), written without a fraction or exponent; found 1.8446744073709552e19"
        );
        assert_eq!(
            parse(
                &base
                    .replace("\"clips\": {}", "\"clips\": {\"a b\": 3}")
                    .pipe_obj()
            ),
            "clips[\"a b\"]: must be text in double quotes; found 3"
        );
        assert_eq!(
            parse(&base.replace("\"playspecs\": []", "\"playspecs\": [{\"entries\": [{\"clip\": \"x\", \"gain\": 1}]}]").pipe_obj()),
            "playspecs[0].entries[0]: unknown field \"gain\"; an entry has the fields clip, range, play_at, repeat, gains, fade_in, fade_out"
        );
    }

    trait PipeObj {
        fn pipe_obj(&self) -> String;
    }

    impl PipeObj for str {
        fn pipe_obj(&self) -> String {
            format!("{{ {self} }}")
        }
    }

    impl PipeObj for String {
        fn pipe_obj(&self) -> String {
            self.as_str().pipe_obj()
        }
    }

    #[test]
    fn paths_stay_in_the_folder_unless_allowed() {
        assert!(lexically_inside(Path::new("a/../b.wav")));
        assert!(lexically_inside(Path::new("./b.wav")));
        assert!(!lexically_inside(Path::new("a/../../b.wav")));
        assert!(!lexically_inside(Path::new("/b.wav")));
        let folder = std::fs::canonicalize(std::env::temp_dir()).unwrap();
        let strict = LoadOptions::default();
        assert_eq!(
            clip_path(&folder, "/etc/passwd", &strict).unwrap_err(),
            "\"/etc/passwd\" is an absolute path; clip paths are relative to the session's folder (--allow-any-path allows any path)"
        );
        assert_eq!(
            clip_path(&folder, "../x.wav", &strict).unwrap_err(),
            "\"../x.wav\" climbs out of the session's folder; clip paths must stay inside it (--allow-any-path allows any path)"
        );
        assert_eq!(
            clip_path(&folder, "", &strict).unwrap_err(),
            "the file name is empty; name a file in the session's folder"
        );
        let any = LoadOptions {
            allow_any_path: true,
        };
        assert_eq!(
            clip_path(&folder, "/etc/passwd", &any).unwrap(),
            Path::new("/etc/passwd")
        );
    }

    #[test]
    fn clips_are_read_side_by_side_in_order_and_the_first_error_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut paths = Vec::new();
        for i in 0..11 {
            let path = d.join(format!("c{i}.wav"));
            Clip::from_interleaved(
                48_000,
                1 + i % 3,
                vec![i as f32 / 16.0; (1 + i % 3) * (i + 1)],
            )
            .unwrap()
            .write_wav(&path)
            .unwrap();
            paths.push(path);
        }
        std::fs::write(d.join("c4.wav"), b"RIFF junk").unwrap();
        let borrowed: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let read = read_clips(&borrowed);
        assert_eq!(read.len(), 11);
        for (i, clip) in read.iter().enumerate() {
            match clip {
                Ok(c) => {
                    assert_ne!(i, 4);
                    assert_eq!((c.channels(), c.frames()), (1 + i % 3, i + 1));
                    assert_eq!(c.samples()[0], i as f32 / 16.0);
                }
                Err(e) => {
                    assert_eq!(i, 4);
                    assert!(e.to_string().starts_with(&paths[4].display().to_string()));
                }
            }
        }
        assert!(read_clips(&[]).is_empty());
        // In a session, a clip that cannot be read is reported before a
        // later clip's bad path, as reading them one by one would.
        let session = d.join("s.json");
        let text = |clips: &str| {
            format!(
                r#"{{ "frame_rate": 48000, "channels": 2, "frames": 10, "clips": {{ {clips} }},
                     "playspecs": [], "commands": [] }}"#
            )
        };
        std::fs::write(
            &session,
            text(r#""a": "c0.wav", "b": "c4.wav", "c": "../x.wav""#),
        )
        .unwrap();
        let err = Session::load(&session).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: clips.b: ", session.display())),
            "{err}"
        );
        std::fs::write(
            &session,
            text(r#""a": "c0.wav", "c": "../x.wav", "b": "c4.wav""#),
        )
        .unwrap();
        let err = Session::load(&session).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: clips.c: ", session.display())),
            "{err}"
        );
        std::fs::write(&session, text(r#""a": "c0.wav", "b": "c1.wav""#)).unwrap();
        let loaded = Session::load(&session).unwrap();
        let real = |p: &Path| std::fs::canonicalize(p).unwrap();
        assert_eq!(loaded.clip_files, [real(&paths[0]), real(&paths[1])]);
    }
}
