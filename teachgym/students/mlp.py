"""A torch population of one-hidden-layer MLP classifiers, trained as one batched computation."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from teachgym.config import check_choice
from teachgym.domains.base import Items
from teachgym.errors import ConfigError
from teachgym.seeding import children
from teachgym.skills import Profile, SkillSpace, profile_from_correct
from teachgym.students.stacked import (
    OPTIMIZERS,
    StackedMembers,
    StackedOptimizer,
    check_population,
    member_loss,
    torch_generator,
)

_OWNER = "student 'mlp'"

_PARAMETER_NAMES = ("w1", "b1", "w2", "b2")


class MLPStudent(StackedMembers):
    """A population of ``num_members`` independent MLPs ``D -> H (ReLU) -> C`` (torch, CPU).

    The members' parameters are stacked with a leading member dimension (``w1 (P, D, H)``,
    ``b1 (P, 1, H)``, ``w2 (P, H, C)``, ``b2 (P, 1, C)``) and run as batched matrix products.
    Members share nothing: the loss is the sum over members of each member's mean cross-entropy,
    so each member's gradient is that of its own loss; Adam and SGD act element-wise, so one
    update of the stacked tensors is ``P`` independent optimizers; and every member draws its
    initial weights and its minibatch order from its own ``torch.Generator``. A population
    therefore trains exactly as its members would alone: member ``p`` of a population reset with
    ``seed`` is initialised from ``children(seed, num_members)[p]`` (:func:`teachgym.seeding.children`),
    and :meth:`reset_members` with the same child seeds reproduces it in a population of any size
    (bitwise on CPU with ``torch.use_deterministic_algorithms(True)``).

    Training (:meth:`learn`) makes ``num_epochs`` passes over each step's new examples in minibatches of
    ``minibatch_size``, in a fresh random order every pass; nothing is replayed from earlier steps,
    so what is not practised can be forgotten. Initial weights follow ``torch.nn.Linear``'s default:
    weights and biases uniform in ``+-1/sqrt(fan_in)`` (Kaiming-uniform with ``a = sqrt(5)``; He et
    al. 2015). The global torch RNG and torch's thread settings are never touched.

    Args:
        num_features: ``D``, length of an item's feature vector.
        num_classes: ``C``, number of answers; predictions are the argmax of the logits.
        skills: the skill space of the items (for :meth:`assess`).
        num_members: ``P``, learners in the population.
        num_hidden: ``H``, ReLU units in the hidden layer.
        learning_rate: step size of the optimizer (per update), a finite float > 0.
        optimizer: ``"adam"`` (Kingma & Ba 2015, betas 0.9/0.999, eps 1e-8; the update of
            ``torch.optim.Adam``) or ``"sgd"`` (plain, no momentum).
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
        learning_rate: float = 0.01,
        optimizer: str = "adam",
        num_epochs: int = 2,
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
        check_choice(_OWNER, "optimizer", optimizer, OPTIMIZERS)
        self.optimizer = optimizer
        self.reset(np.random.SeedSequence(0))

    # ----------------------------------------------------------------- protocol
    def reset(self, seed: np.random.SeedSequence) -> None:
        """Fresh weights and optimizer state; member ``p`` is drawn from
        ``children(seed, num_members)[p]`` (:func:`teachgym.seeding.children`). ``seed`` is not
        changed, so two resets with the same seed object give the same population."""
        self.reset_members(children(seed, self.num_members))

    def reset_members(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        """Fresh weights and optimizer state with member ``p`` drawn from ``seeds[p]``.

        A member depends only on its own seed (``seeds[p]`` is read, not spawned from), so a member
        reset here with seed ``s`` is the same learner in a population of any size.
        """
        if len(seeds) != self.num_members:
            raise ConfigError(
                f"MLPStudent.reset_members got {len(seeds)} seeds; expected one per member, "
                f"num_members={self.num_members}"
            )
        self._generators = [torch_generator(s) for s in seeds]
        d, h, c = self.num_features, self.num_hidden, self.num_classes
        parameters: dict[str, list[torch.Tensor]] = {name: [] for name in _PARAMETER_NAMES}
        for generator in self._generators:
            # One member at a time, in a fixed order, so a member's weights depend only on its seed.
            for name, shape, fan_in in (
                ("w1", (d, h), d),
                ("b1", (1, h), d),
                ("w2", (h, c), h),
                ("b2", (1, c), h),
            ):
                bound = 1.0 / math.sqrt(fan_in)
                draw = torch.rand(shape, generator=generator, dtype=torch.float32)
                parameters[name].append(draw * (2.0 * bound) - bound)
        self.w1, self.b1, self.w2, self.b2 = (
            torch.stack(parameters[name]).requires_grad_(True) for name in _PARAMETER_NAMES
        )
        self._optimizer = StackedOptimizer(self._parameters(), self.learning_rate, self.optimizer)

    def learn(self, batch: Items) -> int:
        """Train every member on its own examples, ``batch`` of shape ``(P, M)`` with features
        ``(P, M, D)``.

        Returns:
            Compute spent: the examples behind every parameter update, summed over updates and
            members (``num_epochs * P * M``).
        """
        features = self._features(batch, "learn")
        if (
            features.ndim != 3
            or features.shape[0] != self.num_members
            or batch.answer.shape != features.shape[:2]
        ):
            raise ConfigError(
                f"MLPStudent.learn got features {features.shape} and answers {batch.answer.shape}; "
                f"expected ({self.num_members}, M, {self.num_features}) and ({self.num_members}, M)"
            )
        answer = np.asarray(batch.answer)
        if answer.size and (answer.min() < 0 or answer.max() >= self.num_classes):
            raise ConfigError(
                f"MLPStudent.learn got answers in [{answer.min()}, {answer.max()}]; expected class "
                f"labels in [0, {self.num_classes})"
            )
        num_examples = features.shape[1]
        x = torch.as_tensor(features)
        y = torch.as_tensor(answer.astype(np.int64))
        rows = torch.arange(self.num_members)[:, None]
        generators = self._generators
        for _ in range(self.num_epochs):
            # Each member shuffles with its own generator: its order is the same in any population.
            order = torch.stack([torch.randperm(num_examples, generator=g) for g in generators])
            for start in range(0, num_examples, self.minibatch_size):
                pick = order[:, start : start + self.minibatch_size]
                self._update(x[rows, pick], y[rows, pick])
        return self.num_epochs * self.num_members * num_examples

    def attempt(self, items: Items) -> np.ndarray:
        """Every member's predicted class for ``items`` (shared ``(M,)`` with features ``(M, D)``,
        or per member ``(P, M)`` with features ``(P, M, D)``): int64 ``(P, M)``."""
        return self._heldout_logits(items, "attempt").argmax(dim=-1).numpy().astype(np.int64)

    def predict_proba(self, items: Items) -> np.ndarray:
        """Every member's predicted class probabilities (softmax of the logits) for ``items``, shaped
        as for :meth:`attempt`: float64 ``(P, M, C)``. Their argmax is :meth:`attempt`'s answer, and
        the largest is the member's confidence in that answer. Nothing is trained or drawn."""
        logits = self._heldout_logits(items, "predict_proba")
        return torch.softmax(logits, dim=-1).numpy().astype(np.float64)

    def _heldout_logits(self, items: Items, method: str) -> torch.Tensor:
        """Logits ``(P, M, C)`` for shared ``(M,)`` or per-member ``(P, M)`` items, without gradients."""
        features = self._features(items, method)
        if features.ndim == 2:  # shared items: the same inputs for every member, without a copy
            x = torch.as_tensor(features).expand(self.num_members, *features.shape)
        elif features.ndim == 3 and features.shape[0] == self.num_members:
            x = torch.as_tensor(features)
        else:
            raise ConfigError(
                f"MLPStudent.{method} got features of shape {features.shape}; expected (M, "
                f"{self.num_features}) or ({self.num_members}, M, {self.num_features})"
            )
        with torch.no_grad():
            return self._logits(x)

    def assess(self, items: Items) -> Profile:
        """Per-skill and per-level accuracy of every member on shared held-out ``items (M,)``."""
        if items.skill.ndim != 1:
            shape = items.skill.shape
            raise ConfigError(f"MLPStudent.assess needs shared items of shape (M,), got {shape}")
        correct = self.attempt(items) == items.answer
        return profile_from_correct(self.skills, items.skill, items.level, correct)

    # ----------------------------------------------------------------- model
    def _parameters(self) -> tuple[torch.Tensor, ...]:
        return (self.w1, self.b1, self.w2, self.b2)

    def _get_stacked(self) -> list[torch.Tensor]:
        return list(self._parameters())

    def _set_stacked(self, parameters: list[torch.Tensor]) -> None:
        self.w1, self.b1, self.w2, self.b2 = parameters

    def _features(self, items: Items, method: str) -> np.ndarray:
        if items.features is None:
            raise ConfigError(
                f"MLPStudent.{method} needs items with features (a domain with view 'features'), "
                "got items without"
            )
        features = np.ascontiguousarray(items.features, dtype=np.float32)
        if not features.flags.writeable:  # torch warns on sharing read-only memory; copy instead
            features = features.copy()
        if features.shape[-1] != self.num_features:
            raise ConfigError(
                f"MLPStudent.{method} got {features.shape[-1]} features per item; expected "
                f"num_features={self.num_features}"
            )
        return features

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(P, m, C)`` of inputs ``(P, m, D)``."""
        hidden = torch.relu(torch.baddbmm(self.b1, x, self.w1))
        return torch.baddbmm(self.b2, hidden, self.w2)

    def _update(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One parameter update of every member on its minibatch ``x (P, m, D)``, ``y (P, m)``."""
        logits = self._logits(x)
        losses = F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none")
        # Sum over members of each member's mean: member p's gradient is that of its own loss alone.
        loss = member_loss(losses.view(y.shape))
        self._optimizer.step(loss)
