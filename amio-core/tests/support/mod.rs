//! Test support: a rig around a stepped engine, and a reference model that
//! follows SPEC.md frame by frame, written independently of the engine.
#![allow(dead_code, clippy::unwrap_used)]

use amio_core::{
    Clip, Config, Engine, Entry, Event, InputChunk, Interface, MixKernel, Outcome, OutcomeKind,
    Playspec, StreamInfo,
};

pub const RATE: u32 = 48000;

/// A stream's info for tests.
pub fn info(
    out_channels: usize,
    in_channels: usize,
    max_period: usize,
    latency: (u64, u64),
) -> StreamInfo {
    StreamInfo {
        backend: "test".into(),
        device: "test".into(),
        frame_rate: RATE,
        period: max_period,
        max_period,
        in_channels,
        out_channels,
        capture_latency: latency.0,
        playback_latency: latency.1,
    }
}

/// A clip whose sample at frame f, channel c is `base + f * 0.001 + c * 0.0001`.
pub fn ramp(channels: usize, frames: usize, base: f32) -> Clip {
    let samples = (0..frames * channels)
        .map(|i| base + (i / channels) as f32 * 0.001 + (i % channels) as f32 * 0.0001)
        .collect();
    Clip::from_interleaved(RATE, channels, samples).unwrap()
}

/// The input sample a rig feeds at stream frame `s`, channel `c`.
pub fn input_sample(s: u64, c: usize) -> f32 {
    (s % 1_000_000) as f32 + c as f32 * 0.25
}

/// An interface and its engine, stepped by hand.
pub struct Rig {
    pub interface: Interface,
    pub engine: Engine,
    pub oc: usize,
    pub ic: usize,
}

impl Rig {
    pub fn new(
        oc: usize,
        ic: usize,
        max_period: usize,
        latency: (u64, u64),
        config: &Config,
    ) -> Rig {
        let (interface, engine) =
            Interface::new(&info(oc, ic, max_period, latency), config).unwrap();
        Rig {
            interface,
            engine,
            oc,
            ic,
        }
    }

    pub fn simple(oc: usize) -> Rig {
        Rig::new(oc, 0, 64, (0, 0), &Config::default())
    }

    /// Renders `frames` frames in periods of `block` frames, feeding
    /// [`input_sample`] as input; returns the output.
    pub fn render(&mut self, frames: usize, block: usize) -> Vec<f32> {
        let mut sizes = std::iter::repeat(block);
        self.render_blocks(frames, || sizes.next().unwrap())
    }

    /// Renders with period sizes drawn from `next_block`.
    pub fn render_blocks(
        &mut self,
        frames: usize,
        mut next_block: impl FnMut() -> usize,
    ) -> Vec<f32> {
        let mut out = vec![0.0; frames * self.oc];
        let mut done = 0;
        while done < frames {
            let n = next_block()
                .clamp(1, self.engine.max_period())
                .min(frames - done);
            let s0 = self.engine.stream_frame();
            let ic = self.ic;
            let input = self.engine.input_buffer(n);
            for (i, x) in input.iter_mut().enumerate() {
                *x = input_sample(s0 + (i / ic) as u64, i % ic);
            }
            let o = self.engine.render(n);
            out[done * self.oc..(done + n) * self.oc].copy_from_slice(o);
            done += n;
        }
        out
    }

    pub fn outcomes(&mut self) -> Vec<Outcome> {
        outcomes(self.interface.events())
    }

    pub fn chunks(&mut self) -> Vec<InputChunk> {
        std::iter::from_fn(|| self.interface.read_input()).collect()
    }
}

pub fn outcomes(events: Vec<Event>) -> Vec<Outcome> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Outcome(o) => Some(o),
            _ => None,
        })
        .collect()
}

/// A command of a test session, at a target stream frame.
#[derive(Clone, Debug)]
pub enum Cmd {
    Schedule {
        playspec: usize,
        insert_at: i64,
        start_from: i64,
    },
    Roll,
    Stop,
    Locate(i64),
}

