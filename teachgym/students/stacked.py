"""What torch populations share: parameters stacked on a leading member axis, trained as P independent
learners (one loss, one optimizer, per-member generators), and picklable."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from teachgym.config import check_int, check_real
from teachgym.errors import ConfigError
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
    eps 1e-8), its state kept as plain tensors so that a student pickles with it.

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
        self.num_updates = 0

    def step(self, loss: torch.Tensor) -> None:
        """One update of every parameter from the gradient of ``loss``."""
        gradients = torch.autograd.grad(loss, self.parameters)
        self.num_updates += 1
        with torch.no_grad():
            if self.kind == "sgd":
                for parameter, gradient in zip(self.parameters, gradients, strict=True):
                    parameter.sub_(gradient, alpha=self.learning_rate)
                return
            t = self.num_updates
            step_size = self.learning_rate / (1.0 - ADAM_BETA1**t)
            correction2 = math.sqrt(1.0 - ADAM_BETA2**t)
            for parameter, gradient, m, v in zip(
                self.parameters, gradients, self.first_moment, self.second_moment, strict=True
            ):
                m.lerp_(gradient, 1.0 - ADAM_BETA1)
                v.mul_(ADAM_BETA2).addcmul_(gradient, gradient, value=1.0 - ADAM_BETA2)
                denominator = (v.sqrt() / correction2).add_(ADAM_EPS)
                parameter.addcdiv_(m, denominator, value=-step_size)


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
