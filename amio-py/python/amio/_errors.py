"""amio's exceptions.

Every exception amio raises for a bad argument is a ``ValueError`` (or a
``TypeError`` for a value of the wrong type) whose message names the place
and the rule; amio's own classes below let a program catch amio's errors
apart from others while still catching them as the built-in kinds.
"""

from __future__ import annotations

from typing import Optional


class AmioError(Exception):
    """Base class of every exception amio raises itself."""


class InvalidArgument(AmioError, ValueError):
    """An argument breaks a rule; the message names the place and the rule."""


class EntryError(InvalidArgument):
    """A playspec entry breaks one of SPEC.md's rules.

    ``entry`` is the index of the entry in its playspec and ``rule`` the
    rule it breaks, in words.
    """

    entry: Optional[int] = None
    rule: Optional[str] = None


class ConfigError(InvalidArgument):
    """A stream's configuration or a backend option is invalid; ``field``
    names it."""

    field: Optional[str] = None


class FormatError(InvalidArgument):
    """A file is not in a format amio reads or writes, or is damaged."""


class QueueFullError(AmioError, RuntimeError):
    """A bounded queue between the control side and the engine is full;
    read events and retry."""


class StreamStateError(AmioError, RuntimeError):
    """The stream is not in a state that allows the call (not running,
    already running, closed, or not of the null backend)."""


class BackendError(AmioError, RuntimeError):
    """A backend could not be used."""


class BackendUnavailable(BackendError):
    """The backend does not exist here, or its plugin or the system library
    it needs cannot be loaded; the message says what to install."""


class DriverError(BackendError):
    """The backend's driver refused or failed (no server running, a device
    busy or gone, a configuration it cannot run). ``kind`` says which, for
    programs that act on it: ``"no_server"``, ``"no_device"``,
    ``"device_busy"``, ``"unsupported"``, ``"library_missing"``,
    ``"permission_denied"`` or ``"other"``."""

    kind: str = "other"


class AmioOSError(AmioError, OSError):
    """An operating-system error while doing something for amio."""


__all__ = [
    "AmioError",
    "InvalidArgument",
    "EntryError",
    "ConfigError",
    "FormatError",
    "QueueFullError",
    "StreamStateError",
    "BackendError",
    "BackendUnavailable",
    "DriverError",
    "AmioOSError",
]
