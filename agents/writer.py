"""Allocation teachers as text teachers: the weights they would give (skill, level) cells become
correct problems written by the task's example writer.

Where the action is the training data itself (the OpenEnded family), an allocation teacher such as
``uniform``, ``random`` or ``weakest-skill`` still says *how many* problems each cell should get; the
writer turns that into *which* problems, from the domain's own generator (never a held-out item), with
correct answers. The comparison against LLM teachers, which also decide how to word and answer them,
then measures what writing the data is worth beyond choosing it. :func:`teachgym.agents.make` wraps
an allocation teacher in :class:`AllocationWriter` on a text task.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from teachgym.actions import as_allocation
from teachgym.engines import Plan, allocate
from teachgym.errors import UnsupportedError
from teachgym.task import TaskDescription
from teachgym.teacher import BaseTeacher, Observation, Teacher

#: Spawn key of the writer's own generator, apart from the wrapped teacher's (``teacher_rng``), so
#: that the problems written never shift the teacher's own draws.
_WRITER_STREAM = (0x7EAC, 0x7E47)


class AllocationWriter(BaseTeacher):
    """Writes ``examples_per_step`` correct problems per step, spread over (skill, level) cells as
    the wrapped allocation ``teacher`` weighs them (largest-remainder rounding, as the allocation
    families' engines do). The wrapped teacher sees the text task's observation and a ``Box(0, 1,
    (K, L))`` action space, as on an allocation family."""

    def __init__(self, teacher: Teacher, task: TaskDescription) -> None:
        if task.example_writer is None:
            raise UnsupportedError(
                f"an allocation teacher writes problems with the task's example writer; {task.env_id} "
                "lends none (example_writer is None)"
            )
        self.teacher = teacher
        self.writer = task.example_writer
        self.examples_per_step = task.examples_per_step
        self.cells = spaces.Box(0.0, 1.0, (task.num_skills, task.num_levels), np.float32)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.writer_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=_WRITER_STREAM))
        self.teacher.reset(observation_space, self.cells, seed=seed)

    def act(self, obs: Observation, info: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        weights = as_allocation(self.teacher.act(obs, info), self.cells)
        skill, level = Plan(allocate(weights[None], self.examples_per_step)).cells()
        problems = self.writer.generate(skill.ravel(), level.ravel(), self.writer_rng)
        return tuple(problems.pairs())

    def observe(
        self, obs: Observation, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> None:
        self.teacher.observe(obs, reward, terminated, truncated, info)
