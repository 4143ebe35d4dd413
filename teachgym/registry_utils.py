"""Small helpers shared by the name registries (domains, students, teachers)."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from teachgym.config import unexpected_keywords
from teachgym.errors import ConfigError, UnknownArgumentError, UnknownNameError


def load(entry_point: str) -> Any:
    """The object named by ``"module:attribute"`` (imported on first use, like Gymnasium's entry
    points, so that ``import teachgym`` does not import torch)."""
    module, _, attribute = entry_point.partition(":")
    return getattr(importlib.import_module(module), attribute)


def lookup(table: Mapping[str, Any], name: str, kind: str) -> Any:
    """``table[name]``, or an :class:`UnknownNameError` listing the known names."""
    if not isinstance(name, str) or name not in table:
        raise UnknownNameError(f"unknown {kind} {name!r}; expected one of {sorted(table)}")
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
