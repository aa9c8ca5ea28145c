//! The output does not depend on the block size: random sessions (entries,
//! swaps, locates, roll/stop) rendered in random period sizes are identical
//! bit for bit, and identical to SPEC.md's per-frame model — with every
//! mixing kernel the CPU has, and at the ends of the timeline.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod support;

use amio_core::{Clip, Config, Entry, Interface, MixKernel};
use proptest::prelude::*;
use support::*;

const FRAMES: u64 = 300;

fn clip_strategy() -> impl Strategy<Value = Clip> {
    (1usize..=3, 0usize..40).prop_flat_map(|(channels, frames)| {
        prop::collection::vec(-1.0f32..1.0, channels * frames)
            .prop_map(move |s| Clip::from_interleaved(RATE, channels, s).unwrap())
    })
}

fn entry_strategy(clips: Vec<Clip>, oc: usize) -> impl Strategy<Value = Entry> {
    let n = clips.len();
    (
        0..n,
        any::<(u16, u16)>(),
        -80i64..120,
        prop_oneof![2 => Just(0i64), 3 => 1i64..60],
        prop::collection::vec(-1.5f32..1.5, oc),
        any::<(u16, u16)>(),
    )
        .prop_map(move |(c, (x, y), play_at, repeat, gains, (fi, fo))| {
            let clip = clips[c].clone();
            let frames = clip.frames() as u64 + 1;
            let (a, b) = {
                let (x, y) = (u64::from(x) % frames, u64::from(y) % frames);
                (x.min(y), x.max(y))
            };
            let len = b - a;
            let fade_in = u64::from(fi) % (len + 1);
            let fade_out = u64::from(fo) % (len - fade_in + 1);
            Entry::new(clip, gains)
                .range(a..b)
                .play_at(play_at)
                .repeat(repeat)
                .fades(fade_in, fade_out)
        })
}

fn cmd_strategy(playspecs: usize) -> impl Strategy<Value = (u64, Cmd)> {
    (
        0..FRAMES,
        prop_oneof![
            3 => (0..playspecs, -60i64..200, -100i64..100).prop_map(|(playspec, insert_at, start_from)| Cmd::Schedule { playspec, insert_at, start_from }),
            2 => Just(Cmd::Roll),
            1 => Just(Cmd::Stop),
            2 => (-100i64..200).prop_map(Cmd::Locate),
        ],
    )
}

fn session_strategy() -> impl Strategy<Value = Session> {
    (
        1usize..=4,
        prop::collection::vec(clip_strategy(), 1..4),
        any::<bool>(),
    )
        .prop_flat_map(|(oc, clips, clamp)| {
            let playspec = prop::collection::vec(entry_strategy(clips, oc), 0..7);
            (Just(oc), prop::collection::vec(playspec, 1..4), Just(clamp))
        })
        .prop_flat_map(|(oc, playspecs, clamp)| {
            let n = playspecs.len();
            let commands = prop::collection::vec(cmd_strategy(n), 0..14);
            // Start by scheduling something and rolling, so most cases sound.
            (Just(oc), Just(playspecs), Just(clamp), commands).prop_map(
                move |(oc, playspecs, clamp, mut cmds)| {
                    let mut commands = opening();
                    commands.append(&mut cmds);
                    Session {
                        out_channels: oc,
                        clamp,
                        playspecs,
                        commands,
                    }
                },
            )
        })
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn output_is_independent_of_block_size(
        session in session_strategy(),
        blocks in prop::collection::vec(1usize..=130, 1..20),
        max_period in prop_oneof![Just(1usize), Just(64), Just(256), Just(1000)],
    ) {
        let model = model(&session, FRAMES);
        let (single, _) = engine_run_kernel(&session, MixKernel::Baseline, FRAMES, 1, || 1);
        prop_assert_eq!(bits(&single), bits(&model.output));
        for kernel in kernels() {
            let mut sizes = blocks.iter().copied().cycle();
            let (varied, varied_outcomes) =
                engine_run_kernel(&session, kernel, FRAMES, max_period, || sizes.next().unwrap());
            prop_assert_eq!(bits(&varied), bits(&single), "kernel {:?}", kernel);
            prop_assert_eq!(&varied_outcomes, &model.outcomes);
        }
    }

    #[test]
    fn the_ends_of_the_timeline_are_mixed_exactly(
        session in session_strategy(),
        base in prop_oneof![
            Just(i64::MAX - 150),
            Just(i64::MIN),
            Just(i64::MIN + 40),
            Just(i64::MAX - 40),
        ],
        blocks in prop::collection::vec(1usize..=130, 1..20),
    ) {
        // The same session moved to the end (or start) of the timeline:
        // occurrences straddle i64::MAX / i64::MIN, repeats reach back past
        // the start, and the position wraps.
        let mut session = session;
        for entries in &mut session.playspecs {
            for e in entries.iter_mut() {
                e.play_at = e.play_at.wrapping_add(base);
            }
        }
        for (_, cmd) in &mut session.commands {
            match cmd {
                Cmd::Schedule { insert_at, start_from, .. } => {
                    *insert_at = insert_at.wrapping_add(base);
                    *start_from = start_from.wrapping_add(base);
                }
                Cmd::Locate(p) => *p = p.wrapping_add(base),
                Cmd::Roll | Cmd::Stop => {}
            }
        }
        let model = model(&session, FRAMES);
        for kernel in kernels() {
            let mut sizes = blocks.iter().copied().cycle();
            let (out, outcomes) =
                engine_run_kernel(&session, kernel, FRAMES, 256, || sizes.next().unwrap());
            prop_assert_eq!(bits(&out), bits(&model.output), "kernel {:?}", kernel);
            prop_assert_eq!(&outcomes, &model.outcomes);
        }
    }
}

