"""Teaching-environment families, registered with Gymnasium under the ``teachgym/`` namespace.

Each family module declares its variants as data (``VARIANTS``: variant name -> keyword arguments);
:func:`register_all` turns every row into the id ``teachgym/<Family>-<Variant>-v<version>``. To add a
family, write ``envs/<family>.py`` with an env class (a :class:`~teachgym.env.TeachingEnv` with a
``family`` name) and a ``VARIANTS`` table, and add the module to :data:`FAMILIES`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

#: Family name -> (module under teachgym.envs, env class name).
FAMILIES: dict[str, tuple[str, str]] = {
    "SkillList": ("skill_list", "SkillListEnv"),
}

#: Every variant: family -> variant -> (version, keyword arguments). Budgets are steps x examples.
VARIANTS: dict[str, dict[str, tuple[int, dict[str, Any]]]] = {
    "SkillList": {
        "Sim": (
            0,
            {"domain": "sim", "student": "simulated", "num_steps": 30, "examples_per_step": 40},
        ),
        "Digits": (
            0,
            {
                "domain": "digits",
                "student": "mlp",
                "engine": "pool",
                "num_steps": 20,
                "examples_per_step": 64,
            },
        ),
        "Synthetic": (
            0,
            # 40 steps: the conflicting skills need that long to separate under uniform teaching.
            {"domain": "synthetic", "student": "mlp", "num_steps": 40, "examples_per_step": 64},
        ),
    },
}


def env_id(family: str, variant: str, version: int) -> str:
    return f"teachgym/{family}-{variant}-v{version}"


def register_all() -> None:
    """Register every variant of every family (idempotent)."""
    for family, variants in VARIANTS.items():
        module, cls = FAMILIES[family]
        for variant, (version, kwargs) in variants.items():
            name = env_id(family, variant, version)
            if name in gym.registry:
                continue
            gym.register(
                id=name,
                entry_point=f"teachgym.envs.{module}:{cls}",
                kwargs=kwargs,
                disable_env_checker=False,
            )


def ids() -> list[str]:
    """Every registered teachgym id, in registration order (the one list tests and docs read)."""
    return [name for name in gym.registry if name.startswith("teachgym/")]


register_all()
