"""A numpy population of simulated learners with IRT responses, ZPD learning and power-law forgetting."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from teachgym.domains.base import Items
from teachgym.errors import ConfigError
from teachgym.skills import Profile, SkillSpace, profile_from_correct


@dataclass(frozen=True)
class SimulatedStudentParams:
    """Parameters of :class:`SimulatedStudent`, with the source each default follows.

    Abilities and difficulties are in logits (the IRT scale); time is in teaching steps.

    Attributes:
        discrimination: 2PL slope ``a`` of ``sigma(a (theta - b))`` (IRT 2PL; fitted ``a`` are
            typically 0.5-2.5).
        guess: chance of a correct answer without the skill (BKT ``P(G)``, typically 0.1-0.3;
            Corbett & Anderson 1994).
        slip: chance of a wrong answer despite the skill (BKT ``P(S)``, typically 0.05-0.2).
        initial_ability_mean, initial_ability_sd: prior knowledge per member and skill, logits.
        ceiling: ability no amount of practice exceeds, logits; practice closes a fraction of the
            distance to it, so returns diminish (power law of practice, Newell & Rosenbloom 1981).
        learning_rate: fraction of the remaining headroom one perfectly pitched example closes.
        learning_rate_sd: log-normal spread of the learning rate across members (learner traits as
            in PSI-KT).
        zpd_target_success: success rate at which an example teaches most: 0.85 (the 85% rule for
            gradient learners, Wilson et al. 2019); items far easier or harder teach little.
        zpd_width: standard deviation of the Gaussian ZPD window around that point, logits.
        prerequisite_threshold: ability at which a prerequisite counts as half mastered, logits;
            learning a skill is scaled by the mastery of each prerequisite (prerequisite gating, as in
            PSI-KT's prerequisite graph).
        forgetting_exponent: ``d`` in the retention ``(1 + t / forgetting_scale) ** -d`` of what was
            learned above the prior (power-law forgetting, Wixted & Ebbesen 1991).
        forgetting_scale: ``tau`` in the retention above, steps.
    """

    discrimination: float = 1.5
    guess: float = 0.2
    slip: float = 0.1
    initial_ability_mean: float = -1.5
    initial_ability_sd: float = 0.5
    ceiling: float = 3.0
    learning_rate: float = 0.03
    learning_rate_sd: float = 0.3
    zpd_target_success: float = 0.85
    zpd_width: float = 1.0
    prerequisite_threshold: float = -1.5
    forgetting_exponent: float = 0.2
    forgetting_scale: float = 1.0

    def __post_init__(self) -> None:
        checks = {
            "discrimination": self.discrimination > 0,
            "guess": 0 <= self.guess < 1,
            "slip": 0 <= self.slip < 1 - self.guess,
            "initial_ability_sd": self.initial_ability_sd >= 0,
            "ceiling": self.ceiling > self.initial_ability_mean,
            "learning_rate": 0 <= self.learning_rate <= 1,
            "learning_rate_sd": self.learning_rate_sd >= 0,
            "zpd_target_success": 0 < self.zpd_target_success < 1,
            "zpd_width": self.zpd_width > 0,
            "forgetting_exponent": self.forgetting_exponent >= 0,
            "forgetting_scale": self.forgetting_scale > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"SimulatedStudentParams.{name}={getattr(self, name)!r} is out of range")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


class SimulatedStudent:
    """A population of simulated learners (numpy, vectorized over members and skills).

    Each member has a latent ability per skill. It answers an item of difficulty ``b`` correctly with
    probability ``guess + (1 - guess - slip) * sigmoid(a (theta - b))`` (2PL with BKT guess and
    slip). Practising ``n`` examples of a skill in one step moves its ability towards the ceiling:
    ``theta += (ceiling - theta) * (1 - exp(-rate * gate * sum_i zpd(theta - b_i)))``, where ``zpd`` is
    a Gaussian window centred where the learner succeeds 85% of the time and ``gate`` is the product
    of the prerequisites' mastery. Between practice sessions, what was learned above the prior
    decays as a power law of the steps since the skill was last practised.

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
        traits, responses = seed.spawn(2)
        rng = np.random.default_rng(traits)
        p, shape = self.params, (self.num_members, self.skills.num_skills)
        self.prior = rng.normal(p.initial_ability_mean, p.initial_ability_sd, shape)
        self.learning_rate = p.learning_rate * rng.lognormal(0.0, p.learning_rate_sd, (shape[0], 1))
        self.strength = self.prior.copy()  # ability right after the skill was last practised
        self.last_practice = np.zeros(shape)  # step at which each skill was last practised
        self.clock = np.zeros((shape[0], 1))  # steps taken by each member
        self.practice_count = np.zeros(shape, dtype=np.int64)
        self._response_rng = np.random.default_rng(responses)

    def learn(self, batch: Items) -> int:
        if batch.difficulty is None:
            raise ConfigError("SimulatedStudent needs items with an IRT difficulty (a latent domain)")
        onehot = np.eye(self.skills.num_skills)[batch.skill]  # (P, M, K)
        theta = self.ability()
        # ZPD weight of each example, at the learner's ability on that example's skill.
        item_theta = np.take_along_axis(theta, batch.skill, axis=1)
        weight = self._zpd(item_theta - batch.difficulty)
        exposure = np.einsum("pm,pmk->pk", weight, onehot)
        practised = onehot.sum(axis=1) > 0
        self._advance(theta, exposure, practised)
        self.practice_count += onehot.sum(axis=1).astype(np.int64)
        return int(batch.skill.size)

    def attempt(self, items: Items) -> np.ndarray:
        if items.difficulty is None:
            raise ConfigError("SimulatedStudent needs items with an IRT difficulty (a latent domain)")
        success = self._success(self.ability(), items.skill, items.difficulty)
        return (self._response_rng.random(success.shape) < success).astype(np.int64)

    def assess(self, items: Items) -> Profile:
        correct = self.attempt(items) == items.answer
        return profile_from_correct(self.skills, items.skill, items.level, correct)

    # ----------------------------------------------------------------- dynamics
    def ability(self, steps_ahead: int = 0) -> np.ndarray:
        """Latent ability after forgetting, ``steps_ahead`` steps from now, logits, ``(P, K)``."""
        p = self.params
        elapsed = self.clock + steps_ahead - self.last_practice
        retention = (1.0 + elapsed / p.forgetting_scale) ** -p.forgetting_exponent
        return self.prior + (self.strength - self.prior) * retention

    def _zpd(self, margin: np.ndarray) -> np.ndarray:
        p = self.params
        centre = np.log(p.zpd_target_success / (1 - p.zpd_target_success)) / p.discrimination
        return np.exp(-0.5 * ((margin - centre) / p.zpd_width) ** 2)

    def _gate(self, theta: np.ndarray) -> np.ndarray:
        p = self.params
        mastery = _sigmoid(p.discrimination * (theta - p.prerequisite_threshold))
        return np.exp(np.log(mastery) @ self._prerequisites.T)  # product over prerequisites

    def _step_ability(self, theta: np.ndarray, exposure: np.ndarray) -> np.ndarray:
        """Ability after one step of practice with the given ZPD-weighted exposure per skill."""
        rate = self.learning_rate * self._gate(theta)
        return theta + (self.params.ceiling - theta) * -np.expm1(-rate * exposure)

    def _advance(self, theta: np.ndarray, exposure: np.ndarray, practised: np.ndarray) -> None:
        new_theta = self._step_ability(theta, exposure)
        self.clock += 1
        self.strength = np.where(practised, new_theta, self.strength)
        self.last_practice = np.where(practised, self.clock, self.last_practice)

    def _success(self, theta: np.ndarray, skill: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
        p = self.params
        # Shared items (M,) broadcast over members; per-member items (P, M) pick each member's own.
        item_theta = theta[:, skill] if skill.ndim == 1 else np.take_along_axis(theta, skill, axis=1)
        mastery = _sigmoid(p.discrimination * (item_theta - difficulty))
        return p.guess + (1 - p.guess - p.slip) * mastery

    # ------------------------------------------------ privileged channel (oracle only)
    def expected_accuracy(self, difficulty: np.ndarray, theta: np.ndarray | None = None) -> np.ndarray:
        """Expected accuracy ``(P, K, L)`` on items of the given mean difficulty ``(K, L)``."""
        theta = self.ability() if theta is None else theta
        p = self.params
        mastery = _sigmoid(p.discrimination * (theta[:, :, None] - difficulty[None]))
        return p.guess + (1 - p.guess - p.slip) * mastery

    def lookahead(self, counts: np.ndarray, difficulty: np.ndarray) -> np.ndarray:
        """Ability ``(P, K)`` one step ahead if each member practised ``counts[p, k, l]`` items of
        mean difficulty ``difficulty[k, l]``; the student itself is not changed."""
        theta = self.ability()
        exposure = (counts * self._zpd(theta[:, :, None] - difficulty[None])).sum(axis=-1)
        practised = counts.sum(axis=-1) > 0
        new_theta = self._step_ability(theta, exposure)
        # Unpractised skills keep decaying for one more step.
        return np.where(practised, new_theta, self.ability(steps_ahead=1))
