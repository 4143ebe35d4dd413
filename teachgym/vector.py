"""The batched vector env: ``N`` teaching envs whose students are one population.

``gymnasium.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point")`` builds a
:class:`TeachingVectorEnv` for every registered id. Each of its ``N`` envs keeps its own teaching
state (budget, plan, observation) as an ordinary env of the family, but their students are the
members of one population student: every step trains all members on their batches at once (numpy
arrays for simulated learners, stacked parameters for torch networks) and answers the shared
validation split in one call. What a family does with one student alone (a tutoring probe, the next
item of an intervention stream, the final test) goes to that member
(:class:`~teachgym.students.members.MemberStudent`).

Trajectories equal those of ``N`` single envs with the same seeds (tested per family): member ``p``
trains and answers exactly as a one-member student would.

Autoreset follows Gymnasium 1.x's default (``AutoresetMode.NEXT_STEP``): the step after an episode
ends resets that env, ignores its action and returns reward 0. ``reset(options={"reset_mask": m})``
resets only the envs where the bool ``(N,)`` mask ``m`` is true (the SB3 adapter uses it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from operator import methodcaller
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array, iterate

from teachgym.config import check_int
from teachgym.env import Lesson, TeachingEnv
from teachgym.errors import ConfigError, EpisodeStateError, InvalidActionError
from teachgym.registry_utils import load
from teachgym.skills import Profile
from teachgym.students.members import (
    MemberStudent,
    attempt_shared,
    group_indices,
    learn_each,
    on_members,
    reset_each,
    stack_rows,
)


class TeachingVectorEnv(VectorEnv):  # type: ignore[type-arg]
    """``num_envs`` envs of the family ``env_class`` with one population student.

    Args:
        env_class: the family's env class, or its ``"module:Class"`` path.
        num_envs: ``N >= 1``, envs (population members).
        **kwargs: the family's keyword arguments, the same for every env (as for ``gymnasium.make``).

    Raises:
        ConfigError: a bad ``num_envs`` or keyword argument, or a family whose held-out split
            differs between two envs made with the same arguments (they could not be batched).
    """

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP, "supports_reset_mask": True}

    def __init__(self, env_class: type[TeachingEnv] | str, num_envs: int, **kwargs: Any) -> None:
        self.num_envs = check_int("TeachingVectorEnv", "num_envs", num_envs, 1)
        cls = load(env_class) if isinstance(env_class, str) else env_class
        if kwargs.get("render_mode") is not None:
            raise ConfigError(f"render_mode={kwargs['render_mode']!r}: a batched vector env does not render")
        self.envs: list[TeachingEnv] = [cls(**kwargs) for _ in range(self.num_envs)]
        first = self.envs[0]
        for env in self.envs[1:]:
            for split in ("_validation", "_test"):
                if not _same(getattr(first, split), getattr(env, split)):
                    raise ConfigError(
                        f"{cls.__name__} made with {kwargs!r} gave two envs different {split[1:]} items; "
                        "a batched vector env needs one shared held-out split"
                    )
        self.student = first.config.population(first.domain, self.num_envs)  # type: ignore[attr-defined]
        for index, env in enumerate(self.envs):
            env.student = MemberStudent(self.student, index)  # type: ignore[assignment]
        self._validation, self._test = first._validation, first._test
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {**self.metadata, "family": first.family}
        self.spec = None
        self.render_mode = None
        self._observations: list[Any] = [None] * self.num_envs
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._started = False

    # ------------------------------------------------------------------ reset
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset every env (or those in ``options["reset_mask"]``); env ``i`` gets ``seed + i``
        (or ``seed[i]``), as in Gymnasium's vector envs."""
        options = dict(options or {})
        mask = np.ones(self.num_envs, dtype=bool)
        if "reset_mask" in options:
            mask = np.asarray(options.pop("reset_mask"))
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ConfigError(
                    f"reset_mask={mask!r} is invalid; expected a bool array of shape ({self.num_envs},)"
                )
            if not self._started and not mask.all():
                raise ConfigError("the first reset of a vector env must reset every env (no reset_mask)")
        seeds = self._seeds(seed)
        members = [int(i) for i in np.flatnonzero(mask)]
        infos: dict[str, Any] = {}
        for i, (observation, info) in zip(members, self._reset_members(members, seeds, options), strict=True):
            self._observations[i] = observation
            infos = self._add_info(infos, info, i)
        self._autoreset[members] = False
        self._started = True
        return self._batch_observations(), infos

    def _seeds(self, seed: int | Sequence[int | None] | None) -> list[int | None]:
        if seed is None:
            return [None] * self.num_envs
        if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            return [int(seed) + i for i in range(self.num_envs)]
        seeds = list(seed)  # type: ignore[arg-type]
        if len(seeds) != self.num_envs:
            raise ConfigError(
                f"reset got {len(seeds)} seeds {seeds!r}; expected one per env ({self.num_envs})"
            )
        return seeds

    def _reset_members(
        self, members: list[int], seeds: Sequence[int | None], options: dict[str, Any]
    ) -> list[tuple[Any, dict[str, Any]]]:
        if not members:
            return []
        student_seeds = [self.envs[i]._begin_reset(seeds[i], options or None) for i in members]
        reset_each(self.student, members, student_seeds)
        validation = self._profiles(members, self._validation)
        test = self._profiles(members, self._test)
        return [self.envs[i]._end_reset(validation[j], test[j]) for j, i in enumerate(members)]

    def _profiles(self, members: list[int], items: Any) -> list[Profile]:
        """One-member profiles of the ``members`` on shared held-out ``items``, graded at once."""
        answers = attempt_shared(self.student, members, items)
        profile = self.envs[0]._profile_of(items, answers)
        return profile.rows()

    # ------------------------------------------------------------------ step
    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One step of every env: those whose episode ended on the last step are reset instead
        (their action ignored, reward 0). An invalid action in any env is refused before any env
        changes (``InvalidActionError`` naming the env)."""
        if not self._started:
            raise EpisodeStateError("step() called before reset()")
        per_env = self._split_actions(actions)
        resetting = [int(i) for i in np.flatnonzero(self._autoreset)]
        stepping = [int(i) for i in np.flatnonzero(~self._autoreset)]
        plans: dict[int, Any] = {}
        for i in stepping:  # check every action first, so that a refusal changes nothing anywhere
            try:
                plans[i] = self.envs[i]._check_action(per_env[i])
            except ValueError as error:
                raise type(error)(f"env {i} of the vector env: {error}") from error
        rewards = np.zeros(self.num_envs)
        terminations = np.zeros(self.num_envs, dtype=bool)
        truncations = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        for i, (observation, info) in zip(
            resetting, self._reset_members(resetting, [None] * self.num_envs, {}), strict=True
        ):
            self._observations[i] = observation
            infos = self._add_info(infos, info, i)
        for i, (observation, reward, terminated, truncated, info) in zip(
            stepping, self._step_members(stepping, plans), strict=True
        ):
            self._observations[i] = observation
            rewards[i], terminations[i], truncations[i] = reward, terminated, truncated
            infos = self._add_info(infos, info, i)
        self._autoreset = terminations | truncations
        return self._batch_observations(), rewards, terminations, truncations, infos

    def _split_actions(self, actions: Any) -> list[Any]:
        """One action per env out of the batch ``actions``; InvalidActionError for a batch of another
        size or form (nothing changes)."""
        try:
            per_env = list(iterate(self.action_space, actions))
        except Exception as error:  # Gymnasium raises TypeError/IndexError/ValueError on a wrong form
            raise InvalidActionError(
                f"vector action {_short(actions)} is not a batch of {self.num_envs} actions of "
                f"{self.single_action_space} ({type(error).__name__}: {error})"
            ) from None
        if len(per_env) != self.num_envs:
            raise InvalidActionError(
                f"vector action holds {len(per_env)} actions; expected one per env ({self.num_envs}) of "
                f"{self.single_action_space}"
            )
        return per_env

    def _step_members(self, members: list[int], plans: dict[int, Any]) -> list[tuple[Any, ...]]:
        if not members:
            return []
        lessons: list[Lesson] = [self.envs[i]._lesson(plans[i]) for i in members]
        probed = [j for j, lesson in enumerate(lessons) if lesson.probe is not None]
        for group in group_indices([len(lessons[j].probe) for j in probed]):
            rows = [probed[k] for k in group]
            probes = stack_rows([lessons[j].probe for j in rows])
            answers = on_members(self.student, [members[j] for j in rows], methodcaller("attempt", probes))
            for k, j in enumerate(rows):
                self.envs[members[j]]._on_probe(lessons[j], answers[k : k + 1])
        compute = learn_each(self.student, members, [lesson.batch for lesson in lessons])
        validation = self._profiles(members, self._validation)
        return [self.envs[i]._end_step(lessons[j], compute[j], validation[j]) for j, i in enumerate(members)]

    # ------------------------------------------------------------------ views
    def _batch_observations(self) -> Any:
        out: Any = create_empty_array(self.single_observation_space, self.num_envs)
        # Every env's observation is built afresh each step, so the batch shares nothing to copy.
        return concatenate(self.single_observation_space, self._observations, out)

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """``getattr(env, name)(*args, **kwargs)`` (or the attribute itself) of every env."""
        results = []
        for env in self.envs:
            value = getattr(env, name)
            results.append(value(*args, **kwargs) if callable(value) else value)
        return tuple(results)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        """The attribute ``name`` of every env."""
        return tuple(getattr(env, name) for env in self.envs)

    def close_extras(self, **kwargs: Any) -> None:
        for env in self.envs:
            env.close()


def _same(a: Any, b: Any) -> bool:
    """Whether two held-out splits (dataclasses of arrays) hold the same items."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            if not _same(x, y):
                return False
        elif (x is None) != (y is None) or (x is not None and not np.array_equal(x, y)):
            return False
    return True


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
