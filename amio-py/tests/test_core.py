"""amio's own Python API (amio.core): clips, playspecs, streams, commands at
target frames, typed events, tagged input, meters, the fader."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

import amio
import amio.core as ac

from conftest import run


def ramp(frames, channels=1, rate=48000, scale=1 / 1024):
    data = (np.arange(frames * channels, dtype=np.float32) * scale).reshape(frames, channels)
    return ac.Clip(data, rate)


# -- clips ---------------------------------------------------------------------------


def test_clip_numpy_round_trip():
    data = np.array([[0.5, -0.5], [0.25, 1.5]], np.float64)
    c = ac.Clip(data, 44100)
    assert (c.frames, c.channels, c.frame_rate, len(c)) == (2, 2, 44100, 2)
    out = c.to_numpy()
    assert out.dtype == np.float32 and out.shape == (2, 2) and out.flags.owndata
    np.testing.assert_array_equal(out, data.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(c), out)
    assert ac.Clip(np.zeros(5), 8000).channels == 1
    assert ac.Clip(np.zeros((0, 3)), 8000).frames == 0
    assert repr(c) == "amio.Clip(frames=2, channels=2, frame_rate=44100)"


def test_clip_refusals():
    with pytest.raises(amio.InvalidArgument, match=r"clip sample at frame 1, channel 0 is not finite"):
        ac.Clip([0.0, math.nan], 48000)
    with pytest.raises(amio.InvalidArgument, match="3 dimensions"):
        ac.Clip(np.zeros((1, 1, 1)), 48000)
    with pytest.raises(amio.InvalidArgument, match="not an array of numbers"):
        ac.Clip(["a", "b"], 48000)
    with pytest.raises(amio.InvalidArgument, match="frame rate"):
        ac.Clip([0.0], 0)
    with pytest.raises(amio.InvalidArgument, match="at least one channel"):
        ac.Clip(np.zeros((4, 0)), 48000)
    with pytest.raises(OverflowError):
        ac.Clip([0.0], -1)


def test_clip_tools():
    s = ac.Clip.silence(48000, 2, 3)
    assert s.to_numpy().tolist() == [[0, 0]] * 3
    sine = ac.Clip.sine(48000, 1, 8, 12000.0, 0.5)
    assert sine.to_numpy()[:, 0].tolist() == [0.0, 0.5, 0.0, -0.5, 0.0, 0.5, 0.0, -0.5]
    a, b = ramp(2), ramp(3)
    assert ac.Clip.concat([a, b]).to_numpy()[:, 0].tolist() == [0, 1 / 1024, 0, 1 / 1024, 2 / 1024]
    with pytest.raises(amio.InvalidArgument, match="clip 1 has channels 2, clip 0 has 1"):
        ac.Clip.concat([a, ramp(2, 2)])
    st = ac.Clip.stereo(a, ac.Clip([1.0, 1.0], 48000))
    assert st.to_numpy().tolist() == [[0, 1], [1 / 1024, 1]]
    assert st.channel(1).to_numpy()[:, 0].tolist() == [1, 1]
    assert a.resize(4).to_numpy()[:, 0].tolist() == [0, 1 / 1024, 0, 0]
    o = ac.Clip.silence(48000, 1, 4).overwrite(ac.Clip([1.0, 2.0], 48000), 3, extend=True)
    assert o.to_numpy()[:, 0].tolist() == [0, 0, 0, 1, 2]
    r = ac.Clip.silence(44100, 1, 441).resample(48000)
    assert (r.frames, r.frame_rate) == (480, 48000)


def test_clip_files(tmp_path):
    c = ramp(100, 2)
    c.write(str(tmp_path / "x.wav"))
    back = ac.Clip.from_file(str(tmp_path / "x.wav"))
    np.testing.assert_array_equal(back.to_numpy(), c.to_numpy())
    c.write_flac(str(tmp_path / "x16.flac"), 16)
    back = ac.Clip.from_file(str(tmp_path / "x16.flac"))
    np.testing.assert_array_equal(back.to_numpy(), np.round(c.to_numpy() * 32768) / 32768)
    with pytest.raises(amio.FormatError, match="16 or 24 bits"):
        c.write_flac(str(tmp_path / "x.flac"), 20)
    c.write_wav(str(tmp_path / "y.data"))
    assert ac.Clip.from_file(str(tmp_path / "y.data")).frames == 100  # sniffed


def test_clip_meter():
    sine = ac.Clip.sine(48000, 2, 48000, 1200.0, 1.0)
    starts, lengths, peak, rms = sine.meter(per_second=24)
    assert starts.tolist() == [2000 * j for j in range(24)]
    assert lengths.tolist() == [2000] * 24
    assert peak.shape == (24, 2) and peak.dtype == np.float32
    assert np.all(np.abs(rms - (-3.0103)) < 1e-3)
    assert np.all(peak == 0.0)
    starts, lengths, peak, rms = ac.Clip.silence(48000, 1, 10).meter(frames=4)
    assert lengths.tolist() == [4, 4, 2] and np.all(np.isneginf(rms))
    with pytest.raises(amio.InvalidArgument, match="exactly one"):
        sine.meter()
    with pytest.raises(amio.InvalidArgument, match="meter window"):
        sine.meter(frames=0)


def test_fader():
    assert ac.fader_gains(0.0, 0.0) == (1.0, 1.0)
    assert ac.fader_gains(0.0, -1.0) == (2.0, 0.0)
    l, r = ac.fader_gains(0.0, 1.0, "equal_power")
    assert l == pytest.approx(0.0, abs=1e-7) and r == pytest.approx(math.sqrt(2))
    assert ac.db_to_amplitude(20.0) == 10.0
    assert ac.amplitude_to_db(0.0) == -math.inf
    with pytest.raises(amio.InvalidArgument, match="pan"):
        ac.fader_gains(0.0, 2.0)
    with pytest.raises(amio.InvalidArgument, match="pan law"):
        ac.fader_gains(0.0, 0.0, "cubic")


# -- playspecs -----------------------------------------------------------------------


def test_entries_and_playspec_errors():
    c = ramp(10)
    e = ac.Entry(c, [1.0, 0.5], range=(2, 8), play_at=-3, repeat=100, fade_in=2, fade_out=1)
    assert (e.gains, e.range, e.play_at, e.repeat, e.fade_in, e.fade_out) == ([1.0, 0.5], (2, 8), -3, 100, 2, 1)
    assert e.clip.frames == 10
    p = ac.Playspec([e, ac.Entry(c, [1.0, 1.0])])
    assert len(p) == 2 and p.entries[0].range == (2, 8)
    cases = [
        (dict(range=(5, 2)), "range 5..2 runs backwards"),
        (dict(range=(0, 11)), "ends past the clip's 10 frames"),
        (dict(repeat=-1), "repeat -1 is negative"),
        (dict(fade_in=6, fade_out=5), "exceeds the range's 10 frames"),
    ]
    for kwargs, rule in cases:
        with pytest.raises(amio.EntryError) as err:
            ac.Playspec([ac.Entry(c, [1.0, 1.0]), ac.Entry(c, [1.0, 1.0], **kwargs)])
        assert err.value.entry == 1 and rule in err.value.rule
        assert str(err.value).startswith("playspec entry 1: ")
    with pytest.raises(amio.EntryError, match="gain 0 is inf"):
        ac.Playspec([ac.Entry(c, [1e40, 1.0])])


def test_render_and_block_size_independence():
    clip = ramp(50, 2)
    playspec = ac.Playspec(
        [
            ac.Entry(clip, [1.0, 0.5], range=(5, 45), play_at=3, repeat=37, fade_in=4, fade_out=6),
            ac.Entry(ramp(7), [0.25, -1.0], play_at=20),
        ]
    )
    outputs = [ac.render(playspec, 500, block=b) for b in (1, 7, 64, 256, 1000)]
    for out in outputs[1:]:
        np.testing.assert_array_equal(out, outputs[0])
    out = outputs[0]
    assert out.shape == (500, 2)
    # SPEC.md's formula, frame by frame.
    expected = np.zeros((500, 2), np.float64)
    data = clip.to_numpy().astype(np.float64)
    for p in range(500):
        for k in range(-20, 20):
            j = p - (3 + 37 * k)
            if 0 <= j < 40:
                f = 1.0
                if j < 4:
                    f *= (j + 0.5) / 4
                if j >= 40 - 6:
                    f *= (40 - j - 0.5) / 6
                f = np.float32(f)
                for o, g in enumerate((1.0, 0.5)):
                    expected[p, o] += np.float32(g) * f * data[5 + j, o]
        if 20 <= p < 27:
            expected[p, 0] += 0.25 * (p - 20) / 1024
            expected[p, 1] += -1.0 * (p - 20) / 1024
    np.testing.assert_allclose(out, np.clip(expected, -1, 1), rtol=1e-6, atol=1e-7)


def stepped(**kwargs):
    options = {"mode": "stepped"}
    options.update(kwargs.pop("options", {}))
    return ac.Stream.open("null", options=options, frame_rate=48000, **kwargs)


def test_commands_at_target_frames_and_outcomes():
    s = stepped(period=64, in_channels=0, out_channels=1)
    one = ac.Playspec([ac.Entry(ac.Clip([0.5], 48000), [1.0], repeat=1)])
    two = ac.Playspec([ac.Entry(ac.Clip([0.25], 48000), [1.0], repeat=1)])
    assert s.schedule(one, at=10) == 1
    s.roll(at=20)
    assert s.schedule(two, insert_at=100, start_from=1000, at=30) == 2
    s.stop(at=150)
    s.locate(5, at=160)
    assert s.unresolved() == [1, 2]
    s.start()
    out = s.step(200)[:, 0]
    # Rolling from 20, the position reaches 100 at stream frame 120.
    assert out.tolist() == [0.0] * 20 + [0.5] * 100 + [0.25] * 30 + [0.0] * 50
    events = s.events()
    outcomes = [e for e in events if isinstance(e, ac.Outcome)]
    assert outcomes == [ac.Outcome(1, "applied", 10, 0), ac.Outcome(2, "applied", 120, 1000)]
    assert outcomes[0].applied
    positions = [e for e in events if isinstance(e, ac.Position)]
    assert positions[-1] == ac.Position(200, 2, 5, False)
    assert s.position() == ac.Position(200, 2, 5, False)
    assert s.unresolved() == []
    s.close()
    assert s.closed and not s.running
    with pytest.raises(amio.StreamStateError, match="not running"):
        s.roll()


def test_superseded_and_dropped():
    s = stepped(period=16, in_channels=0, out_channels=1)
    p = ac.Playspec([])
    a = s.schedule(p, insert_at=10**6, at=0)
    b = s.schedule(p, insert_at=10**6, at=8)
    s.start()
    s.step(16)
    s.close()
    outcomes = [e for e in s.events() if isinstance(e, ac.Outcome)]
    assert outcomes == [ac.Outcome(a, "superseded", 8, 0), ac.Outcome(b, "dropped", 16, 0)]


def test_input_tagged_with_latency():
    # L = 16 + 24 = 40: input frame s is tagged with the output tag of s - 40.
    s = stepped(period=32, in_channels=1, out_channels=1, options={"capture_latency": 16, "playback_latency": 24})
    s.schedule(ac.Playspec([]), at=0)
    s.roll(at=50)
    s.start()
    signal = np.arange(200, dtype=np.float32).reshape(200, 1)
    s.step(200, signal)
    chunks = []
    while (c := s.read_input()) is not None:
        chunks.append(c)
    got = [(c.stream_frame, c.id, c.position, c.rolling, c.frames) for c in chunks]
    # Before frame 40: the tag before stream frame 0 (id 0); then id 1
    # stopped until output frame 50 (input frame 90); rolling after.
    assert got == [(0, 0, 0, False, 40), (40, 1, 0, False, 50), (90, 1, 0, True, 110)]
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), signal)
    latency = [e for e in s.events() if isinstance(e, ac.Latency)]
    assert latency == [ac.Latency(0, 40, 40)]


def test_meters_xruns_faults_and_notices():
    s = stepped(period=100, in_channels=1, out_channels=1, metering="period")
    s.schedule(ac.Playspec([ac.Entry(ac.Clip([0.5], 48000), [1.0], repeat=1)]), at=0)
    s.roll(at=0)
    s.start()
    s.step(100, np.full((100, 1), 0.25, np.float32))
    s.inject_xrun()
    s.step(100)
    s.inject_fault("device_gone", "unplugged")
    events = s.events()
    meters = [e for e in events if isinstance(e, ac.Meter)]
    assert meters[0].stream_frame == 0 and meters[0].frames == 100
    assert meters[0].output[0].peak_db == pytest.approx(20 * math.log10(0.5))
    assert meters[0].input[0].rms_db == pytest.approx(20 * math.log10(0.25))
    assert [e for e in events if isinstance(e, ac.Xrun)] == [ac.Xrun(100, 1, 1)]
    assert [e for e in events if isinstance(e, ac.Fatal)] == [ac.Fatal("device_gone", "unplugged")]
    with pytest.raises(amio.InvalidArgument, match="kind"):
        s.inject_fault("melted", "x")
    with pytest.raises(amio.InvalidArgument, match="metering"):
        stepped(metering="sometimes")


def test_stream_refusals():
    with pytest.raises(amio.BackendUnavailable, match="no backend \"nonesuch\""):
        ac.Stream.open("nonesuch")
    with pytest.raises(amio.ConfigError, match="mode") as e:
        ac.Stream.open("null", options={"mode": "sideways"})
    assert e.value.field == "mode"
    with pytest.raises(amio.ConfigError, match="is not key=value"):
        ac.Stream.open("null", options="nonsense")
    with pytest.raises(amio.DriverError, match="no device") as e:
        ac.Stream.open("null", device="speakers")
    assert e.value.kind == "no_device"
    s = stepped(period=16, in_channels=2, out_channels=2)
    s.start()
    with pytest.raises(amio.InvalidArgument, match=r"step input: 3 frames of 2 channels"):
        s.step(16, np.zeros((3, 2)))
    with pytest.raises(TypeError, match="amio.core.Playspec"):
        s.schedule([])
    paced = ac.Stream.open("null", options={"mode": "paced"}, period=64)
    with pytest.raises(amio.StreamStateError):
        paced.step(64)  # not stepped: the driver's own thread runs it
    paced.close()


def test_backends_and_devices():
    names = [b.name for b in ac.backends()]
    assert names[0] == "null" and {"jack", "alsa", "cpal"} <= set(names)
    assert all(b.loads for b in ac.backends()), ac.backends()
    assert amio.backends() == ac.backends()
    (null,) = ac.devices("null")
    assert null.name == "null"
    with pytest.raises(amio.BackendUnavailable):
        ac.devices("nonesuch")


def test_async_iteration_is_woken_by_the_stream():
    async def main():
        s = ac.Stream.open("null", options={"mode": "paced"}, frame_rate=48000, period=480, in_channels=1, out_channels=1)
        s.schedule(ac.Playspec([]), at=0)
        s.roll(at=0)
        s.start()
        seen = []
        async for event in s:
            seen.append(event)
            if isinstance(event, ac.Position) and event.stream_frame >= 4800:
                break
        chunk = await asyncio.wait_for(s.next_input(), 2)
        assert chunk is not None and chunk.samples.shape[1] == 1
        await s.__aexit__(None, None, None)
        assert any(isinstance(e, ac.Outcome) and e.applied for e in seen)
        frames = [e.stream_frame for e in seen if isinstance(e, ac.Position)]
        assert frames == sorted(frames) and frames[-1] >= 4800
        # Closed: the iterator ends once everything is read.
        rest = [e async for e in s]
        assert all(not isinstance(e, ac.Position) or e.stream_frame <= s.position().stream_frame for e in rest)
        chunks = [c async for c in s.input_chunks()]
        assert all(c.samples.dtype == np.float32 for c in chunks)

    run(main())


def test_offline_mode_and_wait():
    s = ac.Stream.open("null", options={"mode": "offline", "frames": 48000}, period=256, in_channels=0, out_channels=2)
    s.schedule(ac.Playspec([]), at=0)
    s.start()
    assert s.wait(10.0)
    assert s.position().stream_frame == 48000
    with pytest.raises(amio.InvalidArgument, match="timeout"):
        s.wait(-1.0)
    s.close()


def test_streamed_clips_play_as_loaded(tmp_path):
    """A clip streamed from a WAV file plays bit for bit as the file loaded
    (a stepped null stream waits for the reader), with a locate on the way;
    no data is reported missing."""
    rng = np.random.default_rng(7)
    data = (rng.standard_normal((60000, 2)) * 0.2).astype(np.float32)
    path = tmp_path / "take.wav"
    ac.Clip(data, 48000).write_wav(path)
    loaded = ac.Clip.from_file(path)
    streamed = ac.Clip.open_streamed(path)
    assert loaded.stream_id is None and isinstance(streamed.stream_id, int)
    assert streamed.frames == 60000 and streamed.channels == 2
    np.testing.assert_array_equal(streamed.to_numpy(), loaded.to_numpy())

    def play(clip):
        s = stepped(period=256, in_channels=0, out_channels=2, stream_read_ahead_ms=100, stream_cache_bytes=2 << 20)
        s.schedule(
            ac.Playspec(
                [
                    ac.Entry(clip, [0.5, 0.25], range=(100, 50000), fade_in=300, fade_out=500),
                    ac.Entry(clip, [-0.3, 0.6], play_at=20000, repeat=70000),
                ]
            ),
            at=0,
        )
        s.roll(at=0)
        s.locate(40000, at=30000)
        s.start()
        out = np.concatenate([s.step(1000) for _ in range(96)])
        events = s.events()
        s.close()
        return out, events

    want, _ = play(loaded)
    got, events = play(streamed)
    assert not [e for e in events if isinstance(e, ac.DataMissing)]
    np.testing.assert_array_equal(got, want)
    assert np.count_nonzero(want) > 50000
    with pytest.raises(amio.AmioError):
        ac.Clip.open_streamed(tmp_path / "missing.wav")
