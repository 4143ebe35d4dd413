"""Rewards: functions of the previous and the new validation profile and the step's cost.

The default, :func:`mean_accuracy_gain`, makes an episode's return telescope to the final minus the
initial mean validation accuracy, so the return of an episode is the student's improvement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from teachgym.errors import UnknownNameError
from teachgym.skills import Profile


@dataclass(frozen=True)
class Cost:
    """What one step spent, per population member."""

    examples: np.ndarray  # (P,) training examples
    compute: np.ndarray  # (P,) student compute (see Student.learn)


#: ``objective(previous, current, cost) -> reward (P,)``.
Objective = Callable[[Profile, Profile, Cost], np.ndarray]


def mean_accuracy_gain(previous: Profile, current: Profile, cost: Cost) -> np.ndarray:
    """Gain in mean validation accuracy over skills (every skill weighs the same)."""
    return current.mean - previous.mean


@dataclass(frozen=True)
class TargetSkillGain:
    """Gain in mean validation accuracy over a subset of skills (e.g. a SOAR-style hard subset)."""

    skills: Sequence[int]

    def __call__(self, previous: Profile, current: Profile, cost: Cost) -> np.ndarray:
        index = list(self.skills)
        return current.accuracy[..., index].mean(-1) - previous.accuracy[..., index].mean(-1)


@dataclass(frozen=True)
class CostPenalty:
    """Another objective minus ``per_example`` times the examples used."""

    objective: Objective
    per_example: float

    def __call__(self, previous: Profile, current: Profile, cost: Cost) -> np.ndarray:
        return self.objective(previous, current, cost) - self.per_example * cost.examples


#: Objectives by name. Envs also take ``"target-gain"``: :class:`TargetSkillGain` over the skills named
#: in their ``objective_skills`` (see ``teachgym.composition.TeachingConfig``).
OBJECTIVES: dict[str, Objective] = {"mean-gain": mean_accuracy_gain}


def make_objective(objective: str | Objective) -> Objective:
    """An objective by name (see :data:`OBJECTIVES`) or a callable passed through."""
    if callable(objective):
        return objective
    try:
        return OBJECTIVES[objective]
    except KeyError:
        raise UnknownNameError(
            f"unknown objective {objective!r}; expected one of {sorted(OBJECTIVES)}, 'target-gain' (with "
            "objective_skills, in an env's arguments) or a callable"
        ) from None
