"""The original AMIO's API (PYTHON.md, "The original API"), item by item,
with exact expected values, on the null and dummy interfaces."""

from __future__ import annotations

import asyncio
import datetime
import math
import struct

import numpy as np
import pytest

import amio
from amio import AudioClip, Fader, InputAudioChunk, PlayspecEntry, create_io_interface

from conftest import run

UTC = datetime.timezone.utc


# -- module ---------------------------------------------------------------------


def test_module_names():
    for name in (
        "create_io_interface",
        "Interface",
        "AudioClip",
        "InputAudioChunk",
        "Playspec",
        "PlayspecEntry",
        "Fader",
        "factor_to_dB",
        "dB_to_factor",
        "__version__",
    ):
        assert hasattr(amio, name), name
    assert amio.__version__ == "0.1.0"
    assert amio.Playspec == list[PlayspecEntry] or amio.Playspec.__origin__ is list
    # The original's module layout, for programs that import from it.
    from amio.audio_clip import AudioClip as A
    from amio.fader import Fader as F
    from amio.interface import Interface as I
    from amio.playspec import PlayspecEntry as P

    assert (A, F, I, P) == (AudioClip, Fader, amio.Interface, PlayspecEntry)


def test_unknown_backend_lists_the_backends():
    with pytest.raises(amio.BackendUnavailable) as e:
        create_io_interface("pulse")
    message = str(e.value)
    assert "no amio backend 'pulse'" in message
    for name in ("'null'", "'jack'", "'alsa'", "'cpal'", "'dummy'"):
        assert name in message
    with pytest.raises(TypeError):
        create_io_interface(3)


# -- dummy --------------------------------------------------------------------


def test_dummy_converts_seconds_and_frames():
    i = create_io_interface("dummy", frame_rate=48000)
    assert isinstance(i, amio.Interface)
    assert i.get_frame_rate() == 48000
    assert i.secs_to_frame(1.5) == 72000
    assert i.secs_to_frame(0.99999) == 47999  # truncated, as int()
    assert i.secs_to_frame(-0.5) == -24000
    assert i.frame_to_secs(72000) == 1.5
    assert i.frame_to_secs(1) == 1 / 48000
    assert i.closed is False
    run(i.close())
    assert i.is_closed() and i.closed
    with pytest.raises(ValueError, match="^Operation on a closed AMIO interface$"):
        i.get_frame_rate()
    with pytest.raises(ValueError, match="^Operation on a closed AMIO interface$"):
        i.secs_to_frame(1)
    with pytest.raises(ValueError, match="^Operation on a closed AMIO interface$"):
        run(i.close())


def test_dummy_plays_nothing():
    i = create_io_interface("dummy", frame_rate=44100)
    with pytest.raises(NotImplementedError):
        i.schedule_playspec_change([], 0, 0, None)


# -- null: the hand-stepped interface with the real engine ------------------------


def mono(values, rate=48000):
    return AudioClip(np.asarray(values, np.float32), rate)


def test_null_chunks_virtual_time_and_tags():
    start = datetime.datetime(2020, 5, 17, 12, 0, 0, tzinfo=UTC)
    i = create_io_interface("null", frame_rate=48000, starting_time=start)
    assert isinstance(i, amio.NullInterface)
    assert type(i).chunk_length == 4800
    chunks = []
    i.input_chunk_callback = chunks.append
    assert i.input_chunk_callback == chunks.append
    assert i.get_current_virtual_time() == start
    i.advance_single_chunk_length()
    assert i.get_current_virtual_time() == start + datetime.timedelta(seconds=0.1)
    (c,) = chunks
    assert isinstance(c, InputAudioChunk) and isinstance(c, AudioClip)
    assert (len(c), c.channels, c.frame_rate) == (4800, 2, 48000)
    assert c.array.dtype == np.float32 and c.array.flags.owndata
    assert np.all(c.array == 0)
    assert (c.playspec_id, c.starting_frame, c.was_transport_rolling) == (0, 0, False)
    assert c.wall_time == start and c.wall_time.tzinfo is not None
    i.set_transport_rolling(True)
    assert i.is_transport_rolling()
    i.advance_single_chunk_length()
    i.advance_single_chunk_length()
    assert [(c.starting_frame, c.was_transport_rolling) for c in chunks[1:]] == [(0, True), (4800, True)]
    assert chunks[2].wall_time == start + datetime.timedelta(seconds=0.2)
    assert i.get_position() == 9600
    i.set_position(100)
    assert i.get_position() == 100  # at once, as the original's null did
    i.advance_single_chunk_length()
    assert chunks[-1].starting_frame == 100
    assert i.get_position() == 4900
    i.set_transport_rolling(False)
    assert not i.is_transport_rolling()
    i.advance_single_chunk_length()
    assert (chunks[-1].starting_frame, chunks[-1].was_transport_rolling) == (4900, False)
    assert i.get_position() == 4900
    run(i.close())
    with pytest.raises(ValueError, match="^Operation on a closed AMIO interface$"):
        i.advance_single_chunk_length()


