"""Typed errors raised by n2ce_bbo.

Every error the library raises on bad input derives from :class:`N2CEBBOError`, and also from the
built-in exception a caller would naturally catch (``ValueError``, ``KeyError``, ...).
"""

from __future__ import annotations


class N2CEBBOError(Exception):
    """Base class of every error raised by n2ce_bbo."""


class InvalidDataError(N2CEBBOError, ValueError):
    """Designs or scores are malformed: wrong rank or shape, NaN/inf, tokens out of range, empty."""


class UnknownTaskError(N2CEBBOError, KeyError):
    """A task name is not registered. The message lists close matches."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class UnknownMethodError(N2CEBBOError, KeyError):
    """A method name is not registered. The message lists close matches."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class DataNotFoundError(N2CEBBOError, FileNotFoundError):
    """The data folder, or a file a task needs inside it, is missing."""


class CorruptDataError(N2CEBBOError, ValueError):
    """A data, cache or checkpoint file exists but cannot be read or fails its checks."""


class ConfigError(N2CEBBOError, ValueError):
    """A configuration has an unknown key, a value of the wrong type, or an invalid value.

    Args:
        message: what is wrong (with ``key``: the rest of the sentence after the key, e.g. "must be >= 1, got 0.").
        key: the offending key, when one is to blame; :func:`n2ce_bbo.config.from_dict` prefixes it with the
            key's section so the message names its full path.
    """

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(f"{key} {message}" if key else message)
        self.key = key
        self.detail = message


class NonFiniteLossError(N2CEBBOError, FloatingPointError):
    """Training produced a NaN or infinite loss. The message names the step."""


class OracleUnavailableError(N2CEBBOError, RuntimeError):
    """A task without an oracle was asked to score designs."""


class NoFeasibleDesignError(N2CEBBOError, ValueError):
    """No design satisfies the constraints (every candidate broke them), so no batch can be proposed. The message
    names the constraints and, when it is certain, why none can be met."""


class OutputError(N2CEBBOError, OSError):
    """An output folder cannot be written (permissions, full disk)."""


class DataWarning(UserWarning):
    """Input data that works but deserves attention: very few rows, duplicate designs with different scores."""


class IncompatibleModelError(CorruptDataError):
    """A saved model folder was written in another format or format version than this code reads."""