/// A session: playspecs and timed commands (targets in issue order need not
/// be sorted).
#[derive(Clone, Debug)]
pub struct Session {
    pub out_channels: usize,
    pub clamp: bool,
    pub playspecs: Vec<Vec<Entry>>,
    pub commands: Vec<(u64, Cmd)>,
}

impl Session {
    /// Issues every command to the interface.
    pub fn issue(&self, interface: &mut Interface) -> Vec<u64> {
        let built: Vec<Playspec> = self
            .playspecs
            .iter()
            .map(|es| Playspec::new(es.clone()).unwrap())
            .collect();
        let mut ids = Vec::new();
        for (at, cmd) in &self.commands {
            match cmd {
                Cmd::Schedule {
                    playspec,
                    insert_at,
                    start_from,
                } => ids.push(
                    interface
                        .schedule(&built[*playspec], *insert_at, *start_from, Some(*at))
                        .unwrap(),
                ),
                Cmd::Roll => interface.roll(Some(*at)).unwrap(),
                Cmd::Stop => interface.stop(Some(*at)).unwrap(),
                Cmd::Locate(p) => interface.locate(*p, Some(*at)).unwrap(),
            }
        }
        ids
    }

    pub fn config(&self) -> Config {
        Config {
            clamp: self.clamp,
            command_capacity: self.commands.len().max(1),
            ..Config::default()
        }
    }
}

/// The usual opening: schedule playspec 0 at frame 0 and roll.
pub fn opening() -> Vec<(u64, Cmd)> {
    vec![
        (
            0,
            Cmd::Schedule {
                playspec: 0,
                insert_at: 0,
                start_from: 0,
            },
        ),
        (0, Cmd::Roll),
    ]
}

/// What the reference model produced.
pub struct ModelRun {
    pub output: Vec<f32>,
    pub outcomes: Vec<Outcome>,
    /// (id, position, rolling) of every output frame.
    pub tags: Vec<(u64, i64, bool)>,
}

/// SPEC.md's "One frame of the engine", literally, one frame at a time.
pub fn model(session: &Session, frames: u64) -> ModelRun {
    let oc = session.out_channels;
    // Ids are given when a schedule is issued: 1, 2, 3… in issue order.
    let mut ids = 0u64..;
    let mut commands: Vec<(u64, usize, Cmd, u64)> = session
        .commands
        .iter()
        .enumerate()
        .map(|(seq, (at, c))| {
            let id = if matches!(c, Cmd::Schedule { .. }) {
                ids.next().unwrap() + 1
            } else {
                0
            };
            (*at, seq, c.clone(), id)
        })
        .collect();
    commands.sort_by_key(|(at, seq, ..)| (*at, *seq));
    let mut next_cmd = 0;
    let (mut p, mut rolling) = (0i64, false);
    let mut current: (u64, Vec<Entry>) = (0, Vec::new());
    let mut change: Option<(u64, Vec<Entry>, i64, i64)> = None;
    let mut run = ModelRun {
        output: Vec::new(),
        outcomes: Vec::new(),
        tags: Vec::new(),
    };
    for s in 0..frames {
        // 1. Commands whose target is s, in issue order.
        while next_cmd < commands.len() && commands[next_cmd].0 == s {
            match &commands[next_cmd].2 {
                Cmd::Schedule {
                    playspec,
                    insert_at,
                    start_from,
                } => {
                    let id = commands[next_cmd].3;
                    if let Some((old, ..)) = change.take() {
                        run.outcomes.push(Outcome {
                            id: old,
                            kind: OutcomeKind::Superseded,
                            stream_frame: s,
                            position: p,
                        });
                    }
                    change = Some((
                        id,
                        session.playspecs[*playspec].clone(),
                        *insert_at,
                        *start_from,
                    ));
                }
                Cmd::Roll => rolling = true,
                Cmd::Stop => rolling = false,
                Cmd::Locate(to) => p = *to,
            }
            next_cmd += 1;
        }
        // 2. The pending change.
        if change.as_ref().is_some_and(|c| p >= c.2) {
            let (id, entries, insert_at, start_from) = change.take().unwrap();
            p = start_from.wrapping_add(p.wrapping_sub(insert_at));
            current = (id, entries);
            run.outcomes.push(Outcome {
                id,
                kind: OutcomeKind::Applied,
                stream_frame: s,
                position: p,
            });
        }
        run.tags.push((current.0, p, rolling));
        // 3. Output.
        let mut frame = vec![0.0f32; oc];
        if rolling {
            for e in &current.1 {
                for (o, acc) in frame.iter_mut().enumerate() {
                    for c in contributions(e, p, o) {
                        *acc += c;
                    }
                }
            }
            if session.clamp {
                for x in &mut frame {
                    *x = x.clamp(-1.0, 1.0);
                }
            }
            p = p.wrapping_add(1);
        }
        run.output.extend(frame);
    }
    run
}

