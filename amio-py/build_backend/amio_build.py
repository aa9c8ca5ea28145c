"""The PEP 517 backend of amio's Python package: maturin, after building
amio's backend plugins so that they travel inside the wheel.

maturin builds one Rust library per wheel (the extension module
``amio._native``); amio's backends other than null are separate shared
objects (``libamio_jack.so``, ``libamio_alsa.so``, ``libamio_cpal.so``),
which the engine finds beside the extension and loads only when a program
chooses them, so ``import amio`` needs no audio library. This backend builds
them with cargo and copies them into the package, then hands over to
maturin, which puts them in the wheel (``[tool.maturin] include``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

import maturin
from maturin import *  # noqa: F401,F403 - the hooks this backend does not change

HERE = Path(__file__).resolve().parent.parent
PACKAGE = HERE / "python" / "amio"
PLUGINS = ("jack", "alsa", "cpal")


def _cargo() -> str:
    cargo = os.environ.get("CARGO") or shutil.which("cargo")
    if cargo is None:
        home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
        candidate = home / "bin" / "cargo"
        if candidate.exists():
            return str(candidate)
        raise RuntimeError("building amio needs Rust's cargo on PATH (https://rustup.rs)")
    return cargo


def build_plugins() -> List[Path]:
    """Builds the backend plugins (release) and copies them into the
    package; returns their paths."""
    cargo = _cargo()
    command = [cargo, "build", "--release", "--lib"]
    for name in PLUGINS:
        command += ["-p", f"amio-{name}"]
    subprocess.run(command, cwd=HERE, check=True)
    metadata = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--no-deps"],
        cwd=HERE,
        check=True,
        stdout=subprocess.PIPE,
    )
    target = Path(json.loads(metadata.stdout)["target_directory"]) / "release"
    copied = []
    for name in PLUGINS:
        built = target / f"libamio_{name}.so"
        dest = PACKAGE / built.name
        shutil.copy2(built, dest)
        copied.append(dest)
    return copied


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    build_plugins()
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: Optional[Dict[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    build_plugins()
    return maturin.build_editable(wheel_directory, config_settings, metadata_directory)