def test_null_default_starting_time_is_now_utc():
    before = datetime.datetime.now(UTC)
    i = create_io_interface("null", frame_rate=48000)
    after = datetime.datetime.now(UTC)
    assert before <= i.get_current_virtual_time() <= after


def test_null_mixes_the_playspec_exactly():
    i = create_io_interface("null", frame_rate=48000)
    applied = []
    ramp = mono(np.arange(1, 11) / 16)  # 1/16 .. 10/16
    stereo = AudioClip(np.array([[0.5, -0.5], [0.25, -0.25]], np.float32), 48000)
    playspec = [
        PlayspecEntry(ramp, 2, 6, 10, 0, 1.0, 0.5),  # frames 2..5 at 10..13
        PlayspecEntry(clip=stereo, frame_a=0, frame_b=2, play_at_frame=20, repeat_interval=100,
                      gain_l=1.0, gain_r=2.0),  # L to L, R to R, every 100 frames
        PlayspecEntry(ramp, 5, 3, 0, 0, 1.0, 1.0),  # frame_b < frame_a: nothing
        PlayspecEntry(ramp, -2, 3, 30, 0, 1.0, 1.0),  # before the clip: silence
        PlayspecEntry(ramp, 8, 14, 40, 0, 1.0, 1.0),  # past the clip: silence
    ]
    i.schedule_playspec_change(playspec, 0, 0, applied.append)
    i.set_transport_rolling(True)
    i.advance_single_chunk_length()
    assert applied == [True]
    out = i.last_output
    assert out.shape == (4800, 2) and out.dtype == np.float32
    expected = np.zeros((4800, 2), np.float32)
    expected[10:14, 0] = np.arange(3, 7) / 16
    expected[10:14, 1] = np.arange(3, 7) / 32
    for k in range(48):
        expected[20 + 100 * k] = [0.5, -1.0]
        expected[21 + 100 * k] = [0.25, -0.5]
    expected[32:35] = (np.arange(1, 4) / 16)[:, None]  # frames 0..2 at 32..34
    expected[40:42] = (np.arange(9, 11) / 16)[:, None]  # frames 8, 9 at 40, 41
    np.testing.assert_array_equal(out, expected)


def test_null_change_at_insert_point_and_callbacks():
    i = create_io_interface("null", frame_rate=48000)
    a = mono([0.5])
    b = mono([0.25])
    calls = []
    i.set_transport_rolling(True)
    i.schedule_playspec_change([PlayspecEntry(a, 0, 1, 0, 1, 1.0, 1.0)], 0, 0, lambda ok: calls.append(("a", ok)))
    i.advance_single_chunk_length()  # a applied at position 0
    assert calls == [("a", True)]
    # b applies when the position reaches 6000, continuing from 100.
    i.schedule_playspec_change([PlayspecEntry(b, 0, 1, 0, 1, 1.0, 1.0)], 6000, 100, lambda ok: calls.append(("b", ok)))
    chunks = []
    i.input_chunk_callback = chunks.append
    i.advance_single_chunk_length()  # positions 4800 .. 9599
    assert calls[-1] == ("b", True)
    out = i.last_output
    assert np.all(out[:1200] == 0.5) and np.all(out[1200:] == 0.25)
    # The input chunk splits where the change applied.
    assert [(c.playspec_id, c.starting_frame, len(c)) for c in chunks] == [(1, 4800, 1200), (2, 100, 3600)]
    assert i.get_position() == 3700


