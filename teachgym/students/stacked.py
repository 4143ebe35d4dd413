"""What torch populations share: parameters stacked on a leading member axis, trained as P independent
learners (one loss, one optimizer, per-member generators), and picklable."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from teachgym.config import check_int, check_real
from teachgym.errors import ConfigError
from teachgym.seeding import children
from teachgym.skills import SkillSpace

#: Adam's defaults (Kingma & Ba 2015, Algorithm 1), the same as torch.optim.Adam's.
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
OPTIMIZERS = ("adam", "sgd")


def check_population(
    owner: str,
    *,
    num_features: Any,
    num_classes: Any,
    skills: Any,
    num_members: Any,
    num_hidden: Any,
    learning_rate: Any,
    num_epochs: Any,
    minibatch_size: Any,
) -> tuple[int, int, SkillSpace, int, int, float, int, int]:
    """The settings every torch population takes, checked: each returned in the order given, or a
    ConfigError naming ``owner``, the argument and its value."""
    if not isinstance(skills, SkillSpace):
        raise ConfigError(
            f"{owner} argument skills={skills!r} is invalid; expected a teachgym.skills.SkillSpace"
        )
    return (
        check_int(owner, "num_features", num_features, 1),
        check_int(owner, "num_classes", num_classes, 2),
        skills,
        check_int(owner, "num_members", num_members, 1),
        check_int(owner, "num_hidden", num_hidden, 1),
        check_real(owner, "learning_rate", learning_rate, 0.0, low_open=True),
        check_int(owner, "num_epochs", num_epochs, 1),
        check_int(owner, "minibatch_size", minibatch_size, 1),
    )


def member_loss(per_example: torch.Tensor) -> torch.Tensor:
    """The sum over members of each member's mean loss (``per_example`` is ``(P, ...)``): member p's
    gradient is that of its own loss alone, so the members learn independently."""
    return per_example.flatten(1).mean(dim=1).sum()


class StackedOptimizer:
    """Adam or plain SGD over parameters stacked on a leading member axis.

    Both act element-wise, so one optimizer over the stacked tensors is ``P`` independent optimizers.
    Adam is written as ``torch.optim.Adam``'s single-tensor update (bias-corrected, betas 0.9/0.999,
    eps 1e-8), its state kept as plain tensors so that a student pickles with it. Each member counts
    its own updates (Adam's bias correction): members that trained on different numbers of
    minibatches (e.g. lessons of different sizes in a batched vector env) are updated group by group,
    each group with its own step size, element for element as alone.

    Args:
        parameters: the stacked parameter tensors (``requires_grad``).
        learning_rate: step size per update.
        kind: ``"adam"`` or ``"sgd"``.
    """

    def __init__(self, parameters: Sequence[torch.Tensor], learning_rate: float, kind: str = "adam") -> None:
        self.parameters = list(parameters)
        self.learning_rate = learning_rate
        self.kind = kind
        self.first_moment = [torch.zeros_like(p) for p in self.parameters]
        self.second_moment = [torch.zeros_like(p) for p in self.parameters]
        #: int64 ``(P,)``: updates each member has taken.
        self.num_updates = np.zeros(self.parameters[0].shape[0], np.int64)

    def step(self, loss: torch.Tensor) -> None:
        """One update of every parameter from the gradient of ``loss``.

        Raises:
            FloatingPointError: the loss is NaN or infinite (a diverged student: its answers would be
                noise, so the episode must fail rather than be scored), before anything changes.
        """
        if not torch.isfinite(loss).all():
            raise FloatingPointError(
                f"the student's training loss is {loss.item()!r} (it diverged; e.g. a learning rate of "
                f"{self.learning_rate:g} is too large)"
            )
        gradients = torch.autograd.grad(loss, self.parameters)
        self.num_updates += 1
        with torch.no_grad():
            if self.kind == "sgd":
                for parameter, gradient in zip(self.parameters, gradients, strict=True):
                    parameter.sub_(gradient, alpha=self.learning_rate)
                return
            counts = np.unique(self.num_updates)
            if len(counts) == 1:  # the usual case: one in-place update of the stacked tensors
                self._adam(int(counts[0]), self.parameters, gradients, self.first_moment, self.second_moment)
                return
            for t in counts:
                rows = torch.as_tensor(np.flatnonzero(self.num_updates == t))
                group = [
                    [tensor[rows] for tensor in tensors]
                    for tensors in (self.parameters, gradients, self.first_moment, self.second_moment)
                ]
                self._adam(int(t), *group)
                written = (self.parameters, self.first_moment, self.second_moment)
                for tensors, updated in zip(written, (group[0], group[2], group[3]), strict=True):
                    for tensor, value in zip(tensors, updated, strict=True):
                        tensor[rows] = value

    def _adam(
        self,
        t: int,
        parameters: Sequence[torch.Tensor],
        gradients: Sequence[torch.Tensor],
        first_moment: Sequence[torch.Tensor],
        second_moment: Sequence[torch.Tensor],
    ) -> None:
        """Adam's ``t``-th update, in place, of members that have all taken ``t`` updates."""
        step_size = self.learning_rate / (1.0 - ADAM_BETA1**t)
        correction2 = math.sqrt(1.0 - ADAM_BETA2**t)
        for parameter, gradient, m, v in zip(parameters, gradients, first_moment, second_moment, strict=True):
            m.lerp_(gradient, 1.0 - ADAM_BETA1)
            v.mul_(ADAM_BETA2).addcmul_(gradient, gradient, value=1.0 - ADAM_BETA2)
            denominator = (v.sqrt() / correction2).add_(ADAM_EPS)
            parameter.addcdiv_(m, denominator, value=-step_size)

    def select(self, rows: torch.Tensor, parameters: Sequence[torch.Tensor]) -> StackedOptimizer:
        """An optimizer of the members ``rows`` (copies of their state) over their ``parameters``."""
        sub = StackedOptimizer(parameters, self.learning_rate, self.kind)
        sub.first_moment = [m[rows].clone() for m in self.first_moment]
        sub.second_moment = [v[rows].clone() for v in self.second_moment]
        sub.num_updates = self.num_updates[rows.numpy()].copy()
        return sub

    def scatter(self, rows: torch.Tensor, sub: StackedOptimizer) -> None:
        """Write the state of ``sub`` (made by :meth:`select` with ``rows``) back into ``rows``."""
        mine_all, theirs_all = self.first_moment + self.second_moment, sub.first_moment + sub.second_moment
        for mine, theirs in zip(mine_all, theirs_all, strict=True):
            mine[rows] = theirs
        self.num_updates[rows.numpy()] = sub.num_updates


def torch_generator(seed: np.random.SeedSequence) -> torch.Generator:
    """A CPU generator seeded with 64 bits drawn from ``seed`` (read only: nothing is spawned)."""
    generator = torch.Generator()
    generator.manual_seed(int(seed.generate_state(1, dtype=np.uint64)[0]))
    return generator


class PicklesGenerators:
    """Mixin: pickles the per-member ``self._generators`` as their state tensors, which pickle on
    every torch version (``torch.Generator`` objects themselves do not)."""

    _generators: list[torch.Generator]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_generators"] = [g.get_state() for g in self._generators]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        generators = []
        for generator_state in state["_generators"]:
            generator = torch.Generator()
            generator.set_state(generator_state)
            generators.append(generator)
        self.__dict__.update(state)
        self._generators = generators


Population = TypeVar("Population", bound="StackedMembers")


class StackedMembers(PicklesGenerators):
    """Mixin: member subsets of a torch population with stacked parameters (``_stacked``), a
    :class:`StackedOptimizer` (``_optimizer``) and per-member generators. A batched vector env trains
    and resets some members while the others wait (:mod:`teachgym.students.members`)."""

    _optimizer: StackedOptimizer
    num_members: int

    def _get_stacked(self) -> list[torch.Tensor]:
        raise NotImplementedError

    def _set_stacked(self, parameters: list[torch.Tensor]) -> None:
        raise NotImplementedError

    def reset_members(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        raise NotImplementedError

    def reset_each(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        """Member ``p`` becomes the learner a one-member population reset with ``seeds[p]`` holds."""
        self.reset_members([children(seed, 1)[0] for seed in seeds])

    def select(self: Population, members: Sequence[int]) -> Population:
        """A population of the ``members`` (their state copied; their generators shared)."""
        rows = torch.as_tensor(list(members), dtype=torch.long)
        sub = object.__new__(type(self))
        sub.__dict__.update(self.__dict__)
        sub.num_members = len(rows)
        parameters = [p.detach()[rows].clone().requires_grad_(True) for p in self._get_stacked()]
        sub._set_stacked(parameters)
        sub._optimizer = self._optimizer.select(rows, parameters)
        sub._generators = [self._generators[int(i)] for i in rows]
        return sub

    def scatter(self, members: Sequence[int], sub: StackedMembers) -> None:
        """Write the state of ``sub`` (from :meth:`select` with ``members``) back into ``members``."""
        rows = torch.as_tensor(list(members), dtype=torch.long)
        with torch.no_grad():
            for mine, theirs in zip(self._get_stacked(), sub._get_stacked(), strict=True):
                mine[rows] = theirs
        self._optimizer.scatter(rows, sub._optimizer)
        for j, i in enumerate(rows.tolist()):
            self._generators[i] = sub._generators[j]
