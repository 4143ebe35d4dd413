"""Run a teacher on a teaching env for one episode and keep what a benchmark record needs."""

from __future__ import annotations

import functools
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from teachgym import __version__
from teachgym.teacher import as_teacher


@dataclass
class EpisodeResult:
    """One episode of one teacher on one env (JSON-serializable; no pickle).

    Attributes:
        curve: per step, ``{"step", "reward", "mean_accuracy", "examples_used"}``.
        family_info: the family's own ``info`` entries at the end (``env.extra_info_keys``).
        wall_time: seconds from reset to the last step.
    """

    env_id: str
    agent: str
    seed: int
    curve: list[dict[str, float]] = field(default_factory=list)
    initial_accuracy: float = 0.0
    final_accuracy: float = 0.0
    initial_test_accuracy: float = 0.0
    test_accuracy: float = 0.0
    final_profile: dict[str, float] = field(default_factory=dict)
    test_profile: dict[str, float] = field(default_factory=dict)
    episode_return: float = 0.0
    examples_used: int = 0
    compute_used: int = 0
    wall_time: float = 0.0
    validation_test_gap: float = 0.0
    family_info: dict[str, Any] = field(default_factory=dict)
    version: str = __version__
    git_revision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@functools.cache
def git_revision() -> str | None:
    """The git commit of the teachgym source tree (with ``+dirty`` if its code has uncommitted changes),
    or None when teachgym is not run from a git checkout.

    Results folders (``leaderboards/``) do not count: a sweep that appends to a committed leaderboard
    changes its results files, not the code that produced them (before this, every record of a sweep
    into ``leaderboards/`` was marked ``+dirty`` by the sweep's own writes)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ".",
                ":!leaderboards",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def run_episode(
    env: gym.Env[Any, Any],
    teacher: Any,
    seed: int,
    *,
    agent: str = "",
    on_step: Any = None,
) -> EpisodeResult:
    """Play one episode of ``teacher`` on ``env`` from ``seed`` (the teacher is seeded with ``seed``
    too). ``teacher`` is anything :func:`teachgym.teacher.as_teacher` accepts.

    Args:
        on_step: optional ``on_step(action, obs, reward, info)`` callback, e.g. for printing.
    """
    teacher = as_teacher(teacher)
    start = time.perf_counter()
    obs, info = env.reset(seed=seed)
    teacher.reset(env.observation_space, env.action_space, seed=seed)
    spec_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    result = EpisodeResult(env_id=spec_id, agent=agent, seed=seed, git_revision=git_revision())
    # The runner logs accuracy through the env (a channel teachers do not use: in families that hide
    # the student's state, info carries it only at the end).
    unwrapped = env.unwrapped
    result.initial_accuracy = unwrapped.mean_accuracy()  # type: ignore[attr-defined]
    terminated = truncated = False
    while not (terminated or truncated):
        action = teacher.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        teacher.observe(obs, reward, terminated, truncated, info)
        result.episode_return += float(reward)
        result.curve.append(
            {
                "step": info["step"],
                "reward": float(reward),
                "mean_accuracy": unwrapped.mean_accuracy(),  # type: ignore[attr-defined]
                "examples_used": info["examples_used"],
            }
        )
        if on_step is not None:
            on_step(action, obs, reward, info)
    result.final_accuracy = info["mean_accuracy"]
    result.final_profile = info["profile"]
    result.initial_test_accuracy = info["initial_test_accuracy"]
    result.test_accuracy = info["test_accuracy"]
    result.test_profile = info["test_profile"]
    result.validation_test_gap = info["validation_test_gap"]
    # The family's own end-of-episode entries (e.g. steps to threshold, forgetting), as JSON.
    result.family_info = {key: info[key] for key in getattr(unwrapped, "extra_info_keys", ()) if key in info}
    result.examples_used = info["examples_used"]
    result.compute_used = info["compute_used"]
    result.wall_time = time.perf_counter() - start
    return result