def test_null_superseded_and_dropped_callbacks():
    i = create_io_interface("null", frame_rate=48000)
    calls = []
    clip = mono([0.1])
    entry = [PlayspecEntry(clip, 0, 1, 0, 0, 1, 1)]
    i.set_transport_rolling(True)
    i.schedule_playspec_change(entry, 10**9, 0, lambda ok: calls.append(("first", ok)))
    i.schedule_playspec_change(entry, 10**9, 0, lambda ok: calls.append(("second", ok)))
    i.schedule_playspec_change(entry, 10**9, 0, None)  # no callback: fine
    i.advance_single_chunk_length()
    assert calls == [("first", False), ("second", False)]
    i.schedule_playspec_change(entry, 10**9, 0, lambda ok: calls.append(("pending", ok)))
    i.advance_single_chunk_length()
    run(i.close())
    assert calls[-1] == ("pending", False)  # dropped at close


def test_null_never_fails_while_changes_pend():
    # 3000 changes between two chunks: more than the engine's command queue
    # holds; every callback comes exactly once, the last one applied.
    i = create_io_interface("null", frame_rate=48000)
    results = {}
    clip = mono([0.5])
    for n in range(3000):
        i.schedule_playspec_change(
            [PlayspecEntry(clip, 0, 1, 0, 1, n / 3000, 0)], 0, 0, lambda ok, n=n: results.__setitem__(n, ok)
        )
    i.set_transport_rolling(True)
    for _ in range(3):
        i.advance_single_chunk_length()
    assert len(results) == 3000
    # The engine's command queue holds 1024: the first 1024 changes reach
    # it in the first chunk, where each supersedes the one before and the
    # last of them (1023) applies; the rest wait, each superseding the one
    # before without reaching the engine, and the last (2999) applies in
    # the next chunk.
    assert {n for n, ok in results.items() if ok} == {1023, 2999}
    assert np.all(i.last_output[:, 0] == np.float32(0.5 * 2999 / 3000))


def test_null_init_and_close():
    i = create_io_interface("null", frame_rate=48000)
    run(i.init("anything"))
    with pytest.raises(ValueError):
        run(i.init("again"))
    run(i.close())
    assert i.closed
    for call in (
        lambda: i.get_frame_rate(),
        lambda: i.get_position(),
        lambda: i.set_position(1),
        lambda: i.is_transport_rolling(),
        lambda: i.set_transport_rolling(True),
        lambda: i.schedule_playspec_change([], 0, 0, None),
        lambda: run(i.close()),
    ):
        with pytest.raises(ValueError, match="^Operation on a closed AMIO interface$"):
            call()


def test_null_input_is_captured():
    i = create_io_interface("null", frame_rate=48000)
    chunks = []
    i.input_chunk_callback = chunks.append
    signal = np.stack([np.arange(4800) / 8192, -np.arange(4800) / 8192], axis=1).astype(np.float32)
    i.advance_single_chunk_length(signal)
    np.testing.assert_array_equal(chunks[0].array, signal)
    with pytest.raises(ValueError, match=r"step input"):
        i.advance_single_chunk_length(np.zeros((10, 2), np.float32))


def test_null_frame_rate_as_given_and_checked():
    assert create_io_interface("null", frame_rate=44100.0).get_frame_rate() == 44100.0
    with pytest.raises(ValueError, match="whole number of frames a second"):
        create_io_interface("null", frame_rate=44100.5)


