"""Teaching-environment families, registered with Gymnasium under the ``teachgym/`` namespace.

Each family module declares its variants as data (``VARIANTS``: variant name -> (version, keyword
arguments)); :func:`register_all` turns every row into the id ``teachgym/<Family>-<Variant>-v<version>``.
To add a family, write ``envs/<family>.py`` with an env class (a :class:`~teachgym.env.TeachingEnv`
with a ``family`` name, named by ``ENV_CLASS``) and a ``VARIANTS`` table, and add the module to
:data:`FAMILIES`.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym

#: Family name -> its module under ``teachgym.envs``. A family module defines the env class (named in
#: ``ENV_CLASS``) and ``VARIANTS``: variant name -> (version, keyword arguments).
FAMILIES: dict[str, str] = {
    "SkillList": "skill_list",
    "SkillTree": "skill_tree",
    "Curriculum": "curriculum",
    "Rehearsal": "rehearsal",
    "Intervention": "intervention",
    "Tutor": "tutoring",
}

#: Every variant of every family, gathered from the family modules: family -> variant -> (version, kwargs).
VARIANTS: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
    family: importlib.import_module(f"teachgym.envs.{module}").VARIANTS for family, module in FAMILIES.items()
}


def env_id(family: str, variant: str, version: int) -> str:
    return f"teachgym/{family}-{variant}-v{version}"


def register_all() -> None:
    """Register every variant of every family (idempotent)."""
    for family, variants in VARIANTS.items():
        module = importlib.import_module(f"teachgym.envs.{FAMILIES[family]}")
        for variant, (version, kwargs) in variants.items():
            name = env_id(family, variant, version)
            if name in gym.registry:
                continue
            gym.register(
                id=name,
                entry_point=f"{module.__name__}:{module.ENV_CLASS}",
                kwargs=kwargs,
                disable_env_checker=False,
            )


def ids() -> list[str]:
    """Every registered teachgym id, in registration order (the one list tests and docs read)."""
    return [name for name in gym.registry if name.startswith("teachgym/")]


register_all()
