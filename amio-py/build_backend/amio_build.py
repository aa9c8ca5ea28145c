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
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

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


# What the plugins' -sys crates ask pkg-config for, and the library each
# links (or, for JACK, opens only at run time).
SYSTEM_LIBRARIES = {"jack": "jack", "alsa": "asound"}
# The plugins that link each library.
NEEDS = {"jack": ("jack",), "alsa": ("alsa", "cpal")}


def _pkg_config_knows(module: str) -> bool:
    for exe in ("pkg-config", "pkgconf"):
        path = shutil.which(exe)
        if path is None:
            continue
        found = subprocess.run([path, "--exists", module], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if found.returncode == 0:
            return True
    return False


def _runtime_library(soname: str) -> Optional[str]:
    """The path of an installed run-time library (no development files)."""
    try:
        cache = subprocess.run(["ldconfig", "-p"], stdout=subprocess.PIPE, text=True, check=False).stdout
    except OSError:
        cache = ""
    for line in cache.splitlines():
        if line.strip().startswith(soname + " ") and "=>" in line:
            return line.split("=>", 1)[1].strip()
    for directory in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib"):
        candidate = Path(directory) / soname
        if candidate.exists():
            return str(candidate)
    return None


def _stand_in(shim: Path) -> Tuple[Dict[str, str], List[str]]:
    """Lets the -sys crates' build scripts find JACK and ALSA on a machine
    without their development files (headers, .pc files, the unversioned
    .so link), which amio does not need: JACK is opened at run time, and
    alsa-sys carries its own bindings and links the run-time libasound.so.2.

    Returns the environment for cargo and the plugins that cannot be built
    (no libasound at all: ALSA and cpal are then left out of the wheel)."""
    provided: Dict[str, str] = {}
    skipped: List[str] = []
    libdir = shim / "lib"
    libdir.mkdir(parents=True, exist_ok=True)
    for module, library in SYSTEM_LIBRARIES.items():
        if _pkg_config_knows(module):
            continue
        link = libdir / f"lib{library}.so"
        if link.exists() or link.is_symlink():
            link.unlink()
        runtime = _runtime_library(f"lib{library}.so.0" if library == "jack" else f"lib{library}.so.2")
        if runtime is not None:
            link.symlink_to(runtime)
        elif module == "jack":
            # Linked --as-needed and never referenced: an empty library
            # satisfies the linker, and libjack is opened when chosen.
            empty = shim / "empty.c"
            empty.write_text("/* amio: stands in for libjack at link time */\n")
            subprocess.run([os.environ.get("CC", "cc"), "-shared", "-o", str(link), str(empty)], check=True)
        else:
            skipped.extend(NEEDS[module])
            continue
        provided[module] = f"-L{libdir} -l{library}"
    env: Dict[str, str] = {}
    if provided:
        script = shim / "pkg-config"
        script.write_text(
            f"#!{sys.executable}\n"
            + '''"""amio's build: pkg-config, or a stand-in for the modules it lacks."""
import shutil, subprocess, sys
PROVIDED = ''' + repr(provided) + '''
args = sys.argv[1:]
module = next((a for a in args if not a.startswith("-")), None)
for exe in ("pkg-config", "pkgconf"):
    path = shutil.which(exe)
    if path:
        run = subprocess.run([path] + args, capture_output=True)
        if run.returncode == 0:
            sys.stdout.buffer.write(run.stdout)
            sys.exit(0)
if module in PROVIDED:
    print("0.0" if "--modversion" in args else PROVIDED[module])
    sys.exit(0)
sys.stderr.write(f"pkg-config: no module {module}\\n")
sys.exit(1)
'''
        )
        script.chmod(0o755)
        env["PKG_CONFIG"] = str(script)
        print(f"amio: building with stand-ins for the development files of {', '.join(provided)}", file=sys.stderr)
    for name in skipped:
        print(
            f"amio: warning: no libasound here: the {name!r} backend is left out "
            "(install libasound2, or libasound2-dev, and reinstall to include it)",
            file=sys.stderr,
        )
    return env, skipped


def build_plugins() -> List[Path]:
    """Builds the backend plugins (release) and copies them into the
    package; returns their paths."""
    cargo = _cargo()
    metadata = subprocess.run(
        [cargo, "metadata", "--format-version", "1", "--no-deps"],
        cwd=HERE,
        check=True,
        stdout=subprocess.PIPE,
    )
    target_dir = Path(json.loads(metadata.stdout)["target_directory"])
    env_extra, skipped = _stand_in(target_dir / "amio-py-build")
    plugins = [name for name in PLUGINS if name not in skipped]
    for stale in PACKAGE.glob("libamio_*.so"):
        stale.unlink()
    command = [cargo, "build", "--release", "--lib"]
    for name in plugins:
        command += ["-p", f"amio-{name}"]
    subprocess.run(command, cwd=HERE, check=True, env={**os.environ, **env_extra})
    target = target_dir / "release"
    copied = []
    for name in plugins:
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