def test_bad_playspecs_name_the_entry_and_rule():
    i = create_io_interface("null", frame_rate=48000)
    one = mono([0.1])
    good = PlayspecEntry(one, 0, 1, 0, 0, 1, 1)

    def entry(**changes):
        fields = good._asdict()
        fields.update(changes)
        return PlayspecEntry(**fields)

    with pytest.raises(amio.EntryError, match=r"^playspec entry 1: repeat_interval -5 is negative"):
        i.schedule_playspec_change([good, entry(repeat_interval=-5)], 0, 0, None)
    with pytest.raises(amio.EntryError, match=r"^playspec entry 2: the clip's frame rate is 44100 Hz"):
        i.schedule_playspec_change([good, good, entry(clip=mono([0.1], 44100))], 0, 0, None)
    with pytest.raises(amio.EntryError, match=r"^playspec entry 0: gain 1 is inf"):
        i.schedule_playspec_change([entry(gain_r=float("inf"))], 0, 0, None)
    with pytest.raises(amio.EntryError, match=r"^playspec entry 0: .*not finite"):
        i.schedule_playspec_change([entry(clip=mono([float("nan")]))], 0, 0, None)
    with pytest.raises(TypeError, match=r"^playspec entry 0: clip is a str"):
        i.schedule_playspec_change([entry(clip="x.wav")], 0, 0, None)
    with pytest.raises(TypeError, match=r"^playspec entry 0: frame_a"):
        i.schedule_playspec_change([entry(frame_a=1.5)], 0, 0, None)
    with pytest.raises(TypeError, match=r"^playspec entry 0: .* is not a PlayspecEntry"):
        i.schedule_playspec_change([(1, 2)], 0, 0, None)
    with pytest.raises(TypeError, match=r"insert_at"):
        i.schedule_playspec_change([good], "0", 0, None)
    with pytest.raises(TypeError, match=r"callback"):
        i.schedule_playspec_change([good], 0, 0, "not callable")
    with pytest.raises(TypeError):
        i.input_chunk_callback = 5
    # Nothing that plays is disturbed: a good change still applies.
    calls = []
    i.schedule_playspec_change([good], 0, 0, calls.append)
    i.advance_single_chunk_length()
    assert calls == [True]


def test_numpy_values_in_entries():
    i = create_io_interface("null", frame_rate=48000)
    clip = mono([0.5, 0.5])
    entry = PlayspecEntry(clip, np.int64(0), np.int32(2), np.int64(3), np.uint16(0), np.float32(0.5), np.float64(1.0))
    i.schedule_playspec_change([entry], np.int64(0), np.int64(0), None)
    i.set_transport_rolling(True)
    i.advance_single_chunk_length()
    np.testing.assert_array_equal(i.last_output[2:6], [[0, 0], [0.25, 0.5], [0.25, 0.5], [0, 0]])


# -- PlayspecEntry ------------------------------------------------------------


def test_playspec_entry():
    clip = mono(np.zeros(100))
    e = PlayspecEntry(clip, 10, 60, 1000, 0, 0.5, 0.25)
    assert e == PlayspecEntry(clip=clip, frame_a=10, frame_b=60, play_at_frame=1000, repeat_interval=0, gain_l=0.5, gain_r=0.25)
    assert (e.start, e.end, len(e)) == (1000, 1050, 50)
    assert e._fields == ("clip", "frame_a", "frame_b", "play_at_frame", "repeat_interval", "gain_l", "gain_r")
    clip_, a, b, t, r, gl, gr = e
    assert (a, b, t, r, gl, gr) == (10, 60, 1000, 0, 0.5, 0.25)
    # As in the original: a reversed entry has no length (it plays nothing).
    with pytest.raises(ValueError):
        len(PlayspecEntry(clip, 60, 10, 0, 0, 1, 1))
    with pytest.raises(AttributeError):
        e.start = 5


# -- AudioClip --------------------------------------------------------------------


def test_audio_clip_basics():
    c = AudioClip(np.zeros(100, np.float32), 48000)
    assert (len(c), c.channels, c.frame_rate) == (100, 1, 48000)
    assert c.array.shape == (100, 1)
    c = AudioClip(np.zeros((100, 2), np.float64), 44100.0)
    assert (len(c), c.channels, c.frame_rate) == (100, 2, 44100.0)
    c.frame_rate = 22050
    assert c.frame_rate == 22050
    assert c.memory_usage_mb == 1600 / 1024 / 1024
    assert c.writeable
    c.writeable = False
    assert not c.writeable and not c.array.flags.writeable
    c.writeable = True
    assert str(AudioClip(np.full(48000, 0.5, np.float32), 48000)) == "1.0 s, -6.0 dB AudioClip"
    with pytest.raises(ValueError, match="Incorrect array shape"):
        AudioClip(np.zeros((2, 2, 2)), 48000)
    with pytest.raises(TypeError, match="floating dtype"):
        AudioClip(np.zeros(4, np.int16), 48000)
    with pytest.raises(TypeError, match="numpy array"):
        AudioClip([0.0, 0.1], 48000)


