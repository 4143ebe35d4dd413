"""Validation of keyword arguments against a dataclass of settings, with clear errors."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from teachgym.errors import ConfigError, UnknownArgumentError

C = TypeVar("C")


def parse_config(cls: type[C], kwargs: Mapping[str, Any], *, owner: str) -> C:
    """Build the settings dataclass ``cls`` from ``kwargs``, refusing unknown names and wrong types.

    A field's type is taken from its default: an ``int`` default takes ints, a ``float`` default takes
    finite ints or floats, a ``str`` default takes strings; the dataclass's ``__post_init__`` then
    checks ranges.

    Raises:
        UnknownArgumentError: an unknown name (a ``ConfigError`` and a ``TypeError``).
        ConfigError: naming ``owner``, the bad key or value, and what was expected.
    """
    if not isinstance(kwargs, Mapping):
        raise ConfigError(f"{owner} options must be a dict, got {type(kwargs).__name__} {kwargs!r}")
    known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise UnknownArgumentError(unexpected_keywords(owner, unknown, sorted(known)))
    for name, value in kwargs.items():
        default = known[name].default
        if default is dataclasses.MISSING or default is None:
            continue
        if not _same_kind(value, default):
            raise ConfigError(
                f"{owner} argument {name}={value!r} has type {type(value).__name__}; "
                f"expected {type(default).__name__}"
            )
    return cls(**kwargs)


def unexpected_keywords(owner: str, unknown: list[str], known: list[str]) -> str:
    """Python's wording for unknown keyword arguments, then what ``owner`` does take."""
    names = ", ".join(repr(name) for name in unknown)
    plural = "s" if len(unknown) > 1 else ""
    article = "" if plural else "an "
    return f"{owner} got {article}unexpected keyword argument{plural} {names}; expected any of {known}"


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if isinstance(default, int):
        return isinstance(value, numbers.Integral)
    if isinstance(default, float):
        return isinstance(value, numbers.Real) and math.isfinite(value)
    if isinstance(default, str):
        return isinstance(value, str) or callable(value)
    return True


def require(condition: bool, owner: str, name: str, value: Any, expected: str) -> None:
    """Raise a :class:`ConfigError` unless ``condition``: ``owner argument name=value; expected ...``."""
    if not condition:
        raise ConfigError(f"{owner} argument {name}={value!r} is invalid; expected {expected}")


def check_int(owner: str, name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]`` (Python or numpy integer, not bool), else a ConfigError."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and low <= value and (high is None or value <= high)
    bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
    require(ok, owner, name, value, f"an int {bounds}")
    return int(value)


def check_real(
    owner: str,
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float within the bounds (open or closed), else a ConfigError."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        ok = above and below
    interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    require(ok, owner, name, value, f"a finite number in {interval}")
    return float(value)


def check_choice(owner: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of the ``allowed`` strings, else a ConfigError listing them."""
    require(isinstance(value, str) and value in allowed, owner, name, value, f"one of {list(allowed)}")
    return str(value)


def check_bool(owner: str, name: str, value: Any) -> bool:
    """``value`` as a bool (Python or numpy), else a ConfigError."""
    require(isinstance(value, bool | np.bool_), owner, name, value, "True or False")
    return bool(value)
