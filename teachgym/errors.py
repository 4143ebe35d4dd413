"""Exceptions raised by teachgym.

Every user error is a subclass of :class:`ValueError` whose message names the offending value and
what was expected, so that callers can catch ``ValueError`` and print one clear line.
"""

from __future__ import annotations


class TeachgymError(Exception):
    """Base class of every exception raised on purpose by teachgym."""


class InvalidActionError(TeachgymError, ValueError):
    """An action is outside the action space (shape, dtype, NaN/inf, range, all-zero weights).

    Raised before anything changes: the student, the budget and every random generator are as
    they were before the refused ``step``.
    """


class ConfigError(TeachgymError, ValueError):
    """An environment, student, domain or teacher was configured with an unknown or invalid value."""


class UnknownArgumentError(ConfigError, TypeError):
    """A constructor got a keyword argument it does not take.

    Also a :class:`TypeError` worded as Python words it ("got an unexpected keyword argument
    'x'"), because wrappers such as TorchRL's ``GymEnv`` probe optional constructor arguments and
    drop the ones that raise that ``TypeError``.
    """


class UnknownNameError(ConfigError):
    """A name (teacher, domain, student, objective) is not in its registry."""


class UnsupportedError(ConfigError):
    """A component was paired with one it does not support (e.g. ``oracle`` on a neural student)."""


class EpisodeStateError(TeachgymError, RuntimeError):
    """The environment was used out of order (``step`` before ``reset``, or after the episode ended)."""


class SiteBuildError(TeachgymError, RuntimeError):
    """The documentation site could not be built: a family docstring lacks a section, MkDocs is
    missing, or ``mkdocs build`` failed (in strict mode, on any warning, such as a broken link)."""