def test_rms_power():
    assert AudioClip(np.full(10, 0.5, np.float32), 48000).calculate_rms_power() == 20 * math.log10(0.5)
    assert AudioClip(np.zeros(10, np.float32), 48000).calculate_rms_power() == -math.inf
    sine = AudioClip(np.sin(2 * np.pi * np.arange(48000) / 48), 48000)
    assert sine.calculate_rms_power() == pytest.approx(-3.0103, abs=1e-4)


def test_channel_overwrite_resize():
    data = np.arange(12, dtype=np.float32).reshape(6, 2)
    c = AudioClip(data.copy(), 48000)
    right = c.channel(1)
    assert right.channels == 1 and list(right.array[:, 0]) == [1, 3, 5, 7, 9, 11]
    with pytest.raises(IndexError):
        c.channel(2)
    patch = AudioClip(np.full((3, 2), -1, np.float32), 48000)
    c.overwrite(patch, 2)
    assert c.array[:, 0].tolist() == [0, 2, -1, -1, -1, 10]
    c.overwrite(AudioClip(np.full((3, 2), -2, np.float32), 48000), -2)  # front dropped
    assert c.array[:, 0].tolist() == [-2, 2, -1, -1, -1, 10]
    c.overwrite(AudioClip(np.full((3, 2), -3, np.float32), 48000), 5)  # end dropped
    assert len(c) == 6 and c.array[:, 0].tolist() == [-2, 2, -1, -1, -1, -3]
    c.overwrite(AudioClip(np.full((3, 2), -4, np.float32), 48000), 8, extend_to_fit=True)
    assert c.array[:, 0].tolist() == [-2, 2, -1, -1, -1, -3, 0, 0, -4, -4, -4]
    c.overwrite(AudioClip(np.arange(8, dtype=np.float32).reshape(4, 2), 48000), 0, clip_a=1, clip_b=3)
    assert c.array[:3, 0].tolist() == [2, 4, -1]
    c.overwrite(patch, 100)  # past the end, not extended: nothing
    assert len(c) == 11
    with pytest.raises(ValueError, match="channels"):
        c.overwrite(AudioClip(np.zeros(3, np.float32), 48000), 0)
    c.resize(4)
    assert len(c) == 4 and c.array.dtype == np.float32
    c.resize(6)
    assert c.array[4:].tolist() == [[0, 0], [0, 0]]
    c.writeable = False
    with pytest.raises(ValueError, match="not writeable"):
        c.resize(2)


def test_resampled_if_needed():
    c = AudioClip(np.sin(np.arange(4410) / 10).astype(np.float32), 44100)
    assert c.resampled_if_needed(44100.05) is c
    r = c.resampled_if_needed(48000)
    assert r.frame_rate == 48000 and len(r) == 4800 and r.channels == 1
    stereo = AudioClip(np.zeros((441, 2), np.float32), 44100)
    assert stereo.resampled_if_needed(48000).channels == 2


def test_metering_data_as_the_original():
    rate = 48000
    t = np.arange(rate)
    data = (0.5 * np.sin(2 * np.pi * 441 * t / rate)).astype(np.float32)
    data[24000:] *= 0.1
    c = AudioClip(data, rate)
    count, rms, peak = c.create_metering_data()
    assert count == 24 and rms.dtype == np.int8 and peak.dtype == np.int8
    # The original: array_split into 24 fragments, 20·log10, clamped, int8.
    fragments = np.array_split(c.array, 24)
    assert rms.tolist() == [int(max(-127, min(127, 20 * math.log10(np.sqrt(np.mean(f**2)))))) for f in fragments]
    assert peak.tolist() == [int(max(-127, min(127, 20 * math.log10(np.max(np.abs(f)))))) for f in fragments]
    assert rms.tolist()[:3] == [-9, -9, -9] and rms.tolist()[-1] == -29
    count, rms, peak = AudioClip(np.zeros(100, np.float32), rate).create_metering_data(10)
    assert (count, rms.tolist(), peak.tolist()) == (1, [-127], [-127])


