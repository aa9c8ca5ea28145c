"""Threads: callbacks on the loop's thread, woken by the stream (latency
printed); calls from other threads and re-entrant calls from callbacks;
10,000 changes with every callback exactly once and no memory growth; no
reference cycle the garbage collector cannot break."""

from __future__ import annotations

import asyncio
import gc
import statistics
import threading
import time
import tracemalloc
import weakref

import numpy as np

import amio
from amio import AudioClip, PlayspecEntry, create_io_interface

from conftest import rss_kib, run

RATE = 48000


def live(period=256):
    """The original API on a live backend: the null backend paced by the
    clock (the engine on its own thread, woken like a sound card's)."""
    return create_io_interface("null", mode="paced", period=period)


def entry(value=0.25, frames=64):
    clip = AudioClip(np.full(frames, value, np.float32), RATE)
    clip.writeable = False
    return PlayspecEntry(clip, 0, frames, 0, frames, 1.0, 1.0)


def test_callbacks_run_on_the_loop_thread_promptly():
    async def main():
        period = 256
        interface = live(period=period)
        await interface.init("amio-test")
        loop_thread = threading.get_ident()
        stream = interface.stream
        threads = []
        changes = []  # (stream frame the change applies at, callback time)
        # When the paced driver published stream frame s: its clock runs
        # period after period from an origin t0, which the lower envelope of
        # (observed time - s / rate) over many observations estimates.
        observations = []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                s = stream.position()[0]
                observations.append(time.monotonic() - s / RATE)
                time.sleep(0.001)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            for _ in range(20):
                done = asyncio.get_running_loop().create_future()
                # The next frame to process: a period's first frame.
                applies_at = stream.position()[0]

                def on_change(ok, done=done):
                    threads.append(threading.get_ident())
                    done.set_result((ok, time.monotonic()))

                interface.schedule_playspec_change([entry()], 0, 0, on_change)
                ok, at = await asyncio.wait_for(done, 5)
                assert ok is True
                changes.append((applies_at, at))
                await asyncio.sleep(0.01)
        finally:
            stop.set()
            watcher.join()
        await interface.close()
        assert threads == [loop_thread] * 20
        t0 = min(observations)
        # The change is applied in the period that starts at applies_at and
        # published when that period ends.
        delays = [at - (t0 + (s + period) / RATE) for s, at in changes]
        print(
            f"\ncallback after the engine published the period (paced null, period {period}): "
            f"median {statistics.median(delays) * 1e3:.3f} ms, max {max(delays) * 1e3:.3f} ms"
        )

    run(main())


def test_other_threads_and_reentrant_callbacks():
    async def main():
        interface = live(period=128)
        await interface.init("amio-test")
        calls = {}
        lock = threading.Lock()
        issued = []
        next_id = [0]

        def make_callback(n):
            def callback(ok):
                assert threading.get_ident() == loop_thread
                with lock:
                    calls[n] = calls.get(n, 0) + 1
                # Re-enter from the callback, as a recorder does.
                if n % 3 == 0 and not stopping.is_set():
                    schedule()
                    interface.set_position(interface.get_position())

            return callback

        def schedule():
            with lock:
                n = next_id[0]
                next_id[0] += 1
                issued.append(n)
            interface.schedule_playspec_change([entry(0.1 + (n % 7) / 10)], 0, 0, make_callback(n))

        loop_thread = threading.get_ident()
        stopping = threading.Event()
        errors = []

        def midi_thread():
            try:
                k = 0
                while not stopping.is_set():
                    interface.set_position(k * 1000)
                    interface.set_transport_rolling(k % 2 == 0)
                    schedule()
                    k += 1
                    time.sleep(0.0005)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        chunks = []
        interface.input_chunk_callback = lambda c: (chunks.append(len(c)), interface.is_transport_rolling())
        threads = [threading.Thread(target=midi_thread) for _ in range(2)]
        for t in threads:
            t.start()
        for _ in range(200):
            schedule()
            await asyncio.sleep(0.002)
        stopping.set()
        for t in threads:
            await asyncio.get_running_loop().run_in_executor(None, t.join, 10)
            assert not t.is_alive(), "a thread is stuck (deadlock)"
        await asyncio.wait_for(interface.close(), 10)
        assert errors == []
        assert sorted(calls) == sorted(issued), "every change gets a callback"
        assert set(calls.values()) == {1}, "exactly once"
        assert chunks
        print(f"\n{len(issued)} changes from 3 threads and re-entrant callbacks, each called back once")

    run(main())