/// The contributions of entry `e` to output channel `o` at position `p`, one
/// per occurrence, in order of k.
pub fn contributions(e: &Entry, p: i64, o: usize) -> Vec<f32> {
    let len = (e.range.end - e.range.start) as i128;
    let t = e.play_at as i128;
    let p = p as i128;
    let ks: Vec<i128> = if e.repeat == 0 {
        vec![0]
    } else {
        let r = e.repeat as i128;
        // k with t + k r <= p < t + k r + len.
        let hi = (p - t).div_euclid(r);
        let mut k = hi;
        let mut ks = Vec::new();
        while t + k * r + len > p {
            ks.push(k);
            k -= 1;
        }
        ks.reverse();
        ks
    };
    let mut out = Vec::new();
    for k in ks {
        let start = t + k * e.repeat as i128;
        let j = p - start;
        if j < 0 || j >= len {
            continue;
        }
        let j = j as u64;
        let len = len as u64;
        let mut fade = 1.0f64;
        if j < e.fade_in {
            fade *= (j as f64 + 0.5) / e.fade_in as f64;
        }
        if j >= len - e.fade_out {
            fade *= (len as f64 - j as f64 - 0.5) / e.fade_out as f64;
        }
        let frame = e.clip.frame((e.range.start + j) as usize).unwrap();
        let x = frame[o % e.clip.channels()];
        out.push((e.gains[o] * fade as f32) * x);
    }
    out
}

/// Renders a session through the engine with period sizes from `blocks`.
pub fn engine_run(
    session: &Session,
    frames: u64,
    max_period: usize,
    blocks: impl FnMut() -> usize,
) -> (Vec<f32>, Vec<Outcome>) {
    engine_run_kernel(session, MixKernel::Auto, frames, max_period, blocks)
}

/// The mixing kernels this CPU has, [`MixKernel::Auto`] excluded.
pub fn kernels() -> Vec<MixKernel> {
    MixKernel::ALL
        .into_iter()
        .filter(|k| *k != MixKernel::Auto && k.is_available())
        .collect()
}

/// [`engine_run`] with the given mixing kernel.
pub fn engine_run_kernel(
    session: &Session,
    kernel: MixKernel,
    frames: u64,
    max_period: usize,
    blocks: impl FnMut() -> usize,
) -> (Vec<f32>, Vec<Outcome>) {
    let config = Config {
        mix_kernel: kernel,
        ..session.config()
    };
    let mut rig = Rig::new(session.out_channels, 0, max_period, (0, 0), &config);
    assert_eq!(
        rig.interface.mix_kernel(),
        kernel.resolve().unwrap(),
        "the kernel asked for runs"
    );
    session.issue(&mut rig.interface);
    let out = rig.render_blocks(frames as usize, blocks);
    let outcomes = rig.outcomes();
    (out, outcomes)
}