def test_zeros_sine_stereo_concatenate():
    z = AudioClip.zeros(10, 2, 48000)
    assert z.array.shape == (10, 2) and z.array.dtype == np.float32 and not z.array.any()
    s = AudioClip.sine(440, 0.5, 480, 2, 48000)
    expected = 0.5 * np.sin(np.linspace(0, 2 * np.pi * (480 / 48000 * 440), 480))
    np.testing.assert_array_equal(s.array[:, 0], expected)
    np.testing.assert_array_equal(s.array[:, 1], expected)
    left, right = mono([1, 2]), mono([3, 4])
    st = AudioClip.stereo_clip_from_mono_clips(left, right)
    assert st.array.tolist() == [[1, 3], [2, 4]]
    with pytest.raises(ValueError, match="Sample rates must match"):
        AudioClip.stereo_clip_from_mono_clips(left, mono([3, 4], 44100))
    with pytest.raises(ValueError, match="Both clips must be mono"):
        AudioClip.stereo_clip_from_mono_clips(st, left)
    assert AudioClip.concatenate([]) is None
    cat = AudioClip.concatenate(iter([left, right]))
    assert cat.array[:, 0].tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="same channel number"):
        AudioClip.concatenate([left, st])
    with pytest.raises(ValueError, match="same sample rate"):
        AudioClip.concatenate([left, mono([1], 44100)])


def test_sound_files(tmp_path):
    data = np.array([[0.5, -0.25], [0.125, 1.0], [-1.0, 0.0]], np.float32)
    c = AudioClip(data, 44100)
    c.to_soundfile(tmp_path / "a.wav")
    back = AudioClip.from_soundfile(tmp_path / "a.wav")
    assert back.frame_rate == 44100
    np.testing.assert_array_equal(back.array, data)
    c.to_soundfile(str(tmp_path / "a.flac"))
    back = AudioClip.from_soundfile(str(tmp_path / "a.flac"))
    assert back.frame_rate == 44100 and back.channels == 2
    # 24-bit FLAC: full scale is 2^23; +1.0 clamps to 2^23 - 1.
    np.testing.assert_array_equal(
        back.array, np.array([[0.5, -0.25], [0.125, (2**23 - 1) / 2**23], [-1.0, 0.0]], np.float32)
    )
    (tmp_path / "empty.wav").write_bytes(b"")
    assert AudioClip.from_soundfile(tmp_path / "empty.wav") is None
    (tmp_path / "junk.wav").write_bytes(b"RIFF....nonsense")
    with pytest.raises(amio.FormatError, match="junk.wav"):
        AudioClip.from_soundfile(tmp_path / "junk.wav")
    with pytest.raises(amio.FormatError, match=r"\.ogg"):
        c.to_soundfile(tmp_path / "a.ogg")
    with pytest.raises(OSError):
        AudioClip.from_soundfile(tmp_path / "missing.wav")


def test_au_files(tmp_path):
    samples = [0.5, -0.25, 0.125]
    big = b".snd" + struct.pack(">5I", 24, 12, 6, 22050, 1) + struct.pack(">3f", *samples)
    little = b"dns." + struct.pack("<5I", 32, 0xFFFFFFFF, 6, 22050, 1) + b"\0" * 8 + struct.pack("<3f", *samples)
    for name, data in (("big.au", big), ("little.au", little)):
        (tmp_path / name).write_bytes(data)
        c = AudioClip.from_au_file(tmp_path / name)
        assert c.frame_rate == 22050 and c.array[:, 0].tolist() == samples
    (tmp_path / "int.au").write_bytes(b".snd" + struct.pack(">5I", 24, 4, 3, 8000, 1) + b"\0\0\0\0")
    with pytest.raises(amio.FormatError, match="encoding 3"):
        AudioClip.from_au_file(tmp_path / "int.au")


