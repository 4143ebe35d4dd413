"""teachgym: a Gymnasium suite of teaching environments.

``import teachgym`` registers every environment under the ``teachgym/`` namespace::

    import gymnasium, teachgym
    env = gymnasium.make("teachgym/SkillList-Sim-v0")
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("teachgym")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# envs/ is installed as teachgym.envs (a package-dir mapping that mypy does not follow); importing
# it registers every id.
from teachgym import envs  # type: ignore[attr-defined]
from teachgym.env import TeachingEnv
from teachgym.skills import Profile, SkillSpace

__all__ = ["Profile", "SkillSpace", "TeachingEnv", "__version__", "envs"]
