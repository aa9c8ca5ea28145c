"""The package itself: a docstring on every public name, hand-written
stubs covering the extension, py.typed, one abi3 extension."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import amio
import amio.core
from amio import _native

PACKAGE = Path(amio.__file__).parent


def public_members(obj):
    for name, value in vars(obj).items():
        if name.startswith("_"):
            continue
        yield name, value


def test_docstrings_on_every_public_name():
    missing = []
    modules = [amio, amio.core] + [
        __import__(f"amio.{m}", fromlist=["_"])
        for m in ("audio_clip", "fader", "interface", "playspec", "events", "stream",
                  "null_interface", "dummy_interface", "native_interface")
    ]
    for module in modules:
        if not module.__doc__:
            missing.append(module.__name__)
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            # Classes and functions (type aliases carry no docstring at run
            # time; they are documented where they are defined).
            if not (inspect.isclass(value) or inspect.isroutine(value)):
                continue
            if not inspect.getdoc(value):
                missing.append(f"{module.__name__}.{name}")
            if inspect.isclass(value):
                for member, attr in public_members(value):
                    target = attr.fget if isinstance(attr, property) else attr
                    if (callable(target) or isinstance(attr, property)) and not inspect.getdoc(target):
                        missing.append(f"{module.__name__}.{name}.{member}")
    assert missing == [], missing


def test_stubs_cover_the_extension():
    assert (PACKAGE / "py.typed").exists()
    stub = ast.parse((PACKAGE / "_native.pyi").read_text())
    stubbed = {node.name for node in stub.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))}
    native = {name for name in dir(_native) if not name.startswith("_")}
    assert native == stubbed
    for node in stub.body:
        if isinstance(node, ast.ClassDef):
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            actual = {m for m in dir(getattr(_native, node.name)) if not m.startswith("_")}
            assert actual <= methods, (node.name, actual - methods)


def test_one_abi3_extension():
    assert Path(_native.__file__).name == "_native.abi3.so"
