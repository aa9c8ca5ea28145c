"""``import amio`` and the null and dummy interfaces need no audio library:
the extension links neither libjack nor libasound (``ldd``), and in a
process that cannot load them (a private mount namespace where both are
replaced by an empty file) amio imports and plays, while choosing a backend
that needs them raises an exception that says what to install."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import amio

EXTENSION = Path(amio._native.__file__)
LIBRARY_DIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib")


def test_the_extension_links_no_audio_library():
    ldd = subprocess.run(["ldd", str(EXTENSION)], check=True, capture_output=True, text=True).stdout
    print(f"\nldd {EXTENSION.name}:\n{ldd}")
    assert "libjack" not in ldd and "libasound" not in ldd
    # The plugins travel beside it and link what their backend needs.
    for name in ("jack", "alsa", "cpal"):
        assert (EXTENSION.parent / f"libamio_{name}.so").exists(), name
    alsa = subprocess.run(["ldd", str(EXTENSION.parent / "libamio_alsa.so")], capture_output=True, text=True).stdout
    assert "libasound" in alsa
    jack = subprocess.run(["ldd", str(EXTENSION.parent / "libamio_jack.so")], capture_output=True, text=True).stdout
    assert "libjack" not in jack  # opened only when a JACK client is made


SCRIPT = textwrap.dedent(
    """
    import ctypes, sys
    for lib in ("libjack.so.0", "libasound.so.2"):
        try:
            ctypes.CDLL(lib)
        except OSError:
            pass
        else:
            sys.exit(f"{lib} can still be loaded: the test hides nothing")
    import numpy as np
    import amio
    from amio import AudioClip, PlayspecEntry, create_io_interface
    assert create_io_interface("dummy", frame_rate=48000).secs_to_frame(2) == 96000
    i = create_io_interface("null", frame_rate=48000)
    i.schedule_playspec_change([PlayspecEntry(AudioClip(np.full(10, 0.5, np.float32), 48000), 0, 10, 0, 0, 1.0, 1.0)], 0, 0, None)
    i.set_transport_rolling(True)
    i.advance_single_chunk_length()
    assert i.last_output[9, 0] == 0.5 and i.last_output[10, 0] == 0.0
    for name, needs in (("jack", "libjack"), ("alsa", "libasound"), ("cpal", "libasound")):
        try:
            create_io_interface(name)
        except amio.BackendUnavailable as e:
            message = str(e)
            assert needs in message and "install" in message, message
            print(f"{name}: {message}")
        else:
            sys.exit(f"choosing {name} did not fail")
    print("ok")
    """
)


def test_import_and_null_without_audio_libraries():
    hidden = sorted(
        {
            os.path.realpath(path)
            for directory in LIBRARY_DIRS
            for path in glob.glob(f"{directory}/libjack.so*") + glob.glob(f"{directory}/libasound.so*")
        }
    )
    assert hidden, "neither libjack nor libasound is installed: nothing to hide"
    mounts = " && ".join(f"mount --bind /dev/null {path}" for path in hidden)
    result = subprocess.run(
        ["unshare", "--mount", "sh", "-c", f'{mounts} && exec "$0" -c "$1"', sys.executable, SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
    )
    print(f"\nhidden: {', '.join(hidden)}\n{result.stdout}{result.stderr}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