#[test]
fn every_kernel_the_cpu_has_is_tested() {
    let have = kernels();
    assert!(have.contains(&MixKernel::Baseline));
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(
            have.contains(&MixKernel::Avx2),
            std::arch::is_x86_feature_detected!("avx2")
        );
        assert_eq!(
            have.contains(&MixKernel::Avx512),
            std::arch::is_x86_feature_detected!("avx512f")
        );
    }
}

#[test]
fn a_kernel_the_cpu_lacks_is_refused() {
    for kernel in MixKernel::ALL {
        let config = Config {
            mix_kernel: kernel,
            ..Config::default()
        };
        let made = Interface::new(&info(2, 0, 64, (0, 0)), &config);
        match made {
            Ok((interface, _)) => {
                assert!(kernel.is_available());
                assert_eq!(Some(interface.mix_kernel()), kernel.resolve());
            }
            Err(e) => {
                assert!(!kernel.is_available(), "{kernel:?}: {e}");
                assert!(e.to_string().contains("mix_kernel"), "{e}");
            }
        }
    }
}

#[test]
fn fixed_block_sizes_agree_on_a_busy_session() {
    // A dense session: overlapping repeats, fades, swaps and locates.
    let clips = [ramp(2, 37, -0.5), ramp(1, 23, 0.1), ramp(3, 50, -0.2)];
    let entries = |shift: i64| -> Vec<Entry> {
        vec![
            Entry::new(clips[0].clone(), vec![0.7, -0.4])
                .range(3..37)
                .play_at(shift)
                .repeat(11)
                .fades(5, 7),
            Entry::new(clips[1].clone(), vec![0.3, 0.9])
                .play_at(shift - 40)
                .repeat(23),
            Entry::new(clips[2].clone(), vec![1.1, 0.2])
                .range(10..50)
                .play_at(shift + 100)
                .fades(0, 40),
            Entry::new(clips[0].clone(), vec![-0.8, 0.8])
                .range(0..5)
                .play_at(shift + 7)
                .repeat(2),
        ]
    };
    let session = Session {
        out_channels: 2,
        clamp: true,
        playspecs: vec![entries(0), entries(13), entries(-500)],
        commands: [
            opening(),
            vec![
                (
                    100,
                    Cmd::Schedule {
                        playspec: 1,
                        insert_at: 300,
                        start_from: 20,
                    },
                ),
                (250, Cmd::Locate(290)),
                (
                    400,
                    Cmd::Schedule {
                        playspec: 2,
                        insert_at: 500,
                        start_from: 0,
                    },
                ),
                (
                    410,
                    Cmd::Schedule {
                        playspec: 0,
                        insert_at: 450,
                        start_from: -30,
                    },
                ),
                (600, Cmd::Stop),
                (640, Cmd::Roll),
                (700, Cmd::Locate(-77)),
            ],
        ]
        .concat(),
    };
    let frames = 1200;
    let model = model(&session, frames);
    for kernel in kernels() {
        for block in [1usize, 64, 256, 1000] {
            let (out, outcomes) = engine_run_kernel(&session, kernel, frames, block, || block);
            assert_eq!(bits(&out), bits(&model.output), "{kernel:?}, block {block}");
            assert_eq!(outcomes, model.outcomes, "{kernel:?}, block {block}");
        }
    }
    assert!(model.output.iter().filter(|x| **x != 0.0).count() > 1500);
}
