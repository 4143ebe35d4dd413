"""Text items and the rules shared by every text domain, env and engine.

:class:`TextItems` is the batch type of text domains (``Items`` with aligned prompts, answers and
expressions). Beside it are the format rules that the OpenEnded env, the text engines and the
language-model students all apply to ``(prompt, answer)`` examples: the charset and length limit of
a teacher-written example (:func:`validate_example`), the well-formed answer (an integer or a
comparison sign, :data:`SIGN_CODES`) and exact-match grading of final answers (:func:`grade_text`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from teachgym.domains.base import Items
from teachgym.errors import ConfigError

#: Longest accepted prompt or answer of a teacher-written example, characters.
MAX_EXAMPLE_CHARS = 200
#: Characters a teacher-written example may use: ASCII letters, digits, the space and this punctuation.
EXAMPLE_PUNCTUATION = ".,:;?!'\"()+-*/=<>%$"
EXAMPLE_CHARSET = frozenset(string.ascii_letters + string.digits + " " + EXAMPLE_PUNCTUATION)
#: A well-formed answer: an integer without leading zeros (or ``-0``), or a comparison sign.
_ANSWER_PATTERN = re.compile(r"0|-?[1-9][0-9]*|[<>=]")
#: Comparison answers and their codes in ``Items.answer``.
SIGN_CODES = {"<": -1, "=": 0, ">": 1}


def normalize_answer(text: str) -> str:
    """The answer as graded: surrounding whitespace and one trailing period removed (``" 85. "`` ->
    ``"85"``); nothing else changes (``"085"`` and ``"eighty-five"`` stay as they are)."""
    text = text.strip()
    if text.endswith("."):
        text = text[:-1].rstrip()
    return text


def grade_text(answers_given: Sequence[str], answers_true: Sequence[str]) -> np.ndarray:
    """Exact-match grading of final answers: bool ``(M,)``, True where
    ``normalize_answer(given) == true``. ``"85"``, ``" 85 "`` and ``"85."`` are right for ``"85"``;
    ``"085"``, ``"85.0"``, ``"eighty-five"`` and anything that is not a str are wrong.

    Raises:
        ConfigError: the two sequences differ in length.
    """
    if len(answers_given) != len(answers_true):
        raise ConfigError(
            f"grade_text got {len(answers_given)} answers for {len(answers_true)} problems; expected "
            "one answer per problem"
        )
    return np.array(
        [
            isinstance(g, str) and normalize_answer(g) == t
            for g, t in zip(answers_given, answers_true, strict=True)
        ],
        dtype=bool,
    )


def validate_example(prompt: object, answer: object) -> str | None:
    """Why a teacher-written ``(prompt, answer)`` example is invalid, or None if it is valid.

    An example is valid when prompt and answer are non-empty ``str`` (after stripping whitespace) of at
    most :data:`MAX_EXAMPLE_CHARS` characters, use only :data:`EXAMPLE_CHARSET` (printable ASCII
    letters, digits, the space and ``.,:;?!'"()+-*/=<>%$``; no newline, tab or non-ASCII character,
    so nothing that is not valid UTF-8 text gets through), and the answer, once normalised as in
    :func:`normalize_answer`, is an integer without leading zeros (``"85"``, ``"-3"``, ``"0"``) or one
    of ``<``, ``>``, ``=``. Correctness is not checked here: a wrong answer is a valid example.
    """
    for name, text in (("prompt", prompt), ("answer", answer)):
        if not isinstance(text, str):
            return f"{name} is a {type(text).__name__}, expected a str"
        if not text.strip():
            return f"{name} is empty"
        if len(text) > MAX_EXAMPLE_CHARS:
            return f"{name} has {len(text)} characters, more than {MAX_EXAMPLE_CHARS}"
        bad = sorted(set(text) - EXAMPLE_CHARSET)
        if bad:
            return f"{name} has characters outside the charset: {''.join(bad)!r}"
    assert isinstance(answer, str)
    if not _ANSWER_PATTERN.fullmatch(normalize_answer(answer)):
        return f"answer {answer!r} is not an integer without leading zeros nor one of <, >, ="
    return None


@dataclass(frozen=True)
class TextItems:
    """Text problems with their :class:`~teachgym.domains.base.Items` view.

    ``Items`` holds numeric arrays only, so the text lives beside it in object arrays of ``str``
    aligned with it: shape ``(M,)`` for a held-out split, ``(P, M)`` for a population's training
    batch. ``skill``, ``level``, ``answer``, ``take``, ``reshape`` and ``readonly`` act as on
    ``Items``, so engines and envs handle text and numeric items alike.

    Attributes:
        items: ``skill`` and ``level`` int64; ``answer`` int64: the numeric answer, or for
            comparisons the sign code -1 (``<``), 0 (``=``), 1 (``>``); -1 for teacher-written
            examples, whose answer may not be a number. No features.
        prompts: the problem statements, e.g. ``"What is 47 + 38?"``.
        answers: the answers to train on or grade against, e.g. ``"85"`` or ``"<"``: the correct
            one in canonical form for generated problems, the teacher's for teacher-written ones.
        expressions: the arithmetic behind each problem, e.g. ``"47+38"``, ``"12+5-3"`` (word
            problems) or ``"47?38"`` (comparisons); a problem's split is derived from it (``""``
            for teacher-written examples).
    """

    items: Items
    prompts: np.ndarray
    answers: np.ndarray
    expressions: np.ndarray

    @classmethod
    def from_lists(
        cls,
        skill: Sequence[int],
        level: Sequence[int],
        code: Sequence[int],
        prompts: Sequence[str],
        answers: Sequence[str],
        expressions: Sequence[str],
    ) -> TextItems:
        """One-dimensional text items from aligned lists."""
        return cls(
            items=Items(
                skill=np.array(skill, np.int64).reshape(-1),
                level=np.array(level, np.int64).reshape(-1),
                answer=np.array(code, np.int64).reshape(-1),
            ),
            prompts=_strings(prompts),
            answers=_strings(answers),
            expressions=_strings(expressions),
        )

    @property
    def skill(self) -> np.ndarray:
        return self.items.skill

    @property
    def level(self) -> np.ndarray:
        return self.items.level

    @property
    def answer(self) -> np.ndarray:
        return self.items.answer

    def __len__(self) -> int:
        return int(self.items.skill.shape[-1])

    def pairs(self) -> list[tuple[str, str]]:
        """The ``(prompt, answer)`` pairs, in order (all leading dimensions flattened)."""
        return list(zip(self.prompts.ravel().tolist(), self.answers.ravel().tolist(), strict=True))

    def take(self, index: np.ndarray) -> TextItems:
        """Items at ``index`` along the leading axes."""
        return TextItems(
            self.items.take(index), self.prompts[index], self.answers[index], self.expressions[index]
        )

    def reshape(self, *shape: int) -> TextItems:
        """The same items with new leading dimensions."""
        return TextItems(
            self.items.reshape(*shape),
            self.prompts.reshape(shape),
            self.answers.reshape(shape),
            self.expressions.reshape(shape),
        )

    def readonly(self) -> TextItems:
        """The same items with every array made read-only."""
        self.items.readonly()
        for array in (self.prompts, self.answers, self.expressions):
            array.flags.writeable = False
        return self


def _strings(values: Sequence[str]) -> np.ndarray:
    """A 1-D object array of the given strings (``np.array`` would make a fixed-width unicode array)."""
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array