def test_ten_thousand_changes_every_callback_once_no_growth():
    async def main():
        interface = live(period=256)
        await interface.init("amio-test")
        playspecs = [[entry(v / 10, 480)] for v in range(1, 5)]
        # Preallocated, so that the test's own records do not count as growth.
        calls = np.zeros(12000, np.int64)
        applied_flags = np.zeros(12000, np.bool_)

        def callback(n):
            def record(ok):
                calls[n] += 1
                applied_flags[n] = ok

            return record

        def answered():
            return int(np.count_nonzero(calls))

        async def batch(first, count):
            for n in range(first, first + count):
                interface.schedule_playspec_change(playspecs[n % 4], 0, 0, callback(n))
                if n % 50 == 49:
                    await asyncio.sleep(0.001)
            # Let the engine answer them all.
            deadline = time.monotonic() + 10
            while answered() < first + count and time.monotonic() < deadline:
                await asyncio.sleep(0.01)

        interface.set_transport_rolling(True)
        await batch(0, 2000)  # warm up: caches, queues, allocator pools
        gc.collect()
        tracemalloc.start()
        rss_before = rss_kib()
        snapshot = tracemalloc.take_snapshot()
        await batch(2000, 10000)
        gc.collect()
        grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(snapshot, "filename"))
        rss_after = rss_kib()
        tracemalloc.stop()
        await interface.close()
        assert np.all(calls == 1), "every callback exactly once"
        assert applied_flags[11999], "the last change applies"
        applied = int(np.count_nonzero(applied_flags))
        print(
            f"\n10,000 changes: {applied} of 12,000 applied, the rest superseded; "
            f"Python heap {grown / 1024:+.1f} KiB, RSS {rss_after - rss_before:+d} KiB"
        )
        assert grown < 256 * 1024, f"the Python heap grew by {grown} bytes"
        assert rss_after - rss_before < 16 * 1024, f"RSS grew by {rss_after - rss_before} KiB"

    run(main())


class App:
    """A recorder-like program whose callbacks refer back to it."""

    def __init__(self, interface):
        self.interface = interface
        self.chunks = 0
        interface.input_chunk_callback = self.on_input

    def on_input(self, chunk):
        self.chunks += 1

    def on_change(self, ok):
        if ok:
            self.interface.schedule_playspec_change([], 0, 0, None)


def test_callback_cycles_are_collected():
    # Hand-stepped: a cycle interface -> bound method -> app -> interface.
    app = App(create_io_interface("null", frame_rate=RATE))
    app.interface.schedule_playspec_change([entry()], 10**9, 0, app.on_change)
    app.interface.advance_single_chunk_length()
    ref = weakref.ref(app.interface)
    del app
    gc.collect()
    assert ref() is None

    async def main():
        app = App(live())
        await app.interface.init("amio-test")
        app.interface.schedule_playspec_change([entry()], 10**9, 0, app.on_change)
        await asyncio.sleep(0.05)
        await app.interface.close()
        assert app.chunks > 0
        return weakref.ref(app.interface), weakref.ref(app)

    refs = run(main())
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_an_unclosed_interface_is_collected_and_its_stream_closed():
    async def main():
        interface = live()
        await interface.init("amio-test")
        stream = interface.stream
        return weakref.ref(interface), stream

    ref, stream = run(main())
    gc.collect()
    assert ref() is None
    # The stream still answers; it closes when collected too.
    assert stream.position()[0] > 0
    stream.close()
    assert stream.closed
