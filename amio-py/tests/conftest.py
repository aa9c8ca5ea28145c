"""Shared fixtures of amio's Python tests: private JACK servers (never the
user's), an independent JACK peer, and the amio command."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator, List, Optional

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PEER = Path(__file__).resolve().parent / "jack_peer.py"
# Debian's own python3, where python3-jack-client lives.
SYSTEM_PYTHON = "/usr/bin/python3"
SLOTS = 8

# Nothing a test runs may start a JACK server by accident.
os.environ["JACK_NO_START_SERVER"] = "1"


def jack_env(server: str) -> dict:
    env = dict(os.environ)
    env["JACK_NO_START_SERVER"] = "1"
    env["JACK_DEFAULT_SERVER"] = server
    return env


class JackServer:
    """A private ``jackd -d dummy`` under one of the 8 test-server names
    that amio's Rust test kit uses (``amio-test-N``, each held through a
    lock file in the temp directory, so Rust and Python tests never share
    one); ended by its own pid."""

    def __init__(self, period: int = 256, synchronous: bool = True):
        self.period = period
        self.lock, self.name = self._claim()
        self.log = Path(tempfile.gettempdir()) / f"{self.name}-pytest.log"
        wait_us = str(period * 1_000_000 // 48_000)
        command = ["jackd", "-n", self.name, "-r", "-t", "10000"]
        if synchronous:
            command.append("-S")
        command += ["-d", "dummy", "-r", "48000", "-p", str(period), "-w", wait_us]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=jack_env(self.name))
        os.ftruncate(self.lock.fileno(), 0)
        os.pwrite(self.lock.fileno(), str(self.process.pid).encode(), 0)
        up = subprocess.run(
            ["jack_wait", "-s", self.name, "-w", "-t", "20"],
            env=jack_env(self.name),
            stdout=subprocess.DEVNULL,
        )
        if up.returncode != 0:
            self.stop()
            raise RuntimeError(f"jackd {self.name} did not come up: {self.log.read_text()}")

    @staticmethod
    def _claim():
        deadline = time.monotonic() + 120
        while True:
            for i in range(SLOTS):
                path = Path(tempfile.gettempdir()) / f"amio-test-jackd-{i}.lock"
                f = open(path, "a+")
                try:
                    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.close()
                    continue
                name = f"amio-test-{i}"
                JackServer._end_orphan(f, name)
                return f, name
            if time.monotonic() > deadline:
                raise RuntimeError("no free JACK test-server slot in two minutes")
            time.sleep(0.05)

    @staticmethod
    def _end_orphan(f, name: str) -> None:
        f.seek(0)
        text = f.read().strip()
        if not text.isdigit():
            return
        pid = int(text)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return
        if cmdline.startswith(b"jackd\0") and f"-n\0{name}\0".encode() in cmdline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    def stop(self) -> None:
        """SIGTERM by pid (so the server leaves JACK's registry), SIGKILL
        after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.lock.close()

    def kill(self) -> None:
        """SIGKILL by pid, as a crash would."""
        self.process.kill()
        self.process.wait()


@pytest.fixture
def jack_server() -> Iterator[JackServer]:
    server = JackServer()
    try:
        yield server
    finally:
        server.stop()


class Peer:
    """The independent JACK peer (jack_peer.py under Debian's python3)."""

    def __init__(self, server: str, name: str, record_from: List[str], generate_to: List[str],
                 frames: int, workdir: Path, timeout: float = 60.0):
        self.out = workdir / f"{name}.rec"
        self.process = subprocess.Popen(
            [SYSTEM_PYTHON, str(PEER), server, name, "--record-from", ",".join(record_from),
             "--generate-to", ",".join(generate_to), "--frames", str(frames), "--out", str(self.out),
             "--timeout", str(timeout)],
            env=jack_env(server),
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        ready = Path(str(self.out) + ".ready")
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"the JACK peer failed: {self.process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError("the JACK peer did not get ready in 20 s")
            time.sleep(0.01)

    def finish(self, timeout: float = 60.0):
        """Waits for the recording: (first JACK frame time, samples
        (frames, channels))."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        assert self.process.returncode == 0, self.process.stderr.read().decode()
        data = self.out.read_bytes()
        line, _, body = data.partition(b"\n")
        header = json.loads(line)
        samples = np.frombuffer(body, dtype="<f4").reshape(header["frames"], header["channels"])
        return header["first_frame_time"], samples

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def generator_sample(frame_time, channel):
    """The peer's generator signal (see jack_peer.py)."""
    return ((np.asarray(frame_time) % (1 << 20)) * 8 + channel).astype(np.float32)


def amio_cli() -> Path:
    """The amio command, built if needed (cargo build -p amio-cli)."""
    binary = Path(os.environ.get("AMIO_CLI", REPO / "target" / "debug" / "amio"))
    if not binary.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "amio-cli"], cwd=REPO, check=True)
    assert binary.exists(), f"the amio command is not at {binary}"
    return binary


def rss_kib() -> int:
    """This process's resident set size in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def run(coroutine):
    """Runs a coroutine on a new event loop."""
    import asyncio

    return asyncio.run(coroutine)


def wait_until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)
