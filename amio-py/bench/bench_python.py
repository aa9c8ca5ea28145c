"""What amio costs from Python (run: python amio-py/bench/bench_python.py).

1. Building and scheduling a 100-entry playspec, as a recorder does up to
   20 times a second: with the original API (PlayspecEntry lists of
   AudioClips whose engine form is cached) and with amio.core.
2. Delivering input chunks: the Python work per chunk on a live stream (the
   null backend paced by the clock, period 256), measured as the process's
   CPU time over the run divided by the chunks delivered, against the same
   run with no input callback.

Figures are medians of several rounds; nothing is asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import numpy as np

import amio
import amio.core as ac
from amio import AudioClip, PlayspecEntry, create_io_interface

RATE = 48000


def clips(n, frames=RATE * 60):
    out = []
    for i in range(n):
        c = AudioClip(np.full((frames, 2), 0.01 * (i % 10), np.float32), RATE)
        c.writeable = False  # the engine form is cached, as a recorder's takes are
        out.append(c)
    return out


def bench_schedule(rounds=5, per_round=200):
    tracks = clips(100)
    interface = create_io_interface("null", frame_rate=RATE)
    fader = amio.Fader(-3.0, 0.2)

    def build():
        return [
            PlayspecEntry(c, 0, len(c), i * 4800, 0, fader.left_gain_factor, fader.right_gain_factor)
            for i, c in enumerate(tracks)
        ]

    interface.schedule_playspec_change(build(), 0, 0, None)  # warm the caches
    interface.advance_single_chunk_length()
    compat = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(per_round):
            interface.schedule_playspec_change(build(), 0, 0, None)
        compat.append((time.perf_counter() - t) / per_round)
        interface.advance_single_chunk_length()

    engine_clips = [c._engine_clip(RATE) for c in tracks]
    stream = ac.Stream.open("null", options={"mode": "stepped"}, frame_rate=RATE, period=4800)
    stream.start()
    own = []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(per_round):
            playspec = ac.Playspec([ac.Entry(c, [0.7, 0.9], play_at=i * 4800) for i, c in enumerate(engine_clips)])
            stream.schedule(playspec)
        own.append((time.perf_counter() - t) / per_round)
        stream.step(4800)
        stream.events()
    stream.close()
    return statistics.median(compat), statistics.median(own)


async def live_run(seconds, with_callback):
    interface = create_io_interface("null", mode="paced", period=256)
    await interface.init("bench")
    delivered = [0, 0]

    def on_input(chunk):
        delivered[0] += 1
        delivered[1] += len(chunk)

    if with_callback:
        interface.input_chunk_callback = on_input
    interface.set_transport_rolling(True)
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu
    await interface.close()
    return cpu, delivered


def bench_input(seconds=3.0):
    base_cpu, _ = asyncio.run(live_run(seconds, False))
    cpu, (chunks, frames) = asyncio.run(live_run(seconds, True))
    return base_cpu, cpu, chunks, frames


def main():
    compat, own = bench_schedule()
    print(f"100-entry playspec, built and scheduled: original API {compat * 1e3:.3f} ms, amio.core {own * 1e3:.3f} ms")
    print(f"  at 20 schedules a second: {compat * 20 * 100:.2f} % of a core (original API)")
    base_cpu, cpu, chunks, frames = bench_input()
    per_chunk = (cpu - base_cpu) / max(chunks, 1)
    print(
        f"input: {chunks} chunks ({frames} frames) in 3 s of a live stream (period 256): "
        f"{cpu * 1e3:.1f} ms of CPU with the callback, {base_cpu * 1e3:.1f} ms without "
        f"(both include waking the loop every period); {per_chunk * 1e6:.1f} µs per InputAudioChunk delivered"
    )


if __name__ == "__main__":
    main()
