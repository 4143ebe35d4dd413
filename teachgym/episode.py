"""Where a batch of episodes stands: :class:`EpisodeState`, and what a step returns: :class:`Transition`.

Values with a leading env dimension ``n``, as gymnax and Brax keep theirs; :meth:`EpisodeState.take`
and :meth:`EpisodeState.put` slice and replace episodes (the vector env steps and resets subsets).
:mod:`teachgym.loop` runs the phases that take and return them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from teachgym.counter import EpisodeKeys
from teachgym.skills import Profile


@dataclasses.dataclass(frozen=True)
class EpisodeState:
    """Where ``n`` episodes stand. Arrays have a leading env dimension ``n``.

    Attributes:
        step: int64 ``(n,)`` steps taken in the episode.
        examples_used: int64 ``(n,)`` training examples given so far.
        compute_used: int64 ``(n,)`` the student's compute so far (see ``Student.learn``).
        profile: ``(n, K, L)`` validation profile, taken when last read (see ``graded``).
        initial_profile: ``(n, K, L)`` validation profile after reset.
        initial_test: ``(n, K, L)`` test profile after reset.
        bonus: float64 ``(n,)`` the reward beyond the objective so far (a family's own term, e.g.
            the Intervention stream's score).
        episode_rng: each episode's generator, seeded by ``reset(seed=...)`` (Gymnasium's
            ``np_random``).
        engine_rng: each episode's generator of training items, or with ``random_numbers="counter"``
            the keys of their counter-based streams (:class:`~teachgym.counter.EpisodeKeys`).
        family: the family's own state, a dataclass of ``(n, ...)`` arrays (or None).
        graded: bool ``(n,)``, True where ``profile`` is the validation profile now. Where the family
            hides it and rewards only at the end and the student's answers are pure (counter-based),
            a step does not take the validation test (nobody reads it before the last step);
            :meth:`TeachingLoop.graded` takes it when something does read it (a runner's curve).
    """

    step: np.ndarray
    examples_used: np.ndarray
    compute_used: np.ndarray
    profile: Profile
    initial_profile: Profile
    initial_test: Profile
    bonus: np.ndarray
    episode_rng: list[np.random.Generator]
    engine_rng: list[np.random.Generator] | EpisodeKeys
    family: Any = None
    graded: Any = None

    @property
    def size(self) -> int:
        return len(self.step)

    def with_family(self, family: Any) -> EpisodeState:
        """This state with the family's own state replaced (a new state; the arrays are shared)."""
        return EpisodeState(
            self.step,
            self.examples_used,
            self.compute_used,
            self.profile,
            self.initial_profile,
            self.initial_test,
            self.bonus,
            self.episode_rng,
            self.engine_rng,
            family,
            self.graded,
        )

    def take(self, rows: Sequence[int] | np.ndarray) -> EpisodeState:
        """The state of the episodes ``rows`` (copies of their arrays)."""
        return _take(self, np.asarray(rows, dtype=np.int64))  # type: ignore[no-any-return]

    def put(self, rows: Sequence[int] | np.ndarray, sub: EpisodeState) -> EpisodeState:
        """This state with the episodes ``rows`` replaced by ``sub``'s (a new state)."""
        return _put(self, np.asarray(rows, dtype=np.int64), sub)  # type: ignore[no-any-return]


def _take(value: Any, rows: np.ndarray) -> Any:
    if value is None:
        return None
    if isinstance(value, Profile):
        return Profile(value.skills, value.level_accuracy[rows], value.level_counts)
    if isinstance(value, np.ndarray):
        return value[rows]
    if isinstance(value, list):
        return [value[i] for i in rows]
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(
            value, **{f.name: _take(getattr(value, f.name), rows) for f in _fields(value)}
        )  # type: ignore[type-var]
    return value  # settings shared by every episode


def _put(value: Any, rows: np.ndarray, sub: Any) -> Any:
    if value is None:
        return sub
    if isinstance(value, Profile):
        accuracy = value.level_accuracy.copy()
        accuracy[rows] = sub.level_accuracy
        return Profile(value.skills, accuracy, value.level_counts)
    if isinstance(value, np.ndarray):
        out = value.copy()
        out[rows] = sub
        return out
    if isinstance(value, list):
        out_list = list(value)
        for j, i in enumerate(rows):
            out_list[i] = sub[j]
        return out_list
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(
            value,
            **{f.name: _put(getattr(value, f.name), rows, getattr(sub, f.name)) for f in _fields(value)},  # type: ignore[type-var]
        )
    return sub


def _fields(value: Any) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(value) if f.init]


@dataclasses.dataclass(frozen=True)
class Transition:
    """What one step returns for ``n`` episodes: ``(n, ...)`` arrays and an info dict of them.

    ``info`` holds arrays (or per-episode lists) with a leading ``n``; :func:`info_row` makes one
    episode's plain ``info`` of it.
    """

    observation: dict[str, np.ndarray]
    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    info: dict[str, Any]
