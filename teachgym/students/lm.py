"""Language-model students: causal LMs fine-tuned on (prompt, answer) text pairs, assessed by greedy
generation and exact match of the final answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from teachgym.config import check_choice, check_int, check_real
from teachgym.domains.text import TextItems, normalize_answer
from teachgym.errors import ConfigError
from teachgym.lm import TINY_MODEL, Codec, decode, greedy_decode, load_model, require_transformers
from teachgym.seeding import children
from teachgym.skills import Profile, SkillSpace, profile_from_correct
from teachgym.students.stacked import PicklesGenerators, torch_generator

_OWNER = "student 'lm'"
#: How a member learns from a batch: supervised on it, or rejection-sampling on its own answers.
TRAINING_MODES = ("sft", "rft")
#: Held-out prompts decoded together (sorted by length first, so that little padding is decoded).
_DECODE_BATCH = 128
#: Loss positions that are not part of an answer.
_IGNORE = -100


class LMStudent(PicklesGenerators):
    """A population of ``num_members`` causal language models fine-tuned on text (transformers, CPU).

    Every member starts from the same pre-trained checkpoint (``model``) and is fine-tuned on its
    own examples with AdamW: :meth:`learn` makes ``num_epochs`` passes over each step's new
    (prompt, answer) pairs in minibatches of ``minibatch_size``, in a fresh order every pass drawn
    from the member's own generator, with the loss (mean token cross-entropy) on the answer tokens
    and the end-of-sequence token only. :meth:`attempt` answers by greedy decoding of at most
    ``max_answer_tokens`` tokens. Members are separate models trained one after the other; the
    default model is small enough that a population of a few is cheap.

    The default ``model="tiny-arith"`` is a 4-layer character-level GPT-2 (0.8 M parameters)
    pre-trained on single-digit arithmetic in the formats of the ``arithmetic-text`` domain by
    ``python -m teachgym.students.pretrain`` and shipped with the package: an episode starts from a
    student that knows the formats and the one-digit facts but has never seen a two-digit problem,
    like fine-tuning a real pre-trained model. ``model`` may instead be the path of any Hugging
    Face causal-LM checkpoint (folder, or ``.gguf`` file), with optional LoRA adapters
    (``lora_rank > 0``, through ``peft``) for large models.

    Args:
        skills: the skill space of the items (for :meth:`assess`).
        grade: the domain's grader ``(items, responses) -> bool``.
        num_members: ``P``, models in the population.
        model: ``"tiny-arith"`` or a checkpoint path.
        learning_rate: AdamW step size, a finite float > 0.
        weight_decay: AdamW decoupled weight decay, >= 0.
        num_epochs: passes over each step's examples.
        minibatch_size: examples per update.
        max_answer_tokens: tokens generated per answer at most.
        lora_rank: 0 for full fine-tuning, else the rank of LoRA adapters on every linear layer.
        training: ``"sft"`` (default) trains on the (prompt, answer) pairs as given; ``"rft"``
            (rejection-sampling fine-tuning, as in RFT for continual post-training) samples
            ``rft_samples`` answers of the member's own to each prompt at ``rft_temperature``, has
            them graded, and trains on its correct ones only (each distinct correct answer once), so
            it never trains on a wrong answer a teacher wrote, nor on a problem it cannot yet solve.
        rft_samples: int in [1, 64], answers sampled per prompt.
        rft_temperature: float in (0, 10], their sampling temperature.
        truth: ``prompt -> (skill, level, answer) or None``, the domain's own answer to a problem
            (``domain.parse``), which grades the samples; where it gives None, the batch's answer
            does.

    Raises:
        ConfigError: an argument of the wrong type or out of range.
        UnsupportedError: transformers (or peft, for LoRA) is not installed.
    """

    def __init__(
        self,
        skills: SkillSpace,
        grade: Callable[[Any, np.ndarray], np.ndarray],
        num_members: int = 1,
        *,
        model: str = TINY_MODEL,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        num_epochs: int = 2,
        minibatch_size: int = 16,
        max_answer_tokens: int = 10,
        lora_rank: int = 0,
        training: str = "sft",
        rft_samples: int = 4,
        rft_temperature: float = 1.0,
        truth: Callable[[str], Any] | None = None,
    ) -> None:
        require_transformers(_OWNER)
        if not isinstance(model, str) or not model:
            raise ConfigError(
                f"{_OWNER} argument model={model!r} is invalid; expected 'tiny-arith' or a path"
            )
        self.skills = skills
        self.grade = grade
        self.num_members = check_int(_OWNER, "num_members", num_members, 1)
        self.model_name = model
        self.learning_rate = check_real(_OWNER, "learning_rate", learning_rate, 0.0, low_open=True)
        self.weight_decay = check_real(_OWNER, "weight_decay", weight_decay, 0.0)
        self.num_epochs = check_int(_OWNER, "num_epochs", num_epochs, 1)
        self.minibatch_size = check_int(_OWNER, "minibatch_size", minibatch_size, 1)
        self.max_answer_tokens = check_int(_OWNER, "max_answer_tokens", max_answer_tokens, 1, 64)
        self.lora_rank = check_int(_OWNER, "lora_rank", lora_rank, 0, 256)
        self.training = check_choice(_OWNER, "training", training, TRAINING_MODES)
        self.rft_samples = check_int(_OWNER, "rft_samples", rft_samples, 1, 64)
        self.rft_temperature = check_real(
            _OWNER, "rft_temperature", rft_temperature, 0.0, 10.0, low_open=True
        )
        self.truth = truth
        self.reset(np.random.SeedSequence(0))

    # ----------------------------------------------------------------- protocol
    def reset(self, seed: np.random.SeedSequence) -> None:
        """Every member back to the pre-trained weights with a fresh optimizer; member ``p`` draws
        its minibatch orders from ``children(seed, num_members)[p]``."""
        self.reset_members(children(seed, self.num_members))

    def reset_members(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        """As :meth:`reset`, with member ``p`` drawing from ``seeds[p]`` (read, not spawned from), so
        that a member reset with seed ``s`` is the same learner in a population of any size."""
        if len(seeds) != self.num_members:
            raise ConfigError(
                f"LMStudent.reset_members got {len(seeds)} seeds; expected one per member, "
                f"num_members={self.num_members}"
            )
        self.models: list[torch.nn.Module] = []
        self.optimizers: list[torch.optim.Optimizer] = []
        for _ in range(self.num_members):
            model, self.codec = load_model(self.model_name)
            if self.lora_rank:
                model = _with_lora(model, self.lora_rank)
            trainable = [p for p in model.parameters() if p.requires_grad]
            self.models.append(model)
            self.optimizers.append(
                torch.optim.AdamW(trainable, lr=self.learning_rate, weight_decay=self.weight_decay)
            )
        self._generators = [torch_generator(s) for s in seeds]

    def reset_each(self, seeds: Sequence[np.random.SeedSequence]) -> None:
        """Member ``p`` becomes the learner a one-member population reset with ``seeds[p]`` holds."""
        self.reset_members([children(seed, 1)[0] for seed in seeds])

    def select(self, members: Sequence[int]) -> LMStudent:
        """A population of the ``members``, sharing their models, optimizers and generators."""
        sub = object.__new__(type(self))
        sub.__dict__.update(self.__dict__)
        sub.num_members = len(members)
        sub.models = [self.models[i] for i in members]
        sub.optimizers = [self.optimizers[i] for i in members]
        sub._generators = [self._generators[i] for i in members]
        return sub

    def scatter(self, members: Sequence[int], sub: LMStudent) -> None:
        """Put the members of ``sub`` (from :meth:`select` with ``members``) back in their places."""
        for j, i in enumerate(members):
            self.models[i] = sub.models[j]
            self.optimizers[i] = sub.optimizers[j]
            self._generators[i] = sub._generators[j]

    @property
    def max_sequence_length(self) -> int:
        """Tokens a (prompt, answer) example may take at most: the model's context length."""
        config: Any = self.models[0].config
        return int(getattr(config, "n_positions", None) or config.max_position_embeddings)

    def fits(self, prompt: str, answer: str) -> bool:
        """Whether the example's prompt and answer tokens fit in :attr:`max_sequence_length`."""
        size = len(self.codec.prompt_ids(prompt)) + len(self.codec.answer_ids(answer))
        return size <= self.max_sequence_length

    def learn(self, batch: TextItems) -> int:
        """Fine-tune member ``p`` on ``batch``'s row ``p`` of (prompt, answer) pairs (shape ``(P, M)``).

        Returns:
            Compute spent: the examples behind every update, summed over members (``num_epochs * P *
            M`` with ``sft``; with ``rft``, the correct samples trained on instead of ``P * M``).
        """
        prompts, answers = np.asarray(batch.prompts), np.asarray(batch.answers)
        if prompts.ndim != 2 or prompts.shape[0] != self.num_members or answers.shape != prompts.shape:
            raise ConfigError(
                f"{_OWNER} learn got a batch of shape {prompts.shape}; expected (num_members, M) with "
                f"num_members={self.num_members}"
            )
        # Encode every member's examples once, and check their length before any update, so that a
        # refused batch changes nothing.
        encoded = [
            [
                (self.codec.prompt_ids(q), self.codec.answer_ids(a))
                for q, a in zip(prompts[p].tolist(), answers[p].tolist(), strict=True)
            ]
            for p in range(self.num_members)
        ]
        limit = self.max_sequence_length
        too_long = [
            (p, m) for p, row in enumerate(encoded) for m, (q, a) in enumerate(row) if len(q) + len(a) > limit
        ]
        if too_long:
            example = str(prompts[too_long[0]])
            raise ConfigError(
                f"{_OWNER} learn got {len(too_long)} example(s) longer than the model's "
                f"{limit} tokens, e.g. {example[:40]!r}; expected shorter ones"
            )
        trained = 0
        for p, (model, optimizer, generator) in enumerate(
            zip(self.models, self.optimizers, self._generators, strict=True)
        ):
            examples = encoded[p]
            if self.training == "rft":
                examples = self._own_correct(model, generator, prompts[p].tolist(), answers[p].tolist())
            self._fit(model, optimizer, generator, examples)
            trained += len(examples)
        return self.num_epochs * trained

    def _fit(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        generator: torch.Generator,
        examples: list[tuple[list[int], list[int]]],
    ) -> None:
        """``num_epochs`` passes over ``examples`` in minibatches, in a fresh order every pass."""
        model.train()
        for _ in range(self.num_epochs):
            order = torch.randperm(len(examples), generator=generator).tolist()
            for start in range(0, len(order), self.minibatch_size):
                chunk = [examples[i] for i in order[start : start + self.minibatch_size]]
                optimizer.zero_grad(set_to_none=True)
                loss = _answer_loss(model, self.codec, chunk)
                if not torch.isfinite(loss):  # a diverged model: fail the episode, do not score noise
                    raise FloatingPointError(f"LMStudent's training loss is {loss.item()!r} (it diverged)")
                loss.backward()
                optimizer.step()
        model.eval()

    def _own_correct(
        self, model: torch.nn.Module, generator: torch.Generator, prompts: list[str], answers: list[str]
    ) -> list[tuple[list[int], list[int]]]:
        """RFT's training pairs: ``rft_samples`` sampled answers per prompt, graded against the
        domain's answer (else the given one); each distinct correct one, encoded."""
        model.eval()
        reference = []
        for prompt, answer in zip(prompts, answers, strict=True):
            known = self.truth(prompt) if self.truth is not None else None
            reference.append(known[2] if known is not None else normalize_answer(answer))
        repeated = [self.codec.prompt_ids(q) for q in prompts for _ in range(self.rft_samples)]
        samples = []
        for start in range(0, len(repeated), _DECODE_BATCH):
            rows = repeated[start : start + _DECODE_BATCH]
            outputs = decode(
                model,
                self.codec,
                rows,
                self.max_answer_tokens,
                temperature=self.rft_temperature,
                generator=generator,
            )
            samples += [self.codec.decode(output) for output in outputs]
        kept: dict[tuple[str, str], None] = {}
        for index, sample in enumerate(samples):
            prompt = prompts[index // self.rft_samples]
            if normalize_answer(sample) == reference[index // self.rft_samples] and self.fits(prompt, sample):
                kept[(prompt, sample.strip())] = None
        return [(self.codec.prompt_ids(q), self.codec.answer_ids(a)) for q, a in kept]

    def attempt(self, items: TextItems) -> np.ndarray:
        """Every member's answers to ``items`` (shared ``(M,)`` or per member ``(P, M)``): an object
        array ``(P, M)`` of str, decoded greedily."""
        prompts = np.asarray(items.prompts)
        if prompts.ndim == 1:
            prompts = np.broadcast_to(prompts, (self.num_members, prompts.shape[0]))
        if prompts.ndim != 2 or prompts.shape[0] != self.num_members:
            raise ConfigError(
                f"{_OWNER} attempt got prompts of shape {np.shape(items.prompts)}; expected (M,) or "
                f"(num_members, M) with num_members={self.num_members}"
            )
        responses = np.empty(prompts.shape, dtype=object)
        for p, model in enumerate(self.models):
            responses[p] = self.answer(model, prompts[p].tolist())
        return responses

    def answer(self, model: torch.nn.Module, prompts: Sequence[str]) -> list[str]:
        """``model``'s greedy answers to ``prompts``, decoded in length-sorted batches."""
        encoded = [self.codec.prompt_ids(q) for q in prompts]
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        answers = [""] * len(encoded)
        for start in range(0, len(order), _DECODE_BATCH):
            rows = order[start : start + _DECODE_BATCH]
            outputs = greedy_decode(model, self.codec, [encoded[i] for i in rows], self.max_answer_tokens)
            for row, output in zip(rows, outputs, strict=True):
                answers[row] = self.codec.decode(output)
        return answers

    def assess(self, items: TextItems) -> Profile:
        """Per-skill and per-level exact-match accuracy of every member on held-out ``items``."""
        correct = self.grade(items, self.attempt(items))
        return profile_from_correct(self.skills, items.skill, items.level, correct)


def _answer_loss(
    model: torch.nn.Module, codec: Codec, examples: Sequence[tuple[list[int], list[int]]]
) -> torch.Tensor:
    """Mean cross-entropy of the answer tokens (and the end token) given their prompts; the batch is
    right-padded, so positions count from 0 in every row."""
    width = max(len(q) + len(a) for q, a in examples)
    ids = torch.full((len(examples), width), codec.pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), _IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (q, a) in enumerate(examples):
        sequence = torch.tensor(q + a, dtype=torch.long)
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
        labels[row, len(q) : len(sequence)] = sequence[len(q) :]
    logits = model(input_ids=ids, attention_mask=mask).logits
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=_IGNORE
    )


def _with_lora(model: torch.nn.Module, rank: int) -> torch.nn.Module:
    try:
        import peft
    except ImportError as error:
        raise ConfigError(
            f"{_OWNER} with lora_rank={rank} needs peft; install it with pip install peft"
        ) from error
    config = peft.LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules="all-linear")
    return peft.get_peft_model(model, config)


def build(domain: Any, num_members: int, options: dict[str, Any]) -> LMStudent:
    """The ``lm`` student of the ``STUDENTS`` registry, for a text domain."""
    from teachgym.registry_utils import call_checked

    student: LMStudent = call_checked(
        LMStudent,
        options,
        _OWNER,
        skills=domain.skills,
        grade=domain.grade,
        num_members=num_members,
        truth=getattr(domain, "parse", None),
    )
    return student
