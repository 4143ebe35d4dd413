"""Small helpers shared by the name registries (domains, students, teachers)."""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from teachgym.config import unexpected_keywords
from teachgym.errors import ConfigError, UnknownArgumentError, UnknownNameError


def load(entry_point: str) -> Any:
    """The object named by ``"module:attribute"`` (imported on first use, like Gymnasium's entry
    points, so that ``import teachgym`` does not import torch)."""
    module, _, attribute = entry_point.partition(":")
    return getattr(importlib.import_module(module), attribute)


def suggestion(name: object, known: Iterable[str] | Mapping[str, str]) -> str:
    """`` (did you mean 'x'?)`` for the known name closest to ``name``, or ``""`` when none is close.

    Names are compared case-insensitively by :func:`difflib.get_close_matches` (its ratio >= 0.6, as
    ``gymnasium.make`` suggests ids). Where ``known`` is a mapping, its keys are compared and the
    matching key's value is suggested (e.g. bare ids compared, full ids suggested).
    """
    if not isinstance(name, str):
        return ""
    shown = dict(known) if isinstance(known, Mapping) else {k: k for k in known}
    by_lower: dict[str, str] = {}
    for key in shown:
        by_lower.setdefault(key.lower(), key)
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    return f" (did you mean {shown[by_lower[match[0]]]!r}?)" if match else ""


def lookup(table: Mapping[str, Any], name: str, kind: str) -> Any:
    """``table[name]``, or an :class:`UnknownNameError` naming the closest known name (if one is
    close) and listing them all, e.g. ``unknown teacher 'unifrom' (did you mean 'uniform'?); expected
    one of [...]``."""
    if not isinstance(name, str) or name not in table:
        raise UnknownNameError(
            f"unknown {kind} {name!r}{suggestion(name, list(table))}; expected one of {sorted(table)}"
        )
    return table[name]


def call_checked(fn: Callable[..., Any], kwargs: Mapping[str, Any], owner: str, **fixed: Any) -> Any:
    """``fn(**fixed, **kwargs)`` after checking that every key of ``kwargs`` is a keyword ``fn``
    accepts; unknown keys raise an :class:`UnknownArgumentError` (a ``ConfigError`` and a ``TypeError``)
    listing the accepted ones."""
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"{owner} options must be a dict, got {type(kwargs).__name__} {kwargs!r}")
    parameters = inspect.signature(fn).parameters
    accepted = sorted(
        name
        for name, p in parameters.items()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and name not in fixed
    )
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise UnknownArgumentError(unexpected_keywords(owner, unknown, accepted))
    return fn(**fixed, **kwargs)
