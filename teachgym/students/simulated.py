"""A numpy population of simulated learners with IRT responses, ZPD learning and power-law forgetting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from teachgym import counter
from teachgym.domains.base import Items
from teachgym.errors import ConfigError
from teachgym.numeric import expit, log_sigmoid, sigmoid
from teachgym.seeding import children
from teachgym.skills import Profile, SkillSpace, profile_from_correct
from teachgym.students.memory import MEMORIES, MultiscaleMemory, TraceMemory


@dataclass(frozen=True)
class SimulatedStudentParams:
    """Parameters of :class:`SimulatedStudent`, with the source each default follows.

    Abilities and difficulties are in logits (the IRT scale); time is in teaching steps.

    Attributes:
        discrimination: 2PL slope ``a`` of ``sigmoid(a (theta - b))`` (IRT 2PL; fitted ``a`` are
            typically 0.5-2.5).
        guess: chance of a correct answer without the skill (BKT ``P(G)``, typically 0.1-0.3;
            Corbett & Anderson 1994).
        slip: chance of a wrong answer despite the skill (BKT ``P(S)``, typically 0.05-0.2).
        initial_ability_mean, initial_ability_sd: prior knowledge per member and skill, logits
            (priors are clipped below the ceiling).
        ceiling: ability no amount of practice exceeds, logits; practice closes a fraction of the
            distance to it, so returns diminish (power law of practice, Newell & Rosenbloom 1981).
        learning_rate: fraction of the remaining headroom one perfectly pitched example closes.
        learning_rate_sd: log-normal spread of the learning rate across members (learner traits as
            in PSI-KT).
        zpd_target_success: observed success rate (guess and slip included) at which an example
            teaches most: 0.85, the 85% rule for gradient learners (Wilson et al. 2019); items far
            easier or harder teach little. Must lie strictly between ``guess`` and ``1 - slip``.
        zpd_width: standard deviation of the Gaussian ZPD window around that point, logits.
        prerequisite_threshold: ability at which a prerequisite counts as half mastered, logits;
            learning a skill is scaled by the mastery of each prerequisite (prerequisite gating, as in
            PSI-KT's prerequisite graph).
        forgetting_exponent: ``d`` in the retention ``(1 + age / forgetting_scale) ** -d`` of each
            trace of learning (power-law forgetting, Wixted & Ebbesen 1991).
        forgetting_scale: ``tau`` in the retention above, steps.
        forgetting_sd, guess_sd, slip_sd: spread of each member's own forgetting exponent
            (log-normal around ``forgetting_exponent``) and guess and slip rates (logit-normal around
            ``guess`` and ``slip``): learner traits, as PSI-KT infers per learner. 0 (the default)
            gives every member the population value.
        forgetting: ``"power-law"`` (every trace kept and summed: exact, its cost grows with the
            steps) or ``"multiscale"`` (a mixture of leaky integrators within 0.002 of the power law,
            in constant state: :mod:`teachgym.students.memory`).
    """

    discrimination: float = 1.5
    guess: float = 0.2
    slip: float = 0.1
    initial_ability_mean: float = -1.0
    initial_ability_sd: float = 0.5
    ceiling: float = 3.0
    learning_rate: float = 0.04
    learning_rate_sd: float = 0.3
    zpd_target_success: float = 0.85
    zpd_width: float = 1.0
    prerequisite_threshold: float = -1.0
    forgetting_exponent: float = 0.2
    forgetting_scale: float = 1.0
    forgetting_sd: float = 0.0
    guess_sd: float = 0.0
    slip_sd: float = 0.0
    forgetting: str = "power-law"

    def __post_init__(self) -> None:
        # Bounds keep every computation finite; they are far wider than any fitted value.
        checks = {
            "discrimination": (0.05 <= self.discrimination <= 10, "in [0.05, 10]"),
            "guess": (0 <= self.guess < 1, "in [0, 1)"),
            "slip": (0 <= self.slip < 1 - self.guess, f"in [0, 1 - guess) = [0, {1 - self.guess:g})"),
            "initial_ability_mean": (-10 <= self.initial_ability_mean <= 10, "in [-10, 10] logits"),
            "initial_ability_sd": (0 <= self.initial_ability_sd <= 5, "in [0, 5] logits"),
            "ceiling": (
                self.initial_ability_mean < self.ceiling <= 20,
                f"in (initial_ability_mean, 20] = ({self.initial_ability_mean:g}, 20] logits",
            ),
            "learning_rate": (0 <= self.learning_rate <= 1, "in [0, 1]"),
            "learning_rate_sd": (0 <= self.learning_rate_sd <= 2, "in [0, 2]"),
            "zpd_target_success": (
                self.guess < self.zpd_target_success < 1 - self.slip,
                f"in (guess, 1 - slip) = ({self.guess:g}, {1 - self.slip:g})",
            ),
            "zpd_width": (0.05 <= self.zpd_width <= 10, "in [0.05, 10] logits"),
            "prerequisite_threshold": (-20 <= self.prerequisite_threshold <= 20, "in [-20, 20] logits"),
            "forgetting_exponent": (0 <= self.forgetting_exponent <= 5, "in [0, 5]"),
            "forgetting_scale": (0.01 <= self.forgetting_scale <= 1e6, "in [0.01, 1e6] steps"),
            "forgetting_sd": (0 <= self.forgetting_sd <= 2, "in [0, 2]"),
            "guess_sd": (0 <= self.guess_sd <= 2, "in [0, 2] logits"),
            "slip_sd": (0 <= self.slip_sd <= 2, "in [0, 2] logits"),
            "forgetting": (
                isinstance(self.forgetting, str) and self.forgetting in MEMORIES,
                f"one of {sorted(MEMORIES)}",
            ),
        }
        for name, (ok, expected) in checks.items():
            if not ok:
                raise ConfigError(
                    f"student 'simulated' argument {name}={getattr(self, name)!r}; expected {expected}"
                )

    @property
    def zpd_centre(self) -> float:
        """Ability minus difficulty (logits) at which observed success is ``zpd_target_success``."""
        return float(zpd_centre(self, self.guess, self.slip))


def zpd_centre(params: SimulatedStudentParams, guess: Any, slip: Any) -> Any:
    """Ability minus difficulty (logits) at which a learner with these guess and slip rates succeeds
    ``params.zpd_target_success`` of the time. For a learner who cannot reach that rate (a high guess
    or slip) the target is clipped to 5%-95% of its reachable range, so it still learns most just
    beyond its current level rather than only on trivial items."""
    mastery = np.clip((params.zpd_target_success - guess) / (1 - guess - slip), 0.05, 0.95)
    return np.log(mastery / (1 - mastery)) / params.discrimination


#: Attributes of :class:`SimulatedStudent` with one row per member (besides the traces).
_MEMBER_ARRAYS = (
    "prior",
    "member_learning_rate",
    "member_forgetting",
    "member_guess",
    "member_slip",
    "_member_zpd_centre",
    "clock",
)

#: Answers computed at once in an assessment of a population (bounds its temporaries to ~1 MB).
_BLOCK = 1 << 17

#: Columns of the trait draws of a counter-based reset, after the ``K`` prior abilities.
_RATE, _FORGETTING, _GUESS, _SLIP = range(4)


def _logit_normals(mean: float, sd: float, z: Any) -> Any:
    """:func:`_logit_normal` for standard normal draws ``z`` at once."""
    if sd == 0 or mean == 0:
        return np.full(z.shape, mean)
    return 1.0 / (1.0 + np.exp(-(np.log(mean / (1 - mean)) + sd * z)))  # type: ignore[no-any-return]


def _logit_normal(rng: np.random.Generator, mean: float, sd: float) -> float:
    """A draw whose logit is normal around ``logit(mean)`` (``mean`` itself when ``sd`` is 0)."""
    if sd == 0 or mean == 0:
        return mean
    return float(_logit_normals(mean, sd, rng.standard_normal()))


class SimulatedStudent:
    """A population of simulated learners (numpy, vectorized over members and skills).

    **Responses.** Each member has a latent ability ``theta`` per skill and answers an item of
    difficulty ``b`` correctly with probability ``guess + (1 - guess - slip) * sigmoid(a (theta - b))``
    (2PL with BKT guess and slip).

    **Learning.** Practising items of a skill in one step adds a *trace* of learning of size
    ``(ceiling - theta) * (1 - exp(-rate * gate * sum_i zpd(theta - b_i)))``: ``zpd`` is a Gaussian
    window centred where the learner succeeds 85% of the time, ``gate`` is the product of the
    prerequisites' mastery, and the headroom factor makes returns diminish.

    **Forgetting.** Ability is ``prior + sum over traces of gain * (1 + age / tau) ** -d``: every
    trace decays as a power law of its own age (Wixted & Ebbesen 1991), as in ACT-R's sum over
    practice events. Practice that teaches nothing adds nothing and does not reset the decay of
    earlier traces. Traces start afresh at ``reset``. With ``forgetting="multiscale"`` the sum is
    kept in constant state (:class:`~teachgym.students.memory.MultiscaleMemory`).

    **Random numbers.** :meth:`reset_each` gives each member numpy generators (its traits and its
    answers, drawn in turn). :meth:`reset_keys` gives each member a counter-based key instead: its
    traits are a function of the key, and its answer to an item a function of the key, its clock and
    the item (:mod:`teachgym.counter`), so that answering is a pure function of the learner's state.

    The ability itself is hidden from teachers; :meth:`expected_accuracy` and :meth:`lookahead` are
    the documented privileged channel used only by the ``oracle`` reference teacher.
    """

    def __init__(
        self,
        skills: SkillSpace,
        num_members: int = 1,
        params: SimulatedStudentParams | None = None,
    ) -> None:
        if num_members < 1:
            raise ConfigError(f"num_members must be >= 1, got {num_members}")
        self.skills = skills
        self.num_members = num_members
        self.params = params or SimulatedStudentParams()
        self._prerequisites = skills.prerequisite_matrix().astype(np.float64)
        self.reset(np.random.SeedSequence(0))

    # ----------------------------------------------------------------- protocol
    def reset(self, seed: np.random.SeedSequence) -> None:
        """Fresh learners: a population of one is reset with ``seed`` itself, a larger one member by
        member with ``children(seed, P)`` (:meth:`reset_each`)."""
        self.reset_each([seed] if self.num_members == 1 else children(seed, self.num_members))

    def reset_each(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        """Member ``p`` becomes the learner a one-member population reset with ``seeds[p]`` holds:
        its traits drawn from ``children(seeds[p], 1)[0]``, its answers from
        ``children(seeds[p], 2)[1]``. Nothing practised before counts any more."""
        if len(seeds) != self.num_members:
            raise ConfigError(
                f"SimulatedStudent.reset_each got {len(seeds)} seeds; expected one per member, "
                f"num_members={self.num_members}"
            )
        p, num_skills = self.params, self.skills.num_skills
        rngs = [np.random.default_rng(children(seed, 1)[0]) for seed in seeds]
        prior = np.stack(
            [rng.normal(p.initial_ability_mean, p.initial_ability_sd, num_skills) for rng in rngs]
        )
        self.prior = np.minimum(prior, p.ceiling)
        rate = np.array([rng.lognormal(0.0, p.learning_rate_sd) for rng in rngs])
        self.member_learning_rate = (p.learning_rate * rate)[:, None]  # (P, 1)
        # Further traits are drawn only when they vary, so that the draws above stay the same.
        forgetting = [
            p.forgetting_exponent * (rng.lognormal(0.0, p.forgetting_sd) if p.forgetting_sd else 1.0)
            for rng in rngs
        ]
        guess = [_logit_normal(rng, p.guess, p.guess_sd) for rng in rngs]
        slip = [
            min(_logit_normal(rng, p.slip, p.slip_sd), 0.99 - g) for rng, g in zip(rngs, guess, strict=True)
        ]
        self._start(forgetting, guess, slip)
        self._response_rngs: list[np.random.Generator] | None = [
            np.random.default_rng(children(seed, 2)[1]) for seed in seeds
        ]
        self._answer_keys: np.ndarray | None = None

    def reset_keys(self, keys: np.ndarray) -> None:
        """Fresh learners whose traits and answers come from counter-based keys, uint64 ``(P,)``
        (:mod:`teachgym.counter`): member ``p`` is the same learner in a population of any size.
        The traits follow the same laws as :meth:`reset_each`'s, drawn all at once."""
        keys = np.asarray(keys)
        if keys.dtype != np.uint64:
            raise ConfigError(f"SimulatedStudent.reset_keys got keys of dtype {keys.dtype}; expected uint64")
        keys = keys.reshape(-1)
        if len(keys) != self.num_members:
            raise ConfigError(
                f"SimulatedStudent.reset_keys got {len(keys)} keys; expected one per member, "
                f"num_members={self.num_members}"
            )
        p, num_skills = self.params, self.skills.num_skills
        z = counter.normal(counter.derive(keys, 0), (num_skills + 4,))  # (P, K + 4) standard normals
        self.prior = np.minimum(p.initial_ability_mean + p.initial_ability_sd * z[:, :num_skills], p.ceiling)
        traits = z[:, num_skills:]
        self.member_learning_rate = p.learning_rate * np.exp(
            p.learning_rate_sd * traits[:, _RATE : _RATE + 1]
        )
        forgetting = p.forgetting_exponent * np.exp(
            p.forgetting_sd * traits[:, _FORGETTING : _FORGETTING + 1]
        )
        guess = _logit_normals(p.guess, p.guess_sd, traits[:, _GUESS : _GUESS + 1])
        slip = np.minimum(_logit_normals(p.slip, p.slip_sd, traits[:, _SLIP : _SLIP + 1]), 0.99 - guess)
        self._start(forgetting, guess, slip)
        self._response_rngs = None
        self._answer_keys = counter.derive(keys, 1)

    def _start(self, forgetting: Any, guess: Any, slip: Any) -> None:
        """Set the members' forgetting exponents, guess and slip rates ``(P, 1)``; no practice yet."""
        p = self.params
        self.member_forgetting = np.asarray(forgetting, dtype=np.float64).reshape(-1, 1)  # exponent d
        self.member_guess = np.asarray(guess, dtype=np.float64).reshape(-1, 1)
        self.member_slip = np.asarray(slip, dtype=np.float64).reshape(-1, 1)
        self._member_zpd_centre = zpd_centre(p, self.member_guess, self.member_slip)  # (P, 1)
        self.clock = np.zeros((self.num_members, 1))  # steps taken by each member
        memory = MEMORIES[p.forgetting]
        self._memory: TraceMemory | MultiscaleMemory = memory(
            self.num_members, self.skills.num_skills, self.member_forgetting, p.forgetting_scale
        )

    @property
    def pure_attempts(self) -> bool:
        """True where an answer is a function of the learner's state and the item alone (counter-based
        keys): attempting changes nothing, so an unread test need not be taken."""
        return self._answer_keys is not None

    def select(self, members: Sequence[int]) -> SimulatedStudent:
        """A population of the ``members`` (their state copied; their answer generators shared)."""
        rows = np.asarray(list(members), dtype=np.int64)
        sub = object.__new__(type(self))
        sub.__dict__.update(self.__dict__)
        sub.num_members = len(rows)
        for name in _MEMBER_ARRAYS:
            setattr(sub, name, getattr(self, name)[rows].copy())
        sub._memory = self._memory.select(rows)
        if self._response_rngs is not None:
            sub._response_rngs = [self._response_rngs[i] for i in rows]
        if self._answer_keys is not None:
            sub._answer_keys = self._answer_keys[rows]
        return sub

    def scatter(self, members: Sequence[int], sub: SimulatedStudent) -> None:
        """Write the state of ``sub`` (from :meth:`select` with ``members``) back into ``members``.
        Steps ``sub`` practised add rows in which the other members gained nothing."""
        rows = np.asarray(list(members), dtype=np.int64)
        for name in _MEMBER_ARRAYS:
            getattr(self, name)[rows] = getattr(sub, name)
        if (self._response_rngs is None) != (sub._response_rngs is None):
            kinds = {True: "counter-based keys (reset_keys)", False: "numpy generators (reset_each)"}
            raise ConfigError(
                f"scatter() got a sub-population on {kinds[sub._response_rngs is None]}; this population "
                f"is on {kinds[self._response_rngs is None]}"
            )
        if self._response_rngs is not None and sub._response_rngs is not None:
            for j, i in enumerate(rows):
                self._response_rngs[i] = sub._response_rngs[j]
        elif self._answer_keys is not None:
            self._answer_keys[rows] = sub._answer_keys
        self._memory.scatter(rows, sub._memory, self.clock)  # type: ignore[arg-type]

    def learn(self, batch: Items) -> int:
        if batch.difficulty is None:
            raise ConfigError("SimulatedStudent needs items with an IRT difficulty (a latent domain)")
        onehot = np.eye(self.skills.num_skills)[batch.skill]  # (P, M, K)
        theta = self.ability()
        # ZPD weight of each example, at the learner's ability on that example's skill.
        item_theta = np.take_along_axis(theta, batch.skill, axis=1)
        weight = self._zpd(item_theta - batch.difficulty)
        exposure = np.einsum("pm,pmk->pk", weight, onehot)
        self.clock = self.clock + 1
        self._memory.add(self._gain(theta, exposure), self.clock)
        return int(batch.skill.size)

    def attempt(self, items: Items) -> np.ndarray:
        if items.difficulty is None:
            raise ConfigError("SimulatedStudent needs items with an IRT difficulty (a latent domain)")
        if self._answer_keys is not None:
            return self._keyed_answers(items.skill, items.difficulty)
        success = self._success(self.ability(), items.skill, items.difficulty)
        # Each member answers with its own generator, so it answers alike in a population of any size.
        assert self._response_rngs is not None
        draws = np.stack(
            [rng.random(row.shape) for rng, row in zip(self._response_rngs, success, strict=True)]
        )
        return (draws < success).astype(np.int64)

    def _keyed_answers(self, skill: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
        """Answers ``(P, M)`` on counter-based keys, computed in float32 (an assessment of thousands of
        learners on hundreds of items is memory-bound): member ``p`` answers item ``m`` correctly when
        a uniform draw falls below its chance of success. The draw is a function of the member's key,
        its clock and the item (its difficulty's bits and its place ``m``: items of equal difficulty
        draw apart), so the same items at the same time are answered alike."""
        assert self._answer_keys is not None
        f32 = np.float32
        theta = self.ability().astype(f32)
        scale = (1 - self.member_guess - self.member_slip).astype(f32)
        guess = self.member_guess.astype(f32)
        clock = np.ascontiguousarray(self.clock, dtype=np.float64).view(np.uint64).reshape(-1)
        member = counter.derive(self._answer_keys, clock)  # (P,)
        place = np.arange(difficulty.shape[-1], dtype=np.uint64)
        item = counter.derive(np.ascontiguousarray(difficulty, dtype=np.float64).view(np.uint64), place)
        difficulty = difficulty.astype(f32)
        shared = skill.ndim == 1
        answers = np.empty((self.num_members, skill.shape[-1]), np.int64)
        # In blocks of members, so that the temporaries stay in the cache.
        step = max(1, _BLOCK // max(1, skill.shape[-1]))
        for start in range(0, self.num_members, step):
            rows = slice(start, start + step)
            if shared:
                margin = theta[rows][:, skill] - difficulty
            else:
                margin = np.take_along_axis(theta[rows], skill[rows], axis=1) - difficulty[rows]
            margin *= f32(self.params.discrimination)
            success = expit(margin, out=margin)
            success *= scale[rows]
            success += guess[rows]
            draws = counter.to_unit32(counter.mix(member[rows, None] + (item if shared else item[rows])))
            np.less(draws, success, out=answers[rows], casting="unsafe")
        return answers

    def assess(self, items: Items) -> Profile:
        correct = self.attempt(items) == items.answer
        return profile_from_correct(self.skills, items.skill, items.level, correct)

    # ----------------------------------------------------------------- dynamics
    def ability(self, steps_ahead: int = 0) -> np.ndarray:
        """Latent ability after forgetting, ``steps_ahead`` steps from now, logits, ``(P, K)``."""
        retained = self._memory.retained(self.clock + steps_ahead)
        return self.prior.copy() if retained is None else self.prior + retained

    def _zpd(self, margin: np.ndarray) -> np.ndarray:
        """ZPD weight of margins ``theta - b`` shaped ``(P, ...)``, at each member's own centre."""
        centre = self._member_zpd_centre.reshape(-1, *([1] * (margin.ndim - 1)))
        return np.exp(-0.5 * ((margin - centre) / self.params.zpd_width) ** 2)

    def _gate(self, theta: np.ndarray) -> np.ndarray:
        """Product over each skill's prerequisites of their mastery, ``(P, K)`` in (0, 1]."""
        p = self.params
        log_mastery = log_sigmoid(p.discrimination * (theta - p.prerequisite_threshold))
        return np.exp(log_mastery @ self._prerequisites.T)

    def _gain(self, theta: np.ndarray, exposure: np.ndarray) -> np.ndarray:
        """Size of the trace one step of practice lays down, given ZPD-weighted exposure per skill."""
        rate = self.member_learning_rate * self._gate(theta)
        headroom = np.maximum(self.params.ceiling - theta, 0.0)
        return headroom * -np.expm1(-rate * exposure)

    def _success(self, theta: np.ndarray, skill: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
        p = self.params
        # Shared items (M,) broadcast over members; per-member items (P, M) pick each member's own.
        item_theta = theta[:, skill] if skill.ndim == 1 else np.take_along_axis(theta, skill, axis=1)
        mastery = sigmoid(p.discrimination * (item_theta - difficulty))
        return self.member_guess + (1 - self.member_guess - self.member_slip) * mastery

    # ------------------------------------------------ privileged channel (oracle only)
    def expected_accuracy(self, difficulty: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """Expected accuracy ``(P, K, L)`` on items of the given mean difficulty ``(K, L)``."""
        theta = self.ability() if theta is None else theta
        p = self.params
        mastery = sigmoid(p.discrimination * (theta[:, :, None] - difficulty[None]))
        guess, slip = self.member_guess[:, :, None], self.member_slip[:, :, None]
        return guess + (1 - guess - slip) * mastery

    def lookahead(self, counts: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
        """Ability ``(P, K)`` one step ahead if each member practised ``counts[p, k, l]`` items of
        mean difficulty ``difficulty[k, l]``; the student itself is not changed. With one member,
        ``counts`` may hold any number of candidate plans along its first axis."""
        theta = self.ability()
        exposure = (counts * self._zpd(theta[:, :, None] - difficulty[None])).sum(axis=-1)
        return self.ability(steps_ahead=1) + self._gain(theta, exposure)