def test_engine_form_is_cached_while_not_writeable():
    i = create_io_interface("null", frame_rate=48000)
    c = mono(np.full(10, 0.5))
    assert c._engine_clip(48000) is not c._engine_clip(48000)  # writeable: copied each time
    c.writeable = False
    first = c._engine_clip(48000)
    assert c._engine_clip(48000) is first
    c.writeable = True
    c.array[:] = 0.25
    c.writeable = False
    i.schedule_playspec_change([PlayspecEntry(c, 0, 10, 0, 0, 1, 1)], 0, 0, None)
    i.set_transport_rolling(True)
    i.advance_single_chunk_length()
    assert i.last_output[0, 0] == 0.25  # the new data, not the cached old form


# -- Fader ----------------------------------------------------------------------


def test_fader_and_decibels():
    assert amio.factor_to_dB(1.0) == 0.0
    assert amio.factor_to_dB(0.0) == -math.inf
    assert amio.factor_to_dB(10.0) == 20.0
    assert amio.dB_to_factor(20.0) == 10.0
    assert amio.dB_to_factor(-6.0) == 10 ** (-6.0 / 20.0)
    f = Fader()
    assert (f.vol_dB, f.vol_factor, f.pan) == (0.0, 1.0, 0.0)
    assert (f.left_gain_factor, f.right_gain_factor) == (1.0, 1.0)
    f = Fader(-6.0, 0.5)
    v = 10 ** (-6.0 / 20.0)
    assert f.vol_factor == v
    assert f.vol_dB == 20.0 * math.log10(v)  # double precision, as the original
    assert (f.left_gain_factor, f.right_gain_factor) == (v * 0.5, v * 1.5)
    f.vol_dB = 6.0
    assert f.vol_factor == 10 ** 0.3
    f.vol_factor = 2.0
    assert f.vol_dB == 20.0 * math.log10(2.0)
    f.pan = -1
    assert (f.left_gain_factor, f.right_gain_factor) == (4.0, 0.0)
    with pytest.raises(ValueError, match="pan"):
        f.pan = 1.5
    with pytest.raises(ValueError, match="pan"):
        Fader(0.0, float("nan"))


# -- the original README's usage, with a real backend (the null one, paced) ----------


def test_readme_usage_on_a_live_backend():
    """create, init, input_chunk_callback, schedule_playspec_change — with
    the engine on its own thread (the null backend paced by the clock)."""

    async def main():
        interface = create_io_interface("null", mode="paced")
        assert isinstance(interface, amio.NativeInterface)
        assert interface.closed  # closed until init
        with pytest.raises(ValueError, match="closed"):
            interface.get_position()
        await interface.init("amio-test")
        with pytest.raises(ValueError, match="already initialized"):
            await interface.init("again")
        rate = interface.get_frame_rate()
        assert rate == 48000
        loop_thread = __import__("threading").get_ident()
        threads = set()
        chunks = []

        def on_input(chunk):
            threads.add(__import__("threading").get_ident())
            chunks.append(chunk)

        interface.input_chunk_callback = on_input
        applied = asyncio.get_running_loop().create_future()

        def on_change(ok):
            threads.add(__import__("threading").get_ident())
            applied.set_result(ok)

        clip = AudioClip.sine(440, 0.5, rate, 2, rate)
        interface.schedule_playspec_change([PlayspecEntry(clip, 0, len(clip), 0, 0, 1.0, 1.0)], 0, 0, on_change)
        interface.set_transport_rolling(True)
        assert await asyncio.wait_for(applied, 5) is True
        await asyncio.sleep(0.3)
        assert interface.is_transport_rolling()
        assert interface.get_position() > 0
        await interface.close()
        assert interface.closed
        assert threads == {loop_thread}
        assert chunks and all(isinstance(c, InputAudioChunk) for c in chunks)
        assert all(c.wall_time.tzinfo is not None for c in chunks)
        frames = sum(len(c) for c in chunks)
        assert frames > 0.2 * rate
        with pytest.raises(ValueError, match="^Operation on a closed AMIO interface$"):
            await interface.close()

    run(main())
