"""The teaching loop over a batch of episodes: an explicit state, public phases, families as specs.

A family is a :class:`~teachgym.family.Family`: its spaces, its action kind and array functions
written once for ``n`` episodes. :class:`TeachingLoop` owns everything else: seeds, counters, the
budget, prior knowledge, assessment on the held-out splits, the reward and every shared ``info``
key. Its two phases take an :class:`EpisodeState` (values with a leading env dimension, as gymnax
and Brax keep theirs) and return the next one:

- :meth:`TeachingLoop.reset`: fresh students for the given seeds, assessed; the first state.
- :meth:`TeachingLoop.step`: plan, lesson, optional probe, training, assessment, reward, the
  family's update; the next state and a :class:`Transition` of ``(n, ...)`` arrays.

The single env (:class:`teachgym.env.TeachingEnv`) runs the loop on a batch of one; the vector env
(:class:`teachgym.vector.TeachingVectorEnv`) on a batch of ``N`` whose students are one population,
so both run the same code. Two parts are not values: the student (a population whose member ``i``
is episode ``i``'s learner; a network cannot be copied every step) and the per-episode numpy
generators, which keep every episode's draws exactly those of a single env (counter-based keys,
``random_numbers="counter"``, are values). The state and transition types are in
:mod:`teachgym.episode`, re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium.utils import seeding

from teachgym import counter
from teachgym.counter import EpisodeKeys
from teachgym.domains.base import Items
from teachgym.engines import Plan, ProceduralEngine, allocate
from teachgym.episode import EpisodeState, Transition
from teachgym.errors import ConfigError, EpisodeStateError, UnsupportedError
from teachgym.family import Family, Lesson, batch_sizes
from teachgym.objectives import Cost, TargetSkillGain, make_objective
from teachgym.skills import Profile, profile_from_correct
from teachgym.students.members import group_indices, stack_rows

#: ``info`` keys the loop gives on every step (``compute_used``, ``profile`` and ``mean_accuracy`` only
#: where the family reveals the student's state, or on the last step), and on the last step only.
STEP_INFO_KEYS = ("step", "examples_used")
REVEALED_INFO_KEYS = ("compute_used", "profile", "mean_accuracy")
FINAL_INFO_KEYS = (
    "test_profile",
    "test_accuracy",
    "initial_test_accuracy",
    "initial_accuracy",
    "validation_test_gap",
)
#: Info values that are profiles: ``(n, K)`` arrays shown as ``{skill name: accuracy}``.
PROFILE_KEYS = ("profile", "test_profile")

__all__ = ["EpisodeState", "TeachingLoop", "Transition", "info_row"]


class TeachingLoop:
    """The loop of a family's ``n`` episodes whose students are one population.

    Args:
        family: the family's rules (a :class:`Family` built from the env's keyword arguments).
        num_envs: episodes in the batch (the population's size).
    """

    def __init__(self, family: Family, num_envs: int) -> None:
        self.family = family
        config = family.config
        self.domain = family.domain
        self.engine = family.engine
        self.skills = self.domain.skills
        self.num_steps: int = config.num_steps
        self.examples_per_step: int = family.examples_per_step
        self.prior_examples: int = config.prior_examples
        self.prior_skill_fraction: float = config.prior_skill_fraction
        self.objective = make_objective(config.objective_for(self.domain))
        self.student = config.population(self.domain, num_envs)
        self.num_envs = num_envs
        self.validation: Items = self.domain.heldout("validation")
        self.test: Items = self.domain.heldout("test")
        #: Counter-based random numbers (``random_numbers="counter"``) rather than per-episode generators.
        self.counter = config.random_numbers == "counter"
        if self.counter:
            self._check_counter()

    def _check_counter(self) -> None:
        parts = {
            f"a family that draws through the loop (the {self.family.name} family draws itself)": (
                self.family.counter_draws
            ),
            f"a student with counter-based keys (not {type(self.student).__name__})": hasattr(
                self.student, "reset_keys"
            ),
            f"a domain whose items take counter-based draws (not {type(self.domain).__name__})": getattr(
                self.domain, "counter_draws", False
            ),
            f"the procedural engine (not {type(self.engine).__name__})": isinstance(
                self.engine, ProceduralEngine
            ),
        }
        missing = [need for need, ok in parts.items() if not ok]
        if missing:
            raise UnsupportedError(f"random_numbers='counter' needs {'; '.join(missing)}")
        validation, test = self.validation.difficulty, self.test.difficulty
        if validation is not None and test is not None and np.array_equal(validation, test):
            # Counter-based answers are keyed by the item: the two splits would be answered alike.
            raise UnsupportedError(
                "random_numbers='counter' needs validation and test splits of different items; the "
                "domain's are the same items (item_sd=0?), which would be answered alike: give the "
                "domain item_sd > 0"
            )

    # ------------------------------------------------------------------ reset
    def reset(
        self, seeds: Sequence[int | None], previous: Sequence[np.random.Generator | None] | None = None
    ) -> tuple[EpisodeState, dict[str, np.ndarray], dict[str, Any]]:
        """Fresh episodes, one per seed, on a student population of ``len(seeds)`` members.

        Args:
            seeds: each episode's seed (None: keep ``previous[i]``'s generator going, or draw one from
                the OS, as ``gymnasium.Env.reset`` does).
            previous: each episode's generator before this reset, or None.

        Returns:
            The state, the ``(n, ...)`` observation and the batched info.
        """
        episode_rng, entropy = [], []
        for i, seed in enumerate(seeds):
            rng = previous[i] if previous is not None and seed is None else None
            if rng is None:
                rng, _ = seeding.np_random(seed)
            episode_rng.append(rng)
            entropy.append(int(rng.integers(2**63)))
        if self.counter:
            engine_rng: list[np.random.Generator] | EpisodeKeys = self._start_keyed(entropy)
            validation, test = self.assess(self.validation), self.assess(self.test)
        else:
            engine_rng, prior_rng = self._start_seeded(entropy)
            # Assessed before and after the prior: the first test draws from the students' generators.
            validation, test = self.assess(self.validation), self.assess(self.test)
            if self.prior_examples:
                self._learn_prior(prior_rng)
                validation, test = self.assess(self.validation), self.assess(self.test)
        n = len(seeds)
        zeros = np.zeros(n, dtype=np.int64)
        state = EpisodeState(
            step=zeros,
            examples_used=zeros,
            compute_used=zeros,
            profile=validation,
            initial_profile=validation,
            initial_test=test,
            bonus=np.zeros(n),
            episode_rng=episode_rng,
            engine_rng=engine_rng,
            graded=np.ones(n, dtype=bool),
        )
        # Call the objective once now, so that a broken one fails here and not after a student has
        # already learned from a step (which would leave that step half-applied).
        self._objective(validation, validation, Cost(np.zeros(n), np.zeros(n)))
        family_state, changed = self.family.reset(state, self.student)
        if changed:  # the family taught the fresh student before the first step (a warm-up)
            validation, test = self.assess(self.validation), self.assess(self.test)
            state = dataclasses.replace(
                state, profile=validation, initial_profile=validation, initial_test=test
            )
        state = dataclasses.replace(state, family=family_state)
        state = dataclasses.replace(state, family=self.family.start(state, self.student))
        return state, self.observe(state), self.info(state, np.zeros(n, dtype=bool))

    def _start_keyed(self, entropy: list[int]) -> EpisodeKeys:
        """Fresh students from each episode's entropy (an int below 2**63) on counter-based keys, with
        their prior knowledge; the keys of each episode's training items."""
        keys = counter.keys_of(entropy)
        self.student.reset_keys(counter.derive(keys, 0))
        if self.prior_examples:
            self._learn_prior_keyed(counter.derive(keys, 2))
        return EpisodeKeys(counter.derive(keys, 1))

    def _start_seeded(
        self, entropy: list[int]
    ) -> tuple[list[np.random.Generator], list[np.random.Generator]]:
        """Fresh students from each episode's entropy on numpy generators; each episode's generators
        of training items and of prior knowledge."""
        engine_rng, prior_rng, student_seeds = [], [], []
        for value in entropy:
            # spawn(3)'s first two children are spawn(2)'s: ids without prior knowledge are unchanged.
            student_seed, engine_seed, prior_seed = np.random.SeedSequence(value).spawn(3)
            student_seeds.append(student_seed)
            engine_rng.append(np.random.default_rng(engine_seed))
            prior_rng.append(np.random.default_rng(prior_seed))
        self.student.reset_each(student_seeds)
        return engine_rng, prior_rng

    def _known_skills(self) -> int:
        return max(1, round(self.prior_skill_fraction * self.skills.num_skills))

    def _learn_prior(self, rngs: list[np.random.Generator]) -> None:
        """Prior knowledge: each fresh student learns ``prior_examples`` examples spread evenly over
        a random subset of ``prior_skill_fraction`` of the skills (all their levels), drawn from the
        reset seed alone, so every teacher meets the same student. Not counted in the budget."""
        num_skills, num_levels = self.skills.num_skills, self.skills.num_levels
        batches = []
        for rng in rngs:
            known = rng.choice(num_skills, self._known_skills(), replace=False)
            weights = np.zeros((1, num_skills, num_levels))
            weights[0, known] = 1.0
            batches.append(self.engine.generate(Plan(allocate(weights, self.prior_examples)), rng))
        self.student.learn(stack_rows(batches))

    def _learn_prior_keyed(self, keys: np.ndarray) -> None:
        """:meth:`_learn_prior` with counter-based draws: the known skills are the first of a random
        order of the skills, and the examples are drawn at once."""
        n, num_skills, num_levels = len(keys), self.skills.num_skills, self.skills.num_levels
        order = np.argsort(counter.uniform(counter.derive(keys, 0), (num_skills,)), axis=1)
        weights = np.zeros((n, num_skills, num_levels))
        np.put_along_axis(weights, order[:, : self._known_skills(), None], 1.0, axis=1)
        plan = Plan(allocate(weights, self.prior_examples))
        streams = counter.CounterStreams(counter.derive(keys, 1), np.zeros(n, dtype=np.uint64))
        self.student.learn(self.engine.generate_each(plan, streams))  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ step
    def step(self, state: EpisodeState, actions: Any) -> tuple[EpisodeState, Transition]:
        """One step of every episode in ``state`` (all of them must be running).

        Raises:
            EpisodeStateError: an episode whose budget is spent.
            InvalidActionError: a bad action (raised by the family's ``plan`` before anything changes).
        """
        if np.any(state.step >= self.num_steps):
            raise EpisodeStateError("the episode's budget is spent; call reset() first")
        lesson = self.family.plan(state, actions)
        lesson = self.family.lesson(state, lesson, self.student)
        answers = None if lesson.probe is None else self.student.attempt(lesson.probe)
        compute = self._learn(lesson.batch)
        last = state.step + 1 >= self.num_steps
        read = self._read(last)
        profile = self.assess(self.validation) if read else state.profile
        examples = self.family.examples(lesson)
        # The objective is charged the examples the students trained on (a family may count its
        # budget otherwise: the Intervention stream counts one item a step).
        cost = Cost(examples=batch_sizes(lesson.batch), compute=compute)
        bonus = self.family.bonus(state, lesson)
        # Every profile is scored with the state it belongs to, the new one with the counters after the
        # step: a family whose scored part grows with the steps (Rehearsal's arrived tasks) needs it.
        advanced = EpisodeState(
            step=state.step + 1,
            examples_used=state.examples_used + examples,
            compute_used=state.compute_used + compute,
            profile=profile,
            initial_profile=state.initial_profile,
            initial_test=state.initial_test,
            bonus=state.bonus + bonus,
            episode_rng=state.episode_rng,
            engine_rng=state.engine_rng,
            family=state.family,
            graded=np.full(state.size, read),
        )
        current = self.family.scored(advanced, profile)
        if self.family.reward_at_end:
            # The objective of (initial, final), charged with the whole episode's cost, on the last
            # step; earlier steps still call it, so that a broken objective fails at once.
            total = Cost(examples=examples + state.examples_used, compute=compute + state.compute_used)
            initial = self.family.scored(_at_start(state), state.initial_profile)
            gain = np.where(last, self._objective(initial, current, total), 0.0)
        else:
            gain = self._objective(self.family.scored(state, state.profile), current, cost)
        new = advanced.with_family(self.family.update(advanced, lesson, answers, self.student))
        truncated = new.step >= self.num_steps
        transition = Transition(
            observation=self.observe(new),
            reward=gain + bonus,
            terminated=np.zeros(state.size, dtype=bool),
            truncated=truncated,
            info=self.info(new, truncated, lesson),
        )
        return new, transition

    def graded(self, state: EpisodeState) -> EpisodeState:
        """``state`` with its validation profile taken now where a step skipped it (``graded``): the
        answers are pure, so this is the profile the step would have taken. For what reads the
        profile outside the step (a runner's learning curve, ``env.profile``)."""
        if state.graded is None or np.all(state.graded):
            return state
        return dataclasses.replace(
            state, profile=self.assess(self.validation), graded=np.ones(state.size, bool)
        )

    def _read(self, last: np.ndarray) -> bool:
        """Whether this step's validation profile is read: by the observation, the reward or ``info``
        of the step (or, where answers draw from the students' generators, by keeping those draws)."""
        family = self.family
        hidden_until_end = not family.reveals_profile and family.reward_at_end
        return not (hidden_until_end and getattr(self.student, "pure_attempts", False)) or bool(last.any())

    def _learn(self, batch: Items | Sequence[Items]) -> np.ndarray:
        """Train member ``i`` on row ``i`` of ``batch`` (or on ``batch[i]``, ``(1, M_i)`` items, where the
        lessons differ in size); each member's compute."""
        n = self.student.num_members
        if not isinstance(batch, (list, tuple)):
            return np.full(n, self.student.learn(batch) // n, dtype=np.int64)
        compute = np.zeros(n, dtype=np.int64)
        for group in group_indices([len(b) for b in batch]):
            sub = self.student.select(group) if len(group) < n else self.student
            spent = sub.learn(stack_rows([batch[i] for i in group]))
            if sub is not self.student:
                self.student.scatter(group, sub)
            compute[group] = spent // len(group)
        return compute

    def assess(self, items: Items) -> Profile:
        """Every member's profile on shared held-out ``items``, graded by the domain."""
        return self.profile_of(items, self.student.attempt(items))

    def profile_of(self, items: Items, answers: np.ndarray) -> Profile:
        correct = self.domain.grade(items, answers)
        return profile_from_correct(self.skills, items.skill, items.level, correct)

    def _objective(self, previous: Profile, current: Profile, cost: Cost) -> np.ndarray:
        """The objective's ``(n,)`` values, checked: a scalar or one finite number per episode."""
        n = len(cost.examples)
        value = np.asarray(self.objective(previous, current, cost), dtype=np.float64).reshape(-1)
        if value.size not in (1, n) or not np.all(np.isfinite(value)):
            raise ConfigError(
                f"objective {self.objective!r} returned {value.tolist()}; expected a finite scalar or "
                f"one finite value per population member ({n})"
            )
        return np.broadcast_to(value, (n,)).copy()

    # ------------------------------------------------------------------ views
    def observe(self, state: EpisodeState) -> dict[str, np.ndarray]:
        """The ``(n, ...)`` observation: ``budget``, the profile where the family reveals it, and the
        family's own keys."""
        budget = (1.0 - state.step / self.num_steps).astype(np.float32)[:, None]
        observation = {"budget": budget}
        if self.family.reveals_profile:
            observation["profile"] = state.profile.accuracy.astype(np.float32)
            observation["level_profile"] = state.profile.level_accuracy.astype(np.float32)
        return {**observation, **self.family.observe(state)}

    def mean_accuracy(self, state: EpisodeState) -> np.ndarray:
        """``(n,)`` the validation accuracy the reward and the records track (the family's scored part)."""
        return np.asarray(self.family.scored(state, state.profile).mean, dtype=np.float64).reshape(-1)

    def progress(self, state: EpisodeState) -> np.ndarray:
        """``(n,)`` the quantity whose per-step change the reward is, so that an episode's return is
        its final minus its initial value: the scored mean accuracy (over the objective's skills for a
        SOAR-style ``TargetSkillGain``) plus the family's bonus so far."""
        if isinstance(self.objective, TargetSkillGain):
            scored = self.family.scored(state, state.profile).accuracy[..., list(self.objective.skills)]
            return np.asarray(scored.mean(axis=-1), dtype=np.float64) + state.bonus
        return self.mean_accuracy(state) + state.bonus

    def info(self, state: EpisodeState, final: np.ndarray, lesson: Lesson | None = None) -> dict[str, Any]:
        """The batched ``info`` of ``state``, in Gymnasium's vector form: ``info[key]`` holds ``n``
        values (an array, or a list of objects) and ``info["_" + key]`` the bool ``(n,)`` mask of the
        episodes that have it. The last step's keys are there where ``final`` is true."""
        n = state.size
        every, none = np.ones(n, dtype=bool), np.zeros(n, dtype=bool)
        info: dict[str, Any] = {"step": state.step.copy(), "examples_used": state.examples_used.copy()}
        masks = dict.fromkeys(info, every)
        # With the state hidden, compute (how much the student trained) can reveal its answers too.
        revealed = every if self.family.reveals_profile else final
        if revealed.any():
            info["compute_used"] = state.compute_used.copy()
            info["profile"] = np.asarray(state.profile.accuracy)
            info["mean_accuracy"] = self.mean_accuracy(state)
            masks.update(dict.fromkeys(REVEALED_INFO_KEYS, revealed))
        reports = lesson.reports if lesson is not None else None
        if reports is None and lesson is None and getattr(self.engine, "last_report", None) is not None:
            # At reset: the engine's last report, as an env that owns its engine has always shown it.
            reports = [dict(self.engine.last_report)] * n  # type: ignore[attr-defined]
        if reports is not None:
            info["engine_report"] = list(reports)
            masks["engine_report"] = every
        family = self.family.info(state)
        info.update(family)
        masks.update(dict.fromkeys(family, every))
        if final.any():
            last = self._final_info(state, np.flatnonzero(final))
            info.update(last)
            masks.update(dict.fromkeys(last, final))
        info.update({f"_{key}": masks.get(key, none) for key in list(info)})
        return info

    def _final_info(self, state: EpisodeState, rows: np.ndarray) -> dict[str, Any]:
        """The last step's shared keys for the episodes ``rows`` (the test split is read here)."""
        n = state.size
        if len(rows) == n:
            test = self.assess(self.test)
        else:
            sub = self.student.select(rows)
            test = self.profile_of(self.test, sub.attempt(self.test))
            self.student.scatter(rows, sub)
        # Every mean over the family's scored part, as the reward and mean_accuracy are.
        sub = state if len(rows) == n else state.take(rows)
        start, scored = _at_start(sub), self.family.scored
        out = {key: np.full(n, np.nan) for key in FINAL_INFO_KEYS}
        out["test_profile"] = np.full((n, self.skills.num_skills), np.nan)
        out["test_profile"][rows] = test.accuracy
        out["test_accuracy"][rows] = scored(sub, test).mean
        out["initial_test_accuracy"][rows] = scored(start, sub.initial_test).mean
        out["initial_accuracy"][rows] = scored(start, sub.initial_profile).mean
        out["validation_test_gap"][rows] = scored(sub, sub.profile).mean - scored(sub, test).mean
        out.update(self.family.final_info(state, rows))
        return out


def _at_start(state: EpisodeState) -> EpisodeState:
    """``state`` as it stood after reset (step 0, the initial profile), for scoring initial profiles."""
    return dataclasses.replace(state, step=np.zeros_like(state.step), profile=state.initial_profile)


def info_row(info: dict[str, Any], index: int, skill_names: Sequence[str]) -> dict[str, Any]:
    """Episode ``index``'s plain ``info`` (Python numbers, strings and dicts) out of a batched info:
    the keys it has (its mask is true), profiles as ``{skill name: accuracy}`` rounded to 6 places."""
    out: dict[str, Any] = {}
    for key, value in info.items():
        if key.startswith("_") or not info[f"_{key}"][index]:
            continue
        row = value[index]
        if key in PROFILE_KEYS:
            out[key] = {name: round(float(a), 6) for name, a in zip(skill_names, row, strict=True)}
        elif isinstance(row, np.generic):
            out[key] = row.item()
        else:
            out[key] = row
    return out
