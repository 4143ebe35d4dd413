"""A torch population of GRU sequence taggers (one answer token per input position), trained as one
batched computation."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from teachgym.domains.base import Domain, Items
from teachgym.errors import ConfigError
from teachgym.registry_utils import call_checked
from teachgym.seeding import children
from teachgym.skills import Profile, SkillSpace, profile_from_correct
from teachgym.students.stacked import (
    StackedMembers,
    StackedOptimizer,
    check_population,
    member_loss,
    torch_generator,
)

_OWNER = "student 'gru'"

_PARAMETER_NAMES = ("w_input", "b_input", "w_hidden", "b_hidden", "w_out", "b_out")


class GRUStudent(StackedMembers):
    """A population of ``num_members`` independent GRUs that read a sequence of feature vectors and
    answer one token per position (torch, CPU).

    Items of a ``"sequence"`` domain carry ``T`` positions of ``D = num_features`` features each,
    flattened position-major to ``(..., T * D)``; answers are ``(..., T)`` tokens in ``[0, C)``.

    Model: a GRU cell (Cho et al. 2014, in ``torch.nn.GRU``'s form: reset gate applied to the
    hidden projection) unrolled over the ``T`` positions from a zero state, and a linear readout of
    every hidden state to ``C`` logits; the answer at position ``t`` is the argmax. Parameters are
    stacked with a leading member dimension (``w_input (P, D, 3H)``, ``b_input (P, 1, 3H)``,
    ``w_hidden (P, H, 3H)``, ``b_hidden (P, 1, 3H)``, ``w_out (P, H, C)``, ``b_out (P, 1, C)``) and
    every product is a batched ``baddbmm``. Initial weights follow ``torch.nn.GRU`` and
    ``torch.nn.Linear``: uniform in ``+-1/sqrt(H)``.

    Members share nothing: the loss is the sum over members of each member's mean token
    cross-entropy, so a member's gradient is that of its own loss; Adam (written out as
    ``torch.optim.Adam``'s update, betas 0.9/0.999, eps 1e-8) is element-wise; and every member draws
    its weights and minibatch order from its own ``torch.Generator``. Member ``p`` of a population
    reset with ``seed`` is seeded by ``children(seed, P)[p]`` (:func:`teachgym.seeding.children`) and
    trains as it would alone: bitwise on CPU with ``torch.use_deterministic_algorithms(True)`` at
    the default sizes (measured: minibatches of 8, 16 or 32 examples), and up to float32 rounding
    otherwise, because the BLAS may block a batched product of a few rows (e.g. 7 examples)
    differently for one member than for several.

    Training (:meth:`learn`) makes ``num_epochs`` passes over each step's new examples in minibatches
    of ``minibatch_size``, in a fresh random order every pass; nothing is replayed from earlier
    steps, so what is not practised can be forgotten. The global torch RNG and torch's thread
    settings are never touched.

    The defaults (64 units, step size 0.02, one pass in minibatches of 32) learn 2..5-digit addition
    on CPU within a ``Curriculum-Addition`` episode: under uniform sampling of 128-example steps the
    2-digit sums pass 90% after 59-90 steps and the 5-digit ones after 95-130 (8 seeds), at about
    15 ms per step on one core.

    Args:
        num_features: ``D``, length of the feature vector at each position.
        num_classes: ``C``, answer tokens per position.
        skills: the skill space of the items (for :meth:`assess`).
        num_members: ``P``, learners in the population.
        num_hidden: ``H``, GRU units.
        learning_rate: Adam's step size (per update), a finite float > 0.
        num_epochs: passes over each step's examples.
        minibatch_size: examples per parameter update (the last minibatch of a pass may be smaller).

    Raises:
        ConfigError: an argument of the wrong type or out of range, naming it and its value.
    """

    def __init__(
        self,
        num_features: int,
        num_classes: int,
        skills: SkillSpace,
        num_members: int = 1,
        *,
        num_hidden: int = 64,
        learning_rate: float = 0.02,
        num_epochs: int = 1,
        minibatch_size: int = 32,
    ) -> None:
        (
            self.num_features,
            self.num_classes,
            self.skills,
            self.num_members,
            self.num_hidden,
            self.learning_rate,
            self.num_epochs,
            self.minibatch_size,
        ) = check_population(
            _OWNER,
            num_features=num_features,
            num_classes=num_classes,
            skills=skills,
            num_members=num_members,
            num_hidden=num_hidden,
            learning_rate=learning_rate,
            num_epochs=num_epochs,
            minibatch_size=minibatch_size,
        )
        self.reset(np.random.SeedSequence(0))

    # ----------------------------------------------------------------- protocol
    def reset(self, seed: np.random.SeedSequence) -> None:
        """Fresh weights and optimizer state; member ``p`` is drawn from
        ``children(seed, num_members)[p]``. ``seed`` is not changed."""
        self.reset_members(children(seed, self.num_members))

    def reset_members(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        """Fresh weights and optimizer state with member ``p`` drawn from ``seeds[p]`` alone, so a
        member reset with seed ``s`` is the same learner in a population of any size."""
        if len(seeds) != self.num_members:
            raise ConfigError(
                f"GRUStudent.reset_members got {len(seeds)} seeds; expected one per member, "
                f"num_members={self.num_members}"
            )
        self._generators = [torch_generator(s) for s in seeds]
        d, h, c = self.num_features, self.num_hidden, self.num_classes
        shapes = {
            "w_input": (d, 3 * h),
            "b_input": (1, 3 * h),
            "w_hidden": (h, 3 * h),
            "b_hidden": (1, 3 * h),
            "w_out": (h, c),
            "b_out": (1, c),
        }
        bound = 1.0 / math.sqrt(h)  # torch.nn.GRU's and (fan_in = H) torch.nn.Linear's bound
        parameters: dict[str, list[torch.Tensor]] = {name: [] for name in _PARAMETER_NAMES}
        for generator in self._generators:
            # One member at a time, in a fixed order, so a member's weights depend only on its seed.
            for name in _PARAMETER_NAMES:
                draw = torch.rand(shapes[name], generator=generator, dtype=torch.float32)
                parameters[name].append(draw * (2.0 * bound) - bound)
        self._parameters = [torch.stack(parameters[n]).requires_grad_(True) for n in _PARAMETER_NAMES]
        self._optimizer = StackedOptimizer(self._parameters, self.learning_rate, "adam")

    def learn(self, batch: Items) -> int:
        """Train every member on its own examples, ``batch`` of shape ``(P, M)`` with features
        ``(P, M, T * D)`` and answers ``(P, M, T)``.

        Returns:
            Compute spent: the examples behind every parameter update, summed over updates and
            members (``num_epochs * P * M``).
        """
        features = self._features(batch, "learn")
        answer = np.asarray(batch.answer)
        if features.ndim != 4 or features.shape[0] != self.num_members or answer.shape != features.shape[:3]:
            raise ConfigError(
                f"GRUStudent.learn got {features.shape[:-1]} (leading shape, T) positions of features and "
                f"answers {answer.shape}; expected ({self.num_members}, M, T) for both"
            )
        if answer.size and (answer.min() < 0 or answer.max() >= self.num_classes):
            raise ConfigError(
                f"GRUStudent.learn got answer tokens in [{answer.min()}, {answer.max()}]; expected "
                f"tokens in [0, {self.num_classes})"
            )
        num_examples = features.shape[1]
        x = torch.as_tensor(features)
        y = torch.as_tensor(answer.astype(np.int64))
        rows = torch.arange(self.num_members)[:, None]
        for _ in range(self.num_epochs):
            # Each member shuffles with its own generator: its order is the same in any population.
            order = torch.stack([torch.randperm(num_examples, generator=g) for g in self._generators])
            for start in range(0, num_examples, self.minibatch_size):
                pick = order[:, start : start + self.minibatch_size]
                self._update(x[rows, pick], y[rows, pick])
        return self.num_epochs * self.num_members * num_examples

    def attempt(self, items: Items) -> np.ndarray:
        """Every member's answer tokens for ``items`` (shared ``(M,)`` with features ``(M, T * D)``,
        or per member ``(P, M)`` with features ``(P, M, T * D)``): int64 ``(P, M, T)``."""
        features = self._features(items, "attempt")
        if features.ndim == 3:  # shared items: the same inputs for every member, without a copy
            x = torch.as_tensor(features).expand(self.num_members, *features.shape)
        elif features.ndim == 4 and features.shape[0] == self.num_members:
            x = torch.as_tensor(features)
        else:
            raise ConfigError(
                f"GRUStudent.attempt got items of leading shape {features.shape[:-2]}; expected (M,) "
                f"shared items or ({self.num_members}, M) per member"
            )
        with torch.no_grad():
            logits = self._logits(x)
        return logits.argmax(dim=-1).numpy().astype(np.int64)

    def assess(self, items: Items) -> Profile:
        """Per-skill and per-level accuracy (whole sequences right) of every member on shared
        held-out ``items (M,)``."""
        if items.skill.ndim != 1:
            shape = items.skill.shape
            raise ConfigError(f"GRUStudent.assess needs shared items of shape (M,), got {shape}")
        correct = (self.attempt(items) == items.answer).all(axis=-1)
        return profile_from_correct(self.skills, items.skill, items.level, correct)

    # ----------------------------------------------------------------- model
    def _get_stacked(self) -> list[torch.Tensor]:
        return list(self._parameters)

    def _set_stacked(self, parameters: list[torch.Tensor]) -> None:
        self._parameters = parameters

    def _features(self, items: Items, method: str) -> np.ndarray:
        if items.features is None:
            raise ConfigError(
                f"GRUStudent.{method} needs items with features (a domain with view 'sequence'), "
                "got items without"
            )
        features = np.ascontiguousarray(items.features, dtype=np.float32)
        if not features.flags.writeable:  # torch warns on sharing read-only memory; copy instead
            features = features.copy()
        if features.ndim < 2 or features.shape[-1] == 0 or features.shape[-1] % self.num_features:
            raise ConfigError(
                f"GRUStudent.{method} got features of shape {features.shape}; expected a last axis of "
                f"T * num_features = T * {self.num_features} (T positions, flattened position-major)"
            )
        return features.reshape(*features.shape[:-1], -1, self.num_features)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(P, m, T, C)`` of input sequences ``(P, m, T, D)``."""
        w_input, b_input, w_hidden, b_hidden, w_out, b_out = self._parameters
        num_members, m, length, d = x.shape
        # The input projections of every position at once; only the recurrence is sequential.
        projected = torch.baddbmm(b_input, x.reshape(num_members, m * length, d), w_input)
        projected = projected.view(num_members, m, length, -1)
        state = x.new_zeros(num_members, m, self.num_hidden)
        states = []
        for t in range(length):
            input_r, input_z, input_n = projected[:, :, t].chunk(3, dim=-1)
            hidden_r, hidden_z, hidden_n = torch.baddbmm(b_hidden, state, w_hidden).chunk(3, dim=-1)
            reset = torch.sigmoid(input_r + hidden_r)
            update = torch.sigmoid(input_z + hidden_z)
            candidate = torch.tanh(input_n + reset * hidden_n)
            state = candidate + update * (state - candidate)  # (1 - z) * n + z * h
            states.append(state)
        hidden = torch.stack(states, dim=2).view(num_members, m * length, self.num_hidden)
        return torch.baddbmm(b_out, hidden, w_out).view(num_members, m, length, -1)

    def _update(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One Adam update of every member on its minibatch ``x (P, m, T, D)``, ``y (P, m, T)``."""
        logits = self._logits(x)
        losses = F.cross_entropy(logits.flatten(0, 2), y.flatten(), reduction="none")
        # Sum over members of each member's mean: member p's gradient is that of its own loss alone.
        loss = member_loss(losses.view(y.shape[0], -1))
        self._optimizer.step(loss)


def build(domain: Domain, num_members: int, options: Mapping[str, Any]) -> GRUStudent:
    """The ``gru`` student for a ``"sequence"`` domain (``STUDENTS`` builder)."""
    student: GRUStudent = call_checked(
        GRUStudent,
        options,
        _OWNER,
        num_features=domain.num_features,  # type: ignore[attr-defined]
        num_classes=domain.num_classes,  # type: ignore[attr-defined]
        skills=domain.skills,
        num_members=num_members,
    )
    return student
