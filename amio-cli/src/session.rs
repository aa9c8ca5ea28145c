//! Session files (SPEC.md, "Session files"): read, checked and turned into
//! clips, playspecs and timed commands.
//!
//! Every refusal names the file, the place in it (`playspecs[0].entries[2]`,
//! `commands[3]`, `clips.drums`) and the rule.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use amio_core::{Clip, Entry, Error, Interface, Playspec};
use serde::Deserialize;

/// Why a session file was refused.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {place}{message}")]
pub struct SessionError {
    /// The session file.
    pub file: PathBuf,
    /// Where in it (`playspecs[0].entries[2]: `), or empty.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSession {
    frame_rate: u32,
    channels: usize,
    #[serde(default = "yes")]
    clamp: bool,
    clips: BTreeMap<String, String>,
    playspecs: Vec<FilePlayspec>,
    commands: Vec<FileCommand>,
    frames: u64,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlayspec {
    entries: Vec<FileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    clip: String,
    range: Option<[i64; 2]>,
    #[serde(default)]
    play_at: i64,
    #[serde(default)]
    repeat: i64,
    gains: Option<Vec<f32>>,
    #[serde(default)]
    fade_in: i64,
    #[serde(default)]
    fade_out: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCommand {
    at: u64,
    schedule: Option<usize>,
    insert_at: Option<i64>,
    start_from: Option<i64>,
    roll: Option<bool>,
    locate: Option<i64>,
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
}

impl Session {
    /// Reads and checks a session file, loading its clips (paths relative to
    /// the file).
    pub fn load(path: &Path) -> Result<Session, SessionError> {
        let fail = |place: String, message: String| SessionError {
            file: path.to_path_buf(),
            place,
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(String::new(), e.to_string()))?;
        let file: FileSession =
            serde_json::from_str(&text).map_err(|e| fail(String::new(), e.to_string()))?;
        Session::from_file(file, path)
    }

    /// Parses a session from JSON text; clip paths are relative to `base`.
    pub fn parse(text: &str, name: &Path) -> Result<Session, SessionError> {
        let file: FileSession = serde_json::from_str(text).map_err(|e| SessionError {
            file: name.to_path_buf(),
            place: String::new(),
            message: e.to_string(),
        })?;
        Session::from_file(file, name)
    }

    fn from_file(file: FileSession, path: &Path) -> Result<Session, SessionError> {
        let fail = |place: String, message: String| SessionError {
            file: path.to_path_buf(),
            place: if place.is_empty() {
                place
            } else {
                format!("{place}: ")
            },
            message,
        };
        if file.frame_rate == 0 {
            return Err(fail("frame_rate".into(), "must be above 0".into()));
        }
        if file.channels == 0 {
            return Err(fail("channels".into(), "must be at least 1".into()));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut clips = BTreeMap::new();
        for (name, file_name) in &file.clips {
            let place = format!("clips.{name}");
            let clip = Clip::from_file(base.join(file_name))
                .map_err(|e| fail(place.clone(), e.to_string()))?;
            if clip.frame_rate() != file.frame_rate {
                return Err(fail(
                    place,
                    format!(
                        "{file_name} is {} Hz, the session runs at {} Hz (resample the clip first)",
                        clip.frame_rate(),
                        file.frame_rate
                    ),
                ));
            }
            clips.insert(name.clone(), clip);
        }
        let mut playspecs = Vec::new();
        for (p, spec) in file.playspecs.iter().enumerate() {
            let mut entries = Vec::new();
            for (e, entry) in spec.entries.iter().enumerate() {
                let place = format!("playspecs[{p}].entries[{e}]");
                let clip = clips.get(&entry.clip).ok_or_else(|| {
                    fail(
                        place.clone(),
                        format!("no clip named {:?} in clips", entry.clip),
                    )
                })?;
                let frames = clip.frames() as i64;
                let [a, b] = entry.range.unwrap_or([0, frames]);
                for (field, value) in [
                    ("range start", a),
                    ("range end", b),
                    ("fade_in", entry.fade_in),
                    ("fade_out", entry.fade_out),
                ] {
                    if value < 0 {
                        return Err(fail(
                            place.clone(),
                            format!(
                                "{field} {value} is negative (the rule is 0 <= a <= b, fades >= 0)"
                            ),
                        ));
                    }
                }
                let gains = entry
                    .gains
                    .clone()
                    .unwrap_or_else(|| vec![1.0; file.channels]);
                entries.push(
                    Entry::new(clip.clone(), gains)
                        .range(a as u64..b as u64)
                        .play_at(entry.play_at)
                        .repeat(entry.repeat)
                        .fades(entry.fade_in as u64, entry.fade_out as u64),
                );
            }
            let built = Playspec::new(entries)
                .and_then(|ps| ps.check_for(file.channels, file.frame_rate).map(|()| ps))
                .map_err(|err| match err {
                    Error::Entry { entry, rule } => {
                        fail(format!("playspecs[{p}].entries[{entry}]"), rule.to_string())
                    }
                    other => fail(format!("playspecs[{p}]"), other.to_string()),
                })?;
            playspecs.push(built);
        }
        let mut commands = Vec::new();
        let mut last_at = 0;
        for (i, c) in file.commands.iter().enumerate() {
            let place = format!("commands[{i}]");
            if i > 0 && c.at < last_at {
                return Err(fail(
                    place,
                    format!("at {} comes before commands[{}]'s at {last_at} (commands must be in order of at)", c.at, i - 1),
                ));
            }
            last_at = c.at;
            let command = match (c.schedule, c.roll, c.locate) {
                (Some(playspec), None, None) => {
                    if playspec >= playspecs.len() {
                        return Err(fail(
                            place,
                            format!(
                                "schedule {playspec}, but the playspecs are numbered 0 to {}",
                                playspecs.len().saturating_sub(1)
                            ),
                        ));
                    }
                    Command::Schedule {
                        playspec,
                        insert_at: c.insert_at.unwrap_or(0),
                        start_from: c.start_from.unwrap_or(0),
                    }
                }
                (None, Some(roll), None) => Command::Roll(roll),
                (None, None, Some(position)) => Command::Locate(position),
                _ => {
                    return Err(fail(
                        place,
                        "needs exactly one of schedule, roll and locate".into(),
                    ));
                }
            };
            if !matches!(command, Command::Schedule { .. })
                && (c.insert_at.is_some() || c.start_from.is_some())
            {
                return Err(fail(
                    place,
                    "insert_at and start_from go with schedule".into(),
                ));
            }
            commands.push((c.at, command));
        }
        Ok(Session {
            frame_rate: file.frame_rate,
            channels: file.channels,
            clamp: file.clamp,
            playspecs,
            commands,
            frames: file.frames,
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
                } => ids.push(interface.schedule(
                    &self.playspecs[*playspec],
                    *insert_at,
                    *start_from,
                    Some(*at),
                )?),
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
    })
}
