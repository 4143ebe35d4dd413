"""Teachers for prerequisite-structured skills: prerequisites-first, frontier, explore-exploit."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from teachgym.agents.base import BaseTeacher, Observation, register
from teachgym.config import check_int, check_real
from teachgym.skills import SkillSpace
from teachgym.task import TaskDescription

#: Skill-tree teachers allocate over cells along the prerequisite graph the observation shows.
TREE_NEEDS = ("prerequisites", "explored", "profile", "level_profile")


def topological_order(prerequisites: np.ndarray) -> list[int]:
    """Nodes ordered after their prerequisites, from an observed ``(K, K)`` prerequisite matrix."""
    names = tuple(str(k) for k in range(len(prerequisites)))
    needs = {
        names[k]: tuple(names[j] for j in np.flatnonzero(row > 0.5)) for k, row in enumerate(prerequisites)
    }
    return SkillSpace(names, {k: v for k, v in needs.items() if v}).topological_order()


def focus(shape: tuple[int, ...], skill: int, level_profile: np.ndarray, threshold: float) -> np.ndarray:
    """All of a step's examples on ``skill`` at its easiest level not yet at ``threshold`` (its
    hardest level once all are): practice pitched just beyond what is already mastered."""
    weights = np.zeros(shape, np.float32)
    unmastered = np.flatnonzero(level_profile[skill] < threshold)
    weights[skill, unmastered[0] if unmastered.size else shape[1] - 1] = 1.0
    return weights


@register(
    "prerequisites-first",
    kinds=("allocation",),
    needs=TREE_NEEDS,
    paper="prerequisite-ordered teaching (topological curricula; PSI-KT, Zhou et al. 2024; GraphMASAL)",
    summary="one skill at a time in topological order, advancing when it is mastered (or after a cap)",
)
class PrerequisitesFirstTeacher(BaseTeacher):
    """Teaches the skills one at a time in a topological order of the prerequisite graph (read from
    ``obs["prerequisites"]``), at the skill's easiest level not yet at ``threshold``. It advances to
    the next skill once the current one's validation accuracy reaches ``threshold``, or after
    ``patience`` steps on it (a skill whose ceiling lies below the threshold must not stall the
    curriculum). After the last skill it keeps teaching the weakest skill.

    Knobs:
        threshold: validation accuracy that counts as mastered, in (0, 1] (default 0.7).
        patience: most steps spent on one skill before moving on (default 6).
    """

    def __init__(self, task: TaskDescription, *, threshold: float = 0.7, patience: int = 6) -> None:
        owner = "teacher 'prerequisites-first'"
        self.threshold = check_real(owner, "threshold", threshold, 0.0, 1.0, low_open=True)
        self.patience = check_int(owner, "patience", patience, 1)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.order: list[int] | None = None
        self.position = 0
        self.steps_on_current = 0

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        if self.order is None:
            self.order = topological_order(obs["prerequisites"])
        profile = obs["profile"]
        while self.position < len(self.order) and (
            profile[self.order[self.position]] >= self.threshold or self.steps_on_current >= self.patience
        ):
            self.position += 1
            self.steps_on_current = 0
        self.steps_on_current += 1
        skill = self.order[self.position] if self.position < len(self.order) else int(np.argmin(profile))
        return focus(self.action_space.shape, skill, obs["level_profile"], self.threshold)


@register(
    "frontier",
    kinds=("allocation",),
    needs=TREE_NEEDS,
    paper="zone of proximal development (Vygotsky 1978) on a prerequisite graph, as in PSI-KT (2024)",
    summary="the weakest unmastered skill whose prerequisites are all mastered",
)
class FrontierTeacher(BaseTeacher):
    """Teaches, each step, the weakest skill that is not yet mastered but whose prerequisites all
    are (the frontier of the mastered set: the zone of proximal development on the graph), at its
    easiest level not yet at ``threshold``. With an empty frontier it teaches the weakest skill.

    Knobs:
        threshold: validation accuracy that counts as mastered, in (0, 1] (default 0.7).
    """

    def __init__(self, task: TaskDescription, *, threshold: float = 0.7) -> None:
        self.threshold = check_real("teacher 'frontier'", "threshold", threshold, 0.0, 1.0, low_open=True)

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        profile = obs["profile"]
        mastered = profile >= self.threshold
        prerequisites = obs["prerequisites"] > 0.5
        ready = ~mastered & np.all(mastered[None, :] | ~prerequisites, axis=1)
        candidates = np.flatnonzero(ready) if ready.any() else np.arange(len(profile))
        skill = int(candidates[np.argmin(profile[candidates])])
        return focus(self.action_space.shape, skill, obs["level_profile"], self.threshold)


@register(
    "explore-exploit",
    kinds=("allocation",),
    needs=TREE_NEEDS,
    paper="DataEnvGym skill-tree baseline (Khan et al. 2024): alternating Explore and Exploit",
    summary="alternates adding data for new subskills and rebalancing data among explored ones",
)
class ExploreExploitTeacher(BaseTeacher):
    """DataEnvGym's alternating skill-tree policy. On *explore* steps it puts the step's data, evenly,
    on up to ``num_new_skills`` unexplored nodes whose prerequisites are explored (in topological
    order): the tree grows. On *exploit* steps it reallocates data among the explored nodes in
    proportion to their missing share ``1 - accuracy`` (as STAT-Sel). It explores every ``period``-th
    step, starting with an explore step, and only exploits once every node is explored. Levels get
    equal shares (DataEnvGym's trees have no difficulty levels).

    Knobs:
        num_new_skills: nodes added per explore step (default 2).
        period: one explore step every ``period`` steps (default 2: strict alternation).
    """

    def __init__(self, task: TaskDescription, *, num_new_skills: int = 2, period: int = 2) -> None:
        owner = "teacher 'explore-exploit'"
        self.num_new_skills = check_int(owner, "num_new_skills", num_new_skills, 1)
        self.period = check_int(owner, "period", period, 1)

    def reset(self, observation_space: gym.Space[Any], action_space: gym.Space[Any], *, seed: int) -> None:
        super().reset(observation_space, action_space, seed=seed)
        self.turn = 0

    def act(self, obs: Observation, info: dict[str, Any]) -> np.ndarray:
        explored = obs["explored"] > 0.5
        prerequisites = obs["prerequisites"] > 0.5
        open_nodes = [
            k
            for k in topological_order(obs["prerequisites"])
            if not explored[k] and explored[prerequisites[k]].all()
        ]
        explore = self.turn % self.period == 0 or not explored.any()
        self.turn += 1
        per_node = np.zeros(len(explored), np.float32)
        if open_nodes and explore:
            per_node[open_nodes[: self.num_new_skills]] = 1.0
        else:
            missing = np.clip(1.0 - obs["profile"], 0.0, 1.0) * explored
            per_node = missing if missing.sum() > 0 else explored.astype(np.float32)
        weights = np.repeat((per_node / per_node.max())[:, None], self.action_space.shape[1], axis=1)
        return weights.astype(np.float32)
