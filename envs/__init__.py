"""Teaching-environment families, registered with Gymnasium under the ``teachgym/`` namespace.

Each family module declares its variants as data (``VARIANTS``: variant name -> (version, keyword
arguments), or a list of such pairs, oldest first, when earlier versions stay registered as Gymnasium
keeps them); :func:`register_all` turns every pair into the id ``teachgym/<Family>-<Variant>-v<version>``.
To add a family, write ``envs/<family>.py`` with its rules (a :class:`~teachgym.family.Family`), a
two-line env class (``class MyEnv(TeachingEnv): FAMILY = MyFamily``, named by ``ENV_CLASS``) and a
``VARIANTS`` table, and add the module to :data:`FAMILIES`.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import gymnasium as gym

from teachgym.composition import on_counter_draws
from teachgym.errors import UnknownNameError
from teachgym.registry_utils import suggestion
from teachgym.vector import TeachingVectorEnv

#: The Gymnasium namespace of every id: ``teachgym/<Family>-<Variant>-v<version>``.
NAMESPACE = "teachgym"

#: Family name -> its module under ``teachgym.envs``. A family module defines the env class (named in
#: ``ENV_CLASS``) and ``VARIANTS``: variant name -> (version, keyword arguments).
FAMILIES: dict[str, str] = {
    "SkillList": "skill_list",
    "SkillTree": "skill_tree",
    "Curriculum": "curriculum",
    "Rehearsal": "rehearsal",
    "Intervention": "intervention",
    "Tutor": "tutoring",
    "OpenEnded": "open_ended",
}


def family_class(family: str) -> Any:
    """The env class of ``family`` (its module's ``ENV_CLASS``), e.g. ``SkillListEnv``."""
    module = importlib.import_module(f"teachgym.envs.{FAMILIES[family]}")
    return getattr(module, module.ENV_CLASS)


def versions(
    row: tuple[int, dict[str, Any]] | list[tuple[int, dict[str, Any]]],
) -> list[tuple[int, dict[str, Any]]]:
    """A ``VARIANTS`` row as its registered ``(version, kwargs)`` pairs, oldest first."""
    return list(row) if isinstance(row, list) else [row]


#: Every version of every variant of every family, gathered from the family modules:
#: family -> variant -> [(version, kwargs), ...], oldest first.
ALL_VERSIONS: dict[str, dict[str, list[tuple[int, dict[str, Any]]]]] = {
    family: {
        variant: versions(row)
        for variant, row in importlib.import_module(f"teachgym.envs.{module}").VARIANTS.items()
    }
    for family, module in FAMILIES.items()
}
#: The latest version of every variant: family -> variant -> (version, kwargs).
VARIANTS: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
    family: {variant: pairs[-1] for variant, pairs in variants.items()}
    for family, variants in ALL_VERSIONS.items()
}


#: Shorter settings of the variants that are slow at their defaults (the language-model ones), for
#: smoke tests and quick suites: env id -> keyword overrides (a family module's ``QUICK_SETTINGS``).
QUICK_SETTINGS: dict[str, dict[str, Any]] = {}


def quick_settings(name: str) -> dict[str, Any]:
    """Keyword overrides that make the env ``name`` quick to run (``{}`` if it is quick already)."""
    return dict(QUICK_SETTINGS.get(name, {}))


def counter_settings(name: str) -> dict[str, Any]:
    """Keyword arguments that run the registered id ``name`` on counter-based random numbers with
    multiscale forgetting (:func:`~teachgym.composition.on_counter_draws`: as ``Tutor-Sim-v1`` does),
    keeping the id's own settings."""
    return on_counter_draws(dict(gym.spec(name).kwargs))


def env_id(family: str, variant: str, version: int) -> str:
    return f"{NAMESPACE}/{family}-{variant}-v{version}"


def register_all() -> None:
    """Register every variant of every family (idempotent)."""
    for family, variants in ALL_VERSIONS.items():
        module = importlib.import_module(f"teachgym.envs.{FAMILIES[family]}")
        for variant, (version, kwargs) in ((v, pair) for v, pairs in variants.items() for pair in pairs):
            name = env_id(family, variant, version)
            QUICK_SETTINGS[name] = getattr(module, "QUICK_SETTINGS", {}).get(variant, {})
            if name in gym.registry:
                continue
            entry_point = f"{module.__name__}:{module.ENV_CLASS}"
            gym.register(
                id=name,
                entry_point=entry_point,
                # One batched population for N envs (teachgym.vector), not N single envs.
                vector_entry_point=functools.partial(TeachingVectorEnv, entry_point),
                kwargs=kwargs,
                disable_env_checker=False,
            )


def ids() -> list[str]:
    """Every registered teachgym id, in registration order (the one list tests and docs read)."""
    return [name for name in gym.registry if name.startswith(f"{NAMESPACE}/")]


def resolve_id(name: str) -> str:
    """The registered id ``name`` stands for: ``name`` itself, or ``teachgym/<name>`` for an id
    without its namespace as leaderboard tables show it (``"SkillList-Sim-v1"``). Used by the command
    line; ``gymnasium.make`` keeps Gymnasium's own rules.

    Raises:
        UnknownNameError: no such id, naming the closest registered one where one is close.
    """
    known = ids()
    if isinstance(name, str):
        for candidate in (name, f"{NAMESPACE}/{name}"):
            if candidate in known:
                return candidate
    # Compared without the namespace, so that a typo in a bare id and in a full one both find it.
    bare = {full.removeprefix(f"{NAMESPACE}/"): full for full in known}
    typed = name.removeprefix(f"{NAMESPACE}/") if isinstance(name, str) else name
    raise UnknownNameError(
        f"unknown env id {name!r}{suggestion(typed, bare)}; run 'teachgym envs' for the list"
    )


register_all()
